//! Time from the DID to a first service, measure, activity or hiring
//! (`docs/contracts/outcomes.md`, "Time to first activity"): each cohort
//! member's follow-up from their reference spell, Kaplan–Meier (or
//! Aalen–Johansen) per cell, protected as a set of count tables, one pair
//! per day shown (events, and persons still followed).

use std::collections::HashMap;

use anyhow::{bail, Result};
use polars::prelude::*;

mod grid;
mod protection;

use super::cells::count_cells;
use super::plan::{RatesPlan, Selection};
use super::population::{counted_activities, Kind, Memo, REF_DID, REF_END};
use crate::disclosure::recode::Recoding;
use crate::disclosure::{protect_set, Protection, Scope};
use crate::engine::epoch_days;
use crate::extract::schema::FileKind;
use crate::extract::Extract;
use crate::reference::Reference;
use crate::stats::survival::{Curve, Day, FollowUp, Interval, LogRank};
use crate::table::{CellStatus, Codebook, Dimension, Lang};

/// What ends the wait (`--event`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// A counted activity of LMP category 1 (services).
    Servizio,
    /// A counted activity of LMP categories 2-7 (measures).
    Misura,
    /// A counted activity of any category 1-7.
    Attivita,
    /// A hiring (data_avviamento in avviamenti.csv).
    Assunzione,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::Servizio => "servizio",
            Event::Misura => "misura",
            Event::Attivita => "attivita",
            Event::Assunzione => "assunzione",
        }
    }

    fn categories(self) -> Vec<u8> {
        match self {
            Event::Servizio => vec![1],
            Event::Misura => (2..=7).collect(),
            Event::Attivita | Event::Assunzione => (1..=7).collect(),
        }
    }

    /// The activities that end the wait: the event's categories, narrowed
    /// by `--lmp`, `--attivita`, `--programma`, `--ente`.
    pub fn selection(self, lmp: Option<&[u8]>, narrowed: Selection) -> Result<Selection> {
        let mut categories = self.categories();
        if let Some(lmp) = lmp {
            categories.retain(|c| lmp.contains(c));
            if categories.is_empty() {
                bail!(
                    "--lmp {}: none of these categories is a {} (give categories of the event, or another --event)",
                    lmp.iter().map(u8::to_string).collect::<Vec<_>>().join(","),
                    self.name()
                );
            }
        }
        Ok(Selection { categories, ..narrowed })
    }
}

/// Everything `survival` needs to know, validated.
#[derive(Debug, Clone)]
pub struct SurvivalPlan {
    /// Period, cohort, breakdowns, confidence and threshold; its selection
    /// is the activities that end the wait.
    pub base: RatesPlan,
    pub event: Event,
    /// Days at which the curve is published, ascending.
    pub days: Vec<i32>,
    pub interval: Interval,
    /// The DID's closure is a competing event, not a censoring.
    pub competing: bool,
    /// The breakdown the log-rank test compares, when it is in `--by`.
    pub compare: Dimension,
}

const TIME: &str = "__time";
const STATUS: &str = "__status";
const PERSONS: &str = "__persons";
const EVENT: u32 = 1;
const COMPETING: u32 = 2;
const CENSORED: u32 = 0;

impl SurvivalPlan {
    pub fn check(&self) -> Result<()> {
        self.base.check()?;
        if let Some(dim) = self.base.dims.iter().find(|d| d.is_beneficiary_side()) {
            bail!("survival follows persons: {dim} is a breakdown of activities; select them with --programma, --ente or --lmp instead");
        }
        if self.days.is_empty() || self.days.iter().any(|d| *d < 0) {
            bail!("--days: give one or more days from 0 up, e.g. 30,90,180,365");
        }
        Ok(())
    }

    /// The persons each cell counts: the cohort, as a cohort `rates` table
    /// counts it; every day's tables share them.
    fn universe(&self) -> String {
        super::plan::cohort_universe(&self.base.period.from.to_string(), &self.base.period.to.to_string())
    }

