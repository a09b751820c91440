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

use super::dialect::Utf8Bytes;
use super::schema::FileKind;
use super::{Checked, EncodingChoice, FileReport, Judged, LoadOptions, Reject};
use crate::reference::Reference;

/// The cache folder inside the extract folder, unless `--cache` says otherwise.
const DEFAULT_DIR: &str = ".silp-cache";
const MANIFEST: &str = "manifest.json";
/// The column of the persons' positions (see `persons_numbered`).
const PERSON_KEY: &str = "__person";

/// Bumped whenever what the cache holds changes meaning.
const LAYOUT: u32 = 8;
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
    /// Whether the frames hold `__person`, each person's position among
    /// lavoratori.parquet's rows (written when the persons' identifiers
    /// have distinct 64-bit hashes, see `PersonNumbers`).
    persons_numbered: bool,
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

fn content_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// The content hash of each file, computed in parallel (one thread per file).
fn hash_files(paths: &[PathBuf]) -> Result<Vec<String>> {
    std::thread::scope(|scope| {
        let jobs: Vec<_> = paths
            .iter()
            .map(|path| scope.spawn(move || hash_file(path, HASHED_PIECE_BYTES)))
            .collect();
        jobs.into_iter()
            .map(|job| job.join().expect("hashing does not panic"))
            .collect()
    })
}

