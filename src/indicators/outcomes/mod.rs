//! After a measure (`docs/contracts/outcomes.md`, "After a measure"):
//! who is at work, hired or in a stable job some days after the end of
//! their latest measure, or after their DID. At each horizon the persons
//! followed that long are a population, and the outcome and "already at
//! work" are counted among them, so every horizon is a pair of count
//! tables protected like any rates table, and compared with Italians with
//! `gap`'s statistics.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use polars::prelude::*;

mod grid;
mod persons;

use super::cells::{count_cells, CellCounts};
use super::gap::{GapDims, GapTable, Standard};
use super::plan::RatesPlan;
use crate::disclosure::recode::{pool_alike, Recoding};
use crate::disclosure::{protect_set, Protection, Scope, ScopedTable, Threshold};
use crate::extract::schema::CONTRACTS;
use crate::extract::Extract;
use crate::reference::Reference;
use crate::table::{CellStatus, Codebook, Lang, Row, Table};

/// What is counted at each horizon (`--outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// At work on the day, in a job found after the origin.
    Occupati,
    /// Hired at least once after the origin, up to the day.
    Assunti,
    /// Hired after the origin, up to the day, open-ended, as an apprentice, or for 181 days or more.
    Stabili,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Occupati => "occupati",
            Outcome::Assunti => "assunti",
            Outcome::Stabili => "stabili",
        }
    }
}

/// Where each person's follow-up starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The end of the latest counted activity ending in the period.
    EndOfMeasure,
    /// The DID of the cohort's reference spell.
    Did,
}

