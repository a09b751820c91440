//! `silp-access run`: a batch job from a TOML file. Everything is planned
//! first; tables are written into a staging folder that replaces the output
//! folder only when every table succeeded; a lock keeps two runs apart.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::extract::schema::FileKind;
use anyhow::{bail, Context, Result};

use crate::cli::{LogFormat, RunArgs, SourceArgs};
use crate::disclosure::files::{first_day_scope, ListedTable, MANIFEST_TABLES};
use crate::disclosure::{Scope, ScopedTable, Threshold};
use crate::error::DataRejected;
use crate::indicators::outcomes::{self, PreparedOutcomes};
use crate::indicators::survival::{self, SurvivalTable};
use crate::indicators::{self, Question};
use crate::job::{parse_format, Job, TableCommand, TableJob};
use crate::link::Links;
use crate::output::{self, file_name, replace_dir, staging_dir};
use crate::progress::Progress;
use crate::report::{self, ReportPlan};
use crate::session::{write_rejects, QueryOptions, Session};
use crate::table::{Codebook, RowFilter};

pub fn run(args: &RunArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let mut log = Log {
        format: args.log_format,
        out: stderr,
    };
    let job = Job::load(&args.config)?;
    let mut planned = Vec::new();
    for table in &job.tables {
        for year in &job.years {
            let asked = Asked::of(table, *year).with_context(|| format!("table {:?}", table.name))?;
            if let Some(as_of) = job.as_of {
                // A period the extract cannot answer is refused before any data is read.
                asked.check(as_of).with_context(|| format!("table {:?}", table.name))?;
            }
            planned.push((table, *year, asked));
        }
    }

    let source = SourceArgs {
        extract: job.extract.clone(),
        encoding: job.encoding(),
        as_of: job.as_of,
        ref_dir: job.ref_dir.clone(),
        cache: job.cache.clone(),
        no_cache: false,
    };
    let after_access_asked = job
        .tables
        .iter()
        .any(|t| matches!(t.command, TableCommand::Survival | TableCommand::Outcomes));
    let files: &[FileKind] = if job.report || after_access_asked {
        &crate::session::REPORT_FILES
    } else {
        &crate::session::ANALYSIS_FILES
    };
    let links = Links::declare(&job.link)?;
    let session = Session::load(&source, files, None, &links, progress)?;
    for linkage in &session.linkages {
        for group in &linkage.groups {
            log.event(
                "linkage",
                &[
                    ("file", &linkage.file),
                    ("group", &group.group),
                    ("persons", &group.persons.to_string()),
                    ("linked", &group.linked.to_string()),
                ],
            )?;
        }
    }
    let extract = &session.extract;
    for file in &extract.files {
        log.event(
            "file_read",
            &[
                ("file", &file.file),
                ("read", &file.rows_read.to_string()),
                ("used", &file.rows_used.to_string()),
                ("rejected", &file.rows_rejected.to_string()),
            ],
        )?;
    }
    if job.strict && extract.rows_rejected() > 0 {
        return Err(DataRejected {
            rows: extract.rows_rejected(),
            strict: true,
        }
        .into());
    }

    let output = job.output_dir(extract.as_of);
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    std::fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let _lock = Lock::acquire(&output)?;
    let staging = staging_dir(&output)?;

    let codebook = Codebook::new(&session.reference, job.lang);
    let memo = indicators::Memo::shared();
    let mut questions = Vec::new();
    let mut after_access = Vec::new();
    for (table, _, asked) in &planned {
        let context = || format!("table {:?}", table.name);
        match asked
            .prepare(extract, &session.reference, &memo)
            .with_context(context)?
        {
            Prepared::Question(question, cut) => {
                if let Some(note) = cut {
                    log.event("period_cut", &[("table", &table.name), ("note", &note)])?;
                }
                questions.push((table.name.clone(), question));
            }
            Prepared::Counts(prepared, cut) => {
                if let Some(note) = cut {
                    log.event("period_cut", &[("table", &table.name), ("note", &note)])?;
                }
                after_access.push(prepared);
            }
        }
    }
    let mut counts: Vec<ScopedTable> = Vec::new();
    let mut counted = Vec::with_capacity(after_access.len());
    for prepared in &after_access {
        let tables = prepared.count_tables();
        counted.push(tables.len());
        counts.extend(tables);
    }
    let counts_threshold = after_access
        .iter()
        .map(AfterAccess::threshold)
        .max_by_key(|t| t.value());
    // The job's tables and its report are one published set, protected together.
    let (report, answers, protected, recodings) = if job.report {
        let mut years = job.years.clone();
        years.sort_unstable();
        let plan = ReportPlan {
            years,
            lang: job.lang,
            threshold: Threshold::new(crate::disclosure::DEFAULT_THRESHOLD)?,
            confidence: 0.95,
            per_cpi: job.per_cpi,
        };
        let (built, answers, protected) = report::build_with(extract, &session.reference, &plan, questions, counts)?;
        (Some(built), answers, protected, Vec::new())
    } else if questions.is_empty() && counts.is_empty() {
        (None, Vec::new(), Vec::new(), Vec::new())
    } else {
        let publication =
            indicators::publish_with(extract, &session.reference, questions, counts, counts_threshold, &memo)?;
        (
            None,
            publication.answers,
            publication.counts,
            publication.protection.recodings,
        )
    };
    let mut answers = answers.into_iter();
    let mut protected = protected.into_iter();
    let mut after_access = after_access.into_iter().zip(counted);
    let mut written = Vec::new();
    let mut listed = Vec::new();
    for (table, year, asked) in &planned {
        let (mut grid, scope, counts_by_day) = match asked {
            Asked::Query(..) => {
                let answer = answers.next().expect("an answer per question");
                let grid = match &answer.gap {
                    Some(gap) => gap.grid(&codebook)?,
                    None => answer.table.grid(&codebook)?,
                };
                (grid, answer.plan.scope(), Default::default())
            }
            Asked::Survival(..) | Asked::Outcomes(..) => {
                let (prepared, counted) = after_access
                    .next()
                    .expect("prepared tables per survival and outcomes table");
                let mine: Vec<ScopedTable> = protected.by_ref().take(counted).collect();
                prepared.finish(mine, &session.reference, &codebook)?
            }
        };
        grid.keep_where(asked.filters());
        for format in &table.formats {
            let format = parse_format(format)?;
            let name = format!("{}-{year}.{}", table.name, format.extension());
            output::write_new(&staging.path().join(&name), &output::render(&grid, format, job.lang)?)?;
            log.event(
                "table_written",
                &[("file", &name), ("rows", &grid.rows.len().to_string())],
            )?;
            listed.push(ListedTable {
                file: name.clone(),
                scope: scope.clone(),
                universes_by_year: Default::default(),
                counts_by_day: counts_by_day.clone(),
                filtered: !asked.filters().is_empty(),
            });
            written.push(name);
        }
    }
    for (table, recoding) in &recodings {
        log.event("recoded", &[("table", table), ("recoding", &recoding.describe())])?;
    }
    if let Some(built) = report {
        report::write_files(&built, &staging.path().join("report"))?;
        log.event(
            "report_written",
            &[("folder", "report"), ("tables", &built.tables.len().to_string())],
        )?;
        written.push("report/".to_string());
    }
    if !extract.rejects.is_empty() {
        write_rejects(&staging.path().join("scarti.csv"), &extract.rejects)?;
        written.push("scarti.csv".to_string());
    }
    let summary = serde_json::json!({
        "silp_access": env!("CARGO_PKG_VERSION"),
        "extract": extract.location.describe(),
        "as_of": extract.as_of.format("%Y-%m-%d").to_string(),
        "files": extract.files,
        "linked": links.describe(),
        "outputs": written,
        MANIFEST_TABLES: listed,
    });
    let mut bytes = serde_json::to_vec_pretty(&summary)?;
    bytes.push(b'\n');
    output::write_new(&staging.path().join("job.json"), &bytes)?;

    crate::commands::audit::refuse_disclosure(staging.path(), &session.reference)?;
    replace_dir(staging.keep(), &output)?;
    log.event(
        "done",
        &[
            ("output", &output.display().to_string()),
            ("files", &(written.len() + 1).to_string()),
        ],
    )?;
    Ok(())
}

