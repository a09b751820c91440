//! Staging the cache while stage 1 reads the CSV files: each piece's
//! checked rows are written into its file's Parquet file as soon as they are
//! read, each reference to a person with that person's position, and only
//! what the later rules read is held (see `docs/design/memory.md`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;

use super::hash::{hash_as_read, FileIdentity};
use super::write::{cannot_write, PieceWriter, ROW_GROUP_ROWS};
use super::{CachedFile, ACTIVITY_ROW, PERSON_KEY};
use crate::extract::reader::LINE;
use crate::extract::reject::{unknown_person, Reject, MAX_TEXT_BYTES};
use crate::extract::resolve::index::{PersonIndex, UNKNOWN};
use crate::extract::schema::FileKind;
use crate::extract::stages::{drop_distinct_identifiers, FileSink};
use crate::extract::{Checked, EncodingChoice};

use super::write::Staged;

/// Writes each file's checked rows (stage 1) into `staging` as they are
/// read, and holds of them only the columns the later rules read, with
/// `id_lav` as the person's position in the files that refer to persons: no
/// file is ever held whole but did.csv, whose rows are ordered person by
/// person before they are written. lavoratori.csv comes first: its rows
/// number the persons the other files refer to.
pub struct Stager<'a> {
    staging: &'a Path,
    extract_dir: &'a Path,
    /// The Parquet file being written, piece by piece.
    writing: Option<PieceWriter>,
    /// lavoratori.parquet's rows so far.
    persons: usize,
    /// politiche.parquet's rows so far.
    activities: usize,
    /// The rows whose reference found no person, with its text.
    unknown_persons: Vec<Reject>,
    /// The text of did.csv's references to no person, by line: the spells
    /// are held without the text of their references until written.
    unknown_spell_references: BTreeMap<IdxSize, String>,
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
            writing: None,
            persons: 0,
            activities: 0,
            unknown_persons: Vec::new(),
            unknown_spell_references: BTreeMap::new(),
            files: Vec::new(),
            seen,
        })
    }

    /// The staged files, once every file is written.
    pub fn finish(self, encoding: EncodingChoice, checked: &Checked) -> Staged {
        Staged::new(encoding, self.files, self.activities, checked.rejects.clone())
    }

    /// The position of each row's person: the row's own for lavoratori.csv,
    /// its reference's among lavoratori.csv's checked rows for the others
    /// ([`UNKNOWN`] for a reference to no person, whose text is kept for its
    /// reject).
    fn positions(&mut self, kind: FileKind, rows: &DataFrame, persons: Option<&PersonIndex>) -> Result<IdxCa> {
        if kind == FileKind::Persons {
            let first = self.persons as IdxSize;
            self.persons += rows.height();
            return Ok(IdxCa::from_vec(
                PERSON_KEY.into(),
                (first..self.persons as IdxSize).collect(),
            ));
        }
        let Some(index) = persons else {
            bail!(
                "{}: internal error, staged before lavoratori.csv; please report it with the command line that gave it",
                kind.spec().name
            );
        };
        let references: Vec<Option<&str>> = rows.column("id_lav")?.str()?.iter().collect();
        let positions = index.resolve(&references, MAX_TEXT_BYTES);
        let lines = rows.column(LINE)?.idx()?;
        for ((line, reference), position) in lines.iter().zip(&references).zip(&positions) {
            if *position == Some(UNKNOWN) {
                let (line, reference) = (line.unwrap_or(0), reference.unwrap_or(""));
                self.unknown_persons
                    .push(unknown_person(kind.spec().name, u64::from(line), "id_lav", reference));
                if kind == FileKind::Spells {
                    self.unknown_spell_references.insert(line, reference.to_string());
                }
            }
        }
        Ok(positions.into_iter().collect::<IdxCa>().with_name(PERSON_KEY.into()))
    }

    /// Writes the spells held (`spells`, without their references' text)
    /// person by person, each person's by `data_did` then `id_did`: every
    /// analysis looks for a person's latest or earliest spell, ties going by
    /// id_did, and stored so they are the last or first of each person's
    /// run, found without a sort or a hash table. Each row group's rows are
    /// gathered in that order and their references' text found again from
    /// the persons' positions, so that neither the text nor the ordered
    /// rows are ever held whole.
    fn write_spells(&self, spells: &DataFrame, persons: &PersonIndex, target: &Path) -> PolarsResult<()> {
        let order = spell_order(
            spells.column(PERSON_KEY)?.idx()?,
            spells.column("data_did")?.date()?.physical(),
            spells.column("id_did")?.str()?,
            persons.len(),
        );
        let order = IdxCa::from_vec(PlSmallStr::EMPTY, order);
        let id_at = 1 + FileKind::Spells
            .spec()
            .columns
            .iter()
            .position(|c| c.name == "id_lav")
            .expect("did.csv refers to persons");
        let mut writer: Option<PieceWriter> = None;
        // One group at least, so that a file without rows is written too.
        for offset in (0..spells.height().max(1)).step_by(ROW_GROUP_ROWS) {
            let mut group = spells.take(&order.slice(offset as i64, ROW_GROUP_ROWS))?;
            let positions = group.column(PERSON_KEY)?.idx()?;
            let lines = group.column(LINE)?.idx()?;
            let references: StringChunked = positions
                .into_no_null_iter()
                .zip(lines.into_no_null_iter())
                .map(|(position, line)| match position {
                    UNKNOWN => self.unknown_spell_references.get(&line).map(String::as_str),
                    position => Some(persons.id(position)),
                })
                .collect();
            let stored = stored_positions(positions);
            group.insert_column(id_at, references.with_name("id_lav".into()).into_column())?;
            group.with_column(stored.into_column())?;
            match writer.as_mut() {
                Some(writer) => writer.push(group)?,
                None => {
                    let mut opened = PieceWriter::new(target, group.schema())?;
                    opened.push(group)?;
                    writer = Some(opened);
                }
            }
        }
        writer.expect("one group at least").finish()
    }

    fn parquet_path(&self, kind: FileKind) -> (String, std::path::PathBuf) {
        let parquet = kind.spec().name.replace(".csv", ".parquet");
        let target = self.staging.join(&parquet);
        (parquet, target)
    }
}

