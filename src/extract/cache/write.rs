//! Writing the cache: each file's checked rows staged as Parquet as soon as
//! its row rules have run, the activities' place in their spells, and the
//! manifest that completes it.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use chrono::NaiveDate;
use polars::prelude::*;

use super::{
    code_lists_fingerprint, encoding_name, program_version, CachedFile, Manifest, NaiveDateText, ACTIVITIES_IN_SPELLS,
    ACTIVITY_ROW, LAYOUT, MANIFEST,
};
use crate::extract::schema::FileKind;
use crate::extract::{EncodingChoice, Reject};
use crate::reference::Reference;

/// The Parquet files of a cache being written, waiting for its manifest.
pub struct Staged {
    encoding: EncodingChoice,
    files: Vec<CachedFile>,
    /// politiche.parquet's rows.
    activities: usize,
    /// Set once ACTIVITIES_IN_SPELLS is written.
    activities_in_spells: Option<String>,
    /// The row rules' rejects (stage 1).
    rejects: Vec<Reject>,
}

impl Staged {
    pub(super) fn new(
        encoding: EncodingChoice,
        files: Vec<CachedFile>,
        activities: usize,
        rejects: Vec<Reject>,
    ) -> Staged {
        Staged {
            encoding,
            files,
            activities,
            activities_in_spells: None,
            rejects,
        }
    }

    /// Once the later rules have run on `frames` (`id_lav` the persons'
    /// positions among those kept), writes ACTIVITIES_IN_SPELLS from the
    /// spells and activities they kept (a rejected activity's row says
    /// false, and no analysis reads it), then drops the column of the
    /// activities' rows in politiche.parquet that the stager carried for it.
    pub fn write_activities_in_spells(
        &mut self,
        staging: &Path,
        frames: &mut std::collections::BTreeMap<FileKind, DataFrame>,
    ) -> Result<()> {
        let (Some(persons), Some(spells), Some(activities)) = (
            frames.get(&FileKind::Persons),
            frames.get(&FileKind::Spells),
            frames.get(&FileKind::Activities),
        ) else {
            return Ok(());
        };
        let inside = crate::engine::inside_own_spells(
            activities.column("id_lav")?.idx()?,
            activities.column("data_inizio")?.date()?.physical(),
            spells.select(["id_lav", "data_did", "data_fine"])?,
            persons.height(),
        )?;
        let rows = activities.column(ACTIVITY_ROW)?.idx()?.filter(&inside)?;
        let by_row = BooleanChunked::full(crate::extract::IN_SPELL.into(), false, self.activities)
            .scatter_single(rows.into_no_null_iter(), Some(true))?;
        let target = staging.join(ACTIVITIES_IN_SPELLS);
        let frame = DataFrame::new(self.activities, vec![by_row.into_column()])?;
        write_parquet(&frame, &target).map_err(|e| cannot_write(&target, e))?;
        self.activities_in_spells = Some(ACTIVITIES_IN_SPELLS.to_string());
        if let Some(activities) = frames.get_mut(&FileKind::Activities) {
            *activities = std::mem::take(activities).drop_many([ACTIVITY_ROW]);
        }
        Ok(())
    }
}

/// The error of a Parquet file of the cache that could not be written.
pub(super) fn cannot_write(target: &Path, error: PolarsError) -> anyhow::Error {
    anyhow!(
        "cannot write {}: {error}; check that its folder can be written and has room for about half the size of the CSV files, or give another folder with --cache DIR",
        target.display()
    )
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
        activities_in_spells: staged.activities_in_spells,
        rejects: staged.rejects,
        as_of: NaiveDateText(as_of),
        as_of_rejects,
    };
    let bytes = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    crate::output::write_new(&staging.join(MANIFEST), &bytes)
}

/// Rows in a Parquet row group (polars' default).
pub(super) const ROW_GROUP_ROWS: usize = 512 * 512;

