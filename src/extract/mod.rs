//! Reading and validating a SILP extract. Every data row is either used or
//! rejected with its file, line, column, value and reason; for each file,
//! rows read = rows used + rows rejected.
//!
//! Validation runs in polars in three stages, each a set of rules evaluated
//! as expressions (the first broken rule names the row's reason):
//! 1. per row: field count, parsing, code lists, date order;
//! 2. against the as-of date (known only after stage 1) and uniqueness of ids;
//! 3. across files: references to persons that were kept.

mod cache;
mod dialect;
mod parallel;
mod persons;
mod plain;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{Datelike, NaiveDate};
use polars::prelude::*;
use polars_arrow::array::Array;
use polars_arrow::bitmap::Bitmap;
use polars_buffer::Buffer;

pub use cache::dir_for as cache_dir_for;
pub use dialect::{prepare_path, EncodingChoice};
use dialect::{PreparedFile, SharedBytes, Utf8Bytes};
use persons::PersonIndex;
use plain::PlainColumn;
use schema::{ColumnSpec, FileKind, FileSpec, Kind};

use crate::engine::{collect_streaming, date_lit, epoch_days, is_in_series, null_of, EPOCH_DAYS_FROM_CE};
use crate::progress::Progress;
use crate::reference::Reference;

/// Where an extract lives.
#[derive(Debug, Clone)]
pub enum Location {
    Dir(PathBuf),
    /// The sample shipped inside the binary.
    Sample,
}

impl Location {
    pub fn describe(&self) -> String {
        match self {
            Location::Dir(dir) => dir.display().to_string(),
            Location::Sample => format!("embedded sample ({})", crate::sample::NAME),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub encoding: EncodingChoice,
    pub as_of: Option<NaiveDate>,
    /// Where `import` put the Parquet cache (default: `.silp-cache` in the extract folder).
    pub cache_dir: Option<PathBuf>,
    /// Read the CSV files even when a fresh cache exists.
    pub no_cache: bool,
    /// Keep only the columns the indicators read (see `FileSpec::analysed`).
    pub analysed_only: bool,
    /// With `analysed_only`, the analysed columns the analysis will read,
    /// when it knows them (a single table); None keeps every analysed
    /// column (a report, a batch job). A cached analysis then reads no
    /// other column from the Parquet files.
    pub columns_read: Option<Vec<&'static str>>,
    pub progress: Progress,
}

impl LoadOptions {
    /// Whether the analysis reads `column` of `spec`: an analysed column,
    /// and one of `columns_read` when given.
    fn reads(&self, spec: &FileSpec, column: &str) -> bool {
        spec.analysed.contains(&column) && self.columns_read.as_ref().is_none_or(|read| read.contains(&column))
    }

    /// The columns of `spec` an analysis keeps once its rows are checked.
    fn analysed_columns(&self, spec: &FileSpec, spells_in_order: bool) -> Vec<&'static str> {
        spec.analysed_columns(spells_in_order)
            .into_iter()
            .filter(|column| self.reads(spec, column))
            .collect()
    }
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
    pub problem: Problem,
}

/// How one file was read.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FileReport {
    pub file: String,
    pub encoding: String,
    pub separator: String,
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_rejected: u64,
    pub extra_columns: Vec<String>,
}

/// Whether the rows came from the Parquet cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// No cache (none imported, `--no-cache`, or the embedded sample).
    None,
    Fresh(PathBuf),
    /// A cache exists but does not match the files, for the reason given.
    Stale {
        dir: PathBuf,
        reason: String,
    },
}

/// A validated extract: typed frames of the rows that passed every rule,
/// code and enumeration columns as `UInt32` positions in [`Kind::values`]
/// (no command needs their text once the rules have checked it). Loaded
/// for an analysis (`analysed_only`), the frames hold the analysed columns
/// only, and `id_lav` as the person's position among the persons' rows (see
/// `persons_numbered`), or as a 64-bit key where a cache judged against
/// another as-of date gave the identifiers as text.
pub struct Extract {
    pub location: Location,
    pub as_of: NaiveDate,
    pub files: Vec<FileReport>,
    pub rejects: Vec<Reject>,
    pub cache: CacheUse,
    /// did.csv's rows come person by person, each person's ordered by
    /// `data_did`, then `id_did` (as the cache stores them), so a person's
    /// first and last spell need no sort.
    pub spells_in_order: bool,
    /// `id_lav` holds each person's position among the persons' rows (as
    /// the cache stores them, or as an analysis of the CSV files resolves
    /// the references while it reads them), so a person's row is gathered,
    /// not joined.
    pub persons_numbered: bool,
    /// The activities hold [`IN_SPELL`], read from a cache judged against
    /// the as-of date in use.
    pub activities_in_spells: bool,
    frames: BTreeMap<FileKind, DataFrame>,
}

/// Whether an activity starts inside a spell of its own person, among the
/// spells kept (see `engine::inside_own_spells`).
pub const IN_SPELL: &str = "__in_did";

/// The rows that passed the row rules (stage 1), before the as-of date is known.
#[derive(Default, Clone)]
struct Checked {
    frames: BTreeMap<FileKind, DataFrame>,
    reports: BTreeMap<FileKind, FileReport>,
    rejects: Vec<Reject>,
    /// The latest date in each file's date columns (the default as-of date
    /// is the latest of them).
    latest: BTreeMap<FileKind, Option<NaiveDate>>,
    /// `id_lav` holds the persons' positions among lavoratori.csv's checked
    /// rows, read from the Parquet cache (whose import checked the
    /// identifiers), not the identifiers.
    persons_numbered: bool,
    /// See [`Extract::spells_in_order`].
    spells_in_order: bool,
    /// Set when the person references of the files read after
    /// lavoratori.csv hold positions among its rows (see [`persons`]).
    persons: Option<Arc<PersonIndex>>,
    /// The rows of those files whose reference found no person.
    unknown_persons: Vec<Reject>,
}

/// An extract validated from its CSV files, its rows written into a staged
/// Parquet cache that [`Imported::write_cache`] completes.
pub struct Imported {
    pub extract: Extract,
    cache_dir: PathBuf,
    staging: tempfile::TempDir,
    staged: cache::Staged,
    as_of_rejects: Vec<Reject>,
}

impl Imported {
    /// Completes the cache with its manifest and puts it in place of an
    /// older one atomically; later loads use it while the CSV files do not
    /// change.
    pub fn write_cache(self, reference: &Reference) -> Result<()> {
        cache::write_manifest(
            self.staging.path(),
            self.staged,
            reference,
            self.extract.as_of,
            self.as_of_rejects,
        )?;
        crate::output::replace_dir(self.staging.keep(), &self.cache_dir)
            .with_context(|| format!("writing the Parquet cache into {}", self.cache_dir.display()))
    }
}

/// The as-of date the later rules (stages 2 and 3) were applied with, and
/// the rows they rejected.
type Judged = (NaiveDate, Vec<Reject>);

impl Extract {
    /// Loads and validates the given files of an extract (the three required
    /// ones at least); the as-of date defaults to the latest date among them.
    /// A fresh Parquet cache written by [`Extract::import`] replaces the CSV
    /// files when there is one.
    pub fn load(
        location: &Location,
        kinds: &[FileKind],
        options: &LoadOptions,
        reference: &Reference,
    ) -> Result<Extract> {
        let freshness = match location {
            Location::Dir(dir) if !options.no_cache => {
                let cache_dir = cache::dir_for(dir, options.cache_dir.as_deref());
                let _step = options.progress.step("checking the Parquet cache");
                Some((
                    cache::check(&cache_dir, dir, kinds, options.encoding, reference)?,
                    cache_dir,
                ))
            }
            _ => None,
        };
        let (checked, judged, cache) = match freshness {
            Some((cache::Freshness::Fresh(manifest), dir)) => {
                let step = options
                    .progress
                    .step(format!("reading the Parquet cache in {}", dir.display()));
                let (checked, judged) = manifest.read(&dir, kinds, options)?;
                drop(step);
                (checked, judged, CacheUse::Fresh(dir))
            }
            Some((cache::Freshness::Stale(reason), dir)) => (
                read_files(location, kinds, options, reference, |_, _| Ok(()))?,
                None,
                CacheUse::Stale { dir, reason },
            ),
            _ => (
                read_files(location, kinds, options, reference, |_, _| Ok(()))?,
                None,
                CacheUse::None,
            ),
        };
        let (mut extract, _) = finish(location, checked, options, judged)?;
        extract.cache = cache;
        Ok(extract)
    }

    /// Validates every file of the extract in `dir` from its CSV files and
    /// stages their checked rows as the Parquet cache for `cache_dir` (see
    /// [`Imported::write_cache`]). Each file's rows are written as soon as
    /// its row rules have run (the cache holds them, and the later rules'
    /// rejects), before the next file is read, so that only the columns the
    /// later rules read stay in memory for them (10 million persons, two
    /// runs each: peak 3,866-3,872 MiB when all four files were read before
    /// any was written, 2,988-3,016 now).
    pub fn import(dir: &Path, cache_dir: &Path, options: &LoadOptions, reference: &Reference) -> Result<Imported> {
        let location = Location::Dir(dir.to_path_buf());
        let kinds: Vec<FileKind> = schema::ALL_FILES.iter().map(|spec| spec.kind).collect();
        let staging = crate::output::staging_dir(cache_dir).with_context(|| {
            format!(
                "cannot write the Parquet cache {}; give a folder that can be written with --cache DIR",
                cache_dir.display()
            )
        })?;
        let mut stager = cache::Stager::new(staging.path(), dir)?;
        let checked = read_files(&location, &kinds, options, reference, |kind, checked| {
            let _step = options
                .progress
                .step(format!("writing {} into the Parquet cache", kind.spec().name));
            stager.write(kind, checked)
        })?;
        let mut staged = stager.finish(options.encoding, &checked);
        let (mut extract, as_of_rejects) = finish(&location, checked, options, None)?;
        staged.write_activities_in_spells(staging.path(), &mut extract.frames)?;
        Ok(Imported {
            extract,
            cache_dir: cache_dir.to_path_buf(),
            staging,
            staged,
            as_of_rejects,
        })
    }

    pub(crate) fn frame(&self, kind: FileKind) -> Result<&DataFrame> {
        self.frames
            .get(&kind)
            .ok_or_else(|| anyhow!("{} was not loaded", kind.spec().name))
    }