impl Origin {
    fn name(self) -> &'static str {
        match self {
            Origin::EndOfMeasure => "fine-misura",
            Origin::Did => "did",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OutcomesPlan {
    /// Period, breakdowns, confidence and threshold; its selection is the
    /// activities that make an origin (`fine-misura`).
    pub base: RatesPlan,
    pub origin: Origin,
    pub outcome: Outcome,
    /// Contract types counted, as positions in `CONTRACTS`.
    pub contracts: Vec<usize>,
    /// Horizons in days, ascending.
    pub days: Vec<i32>,
    /// Compare with Italians (`--gap`), standardising on this population.
    pub gap: Option<Standard>,
}

impl OutcomesPlan {
    /// Contract codes (`--contracts`) as positions, or an error naming the bad one.
    pub fn contracts(codes: &[String]) -> Result<Vec<usize>> {
        let mut positions = Vec::new();
        for code in codes {
            let Some(p) = CONTRACTS.iter().position(|c| c.eq_ignore_ascii_case(code.trim())) else {
                bail!("--contracts {code}: use any of {}", CONTRACTS.join(", "));
            };
            positions.push(p);
        }
        positions.sort_unstable();
        positions.dedup();
        Ok(positions)
    }

    pub fn check(&self) -> Result<()> {
        self.base.check()?;
        if let Some(dim) = self.base.dims.iter().find(|d| d.is_beneficiary_side()) {
            bail!("outcomes follow persons: {dim} is a breakdown of activities; select them with --programma, --ente or --lmp instead");
        }
        if self.days.is_empty() || self.days.iter().any(|d| *d < 1) {
            bail!("--days: give one or more horizons of at least one day, e.g. 30,90,180,365");
        }
        if self.contracts.is_empty() {
            bail!("--contracts: give at least one contract type");
        }
        if self.gap.is_some() {
            GapDims::of(&self.base.dims)?;
        }
        Ok(())
    }

    fn universe(&self, day: i32) -> String {
        let origin = match self.origin {
            Origin::EndOfMeasure => format!("{} {}", self.origin.name(), self.base.selection.describe()),
            Origin::Did => self.origin.name().to_string(),
        };
        format!(
            "esiti {origin} {} {} osservabili {day}",
            self.base.period.from, self.base.period.to
        )
    }

    /// What a count of a horizon counts: `what` (the outcome or
    /// `gia_occupati`) among the persons followed `day` days.
    fn scope(&self, what: &str, day: i32) -> Scope {
        Scope {
            universe: self.universe(day),
            activities: format!("{what} {} {day}", self.contract_list()),
        }
    }

    fn contract_list(&self) -> String {
        self.contracts
            .iter()
            .map(|c| CONTRACTS[*c])
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn observed(h: usize) -> String {
    format!("__observed_{h}")
}
fn reached(h: usize) -> String {
    format!("__reached_{h}")
}
fn working(h: usize) -> String {
    format!("__working_{h}")
}

/// One horizon's cells: the outcome and "already at work" among the
/// persons followed that long.
pub struct Horizon {
    pub day: i32,
    pub outcome: Table,
    pub at_work: Table,
    /// Persons with an origin in the period not followed that long.
    pub not_observable: u64,
    /// The gap table, with `--gap`.
    pub gap: Option<GapTable>,
}

pub struct OutcomesTable {
    pub plan: OutcomesPlan,
    pub horizons: Vec<Horizon>,
}

fn counted_names(days: usize) -> Vec<String> {
    (0..days).flat_map(|h| [observed(h), reached(h), working(h)]).collect()
}

/// A horizon's table from the cells' counts: `population` and `counted` columns.
fn horizon_table(counts: &CellCounts, plan: &RatesPlan, population: &str, counted: &str) -> Result<Table> {
    let n = counts.counts(population)?;
    let x = counts.counts(counted)?;
    let rows = (0..counts.height())
        .map(|i| {
            Ok(Row {
                keys: counts.keys(&plan.dims, i)?,
                population: n[i],
                beneficiaries: x[i],
                status: CellStatus::Publishable,
            })
        })
        .collect::<Result<Vec<Row>>>()?
        .into_iter()
        .filter(|row| row.population > 0)
        .collect();
    Ok(Table {
        dims: plan.dims.clone(),
        rows,
        confidence: plan.confidence,
        margins_shown: plan.margins,
    })
}

/// The outcomes table of a plan, protected on its own.
pub fn compute(extract: &Extract, reference: &Reference, plan: &OutcomesPlan) -> Result<(OutcomesTable, Protection)> {
    let mut prepared = prepare(extract, reference, plan)?;
    let threshold = prepared.threshold;
    let mut protection = protect_set(&mut prepared.counts, reference, threshold)?;
    if let Some(recoding) = prepared.pooled.clone() {
        protection
            .recodings
            .insert(0, (plan.outcome.name().to_string(), recoding));
    }
    let counts = std::mem::take(&mut prepared.counts);
    Ok((prepared.finish(counts, reference)?, protection))
}

/// An outcomes table before protection: its count tables (a pair per
/// horizon) are to be protected, alone or with everything published
/// beside them, and given back to [`PreparedOutcomes::finish`].
pub struct PreparedOutcomes {
    plan: OutcomesPlan,
    threshold: Threshold,
    pub counts: Vec<ScopedTable>,
    /// The unknown citizenship pooled with the non-EU group, in every table alike.
    pub pooled: Option<Recoding>,
    fine: Option<(CellCounts, RatesPlan)>,
    /// Per horizon, persons with an origin in the period not followed that long.
    not_observable: Vec<u64>,
}

pub fn prepare(extract: &Extract, reference: &Reference, plan: &OutcomesPlan) -> Result<PreparedOutcomes> {
    plan.check()?;
    let Some(threshold) = plan.base.threshold else {
        bail!("an outcomes table is published: it needs a disclosure threshold");
    };
    let persons = persons::followed(extract, reference, plan)?.collect()?;
    let names = counted_names(plan.days.len());
    let counted: Vec<&str> = names.iter().map(String::as_str).collect();
    let published_plan = plan.published_plan()?;
    let margins = !published_plan.dims.is_empty();
    let counts = count_cells(
        persons.clone().lazy(),
        reference,
        &published_plan,
        &[],
        &counted,
        margins,
    )?;
    let fine = match plan.gap {
        Some(_) => {
            let fine_plan = RatesPlan {
                dims: GapDims::of(&plan.base.dims)?.fine,
                margins: false,
                threshold: None,
                ..plan.base.clone()
            };
            Some((
                count_cells(persons.clone().lazy(), reference, &fine_plan, &[], &counted, false)?,
                fine_plan,
            ))
        }
        None => None,
    };
    let mut scoped = Vec::with_capacity(2 * plan.days.len());
    let mut not_observable = Vec::with_capacity(plan.days.len());
    for (h, day) in plan.days.iter().enumerate() {
        let scope = |what: &str| plan.scope(what, *day);
        scoped.push(ScopedTable {
            name: format!("{} {day}", plan.outcome.name()),
            scope: scope(plan.outcome.name()),
            table: horizon_table(&counts, &published_plan, &observed(h), &reached(h))?,
            hidden_with: vec![scope("gia_occupati")],
        });
        scoped.push(ScopedTable {
            name: format!("gia_occupati {day}"),
            scope: scope("gia_occupati"),
            table: horizon_table(&counts, &published_plan, &observed(h), &working(h))?,
            hidden_with: vec![scope(plan.outcome.name())],
        });
        let observable: u64 = persons
            .column(&observed(h))?
            .u32()?
            .into_no_null_iter()
            .map(u64::from)
            .sum();
        not_observable.push(persons.height() as u64 - observable);
    }
    let codebook = Codebook::new(reference, Lang::It);
    let mut tables: Vec<&mut Table> = scoped.iter_mut().map(|s| &mut s.table).collect();
    let pooled = pool_alike(&mut tables, threshold);
    for table in tables {
        table.sort(&codebook);
    }
    Ok(PreparedOutcomes {
        plan: plan.clone(),
        threshold,
        counts: scoped,
        pooled,
        fine,
        not_observable,
    })
}

impl OutcomesPlan {
    /// The plan of the published cells: with `--gap`, the strata then the
    /// compared breakdown.
    fn published_plan(&self) -> Result<RatesPlan> {
        let dims = match self.gap {
            Some(_) => GapDims::of(&self.base.dims)?.published,
            None => self.base.dims.clone(),
        };
        Ok(RatesPlan {
            dims,
            ..self.base.clone()
        })
    }
}

impl PreparedOutcomes {
    /// The count tables to protect, a pair per horizon.
    pub fn count_tables(&self) -> Vec<ScopedTable> {
        self.counts.clone()
    }

    /// The table from its count tables as protection left them (in the
    /// order of [`PreparedOutcomes::counts`]).
    pub fn finish(self, protected: Vec<ScopedTable>, reference: &Reference) -> Result<OutcomesTable> {
        let plan = self.plan;
        let codebook = Codebook::new(reference, Lang::It);
        let mut horizons = Vec::with_capacity(plan.days.len());
        let mut tables = protected.into_iter();
        for (h, day) in plan.days.iter().enumerate() {
            let mut outcome = tables.next().expect("a pair per horizon").table;
            let mut at_work = tables.next().expect("a pair per horizon").table;
            hide_together(&mut outcome, &mut at_work);
            outcome.sort(&codebook);
            at_work.sort(&codebook);
            let gap = match (&self.fine, plan.gap) {
                (Some((fine, fine_plan)), Some(standard)) => {
                    let fine_table = horizon_table(fine, fine_plan, &observed(h), &reached(h))?;
                    Some(
                        GapDims::of(&plan.base.dims)?
                            .inputs(outcome.clone(), fine_table, standard, plan.base.margins)
                            .finish(self.threshold),
                    )
                }
                _ => None,
            };
            horizons.push(Horizon {
                day: *day,
                not_observable: self.not_observable[h],
                outcome,
                at_work,
                gap,
            });
        }
        Ok(OutcomesTable { plan, horizons })
    }
}

/// A cell hidden in either table of a horizon is hidden in both: its row
/// shows the counts of both.
fn hide_together(outcome: &mut Table, at_work: &mut Table) {
    for (a, b) in outcome.rows.iter_mut().zip(at_work.rows.iter_mut()) {
        debug_assert_eq!(a.keys, b.keys);
        let status = if a.status == CellStatus::Primary || b.status == CellStatus::Primary {
            CellStatus::Primary
        } else if a.status.is_suppressed() || b.status.is_suppressed() {
            CellStatus::Secondary
        } else {
            CellStatus::Publishable
        };
        a.status = status;
        b.status = status;
    }
}

impl OutcomesTable {
    /// What each count column of each horizon counts (for manifests and
    /// `audit`): the outcome (`esiti`), and `gia_occupati` where the grid
    /// shows it (not with `--gap`).
    pub fn scopes_by_day(&self) -> BTreeMap<String, BTreeMap<String, Scope>> {
        self.plan
            .days
            .iter()
            .map(|day| {
                let mut scopes =
                    BTreeMap::from([("esiti".to_string(), self.plan.scope(self.plan.outcome.name(), *day))]);
                if self.plan.gap.is_none() {
                    scopes.insert("gia_occupati".to_string(), self.plan.scope("gia_occupati", *day));
                }
                (day.to_string(), scopes)
            })
            .collect()
    }
}
