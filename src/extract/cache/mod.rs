//! The Parquet cache `silp-access import` writes: the typed rows that passed
//! the row rules, the rows rejected (with the as-of date they were judged
//! against) and what makes it fresh: a 128-bit hash of every CSV file, the code
//! lists, the encoding asked for and the program version. Any difference
//! and the commands read the CSV files again, saying why.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;
use polars::prelude::*;
use serde::{Deserialize, Serialize};

mod hash;
mod stage;
mod write;

pub use stage::Stager;
pub use write::{write_manifest, Staged};

// The persons' positions, stored beside every reference.
use crate::extract::resolve::PERSON as PERSON_KEY;
use crate::extract::schema::FileKind;
use crate::extract::{Checked, EncodingChoice, FileReport, Judged, LoadOptions, Reject};
use crate::reference::Reference;
use hash::hash_files;

/// The cache folder inside the extract folder, unless `--cache` says otherwise.
const DEFAULT_DIR: &str = ".silp-cache";
const MANIFEST: &str = "manifest.json";

/// Bumped whenever what the cache holds changes meaning.
const LAYOUT: u32 = 9;
/// Beside politiche.parquet, row for row: whether each activity starts
/// inside a spell of its own person, among the spells the later rules kept
/// (see `engine::inside_own_spells`). It holds for the import's as-of date
/// only, since the as-of rules decide which spells are kept.
const ACTIVITIES_IN_SPELLS: &str = "politiche-in-did.parquet";
/// An activity's row in politiche.parquet, carried through the later rules
/// so that the rows they keep find their place in ACTIVITIES_IN_SPELLS.
const ACTIVITY_ROW: &str = "__row";

pub fn dir_for(extract: &Path, cache: Option<&Path>) -> PathBuf {
    cache.map_or_else(|| extract.join(DEFAULT_DIR), Path::to_path_buf)
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    layout: u32,
    program: String,
    encoding: String,
    code_lists: String,
    files: Vec<CachedFile>,
    /// The file of ACTIVITIES_IN_SPELLS, written with the persons' positions.
    activities_in_spells: Option<String>,
    /// Rows rejected by the row rules.
    rejects: Vec<Reject>,
    /// The as-of date the later rules (dates, birth years, duplicates,
    /// unknown persons) were applied with, and the rows they rejected.
    as_of: NaiveDateText,
    as_of_rejects: Vec<Reject>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CachedFile {
    name: String,
    bytes: u64,
    /// XXH3-128 of the file's bytes: a change of any byte changes it, and it
    /// runs at memory speed where SHA-256 took a tenth of a cached analysis.
    xxh3_128: String,
    parquet: String,
    report: FileReport,
    latest: Option<NaiveDateText>,
}

/// A date as `yyyy-mm-dd` in the manifest.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
struct NaiveDateText(NaiveDate);

impl TryFrom<String> for NaiveDateText {
    type Error = chrono::ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        NaiveDate::parse_from_str(&text, "%Y-%m-%d").map(NaiveDateText)
    }
}

impl From<NaiveDateText> for String {
    fn from(date: NaiveDateText) -> String {
        date.0.format("%Y-%m-%d").to_string()
    }
}

pub enum Freshness {
    Absent,
    Stale(String),
    Fresh(Manifest),
}

fn program_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn encoding_name(encoding: EncodingChoice) -> String {
    format!("{encoding:?}")
}

/// Validation depends on the code lists, so a cache is only good for the
/// lists it was checked against.
fn code_lists_fingerprint(reference: &Reference) -> String {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let lists = [
        reference
            .citizenships
            .iter()
            .map(|c| c.codice.as_str())
            .collect::<Vec<_>>(),
        reference.provinces.iter().map(|p| p.codice.as_str()).collect(),
        reference.activities.iter().map(|a| a.codice.as_str()).collect(),
    ];
    for list in lists {
        for code in list {
            hasher.update(code.as_bytes());
            hasher.update(b"\n");
        }
        hasher.update(b"\x00");
    }
    format!("{:032x}", hasher.digest128())
}
/// Whether the cache in `cache_dir` matches the files of `kinds` in `extract_dir`.
pub fn check(
    cache_dir: &Path,
    extract_dir: &Path,
    kinds: &[FileKind],
    encoding: EncodingChoice,
    reference: &Reference,
) -> Result<Freshness> {
    let manifest_path = cache_dir.join(MANIFEST);
    if !manifest_path.exists() {
        return Ok(Freshness::Absent);
    }
    let bytes = match std::fs::read(&manifest_path) {
        Ok(bytes) => bytes,
        Err(error) => return Ok(Freshness::Stale(format!("its manifest cannot be read ({error})"))),
    };
    // The version first: another version's manifest may not parse as this one's.
    #[derive(Deserialize)]
    struct Written {
        layout: u32,
        program: String,
    }
    match serde_json::from_slice::<Written>(&bytes) {
        Ok(written) if written.layout == LAYOUT && written.program == program_version() => {}
        Ok(written) if written.program != program_version() => {
            return Ok(Freshness::Stale(format!(
                "it was written by silp-access {}",
                written.program
            )))
        }
        Ok(_) => {
            return Ok(Freshness::Stale(
                "it was written by an earlier build of this version, which laid the cache out differently".to_string(),
            ))
        }
        Err(error) => return Ok(Freshness::Stale(format!("its manifest cannot be read ({error})"))),
    }
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(manifest) => manifest,
        Err(error) => return Ok(Freshness::Stale(format!("its manifest cannot be read ({error})"))),
    };
    if manifest.encoding != encoding_name(encoding) {
        return Ok(Freshness::Stale(format!(
            "it was imported with --encoding {}",
            manifest.encoding.to_lowercase()
        )));
    }
    if manifest.code_lists != code_lists_fingerprint(reference) {
        return Ok(Freshness::Stale(
            "it was checked against other code lists (--ref-dir)".to_string(),
        ));
    }
    let mut to_hash = Vec::new();
    let mut expected = Vec::new();
    for kind in kinds {
        let name = kind.spec().name;
        let path = extract_dir.join(name);
        let cached = manifest.files.iter().find(|f| f.name == name);
        match (path.exists(), cached) {
            (false, None) => {}
            (true, None) => return Ok(Freshness::Stale(format!("{name} was added since the import"))),
            (false, Some(_)) => return Ok(Freshness::Stale(format!("{name} was removed since the import"))),
            (true, Some(cached)) => {
                let bytes = std::fs::metadata(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?
                    .len();
                if bytes != cached.bytes {
                    return Ok(Freshness::Stale(format!("{name} changed since the import")));
                }
                to_hash.push(path);
                expected.push(cached);
            }
        }
    }
    for (hash, cached) in hash_files(&to_hash)?.iter().zip(expected) {
        if *hash != cached.xxh3_128 {
            return Ok(Freshness::Stale(format!("{} changed since the import", cached.name)));
        }
    }
    Ok(Freshness::Fresh(manifest))
}

