//! The intruder's audit (`spec/indicators.md`, "Audit"): for every
//! suppressed cell, the least and greatest eligible persons `n`,
//! beneficiaries `x` and non-beneficiaries `n − x` compatible with
//! everything published with it, by linear programming.
//!
//! The unknowns are the counts of the finest cells the set's breakdowns
//! make (every published cell is a sum of them): persons `n` at the finest
//! level, and for each selection of activities the beneficiaries at the
//! level its own tables reach, each at most the persons below it. A
//! published cell fixes its sums; a combination a complete table does not
//! list is empty; a cell printed in two tables is one unknown. `lp` builds
//! and solves that programme (see docs/design/disclosure.md).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use super::lp::Universe;
use super::published::{CellKey, Groups, PublishedTable};
use super::Threshold;
use crate::table::{CellStatus, TOTAL};

/// Least and greatest value of a count; `high` is `None` when nothing
/// published bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Interval {
    pub low: u64,
    pub high: Option<u64>,
}

impl Interval {
    /// Pinned to one count of persons. A pinned zero says no more than a
    /// published zero, which the threshold rule allows.
    pub(super) fn is_single(self) -> bool {
        self.high == Some(self.low) && self.low > 0
    }

    /// Inside `1..k−1`: proved small.
    pub(super) fn is_within_small(self, threshold: Threshold) -> bool {
        self.low >= 1 && self.high.is_some_and(|h| h < threshold.value())
    }
}

/// One suppressed cell and what an intruder can learn of it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub key: CellKey,
    pub tables: Vec<String>,
    pub status: CellStatus,
    pub population: Interval,
    pub beneficiaries: Interval,
    pub non_beneficiaries: Interval,
    /// Why the cell is disclosed, if it is.
    pub disclosure: Option<&'static str>,
}

pub struct Audit {
    pub findings: Vec<Finding>,
    pub threshold: Threshold,
    pub tables: usize,
}

impl Audit {
    pub fn disclosed(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.disclosure.is_some())
    }

    pub fn is_safe(&self) -> bool {
        self.disclosed().next().is_none()
    }
}

/// What the set says of one cell.
#[derive(Default)]
pub(super) struct Known {
    pub(super) counts: Option<(u64, u64)>,
    pub(super) suppressed: Option<CellStatus>,
    pub(super) tables: BTreeSet<String>,
}

/// Audits a published set: every table in it, with each row's status.
pub fn audit(tables: &[PublishedTable], groups: &Groups, threshold: Threshold, depth: Depth) -> Result<Audit> {
    audit_cells(tables, groups, threshold, depth, None)
}