    pub fn rows_rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rows_rejected).sum()
    }

    /// First and last date of every date column, over the rows kept.
    pub fn date_ranges(&self) -> Result<Vec<DateRange>> {
        date_ranges(&self.frames)
    }
}

/// Stage 1 from the CSV files, one file after the other; `after_each` sees
/// each file's checked rows before the next file is read.
fn read_files(
    location: &Location,
    kinds: &[FileKind],
    options: &LoadOptions,
    reference: &Reference,
    mut after_each: impl FnMut(FileKind, &mut Checked) -> Result<()>,
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
        let FileRows {
            frame,
            report,
            mut rejects,
            mut unknown_persons,
        } = read_file(spec, prepared, reference, keep, checked.persons.as_ref(), PIECE_BYTES)
            .with_context(|| format!("reading {} from {}", spec.name, location.describe()))?;
        checked.rejects.append(&mut rejects);
        checked.unknown_persons.append(&mut unknown_persons);
        checked.latest.insert(*kind, latest_date(*kind, &frame)?);
        let mut frame = if options.analysed_only {
            drop_distinct_identifiers(spec, frame, spec.analysed)?
        } else {
            frame
        };
        // An analysis resolves the references of every file read after the
        // persons (import and validate keep them as text, which the cache
        // and the quality report hold).
        if options.analysed_only && *kind == FileKind::Persons && checked.frames.is_empty() {
            // One chunk, which the index then shares instead of copying
            // every identifier's view into one of its own.
            let ids = frame.column("id_lav")?.str()?.rechunk().into_owned();
            frame.with_column(ids.clone().into_column())?;
            checked.persons = Some(Arc::new(PersonIndex::new(&ids)));
        }
        checked.frames.insert(*kind, frame);
        checked.reports.insert(*kind, report);
        drop(step);
        after_each(*kind, &mut checked)?;
        crate::memory::release_freed();
    }
    Ok(checked)
}

/// What stage 1 keeps of a file's rows; code and enumeration columns are
/// numbered by [`type_column`] either way.
#[derive(Clone, Copy)]
enum Keep<'a> {
    /// Every column (validate, import).
    All,
    /// The columns the analysis reads (`LoadOptions::reads`) and those the
    /// later rules need (dates, birth years, identifiers and references): on
    /// tens of millions of rows the rest is gigabytes of text that would
    /// only be dropped. Every column is checked all the same.
    ForAnalysis(&'a LoadOptions),
}

impl Keep<'_> {
    fn keeps(self, spec: &FileSpec, column: &ColumnSpec) -> bool {
        match self {
            Keep::All => true,
            Keep::ForAnalysis(options) => column.read_by_later_rules() || options.reads(spec, column.name),
        }
    }
}

/// Drops the identifiers not in `still_read` whose values are all distinct:
/// the duplicate rule, the only other reader, could not reject any row. On
/// tens of millions of rows that is hundreds of megabytes.
fn drop_distinct_identifiers(spec: &FileSpec, frame: DataFrame, still_read: &[&str]) -> Result<DataFrame> {
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
fn finish(
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
            if frame.column(IN_SPELL).is_ok() {
                analysed.push(col(IN_SPELL));
            }
            *frame = std::mem::take(frame).lazy().select(analysed).collect()?;
        }
        if persons_numbered {
            renumber_persons(&mut frames)?;
        } else {
            key_persons_by_hash(&mut frames)?;
        }
    }
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
        spells_in_order,
        persons_numbered,
        activities_in_spells: frames
            .get(&FileKind::Activities)
            .is_some_and(|frame| frame.column(IN_SPELL).is_ok()),
        frames,
    };
    Ok((extract, later))
}

fn open(location: &Location, spec: &FileSpec, encoding: EncodingChoice) -> Result<Option<PreparedFile>> {
    match location {
        Location::Dir(dir) => {
            if !dir.is_dir() {
                bail!("--extract {}: no such directory; point it at the folder holding lavoratori.csv, did.csv and politiche.csv", dir.display());
            }
            let path = dir.join(spec.name);
            if !path.exists() {
                if spec.required {
                    bail!(
                        "{}: required file {} is missing (found: {})",
                        dir.display(),
                        spec.name,
                        list_csv_files(dir)
                    );
                }
                return Ok(None);
            }
            dialect::prepare_path(&path, encoding).map(Some)
        }
        Location::Sample => match crate::sample::file(spec.name) {
            Some(bytes) => {
                let name = format!("{}/{}", crate::sample::NAME, spec.name);
                dialect::prepare(Utf8Bytes::Static(bytes), &name, encoding).map(Some)
            }
            None => Ok(None),
        },
    }
}

fn list_csv_files(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.to_ascii_lowercase().ends_with(".csv"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        "no .csv files".to_string()
    } else {
        names.join(", ")
    }
}

/// What kind of rule a row broke, for summaries that group rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    FieldCount,
    Empty,
    NotAllowed,
    UnknownCode,
    BadYear,
    BadDate,
    DateOrder,
    AfterAsOf,
    Duplicate,
    UnknownPerson,
}

/// One check: rows where `invalid` is true are rejected with `reason`,
/// reporting `value` (a string expression) for `column`.
struct Rule {
    problem: Problem,
    column: String,
    reason: String,
    invalid: Expr,
    value: Expr,
}

/// No identifier or job-centre code is longer; a longer value is a broken export.
const MAX_TEXT_BYTES: usize = 1000;
/// Values quoted in messages and reports are cut to this many characters.
const SHOWN_CHARS: usize = 200;

fn shorten(value: &str) -> String {
    match value.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}... ({} bytes)", &value[..cut], value.len()),
        None => value.to_string(),
    }
}

/// Explains a file the CSV parser could not read. The usual cause is a
/// quote that is never closed, which swallows the rest of the file.
fn malformed(file: &str, body: &[u8], error: PolarsError) -> anyhow::Error {
    let mut open_at: Option<usize> = None;
    let mut line = 2;
    for byte in body {
        match byte {
            b'"' => open_at = if open_at.is_some() { None } else { Some(line) },
            b'\n' => line += 1,
            _ => {}
        }
    }
    match open_at {
        Some(line) => anyhow!(
            "{file}, line {line}: a quote (\") opens a field that is never closed, so the rest of the file cannot be read; remove the stray quote or close it (a field holding the separator must be written \"like;this\")"
        ),
        None => anyhow!("{file}: not a readable CSV file ({error}); check the separator and quotes around line breaks"),
    }
}

const LINE: &str = "__line";
const RULE: &str = "__rule";
const VALUE: &str = "__value";
const OVERFLOW: &str = "__overflow";
const BROKEN: &str = "__broken";

fn raw_name(column: &str) -> String {
    format!("__raw_{column}")
}

/// A file after stage 1.
struct FileRows {
    /// The rows that passed the row rules.
    frame: DataFrame,
    report: FileReport,
    rejects: Vec<Reject>,
    /// With person references resolved: the rows among `frame` that refer
    /// to no person, as stage 3 rejects them unless stage 2 rejects them
    /// first (the text of the reference is gone from `frame`).
    unknown_persons: Vec<Reject>,
}

