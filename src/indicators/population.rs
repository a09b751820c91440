//! Who is counted: the eligible persons of a period and population, each
//! beside their reference spell, and the activities that make them
//! beneficiaries (`docs/contracts/indicators.md`). `id_lav` holds the
//! person's position in every frame, so persons are gathered, never joined.

use std::cell::RefCell;

use anyhow::Result;
use polars::prelude::*;

use super::plan::{Period, Population, RatesPlan, Selection};
use super::rates::{coded_values, positions, relabel};
use super::reference_spell::{reference_spells, Pick, Window};
use crate::engine::{date_lit, epoch_days, inside_own_spells, is_in_series, spread_over_persons};
use crate::extract::schema::{FileKind, REFUSED};
use crate::extract::{Extract, IN_SPELL};
use crate::reference::{Activity, Reference};

pub(super) const BENEFICIARY: &str = "__beneficiary";
pub(super) const REF_DID: &str = "__ref_did";
pub(super) const REF_END: &str = "__ref_end";
const INSIDE: &str = "__inside";

/// The eligible persons of the last period, population and selection asked
/// for, kept (when the memo is [`Memo::shared`]) for the next tables that
/// share them: a report or a batch job asks for a dozen tables of the same
/// persons, and finding them (spells, activities, three joins) costs far
/// more than breaking them down. Only the last is kept, so memory holds one
/// population at a time, and `publish_with` computes its tables population
/// by population. A single
/// table is better off with [`Memo::default`], which keeps nothing and lets
/// the query read only the columns it needs.
#[derive(Default)]
pub struct Memo {
    keep: bool,
    last: RefCell<Option<(EligibleKey, Eligible)>>,
    /// The last reference persons found, by period and kind (see
    /// [`Memo::reference_persons`]).
    reference: RefCell<Option<((Period, Kind), DataFrame)>>,
}

/// Whose reference spell a population reads: the stock's (each person's
/// latest spell overlapping the period) or the cohort's (their earliest
/// spell starting in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Stock,
    Cohort,
}

/// What tells one population of eligible persons from another.
pub(super) type EligibleKey = (Period, Population, Selection);

/// The population of eligible persons `plan` counts.
pub(super) fn eligible_key(plan: &RatesPlan) -> EligibleKey {
    (plan.period, plan.population, plan.selection.clone())
}

/// One row per eligible person: person and reference-spell columns and
/// whether the person is a beneficiary; and the activities that make them
/// beneficiaries, which the breakdowns of activities count.
#[derive(Clone)]
pub(super) struct Eligible {
    pub(super) persons: LazyFrame,
    pub(super) activities: LazyFrame,
    pub(super) incomplete_followup: u64,
}

impl Memo {
    pub fn shared() -> Memo {
        Memo {
            keep: true,
            ..Memo::default()
        }
    }

    pub(super) fn eligible(&self, extract: &Extract, reference: &Reference, plan: &RatesPlan) -> Result<Eligible> {
        let key = eligible_key(plan);
        if let Some((_, found)) = self.last.borrow().as_ref().filter(|(k, _)| *k == key) {
            return Ok(found.clone());
        }
        // The previous population goes before this one is built.
        self.last.borrow_mut().take();
        let mut query = Query::new(extract, reference, plan, self)?;
        if self.keep {
            // Kept for every table of the population, as its persons are:
            // each breakdown of activities would otherwise find them again.
            query.beneficiary_activities = query.beneficiary_activities.collect()?.lazy();
        }
        let activities = query.beneficiary_activities.clone();
        let mut persons = query.flagged()?;
        let mut incomplete_followup = 0;
        if let Population::Cohort {
            window,
            complete_followup,
        } = plan.population
        {
            let incomplete = days(col(REF_DID)).gt(lit(epoch_days(extract.as_of) - window as i32));
            incomplete_followup = count(persons.clone().filter(incomplete.clone()))?;
            if complete_followup {
                persons = persons.filter(incomplete.not());
            }
        }
        if !self.keep {
            return Ok(Eligible {
                persons,
                activities,
                incomplete_followup,
            });
        }
        let found = Eligible {
            persons: persons.collect()?.lazy(),
            activities,
            incomplete_followup,
        };
        *self.last.borrow_mut() = Some((key, found.clone()));
        Ok(found)
    }

