//! Protection of a survival table: the count tables its rows publish (a
//! pair per day: events, and persons still followed, out of the cell's
//! persons), the unknown citizenship pooled alike in every day, the
//! statuses protection gives them applied back row by row, and the
//! log-rank test where it may be published.

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Result};

use super::{sort_cells, SurvivalCell, SurvivalTable};
use crate::disclosure::recode::{pool_tiny_unknown, Recoding};
use crate::disclosure::{Scope, ScopedTable, Threshold};
use crate::reference::Reference;
use crate::stats::survival::{log_rank, FollowUp, LogRank};
use crate::table::{CellStatus, Codebook, Lang, Row, Table, TOTAL};

impl SurvivalTable {
    /// The count tables the rows publish, one pair per day: events by
    /// that day, and persons still followed on it, each out of the cell's
    /// persons. A row shows both, and a curve is not shown past a hidden
    /// day, so each table hides with its pair and with the day before; a
    /// cell with fewer persons still followed than the threshold comes in
    /// hidden.
    pub fn count_tables(&self) -> Vec<ScopedTable> {
        let plan = &self.plan;
        let few = |follow_up: &FollowUp, day: i32| {
            plan.base
                .threshold
                .is_some_and(|threshold| follow_up.at_risk(day) < threshold.value())
        };
        let mut tables = Vec::with_capacity(2 * plan.days.len());
        for (d, day) in plan.days.iter().enumerate() {
            let before: Vec<Scope> = plan.days[..d]
                .last()
                .map(|before| vec![plan.scope("eventi", *before), plan.scope("a_rischio", *before)])
                .unwrap_or_default();
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
                        status: if few(&cell.follow_up, *day) {
                            CellStatus::Primary
                        } else {
                            CellStatus::Publishable
                        },
                    })
                    .collect();
                let pair = if what == "eventi" { "a_rischio" } else { "eventi" };
                tables.push(ScopedTable {
                    name: format!("{what} {day}"),
                    scope: plan.scope(what, *day),
                    hidden_with: before.iter().cloned().chain([plan.scope(pair, *day)]).collect(),
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
    pub(super) fn pool_as_protection_would(&mut self, threshold: Threshold) -> Option<Recoding> {
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
    pub fn scopes_by_day(&self) -> BTreeMap<String, BTreeMap<String, Scope>> {
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

    pub(super) fn threshold(&self) -> Result<Threshold> {
        match self.plan.base.threshold {
            Some(threshold) => Ok(threshold),
            None => bail!("a survival table is published: it needs a disclosure threshold"),
        }
    }

    /// Takes the statuses protection gave the count tables (in the order
    /// [`SurvivalTable::count_tables`] made them): a row is hidden when
    /// any of its counts is. Then tests the groups where every row is shown.
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
        // Protection hid each row whole and every later day of a hidden
        // one, with few still followed hidden from the start: check it.
        for cell in &self.cells {
            let mut hidden = false;
            for (i, day) in self.plan.days.iter().enumerate() {
                let must = hidden || cell.follow_up.at_risk(*day) < threshold.value();
                if must && !cell.status[i].is_suppressed() {
                    bail!("protection left day {day} of {:?} shown after a hidden day or with fewer than {} still followed", cell.keys, threshold.value());
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
}