/// Stage 1: scan the file as text, type every column and apply the row
/// rules; with `persons`, person references become positions among them.
/// Each piece is read by [`plain`] when it can be, by polars' CSV reader
/// otherwise; rejected rows are read again by polars' reader either way.
fn read_file(
    spec: &FileSpec,
    prepared: PreparedFile,
    reference: &Reference,
    keep: Keep<'_>,
    persons: Option<&Arc<PersonIndex>>,
    piece_bytes: usize,
) -> Result<FileRows> {
    let header = &prepared.header;
    let mut seen = BTreeMap::new();
    for (position, name) in header.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), position) {
            bail!(
                "{}: column {:?} appears twice in the header (columns {} and {}); remove one",
                spec.name,
                name,
                first + 1,
                position + 1
            );
        }
    }
    let missing: Vec<&str> = spec
        .columns
        .iter()
        .map(|c| c.name)
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{}: missing column{} {}; the header has: {}",
            spec.name,
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            shorten(
                &header
                    .iter()
                    .map(|h| h.escape_debug().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
    let known = |h: &str| spec.columns.iter().any(|c| c.name == h);
    let extra_columns: Vec<String> = header.iter().filter(|h| !known(h)).cloned().collect();

    let mut fields: Vec<Field> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let name = if known(h) { raw_name(h) } else { format!("__extra_{i}") };
            Field::new(name.into(), DataType::String)
        })
        .collect();
    // Fields beyond the header land here; a short row leaves its last
    // columns null, which the required-value rules report.
    fields.push(Field::new(OVERFLOW.into(), DataType::String));

    let report = FileReport {
        file: spec.name.to_string(),
        encoding: prepared.encoding.to_string(),
        separator: (prepared.separator as char).to_string(),
        rows_read: 0,
        rows_used: 0,
        rows_rejected: 0,
        extra_columns,
    };
    let separator = prepared.separator;
    let body_start = prepared.body_start;
    let bytes = Arc::new(prepared.bytes);
    let body = Buffer::from_owner(SharedBytes(Arc::clone(&bytes))).sliced(body_start..);
    let schema = Arc::new(Schema::from_iter(fields));
    let scan = |piece: Buffer<u8>, first_line: IdxSize| {
        LazyCsvReader::new_with_sources(ScanSources::Buffers(Arc::from(vec![piece])))
            .with_has_header(false)
            .with_schema(Some(Arc::clone(&schema)))
            .with_separator(separator)
            .with_quote_char(Some(b'"'))
            .with_truncate_ragged_lines(true)
            .with_raise_if_empty(false)
            .with_row_index(Some(polars::io::RowIndex {
                name: LINE.into(),
                offset: first_line,
            }))
            .finish()
    };

    // The rules on the row's shape, which the plain reader checks by refusing
    // a piece that breaks them.
    let mut rules = vec![Rule {
        problem: Problem::FieldCount,
        column: String::new(),
        reason: format!("the row has more fields than the header's {}", header.len()),
        invalid: col(OVERFLOW).is_not_null(),
        value: lit(""),
    }];
    // A blank line reads as a row of nulls; say so rather than "empty identifier".
    let blank = header.iter().enumerate().fold(col(OVERFLOW).is_null(), |all, (i, h)| {
        let name = if known(h) { raw_name(h) } else { format!("__extra_{i}") };
        all.and(col(name.as_str()).is_null())
    });
    rules.push(Rule {
        problem: Problem::FieldCount,
        column: String::new(),
        reason: "blank line".to_string(),
        invalid: blank,
        value: lit(""),
    });
    let mut typed = Vec::new();
    let mut plain_columns = Vec::new();
    for column in spec.columns {
        let (typing, checks) = type_column(column, reference, persons);
        rules.extend(checks.iter().map(|check| check.rule(column)));
        typed.push(
            typing
                .clone()
                .expr(col(raw_name(column.name).as_str()), column.optional)
                .alias(column.name),
        );
        plain_columns.push(PlainColumn {
            position: header.iter().position(|h| h == column.name).expect("checked above"),
            name: column.name,
            typing,
            optional: column.optional,
            checks,
        });
    }
    let kept: Vec<Expr> = std::iter::once(col(LINE))
        .chain(spec.columns.iter().filter(|c| keep.keeps(spec, c)).map(|c| col(c.name)))
        .collect();
    // Streamed, and without the raw text: the whole file's raw and typed
    // columns never sit in memory together.
    let mut selection = kept.clone();
    selection.push(any_broken(&rules));
    let resolved = spec
        .columns
        .iter()
        .find(|c| c.kind == Kind::PersonRef)
        .filter(|_| persons.is_some());
    // An identifier no analysis reads is kept for the duplicate rule alone,
    // which cannot reject a row while the identifiers ascend strictly (an
    // extract exported in key order): an analysis drops them piece by piece
    // while they do, and reads the file again keeping them if they stop
    // (at 10 million persons, the peak of `rates` fell from 2,132 to 1,937 MiB).
    let mut unread_ids: Vec<&str> = match keep {
        Keep::ForAnalysis(_) => spec
            .columns
            .iter()
            .filter(|c| c.kind == Kind::Id && !spec.analysed.contains(&c.name))
            .map(|c| c.name)
            .collect(),
        Keep::All => Vec::new(),
    };
    'file: loop {
        let mut report = report.clone();
        let mut frame = DataFrame::empty();
        let mut rejects = Vec::new();
        let mut unknown_persons = Vec::new();
        let mut last_ids = vec![None; unread_ids.len()];
        // Piece by piece, each let go once read: a mapped file's pages would
        // otherwise all stay in memory until its last row (1.3 GB for
        // politiche.csv at 10 million persons).
        for (piece, quoted) in record_pieces(body.as_slice(), piece_bytes, prepared.quotes) {
            let first_line = 2 + report.rows_read as IdxSize;
            // Typed columns are materialised before the rules, which read them by name.
            let typed = scan(body.clone().sliced(piece.clone()), first_line)?.with_columns(typed.clone());
            let plain = match quoted {
                true => None,
                false => plain::read(
                    &body.as_slice()[piece.clone()],
                    separator,
                    header.len(),
                    &plain_columns,
                    first_line,
                )?,
            };
            let checked = match plain {
                Some(frame) => frame,
                None => typed
                    .clone()
                    .select(selection.clone())
                    .collect_with_engine(Engine::Streaming)
                    .map_err(|error| malformed(spec.name, body.as_slice(), error))?
                    .unwrap_single(),
            };
            report.rows_read += checked.height() as u64;
            // Rejected rows are read again, with their raw text, to say what broke.
            let (kept_rows, mut piece_rejects) = split(checked, &rules, &kept, spec.name, |lines| {
                typed.clone().filter(is_in_series(col(LINE), lines))
            })?;
            rejects.append(&mut piece_rejects);
            if let Some(column) = resolved {
                unknown_persons.extend(unknown_references(&kept_rows, column, spec.name, |lines| {
                    typed.clone().filter(is_in_series(col(LINE), lines))
                })?);
            }
            let mut kept_rows = kept_rows;
            if !unread_ids.is_empty() {
                for (id, last) in unread_ids.iter().zip(last_ids.iter_mut()) {
                    if !ascends_strictly(kept_rows.column(id)?.str()?, last) {
                        unread_ids.clear();
                        continue 'file;
                    }
                }
                kept_rows = kept_rows.drop_many(unread_ids.iter().copied());
            }
            if frame.width() == 0 {
                frame = kept_rows;
            } else {
                frame.vstack_mut_owned(kept_rows)?;
            }
            bytes.release(body_start + piece.start..body_start + piece.end);
        }
        return Ok(FileRows {
            frame,
            report,
            rejects,
            unknown_persons,
        });
    }
}

/// The reject of a row whose reference `id` in `column` is to no kept person.
fn unknown_person(file: &str, line: u64, column: &str, id: &str) -> Reject {
    Reject {
        file: file.to_string(),
        line,
        column: column.to_string(),
        value: shorten(id),
        reason: "unknown person: not among the valid rows of lavoratori.csv".to_string(),
        problem: Problem::UnknownPerson,
    }
}

/// The rows of `kept` whose resolved reference in `column` found no person,
/// as rejects quoting the reference's text, read again from `rows` (given
/// the line numbers) like a broken row's.
fn unknown_references(
    kept: &DataFrame,
    column: &ColumnSpec,
    file: &str,
    rows: impl FnOnce(Series) -> LazyFrame,
) -> Result<Vec<Reject>> {
    let lines = kept
        .clone()
        .lazy()
        .filter(col(column.name).eq(lit(persons::UNKNOWN)))
        .select([col(LINE)])
        .collect()?;
    if lines.height() == 0 {
        return Ok(Vec::new());
    }
    let lines = lines.column(LINE)?.as_materialized_series().clone();
    let found = rows(lines)
        .select([
            col(LINE),
            col(raw_name(column.name).as_str())
                .str()
                .strip_chars(lit(LiteralValue::untyped_null())),
        ])
        .collect()?;
    let ids = found.column(&raw_name(column.name))?.str()?;
    Ok(found
        .column(LINE)?
        .idx()?
        .iter()
        .zip(ids.iter())
        .map(|(line, id)| unknown_person(file, line.map_or(0, u64::from), column.name, id.unwrap_or("")))
        .collect())
}

/// Bytes of CSV read at a time (see [`record_pieces`]).
const PIECE_BYTES: usize = 64 << 20;

/// Splits a file's body into pieces of about `target` bytes, each ending
/// where a record ends: at a line break outside quotes (an even number of
/// quotes before it, as `""` escapes a quote inside a quoted field), at any
/// line break when the body holds no quote (`quotes` false). Each piece is
/// found when asked for, so the bytes beyond it are not touched; with it
/// comes whether it holds a quote (counted anyway to find its end), which
/// sends it to polars' reader (see [`plain`]).
fn record_pieces(
    body: &[u8],
    target: usize,
    quotes: bool,
) -> impl Iterator<Item = (std::ops::Range<usize>, bool)> + '_ {
    let mut start = 0;
    let mut scanned = 0;
    let mut quotes_before = 0;
    let mut quotes_at_start = 0;
    let mut done = false;
    let count_quotes = move |bytes: &[u8]| if quotes { count_quotes(bytes) } else { 0 };
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut end = start + target;
        while end < body.len() {
            let Some(newline) = memchr::memchr(b'\n', &body[end..]) else {
                break;
            };
            let after = end + newline + 1;
            quotes_before += count_quotes(&body[scanned..after]);
            scanned = after;
            if quotes_before % 2 == 0 && after < body.len() {
                let piece = (start..after, quotes_before > quotes_at_start);
                start = after;
                quotes_at_start = quotes_before;
                return Some(piece);
            }
            end = after;
        }
        // The rest, or the whole body (an empty one is read like an empty file).
        done = true;
        let quoted = quotes_before > quotes_at_start || count_quotes(&body[scanned..]) > 0;
        Some((start..body.len(), quoted))
    })
}

/// The quotes in `bytes`, summed in bytes 64 at a time so that the
/// compiler compares whole vector registers: counted into one `usize`, each
/// byte was widened to 64 bits, 4 bytes a step (3.5% of the CPU of `rates`
/// at 10 million persons, on the thread that hands out the pieces).
fn count_quotes(bytes: &[u8]) -> usize {
    let blocks = bytes.chunks_exact(64);
    let rest = blocks.remainder().iter().filter(|&&b| b == b'"').count();
    blocks.fold(rest, |count, block| {
        count + usize::from(block.iter().map(|&b| u8::from(b == b'"')).sum::<u8>())
    })
}

/// How a column is typed (from its raw text) and its row rules.
/// One pass over each value trims it, tells a missing value from a present
/// one and types it; a present value that does not read marks the row with
/// an out-of-range value the rules look for (no kept row ever holds one).
/// Trimming, the null spellings, parsing and the code lookups as separate
/// polars expressions each built a column of their own: half the time of
/// stage 1. Code and enumeration values become their position in
/// [`Kind::values`] (4 bytes a row where the text takes 16 or more, and
/// cheaper to gather in every join; polars' `replace_strict` did it but kept
/// whole columns in memory in the streamed read, +0.9 GB at 10 million
/// persons); dates are read by [`date_days`], one pass for both layouts
/// where polars' `to_date` needs one per format. With `persons`, a person
/// reference becomes its person's position (see [`persons`]).
fn type_column(column: &ColumnSpec, reference: &Reference, persons: Option<&Arc<PersonIndex>>) -> (Typing, Vec<Check>) {
    let mut checks = Vec::new();
    if !column.optional {
        checks.push(Check::Missing);
    }
    let typing = match column.kind {
        Kind::PersonRef if persons.is_some() => {
            checks.push(Check::LongReference);
            Typing::Person(Arc::clone(persons.expect("matched")))
        }
        Kind::Id | Kind::PersonRef | Kind::Text => {
            checks.push(Check::LongText);
            Typing::Text
        }
        Kind::Enum(_) | Kind::Code(_) => {
            checks.push(Check::NotInList);
            Typing::Numbered(Arc::new(positions(column, reference)))
        }
        Kind::Year => {
            checks.extend([Check::Unreadable, Check::YearBefore(1900)]);
            Typing::Year
        }
        Kind::Date => {
            checks.push(Check::Unreadable);
            // An unreadable start reads as the earliest day: no order to break.
            checks.extend(column.not_before.map(Check::Before));
            Typing::Date
        }
    };
    (typing, checks)
}

