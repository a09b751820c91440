//! Persons and the references to them: stage 3 (every reference finds a
//! kept person), and `id_lav` as a position among the persons' rows.

mod distinct;
pub(super) mod index;
mod person_set;

pub(super) use distinct::all_distinct;
pub use person_set::PersonSet;

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use polars::prelude::*;

use crate::engine::collect_streaming;

use crate::extract::reader::LINE;
use crate::extract::reject::{unknown_person, Reject, MAX_TEXT_BYTES};
use crate::extract::resolve::index::PersonIndex;
use crate::extract::rules::drop_lines;
use crate::extract::schema::{FileKind, Kind};

/// Stage 3 for references held as text (validate, import, and a cache read
/// against another as-of date; analyses of the CSV files resolve them as
/// they read, see [`check_resolved_references`]): rejects the references to
/// persons that are not among the kept rows of lavoratori.csv. One anti
/// join finds them in every file at once,
/// so the persons' identifiers are hashed once rather than once per file,
/// and polars spreads the probes over the cores. It runs streamed: in
/// memory it hashed every reference at once.
pub(super) fn check_references(frames: &mut BTreeMap<FileKind, DataFrame>) -> Result<Vec<Reject>> {
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
pub(super) fn check_resolved_references(
    frames: &mut BTreeMap<FileKind, DataFrame>,
    index: &PersonIndex,
    unknown_persons: Vec<Reject>,
) -> Result<Vec<Reject>> {
    let persons = loaded_persons(frames)?.column(PERSON)?.idx()?;
    // Stage 1 kept the text of every reference that found no person: with
    // none, and every person kept by stage 2, there is nothing to reject.
    if unknown_persons.is_empty() && persons.len() == index.len() {
        return Ok(Vec::new());
    }
    let kept = PersonSet::of(index.len(), persons.into_no_null_iter());
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
            if position == crate::extract::resolve::index::UNKNOWN {
                // Stage 1 kept the text of every such row it kept.
                let reject = unknown.remove(&(spec.name.to_string(), u64::from(line))).ok_or_else(|| {
                    anyhow!(
                        "{}, line {line}: internal error, the text of its unknown person was not kept; please report it with the command line that gave it",
                        spec.name
                    )
                })?;
                rejects.push(reject);
            } else if !kept.contains(position) {
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

/// Turns `id_lav` into the person's position among the persons' rows in
/// every frame, each reference found by its exact text: for an analysis of
/// a cache whose references are text (read against another as-of date).
/// Stages 2 and 3 have left distinct persons and references to them only.
pub(super) fn number_persons_by_text(frames: &mut BTreeMap<FileKind, DataFrame>) -> Result<()> {
    let ids = loaded_persons(frames)?.column("id_lav")?.str()?.rechunk().into_owned();
    let index = PersonIndex::new(&ids);
    for (kind, frame) in frames.iter_mut() {
        let positions = if *kind == FileKind::Persons {
            person_positions(frame.height())
        } else if let Ok(references) = frame.column("id_lav") {
            let references: Vec<Option<&str>> = references.str()?.iter().collect();
            let found: IdxCa = index.resolve(&references, MAX_TEXT_BYTES).into_iter().collect();
            found.with_name("id_lav".into()).into_series()
        } else {
            continue;
        };
        frame.with_column(positions.into_column())?;
    }
    Ok(())
}

/// The persons' positions among lavoratori.csv's checked rows, which
/// resolved references hold (see [`index`]).
pub(super) const PERSON: &str = "__person";

/// The persons' positions `0..count`, as the column `id_lav`.
pub(super) fn person_positions(count: usize) -> Series {
    IdxCa::from_vec("id_lav".into(), (0..count as IdxSize).collect()).into_series()
}

/// Keeps `id_lav` a position among the persons' rows once the later rules
/// have dropped some of the rows the cache numbered: the persons' numbers
/// rise with their rows, so the remaining ones shift down to `0..height`.
/// The references to dropped persons were dropped with them (stage 3).
pub(super) fn renumber_persons(frames: &mut BTreeMap<FileKind, DataFrame>) -> Result<()> {
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

/// Whether a text column may hold a value twice: never when its values
/// ascend strictly, as the keys of an extract exported in key order do (one
/// comparison of neighbours, cheaper than hashing), nor when the hashes of
/// its values are all distinct, which is much cheaper to check than the
/// values themselves.
pub(super) fn may_repeat(frame: &DataFrame, column: &str) -> Result<bool> {
    let values = frame.column(column)?.str()?;
    Ok(!ascends_strictly(values) && !hashes_distinct(values))
}

/// Whether `values` are present and ascend strictly.
fn ascends_strictly(values: &StringChunked) -> bool {
    let mut before = None;
    values.iter().all(|value| {
        let rises = value.is_some() && before < value;
        before = value;
        rises
    })
}

/// Whether the 64-bit hashes of a text column's values (a missing one as
/// 0) are all distinct; each chunk hashed on a core of its own.
fn hashes_distinct(values: &StringChunked) -> bool {
    let chunks: Vec<_> = values.downcast_iter().collect();
    let hashed = crate::extract::parallel::each(
        chunks.len(),
        |chunk| {
            chunks[chunk]
                .iter()
                .map(|value| value.map_or(0, id_hash))
                .collect::<Vec<u64>>()
        },
        |_| false,
    )
    .unwrap_or_else(|_| unreachable!("no chunk stops the others"));
    let parts: Vec<&[u64]> = hashed.iter().map(Vec::as_slice).collect();
    all_distinct(&parts)
}

/// lavoratori.csv's checked rows, which every analysis loads.
pub(super) fn loaded_persons(frames: &BTreeMap<FileKind, DataFrame>) -> Result<&DataFrame> {
    frames
        .get(&FileKind::Persons)
        .ok_or_else(|| anyhow!("lavoratori.csv was not loaded"))
}

pub(super) fn id_hash(id: &str) -> u64 {
    // A fixed seed: the same id gets the same hash in every frame.
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}
