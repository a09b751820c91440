//! Writing the cache: each file's checked rows staged as Parquet as soon as
//! its row rules have run, the activities' place in their spells, and the
//! manifest that completes it.

use std::fs::File;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use chrono::NaiveDate;
use polars::prelude::*;

use super::hash::{hash_as_read, FileIdentity};
use super::{
    code_lists_fingerprint, encoding_name, program_version, CachedFile, Manifest, NaiveDateText, ACTIVITIES_IN_SPELLS,
    ACTIVITY_ROW, LAYOUT, MANIFEST, PERSON_KEY,
};
use crate::extract::schema::FileKind;
use crate::extract::{Checked, EncodingChoice, Reject};
use crate::reference::Reference;

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
    person_numbers: Option<crate::extract::resolve::PersonNumbers>,
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
        for spec in crate::extract::schema::ALL_FILES {
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
            self.person_numbers = crate::extract::resolve::PersonNumbers::new(frame)?;
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
                FileKind::Persons => crate::extract::resolve::person_positions(frame.height()).into_column(),
                _ => numbers.of(frame)?,
            };
            frame.with_column(positions.with_name(PERSON_KEY.into()))?;
        }
        let rows = frame.clone().lazy();
        // Every analysis looks for a person's latest or earliest spell, ties
        // going by id_did: stored person by person in that order, they are
        // the last or first of each person's run, found without a sort or a
        // hash table. The order is found before the rows are gathered, so the
        // sort and the gathered rows are not held at once (a lower peak for
        // `import`).
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
        let mut later: Vec<&str> = std::iter::once(crate::extract::reader::LINE)
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
                    crate::extract::resolve::person_positions(frame.height())
                        .with_name(ACTIVITY_ROW.into())
                        .into_column(),
                )?;
            }
        }
        // lavoratori.csv's identifiers stay: the references are checked
        // against them. The duplicate rule would check the others the same way.
        if kind != FileKind::Persons {
            *frame = crate::extract::stages::drop_distinct_identifiers(spec, std::mem::take(frame), &[])?;
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
        let by_row = BooleanChunked::full(crate::extract::IN_SPELL.into(), false, self.activities)
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
/// kept in the order read). Sorting the whole frame instead copies all its
/// columns at once.
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
/// read in pieces into row groups all at once, which for the largest file
/// of a large extract is gigabytes.
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

    use super::{order_by, write_parquet};

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
}
