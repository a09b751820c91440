//! Plumbing every analysis command shares: load the code lists and the
//! extract, account for rejected rows on stderr and in `--rejects`, and
//! enforce `--strict` before anything is written.

use std::io::Write;

use anyhow::Result;

use anyhow::bail;
use chrono::{Datelike, NaiveDate};

use crate::cli::{
    CellArgs, ExtractArgs, NarrowArgs, OutputArgs, PeriodArgs, PopulationName, QueryArgs, SourceArgs, StatsArgs,
    TableArgs,
};
use crate::disclosure::Threshold;
use crate::error::DataRejected;
use crate::extract::schema::FileKind;
use crate::extract::{cache_dir_for, CacheUse, Extract, Linkage, LoadOptions, Location, Reject};
use crate::indicators::plan::SelectionName;
use crate::indicators::{Period, Population, Question, RatesPlan, Selection};
use crate::link::Links;
use crate::output;
use crate::progress::Progress;
use crate::reference::Reference;
use crate::table::{Codebook, Dimension, Grid, RowFilter, PROGRAMMES, PROVIDERS};

/// How many rejected rows are listed on stderr when no `--rejects` file is asked for.
const REJECTS_SHOWN: usize = 10;

pub struct Session {
    pub reference: Reference,
    pub extract: Extract,
    /// How many of the extract's persons each linked file holds.
    pub linkages: Vec<Linkage>,
}

impl Session {
    /// Loads the extract for an analysis, reports its rows on stderr, writes
    /// `--rejects` and enforces `--strict`.
    pub fn open(
        args: &ExtractArgs,
        columns_read: Option<Vec<&'static str>>,
        links: &Links,
        stderr: &mut dyn Write,
        progress: Progress,
    ) -> Result<Session> {
        Session::open_files(args, &ANALYSIS_FILES, columns_read, links, stderr, progress)
    }

    /// As [`Session::open`], reading `kinds` (avviamenti.csv beside the
    /// three every analysis reads, for outcomes).
    pub fn open_files(
        args: &ExtractArgs,
        kinds: &[FileKind],
        columns_read: Option<Vec<&'static str>>,
        links: &Links,
        stderr: &mut dyn Write,
        progress: Progress,
    ) -> Result<Session> {
        let session = Session::load(&args.source, kinds, columns_read, links, progress)?;
        report_rows(&session.extract, args, stderr)?;
        report_linkage(&session.linkages, stderr)?;
        Ok(session)
    }

    /// Loads the files and columns the analyses read (of them, only
    /// `columns_read` when given), and links `links` to the persons.
    pub fn load(
        args: &SourceArgs,
        kinds: &[FileKind],
        mut columns_read: Option<Vec<&'static str>>,
        links: &Links,
        progress: Progress,
    ) -> Result<Session> {
        if let (Some(columns), false) = (&mut columns_read, links.is_empty()) {
            // The linkage is counted by citizenship group.
            if !columns.contains(&"cittadinanza") {
                columns.push("cittadinanza");
            }
        }
        let options = LoadOptions {
            analysed_only: true,
            columns_read,
            person_ids: !links.is_empty(),
            ..load_options(args, progress)
        };
        let mut session = Session::load_with(args, kinds, &options)?;
        if !links.is_empty() {
            let _step = options.progress.step("linking the linked files to the persons");
            session.linkages = session.extract.link(links, args.encoding, &session.reference)?;
        }
        Ok(session)
    }

    /// Loads every file of the extract with every column, and the linked
    /// files, for the quality report.
    pub fn load_all(args: &SourceArgs, links: &Links, progress: Progress) -> Result<Session> {
        let kinds: Vec<FileKind> = crate::extract::schema::ALL_FILES.iter().map(|spec| spec.kind).collect();
        let mut session = Session::load_with(args, &kinds, &load_options(args, progress))?;
        session.linkages = session.extract.link(links, args.encoding, &session.reference)?;
        Ok(session)
    }

    fn load_with(args: &SourceArgs, kinds: &[FileKind], options: &LoadOptions) -> Result<Session> {
        let reference = Reference::load(args.ref_dir.as_deref())?;
        let location = match &args.extract {
            Some(dir) => Location::Dir(dir.clone()),
            None => Location::Sample,
        };
        let extract = Extract::load(&location, kinds, options, &reference)?;
        Ok(Session {
            reference,
            extract,
            linkages: Vec::new(),
        })
    }
}

pub fn load_options(args: &SourceArgs, progress: Progress) -> LoadOptions {
    LoadOptions {
        encoding: args.encoding,
        as_of: args.as_of,
        cache_dir: args.cache.clone(),
        no_cache: args.no_cache,
        analysed_only: false,
        columns_read: None,
        person_ids: false,
        progress,
    }
}