fn hash_file(path: &Path, piece_bytes: usize) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len == 0 {
        return Ok(content_hash(b""));
    }
    // SAFETY: read-only input, as in the CSV reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = Utf8Bytes::Mapped(map);
    // Piece by piece, each page let go once hashed: otherwise every mapped
    // page of the extract stays resident (up to 2 GB at 10 million persons,
    // about the peak of the whole cached analysis).
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let whole = bytes.as_ref();
    for start in (0..whole.len()).step_by(piece_bytes) {
        let piece = start..(start + piece_bytes).min(whole.len());
        hasher.update(&whole[piece.clone()]);
        bytes.release(piece);
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

const HASHED_PIECE_BYTES: usize = 16 << 20;

/// What changes when a file is rewritten, appended to or replaced, read
/// without reading its content.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
    bytes: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileIdentity {
    fn of(path: &Path) -> Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(FileIdentity {
            device: meta.dev(),
            inode: meta.ino(),
            bytes: meta.len(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// The hash of `path` as it was when `seen` was taken, before it was read:
/// a file that changed since cannot be vouched for by a hash taken now.
fn hash_as_read(path: &Path, seen: &FileIdentity) -> Result<String> {
    let hash = hash_file(path, HASHED_PIECE_BYTES)?;
    if FileIdentity::of(path)? != *seen {
        bail!(
            "{} changed while it was read, so the Parquet cache was not written; run the import again once the file is no longer being written",
            path.display()
        );
    }
    Ok(hash)
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
        let persons_numbered = judged && options.analysed_only && self.persons_numbered;
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
            let columns = std::iter::once(super::LINE)
                .chain(wanted)
                .map(|name| {
                    if persons_numbered && name == "id_lav" {
                        PERSON_KEY
                    } else {
                        name
                    }
                })
                .map(String::from)
                .collect();
            let mut frame = read_parquet(&cache_dir.join(&file.parquet), Some(columns))?;
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

/// The Parquet files of a cache being written, waiting for its manifest.
pub struct Staged {
    encoding: EncodingChoice,
    files: Vec<CachedFile>,
    persons_numbered: bool,
    /// lavoratori.parquet's and politiche.parquet's rows.
    persons: usize,
    activities: usize,
    /// Set once ACTIVITIES_IN_SPELLS is written.
    activities_in_spells: Option<String>,
    /// The row rules' rejects (stage 1).
    rejects: Vec<Reject>,
}

/// Writes each file's checked rows (stage 1) into `staging` as soon as the
/// file is read, and keeps in `checked` only the columns the later rules
/// read: a file's other columns are let go before the next file is read, so
/// no two files are ever held whole. lavoratori.csv comes first: its rows
/// number the persons the other files refer to.
pub struct Stager<'a> {
    staging: &'a Path,
    extract_dir: &'a Path,
    person_numbers: Option<super::PersonNumbers>,
    /// lavoratori.parquet's rows, which the persons' positions number.
    persons: usize,
    /// politiche.parquet's rows.
    activities: usize,
    files: Vec<CachedFile>,
    /// Each file as it was before any was read.
    seen: Vec<(FileKind, FileIdentity)>,
}

impl<'a> Stager<'a> {
    /// Notes what each file of the extract is before any is read.
    pub fn new(staging: &'a Path, extract_dir: &'a Path) -> Result<Stager<'a>> {
        let mut seen = Vec::new();
        for spec in super::schema::ALL_FILES {
            let path = extract_dir.join(spec.name);
            if path.exists() {
                seen.push((spec.kind, FileIdentity::of(&path)?));
            }
        }
        Ok(Stager {
            staging,
            extract_dir,
            person_numbers: None,
            persons: 0,
            activities: 0,
            files: Vec::new(),
            seen,
        })
    }

    /// Writes the file of `kind`, just read into `checked`.
    pub fn write(&mut self, kind: FileKind, checked: &mut Checked) -> Result<()> {
        let spec = kind.spec();
        let frame = checked.frames.get_mut(&kind).expect("the file just read");
        if kind == FileKind::Persons {
            self.person_numbers = super::PersonNumbers::new(frame)?;
            self.persons = frame.height();
        } else if self.files.is_empty() {
            return Err(anyhow!("{} was staged before lavoratori.csv", spec.name));
        }
        let parquet = spec.name.replace(".csv", ".parquet");
        // The spells and activities keep their persons' positions through
        // the later rules, for ACTIVITIES_IN_SPELLS.
        let carries_positions = matches!(kind, FileKind::Spells | FileKind::Activities);
        if let (Some(numbers), Some(_)) = (&self.person_numbers, spec.column("id_lav")) {
            let positions = match kind {
                FileKind::Persons => super::person_positions(frame.height()).into_column(),
                _ => numbers.of(frame)?,
            };
            frame.with_column(positions.with_name(PERSON_KEY.into()))?;
        }
        let rows = frame.clone().lazy();
        // Every analysis looks for a person's latest or earliest spell, ties
        // going by id_did: stored person by person in that order, they are
        // the last or first of each person's run, found without a sort or a
        // hash table. The order is found before the rows are gathered, so the
        // sort and the gathered rows are not held at once (one import of 10
        // million persons each way: peak 3,590 against 3,756 MiB).
        let order = match kind {
            FileKind::Spells => {
                let person = if self.person_numbers.is_some() {
                    PERSON_KEY
                } else {
                    "id_lav"
                };
                Some(order_by(rows.clone(), &[person, "data_did", "id_did"])?)
            }
            _ => None,
        };
        let target = self.staging.join(&parquet);
        write_parquet(&rows.collect()?, order.as_ref(), &target, ROW_GROUP_ROWS)
            .map_err(|e| {
                anyhow!(
                    "cannot write {}: {e}; check that its folder can be written and has room for about half the size of the CSV files, or give another folder with --cache DIR",
                    target.display()
                )
            })?;
        let mut later: Vec<&str> = std::iter::once(super::LINE)
            .chain(spec.columns.iter().filter(|c| c.read_by_later_rules()).map(|c| c.name))
            .collect();
        if carries_positions && self.person_numbers.is_some() {
            later.push(PERSON_KEY);
        }
        *frame = frame.select(later)?;
        if kind == FileKind::Activities {
            self.activities = frame.height();
            if self.person_numbers.is_some() {
                frame.with_column(
                    super::person_positions(frame.height())
                        .with_name(ACTIVITY_ROW.into())
                        .into_column(),
                )?;
            }
        }
        // lavoratori.csv's identifiers stay: the references are checked
        // against them. The duplicate rule would check the others the same way.
        if kind != FileKind::Persons {
            *frame = super::drop_distinct_identifiers(spec, std::mem::take(frame), &[])?;
        }
        crate::memory::release_freed();
        let path = self.extract_dir.join(spec.name);
        let Some((_, seen)) = self.seen.iter().find(|(seen, _)| *seen == kind) else {
            bail!(
                "{} appeared while the extract was read; run the import again",
                path.display()
            );
        };
        self.files.push(CachedFile {
            name: spec.name.to_string(),
            bytes: seen.bytes,
            xxh3_128: hash_as_read(&path, seen)?,
            parquet,
            report: checked.reports[&kind].clone(),
            latest: checked.latest[&kind].map(NaiveDateText),
        });
        Ok(())
    }

    /// The staged files, once every file is written.
    pub fn finish(self, encoding: EncodingChoice, checked: &Checked) -> Staged {
        Staged {
            encoding,
            files: self.files,
            persons_numbered: self.person_numbers.is_some(),
            persons: self.persons,
            activities: self.activities,
            activities_in_spells: None,
            rejects: checked.rejects.clone(),
        }
    }
}

impl Staged {
    /// Once the later rules have run on `frames`, writes ACTIVITIES_IN_SPELLS
    /// from the spells and activities they kept (a rejected activity's row
    /// says false, and no analysis reads it), then drops the columns the
    /// stager carried for it.
    pub fn write_activities_in_spells(
        &mut self,
        staging: &Path,
        frames: &mut std::collections::BTreeMap<FileKind, DataFrame>,
    ) -> Result<()> {
        let (Some(spells), Some(activities)) = (frames.get(&FileKind::Spells), frames.get(&FileKind::Activities))
        else {
            return Ok(());
        };
        if !self.persons_numbered {
            return Ok(());
        }
        let inside = crate::engine::inside_own_spells(
            activities.column(PERSON_KEY)?.idx()?,
            activities.column("data_inizio")?.date()?.physical(),
            spells.select([PERSON_KEY, "data_did", "data_fine"])?,
            self.persons,
        )?;
        let rows = activities.column(ACTIVITY_ROW)?.idx()?.filter(&inside)?;
        let by_row = BooleanChunked::full(super::IN_SPELL.into(), false, self.activities)
            .scatter_single(rows.into_no_null_iter(), Some(true))?;
        let target = staging.join(ACTIVITIES_IN_SPELLS);
        let frame = DataFrame::new(self.activities, vec![by_row.into_column()])?;
        write_parquet(&frame, None, &target, ROW_GROUP_ROWS).map_err(|e| {
            anyhow!(
                "cannot write {}: {e}; check that its folder can be written and has room",
                target.display()
            )
        })?;
        self.activities_in_spells = Some(ACTIVITIES_IN_SPELLS.to_string());
        for frame in frames.values_mut() {
            *frame = std::mem::take(frame).drop_many([PERSON_KEY, ACTIVITY_ROW]);
        }
        Ok(())
    }
}

/// Completes a staged cache with its manifest: the as-of date the later
/// rules were judged against and their rejects.
pub fn write_manifest(
    staging: &Path,
    staged: Staged,
    reference: &Reference,
    as_of: NaiveDate,
    as_of_rejects: Vec<Reject>,
) -> Result<()> {
    let manifest = Manifest {
        layout: LAYOUT,
        program: program_version(),
        encoding: encoding_name(staged.encoding),
        code_lists: code_lists_fingerprint(reference),
        files: staged.files,
        persons_numbered: staged.persons_numbered,
        activities_in_spells: staged.activities_in_spells,
        rejects: staged.rejects,
        as_of: NaiveDateText(as_of),
        as_of_rejects,
    };
    let bytes = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    crate::output::write_new(&staging.join(MANIFEST), &bytes)
}

/// Rows in a Parquet row group (polars' default).
const ROW_GROUP_ROWS: usize = 512 * 512;

/// The positions of `rows` in the order of `columns` (ties
/// kept in the order read). Sorting the whole frame instead copied all its
/// columns at once, +1.65 GB for the spells at 10 million persons.
fn order_by(rows: LazyFrame, columns: &[&str]) -> PolarsResult<IdxCa> {
    let ordered = rows
        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .with_row_index("__row", None)
        .sort(
            columns.to_vec(),
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .select([col("__row")])
        .collect()?;
    Ok(ordered.column("__row")?.idx()?.clone())
}

/// Writes `frame` (its rows at the positions in `order`, if given) one row
/// group at a time: polars' `ParquetWriter::finish` first copies a frame
/// read in pieces into row groups all at once (+1.2 GB for politiche.csv at
/// 10 million persons).
fn write_parquet(frame: &DataFrame, order: Option<&IdxCa>, target: &Path, rows_per_group: usize) -> PolarsResult<()> {
    let file = File::create(target)?;
    let mut writer = ParquetWriter::new(file)
        .with_compression(ParquetCompression::Lz4Raw)
        .batched(frame.schema())?;
    for offset in (0..frame.height()).step_by(rows_per_group) {
        let mut group = match order {
            Some(order) => frame.take(&order.slice(offset as i64, rows_per_group))?,
            None => frame.slice(offset as i64, rows_per_group),
        };
        group.rechunk_mut_par();
        writer.write_batch(&group)?;
    }
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::{content_hash, hash_as_read, hash_file, order_by, write_parquet, FileIdentity};

    #[test]
    fn a_frame_written_row_group_by_row_group_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("did.parquet");
        let piece = |from: u32| {
            df!(
                "id_did" => (from..from + 5).map(|i| format!("D{i}")).collect::<Vec<_>>(),
                "prov_cpi" => (from..from + 5).map(|i| (i % 3 == 0).then_some(i)).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        // Read in pieces, as stage 1 does: chunks that are not row groups.
        let mut frame = piece(0);
        frame.vstack_mut_owned(piece(5)).unwrap();
        frame.vstack_mut_owned(piece(10)).unwrap();
        let read_back = || {
            ParquetReader::new(std::fs::File::open(&target).unwrap())
                .finish()
                .unwrap()
        };
        let reversed = IdxCa::from_vec("order".into(), (0..15).rev().collect());
        for rows_per_group in [1, 4, 15, 100] {
            write_parquet(&frame, None, &target, rows_per_group).unwrap();
            let read = read_back();
            assert!(read.equals_missing(&frame), "{rows_per_group} rows a group: {read}");
            write_parquet(&frame, Some(&reversed), &target, rows_per_group).unwrap();
            let read = read_back();
            assert!(
                read.equals_missing(&frame.reverse()),
                "reversed, {rows_per_group} rows a group: {read}"
            );
        }
        write_parquet(&frame.head(Some(0)), None, &target, 4).unwrap();
        let read = read_back();
        assert_eq!((read.height(), read.width()), (0, 2));
    }

    #[test]
    fn rows_are_ordered_by_the_columns_given_ties_as_read() {
        let spells = df!(
            "data_did" => [3, 1, 3, 1, 2],
            "id_did" => ["b", "z", "a", "z", "c"],
            "cpi" => ["x0", "x1", "x2", "x3", "x4"],
        )
        .unwrap();
        let order = order_by(spells.lazy(), &["data_did", "id_did"]).unwrap();
        assert_eq!(order.into_no_null_iter().collect::<Vec<_>>(), [1, 3, 4, 2, 0]);
    }

    #[test]
    fn a_file_hashed_in_pieces_has_the_hash_of_its_whole_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("did.csv");
        let content: Vec<u8> = (0..10_000u32)
            .flat_map(|i| format!("D{i};P{};01/01/2024\n", i % 97).into_bytes())
            .collect();
        std::fs::write(&path, &content).unwrap();
        let whole = content_hash(&content);
        for piece_bytes in [1, 4096, 5000, content.len(), content.len() * 2] {
            assert_eq!(
                hash_file(&path, piece_bytes).unwrap(),
                whole,
                "pieces of {piece_bytes} bytes"
            );
        }
        std::fs::write(&path, b"").unwrap();
        assert_eq!(hash_file(&path, 4096).unwrap(), content_hash(b""));
    }

    #[test]
    fn a_file_that_changed_after_it_was_first_seen_is_not_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("did.csv");
        std::fs::write(&path, b"id_did;id_lav\nD1;P1\n").unwrap();
        let seen = FileIdentity::of(&path).unwrap();
        assert_eq!(hash_as_read(&path, &seen).unwrap(), hash_file(&path, 4096).unwrap());

        // Rewritten in place with the same length, as an export still running would.
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::io::Write::write_all(&mut &file, b"id_did;id_lav\nD2;P2\n").unwrap();
        file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(1))
            .unwrap();
        let error = hash_as_read(&path, &seen).unwrap_err().to_string();
        assert!(error.contains("did.csv changed while it was read"), "{error}");

        // Replaced by another file of the same length and times.
        let seen = FileIdentity::of(&path).unwrap();
        let other = dir.path().join("other.csv");
        std::fs::copy(&path, &other).unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(hash_as_read(&path, &seen).is_err());
    }
}