/// The audit of the suppressed cells in `only` (all when `None`). Hiding
/// more cells only widens what an intruder can tell of the others, so
/// protection re-audits only the cells that changed.
pub fn audit_cells(
    tables: &[PublishedTable],
    groups: &Groups,
    threshold: Threshold,
    depth: Depth,
    only: Option<&BTreeSet<CellKey>>,
) -> Result<Audit> {
    let mut cells: BTreeMap<CellKey, Known> = BTreeMap::new();
    let mut complete_tables: Vec<(usize, Vec<CellKey>)> = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let keys = table.keys(groups);
        for (row, key) in table.rows.iter().zip(&keys) {
            let known = cells.entry(key.clone()).or_default();
            known.tables.insert(table.name.clone());
            if row.status.is_suppressed() {
                known.suppressed = Some(match (known.suppressed, row.status) {
                    (Some(CellStatus::Primary), _) | (_, CellStatus::Primary) => CellStatus::Primary,
                    _ => CellStatus::Secondary,
                });
                continue;
            }
            let Some(counts) = row.counts else { continue };
            match known.counts {
                Some(previous) if previous != counts => bail!(
                    "{} and another table publish different counts for {} ({} and {}): they count different persons or activities; audit them in separate folders, or write them with one report or job, whose manifest tells them apart",
                    table.name,
                    key.describe(),
                    previous.0,
                    counts.0
                ),
                _ => known.counts = Some(counts),
            }
        }
        if table.lists_every_cell && !table.dims.iter().any(|d| d.is_beneficiary_side()) {
            let full: Vec<CellKey> = table
                .rows
                .iter()
                .zip(&keys)
                .filter(|(r, _)| r.keys.iter().all(|k| k != TOTAL))
                .map(|(_, k)| k.clone())
                .collect();
            complete_tables.push((t, full));
        }
    }

    let small_lines = lines_hiding_small_totals(tables, groups, threshold);
    let implied = implied_margins(tables, groups);
    let mut universes: BTreeMap<&str, Vec<&CellKey>> = BTreeMap::new();
    for key in cells.keys() {
        universes.entry(key.universe.as_str()).or_default().push(key);
    }
    let mut findings = Vec::new();
    for (universe, keys) in universes {
        let complete: Vec<&[CellKey]> = complete_tables
            .iter()
            .filter(|(t, _)| tables[*t].scope.universe == universe)
            .map(|(_, k)| k.as_slice())
            .collect();
        let constraining: Vec<&CellKey> = keys.iter().copied().filter(|k| !implied.contains(*k)).collect();
        let lp = Universe::new(&constraining, &cells, &complete, groups)?;
        let targets: Vec<&CellKey> = keys
            .iter()
            .copied()
            .filter(|k| only.is_none_or(|o| o.contains(*k)))
            .collect();
        findings.extend(lp.bound_suppressed(&targets, &cells, threshold, depth)?);
    }
    for finding in findings.iter_mut().filter(|f| f.disclosure.is_none()) {
        if small_lines.contains(&finding.key) {
            finding.disclosure = Some("the suppressed cells of a line add up to a count below the threshold");
        }
    }
    Ok(Audit {
        findings,
        threshold,
        tables: tables.len(),
    })
}

/// Published margins whose line has every cell published: their sums
/// follow from the cells', so they add no constraint (a margin is always
/// one breakdown coarser than its line's cells, so nothing is implied
/// circularly).
fn implied_margins(tables: &[PublishedTable], groups: &Groups) -> BTreeSet<CellKey> {
    let mut implied = BTreeSet::new();
    for table in tables {
        let keys = table.keys(groups);
        for line in table.additive_lines() {
            let published = |i: usize| !table.rows[i].status.is_suppressed() && table.rows[i].counts.is_some();
            if published(line.margin) && line.cells.iter().all(|i| published(*i)) {
                implied.insert(keys[line.margin].clone());
            }
        }
    }
    implied
}

/// Suppressed cells of lines whose published margin, less the line's
/// published cells, leaves a small count: each of a few singletons hidden
/// together can subtract itself and read the others (sdcTable's singleton
/// problem), and an empty cell hidden beside a small one hides nothing.
fn lines_hiding_small_totals(tables: &[PublishedTable], groups: &Groups, threshold: Threshold) -> BTreeSet<CellKey> {
    let mut flagged = BTreeSet::new();
    for table in tables {
        let keys = table.keys(groups);
        for line in table.additive_lines() {
            let margin = &table.rows[line.margin];
            let (Some((n, x)), CellStatus::Publishable) = (margin.counts, margin.status) else {
                continue;
            };
            let hidden: Vec<usize> = line
                .cells
                .iter()
                .copied()
                .filter(|i| table.rows[*i].status.is_suppressed())
                .collect();
            if hidden.is_empty() {
                continue;
            }
            let shown = line
                .cells
                .iter()
                .filter(|i| !table.rows[**i].status.is_suppressed())
                .filter_map(|i| table.rows[*i].counts);
            let (shown_n, shown_x) = shown.fold((0u64, 0u64), |(a, b), (n, x)| (a + n, b + x));
            let (hidden_n, hidden_x) = (n.saturating_sub(shown_n), x.saturating_sub(shown_x));
            if threshold.is_sensitive(hidden_n, hidden_x.min(hidden_n)) {
                flagged.extend(hidden.into_iter().map(|i| keys[i].clone()));
            }
        }
    }
    flagged
}

/// How much the audit establishes of each suppressed cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The least and greatest value of every count, as `audit` prints them.
    Intervals,
    /// Enough of each interval to say whether the cell is disclosed: what
    /// protection and the last check before publishing need.
    Verdict,
}