/// Says whether the rows came from the Parquet cache, or why it was passed over.
pub fn describe_cache(extract: &Extract) -> Option<String> {
    match &extract.cache {
        CacheUse::None => None,
        CacheUse::Fresh(dir) => Some(format!(
            "read from the Parquet cache {} (the CSV files are unchanged since the import)",
            dir.display()
        )),
        CacheUse::Stale { dir, reason } => {
            let mut import = format!("silp-access import --extract {}", extract.location.describe());
            if let Location::Dir(extract_dir) = &extract.location {
                if cache_dir_for(extract_dir, None) != *dir {
                    import.push_str(&format!(" --cache {}", dir.display()));
                }
            }
            Some(format!(
                "the Parquet cache {} is out of date ({reason}), so the CSV files were read; rerun `{import}` to refresh it",
                dir.display()
            ))
        }
    }
}

pub fn report_rows(extract: &Extract, args: &ExtractArgs, stderr: &mut dyn Write) -> Result<()> {
    let origin = if args.source.as_of.is_some() {
        "given"
    } else {
        "latest date in the files"
    };
    writeln!(
        stderr,
        "extract: {} (as-of {}, {origin})",
        extract.location.describe(),
        extract.as_of.format("%d/%m/%Y")
    )?;
    if let Some(line) = describe_cache(extract) {
        writeln!(stderr, "  {line}")?;
    }
    for file in &extract.files {
        writeln!(
            stderr,
            "  {}: {} rows read, {} used, {} rejected ({}, separator '{}')",
            file.file, file.rows_read, file.rows_used, file.rows_rejected, file.encoding, file.separator
        )?;
    }
    let rejected = extract.rows_rejected();
    if rejected == 0 {
        return Ok(());
    }
    match &args.rejects {
        Some(path) => {
            write_rejects(path, &extract.rejects)?;
            writeln!(stderr, "  {rejected} rejected rows written to {}", path.display())?;
        }
        None => {
            for reject in extract.rejects.iter().take(REJECTS_SHOWN) {
                writeln!(
                    stderr,
                    "  rejected: {} line {}, column {}, value {:?}: {}",
                    reject.file, reject.line, reject.column, reject.value, reject.reason
                )?;
            }
            if extract.rejects.len() > REJECTS_SHOWN {
                writeln!(
                    stderr,
                    "  ... and {} more: write them all with --rejects FILE",
                    extract.rejects.len() - REJECTS_SHOWN
                )?;
            }
        }
    }
    if args.strict {
        return Err(DataRejected {
            rows: rejected,
            strict: true,
        }
        .into());
    }
    Ok(())
}

pub fn write_rejects(path: &std::path::Path, rejects: &[Reject]) -> Result<()> {
    output::write_file_atomically(path, &rejects_csv(rejects))
}