impl FileSink for Stager<'_> {
    fn resolves_persons(&self) -> bool {
        true
    }

    fn piece(&mut self, kind: FileKind, rows: DataFrame, persons: Option<&PersonIndex>) -> Result<DataFrame> {
        let positions = self.positions(kind, &rows, persons)?;
        if kind == FileKind::Spells {
            // Held whole, and written once ordered (see `Stager::file`); the
            // references' text is found again from the positions then.
            let mut rows = rows.drop("id_lav")?;
            rows.with_column(positions.into_column())?;
            return Ok(rows);
        }
        let mut written = rows.clone();
        written.with_column(stored_positions(&positions).into_column())?;
        if self.writing.is_none() {
            let (_, target) = self.parquet_path(kind);
            self.writing = Some(PieceWriter::new(&target, written.schema()).map_err(|e| cannot_write(&target, e))?);
        }
        let writing = self.writing.as_mut().expect("opened above");
        writing.push(written).map_err(|e| cannot_write(writing.target(), e))?;
        let mut held = rows.select(later_columns(kind))?;
        if kind != FileKind::Persons {
            held.with_column(positions.with_name("id_lav".into()).into_column())?;
        }
        if kind == FileKind::Activities {
            let first = self.activities as IdxSize;
            self.activities += held.height();
            let rows = IdxCa::from_vec(ACTIVITY_ROW.into(), (first..self.activities as IdxSize).collect());
            held.with_column(rows.into_column())?;
        }
        Ok(held)
    }

    fn file(&mut self, kind: FileKind, checked: &mut Checked) -> Result<()> {
        let spec = kind.spec();
        let frame = checked.frames.get_mut(&kind).expect("the file just read");
        let (parquet, target) = self.parquet_path(kind);
        match kind {
            FileKind::Spells => {
                let persons = checked
                    .persons
                    .clone()
                    .ok_or_else(|| {
                        anyhow!("did.csv: internal error, staged before lavoratori.csv; please report it with the command line that gave it")
                    })?;
                self.write_spells(frame, &persons, &target)
                    .map_err(|e| cannot_write(&target, e))?;
                let mut held = frame.select(later_columns(kind).into_iter().filter(|c| *c != "id_lav"))?;
                held.with_column(frame.column(PERSON_KEY)?.clone().with_name("id_lav".into()))?;
                *frame = held;
            }
            _ => {
                let writing = self.writing.take().ok_or_else(|| {
                    anyhow!(
                        "{}: internal error, read without a piece; please report it with the command line that gave it",
                        spec.name
                    )
                })?;
                let target = writing.target().to_path_buf();
                writing.finish().map_err(|e| cannot_write(&target, e))?;
            }
        }
        // lavoratori.csv's identifiers stay: they are the persons' index.
        // The duplicate rule would check the others the same way.
        if kind != FileKind::Persons {
            *frame = drop_distinct_identifiers(spec, std::mem::take(frame), &[])?;
        }
        checked.unknown_persons.append(&mut self.unknown_persons);
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
            latest: checked.latest[&kind].map(super::NaiveDateText),
        });
        Ok(())
    }
}

