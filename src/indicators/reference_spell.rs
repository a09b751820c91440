//! Each person's reference spell: among the spells a table admits, the
//! latest (or earliest) by `data_did`, ties going to the greatest (or
//! smallest) `id_did` in byte order (`docs/contracts/indicators.md`).
//!
//! Spells stored person by person in that order (the cache's) give it as
//! the last (or first) row of each person's run. Spells in any other order
//! (every analysis of the CSV files) give it in one pass in the order they
//! are held, keeping a slot per person (the row and start day of the best
//! spell so far): sorting them by person, day and identifier first is what
//! this replaces (`docs/benchmarks.md`, "Spells in any order, without a
//! sort"). The property test below holds both to that sort.

use std::borrow::Cow;

use anyhow::Result;
use polars::prelude::*;

use super::plan::Period;
use crate::engine::{day_lit, epoch_days, for_each_spell, prefetch};

/// Which of a person's admitted spells is their reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    Latest,
    Earliest,
}

/// Where a person has no admitted spell in [`reference_spell_rows`]'s answer:
/// a sentinel rather than an `Option`, which would double the slots' bytes.
pub(super) const NO_SPELL: IdxSize = IdxSize::MAX;

/// A spell as the admission rule sees it: its person's position, its start
/// and its end (`None` while open), as days since the epoch.
pub(super) struct Spell {
    pub person: IdxSize,
    pub start: i32,
    pub end: Option<i32>,
}

/// The row of each person's reference spell among the spells `admit`
/// accepts, [`NO_SPELL`] for a person without one. `in_order` says the
/// spells come person by person ordered by day, then `id_did` (as the
/// cache keeps them, `Layout::spells_by_person`): ties then go by row, and
/// `id_did` need not be held.
pub(super) fn reference_spell_rows(
    spells: &DataFrame,
    persons: usize,
    pick: Pick,
    in_order: bool,
    admit: impl Fn(&Spell) -> bool + Sync,
) -> Result<Vec<IdxSize>> {
    let owners = spells.column("id_lav")?.idx()?;
    let starts = spells.column("data_did")?.date()?.physical();
    let ends = ends(spells)?;
    let ends = ends.as_ref();
    let identifiers = if in_order {
        None
    } else {
        Some(spells.column("id_did")?.str()?)
    };
    // A slot per person holds the best row and its day side by side, so
    // that looking a person up touches one cache line. Each core takes the
    // slots of a range of persons and reads every spell, passing over those
    // of other persons: the slots are where the time goes, as the spells of
    // an extract in no order reach them at random.
    let mut best: Vec<(IdxSize, i32)> = vec![(NO_SPELL, 0); persons];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_core = persons.div_ceil(cores).max(1);
    let admit = &admit;
    std::thread::scope(|scope| {
        for (part, slots) in best.chunks_mut(per_core).enumerate() {
            let first = (part * per_core) as IdxSize;
            scope.spawn(move || {
                let held = slots.as_ptr();
                let ahead = |person: IdxSize| prefetch(held.wrapping_add(person.wrapping_sub(first) as usize));
                for_each_spell(owners, starts, ends, ahead, |row, person, start, end| {
                    let Some(slot) = slots.get_mut(person.wrapping_sub(first) as usize) else {
                        return;
                    };
                    if !admit(&Spell { person, start, end }) {
                        return;
                    }
                    if replaces(*slot, row, start, pick, identifiers) {
                        *slot = (row, start);
                    }
                });
            });
        }
    });
    Ok(best.into_iter().map(|(row, _)| row).collect())
}

/// Whether the spell at `row`, starting on `start`, is a better reference
/// than the one `kept` holds (row, start).
fn replaces(kept: (IdxSize, i32), row: IdxSize, start: i32, pick: Pick, identifiers: Option<&StringChunked>) -> bool {
    if kept.0 == NO_SPELL {
        return true;
    }
    let day = start.cmp(&kept.1);
    let day = if pick == Pick::Latest { day } else { day.reverse() };
    match (day, identifiers) {
        (std::cmp::Ordering::Equal, Some(identifiers)) => {
            let (this, other) = (identifiers.get(row as usize), identifiers.get(kept.0 as usize));
            let order = this.unwrap_or("").as_bytes().cmp(other.unwrap_or("").as_bytes());
            (if pick == Pick::Latest { order } else { order.reverse() }).is_gt()
        }
        // In order, a later row on the same day is a greater id_did.
        (std::cmp::Ordering::Equal, None) => pick == Pick::Latest,
        (order, _) => order.is_gt(),
    }
}