/// The rejects report: one row per rejected line, `;`-separated like every CSV we write.
fn rejects_csv(rejects: &[Reject]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer
        .write_record(["file", "line", "column", "value", "reason"])
        .expect("writing to memory");
    for r in rejects {
        writer
            .write_record([r.file.as_str(), &r.line.to_string(), &r.column, &r.value, &r.reason])
            .expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

/// The files every analysis command reads.
pub const ANALYSIS_FILES: [FileKind; 3] = [FileKind::Persons, FileKind::Spells, FileKind::Activities];
/// The files a report reads: avviamenti.csv too, when there is one, for "Dopo la misura".
pub const REPORT_FILES: [FileKind; 4] = [
    FileKind::Persons,
    FileKind::Spells,
    FileKind::Activities,
    FileKind::Hirings,
];

/// The checks on a table's cells and statistics that need no data, run
/// before loading it.
pub struct CellOptions {
    population: Population,
    links: Links,
    dims: Vec<Dimension>,
    filters: Vec<RowFilter>,
    top: Option<usize>,
    margins: bool,
    confidence: f64,
    threshold: Threshold,
}

impl CellOptions {
    pub fn parse(cells: &CellArgs, stats: &StatsArgs, population: Population) -> Result<CellOptions> {
        crate::stats::critical_value(stats.confidence)?;
        let links = Links::declare(&cells.link)?;
        let dims = Dimension::parse_list(&cells.by, &links.dimensions())?;
        Ok(CellOptions {
            population,
            filters: RowFilter::parse_all(&cells.filters, &dims)?,
            dims,
            links,
            top: cells.top,
            margins: cells.margins,
            confidence: stats.confidence,
            threshold: Threshold::new(stats.threshold)?,
        })
    }

    pub fn dims(&self) -> &[Dimension] {
        &self.dims
    }

    /// The linked files whose columns the breakdowns may read.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The rows printed of the table (`--where`).
    pub fn filters(&self) -> &[RowFilter] {
        &self.filters
    }

    /// The plan, once the as-of date (the default period's year) is known,
    /// with a note when its period had to be cut at the as-of date.
    pub fn plan(
        &self,
        period_args: &PeriodArgs,
        selection: Selection,
        as_of: NaiveDate,
    ) -> Result<(RatesPlan, Option<String>)> {
        let (period, note) = period(period_args, as_of)?.within(as_of)?;
        let plan = RatesPlan {
            period,
            population: self.population,
            selection,
            dims: self.dims.clone(),
            top: self.top,
            margins: self.margins,
            confidence: self.confidence,
            threshold: Some(self.threshold),
        };
        plan.check()?;
        Ok((plan, note))
    }
}

/// The checks on a query's options that need no data, run before loading it.
pub struct QueryOptions {
    cells: CellOptions,
    selection: Selection,
}

impl QueryOptions {
    pub fn parse(query: &QueryArgs, stats: &StatsArgs) -> Result<QueryOptions> {
        let population = match query.population {
            PopulationName::Stock => {
                if query.complete_followup {
                    bail!("--complete-followup applies to --population coorte only");
                }
                Population::Stock
            }
            PopulationName::Coorte => Population::Cohort {
                window: query.window,
                complete_followup: query.complete_followup,
            },
        };
        Ok(QueryOptions {
            cells: CellOptions::parse(&query.cells, stats, population)?,
            selection: selection(query.select, &query.narrow)?,
        })
    }

    pub fn dims(&self) -> &[Dimension] {
        self.cells.dims()
    }

    pub fn links(&self) -> &Links {
        self.cells.links()
    }

    pub fn filters(&self) -> &[RowFilter] {
        self.cells.filters()
    }

    /// The plan, with a note when its period had to be cut at the as-of date.
    pub fn plan(&self, query: &QueryArgs, as_of: NaiveDate) -> Result<(RatesPlan, Option<String>)> {
        self.cells.plan(&query.period, self.selection.clone(), as_of)
    }
}

/// The activities counted: a named selection, or the categories of
/// `--lmp`, narrowed by activity codes, programmes and operator types.
pub fn selection(select: SelectionName, narrow: &NarrowArgs) -> Result<Selection> {
    let mut selection = Selection::named(select);
    if let Some(categories) = &narrow.lmp {
        if let Some(bad) = categories.iter().find(|c| !(1..=7).contains(*c)) {
            bail!("--lmp {bad}: Eurostat LMP categories run from 1 (services) to 7 (start-up incentives)");
        }
        let mut categories = categories.clone();
        categories.sort_unstable();
        categories.dedup();
        selection.categories = categories;
    }
    if let Some(programmes) = &narrow.programma {
        if let Some(bad) = programmes.iter().find(|p| !PROGRAMMES.contains(&p.as_str())) {
            bail!("--programma {bad}: use any of {}", PROGRAMMES.join(", "));
        }
        selection.programmes = Some(programmes.clone());
    }
    if let Some(providers) = &narrow.ente {
        if let Some(bad) = providers.iter().find(|p| !PROVIDERS.contains(&p.as_str())) {
            bail!("--ente {bad}: use any of {}", PROVIDERS.join(", "));
        }
        selection.providers = Some(providers.clone());
    }
    selection.activities = narrow.attivita.clone();
    Ok(selection)
}

pub fn period(args: &PeriodArgs, as_of: NaiveDate) -> Result<Period> {
    match (args.year, args.dal, args.al) {
        (Some(year), _, _) => Period::year(year),
        (None, Some(from), Some(to)) => Period::new(from, to),
        _ => Period::year(as_of.year()),
    }
}

/// What `rates` and `gap` share: check the options before reading any data,
/// load only the columns the breakdowns of `--by` and `also_by` read, plan,
/// build the table with `table` (which also says how many cohort members
/// lack a full follow-up), report that, and publish.
pub fn answer(
    args: &TableArgs,
    also_by: &[Dimension],
    stderr: &mut dyn Write,
    progress: Progress,
    question: impl FnOnce(RatesPlan) -> Question,
) -> Result<()> {
    let options = QueryOptions::parse(&args.query, &args.stats)?;
    let dims: Vec<Dimension> = options.dims().iter().chain(also_by).copied().collect();
    let columns_read = crate::indicators::columns_read(&dims, &options.selection);
    if let Some(as_of) = args.extract.source.as_of {
        // A period the extract cannot answer is refused before any data is read.
        options.plan(&args.query, as_of)?;
    }
    let session = Session::open(&args.extract, Some(columns_read), options.links(), stderr, progress)?;
    let (plan, cut) = options.plan(&args.query, session.extract.as_of)?;
    if let Some(note) = cut {
        writeln!(stderr, "warning: {note}")?;
    }
    let codebook = Codebook::new(&session.reference, args.output.lang);
    let memo = crate::indicators::Memo::default();
    let (answer, protection) =
        crate::indicators::publish_one(&session.extract, &session.reference, question(plan), &memo)?;
    report_followup(&answer.plan, answer.incomplete_followup, stderr)?;
    warn_if_empty(&session.extract, &answer, stderr)?;
    report_protection(&protection, stderr)?;
    let mut grid = match &answer.gap {
        Some(gap) => gap.grid(&codebook)?,
        None => answer.table.grid(&codebook)?,
    };
    grid.keep_where(options.filters());
    publish(&grid, &args.output)
}

/// What `survival` and `outcomes` share: the plan is checked before any
/// data is read when the as-of date is given, `files` are loaded with
/// `columns`, and the plan made with the extract's as-of date, with a
/// warning when its period was cut there.
pub fn open_planned<P>(
    args: &ExtractArgs,
    files: &[FileKind],
    columns: Vec<&'static str>,
    links: &Links,
    plan: impl Fn(NaiveDate) -> Result<(P, Option<String>)>,
    stderr: &mut dyn Write,
    progress: Progress,
) -> Result<(Session, P)> {
    if let Some(as_of) = args.source.as_of {
        plan(as_of)?;
    }
    let session = Session::open_files(args, files, Some(columns), links, stderr, progress)?;
    let (plan, cut) = plan(session.extract.as_of)?;
    if let Some(note) = cut {
        writeln!(stderr, "warning: {note}")?;
    }
    Ok((session, plan))
}

/// Tells the analyst how many of the extract's persons each linked file
/// holds, by citizenship group: a share linked that differs between groups
/// biases every comparison of them by a linked column.
pub fn report_linkage(linkages: &[Linkage], stderr: &mut dyn Write) -> Result<()> {
    for line in linkages.iter().flat_map(Linkage::describe) {
        writeln!(stderr, "{line}")?;
    }
    Ok(())
}

/// Tells the analyst what disclosure control pooled, and warns when it had
/// to hide most of what was asked: a table that fine says little, and its
/// few shown cells are easy to overread.
pub fn report_protection(protection: &crate::disclosure::Protection, stderr: &mut dyn Write) -> Result<()> {
    for (_, recoding) in &protection.recodings {
        writeln!(stderr, "recoded for disclosure control: {}", recoding.describe())?;
    }
    let hidden = protection.primary_cells + protection.secondary_cells;
    if hidden * 2 > protection.printed_cells {
        writeln!(
            stderr,
            "warning: {hidden} of the {} cells are hidden ({} under the threshold of {} persons, beneficiaries or non-beneficiaries, {} so that those cannot be worked out): ask for fewer breakdowns (--by), a coarser one, or a longer period",
            protection.printed_cells, protection.primary_cells, protection.threshold, protection.secondary_cells
        )?;
    }
    Ok(())
}

/// Says so when no person is eligible in the period, with the dates the
/// extract's DID spells cover: an all-zero table is otherwise easy to misread.
pub fn warn_if_empty(extract: &Extract, answer: &crate::indicators::Answer, stderr: &mut dyn Write) -> Result<()> {
    if answer.table.rows.iter().any(|r| r.population > 0) {
        return Ok(());
    }
    let spells = extract
        .date_ranges()?
        .into_iter()
        .find(|r| r.column == "data_did")
        .and_then(|r| r.first.zip(r.last));
    let period = &answer.plan.period;
    let covered = match spells {
        Some((first, last)) => format!(
            "its DID spells start between {} and {}",
            first.format("%d/%m/%Y"),
            last.format("%d/%m/%Y")
        ),
        None => "it holds no DID spell".to_string(),
    };
    writeln!(
        stderr,
        "warning: no person of the extract is eligible in the period {}-{} ({covered})",
        period.from.format("%d/%m/%Y"),
        period.to.format("%d/%m/%Y")
    )?;
    Ok(())
}

/// Tells the analyst how many cohort members lack a full follow-up.
fn report_followup(plan: &RatesPlan, incomplete: u64, stderr: &mut dyn Write) -> Result<()> {
    if let Population::Cohort {
        window,
        complete_followup,
    } = plan.population
    {
        let what = if complete_followup {
            "left out"
        } else {
            "counted, follow-up incomplete"
        };
        writeln!(
            stderr,
            "cohort: {incomplete} persons registered in the period have less than {window} days of follow-up before the as-of date ({what})"
        )?;
    }
    Ok(())
}

/// Renders a result grid as asked and writes it to stdout or `--output`.
pub fn publish(grid: &Grid, args: &OutputArgs) -> Result<()> {
    if args.format.is_binary() && args.output.is_none() {
        bail!(
            "--format {}: a binary format needs --output FILE",
            args.format.extension()
        );
    }
    let bytes = output::render(grid, args.format, args.lang)?;
    output::write(args.output.as_deref(), &bytes)
}