    /// Each person with a reference spell of `kind` in `period`, the
    /// spell's columns beside the person's (see [`reference_persons`]).
    /// Kept, when the memo is shared, for the next population of the same
    /// period and kind: the report's populations of every selection read
    /// the same stock, and its times to a first service and to a first
    /// measure the same cohort. Only the last is kept.
    pub(super) fn reference_persons(&self, extract: &Extract, period: Period, kind: Kind) -> Result<DataFrame> {
        if let Some((_, found)) = self.reference.borrow().as_ref().filter(|(k, _)| *k == (period, kind)) {
            return Ok(found.clone());
        }
        self.reference.borrow_mut().take();
        let found = reference_persons(extract, period, kind)?;
        if self.keep {
            *self.reference.borrow_mut() = Some(((period, kind), found.clone()));
        }
        Ok(found)
    }
}

/// Each person with a reference spell of `kind` in `period`, in the
/// persons' order: the spell's `id_lav`, `cpi` and `prov_cpi` (those held),
/// for a cohort its start ([`REF_DID`]) and end ([`REF_END`]), then the
/// person's other columns.
fn reference_persons(extract: &Extract, period: Period, kind: Kind) -> Result<DataFrame> {
    let layout = extract.analysed_layout()?;
    let persons = extract.frame(FileKind::Persons)?;
    let spells = extract.frame(FileKind::Spells)?;
    let reference_spells = match kind {
        // The latest spell gives province and job centre; ties go to the greatest id_did.
        Kind::Stock => reference_spells(
            spells,
            persons.height(),
            Pick::Latest,
            layout.spells_by_person,
            Window::overlapping(period),
            &held_names(spells, &["id_lav", "cpi", "prov_cpi"]),
        )?,
        Kind::Cohort => cohort_spells(spells, persons.height(), period, layout.spells_by_person)?,
    };
    gathered_persons(reference_spells, persons)
}

/// The queries behind a table: each eligible person beside their
/// reference spell (flagged as beneficiary by [`Query::flagged`]), and the
/// activities that make them beneficiaries. `id_lav` holds the person's
/// position everywhere (`PersonKey::Position`).
pub(super) struct Query {
    reference_persons: DataFrame,
    persons: usize,
    pub(super) beneficiary_activities: LazyFrame,
}

impl Query {
    /// The eligible persons with `BENEFICIARY`: the beneficiaries are marked
    /// in a flag per person and the flags gathered by the eligible persons'
    /// positions, far cheaper than looking every eligible person up in a
    /// hashed set of the beneficiaries.
    pub(super) fn flagged(self) -> Result<LazyFrame> {
        let beneficiaries = self.beneficiary_activities.select([col("id_lav")]).collect()?;
        let beneficiaries = beneficiaries.column("id_lav")?;
        let marked = BooleanChunked::full(BENEFICIARY.into(), false, self.persons)
            .scatter_single(beneficiaries.idx()?.into_no_null_iter(), Some(true))?;
        let mut eligible = self.reference_persons;
        let flags = marked.take(eligible.column("id_lav")?.idx()?)?;
        eligible.with_column(flags.into_column())?;
        Ok(eligible.lazy())
    }

    pub(super) fn new(extract: &Extract, reference: &Reference, plan: &RatesPlan, memo: &Memo) -> Result<Query> {
        let layout = extract.analysed_layout()?;
        let persons = extract.frame(FileKind::Persons)?.height();
        let spells_held = extract.frame(FileKind::Spells)?;
        let activities_held = extract.frame(FileKind::Activities)?;
        let activities = counted_activities(activities_held.clone().lazy(), reference, &plan.selection);
        let (from, to) = (plan.period.from, plan.period.to);

        let (reference_persons, beneficiary_activities) = match plan.population {
            Population::Stock => {
                let latest = memo.reference_persons(extract, plan.period, Kind::Stock)?;
                let in_period = activities.filter(
                    col("data_inizio")
                        .gt_eq(date_lit(from))
                        .and(col("data_inizio").lt_eq(date_lit(to))),
                );
                let inside_a_spell = if layout.activities_in_spells {
                    in_period.filter(col(IN_SPELL))
                } else {
                    let overlapping = spells_held
                        .clone()
                        .lazy()
                        .filter(Window::overlapping(plan.period).expr());
                    inside_own_spell(in_period, overlapping, persons)?
                };
                (latest, inside_a_spell)
            }
            Population::Cohort { window, .. } => {
                let mut earliest = memo.reference_persons(extract, plan.period, Kind::Cohort)?;
                let _ = earliest.drop_in_place(REF_END)?;
                let with_reference_did = with_persons_value(activities, &earliest, REF_DID, persons)?;
                let within_window = with_reference_did.filter(
                    col("data_inizio")
                        .gt_eq(col(REF_DID))
                        .and(days(col("data_inizio")).lt_eq(days(col(REF_DID)) + lit(window as i32))),
                );
                (earliest, within_window)
            }
        };

        Ok(Query {
            reference_persons,
            persons,
            beneficiary_activities: with_category(beneficiary_activities, activities_held, reference),
        })
    }
}