/// The spells a table's population reads its reference from, by their days.
#[derive(Debug, Clone, Copy)]
pub(super) enum Window {
    /// Spells overlapping the days `first` to `last` (stock).
    Overlapping { first: i32, last: i32 },
    /// Spells starting from `first` to `last` (cohort).
    StartingIn { first: i32, last: i32 },
}

impl Window {
    /// The spells overlapping the days of `period` (a stock's).
    pub(super) fn overlapping(period: Period) -> Window {
        Window::Overlapping {
            first: epoch_days(period.from),
            last: epoch_days(period.to),
        }
    }

    /// The spells starting on the days of `period` (a cohort's).
    pub(super) fn starting_in(period: Period) -> Window {
        Window::StartingIn {
            first: epoch_days(period.from),
            last: epoch_days(period.to),
        }
    }

    fn admits(self, spell: &Spell) -> bool {
        match self {
            Window::Overlapping { first, last } => spell.start <= last && spell.end.is_none_or(|end| end >= first),
            Window::StartingIn { first, last } => first <= spell.start && spell.start <= last,
        }
    }

    pub(super) fn expr(self) -> Expr {
        match self {
            Window::Overlapping { first, last } => col("data_did")
                .lt_eq(day_lit(last))
                .and(col("data_fine").is_null().or(col("data_fine").gt_eq(day_lit(first)))),
            Window::StartingIn { first, last } => col("data_did")
                .gt_eq(day_lit(first))
                .and(col("data_did").lt_eq(day_lit(last))),
        }
    }
}

/// The reference spells themselves, one row per person who has one, in
/// the persons' order, with `columns` of the spells.
pub(super) fn reference_spells(
    spells: &DataFrame,
    persons: usize,
    pick: Pick,
    in_order: bool,
    window: Window,
    columns: &[PlSmallStr],
) -> Result<DataFrame> {
    let wanted: Vec<Expr> = columns.iter().map(|name| col(name.clone())).collect();
    if in_order {
        // A person's spells are adjacent and in order: their reference is
        // the last (or first) row of their run, found by comparing each row's
        // person with its neighbour's, in polars' vectorised filters, where
        // a slot per person would cost its memory and a gather.
        let person = col("id_lav");
        let neighbour = person.clone().shift(lit(if pick == Pick::Latest { -1 } else { 1 }));
        let chosen = spells
            .clone()
            .lazy()
            .filter(window.expr())
            .filter(person.neq(neighbour).fill_null(lit(true)))
            .select(wanted);
        return Ok(chosen.collect()?);
    }
    let rows: IdxCa = reference_spell_rows(spells, persons, pick, false, |spell| window.admits(spell))?
        .into_iter()
        .filter(|row| *row != NO_SPELL)
        .collect_ca(PlSmallStr::EMPTY);
    // polars gathers from one chunk several times faster than from the
    // many chunks a file read piece by piece leaves.
    let mut chosen = spells.select(columns.iter().cloned())?;
    chosen.rechunk_mut();
    Ok(chosen.take(&rows)?)
}