/// `OUTPUT.lock` beside the output folder while a run writes it.
struct Lock {
    path: PathBuf,
}

impl Lock {
    fn acquire(output: &Path) -> Result<Lock> {
        let path = output.with_file_name(format!("{}.lock", file_name(output)));
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    writeln!(file, "{}", std::process::id())?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // A run killed before it could remove its lock left it
                    // behind: a lock whose process is gone is taken over.
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if !Path::new(&format!("/proc/{pid}")).exists() => {
                            let _ = std::fs::remove_file(&path);
                        }
                        _ => bail!(
                            "another run is writing {} (lock file {}); if no run is active, delete the lock file and retry",
                            output.display(),
                            path.display()
                        ),
                    }
                }
                Err(e) => return Err(e).with_context(|| format!("cannot create the lock file {}", path.display())),
            }
        }
        bail!("cannot take the lock file {}: delete it and retry", path.display())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Progress events on stderr, as `event key=value` lines or JSON objects.
struct Log<'a> {
    format: LogFormat,
    out: &'a mut dyn Write,
}

impl Log<'_> {
    fn event(&mut self, event: &str, fields: &[(&str, &str)]) -> Result<()> {
        match self.format {
            LogFormat::Text => {
                let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                writeln!(self.out, "{event} {}", pairs.join(" "))?;
            }
            LogFormat::Json => {
                let mut object = serde_json::Map::new();
                object.insert("event".into(), event.into());
                for (k, v) in fields {
                    object.insert((*k).into(), (*v).into());
                }
                writeln!(self.out, "{}", serde_json::Value::Object(object))?;
            }
        }
        Ok(())
    }
}