/// A row rule of stage 1 on one column's typed values. The plain reader
/// checks it as each part is typed ([`Check::mark_broken`]); polars' reader
/// and the reading again of rejected rows use its [`Rule`]'s expression.
/// The two must agree: `tests::checks_break_the_rows_their_rules_break`.
/// Evaluated by polars on each piece instead, the rules took 0.41 s of the
/// 6.3 s of `rates` at 10 million persons, on one and a half of two cores.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    /// No value in a required column.
    Missing,
    /// A text longer than [`MAX_TEXT_BYTES`].
    LongText,
    /// A person reference longer than [`MAX_TEXT_BYTES`] (see [`persons::TOO_LONG`]).
    LongReference,
    /// A code or enumeration value not in its list.
    NotInList,
    /// A year or date that does not read as one.
    Unreadable,
    /// A year before this one.
    YearBefore(i32),
    /// A date before the same row's date in this column.
    Before(&'static str),
}

impl Check {
    /// The rule as polars evaluates it, on the typed column named like `column`.
    fn rule(self, column: &ColumnSpec) -> Rule {
        let typed = col(column.name);
        let too_long = || format!("longer than {MAX_TEXT_BYTES} bytes");
        let (problem, reason, invalid) = match (self, column.kind) {
            (Check::Missing, kind) => {
                let what = match kind {
                    Kind::Id | Kind::PersonRef => "identifier",
                    _ => "value",
                };
                let reason = format!(
                    "empty {what}: {} is required (or the row has fewer fields than the header)",
                    column.name
                );
                (Problem::Empty, reason, typed.is_null())
            }
            (Check::LongText, _) => (
                Problem::NotAllowed,
                too_long(),
                typed.str().len_bytes().gt(lit(MAX_TEXT_BYTES as u32)),
            ),
            (Check::LongReference, _) => (Problem::NotAllowed, too_long(), typed.eq(lit(persons::TOO_LONG))),
            (Check::NotInList, Kind::Code(list)) => (
                Problem::UnknownCode,
                format!("code not in the reference table {}", list.file()),
                typed.eq(lit(NOT_IN_LIST)),
            ),
            (Check::NotInList, kind) => {
                let values = match kind {
                    Kind::Enum(values) => values.join(", "),
                    _ => unreachable!("only code and enumeration columns are numbered"),
                };
                (
                    Problem::NotAllowed,
                    format!("not one of {values}"),
                    typed.eq(lit(NOT_IN_LIST)),
                )
            }
            (Check::Unreadable, Kind::Year) => (
                Problem::BadYear,
                "not a whole year (e.g. 1985)".to_string(),
                typed.eq(lit(UNREADABLE)),
            ),
            (Check::Unreadable, _) => (
                Problem::BadDate,
                "not a valid date (dd/mm/yyyy or yyyy-mm-dd)".to_string(),
                typed.cast(DataType::Int32).eq(lit(UNREADABLE)),
            ),
            (Check::YearBefore(year), _) => (
                Problem::BadYear,
                format!("birth year before {year}"),
                typed.lt(lit(year)),
            ),
            (Check::Before(start), _) => (
                Problem::DateOrder,
                format!("before {start} of the same row"),
                typed.lt(col(start)),
            ),
        };
        Rule {
            problem,
            column: column.name.to_string(),
            reason,
            invalid,
            value: col(raw_name(column.name).as_str())
                .str()
                .strip_chars(lit(LiteralValue::untyped_null())),
        }
    }

    /// Sets `broken` where the rule rejects a row of `typed`; `start` is the
    /// column a [`Check::Before`] compares with. A comparison with a missing
    /// value breaks nothing, as in [`any_broken`]. Read straight from the
    /// arrays: through polars' iterators of optional values the checks took
    /// 1.4 s of CPU at 10 million persons, twice the expressions' 0.65 s.
    fn mark_broken(self, typed: &Column, start: Option<&Column>, broken: &mut [bool]) -> PolarsResult<()> {
        let physical = typed.to_physical_repr();
        match self {
            Check::Missing => {
                let mut at = 0;
                for array in typed.as_materialized_series().chunks() {
                    let rows = &mut broken[at..at + array.len()];
                    if let Some(valid) = array.validity().filter(|valid| valid.unset_bits() > 0) {
                        mark(rows, valid.iter().map(|present| !present));
                    }
                    at += array.len();
                }
            }
            Check::LongText => {
                let mut at = 0;
                for array in typed.str()?.downcast_iter() {
                    let long = array.views().iter().map(|view| view.length as usize > MAX_TEXT_BYTES);
                    mark_present(&mut broken[at..at + array.len()], array.validity(), long);
                    at += array.len();
                }
            }
            Check::LongReference => mark_values(broken, typed.idx()?, |v| v == persons::TOO_LONG),
            Check::NotInList => mark_values(broken, typed.u32()?, |v| v == NOT_IN_LIST),
            Check::Unreadable => mark_values(broken, physical.i32()?, |v| v == UNREADABLE),
            Check::YearBefore(year) => mark_values(broken, physical.i32()?, |v| v < year),
            Check::Before(name) => {
                let start = start
                    .ok_or_else(|| polars_err!(ColumnNotFound: "{name}"))?
                    .to_physical_repr();
                let (ends, starts) = (physical.i32()?.rechunk(), start.i32()?.rechunk());
                let (ends, starts) = (ends.downcast_as_array(), starts.downcast_as_array());
                let before = ends
                    .values()
                    .iter()
                    .zip(starts.values().iter())
                    .map(|(end, start)| end < start);
                let both = match (ends.validity(), starts.validity()) {
                    (Some(ends), Some(starts)) => Some(ends & starts),
                    (one, other) => one.or(other).cloned(),
                };
                mark_present(broken, both.as_ref(), before);
            }
        }
        Ok(())
    }
}

/// Sets `broken` where `rows` is true.
fn mark(broken: &mut [bool], rows: impl Iterator<Item = bool>) {
    broken.iter_mut().zip(rows).for_each(|(broken, row)| *broken |= row);
}

/// Sets `broken` where `rows` is true and `validity` (none: every row) has a value.
fn mark_present(broken: &mut [bool], validity: Option<&Bitmap>, rows: impl Iterator<Item = bool>) {
    match validity.filter(|valid| valid.unset_bits() > 0) {
        None => mark(broken, rows),
        Some(valid) => mark(broken, rows.zip(valid.iter()).map(|(row, present)| row && present)),
    }
}

/// Sets `broken` where `breaks` holds for a row's value, if it has one.
fn mark_values<T: PolarsNumericType>(
    broken: &mut [bool],
    values: &ChunkedArray<T>,
    breaks: impl Fn(T::Native) -> bool,
) {
    let mut at = 0;
    for array in values.downcast_iter() {
        let rows = array.values().iter().map(|&v| breaks(v));
        mark_present(&mut broken[at..at + array.len()], array.validity(), rows);
        at += array.len();
    }
}

/// A present code or enumeration value that is not in its list.
const NOT_IN_LIST: u32 = u32::MAX;
/// A present year or date that does not read as one.
const UNREADABLE: i32 = i32::MIN;

/// Spellings of a missing value in an optional column, besides the empty field.
const NULL_SPELLINGS: [&str; 3] = ["NULL", "null", "-"];

/// The trimmed value, or none when the field holds no value.
fn present(raw: Option<&str>, optional: bool) -> Option<&str> {
    let raw = raw?;
    // Most values start and end with a printable ASCII byte, so nothing can
    // be trimmed: `trim` decoded characters from each end to find out.
    let printable = |byte: Option<&u8>| byte.is_some_and(|b| (0x21..0x7f).contains(b));
    let text = if printable(raw.as_bytes().first()) && printable(raw.as_bytes().last()) {
        raw
    } else {
        raw.trim()
    };
    let missing = text.is_empty()
        || (optional
            && NULL_SPELLINGS
                .iter()
                .any(|null| same_bytes(null.as_bytes(), text.as_bytes())));
    (!missing).then_some(text)
}

/// Whether two short byte strings are equal, compared inline: the library
/// call a slice comparison makes cost more than the comparison itself for
/// identifiers and codes of a few bytes (memcmp was 5-6% of the CPU of
/// `rates` at 1 and 10 million persons).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let n = a.len();
    match n {
        _ if n != b.len() => false,
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        0..=7 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// The positions of a code or enumeration column's values in its list.
fn positions(column: &ColumnSpec, reference: &Reference) -> Positions {
    let values = column
        .kind
        .values(reference)
        .expect("a code or enumeration column has values");
    if values.len() <= FEW_VALUES {
        Positions::Few(values.into_iter().map(String::from).collect())
    } else {
        Positions::Many(
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (v.to_string(), i as u32))
                .collect(),
        )
    }
}

/// Lists up to this long are searched value by value rather than hashed
/// (measured only together with [`same_bytes`] and the untrimmed values of
/// [`present`]: 0.92 of the wall time of `rates` at a million persons).
const FEW_VALUES: usize = 8;

/// A list's values, each found by its text.
enum Positions {
    /// An enumeration's few values, compared in turn.
    Few(Vec<String>),
    /// A code list, hashed.
    Many(PlHashMap<String, u32>),
}

impl Positions {
    fn get(&self, value: &str) -> Option<u32> {
        match self {
            Positions::Few(values) => values
                .iter()
                .position(|v| same_bytes(v.as_bytes(), value.as_bytes()))
                .map(|i| i as u32),
            Positions::Many(positions) => positions.get(value).copied(),
        }
    }
}

/// How a column's text becomes its typed values, value by value: the same
/// whether polars' CSV reader scanned the piece (see [`Typing::expr`]) or
/// the piece was read plain (see [`plain`]).
#[derive(Clone)]
enum Typing {
    /// Trimmed text, missing values as nulls.
    Text,
    /// The referred person's position among lavoratori.csv's rows (see [`persons`]).
    Person(Arc<PersonIndex>),
    /// The value's position in its list; [`NOT_IN_LIST`] when not in it.
    Numbered(Arc<Positions>),
    /// A year; [`UNREADABLE`] when not a whole number.
    Year,
    /// Days since 1970-01-01; [`UNREADABLE`] when not a date.
    Date,
}

impl Typing {
    fn dtype(&self) -> DataType {
        match self {
            Typing::Text => DataType::String,
            Typing::Person(_) => IDX_DTYPE,
            Typing::Numbered(_) => DataType::UInt32,
            Typing::Year => DataType::Int32,
            Typing::Date => DataType::Date,
        }
    }