/// Writes `frame` one row group at a time (see [`PieceWriter`]).
fn write_parquet(frame: &DataFrame, target: &Path) -> PolarsResult<()> {
    let mut writer = PieceWriter::new(target, frame.schema())?;
    writer.push(frame.clone())?;
    writer.finish()
}

/// A Parquet file written as its rows come, in row groups of the same size
/// whatever the sizes of the pieces pushed, each group made one chunk a
/// column when written: polars' `ParquetWriter::finish` first copies a frame
/// read in pieces into row groups all at once, which for the largest file
/// of a large extract is gigabytes.
pub(super) struct PieceWriter {
    writer: polars::io::parquet::write::BatchedWriter<File>,
    target: PathBuf,
    rows_per_group: usize,
    /// Rows pushed but not written: fewer than a row group.
    pending: DataFrame,
}

impl PieceWriter {
    pub(super) fn new(target: &Path, schema: &Schema) -> PolarsResult<PieceWriter> {
        PieceWriter::with_row_groups_of(target, schema, ROW_GROUP_ROWS)
    }

    fn with_row_groups_of(target: &Path, schema: &Schema, rows_per_group: usize) -> PolarsResult<PieceWriter> {
        let writer = ParquetWriter::new(File::create(target)?)
            .with_compression(ParquetCompression::Lz4Raw)
            .batched(schema)?;
        Ok(PieceWriter {
            writer,
            target: target.to_path_buf(),
            rows_per_group,
            pending: DataFrame::empty(),
        })
    }

    pub(super) fn target(&self) -> &Path {
        &self.target
    }

    pub(super) fn push(&mut self, rows: DataFrame) -> PolarsResult<()> {
        if self.pending.width() == 0 {
            self.pending = rows;
        } else {
            self.pending.vstack_mut_owned(rows)?;
        }
        while self.pending.height() >= self.rows_per_group {
            self.write_group(self.rows_per_group)?;
        }
        Ok(())
    }

    /// Writes the rows pending and completes the file.
    pub(super) fn finish(mut self) -> PolarsResult<()> {
        if self.pending.height() > 0 {
            self.write_group(self.pending.height())?;
        }
        self.writer.finish()?;
        Ok(())
    }

    fn write_group(&mut self, rows: usize) -> PolarsResult<()> {
        let mut group = self.pending.slice(0, rows);
        group.rechunk_mut_par();
        self.writer.write_batch(&group)?;
        self.pending = self.pending.slice(rows as i64, usize::MAX);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::PieceWriter;

    #[test]
    fn pieces_written_in_row_groups_of_another_size_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("did.parquet");
        let piece = |from: u32, rows: u32| {
            df!(
                "id_did" => (from..from + rows).map(|i| format!("D{i}")).collect::<Vec<_>>(),
                "prov_cpi" => (from..from + rows).map(|i| (i % 3 == 0).then_some(i)).collect::<Vec<_>>(),
            )
            .unwrap()
        };
        let read_back = || {
            ParquetReader::new(std::fs::File::open(&target).unwrap())
                .finish()
                .unwrap()
        };
        let whole = piece(0, 15);
        for rows_per_group in [1, 4, 5, 15, 100] {
            let mut writer = PieceWriter::with_row_groups_of(&target, whole.schema(), rows_per_group).unwrap();
            for (from, rows) in [(0, 5), (5, 0), (5, 7), (12, 3)] {
                writer.push(piece(from, rows)).unwrap();
            }
            writer.finish().unwrap();
            let read = read_back();
            assert!(read.equals_missing(&whole), "{rows_per_group} rows a group: {read}");
            let mut reader = ParquetReader::new(std::fs::File::open(&target).unwrap());
            let groups = reader.get_metadata().unwrap().row_groups.len();
            assert_eq!(
                groups,
                15_usize.div_ceil(rows_per_group),
                "{rows_per_group} rows a group"
            );
        }
        let writer = PieceWriter::with_row_groups_of(&target, whole.schema(), 4).unwrap();
        writer.finish().unwrap();
        let read = read_back();
        assert_eq!((read.height(), read.width()), (0, 2));
    }
}