/// One job table of one year, checked before any data is read.
enum Asked {
    Query(
        crate::cli::QueryArgs,
        QueryOptions,
        TableCommand,
        crate::cli::StandardName,
    ),
    Survival(crate::cli::SurvivalArgs, Vec<RowFilter>),
    Outcomes(crate::cli::OutcomesArgs, Vec<RowFilter>),
}

/// A job table once the data is read: a question for `rates` or `gap`, or
/// the count tables of `survival` or `outcomes`, with a note when the
/// period was cut at the as-of date.
enum Prepared {
    Question(Question, Option<String>),
    Counts(AfterAccess, Option<String>),
}

/// A job's survival or outcomes table before protection.
enum AfterAccess {
    Survival(Box<SurvivalTable>),
    Outcomes(Box<PreparedOutcomes>, Threshold),
}

impl Asked {
    fn of(table: &TableJob, year: i32) -> Result<Asked> {
        Ok(match table.command {
            TableCommand::Rates | TableCommand::Gap => {
                let query = table.query(year);
                let options = QueryOptions::parse(&query, &table.stats())?;
                Asked::Query(query, options, table.command, table.standard)
            }
            TableCommand::Survival => {
                let args = table.survival(year);
                let filters = crate::commands::survival::Planner::new(&args)?.filters().to_vec();
                Asked::Survival(args, filters)
            }
            TableCommand::Outcomes => {
                let args = table.outcomes(year);
                let filters = crate::commands::outcomes::Planner::new(&args)?.filters().to_vec();
                Asked::Outcomes(args, filters)
            }
        })
    }

    /// The rows of the table the job prints (`where`).
    fn filters(&self) -> &[RowFilter] {
        match self {
            Asked::Query(_, options, ..) => options.filters(),
            Asked::Survival(_, filters) | Asked::Outcomes(_, filters) => filters,
        }
    }

    fn check(&self, as_of: chrono::NaiveDate) -> Result<()> {
        match self {
            Asked::Query(query, options, ..) => options.plan(query, as_of).map(|_| ()),
            Asked::Survival(args, _) => crate::commands::survival::Planner::new(args)?.plan(as_of).map(|_| ()),
            Asked::Outcomes(args, _) => crate::commands::outcomes::Planner::new(args)?.plan(as_of).map(|_| ()),
        }
    }

    fn prepare(
        &self,
        extract: &crate::extract::Extract,
        reference: &crate::reference::Reference,
        memo: &indicators::Memo,
    ) -> Result<Prepared> {
        let as_of = extract.as_of;
        Ok(match self {
            Asked::Query(query, options, command, standard) => {
                let (plan, cut) = options.plan(query, as_of)?;
                let question = match command {
                    TableCommand::Gap => Question::Gap(plan, (*standard).into()),
                    _ => Question::Rates(plan),
                };
                Prepared::Question(question, cut)
            }
            Asked::Survival(args, _) => {
                let (plan, cut) = crate::commands::survival::Planner::new(args)?.plan(as_of)?;
                Prepared::Counts(
                    AfterAccess::Survival(Box::new(survival::prepare(extract, reference, &plan, memo)?)),
                    cut,
                )
            }
            Asked::Outcomes(args, _) => {
                let (plan, cut) = crate::commands::outcomes::Planner::new(args)?.plan(as_of)?;
                let threshold = Threshold::new(args.stats.threshold)?;
                Prepared::Counts(
                    AfterAccess::Outcomes(Box::new(outcomes::prepare(extract, reference, &plan)?), threshold),
                    cut,
                )
            }
        })
    }
}

impl AfterAccess {
    fn count_tables(&self) -> Vec<ScopedTable> {
        match self {
            AfterAccess::Survival(table) => table.count_tables(),
            AfterAccess::Outcomes(prepared, _) => prepared.count_tables(),
        }
    }

    fn threshold(&self) -> Threshold {
        match self {
            AfterAccess::Survival(table) => table.plan.base.threshold.expect("a published table has a threshold"),
            AfterAccess::Outcomes(_, threshold) => *threshold,
        }
    }

    /// The grid, its first count's scope and every day's, from the
    /// protected count tables.
    fn finish(
        self,
        protected: Vec<ScopedTable>,
        reference: &crate::reference::Reference,
        codebook: &Codebook,
    ) -> Result<(crate::table::Grid, Scope, ScopesByDay)> {
        let (grid, scopes) = match self {
            AfterAccess::Survival(mut table) => {
                table.apply(&protected, reference)?;
                (table.grid(codebook)?, table.scopes_by_day())
            }
            AfterAccess::Outcomes(prepared, _) => {
                let table = prepared.finish(protected, reference)?;
                (table.grid(codebook)?, table.scopes_by_day())
            }
        };
        let first = first_day_scope(&scopes).expect("a table of days has a day");
        Ok((grid, first, scopes))
    }
}

type ScopesByDay = std::collections::BTreeMap<String, std::collections::BTreeMap<String, Scope>>;
