//! Who an outcomes table follows, from when, and what happened to them:
//! each person's origin (the end of their latest measure, or their DID)
//! with the job centre and province of their spell then, their hirings
//! person by person, and per horizon whether they are followed that long,
//! reached the outcome, and were already at work at the origin.

use anyhow::Result;
use polars::prelude::*;

use super::{observed, reached, working, Origin, Outcome, OutcomesPlan};
use crate::engine::epoch_days;
use crate::extract::schema::{FileKind, CONTRACTS};
use crate::extract::{Extract, PersonSet};
use crate::indicators::population::{cohort_spells, counted_activities, gathered_persons, REF_DID};
use crate::indicators::reference_spell::{reference_spell_rows, Pick, Spell, NO_SPELL};
use crate::reference::Reference;

/// A job lasting this many days or more is stable, whatever its contract.
const STABLE_DAYS: i32 = 181;
/// Contracts that are stable whatever their length.
const STABLE_CONTRACTS: [&str; 2] = ["TI", "APPR"];

const ORIGIN: &str = "__origin";

/// A person without an origin, in a day per person: below every date, so
/// that the latest end is the greatest; a sentinel rather than an `Option`,
/// which would double the array's bytes.
const NO_ORIGIN: i32 = i32::MIN;

/// Each person's origin day beside their job centre and province.
fn origins(extract: &Extract, reference: &Reference, plan: &OutcomesPlan) -> Result<DataFrame> {
    let layout = extract.analysed_layout()?;
    let spells = extract.frame(FileKind::Spells)?;
    let persons = extract.frame(FileKind::Persons)?.height();
    let period = plan.base.period;
    match plan.origin {
        Origin::Did => Ok(cohort_spells(spells, persons, period, layout.spells_by_person)?
            .lazy()
            .with_column(col(REF_DID).alias(ORIGIN))
            .collect()?),
        Origin::EndOfMeasure => {
            let ends = counted_activities(
                extract.frame(FileKind::Activities)?.clone().lazy(),
                reference,
                &plan.base.selection,
            )
            .select([col("id_lav"), col("data_fine")])
            .filter(
                col("data_fine")
                    .gt_eq(crate::engine::date_lit(period.from))
                    .and(col("data_fine").lt_eq(crate::engine::date_lit(period.to))),
            )
            .collect()?;
            // Each person's latest end, by position: no grouping or join.
            let mut origin: Vec<i32> = vec![NO_ORIGIN; persons];
            let ids = ends.column("id_lav")?.idx()?;
            let days = ends.column("data_fine")?.date()?.physical();
            for (id, day) in ids.into_no_null_iter().zip(days.into_no_null_iter()) {
                let latest = &mut origin[id as usize];
                *latest = (*latest).max(day);
            }
            let spell = latest_spell_before(spells, &origin, layout.spells_by_person)?;
            let with_origin: Vec<u32> = (0..persons as u32)
                .filter(|p| origin[*p as usize] != NO_ORIGIN)
                .collect();
            let rows: IdxCa = with_origin
                .iter()
                .map(|p| Some(spell[*p as usize]).filter(|row| *row != NO_SPELL))
                .collect();
            let mut frame = DataFrame::new_infer_height(vec![
                IdxCa::from_vec("id_lav".into(), with_origin.clone()).into_column(),
                Int32Chunked::from_iter_values(ORIGIN.into(), with_origin.iter().map(|p| origin[*p as usize]))
                    .into_date()
                    .into_column(),
            ])?;
            for column in ["cpi", "prov_cpi"].iter().filter(|c| spells.column(c).is_ok()) {
                frame.with_column(spells.column(column)?.take(&rows)?)?;
            }
            Ok(frame)
        }
    }
}

/// The row of each person's latest spell starting on or before their
/// origin, open or closed (ties: the greatest id_did); [`NO_SPELL`] for
/// persons without an origin or such a spell.
fn latest_spell_before(spells: &DataFrame, origin: &[i32], in_order: bool) -> Result<Vec<IdxSize>> {
    let followed = PersonSet::of(
        origin.len(),
        (0..origin.len() as u32).filter(|p| origin[*p as usize] != NO_ORIGIN),
    );
    let before_origin = |s: &Spell| followed.contains(s.person) && s.start <= origin[s.person as usize];
    reference_spell_rows(spells, origin.len(), Pick::Latest, in_order, before_origin)
}

/// Each person's hirings of the counted contracts, person by person.
struct Hirings {
    /// Hirings of person p are `starts[ends_at[p - 1]..ends_at[p]]` (from 0
    /// for the first person). A position each, 4 bytes: this is the one
    /// array of the command as long as the persons.
    ends_at: Vec<u32>,
    starts: Vec<i32>,
    ends: Vec<Option<i32>>,
    stable: Vec<bool>,
}