/// The spells' last days, all open where the spells hold none.
fn ends(spells: &DataFrame) -> Result<Cow<'_, Int32Chunked>> {
    Ok(match spells.column("data_fine") {
        Ok(ends) => Cow::Borrowed(ends.date()?.physical()),
        Err(_) => Cow::Owned(Int32Chunked::full_null(PlSmallStr::EMPTY, spells.height())),
    })
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;
    use proptest::prelude::*;

    use super::{reference_spell_rows, reference_spells, Pick, Window, NO_SPELL};

    fn spells(rows: &[(u32, i32, Option<i32>, &str)]) -> DataFrame {
        DataFrame::new_infer_height(vec![
            IdxCa::from_vec("id_lav".into(), rows.iter().map(|r| r.0).collect()).into_column(),
            Int32Chunked::from_vec("data_did".into(), rows.iter().map(|r| r.1).collect())
                .into_date()
                .into_column(),
            Int32Chunked::from_iter_options("data_fine".into(), rows.iter().map(|r| r.2))
                .into_date()
                .into_column(),
            StringChunked::from_iter_values("id_did".into(), rows.iter().map(|r| r.3)).into_column(),
        ])
        .unwrap()
    }

    fn identifiers(frame: &DataFrame) -> Vec<String> {
        let column = frame.column("id_did").unwrap().str().unwrap();
        column.iter().map(|id| id.unwrap().to_string()).collect()
    }

    /// Worked by hand: person 0 has two spells on day 5 (D10 and D9: the
    /// latest is D9 in byte order, the earliest D10), person 1 one spell
    /// the rule refuses, person 2 none, person 3 spells on days 7 and 2.
    #[test]
    fn the_latest_and_earliest_spells_by_day_then_identifier_in_byte_order() {
        let frame = spells(&[
            (3, 7, None, "D7"),
            (0, 5, Some(9), "D9"),
            (1, 40, None, "D1"),
            (0, 5, None, "D10"),
            (3, 2, Some(3), "D2"),
        ]);
        let before_30 = |s: &super::Spell| s.start < 30;
        let latest = reference_spell_rows(&frame, 4, Pick::Latest, false, before_30).unwrap();
        assert_eq!(latest, [1, NO_SPELL, NO_SPELL, 0]);
        let earliest = reference_spell_rows(&frame, 4, Pick::Earliest, false, before_30).unwrap();
        assert_eq!(earliest, [3, NO_SPELL, NO_SPELL, 4]);
        let open = reference_spell_rows(&frame, 4, Pick::Latest, false, |s| s.end.is_none()).unwrap();
        assert_eq!(open, [3, 2, NO_SPELL, 0]);
        let before_30_window = Window::StartingIn {
            first: i32::MIN,
            last: 29,
        };
        let kept = reference_spells(&frame, 4, Pick::Latest, false, before_30_window, &["id_did".into()]).unwrap();
        let kept = identifiers(&kept);
        assert_eq!(kept, ["D9", "D7"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// In any order, the pass picks what polars' stable sort by person,
        /// day and identifier picks as each person's last (or first) row;
        /// and the spells in that sorted order, read with ties by row, give
        /// the same rows.
        #[test]
        fn the_pass_picks_what_a_sort_by_person_day_and_identifier_picks(
            rows in proptest::collection::vec((0u32..6, 0i32..6, 0u32..40), 0..40),
            latest: bool,
            until in 0i32..7,
        ) {
            let mut seen = std::collections::HashSet::new();
            let rows: Vec<(u32, i32, Option<i32>, String)> = rows
                .into_iter()
                .filter(|r| seen.insert(r.2))
                .map(|(person, day, id)| (person, day, None, format!("D{id}")))
                .collect();
            let borrowed: Vec<(u32, i32, Option<i32>, &str)> =
                rows.iter().map(|r| (r.0, r.1, r.2, r.3.as_str())).collect();
            let frame = spells(&borrowed);
            let pick = if latest { Pick::Latest } else { Pick::Earliest };
            let window = Window::StartingIn { first: 0, last: until };
            let found = reference_spells(&frame, 6, pick, false, window, &["id_did".into()]).unwrap();

            let sorted = frame
                .clone()
                .lazy()
                .filter(col("data_did").cast(DataType::Int32).lt_eq(lit(until)))
                .sort(["id_lav", "data_did", "id_did"], SortMultipleOptions::default().with_maintain_order(true))
                .collect()
                .unwrap();
            let owners: Vec<u32> = sorted.column("id_lav").unwrap().idx().unwrap().into_no_null_iter().collect();
            let ids = identifiers(&sorted);
            let expected: Vec<String> = (0..owners.len())
                .filter(|&i| {
                    let neighbour = if latest { owners.get(i + 1) } else { i.checked_sub(1).map(|j| &owners[j]) };
                    neighbour != Some(&owners[i])
                })
                .map(|i| ids[i].clone())
                .collect();
            let picked = identifiers(&found);
            prop_assert_eq!(&picked, &expected);

            let in_order = reference_spells(&sorted, 6, pick, true, window, &["id_did".into()]).unwrap();
            let in_order = identifiers(&in_order);
            prop_assert_eq!(&in_order, &expected);
        }
    }
}