/// The cohort's reference spells: each person's earliest spell starting
/// in the period, ties going to the smallest id_did, with its start as
/// [`REF_DID`] and its end (empty while open) as [`REF_END`], in the
/// persons' order.
pub(super) fn cohort_spells(spells: &DataFrame, persons: usize, period: Period, in_order: bool) -> Result<DataFrame> {
    let starting = Window::starting_in(period);
    let mut columns = held_names(spells, &["id_lav", "cpi", "prov_cpi"]);
    columns.extend(["data_did".into(), "data_fine".into()]);
    let mut earliest = reference_spells(spells, persons, Pick::Earliest, in_order, starting, &columns)?;
    earliest.rename("data_did", REF_DID.into())?;
    earliest.rename("data_fine", REF_END.into())?;
    Ok(earliest)
}

/// The reference spells beside their persons' columns, gathered from the
/// persons' rows by the positions `id_lav` holds, without the cost of a
/// join on 64-bit keys.
pub(super) fn gathered_persons(spells: DataFrame, persons: &DataFrame) -> Result<DataFrame> {
    let gathered = persons.drop("id_lav")?.take(spells.column("id_lav")?.idx()?)?;
    Ok(spells.hstack(gathered.columns())?)
}

/// Activities that count as access under the plan's selection: never refused ones.
/// Rows are kept by activity code (those of the selected categories) and
/// only the kept ones get their category.
pub(super) fn counted_activities(activities: LazyFrame, reference: &Reference, selection: &Selection) -> LazyFrame {
    let outcomes = coded_values(FileKind::Activities, "esito", reference);
    let refused = positions(&outcomes, &[REFUSED]);
    let selected = |a: &Activity| {
        selection.categories.contains(&a.categoria_lmp)
            && selection
                .activities
                .as_ref()
                .is_none_or(|codes| codes.contains(&a.codice))
    };
    let selected: Vec<&str> = reference
        .activities
        .iter()
        .filter(|a| selected(a))
        .map(|a| a.codice.as_str())
        .collect();
    let codes = coded_values(FileKind::Activities, "cod_attivita", reference);
    let mut counted = activities
        .filter(is_in_series(col("esito"), refused).not())
        .filter(is_in_series(col("cod_attivita"), positions(&codes, &selected)));
    if let Some(programmes) = &selection.programmes {
        let values = coded_values(FileKind::Activities, "programma", reference);
        counted = counted.filter(is_in_series(col("programma"), positions(&values, programmes)));
    }
    if let Some(providers) = &selection.providers {
        let values = coded_values(FileKind::Activities, "ente", reference);
        counted = counted.filter(is_in_series(col("ente"), positions(&values, providers)));
    }
    counted
}

/// Counted activities with the columns the breakdowns read, their code
/// turned into their Eurostat category.
fn with_category(activities: LazyFrame, held_by: &DataFrame, reference: &Reference) -> LazyFrame {
    let categories: Vec<String> = reference
        .activities
        .iter()
        .map(|a| a.categoria_lmp.to_string())
        .collect();
    let mut columns = held(held_by, &["id_lav", "data_inizio", "programma", "ente"]);
    columns.push(relabel("cod_attivita", categories.iter().map(String::as_str)).alias("categoria_lmp"));
    activities.select(columns)
}

/// The columns of `names` that `frame` holds: loaded for one table, the
/// frames hold only the columns its breakdowns read (see [`super::columns_read`]).
pub(super) fn held(frame: &DataFrame, names: &[&str]) -> Vec<Expr> {
    held_names(frame, names).into_iter().map(col).collect()
}

/// [`held`]'s columns by name.
fn held_names(frame: &DataFrame, names: &[&str]) -> Vec<PlSmallStr> {
    names
        .iter()
        .filter(|name| frame.column(name).is_ok())
        .map(|name| PlSmallStr::from(*name))
        .collect()
}

/// The activities that start inside a spell of their own person, found
/// without a join where `id_lav` holds the persons' positions (see
/// [`inside_own_spells`]).
fn inside_own_spell(activities: LazyFrame, spells: LazyFrame, persons: usize) -> Result<LazyFrame> {
    let mut activities = activities.collect()?;
    let spells = spells
        .select([col("id_lav"), col("data_did"), col("data_fine")])
        .collect()?;
    let inside = inside_own_spells(
        activities.column("id_lav")?.idx()?,
        activities.column("data_inizio")?.date()?.physical(),
        spells,
        persons,
    )?;
    // Filtered lazily: a table with no activity breakdown reads only `id_lav`.
    activities.with_column(inside.with_name(INSIDE.into()).into_column())?;
    Ok(activities.lazy().filter(col(INSIDE)))
}

