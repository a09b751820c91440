//! The three stages over the files of an extract: stage 1 (row rules) file
//! after file, then stages 2 (as-of date, duplicates) and 3 (references
//! across files), and what an analysis keeps of the rows.

use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use polars::prelude::*;

use crate::reference::Reference;

use crate::extract::dates::latest_date;
use crate::extract::reader::{open, read_file, FileRows, LINE, PIECE_BYTES};
use crate::extract::reject::Reject;
use crate::extract::resolve::index::PersonIndex;
use crate::extract::resolve::{
    check_references, check_resolved_references, may_repeat, number_persons_by_text, person_positions,
    renumber_persons, PERSON,
};
use crate::extract::rules::{apply_rules, as_of_rules, drop_lines};
use crate::extract::schema::{ColumnSpec, FileKind, FileSpec, Kind};
use crate::extract::PERSON_ID_TEXT;
use crate::extract::{CacheUse, Checked, Extract, Judged, Layout, LoadOptions, Location, PersonKey, IN_SPELL};

/// What becomes of each file's checked rows as stage 1 reads them: an
/// analysis or `validate` holds them ([`Hold`]); `import` writes them into
/// the cache and holds what the later rules read (`cache::Stager`).
pub(super) trait FileSink {
    /// Whether the references of the files read after lavoratori.csv are
    /// handed over as text, to be resolved to persons by the sink with the
    /// index it is given: an analysis resolves them as it types them.
    fn resolves_persons(&self) -> bool;
    /// The rows to hold of a piece of `kind`'s file that passed the row
    /// rules; `persons` when the sink resolves them.
    fn piece(&mut self, kind: FileKind, rows: DataFrame, persons: Option<&PersonIndex>) -> Result<DataFrame>;
    /// Sees each file's held rows before the next file is read.
    fn file(&mut self, kind: FileKind, checked: &mut Checked) -> Result<()>;
}

/// Holds every checked row as read.
pub(super) struct Hold;

impl FileSink for Hold {
    fn resolves_persons(&self) -> bool {
        false
    }

    fn piece(&mut self, _: FileKind, rows: DataFrame, _: Option<&PersonIndex>) -> Result<DataFrame> {
        Ok(rows)
    }

    fn file(&mut self, _: FileKind, _: &mut Checked) -> Result<()> {
        Ok(())
    }
}

/// Stage 1 from the CSV files, one file after the other, each piece's and
/// each file's checked rows handed to `sink`.
pub(super) fn read_files(
    location: &Location,
    kinds: &[FileKind],
    options: &LoadOptions,
    reference: &Reference,
    sink: &mut dyn FileSink,
) -> Result<Checked> {
    let keep = if options.analysed_only {
        Keep::ForAnalysis(options)
    } else {
        Keep::All
    };
    let mut checked = Checked::default();
    for kind in kinds {
        let spec = kind.spec();
        let Some(prepared) = open(location, spec, options.encoding)? else {
            continue;
        };
        let step = options.progress.step(format!("reading and checking {}", spec.name));
        // The persons' index goes to the reader, which resolves the
        // references as it types them, or to the sink.
        let typed_with = checked.persons.as_ref().filter(|_| !sink.resolves_persons());
        let for_sink = checked.persons.clone().filter(|_| sink.resolves_persons());
        let FileRows {
            frame,
            report,
            mut rejects,
            mut unknown_persons,
        } = read_file(spec, prepared, reference, keep, typed_with, PIECE_BYTES, &mut |rows| {
            sink.piece(*kind, rows, for_sink.as_deref())
        })
        .with_context(|| format!("reading {} from {}", spec.name, location.describe()))?;
        checked.rejects.append(&mut rejects);
        checked.unknown_persons.append(&mut unknown_persons);
        checked.latest.insert(*kind, latest_date(*kind, &frame)?);
        let mut frame = if options.analysed_only {
            drop_distinct_identifiers(spec, frame, spec.analysed)?
        } else {
            frame
        };
        // An analysis and `import` resolve the references of every file read
        // after the persons (`validate` keeps them as text, which the quality
        // report holds).
        let resolves = options.analysed_only || sink.resolves_persons();
        if resolves && *kind == FileKind::Persons && checked.frames.is_empty() {
            // One chunk, which the index then shares instead of copying
            // every identifier's view into one of its own.
            let ids = frame.column("id_lav")?.str()?.rechunk().into_owned();
            frame.with_column(ids.clone().into_column())?;
            checked.persons = Some(Arc::new(PersonIndex::new(&ids)));
        }
        checked.frames.insert(*kind, frame);
        checked.reports.insert(*kind, report);
        drop(step);
        sink.file(*kind, &mut checked)?;
        crate::memory::release_freed();
    }
    Ok(checked)
}

