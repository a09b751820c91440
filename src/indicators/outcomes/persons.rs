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
use crate::extract::Extract;
use crate::indicators::population::{cohort_spells, counted_activities, gathered_persons, REF_DID};
use crate::reference::Reference;

/// A job lasting this many days or more is stable, whatever its contract.
const STABLE_DAYS: i32 = 181;
/// Contracts that are stable whatever their length.
const STABLE_CONTRACTS: [&str; 2] = ["TI", "APPR"];

const ORIGIN: &str = "__origin";

/// Each person's origin day beside their job centre and province.
fn origins(extract: &Extract, reference: &Reference, plan: &OutcomesPlan) -> Result<DataFrame> {
    let layout = extract.analysed_layout()?;
    let spells = extract.frame(FileKind::Spells)?;
    let persons = extract.frame(FileKind::Persons)?.height();
    let period = plan.base.period;
    match plan.origin {
        Origin::Did => Ok(
            cohort_spells(spells.clone().lazy(), spells, period, layout.spells_by_person)
                .with_column(col(REF_DID).alias(ORIGIN))
                .collect()?,
        ),
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
            let mut origin: Vec<Option<i32>> = vec![None; persons];
            let ids = ends.column("id_lav")?.idx()?;
            let days = ends.column("data_fine")?.date()?.physical();
            for (id, day) in ids.into_no_null_iter().zip(days.into_no_null_iter()) {
                let latest = &mut origin[id as usize];
                *latest = Some(latest.map_or(day, |d| d.max(day)));
            }
            let spell = latest_spell_before(spells, &origin, layout.spells_by_person)?;
            let with_origin: Vec<u32> = (0..persons as u32).filter(|p| origin[*p as usize].is_some()).collect();
            let rows: IdxCa = with_origin.iter().map(|p| spell[*p as usize]).collect();
            let mut frame = DataFrame::new_infer_height(vec![
                IdxCa::from_vec("id_lav".into(), with_origin.clone()).into_column(),
                Int32Chunked::from_iter_values(
                    ORIGIN.into(),
                    with_origin
                        .iter()
                        .map(|p| origin[*p as usize].expect("a person with an origin")),
                )
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
/// origin, open or closed (ties: the greatest id_did; spells that come in
/// that order, as the cache keeps them, give it as the later row); none
/// for persons without an origin or such a spell.
fn latest_spell_before(spells: &DataFrame, origin: &[Option<i32>], in_order: bool) -> Result<Vec<Option<IdxSize>>> {
    let followed = PersonSet::of(
        origin.len(),
        (0..origin.len() as u32).filter(|p| origin[*p as usize].is_some()),
    );
    let ids = spells.column("id_lav")?.idx()?;
    let starts = spells.column("data_did")?.date()?.physical();
    let spell_ids = if in_order {
        None
    } else {
        Some(spells.column("id_did")?.str()?)
    };
    let mut best: Vec<Option<IdxSize>> = vec![None; origin.len()];
    for (row, (id, start)) in ids.into_no_null_iter().zip(starts.into_no_null_iter()).enumerate() {
        if !followed.contains(id) {
            continue;
        }
        let Some(day) = origin[id as usize] else { continue };
        if start > day {
            continue;
        }
        let row = row as IdxSize;
        let later = match best[id as usize] {
            None => true,
            Some(kept) => {
                let kept_start = starts.get(kept as usize).expect("a kept row");
                match (start.cmp(&kept_start), spell_ids) {
                    (std::cmp::Ordering::Equal, Some(names)) => {
                        names.get(row as usize).unwrap_or("").as_bytes()
                            > names.get(kept as usize).unwrap_or("").as_bytes()
                    }
                    (order, _) => order.is_ge(),
                }
            }
        };
        if later {
            best[id as usize] = Some(row);
        }
    }
    Ok(best)
}

/// A set of persons by position, a bit each: small enough to stay in the
/// processor's caches where a value per person would not, so that the
/// rows of the persons outside it are passed over cheaply, whatever their
/// order.
struct PersonSet {
    bits: Vec<u64>,
}

impl PersonSet {
    fn of(persons: usize, members: impl Iterator<Item = u32>) -> PersonSet {
        let mut bits = vec![0u64; persons.div_ceil(64)];
        for p in members {
            bits[p as usize / 64] |= 1 << (p % 64);
        }
        PersonSet { bits }
    }

    fn contains(&self, person: u32) -> bool {
        self.bits[person as usize / 64] & (1 << (person % 64)) != 0
    }
}

/// Each person's hirings of the counted contracts, person by person.
struct Hirings {
    /// Hirings of person p are `starts[offsets[p]..offsets[p + 1]]`.
    offsets: Vec<usize>,
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
        // then put each in its person's slot.
        let mut offsets = vec![0usize; persons + 1];
        for (id, contract) in ids.into_no_null_iter().zip(contracts.into_no_null_iter()) {
            if counted[contract as usize] && followed.contains(id) {
                offsets[id as usize + 1] += 1;
            }
        }
        for p in 0..persons {
            offsets[p + 1] += offsets[p];
        }
        let total = offsets[persons];
        let (mut hired, mut ended, mut stable) = (vec![0; total], vec![None; total], vec![false; total]);
        let mut next = offsets.clone();
        for (((id, start), end), contract) in ids
            .into_no_null_iter()
            .zip(starts.into_no_null_iter())
            .zip(ends.iter())
            .zip(contracts.into_no_null_iter())
        {
            if !counted[contract as usize] || !followed.contains(id) {
                continue;
            }
            let slot = &mut next[id as usize];
            hired[*slot] = start;
            ended[*slot] = end;
            let lasting = end.unwrap_or(as_of) - start + 1 >= STABLE_DAYS;
            stable[*slot] = lasting || stable_contracts.contains(&(contract as usize));
            *slot += 1;
        }
        Ok(Hirings {
            offsets,
            starts: hired,
            ends: ended,
            stable,
        })
    }

    fn of_person(&self, person: u32) -> std::ops::Range<usize> {
        self.offsets[person as usize]..self.offsets[person as usize + 1]
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
    gathered_persons(origins.lazy(), extract.frame(FileKind::Persons)?)
}