/// `rows` with `column` of `persons_rows`, the frame of at most one row per
/// person, as a join on `id_lav` would give them, where `id_lav` holds the
/// persons' positions: the column is spread over the persons by position,
/// then gathered by each row's person, with no hash table.
pub(super) fn with_persons_value(
    rows: LazyFrame,
    persons_rows: &DataFrame,
    column: &str,
    persons: usize,
) -> Result<LazyFrame> {
    let values = persons_rows.column(column)?;
    let by_person = spread_over_persons(
        persons_rows.column("id_lav")?.idx()?,
        values.date()?.physical(),
        persons,
    )?;
    Ok(rows
        .with_column(
            lit(by_person.into_series())
                .gather(col("id_lav"), false)
                .cast(values.dtype().clone())
                .alias(column),
        )
        .filter(col(column).is_not_null()))
}

pub(super) fn days(date: Expr) -> Expr {
    date.cast(DataType::Int32)
}

pub(super) fn count(frame: LazyFrame) -> Result<u64> {
    let counted = frame.select([len().cast(DataType::UInt64)]).collect()?;
    Ok(counted.columns()[0].u64()?.get(0).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;
    use proptest::prelude::*;

    use super::{inside_own_spell, with_persons_value};

    fn dates(name: &str, days: Vec<Option<i32>>) -> Column {
        Int32Chunked::from_iter_options(name.into(), days.into_iter())
            .into_date()
            .into_column()
    }

    fn positions(name: &str, persons: Vec<u32>) -> Column {
        IdxCa::from_vec(name.into(), persons).into_column()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

        /// Persons with no spell, one or several, overlapping or not, open
        /// or closed, in any order: an activity is kept, in its place, when
        /// a spell of its own person holds its day.
        #[test]
        fn an_activity_is_kept_when_a_spell_of_its_person_holds_its_day(
            persons in 1usize..8,
            spells in proptest::collection::vec((0u32..8, 0i32..40, proptest::option::of(0i32..15)), 0..24),
            activities in proptest::collection::vec((0u32..8, 0i32..60), 0..40),
        ) {
            let spells: Vec<_> = spells.into_iter().filter(|s| (s.0 as usize) < persons).collect();
            let activities: Vec<_> = activities.into_iter().filter(|a| (a.0 as usize) < persons).collect();
            let expected: Vec<(u32, i32)> = activities
                .iter()
                .copied()
                .filter(|(person, day)| {
                    spells.iter().any(|(owner, start, length)| {
                        owner == person && start <= day && length.is_none_or(|l| *day <= start + l)
                    })
                })
                .collect();
            let spell_frame = DataFrame::new_infer_height(vec![
                positions("id_lav", spells.iter().map(|s| s.0).collect()),
                dates("data_did", spells.iter().map(|s| Some(s.1)).collect()),
                dates("data_fine", spells.iter().map(|s| s.2.map(|l| s.1 + l)).collect()),
            ]).unwrap();
            let activity_frame = DataFrame::new_infer_height(vec![
                positions("id_lav", activities.iter().map(|a| a.0).collect()),
                dates("data_inizio", activities.iter().map(|a| Some(a.1)).collect()),
            ]).unwrap();
            let kept = inside_own_spell(activity_frame.lazy(), spell_frame.lazy(), persons)
                .unwrap()
                .collect()
                .unwrap();
            let found: Vec<(u32, i32)> = kept.column("id_lav").unwrap().idx().unwrap().into_no_null_iter()
                .zip(kept.column("data_inizio").unwrap().date().unwrap().physical().into_no_null_iter())
                .collect();
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn a_persons_value_reaches_their_rows_and_rows_of_persons_without_one_go() {
        let earliest = DataFrame::new_infer_height(vec![
            positions("id_lav", vec![2, 0]),
            dates("__ref_did", vec![Some(10), Some(20)]),
        ])
        .unwrap();
        let rows = DataFrame::new_infer_height(vec![positions("id_lav", vec![0, 1, 2, 2, 3])]).unwrap();
        let paired = with_persons_value(rows.lazy(), &earliest, "__ref_did", 4)
            .unwrap()
            .collect()
            .unwrap();
        let persons: Vec<u32> = paired
            .column("id_lav")
            .unwrap()
            .idx()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let days: Vec<i32> = paired
            .column("__ref_did")
            .unwrap()
            .date()
            .unwrap()
            .physical()
            .into_no_null_iter()
            .collect();
        assert_eq!(persons, [0, 2, 2]);
        assert_eq!(days, [20, 10, 10]);
    }
}