    /// The typed column of the fields `raw` (none where the field is missing).
    fn column<'a>(
        &self,
        name: PlSmallStr,
        raw: impl Iterator<Item = Option<&'a str>>,
        optional: bool,
    ) -> PolarsResult<Column> {
        let values = raw.map(|value| present(value, optional));
        Ok(match self {
            Typing::Text => values.collect::<StringChunked>().with_name(name).into_column(),
            Typing::Person(index) => {
                let references: Vec<Option<&str>> = values.collect();
                let positions: IdxCa = index.resolve(&references, MAX_TEXT_BYTES).into_iter().collect();
                positions.with_name(name).into_column()
            }
            Typing::Numbered(positions) => read_values::<UInt32Type>(values, NOT_IN_LIST, |v| positions.get(v))
                .with_name(name)
                .into_column(),
            // The spellings polars' cast read (sign, leading zeros); the one
            // year equal to the mark stays a year before 1900.
            Typing::Year => read_values::<Int32Type>(values, UNREADABLE, |v| {
                v.parse::<i32>().ok().map(|year| year.max(UNREADABLE + 1))
            })
            .with_name(name)
            .into_column(),
            Typing::Date => read_values::<Int32Type>(values, UNREADABLE, date_days)
                .with_name(name)
                .into_column()
                .cast(&DataType::Date)?,
        })
    }

    /// The typed column as an expression over a scanned piece's raw text
    /// column. A text column with nothing to trim or blank out, the usual
    /// case, is passed on without a copy.
    fn expr(self, raw: Expr, optional: bool) -> Expr {
        let dtype = self.dtype();
        raw.map(
            move |column| {
                let text = column.str()?;
                if let Typing::Text = self {
                    let unchanged = |v: &str| present(Some(v), optional).is_some_and(|kept| kept.len() == v.len());
                    if text.iter().all(|value| value.is_none_or(unchanged)) {
                        return Ok(column);
                    }
                }
                self.column(column.name().clone(), text.iter(), optional)
            },
            move |_, field| Ok(Field::new(field.name().clone(), dtype.clone())),
        )
    }
}

/// Present values read by `read`; `unreadable` stands for one it cannot read.
fn read_values<'a, T>(
    present: impl Iterator<Item = Option<&'a str>>,
    unreadable: T::Native,
    read: impl Fn(&str) -> Option<T::Native>,
) -> ChunkedArray<T>
where
    T: PolarsNumericType,
    ChunkedArray<T>: FromIterator<Option<T::Native>>,
{
    present
        .map(|value| value.map(|v| read(v).unwrap_or(unreadable)))
        .collect()
}

/// Days since 1970-01-01 of a `dd/mm/yyyy` or `yyyy-mm-dd` date.
pub(crate) fn date_days(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range]
            .iter()
            .try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = match (b[2], b[5], b[4], b[7]) {
        (b'/', b'/', _, _) => (number(6..10)?, number(3..5)?, number(0..2)?),
        (_, _, b'-', b'-') => (number(0..4)?, number(5..7)?, number(8..10)?),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year as i32, month, day).map(epoch_days)
}

/// `__broken`: whether the row breaks any rule. A null check (a comparison
/// with a missing value) is not broken.
fn any_broken(rules: &[Rule]) -> Expr {
    rules
        .iter()
        .fold(lit(false), |any, r| any.or(r.invalid.clone().fill_null(lit(false))))
        .alias(BROKEN)
}

/// `__rule` (index of the first broken rule).
fn rule_index(rules: &[Rule]) -> Expr {
    let index: Vec<Expr> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            when(r.invalid.clone())
                .then(lit(i as u32))
                .otherwise(null_of(DataType::UInt32))
        })
        .collect();
    coalesce(&index).alias(RULE)
}

/// What the broken rule saw; it reads `__rule`, which must exist already, so
/// the rules are evaluated once per row and not once per rule.
fn rule_value(rules: &[Rule]) -> Expr {
    rules
        .iter()
        .enumerate()
        .fold(null_of(DataType::String), |acc, (i, r)| {
            when(col(RULE).eq(lit(i as u32)))
                .then(r.value.clone().cast(DataType::String))
                .otherwise(acc)
        })
        .alias(VALUE)
}

/// Splits a frame holding `__broken` into the rows kept (as the `kept`
/// columns) and the rejects. Which rule a row broke, and the value it saw,
/// are worked out for the rejected rows only, taken from `rows` (given the
/// line numbers): on a clean file the checks cost one boolean per row and
/// keeping the rows costs no copy.
fn split(
    frame: DataFrame,
    rules: &[Rule],
    kept: &[Expr],
    file: &str,
    rows: impl FnOnce(Series) -> LazyFrame,
) -> Result<(DataFrame, Vec<Reject>)> {
    let broken = frame.column(BROKEN)?.bool()?.sum().unwrap_or(0);
    if broken == 0 {
        return Ok((frame.lazy().select(kept).collect()?, Vec::new()));
    }
    let broken_lines = frame
        .clone()
        .lazy()
        .filter(col(BROKEN))
        .select([col(LINE)])
        .collect()?
        .column(LINE)?
        .as_materialized_series()
        .clone();
    let rejected = rows(broken_lines)
        .with_column(rule_index(rules))
        .with_column(rule_value(rules))
        .select([col(LINE), col(RULE), col(VALUE)])
        .sort([LINE], SortMultipleOptions::default())
        .collect()?;
    let lines = rejected.column(LINE)?.idx()?;
    let indexes = rejected.column(RULE)?.u32()?;
    let values = rejected.column(VALUE)?.str()?;
    let rejects = lines
        .iter()
        .zip(indexes.iter())
        .zip(values.iter())
        .map(|((line, index), value)| {
            let rule = &rules[index.expect("a broken row breaks a rule") as usize];
            Reject {
                file: file.to_string(),
                line: line.map_or(0, u64::from),
                column: rule.column.clone(),
                value: shorten(value.unwrap_or("")),
                reason: rule.reason.clone(),
                problem: rule.problem,
            }
        })
        .collect();
    let frame = frame.lazy().filter(col(BROKEN).not()).select(kept).collect()?;
    Ok((frame, rejects))
}

/// Evaluates rules on an already typed frame and removes the rows they reject.
fn apply_rules(frame: &mut DataFrame, rules: &[Rule], file: &str) -> Result<Vec<Reject>> {
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    // Mostly none is broken (no date can pass the default as-of date, the
    // latest in the files): asked first, no row is copied then.
    let broken = frame.clone().lazy().select([any_broken(rules).any(true)]).collect()?;
    if !broken.column(BROKEN)?.bool()?.get(0).unwrap_or(false) {
        return Ok(Vec::new());
    }
    let kept: Vec<Expr> = frame
        .get_column_names()
        .into_iter()
        .map(|name| col(name.clone()))
        .collect();
    let checked = frame.clone().lazy().with_column(any_broken(rules)).collect()?;
    let (kept, rejects) = split(checked.clone(), rules, &kept, file, |_| {
        checked.lazy().filter(col(BROKEN))
    })?;
    *frame = kept;
    Ok(rejects)
}

fn format_date(column: &str) -> Expr {
    col(column).dt().to_string("%d/%m/%Y")
}

/// Stage 2: dates after the as-of date, birth years too recent, duplicate
/// ids (but in the identifiers `distinct` says hold no value twice).
fn as_of_rules(spec: &FileSpec, as_of: NaiveDate, frame: &DataFrame, distinct: &[&str]) -> Result<Vec<Rule>> {
    let mut rules = Vec::new();
    for column in spec.columns {
        match column.kind {
            Kind::Date => rules.push(Rule {
                problem: Problem::AfterAsOf,
                column: column.name.to_string(),
                reason: format!("after the as-of date {}", as_of.format("%d/%m/%Y")),
                invalid: col(column.name).gt(date_lit(as_of)),
                value: format_date(column.name),
            }),
            Kind::Year => {
                let latest = as_of.year() - 14;
                rules.push(Rule {
                    problem: Problem::BadYear,
                    column: column.name.to_string(),
                    reason: format!("birth year after {latest} (younger than 14 at the as-of date)"),
                    invalid: col(column.name).gt(lit(latest)),
                    value: col(column.name).cast(DataType::String),
                });
            }
            _ => {}
        }
    }
    for column in spec.columns.iter().filter(|c| c.kind == Kind::Id) {
        // An analysis drops an identifier after stage 1 when it cannot repeat.
        if distinct.contains(&column.name) || frame.column(column.name).is_err() || !may_repeat(frame, column.name)? {
            continue;
        }
        rules.push(Rule {
            problem: Problem::Duplicate,
            column: column.name.to_string(),
            reason: format!("duplicate {}: every row with this value is rejected", column.name),
            invalid: col(column.name).is_duplicated(),
            value: col(column.name),
        });
    }
    Ok(rules)
}

