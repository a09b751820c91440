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
mod centres;
mod dates;
mod linked;
mod parallel;
mod positions;
mod reader;
mod reject;
mod resolve;
mod rules;
pub mod schema;
mod stages;
#[cfg(test)]
mod tests;
mod typing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use chrono::NaiveDate;
use polars::prelude::*;

pub use cache::dir_for as cache_dir_for;
pub use centres::{CentreRows, Centres};
use dates::date_ranges;
pub use dates::DateRange;
pub use linked::{GroupLinkage, Linkage, PERSON_ID_TEXT};
pub use reader::dialect::{prepare_path, EncodingChoice, PreparedFile};
pub use reader::records::{fields, records};
pub use reject::{shorten, Problem, Reject, MAX_TEXT_BYTES};
use resolve::index::PersonIndex;
pub use resolve::PersonSet;
use schema::{FileKind, FileSpec};
use stages::{finish, read_files, Hold};

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
    /// With `analysed_only`, keep the persons' identifiers as text in
    /// [`PERSON_ID_TEXT`], for [`Extract::link`].
    pub person_ids: bool,
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

impl FileReport {
    /// The report of a file about to be read: no row yet.
    pub fn new(file: &str, prepared: &PreparedFile, extra_columns: Vec<String>) -> FileReport {
        FileReport {
            file: file.to_string(),
            encoding: prepared.encoding.to_string(),
            separator: (prepared.separator as char).to_string(),
            rows_read: 0,
            rows_used: 0,
            rows_rejected: 0,
            extra_columns,
        }
    }
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
/// code and enumeration columns as `UInt32` positions in [`schema::Kind::values`]
/// (no command needs their text once the rules have checked it). Loaded
/// for an analysis (`analysed_only`), the frames hold the analysed columns
/// only, and `id_lav` as the person's position (see [`PersonKey`]).
pub struct Extract {
    pub location: Location,
    pub as_of: NaiveDate,
    pub files: Vec<FileReport>,
    pub rejects: Vec<Reject>,
    pub cache: CacheUse,
    pub persons: PersonKey,
    frames: BTreeMap<FileKind, DataFrame>,
}

/// What `id_lav` holds in an extract's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonKey {
    /// The identifier as the files write it (validate).
    Text,
    /// The person's position among lavoratori.csv's kept rows, in every
    /// file: what every analysis works with (and `import`, which caches
    /// it), so that a person's row is gathered by position, never joined on
    /// a key.
    Position(Layout),
}

/// What the rows of an extract loaded for an analysis let it skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// did.csv's rows come person by person, each person's ordered by
    /// `data_did`, then `id_did` (as the cache stores them), so a person's
    /// first and last spell need no sort.
    pub spells_by_person: bool,
    /// The activities hold [`IN_SPELL`], read from a cache judged against
    /// the as-of date in use.
    pub activities_in_spells: bool,
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
    /// See [`Layout::spells_by_person`].
    spells_in_order: bool,
    /// Set when the person references of the files read after
    /// lavoratori.csv hold positions among its rows (see [`resolve::index`]).
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
                read_files(location, kinds, options, reference, &mut Hold)?,
                None,
                CacheUse::Stale { dir, reason },
            ),
            _ => (
                read_files(location, kinds, options, reference, &mut Hold)?,
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
    /// [`Imported::write_cache`]). Each piece's rows are written as soon as
    /// its row rules have run (the cache holds them, and the later rules'
    /// rejects), so that only the columns the later rules read stay in
    /// memory, references as positions (see `docs/design/memory.md`).
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
        let checked = read_files(&location, &kinds, options, reference, &mut stager)?;
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

    /// The layout of an extract loaded for an analysis.
    pub fn analysed_layout(&self) -> Result<Layout> {
        match self.persons {
            PersonKey::Position(layout) => Ok(layout),
            PersonKey::Text => Err(anyhow!(
                "the extract was loaded with its identifiers as text (to validate or import it), not for an analysis"
            )),
        }
    }

    pub(crate) fn frame(&self, kind: FileKind) -> Result<&DataFrame> {
        self.frames
            .get(&kind)
            .ok_or_else(|| anyhow!("{} was not loaded", kind.spec().name))
    }

    /// The hirings (avviamenti.csv, an optional file), or an error saying
    /// that `needed_by` counts them and what to add.
    pub(crate) fn hirings(&self, needed_by: &str) -> Result<&DataFrame> {
        if !self.holds(FileKind::Hirings) {
            return Err(anyhow!(
                "{needed_by} counts hirings, and the extract {} has no avviamenti.csv: add the hirings of the Comunicazioni Obbligatorie to it (see docs/contracts/extract.md)",
                self.location.describe()
            ));
        }
        self.frame(FileKind::Hirings)
    }

    /// Whether the extract holds `kind`'s file (avviamenti.csv is optional).
    pub fn holds(&self, kind: FileKind) -> bool {
        self.frames.contains_key(&kind)
    }

    pub fn rows_rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rows_rejected).sum()
    }

    /// First and last date of every date column, over the rows kept.
    pub fn date_ranges(&self) -> Result<Vec<DateRange>> {
        date_ranges(&self.frames)
    }
}