/// What stage 1 keeps of a file's rows; code and enumeration columns are
/// numbered by [`crate::extract::typing::type_column`] either way.
#[derive(Clone, Copy)]
pub(super) enum Keep<'a> {
    /// Every column (validate, import).
    All,
    /// The columns the analysis reads (`LoadOptions::reads`) and those the
    /// later rules need (dates, birth years, identifiers and references): on
    /// tens of millions of rows the rest is gigabytes of text that would
    /// only be dropped. Every column is checked all the same.
    ForAnalysis(&'a LoadOptions),
}

impl Keep<'_> {
    pub(super) fn keeps(self, spec: &FileSpec, column: &ColumnSpec) -> bool {
        match self {
            Keep::All => true,
            Keep::ForAnalysis(options) => column.read_by_later_rules() || options.reads(spec, column.name),
        }
    }
}

/// Drops the identifiers not in `still_read` whose values are all distinct:
/// the duplicate rule, the only other reader, could not reject any row. On
/// tens of millions of rows that is hundreds of megabytes.
pub(super) fn drop_distinct_identifiers(spec: &FileSpec, frame: DataFrame, still_read: &[&str]) -> Result<DataFrame> {
    let mut unread = Vec::new();
    for column in spec
        .columns
        .iter()
        .filter(|c| c.kind == Kind::Id && !still_read.contains(&c.name) && frame.column(c.name).is_ok())
    {
        if !may_repeat(&frame, column.name)? {
            unread.push(column.name);
        }
    }
    Ok(frame.drop_many(unread))
}