/// Stage 3 for references held as text (validate, import, and a cache read
/// against another as-of date; analyses of the CSV files resolve them as
/// they read, see [`check_resolved_references`]): rejects the references to
/// persons that are not among the kept rows of lavoratori.csv. One anti
/// join finds them in every file at once,
/// so the persons' identifiers are hashed once (at 10 million persons a join
/// per file took 2.5 and 2.8 s; the later rules went from 4.5 to 3.0 s), and
/// polars spreads the probes over the cores. It runs streamed: in memory it
/// hashed every reference at once (+1.2 GB for politiche.csv at 10 million
/// persons, against +0.75 GB streamed).
fn check_references(frames: &mut BTreeMap<FileKind, DataFrame>) -> Result<Vec<Reject>> {
    const REFERENCE: &str = "__reference";
    const SOURCE: &str = "__source";
    let persons = loaded_persons(frames)?.select(["id_lav"])?;
    let sources: Vec<(FileKind, &'static str)> = frames
        .keys()
        .flat_map(|kind| {
            kind.spec()
                .columns
                .iter()
                .filter(|c| c.kind == Kind::PersonRef)
                .map(|c| (*kind, c.name))
        })
        .collect();
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let references: Vec<LazyFrame> = sources
        .iter()
        .enumerate()
        .map(|(source, (kind, column))| {
            frames[kind].clone().lazy().select([
                col(LINE),
                col(*column).alias(REFERENCE),
                lit(source as u32).alias(SOURCE),
            ])
        })
        .collect();
    let unknown = collect_streaming(
        concat(references, UnionArgs::default())?
            .join(
                persons.lazy().select([col("id_lav").alias(REFERENCE)]),
                [col(REFERENCE)],
                [col(REFERENCE)],
                JoinArgs::new(JoinType::Anti),
            )
            .sort([SOURCE, LINE], SortMultipleOptions::default()),
    )?;
    let mut rejects = Vec::new();
    for (source, (kind, column)) in sources.into_iter().enumerate() {
        let found = unknown
            .clone()
            .lazy()
            .filter(col(SOURCE).eq(lit(source as u32)))
            .collect()?;
        if found.height() == 0 {
            continue;
        }
        let lines = found.column(LINE)?.idx()?;
        let ids = found.column(REFERENCE)?.str()?;
        rejects.extend(
            lines.iter().zip(ids.iter()).map(|(line, id)| {
                unknown_person(kind.spec().name, line.map_or(0, u64::from), column, id.unwrap_or(""))
            }),
        );
        let frame = frames.get_mut(&kind).expect("a source is a loaded file");
        drop_lines(frame, found.column(LINE)?.as_materialized_series().clone())?;
    }
    Ok(rejects)
}

/// Stage 3 for references resolved to positions among the persons' rows
/// of stage 1 (the persons' frame carries them as `__person`): rejects those
/// that found no person (`unknown_persons` says which, with their text) and
/// those whose person a rule of stage 2 rejected. One pass over the
/// positions, where the text took a join of every reference.
fn check_resolved_references(
    frames: &mut BTreeMap<FileKind, DataFrame>,
    index: &PersonIndex,
    unknown_persons: Vec<Reject>,
) -> Result<Vec<Reject>> {
    let mut kept = vec![false; index.len()];
    for position in loaded_persons(frames)?.column(PERSON)?.idx()?.into_no_null_iter() {
        kept[position as usize] = true;
    }
    let mut unknown: BTreeMap<(String, u64), Reject> = unknown_persons
        .into_iter()
        .map(|r| ((r.file.clone(), r.line), r))
        .collect();
    let mut rejects = Vec::new();
    for (kind, frame) in frames.iter_mut() {
        let spec = kind.spec();
        let Some(column) = spec.columns.iter().find(|c| c.kind == Kind::PersonRef) else {
            continue;
        };
        let mut dropped = Vec::new();
        let positions = frame.column(column.name)?.idx()?;
        let lines = frame.column(LINE)?.idx()?;
        for (line, position) in lines.into_no_null_iter().zip(positions.into_no_null_iter()) {
            if position == persons::UNKNOWN {
                // Stage 1 kept the text of every such row it kept.
                let reject = unknown.remove(&(spec.name.to_string(), u64::from(line))).ok_or_else(|| {
                    anyhow!(
                        "{}, line {line}: internal error, the text of its unknown person was not kept; please report it with the command line that gave it",
                        spec.name
                    )
                })?;
                rejects.push(reject);
            } else if !kept[position as usize] {
                rejects.push(unknown_person(
                    spec.name,
                    u64::from(line),
                    column.name,
                    index.id(position),
                ));
            } else {
                continue;
            }
            dropped.push(line);
        }
        drop_lines(frame, IdxCa::from_vec(PlSmallStr::EMPTY, dropped).into_series())?;
    }
    Ok(rejects)
}

/// Drops from a checked frame the rows whose line is in `lines`.
fn drop_lines(frame: &mut DataFrame, lines: Series) -> Result<()> {
    if !lines.is_empty() {
        *frame = std::mem::take(frame)
            .lazy()
            .filter(is_in_series(col(LINE), lines).not())
            .collect()?;
    }
    Ok(())
}

/// Replaces `id_lav` in every frame by a 64-bit hash of it, where the
/// references were read as text (a cache judged against another as-of
/// date; an analysis of the CSV files resolves them to positions). The queries
/// join on it many times, and hashing 8 bytes instead of a long pseudonym
/// is what makes those joins cheap; it also takes less memory. It runs
/// after stage 3, so every id in the other files is a person's id: when the
/// persons' hashes are all distinct, equal hashes mean the same person.
/// Should two persons ever share a hash, the ids stay as they are.
fn key_persons_by_hash(frames: &mut BTreeMap<FileKind, DataFrame>) -> Result<()> {
    let Some(persons_keys) = distinct_hashes(loaded_persons(frames)?, "id_lav")? else {
        return Ok(());
    };
    for (kind, frame) in frames.iter_mut() {
        if *kind == FileKind::Persons {
            frame.with_column(persons_keys.clone())?;
        } else if frame.column("id_lav").is_ok() {
            *frame = std::mem::take(frame).lazy().with_column(hashes("id_lav")).collect()?;
        }
    }
    Ok(())
}

/// Each person's position among the persons' rows, by the 64-bit hash of
/// the identifier: the import stores it with every reference so that
/// analyses gather a person's row instead of joining.
struct PersonNumbers {
    by_hash: DataFrame,
}

const POSITION: &str = "__position";
/// The persons' positions among lavoratori.csv's checked rows, which
/// resolved references hold (see [`persons`]).
const PERSON: &str = "__person";

impl PersonNumbers {
    /// None when two persons share a hash, which would not tell them apart.
    fn new(persons: &DataFrame) -> Result<Option<PersonNumbers>> {
        let Some(hashed) = distinct_hashes(persons, "id_lav")? else {
            return Ok(None);
        };
        let positions = person_positions(persons.height()).with_name(POSITION.into());
        let by_hash = DataFrame::new(persons.height(), vec![hashed, positions.into_column()])?;
        Ok(Some(PersonNumbers { by_hash }))
    }

    /// The position of each row's person (null for an identifier of no
    /// person). A reference whose hash is a person's but whose identifier is
    /// not gets that person's position: stage 3 rejects it by its
    /// identifier, so no analysis reads it. Streamed, with the persons as
    /// the hashed side: looked up in memory (polars' `replace_strict`), one
    /// import of 10 million persons peaked at 4,180 MiB, streamed at 3,841.
    fn of(&self, frame: &DataFrame) -> Result<Column> {
        let found = collect_streaming(
            frame
                .clone()
                .lazy()
                .select([hashes("id_lav")])
                .join(
                    self.by_hash.clone().lazy(),
                    [col("id_lav")],
                    [col("id_lav")],
                    JoinArgs {
                        maintain_order: MaintainOrderJoin::Left,
                        ..JoinArgs::new(JoinType::Left)
                    },
                )
                .select([col(POSITION)]),
        )?;
        Ok(found.column(POSITION)?.clone())
    }
}

/// The persons' positions `0..count`, as the column `id_lav`.
fn person_positions(count: usize) -> Series {
    IdxCa::from_vec("id_lav".into(), (0..count as IdxSize).collect()).into_series()
}

/// Keeps `id_lav` a position among the persons' rows once the later rules
/// have dropped some of the rows the cache numbered: the persons' numbers
/// rise with their rows, so the remaining ones shift down to `0..height`.
/// The references to dropped persons were dropped with them (stage 3).
fn renumber_persons(frames: &mut BTreeMap<FileKind, DataFrame>) -> Result<()> {
    let numbers = loaded_persons(frames)?.column("id_lav")?.idx()?.clone();
    let Some(last) = numbers.last() else {
        return Ok(());
    };
    if last as usize + 1 == numbers.len() {
        return Ok(());
    }
    let mut renumbered: Vec<Option<IdxSize>> = vec![None; last as usize + 1];
    for (position, number) in numbers.into_no_null_iter().enumerate() {
        renumbered[number as usize] = Some(position as IdxSize);
    }
    let renumbered: IdxCa = renumbered.into_iter().collect();
    for (kind, frame) in frames.iter_mut() {
        let positions = if *kind == FileKind::Persons {
            person_positions(frame.height())
        } else if frame.column("id_lav").is_ok() {
            renumbered
                .take(frame.column("id_lav")?.idx()?)?
                .with_name("id_lav".into())
                .into_series()
        } else {
            continue;
        };
        frame.with_column(positions.into_column())?;
    }
    Ok(())
}

/// A 64-bit hash of each value of a text column, under the column's name.
fn hashes(column: &str) -> Expr {
    col(column).map(
        |ids| {
            let hashes: UInt64Chunked = ids.str()?.iter().map(|id| id.map(id_hash)).collect();
            Ok(hashes.with_name(ids.name().clone()).into_column())
        },
        |_, field| Ok(Field::new(field.name().clone(), DataType::UInt64)),
    )
}

/// Whether a text column may hold a value twice: never when its values
/// ascend strictly, as the keys of an extract exported in key order do (one
/// comparison of neighbours: 17.6 million activity ids at 10 million
/// persons, 0.5 s hashed), nor when the hashes of its values are all
/// distinct, which is much cheaper to check than the values themselves.
fn may_repeat(frame: &DataFrame, column: &str) -> Result<bool> {
    let ascending = ascends_strictly(frame.column(column)?.str()?, &mut None);
    Ok(!ascending && distinct_hashes(frame, column)?.is_none())
}

/// Whether `values` are present and ascend strictly, from above `previous`
/// on; if they do, `previous` becomes the last of them.
fn ascends_strictly(values: &StringChunked, previous: &mut Option<String>) -> bool {
    let mut before = previous.as_deref();
    let ascending = values.iter().all(|value| {
        let rises = value.is_some() && before < value;
        before = value;
        rises
    });
    let last = before.map(str::to_string);
    if ascending {
        *previous = last;
    }
    ascending
}

/// The 64-bit hashes of a text column's values, under its name, when they
/// are all distinct.
fn distinct_hashes(frame: &DataFrame, column: &str) -> Result<Option<Column>> {
    let hashed = frame.clone().lazy().select([hashes(column)]).collect()?;
    let hashed = hashed.column(column)?;
    Ok((hashed.n_unique()? == frame.height()).then(|| hashed.clone()))
}

/// lavoratori.csv's checked rows, which every analysis loads.
fn loaded_persons(frames: &BTreeMap<FileKind, DataFrame>) -> Result<&DataFrame> {
    frames
        .get(&FileKind::Persons)
        .ok_or_else(|| anyhow!("lavoratori.csv was not loaded"))
}

fn id_hash(id: &str) -> u64 {
    // A fixed seed: the same id gets the same hash in every frame.
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// Analyses run on pseudonymised extracts only: a person identifier shaped
/// like a codice fiscale stops the run (naming the line, never the value).
fn refuse_codici_fiscali(persons: &DataFrame) -> Result<()> {
    let ids = persons.column("id_lav")?.str()?;
    let lines = persons.column(LINE)?.idx()?;
    let found = ids
        .iter()
        .zip(lines.iter())
        .find(|(id, _)| id.is_some_and(crate::pseudonym::looks_like_codice_fiscale));
    if let Some((_, line)) = found {
        bail!(
            "lavoratori.csv, line {}: id_lav holds what looks like a codice fiscale; analyses run only on pseudonymised extracts: run `silp-access pseudonymise --in DIR --out NEW_DIR --key-file KEY` and analyse NEW_DIR",
            line.unwrap_or(0)
        );
    }
    Ok(())
}

/// The first and last date of a date column among the kept rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    pub file: &'static str,
    pub column: &'static str,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
}

fn date_ranges(frames: &BTreeMap<FileKind, DataFrame>) -> Result<Vec<DateRange>> {
    let to_date = |days: i32| NaiveDate::from_num_days_from_ce_opt(days + EPOCH_DAYS_FROM_CE);
    let mut ranges = Vec::new();
    for (kind, frame) in frames {
        for column in kind.spec().columns.iter().filter(|c| c.kind == Kind::Date) {
            let series = frame.column(column.name)?.as_materialized_series().clone();
            let days = series.date()?.physical();
            ranges.push(DateRange {
                file: kind.spec().name,
                column: column.name,
                first: days.min().and_then(to_date),
                last: days.max().and_then(to_date),
            });
        }
    }
    Ok(ranges)
}

fn latest_date(kind: FileKind, frame: &DataFrame) -> Result<Option<NaiveDate>> {
    let frames = BTreeMap::from([(kind, frame.clone())]);
    Ok(date_ranges(&frames)?.into_iter().filter_map(|r| r.last).max())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use polars::prelude::*;

    use super::{
        count_quotes, date_days, dialect, may_repeat, read_file, record_pieces, same_bytes, FileRows, Keep, PersonIndex,
    };
    use crate::extract::schema::{ACTIVITIES, PERSONS, SPELLS};
    use crate::reference::Reference;

    #[test]
    fn pieces_end_at_line_breaks_outside_quotes_and_cover_the_body() {
        let body = b"a;1\nb;\"x\ny\"\nc;3\nd;4\n";
        let ranges = |body, target| {
            record_pieces(body, target, true)
                .map(|(range, _)| range)
                .collect::<Vec<_>>()
        };
        let quoted = |body, target| {
            record_pieces(body, target, true)
                .map(|(_, quoted)| quoted)
                .collect::<Vec<_>>()
        };
        assert_eq!(ranges(body, 2), vec![0..4, 4..12, 12..16, 16..20]);
        assert_eq!(quoted(body, 2), vec![false, true, false, false]);
        assert_eq!(ranges(body, 100), vec![0..20]);
        assert_eq!(quoted(body, 100), vec![true]);
        assert_eq!(ranges(b"", 4), vec![0..0]);
        assert_eq!(quoted(b"", 4), vec![false]);
        // A quote never closed: no break after it is a record's end.
        assert_eq!(ranges(b"a\n\"b\nc\nd", 1), vec![0..2, 2..8]);
        assert_eq!(quoted(b"a\n\"b\nc\nd", 1), vec![false, true]);
        // The last piece's quotes are counted too.
        assert_eq!(quoted(b"a\nb\"\"", 1), vec![false, true]);
        // A body without quotes ends a piece at the first line break past the target.
        let unquoted = b"a;1\nb;2\n\nc;3\nd";
        for target in 0..=unquoted.len() + 1 {
            let pieces: Vec<_> = record_pieces(unquoted, target, false).collect();
            let counted: Vec<_> = record_pieces(unquoted, target, true).collect();
            assert_eq!(pieces, counted, "target {target}");
        }
    }

    #[test]
    fn a_file_read_in_pieces_gives_the_rows_and_rejects_of_one_read() {
        let mut text = String::from("id_did;id_lav;data_did;data_fine;cpi;prov_cpi\n");
        for i in 0..300 {
            let row = match i % 50 {
                7 => format!("D{i};P{i};31/02/2024;;TO01;001\n"),
                19 => format!("D{i};P{i};01/01/2024;;TO01;0X9\n"),
                33 => format!("D{i};P{i};01/01/2024;;\"TO\n01\";001\n"),
                _ => format!("D{i};P{i};01/01/2024;;TO01;001\n"),
            };
            text.push_str(&row);
        }
        let reference = Reference::load(None).unwrap();
        let read = |piece_bytes| {
            let bytes = dialect::Utf8Bytes::Decoded(text.clone().into_bytes());
            let prepared = dialect::prepare(bytes, "did.csv", Default::default()).unwrap();
            let read = read_file(&SPELLS, prepared, &reference, Keep::All, None, piece_bytes).unwrap();
            (read.frame, read.report, read.rejects)
        };
        let (whole, whole_report, whole_rejects) = read(usize::MAX / 2);
        let (pieces, pieces_report, pieces_rejects) = read(100);
        assert_eq!(whole_report.rows_read, 300);
        assert_eq!(pieces_report.rows_read, 300);
        assert_eq!(whole_rejects.len(), 12, "{whole_rejects:?}");
        assert_eq!(pieces_rejects, whole_rejects);
        assert!(pieces.equals_missing(&whole));
        assert_eq!(whole.height(), 288);
    }

    #[test]
    fn values_are_trimmed_and_only_optional_columns_spell_missing() {
        let text = "id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna
 P1 ; F ;1980; 100 ;001; MEDIO ;NULL;-
P2;NULL;1980;100;001;;;
P3;M;   ;100;001;;;
P4;M;+1985;100;001;;;
P5;M;-2147483648;100;001;;;
P6;M;1980;100;001;null;-;NULL
P7;M;1980;100;001;medio;;
P8;M;1980;100;001;;ASILO; S\t
";
        let reference = Reference::load(None).unwrap();
        let bytes = dialect::Utf8Bytes::Decoded(text.as_bytes().to_vec());
        let prepared = dialect::prepare(bytes, "lavoratori.csv", Default::default()).unwrap();
        let FileRows {
            frame: kept,
            report,
            rejects,
            ..
        } = read_file(&PERSONS, prepared, &reference, Keep::All, None, 1 << 20).unwrap();
        assert_eq!(report.rows_read, 8);
        let said: Vec<(u64, &str, &str, &str)> = rejects
            .iter()
            .map(|r| (r.line, r.column.as_str(), r.value.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            said,
            vec![
                (3, "sesso", "NULL", "not one of M, F"),
                (
                    4,
                    "anno_nascita",
                    "",
                    "empty value: anno_nascita is required (or the row has fewer fields than the header)"
                ),
                (6, "anno_nascita", "-2147483648", "birth year before 1900"),
                (8, "titolo_studio", "medio", "not one of BASSO, MEDIO, ALTO"),
            ]
        );
        let column = |name: &str| kept.column(name).unwrap().as_materialized_series().clone();
        let ids: Vec<Option<&str>> = kept.column("id_lav").unwrap().str().unwrap().iter().collect();
        assert_eq!(ids, [Some("P1"), Some("P4"), Some("P6"), Some("P8")]);
        // Codes and enumerations are numbered by their place in the list.
        let sesso: Vec<Option<u32>> = column("sesso").u32().unwrap().iter().collect();
        assert_eq!(sesso, [Some(1), Some(0), Some(0), Some(0)]);
        let years: Vec<Option<i32>> = column("anno_nascita").i32().unwrap().iter().collect();
        assert_eq!(years, [Some(1980), Some(1985), Some(1980), Some(1980)]);
        let education: Vec<Option<u32>> = column("titolo_studio").u32().unwrap().iter().collect();
        assert_eq!(education, [Some(1), None, None, None]);
        let permit = column("motivo_permesso");
        assert_eq!(permit.null_count(), 3);
        let minor: Vec<Option<u32>> = column("ex_msna").u32().unwrap().iter().collect();
        assert_eq!(minor, [None, None, None, Some(0)]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 64,
            failure_persistence: None,
            ..Default::default()
        })]

        /// polars' CSV reader runs on this project's port of its 64-byte
        /// scans (vendor/polars-io): quoted separators, quotes and line
        /// breaks, in fields long enough to cross those blocks, must split
        /// into the records and fields the `csv` crate finds, whatever the
        /// pieces the file is read in.
        #[test]
        fn quoted_fields_split_as_the_csv_crate_splits_them(
            ids in proptest::collection::vec(("[a;\"\n,Z0é]{1,150}", proptest::bool::ANY), 1..40),
            piece_bytes in 1usize..400,
        ) {
            let mut text = String::from(
                "id_lav;sesso;anno_nascita;cittadinanza;prov_domicilio;titolo_studio;motivo_permesso;ex_msna\n",
            );
            for (id, always_quoted) in &ids {
                if *always_quoted || id.contains([';', '"', '\n']) {
                    text.push_str(&format!("\"{}\"", id.replace('"', "\"\"")));
                } else {
                    text.push_str(id);
                }
                text.push_str(";F;1980;100;001;;;\n");
            }
            let mut fields = Vec::new();
            let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
            for record in reader.records() {
                fields.push(record.unwrap()[0].trim().to_string());
            }
            proptest::prop_assert_eq!(fields.len(), ids.len());
            // Values are trimmed; an identifier of line breaks alone is empty.
            let (expected, empty): (Vec<String>, Vec<String>) =
                fields.into_iter().partition(|id| !id.is_empty());
            let reference = Reference::load(None).unwrap();
            let bytes = dialect::Utf8Bytes::Decoded(text.into_bytes());
            let prepared = dialect::prepare(bytes, "lavoratori.csv", Default::default()).unwrap();
            let FileRows { frame: kept, report, rejects, .. } =
                read_file(&PERSONS, prepared, &reference, Keep::All, None, piece_bytes).unwrap();
            proptest::prop_assert_eq!(report.rows_read, ids.len() as u64);
            proptest::prop_assert_eq!(rejects.len(), empty.len(), "{:?}", rejects);
            let ids_read = kept.column("id_lav").unwrap().str().unwrap();
            let read: Vec<String> = ids_read.iter().map(|id| id.unwrap_or_default().to_string()).collect();
            proptest::prop_assert_eq!(read, expected);
        }

        /// A piece without quotes is read by [`plain`], one with quotes by
        /// polars' reader: the same rows with every field quoted must give
        /// the same typed rows, rejects and unresolved references, whatever
        /// the values (padded, missing, unreadable, unknown), the line
        /// endings, the rows of the wrong width and the pieces.
        #[test]
        fn a_plain_piece_reads_as_polars_reads_it_quoted(
            rows in proptest::collection::vec((proptest::collection::vec(0usize..100, 7), 0u8..12, proptest::bool::ANY), 0..60),
            piece_bytes in 1usize..600,
            resolved in proptest::bool::ANY,
        ) {
            // Reordered, with a column the spec does not know.
            let header = ["prov_cpi", "id_did", "nota", "id_lav", "data_did", "data_fine", "cpi"];
            let pools: [&[&str]; 7] = [
                &["001", "003", " 004", "0X9", "", "NULL"],
                &["D1", "D2", " D3 ", "D4", "", "NULL"],
                &["x", "", " y z "],
                &["P1", "P2", " P3", "P4", "P9", "", "-"],
                &["01/01/2024", "2024-02-29", " 15/03/2023 ", "31/02/2024", "", "NULL", "2024"],
                &["01/01/2024", "31/12/2024", "2023-01-01", "", "null", "-", "1/1/2024"],
                &["TO01", " NO03 ", "", "null"],
            ];
            let mut plain = header.join(";") + "\n";
            let mut quoted = plain.clone();
            for (picks, shape, crlf) in &rows {
                let fields: Vec<&str> = picks.iter().zip(pools).map(|(&pick, pool)| pool[pick % pool.len()]).collect();
                let fields = match shape {
                    0 => vec![],
                    1 => fields[..6].to_vec(),
                    2 => [fields.as_slice(), &["extra"]].concat(),
                    _ => fields,
                };
                plain.push_str(&fields.join(";"));
                quoted.push_str(&fields.iter().map(|f| format!("\"{f}\"")).collect::<Vec<_>>().join(";"));
                let end = if *crlf { "\r\n" } else { "\n" };
                plain.push_str(end);
                quoted.push_str(end);
            }
            let reference = Reference::load(None).unwrap();
            let ids: StringChunked = ["P1", "P2", "P3", "P4"].into_iter().map(Some).collect();
            let index = Arc::new(PersonIndex::new(&ids));
            let persons = resolved.then_some(&index);
            let read = |text: &str| {
                let bytes = dialect::Utf8Bytes::Decoded(text.as_bytes().to_vec());
                let prepared = dialect::prepare(bytes, "did.csv", Default::default()).unwrap();
                read_file(&SPELLS, prepared, &reference, Keep::All, persons, piece_bytes).unwrap()
            };
            let from_plain = read(&plain);
            let from_quoted = read(&quoted);
            proptest::prop_assert_eq!(from_plain.report.rows_read, rows.len() as u64);
            proptest::prop_assert_eq!(&from_plain.rejects, &from_quoted.rejects);
            proptest::prop_assert_eq!(&from_plain.unknown_persons, &from_quoted.unknown_persons);
            proptest::prop_assert!(
                from_plain.frame.equals_missing(&from_quoted.frame),
                "{:?}\n{:?}", from_plain.frame, from_quoted.frame
            );
            let schema = |frame: &DataFrame| frame.schema().iter().map(|(n, t)| (n.to_string(), t.clone())).collect::<Vec<_>>();
            proptest::prop_assert_eq!(schema(&from_plain.frame), schema(&from_quoted.frame));
        }
    }

    proptest::proptest! {
        /// Each column's checks, as the plain reader marks them, break the
        /// rows their rules' expressions break: values missing, marked
        /// unreadable, too long or not in the list, years before 1900 and
        /// end dates before their start, in chunks of any length.
        #[test]
        fn checks_break_the_rows_their_rules_break(
            rows in proptest::collection::vec(proptest::array::uniform6(0usize..60), 0..40),
            chunk_rows in 1usize..40,
        ) {
            let long = "x".repeat(super::MAX_TEXT_BYTES + 1);
            let references = [None, Some(0), Some(3), Some(super::persons::TOO_LONG), Some(super::persons::UNKNOWN)];
            let texts = [None, Some("TO01"), Some(long.as_str())];
            let dates = [None, Some(super::UNREADABLE), Some(19_000), Some(19_500)];
            let codes = [None, Some(3), Some(super::NOT_IN_LIST)];
            let years = [None, Some(super::UNREADABLE), Some(1850), Some(1985)];
            let column = |name: &str, values: Series| {
                // Several chunks, as a frame of vstacked parts has them.
                let mut chunked = values.slice(0, chunk_rows.min(values.len()));
                let mut at = chunked.len();
                while at < values.len() {
                    chunked.append(&values.slice(at as i64, chunk_rows)).unwrap();
                    at += chunk_rows;
                }
                chunked.with_name(name.into()).into_column()
            };
            // Row by row, the value of the column at `field` in `pool`.
            let pick = |field: usize, pool: &[Option<i32>]| -> Vec<Option<i32>> {
                rows.iter().map(|row| pool[row[field] % pool.len()]).collect()
            };
            let dates = |field: usize| Int32Chunked::from_iter(pick(field, &dates)).into_series().cast(&DataType::Date).unwrap();
            let frame = DataFrame::new(rows.len(), vec![
                column("id_lav", IdxCa::from_iter(rows.iter().map(|row| references[row[0] % references.len()])).into_series()),
                column("cpi", StringChunked::from_iter(rows.iter().map(|row| texts[row[1] % texts.len()])).into_series()),
                column("data_did", dates(2)),
                column("data_fine", dates(3)),
                column("prov_cpi", UInt32Chunked::from_iter(rows.iter().map(|row| codes[row[4] % codes.len()])).into_series()),
                column("anno_nascita", Int32Chunked::from_iter(pick(5, &years)).into_series()),
            ]).unwrap();
            let reference = Reference::load(None).unwrap();
            let ids: StringChunked = ["P1"].into_iter().map(Some).collect();
            let index = Arc::new(PersonIndex::new(&ids));
            let columns = SPELLS.columns.iter().filter(|c| c.name != "id_did").chain(PERSONS.column("anno_nascita"));
            for spec in columns {
                let (_, checks) = super::type_column(spec, &reference, Some(&index));
                let start = spec.not_before.map(|start| frame.column(start).unwrap());
                for check in checks {
                    let mut marked = vec![false; rows.len()];
                    check.mark_broken(frame.column(spec.name).unwrap(), start, &mut marked).unwrap();
                    let broken = frame.clone().lazy().select([super::any_broken(&[check.rule(spec)])]).collect().unwrap();
                    let broken: Vec<bool> = broken.column(super::BROKEN).unwrap().bool().unwrap().iter().map(|b| b.unwrap()).collect();
                    proptest::prop_assert_eq!(&marked, &broken, "{} {:?}", spec.name, check);
                }
            }
        }

        #[test]
        fn short_strings_compare_inline_as_slices_do(
            a in proptest::collection::vec(proptest::sample::select(b"ab".to_vec()), 0..20),
            b in proptest::collection::vec(proptest::sample::select(b"ab".to_vec()), 0..20),
            flip in proptest::option::of(0usize..20),
        ) {
            proptest::prop_assert_eq!(same_bytes(&a, &b), a == b);
            let mut near = a.clone();
            if let Some(at) = flip.filter(|&at| at < near.len()) {
                near[at] ^= 1;
            }
            proptest::prop_assert_eq!(same_bytes(&a, &near), a == near);
        }

        #[test]
        fn quotes_are_counted_across_blocks_and_the_rest(bytes in proptest::collection::vec(proptest::sample::select(b"\"a;\n".to_vec()), 0..400)) {
            proptest::prop_assert_eq!(count_quotes(&bytes), bytes.iter().filter(|&&b| b == b'"').count());
        }
    }

    #[test]
    fn unread_identifiers_are_dropped_while_they_ascend_and_kept_once_they_do_not() {
        let reference = Reference::load(None).unwrap();
        let read = |ids: &[&str]| {
            let mut text = String::from("id_pol;id_lav;cod_attivita;data_inizio;data_fine;esito;programma;ente\n");
            for id in ids {
                text.push_str(&format!("{id};P1;A01;01/01/2024;;CONCLUSA;ORD;CPI\n"));
            }
            let bytes = dialect::Utf8Bytes::Decoded(text.into_bytes());
            let prepared = dialect::prepare(bytes, "politiche.csv", Default::default()).unwrap();
            // About two rows a piece.
            read_file(
                &ACTIVITIES,
                prepared,
                &reference,
                Keep::ForAnalysis(&super::LoadOptions::default()),
                None,
                60,
            )
            .unwrap()
        };
        let ascending = read(&["X1", "X2", "X3", "X4", "X5"]);
        assert!(ascending.frame.column("id_pol").is_err());
        assert_eq!(ascending.frame.height(), 5);
        for ids in [
            ["X1", "X2", "X3", "X4", "X2"],
            ["X1", "X2", "X3", "X0", "X5"],
            ["X2", "X1", "X3", "X4", "X5"],
        ] {
            let again = read(&ids);
            let kept: Vec<Option<&str>> = again.frame.column("id_pol").unwrap().str().unwrap().iter().collect();
            assert_eq!(kept, ids.map(Some));
            assert_eq!(again.report.rows_read, 5);
            assert!(again.rejects.is_empty());
        }
    }

    #[test]
    fn identifiers_may_repeat_unless_they_ascend_strictly_or_hash_apart() {
        let repeats = |ids: &[&str]| {
            let frame = DataFrame::new(ids.len(), vec![Column::new("id".into(), ids)]).unwrap();
            may_repeat(&frame, "id").unwrap()
        };
        assert!(!repeats(&["A1", "A2", "B0"]));
        assert!(!repeats(&["B0", "A1", "A2"]));
        assert!(repeats(&["A1", "A1", "A2"]));
        assert!(repeats(&["A2", "A1", "A2"]));
        assert!(!repeats(&[]));
    }

    #[test]
    fn dates_in_both_layouts_and_nothing_else() {
        assert_eq!(date_days("01/01/1970"), Some(0));
        assert_eq!(date_days("1970-01-02"), Some(1));
        assert_eq!(date_days("29/02/2024"), date_days("2024-02-29"));
        assert_eq!(date_days("31/12/1969"), Some(-1));
        for bad in [
            "29/02/2023",
            "31/04/2024",
            "00/01/2024",
            "1/2/2024",
            "2024-1-01",
            "2024/01/01",
            "01-01-2024",
            "0a/01/2024",
            "01/01/２０２",
        ] {
            assert_eq!(date_days(bad), None, "{bad}");
        }
    }
}