impl Manifest {
    /// The checked rows of `kinds` and, when the as-of date in use is the
    /// one they were judged against, the rows the later rules rejected. Then
    /// an analysis reads only the columns it needs.
    pub fn read(
        &self,
        cache_dir: &Path,
        kinds: &[FileKind],
        options: &LoadOptions,
    ) -> Result<(Checked, Option<Judged>)> {
        let cached: Vec<(FileKind, &CachedFile)> = kinds
            .iter()
            .filter_map(|kind| {
                let name = kind.spec().name;
                self.files.iter().find(|f| f.name == name).map(|f| (*kind, f))
            })
            .collect();
        let latest = cached.iter().filter_map(|(_, f)| f.latest.map(|d| d.0)).max();
        let judged = options.as_of.or(latest) == Some(self.as_of.0);
        // An analysis whose rows need no more checks reads the persons'
        // positions instead of the identifiers: no text to decode or hash.
        let persons_numbered = judged && options.analysed_only;
        let mut checked = Checked {
            persons_numbered,
            spells_in_order: true,
            ..Checked::default()
        };
        for (kind, file) in &cached {
            let wanted: Vec<&str> = if judged && options.analysed_only {
                options.analysed_columns(kind.spec(), checked.spells_in_order)
            } else {
                kind.spec().columns.iter().map(|c| c.name).collect()
            };
            // The identifiers as text too, when files are to be linked to
            // the persons (read as they are when the persons are not numbered).
            let ids_text = (persons_numbered && options.person_ids && *kind == FileKind::Persons).then_some("id_lav");
            let columns = std::iter::once(super::reader::LINE)
                .chain(wanted)
                .map(|name| {
                    if persons_numbered && name == "id_lav" {
                        PERSON_KEY
                    } else {
                        name
                    }
                })
                .map(String::from)
                .chain(ids_text.map(String::from))
                .collect();
            let mut frame = read_parquet(&cache_dir.join(&file.parquet), Some(columns))?;
            if ids_text.is_some() {
                frame.rename("id_lav", super::PERSON_ID_TEXT.into())?;
            }
            if persons_numbered && frame.column(PERSON_KEY).is_ok() {
                frame.rename(PERSON_KEY, "id_lav".into())?;
            }
            if let (true, FileKind::Activities, Some(name)) = (persons_numbered, *kind, &self.activities_in_spells) {
                let path = cache_dir.join(name);
                let inside = read_parquet(&path, None)?;
                if inside.height() != frame.height() {
                    bail!(
                        "{} has {} rows where {} has {}; rerun silp-access import",
                        path.display(),
                        inside.height(),
                        file.parquet,
                        frame.height()
                    );
                }
                frame.with_column(inside.column(super::IN_SPELL)?.clone())?;
            }
            checked.frames.insert(*kind, frame);
            checked.reports.insert(*kind, file.report.clone());
            checked.latest.insert(*kind, file.latest.map(|d| d.0));
        }
        let loaded = |r: &&Reject| cached.iter().any(|(_, f)| f.name == r.file);
        checked.rejects = self.rejects.iter().filter(loaded).cloned().collect();
        let later = judged.then(|| {
            (
                self.as_of.0,
                self.as_of_rejects.iter().filter(loaded).cloned().collect(),
            )
        });
        Ok((checked, later))
    }
}

/// `columns` (all when None) of a cache's Parquet file.
fn read_parquet(path: &Path, columns: Option<Vec<String>>) -> Result<DataFrame> {
    let reader =
        File::open(path).with_context(|| format!("cannot open {}; rerun silp-access import", path.display()))?;
    ParquetReader::new(reader)
        .with_columns(columns)
        .finish()
        .map_err(|e| anyhow!("cannot read {} ({e}); rerun silp-access import", path.display()))
}