/// Stages 2 and 3, unless `judged` already holds their rejects for the
/// as-of date in use; returns the extract and the rejects of those stages.
pub(super) fn finish(
    location: &Location,
    checked: Checked,
    options: &LoadOptions,
    judged: Option<Judged>,
) -> Result<(Extract, Vec<Reject>)> {
    let Checked {
        mut frames,
        reports,
        mut rejects,
        latest,
        persons_numbered,
        spells_in_order,
        persons: mut resolved,
        unknown_persons,
    } = checked;
    if let (Some(persons), false) = (frames.get_mut(&FileKind::Persons), persons_numbered) {
        refuse_codici_fiscali(persons)?;
        if resolved.is_some() {
            // The positions the references were resolved to, which the
            // later rules carry along with the rows they keep.
            persons.with_column(
                person_positions(persons.height())
                    .with_name(PERSON.into())
                    .into_column(),
            )?;
        }
    }
    let as_of = match options.as_of {
        Some(date) => date,
        None => latest.values().flatten().max().copied().ok_or_else(|| {
            anyhow!(
                "{}: no valid date in any file, so the as-of date is unknown; give it with --as-of DATE",
                location.describe()
            )
        })?,
    };
    let later = match judged {
        Some((judged_as_of, later)) if judged_as_of == as_of => {
            for (kind, frame) in frames.iter_mut() {
                let lines: Vec<IdxSize> = later
                    .iter()
                    .filter(|r| r.file == kind.spec().name)
                    .map(|r| r.line as IdxSize)
                    .collect();
                drop_lines(frame, IdxCa::from_vec(PlSmallStr::EMPTY, lines).into_series())?;
            }
            later
        }
        _ => {
            let _step = options.progress.step("checking dates, duplicates and references");
            let mut later = Vec::new();
            for (kind, frame) in frames.iter_mut() {
                // The index saw every person's identifier: none repeats
                // unless it found one twice (10 million hashes spared).
                let distinct: &[&str] = match &resolved {
                    Some(index) if *kind == FileKind::Persons && !index.repeats() => &["id_lav"],
                    _ => &[],
                };
                let rules = as_of_rules(kind.spec(), as_of, frame, distinct)?;
                later.extend(apply_rules(frame, &rules, kind.spec().name)?);
            }
            match &resolved {
                Some(index) => later.extend(check_resolved_references(&mut frames, index, unknown_persons)?),
                None => later.extend(check_references(&mut frames)?),
            }
            later
        }
    };
    rejects.extend(later.iter().cloned());
    if options.person_ids {
        if let Some(persons) = frames.get_mut(&FileKind::Persons) {
            let ids = persons.column("id_lav")?;
            if ids.dtype() == &DataType::String {
                let kept = ids.clone().with_name(PERSON_ID_TEXT.into());
                persons.with_column(kept)?;
            }
        }
    }
    // The persons' identifiers give way to the positions the references hold.
    let persons_numbered = persons_numbered || resolved.is_some();
    if resolved.take().is_some() {
        if let Some(persons) = frames.get_mut(&FileKind::Persons) {
            let _ = persons.drop_in_place("id_lav")?;
            persons.rename(PERSON, "id_lav".into())?;
        }
    }
    if options.analysed_only {
        for (kind, frame) in frames.iter_mut() {
            let spec = kind.spec();
            let mut analysed: Vec<Expr> = options
                .analysed_columns(spec, spells_in_order)
                .into_iter()
                .map(col)
                .collect();
            for kept in [IN_SPELL, PERSON_ID_TEXT] {
                if frame.column(kept).is_ok() {
                    analysed.push(col(kept));
                }
            }
            *frame = std::mem::take(frame).lazy().select(analysed).collect()?;
        }
    }
    let persons = if options.analysed_only || persons_numbered {
        if persons_numbered {
            renumber_persons(&mut frames)?;
        } else {
            number_persons_by_text(&mut frames)?;
        }
        PersonKey::Position(Layout {
            spells_by_person: spells_in_order,
            activities_in_spells: frames
                .get(&FileKind::Activities)
                .is_some_and(|frame| frame.column(IN_SPELL).is_ok()),
        })
    } else {
        PersonKey::Text
    };
    crate::memory::release_freed();

    let mut files = Vec::new();
    for (kind, mut report) in reports {
        report.rows_used = frames[&kind].height() as u64;
        report.rows_rejected = report.rows_read - report.rows_used;
        files.push(report);
    }
    rejects.sort();
    let extract = Extract {
        location: location.clone(),
        as_of,
        files,
        rejects,
        cache: CacheUse::None,
        persons,
        frames,
    };
    Ok((extract, later))
}

/// Analyses run on pseudonymised extracts only: a person identifier shaped
/// like a codice fiscale stops the run (naming the line, never the value).
pub(super) fn refuse_codici_fiscali(persons: &DataFrame) -> Result<()> {
    let ids = persons.column("id_lav")?.str()?;
    // Array by array: polars' iterators of optional values zipped over the
    // lines cost several times the check itself. A missing identifier's
    // value is empty, so never shaped like one.
    let mut row = 0;
    for array in ids.downcast_iter() {
        if let Some(at) = array
            .values_iter()
            .position(crate::pseudonym::looks_like_codice_fiscale)
        {
            let line = persons.column(LINE)?.idx()?.get(row + at);
            bail!(
                "lavoratori.csv, line {}: id_lav holds what looks like a codice fiscale; analyses run only on pseudonymised extracts: run `silp-access pseudonymise --in DIR --out NEW_DIR --key-file KEY` and analyse NEW_DIR",
                line.unwrap_or(0)
            );
        }
        row += array.len();
    }
    Ok(())
}