/// The columns the later rules read (dates, birth years, identifiers and
/// references), and each row's line.
fn later_columns(kind: FileKind) -> Vec<&'static str> {
    std::iter::once(LINE)
        .chain(
            kind.spec()
                .columns
                .iter()
                .filter(|c| c.read_by_later_rules())
                .map(|c| c.name),
        )
        .collect()
}

/// The order of the spells whose persons' positions (among `persons`
/// persons, or [`UNKNOWN`]), start days and identifiers are given: person by
/// person, unknown persons last, each person's by day, then identifier, then
/// as read. A counting sort by person, then each person's few spells sorted
/// among themselves: polars' sort on the three columns held their row
/// encoding, hundreds of megabytes at ten million persons, beside the
/// spells (see `docs/design/memory.md`).
fn spell_order(positions: &IdxCa, days: &Int32Chunked, ids: &StringChunked, persons: usize) -> Vec<IdxSize> {
    let bucket = |position: IdxSize| (position as usize).min(persons);
    let mut starts: Vec<IdxSize> = vec![0; persons + 2];
    for position in positions.into_no_null_iter() {
        starts[bucket(position) + 1] += 1;
    }
    for at in 1..starts.len() {
        starts[at] += starts[at - 1];
    }
    let mut next = starts.clone();
    let mut order = vec![0 as IdxSize; positions.len()];
    for (row, position) in positions.into_no_null_iter().enumerate() {
        let at = &mut next[bucket(position)];
        order[*at as usize] = row as IdxSize;
        *at += 1;
    }
    let key = |row: IdxSize| (days.get(row as usize), ids.get(row as usize), row);
    for person in 0..=persons {
        let run = &mut order[starts[person] as usize..starts[person + 1] as usize];
        if run.len() > 1 {
            run.sort_by_cached_key(|row| key(*row));
        }
    }
    order
}

/// The positions as the cache stores them: none for a reference to no person.
fn stored_positions(positions: &IdxCa) -> IdxCa {
    positions.apply(|position| position.filter(|p| *p != UNKNOWN))
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;
    use proptest::prelude::*;

    use super::{spell_order, stored_positions};
    use crate::extract::resolve::index::UNKNOWN;

    #[test]
    fn a_reference_to_no_person_is_stored_without_a_position() {
        let positions = IdxCa::from_vec("p".into(), vec![3, UNKNOWN, 0]);
        let stored: Vec<Option<IdxSize>> = stored_positions(&positions).iter().collect();
        assert_eq!(stored, [Some(3), None, Some(0)]);
    }

    #[test]
    fn spells_are_ordered_by_person_then_day_then_identifier_ties_as_read() {
        let positions = IdxCa::from_vec("p".into(), vec![1, UNKNOWN, 0, 1, 1, 0, 1]);
        let days = Int32Chunked::from_slice("d".into(), &[5, 0, 9, 5, 2, 9, 5]);
        let ids = StringChunked::from_slice("i".into(), &["b", "x", "a", "a", "z", "a", "b"]);
        let order = spell_order(&positions, &days, &ids, 2);
        // Person 0: rows 2 and 5 tie on day and identifier (as read); person
        // 1: day 2, then day 5's a, b, b (rows 0 and 6 as read); unknown last.
        assert_eq!(order, [2, 5, 4, 3, 0, 6, 1]);
    }

    proptest! {
        /// The counting sort gives polars' stable sort on the three columns.
        #[test]
        fn spells_are_ordered_as_polars_sorts_them(
            spells in prop::collection::vec((0u32..6, 0i32..4, 0u8..3), 0..60),
        ) {
            let persons = 5;
            let position = |p: u32| if p == 5 { UNKNOWN } else { p };
            let positions = IdxCa::from_vec("p".into(), spells.iter().map(|s| position(s.0)).collect());
            let days = Int32Chunked::from_vec("d".into(), spells.iter().map(|s| s.1).collect());
            let ids = StringChunked::from_iter_values("i".into(), spells.iter().map(|s| format!("D{}", s.2)));
            let frame = DataFrame::new(
                spells.len(),
                vec![positions.clone().into_column(), days.clone().into_column(), ids.clone().into_column()],
            )
            .unwrap();
            let sorted = frame
                .lazy()
                .with_row_index("row", None)
                .sort(["p", "d", "i"], SortMultipleOptions::default().with_maintain_order(true))
                .collect()
                .unwrap();
            let expected: Vec<IdxSize> = sorted.column("row").unwrap().idx().unwrap().into_no_null_iter().collect();
            prop_assert_eq!(spell_order(&positions, &days, &ids, persons), expected);
        }
    }
}