impl Hirings {
    fn of(extract: &Extract, plan: &OutcomesPlan, as_of: i32, followed: &PersonSet) -> Result<Hirings> {
        let frame = extract.hirings("outcomes")?;
        let persons = extract.frame(FileKind::Persons)?.height();
        let ids = frame.column("id_lav")?.idx()?;
        let starts = frame.column("data_avviamento")?.date()?.physical();
        let ends = frame.column("data_cessazione")?.date()?.physical();
        let contracts = frame.column("tipo_contratto")?.u32()?;
        let stable_contracts: Vec<usize> = STABLE_CONTRACTS
            .iter()
            .filter_map(|c| CONTRACTS.iter().position(|x| x == c))
            .collect();
        let mut counted = [false; CONTRACTS.len()];
        for c in &plan.contracts {
            counted[*c] = true;
        }
        // Person by person without a sort: count each person's hirings,
        // sum the counts into where each person's hirings start, and put
        // each hiring in its person's next slot; the slots then end where
        // the next person's start.
        let mut ends_at = vec![0u32; persons];
        for (id, contract) in ids.into_no_null_iter().zip(contracts.into_no_null_iter()) {
            if counted[contract as usize] && followed.contains(id) {
                ends_at[id as usize] += 1;
            }
        }
        let mut total = 0u32;
        for slot in ends_at.iter_mut() {
            let count = *slot;
            *slot = total;
            total += count;
        }
        let total = total as usize;
        let (mut hired, mut ended, mut stable) = (vec![0; total], vec![None; total], vec![false; total]);
        for (((id, start), end), contract) in ids
            .into_no_null_iter()
            .zip(starts.into_no_null_iter())
            .zip(ends.iter())
            .zip(contracts.into_no_null_iter())
        {
            if !counted[contract as usize] || !followed.contains(id) {
                continue;
            }
            let slot = &mut ends_at[id as usize];
            let at = *slot as usize;
            hired[at] = start;
            ended[at] = end;
            let lasting = end.unwrap_or(as_of) - start + 1 >= STABLE_DAYS;
            stable[at] = lasting || stable_contracts.contains(&(contract as usize));
            *slot += 1;
        }
        Ok(Hirings {
            ends_at,
            starts: hired,
            ends: ended,
            stable,
        })
    }

    fn of_person(&self, person: u32) -> std::ops::Range<usize> {
        let start = match person {
            0 => 0,
            p => self.ends_at[p as usize - 1],
        };
        start as usize..self.ends_at[person as usize] as usize
    }
}

/// Every person with an origin, their breakdown columns, and per horizon
/// h whether they are followed that long, reached the outcome, and were
/// already at work at the origin.
pub(super) fn followed(extract: &Extract, reference: &Reference, plan: &OutcomesPlan) -> Result<LazyFrame> {
    let as_of = epoch_days(extract.as_of);
    let mut origins = origins(extract, reference, plan)?;
    let ids: Vec<u32> = origins.column("id_lav")?.idx()?.into_no_null_iter().collect();
    let persons = extract.frame(FileKind::Persons)?.height();
    let hirings = Hirings::of(extract, plan, as_of, &PersonSet::of(persons, ids.iter().copied()))?;
    let days: Vec<i32> = origins.column(ORIGIN)?.date()?.physical().into_no_null_iter().collect();
    let mut columns: Vec<Vec<u32>> = vec![Vec::with_capacity(ids.len()); 3 * plan.days.len()];
    for (id, origin) in ids.iter().zip(&days) {
        let jobs = hirings.of_person(*id);
        let at_work = jobs
            .clone()
            .any(|j| hirings.starts[j] <= *origin && hirings.ends[j].is_none_or(|end| end >= *origin));
        for (h, horizon) in plan.days.iter().enumerate() {
            let day = origin + horizon;
            let observable = day <= as_of;
            let after = |j: &usize| hirings.starts[*j] > *origin && hirings.starts[*j] <= day;
            let reached = observable
                && match plan.outcome {
                    Outcome::Occupati => jobs
                        .clone()
                        .filter(after)
                        .any(|j| hirings.ends[j].is_none_or(|e| e >= day)),
                    Outcome::Assunti => jobs.clone().any(|j| after(&j)),
                    Outcome::Stabili => jobs.clone().filter(after).any(|j| hirings.stable[j]),
                };
            columns[3 * h].push(u32::from(observable));
            columns[3 * h + 1].push(u32::from(reached));
            columns[3 * h + 2].push(u32::from(observable && at_work));
        }
    }
    for (h, _) in plan.days.iter().enumerate() {
        for (name, values) in [
            (observed(h), &columns[3 * h]),
            (reached(h), &columns[3 * h + 1]),
            (working(h), &columns[3 * h + 2]),
        ] {
            origins.with_column(Column::new(name.into(), values.clone()))?;
        }
    }
    Ok(gathered_persons(origins, extract.frame(FileKind::Persons)?)?.lazy())
}
