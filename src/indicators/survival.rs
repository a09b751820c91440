//! Time from the DID to a first service, measure, activity or hiring
//! (`docs/contracts/outcomes.md`, "Time to first activity"): each cohort
//! member's follow-up from their reference spell, Kaplan–Meier (or
//! Aalen–Johansen) per cell, protected as a set of count tables, one pair
//! per day shown (events, and persons still followed).

use std::collections::HashMap;

use anyhow::{bail, Result};
use polars::prelude::*;

use super::cells::count_cells;
use super::plan::{RatesPlan, Selection};
use super::population::{cohort_spells, counted_activities, gathered_persons, REF_DID, REF_END};
use crate::disclosure::recode::{pool_tiny_unknown, Recoding};
use crate::disclosure::{protect_set, Protection, Scope, ScopedTable, Threshold};
use crate::engine::epoch_days;
use crate::extract::schema::FileKind;
use crate::extract::Extract;
use crate::reference::Reference;
use crate::stats::survival::{cumulative_incidence, log_rank, Curve, Day, FollowUp, Interval, LogRank};
use crate::table::{
    interval_columns, key_columns, key_values, CellStatus, Codebook, Dimension, Grid, Lang, Row, Table, Value,
    RELIABLE_POPULATION, TOTAL,
};

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
    /// by `--lmp`, `--attivita`, `--programma`.
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
            bail!("survival follows persons: {dim} is a breakdown of activities; select them with --programma or --lmp instead");
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
fn follow_ups(extract: &Extract, reference: &Reference, plan: &SurvivalPlan) -> Result<LazyFrame> {
    let layout = extract.analysed_layout()?;
    let persons = extract.frame(FileKind::Persons)?;
    let spells = extract.frame(FileKind::Spells)?;
    let mut cohort =
        cohort_spells(spells.clone().lazy(), spells, plan.base.period, layout.spells_by_person).collect()?;
    let ids: Vec<u32> = cohort.column("id_lav")?.idx()?.into_no_null_iter().collect();
    let starts: Vec<i32> = cohort.column(REF_DID)?.date()?.physical().into_no_null_iter().collect();
    let ends: Vec<Option<i32>> = cohort.column(REF_END)?.date()?.physical().iter().collect();
    let mut origin = vec![None; persons.height()];
    for (id, start) in ids.iter().zip(&starts) {
        origin[*id as usize] = Some(*start);
    }
    let events = match plan.event {
        Event::Assunzione => extract
            .frame(FileKind::Hirings)?
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
    Ok(gathered_persons(cohort.lazy(), persons)?.with_column(lit(1u32).alias(PERSONS)))
}

/// The survival table of a plan, protected on its own.
pub fn compute(extract: &Extract, reference: &Reference, plan: &SurvivalPlan) -> Result<(SurvivalTable, Protection)> {
    let mut table = prepare(extract, reference, plan)?;
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
pub fn prepare(extract: &Extract, reference: &Reference, plan: &SurvivalPlan) -> Result<SurvivalTable> {
    plan.check()?;
    let persons = follow_ups(extract, reference, plan)?;
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

impl SurvivalTable {
    /// The count tables the rows publish, one pair per day: events by
    /// that day, and persons still followed on it, each out of the cell's
    /// persons.
    pub fn count_tables(&self) -> Vec<ScopedTable> {
        let plan = &self.plan;
        let mut tables = Vec::with_capacity(2 * plan.days.len());
        for day in &plan.days {
            for (what, count) in [
                (
                    "eventi",
                    &(|f: &FollowUp| f.events_by(*day)) as &dyn Fn(&FollowUp) -> u64,
                ),
                ("a_rischio", &|f: &FollowUp| f.at_risk(*day)),
            ] {
                let rows = self
                    .cells
                    .iter()
                    .map(|cell| Row {
                        keys: cell.keys.clone(),
                        population: cell.follow_up.persons(),
                        beneficiaries: count(&cell.follow_up),
                        status: CellStatus::Publishable,
                    })
                    .collect();
                tables.push(ScopedTable {
                    name: format!("{what} {day}"),
                    scope: plan.scope(what, *day),
                    table: Table {
                        dims: plan.base.dims.clone(),
                        rows,
                        confidence: plan.base.confidence,
                        margins_shown: plan.base.margins,
                    },
                });
            }
        }
        tables
    }

    /// Pools the unknown citizenship as protection would in any one of the
    /// count tables, in every cell alike, so that all days show the same cells.
    fn pool_as_protection_would(&mut self, threshold: Threshold) -> Option<Recoding> {
        let recoding = self
            .count_tables()
            .into_iter()
            .find_map(|mut scoped| pool_tiny_unknown(&mut scoped.table, threshold))?;
        let d = self
            .plan
            .base
            .dims
            .iter()
            .position(|dim| dim.name() == recoding.breakdown)
            .expect("the pooled breakdown is one of the table's");
        let mut merged: Vec<SurvivalCell> = Vec::with_capacity(self.cells.len());
        for mut cell in self.cells.drain(..) {
            if recoding.from.contains(&cell.keys[d].as_str()) {
                cell.keys[d] = recoding.into.to_string();
            }
            match merged.iter_mut().find(|m| m.keys == cell.keys) {
                Some(into) => {
                    let mut days = std::mem::take(&mut into.follow_up.days);
                    days.extend(cell.follow_up.days);
                    into.follow_up = FollowUp::from_days(days);
                }
                None => merged.push(cell),
            }
        }
        self.cells = merged;
        Some(recoding)
    }

    /// What each count column of each day counts (for manifests and `audit`).
    pub fn scopes_by_day(&self) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, Scope>> {
        self.plan
            .days
            .iter()
            .map(|day| {
                (
                    day.to_string(),
                    ["eventi", "a_rischio"]
                        .into_iter()
                        .map(|what| (what.to_string(), self.plan.scope(what, *day)))
                        .collect(),
                )
            })
            .collect()
    }

    fn threshold(&self) -> Result<Threshold> {
        match self.plan.base.threshold {
            Some(threshold) => Ok(threshold),
            None => bail!("a survival table is published: it needs a disclosure threshold"),
        }
    }

    /// Takes the statuses protection gave the count tables (in the order
    /// [`SurvivalTable::count_tables`] made them): a row is hidden when
    /// any of its counts is, when fewer than the threshold are still
    /// followed, and at every later day once hidden (a curve is not shown
    /// past it). Then tests the groups where every row is shown.
    pub fn apply(&mut self, protected: &[ScopedTable], reference: &Reference) -> Result<()> {
        let threshold = self.threshold()?;
        let index: HashMap<Vec<String>, usize> = self
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.keys.clone(), i))
            .collect();
        // The tables come in pairs, day by day, as `count_tables` built them.
        for (day, pair) in protected.chunks(2).enumerate() {
            for scoped in pair {
                for row in scoped.table.rows.iter().filter(|r| r.status.is_suppressed()) {
                    let Some(&cell) = index.get(&row.keys) else {
                        bail!("protection changed the cells of {}", scoped.name);
                    };
                    let status = &mut self.cells[cell].status[day];
                    if !status.is_suppressed() {
                        *status = row.status;
                    }
                }
            }
        }
        for cell in &mut self.cells {
            let mut hidden = false;
            for (i, day) in self.plan.days.iter().enumerate() {
                if hidden {
                    if !cell.status[i].is_suppressed() {
                        cell.status[i] = CellStatus::Secondary;
                    }
                } else if cell.follow_up.at_risk(*day) < threshold.value() {
                    cell.status[i] = CellStatus::Primary;
                }
                hidden |= cell.status[i].is_suppressed();
            }
        }
        sort_cells(
            &mut self.cells,
            &self.plan.base.dims,
            &Codebook::new(reference, Lang::It),
        );
        self.test_groups();
        Ok(())
    }

    /// The log-rank test across the compared breakdown's groups, within
    /// each stratum of the others, published where every cell of the
    /// stratum shows its first day: a test of whole curves, it is not
    /// held back by the tail of one (which every curve of a cohort hides
    /// once few are still followed).
    fn test_groups(&mut self) {
        let dims = &self.plan.base.dims;
        let Some(c) = dims.iter().position(|d| *d == self.plan.compare) else {
            return;
        };
        let inner = |cell: &SurvivalCell| !cell.keys.iter().any(|k| k == TOTAL);
        let mut groups: Vec<String> = self
            .cells
            .iter()
            .filter(|c| inner(c))
            .map(|cell| cell.keys[c].clone())
            .collect();
        groups.sort();
        groups.dedup();
        let stratum_of = |keys: &[String]| -> Vec<String> {
            keys.iter()
                .enumerate()
                .filter(|(i, _)| *i != c)
                .map(|(_, k)| k.clone())
                .collect()
        };
        let mut strata: Vec<Vec<String>> = self
            .cells
            .iter()
            .filter(|c| inner(c))
            .map(|c| stratum_of(&c.keys))
            .collect();
        strata.sort();
        strata.dedup();
        let mut tests: HashMap<Vec<String>, LogRank> = HashMap::new();
        for stratum in &strata {
            let members: Vec<&SurvivalCell> = self
                .cells
                .iter()
                .filter(|cell| inner(cell) && stratum_of(&cell.keys) == *stratum)
                .collect();
            if members
                .iter()
                .any(|m| m.status.first().is_none_or(|s| s.is_suppressed()))
            {
                continue;
            }
            let follow_ups: Vec<FollowUp> = groups
                .iter()
                .map(|g| {
                    members
                        .iter()
                        .find(|m| m.keys[c] == *g)
                        .map(|m| m.follow_up.clone())
                        .unwrap_or_default()
                })
                .collect();
            if let Some(test) = log_rank(&[follow_ups]) {
                tests.insert(stratum.clone(), test);
            }
        }
        for cell in self.cells.iter_mut().filter(|c| inner(c)) {
            cell.log_rank = tests.get(&stratum_of(&cell.keys)).copied();
        }
    }

    /// The grid every renderer draws: a row per cell and day.
    pub fn grid(&self, codebook: &Codebook) -> Result<Grid> {
        let plan = &self.plan;
        let z = crate::stats::critical_value(plan.base.confidence)?;
        let (low, high) = interval_columns("ic", plan.base.confidence);
        let mut columns = key_columns(&plan.base.dims);
        columns.extend(
            [
                "giorni",
                "popolazione",
                "a_rischio",
                "eventi",
                "quota",
                &low,
                &high,
                "mediana_giorni",
                "affidabile",
                "stato_cella",
                "logrank_chi2",
                "logrank_gdl",
                "logrank_p",
            ]
            .map(String::from),
        );
        let mut rows = Vec::new();
        for cell in &self.cells {
            if !plan.base.margins && cell.keys.iter().any(|k| k == TOTAL) {
                continue;
            }
            let curve = Curve::kaplan_meier(&cell.follow_up);
            let median = cell.shown_median(plan);
            for (day, status) in plan.days.iter().zip(&cell.status) {
                let mut values = key_values(&plan.base.dims, &cell.keys, codebook);
                values.push(Value::Code(day.to_string()));
                if status.is_suppressed() {
                    values.extend(std::iter::repeat_n(Value::Missing, 8));
                } else {
                    let at_risk = cell.follow_up.at_risk(*day);
                    values.push(Value::Count(cell.follow_up.persons()));
                    values.push(Value::Count(at_risk));
                    values.push(Value::Count(cell.follow_up.events_by(*day)));
                    if plan.competing {
                        values.push(Value::Proportion(cumulative_incidence(&cell.follow_up, *day)));
                        values.extend([Value::Missing, Value::Missing]);
                    } else {
                        let point = curve.at(*day);
                        values.push(Value::Proportion(1.0 - point.survival));
                        match point.bounds(z, plan.interval) {
                            Some((s_low, s_high)) => {
                                values.push(Value::Proportion(1.0 - s_high));
                                values.push(Value::Proportion(1.0 - s_low));
                            }
                            None => values.extend([Value::Missing, Value::Missing]),
                        }
                    }
                    values.push(median.map_or(Value::Missing, Value::Number));
                    values.push(Value::Flag(at_risk >= RELIABLE_POPULATION));
                }
                values.push(Value::Code(status.code().to_string()));
                match (&cell.log_rank, status.is_suppressed()) {
                    (Some(test), false) => values.extend([
                        Value::Number(test.chi_square),
                        Value::Count(test.degrees_of_freedom as u64),
                        Value::Number(test.p_value),
                    ]),
                    _ => values.extend([Value::Missing, Value::Missing, Value::Missing]),
                }
                rows.push(values);
            }
        }
        Ok(Grid { columns, rows })
    }
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