    fn scope(&self, what: &str, day: i32) -> Scope {
        let competing = if self.competing { " concorrente" } else { "" };
        Scope {
            universe: self.universe(),
            activities: format!(
                "{what} {day} primo {}{competing} {}",
                self.event.name(),
                self.base.selection.describe()
            ),
        }
    }
}

/// One cell's follow-up and what is published of it at each day.
pub struct SurvivalCell {
    pub keys: Vec<String>,
    pub follow_up: FollowUp,
    /// Per day of the plan: whether the row may be shown.
    pub status: Vec<CellStatus>,
    pub log_rank: Option<LogRank>,
}

impl SurvivalCell {
    /// The median time, where it may be shown: it is a day of the curve,
    /// so only where the published curve reaches it, and not under
    /// `--competing`.
    pub fn shown_median(&self, plan: &SurvivalPlan) -> Option<f64> {
        let last_shown = plan
            .days
            .iter()
            .zip(&self.status)
            .rfind(|(_, s)| !s.is_suppressed())
            .map(|(d, _)| *d);
        Curve::kaplan_meier(&self.follow_up)
            .median()
            .filter(|m| !plan.competing && last_shown.is_some_and(|d| *m <= f64::from(d)))
    }
}

pub struct SurvivalTable {
    pub plan: SurvivalPlan,
    pub cells: Vec<SurvivalCell>,
    /// The unknown citizenship pooled with the non-EU group, in every day alike.
    pub pooled: Option<Recoding>,
}

/// Every cohort member's follow-up: the persons' columns beside their
/// reference spell, with the day their follow-up ends ([`TIME`], from the
/// DID) and how ([`STATUS`]).
fn follow_ups(extract: &Extract, reference: &Reference, plan: &SurvivalPlan, memo: &Memo) -> Result<LazyFrame> {
    let persons = extract.frame(FileKind::Persons)?;
    let mut cohort = memo.reference_persons(extract, plan.base.period, Kind::Cohort)?;
    let ids: Vec<u32> = cohort.column("id_lav")?.idx()?.into_no_null_iter().collect();
    let starts: Vec<i32> = cohort.column(REF_DID)?.date()?.physical().into_no_null_iter().collect();
    let ends: Vec<Option<i32>> = cohort.column(REF_END)?.date()?.physical().iter().collect();
    let mut origin = vec![None; persons.height()];
    for (id, start) in ids.iter().zip(&starts) {
        origin[*id as usize] = Some(*start);
    }
    let events = match plan.event {
        Event::Assunzione => extract
            .hirings("survival --event assunzione")?
            .select(["id_lav", "data_avviamento"])?,
        _ => counted_activities(
            extract.frame(FileKind::Activities)?.clone().lazy(),
            reference,
            &plan.base.selection,
        )
        .select([col("id_lav"), col("data_inizio")])
        .collect()?,
    };
    let mut first = vec![i32::MAX; persons.height()];
    let event_persons = events.columns()[0].idx()?;
    let event_days = events.columns()[1].date()?.physical();
    for (id, day) in event_persons.into_no_null_iter().zip(event_days.iter()) {
        let (Some(day), Some(start)) = (day, origin[id as usize]) else {
            continue;
        };
        let earliest = &mut first[id as usize];
        if day >= start && day < *earliest {
            *earliest = day;
        }
    }
    let as_of = epoch_days(extract.as_of);
    let mut times = Vec::with_capacity(ids.len());
    let mut statuses = Vec::with_capacity(ids.len());
    for ((id, start), end) in ids.iter().zip(&starts).zip(&ends) {
        let followed_to = end.unwrap_or(as_of).min(as_of);
        let event = first[*id as usize];
        let (day, status) = if event <= followed_to {
            (event, EVENT)
        } else if plan.competing && end.is_some() {
            (followed_to, COMPETING)
        } else {
            (followed_to, CENSORED)
        };
        times.push(day - start);
        statuses.push(status);
    }
    cohort.with_column(Column::new(TIME.into(), times))?;
    cohort.with_column(Column::new(STATUS.into(), statuses))?;
    Ok(cohort.lazy().with_column(lit(1u32).alias(PERSONS)))
}

/// The survival table of a plan, protected on its own.
pub fn compute(extract: &Extract, reference: &Reference, plan: &SurvivalPlan) -> Result<(SurvivalTable, Protection)> {
    let mut table = prepare(extract, reference, plan, &Memo::default())?;
    let mut counts = table.count_tables();
    let mut protection = protect_set(&mut counts, reference, table.threshold()?)?;
    if let Some(recoding) = table.pooled.clone() {
        protection.recodings.insert(0, ("survival".to_string(), recoding));
    }
    table.apply(&counts, reference)?;
    Ok((table, protection))
}

/// The survival table of a plan before protection: its count tables
/// ([`SurvivalTable::count_tables`]) are to be protected, alone or with
/// everything published beside them, and given back to
/// [`SurvivalTable::apply`].
pub fn prepare(extract: &Extract, reference: &Reference, plan: &SurvivalPlan, memo: &Memo) -> Result<SurvivalTable> {
    plan.check()?;
    let persons = follow_ups(extract, reference, plan, memo)?;
    let margins = !plan.base.dims.is_empty();
    let counts = count_cells(persons, reference, &plan.base, &[TIME, STATUS], &[PERSONS], margins)?;
    let times = counts.days(TIME)?;
    let statuses = counts.counts(STATUS)?;
    let numbers = counts.counts(PERSONS)?;
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    let mut cells: Vec<(Vec<String>, Vec<Day>)> = Vec::new();
    for i in 0..counts.height() {
        let keys = counts.keys(&plan.base.dims, i)?;
        let cell = *index.entry(keys.clone()).or_insert_with(|| {
            cells.push((keys, Vec::new()));
            cells.len() - 1
        });
        let n = numbers[i];
        let status = statuses[i] as u32;
        cells[cell].1.push(Day {
            time: times[i],
            events: if status == EVENT { n } else { 0 },
            competing: if status == COMPETING { n } else { 0 },
            censored: if status == CENSORED { n } else { 0 },
        });
    }
    let cells: Vec<SurvivalCell> = cells
        .into_iter()
        .map(|(keys, days)| SurvivalCell {
            keys,
            follow_up: FollowUp::from_days(days),
            status: vec![CellStatus::Publishable; plan.days.len()],
            log_rank: None,
        })
        .collect();
    let mut table = SurvivalTable {
        plan: plan.clone(),
        cells,
        pooled: None,
    };
    table.pooled = table.pool_as_protection_would(table.threshold()?);
    sort_cells(&mut table.cells, &plan.base.dims, &Codebook::new(reference, Lang::It));
    Ok(table)
}

fn sort_cells(cells: &mut [SurvivalCell], dims: &[Dimension], codebook: &Codebook) {
    cells.sort_by(|a, b| {
        dims.iter()
            .enumerate()
            .map(|(i, dim)| codebook.compare(*dim, &a.keys[i], &b.keys[i]))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

#[cfg(test)]
mod tests {
    use super::{Event, SurvivalPlan};
    use crate::indicators::plan::{Period, Population, RatesPlan, Selection, SelectionName};
    use crate::stats::survival::Interval;
    use crate::table::Dimension;

    /// A cohort is one population whatever the window and in `survival`:
    /// protection and the audit must see one population in all of them.
    #[test]
    fn survival_and_every_cohort_window_count_one_population() {
        let period = Period::year(2024).unwrap();
        let cohort = |window, complete_followup| RatesPlan {
            period,
            population: Population::Cohort {
                window,
                complete_followup,
            },
            selection: Selection::named(SelectionName::Misure),
            dims: vec![Dimension::GruppoCittadinanza],
            top: None,
            margins: true,
            confidence: 0.95,
            threshold: None,
        };
        let (short, long) = (cohort(90, false).scope(), cohort(365, false).scope());
        assert_eq!(short.universe, long.universe);
        assert_ne!(short.activities, long.activities);
        assert_ne!(cohort(365, true).scope().universe, long.universe);
        let survival = SurvivalPlan {
            base: cohort(365, false),
            event: Event::Misura,
            days: vec![30],
            interval: Interval::Log,
            competing: false,
            compare: Dimension::GruppoCittadinanza,
        };
        assert_eq!(survival.scope("eventi", 30).universe, long.universe);
    }
}
