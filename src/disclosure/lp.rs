//! The linear programme of the audit: the finest cells of one universe
//! (population and period), their persons and each selection's
//! beneficiaries as columns, the published cells as rows, and the least
//! and greatest value of each suppressed cell's counts. HiGHS solves each
//! bound from the previous basis: only the objective changes between them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};
use highs::{Col, HighsModelStatus, RowProblem, Sense};

use super::audit::{Depth, Finding, Interval, Known};
use super::published::{CellKey, Citizenship, Coordinate, Groups};
use super::Threshold;
use crate::table::{CellStatus, Dimension};

/// The most finest cells one population may have before the audit refuses.
const MAX_FINEST_CELLS: usize = 2_000_000;

/// Distance between neighbouring values of each axis in the finest cells' order.
fn strides(sizes: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; sizes.len()];
    for a in (0..sizes.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * sizes[a + 1];
    }
    strides
}

/// A finest citizenship: one explicit code, or the codes of a group that
/// no table names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CitizenshipAtom {
    code: Option<String>,
    group: String,
}

impl CitizenshipAtom {
    fn within(&self, set: &Citizenship) -> bool {
        match set {
            Citizenship::Groups(groups) => groups.contains(&self.group),
            Citizenship::Code(code) => self.code.as_deref() == Some(code),
            Citizenship::OthersBut(kept) => self.group != "ITA" && self.code.as_ref().is_none_or(|c| !kept.contains(c)),
        }
    }
}

/// An axis of the finest cells: the citizenship, or one other breakdown.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Axis {
    Citizenship,
    Other(Dimension),
}

fn axis_of(c: &Coordinate) -> Axis {
    match c {
        Coordinate::Citizenship(_) => Axis::Citizenship,
        Coordinate::Code(d, _) => Axis::Other(*d),
    }
}

pub(super) struct Universe {
    axes: Vec<Axis>,
    citizenships: Vec<CitizenshipAtom>,
    codes: BTreeMap<Dimension, Vec<String>>,
    /// Values on each axis; the finest cells are their product, the last
    /// axis varying fastest.
    sizes: Vec<usize>,
    /// A column per finest cell of persons, none where a complete table
    /// says the cell is empty (a column fixed at zero would only slow each solve).
    persons: Vec<Option<Col>>,
    /// Per selection of activities: its axes and its cells' columns.
    families: BTreeMap<String, Family>,
    model: Option<highs::Model>,
}

struct Family {
    axes: Vec<usize>,
    /// Columns in the product order of `axes`; none for a cell all of whose
    /// persons are known to be none (it could only count zero).
    cells: Vec<Option<Col>>,
}

impl Universe {
    pub(super) fn new(
        keys: &[&CellKey],
        cells: &BTreeMap<CellKey, Known>,
        complete: &[&[CellKey]],
        groups: &Groups,
    ) -> Result<Universe> {
        let mut axes: BTreeSet<Axis> = BTreeSet::new();
        let mut codes: BTreeMap<Dimension, BTreeSet<String>> = BTreeMap::new();
        let mut explicit: BTreeSet<String> = BTreeSet::new();
        let mut citizenship_groups: BTreeSet<String> = BTreeSet::new();
        for key in keys {
            for c in &key.persons {
                axes.insert(axis_of(c));
                match c {
                    Coordinate::Code(d, code) => {
                        codes.entry(*d).or_default().insert(code.clone());
                    }
                    Coordinate::Citizenship(Citizenship::Code(code)) => {
                        explicit.insert(code.clone());
                    }
                    Coordinate::Citizenship(Citizenship::OthersBut(kept)) => explicit.extend(kept.iter().cloned()),
                    Coordinate::Citizenship(Citizenship::Groups(g)) => citizenship_groups.extend(g.iter().cloned()),
                }
            }
        }
        let axes: Vec<Axis> = axes.into_iter().collect();
        let mut citizenships: Vec<CitizenshipAtom> = explicit
            .iter()
            .map(|code| CitizenshipAtom {
                code: Some(code.clone()),
                group: groups.of(code).unwrap_or("?").to_string(),
            })
            .collect();
        for group in ["ITA", "UE", "EXTRA_UE", "ND"]
            .iter()
            .map(|g| g.to_string())
            .chain(citizenship_groups)
        {
            if !citizenships.iter().any(|a| a.code.is_none() && a.group == group) {
                citizenships.push(CitizenshipAtom { code: None, group });
            }
        }
        let codes: BTreeMap<Dimension, Vec<String>> =
            codes.into_iter().map(|(d, c)| (d, c.into_iter().collect())).collect();
        let sizes: Vec<usize> = axes
            .iter()
            .map(|a| match a {
                Axis::Citizenship => citizenships.len(),
                Axis::Other(d) => codes[d].len(),
            })
            .collect();
        let total: usize = sizes.iter().product();
        if total > MAX_FINEST_CELLS {
            bail!(
                "the tables cross {} breakdowns into {total} finest cells, more than the audit handles ({MAX_FINEST_CELLS}); audit fewer tables at once",
                axes.len()
            );
        }
        let mut universe = Universe {
            axes,
            citizenships,
            codes,
            sizes,
            persons: Vec::new(),
            families: BTreeMap::new(),
            model: None,
        };
        universe.build(keys, cells, complete)?;
        Ok(universe)
    }

    fn axis(&self, c: &Coordinate) -> usize {
        let axis = axis_of(c);
        self.axes
            .iter()
            .position(|x| *x == axis)
            .expect("every axis is collected")
    }

    /// The values of `axis` a coordinate holds.
    fn values(&self, axis: usize, c: &Coordinate) -> Vec<usize> {
        match c {
            Coordinate::Citizenship(set) => (0..self.sizes[axis])
                .filter(|v| self.citizenships[*v].within(set))
                .collect(),
            Coordinate::Code(d, code) => self.codes[d].iter().position(|x| x == code).into_iter().collect(),
        }
    }

    /// Indexes, in the product order of `axes`, of the cells with these coordinates.
    fn cells_within(&self, axes: &[usize], persons: &[Coordinate]) -> Vec<usize> {
        let mut chosen: Vec<Vec<usize>> = axes.iter().map(|a| (0..self.sizes[*a]).collect()).collect();
        for c in persons {
            let axis = self.axis(c);
            let slot = axes
                .iter()
                .position(|a| *a == axis)
                .expect("a cell's axes are its family's");
            chosen[slot] = self.values(axis, c);
        }
        let mut out = vec![0usize];
        for (slot, values) in chosen.iter().enumerate() {
            let size = self.sizes[axes[slot]];
            out = out
                .iter()
                .flat_map(|base| values.iter().map(move |v| base * size + v))
                .collect();
        }
        out
    }

    fn family_axes(&self, keys: &[&CellKey], activities: &str) -> Vec<usize> {
        let used: BTreeSet<Axis> = keys
            .iter()
            .filter(|k| k.activities == activities)
            .flat_map(|k| k.persons.iter().map(axis_of))
            .collect();
        (0..self.axes.len()).filter(|a| used.contains(&self.axes[*a])).collect()
    }

    fn build(&mut self, keys: &[&CellKey], cells: &BTreeMap<CellKey, Known>, complete: &[&[CellKey]]) -> Result<()> {
        let mut problem = RowProblem::default();
        let all: Vec<usize> = (0..self.axes.len()).collect();
        let total: usize = self.sizes.iter().product();
        let mut empty = vec![false; total];
        for rows in complete {
            let mut listed = vec![false; total];
            for key in rows.iter() {
                for atom in self.cells_within(&all, &key.persons) {
                    listed[atom] = true;
                }
            }
            for (e, l) in empty.iter_mut().zip(listed) {
                *e |= !l;
            }
        }
        self.persons = empty
            .iter()
            .map(|e| (!*e).then(|| problem.add_column(0.0, 0.0..)))
            .collect();
        let activities: BTreeSet<&str> = keys.iter().map(|k| k.activities.as_str()).collect();
        for activity in activities {
            let axes = self.family_axes(keys, activity);
            let size: usize = axes.iter().map(|a| self.sizes[*a]).product();
            let mut members: Vec<Vec<usize>> = vec![Vec::new(); size];
            let strides = strides(&self.sizes);
            for atom in 0..total {
                let projection = axes
                    .iter()
                    .fold(0, |acc, a| acc * self.sizes[*a] + (atom / strides[*a]) % self.sizes[*a]);
                members[projection].push(atom);
            }
            let mut columns = Vec::with_capacity(size);
            for atoms in members {
                let persons: Vec<(Col, f64)> = atoms
                    .iter()
                    .filter_map(|a| self.persons[*a])
                    .map(|col| (col, -1.0))
                    .collect();
                if persons.is_empty() {
                    columns.push(None);
                    continue;
                }
                let col = problem.add_column(0.0, 0.0..);
                problem.add_row(..=0.0, std::iter::once((col, 1.0)).chain(persons));
                columns.push(Some(col));
            }
            self.families
                .insert(activity.to_string(), Family { axes, cells: columns });
        }
        let mut populations: BTreeMap<(String, Vec<Coordinate>), u64> = BTreeMap::new();
        for key in keys {
            let Some((n, x)) = cells[*key].counts else { continue };
            match populations.insert(key.population(), n) {
                Some(previous) if previous != n => bail!(
                    "two tables publish different populations for {} ({previous} and {n}): they count different persons; audit them in separate folders, or write them with one report or job, whose manifest tells them apart",
                    key.describe()
                ),
                Some(_) => {}
                None => problem.add_row(n as f64..=n as f64, self.person_columns(&key.persons)),
            }
            problem.add_row(x as f64..=x as f64, self.beneficiary_columns(key));
        }
        let mut model = problem.optimise(Sense::Minimise);
        model.make_quiet();
        model.set_option("threads", 1);
        // Each bound starts from the basis of the last: presolve would throw it away.
        model.set_option("presolve", "off");
        model.set_option("simplex_strategy", 4);
        self.model = Some(model);
        Ok(())
    }

    fn person_columns(&self, persons: &[Coordinate]) -> Vec<(Col, f64)> {
        let all: Vec<usize> = (0..self.axes.len()).collect();
        self.cells_within(&all, persons)
            .into_iter()
            .filter_map(|a| self.persons[a])
            .map(|col| (col, 1.0))
            .collect()
    }

    fn beneficiary_columns(&self, key: &CellKey) -> Vec<(Col, f64)> {
        let family = &self.families[&key.activities];
        self.cells_within(&family.axes, &key.persons)
            .into_iter()
            .filter_map(|c| family.cells[c])
            .map(|col| (col, 1.0))
            .collect()
    }

    /// Least and greatest value of the sum of `columns` (with signs); every
    /// solution found on the way is shown to `observe`.
    /// With `zero_seen`, a solution found before gave the sum 0, which is
    /// its least value (every quantity counted is at least 0): only the
    /// greatest is solved for.
    fn bounds(&mut self, columns: &[(Col, f64)], zero_seen: bool, observe: &mut dyn FnMut(&[f64])) -> Result<Interval> {
        // A column named twice (the population two hidden cells share)
        // weighs the sum of its weights: a cost is set, not added.
        let mut merged: Vec<(Col, f64)> = Vec::with_capacity(columns.len());
        let mut position: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for (col, weight) in columns {
            match position.entry(col.index()) {
                std::collections::hash_map::Entry::Occupied(at) => merged[*at.get()].1 += weight,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(merged.len());
                    merged.push((*col, *weight));
                }
            }
        }
        let columns = &merged[..];
        let mut model = self.model.take().expect("the model is built");
        let mut extremes = [0.0f64; 2];
        let mut unbounded = false;
        for (i, sense) in [Sense::Minimise, Sense::Maximise].into_iter().enumerate() {
            if zero_seen && sense == Sense::Minimise {
                continue;
            }
            for (col, coefficient) in columns {
                model.change_column_cost(*col, *coefficient);
            }
            model.set_sense(sense);
            let solved = model.solve();
            match solved.status() {
                HighsModelStatus::Optimal => {
                    extremes[i] = solved.objective_value();
                    observe(solved.get_solution().columns());
                }
                HighsModelStatus::Unbounded if sense == Sense::Maximise => unbounded = true,
                HighsModelStatus::Infeasible => bail!(
                    "the published counts contradict each other (no set of counts gives them all): the tables count different persons or activities; audit them in separate folders, or write them with one report or job, whose manifest tells them apart"
                ),
                other => bail!("the linear programme of the audit stopped with status {other:?}"),
            }
            model = solved.into();
            for (col, _) in columns {
                model.change_column_cost(*col, 0.0);
            }
        }
        self.model = Some(model);
        let low = (extremes[0] - 1e-6).ceil().max(0.0) as u64;
        let high = (!unbounded).then(|| (extremes[1] + 1e-6).floor().max(0.0) as u64);
        Ok(Interval { low, high })
    }

    pub(super) fn bound_suppressed(
        mut self,
        keys: &[&CellKey],
        cells: &BTreeMap<CellKey, Known>,
        threshold: Threshold,
        depth: Depth,
    ) -> Result<Vec<Finding>> {
        let targets: Vec<Target> = keys
            .iter()
            .filter_map(|key| {
                let known = &cells[*key];
                let status = known.suppressed?;
                let n = self.person_columns(&key.persons);
                let x = self.beneficiary_columns(key);
                let rest = n.iter().copied().chain(x.iter().map(|(c, _)| (*c, -1.0))).collect();
                Some(Target {
                    key,
                    status,
                    counts: known.counts,
                    quantities: [n, x, rest],
                })
            })
            .collect();
        // The least and greatest value of each quantity seen in a solution:
        // a verdict needs only as much of each interval as proves the cell safe.
        let mut seen: Vec<[(f64, f64); 3]> = vec![[(f64::INFINITY, f64::NEG_INFINITY); 3]; targets.len()];
        if depth == Depth::Verdict {
            // Extreme points of all the hidden counts at once: most cells are
            // proved safe by the values these take, before any cell's own bounds.
            for q in 1..3 {
                let together: Vec<(Col, f64)> = targets
                    .iter()
                    .filter(|t| t.counts.is_none())
                    .flat_map(|t| t.quantities[q].iter().copied())
                    .collect();
                if !together.is_empty() {
                    self.bounds(&together, false, &mut |solution| observe(&targets, &mut seen, solution))?;
                }
            }
        }
        let mut findings = Vec::with_capacity(targets.len());
        for (t, target) in targets.iter().enumerate() {
            let intervals = match target.counts {
                Some((n, x)) => [n, x, n - x].map(|v| Interval { low: v, high: Some(v) }),
                None => {
                    let mut intervals = [Interval { low: 0, high: None }; 3];
                    for q in 0..3 {
                        let proven = depth == Depth::Verdict && safe_by(seen[t][q], q, target.status, threshold);
                        intervals[q] = if proven {
                            seen_interval(seen[t][q])
                        } else {
                            let zero_seen = seen[t][q].0 <= 1e-6;
                            self.bounds(&target.quantities[q], zero_seen, &mut |solution| {
                                observe(&targets, &mut seen, solution)
                            })?
                        };
                    }
                    intervals
                }
            };
            let [population, beneficiaries, non_beneficiaries] = intervals;
            let small = intervals.iter().any(|i| i.is_within_small(threshold));
            let disclosure = if target.status == CellStatus::Primary && small {
                Some("primary cell proved below the threshold")
            } else if beneficiaries.is_single() || non_beneficiaries.is_single() {
                Some("single value")
            } else {
                None
            };
            findings.push(Finding {
                key: target.key.clone(),
                tables: cells[target.key].tables.iter().cloned().collect(),
                status: target.status,
                population,
                beneficiaries,
                non_beneficiaries,
                disclosure,
            });
        }
        Ok(findings)
    }
}

/// Widens each target's seen values to a solution's.
fn observe(targets: &[Target], seen: &mut [[(f64, f64); 3]], solution: &[f64]) {
    for (target, seen) in targets.iter().zip(seen.iter_mut()) {
        for (q, columns) in target.quantities.iter().enumerate() {
            let value: f64 = columns.iter().map(|(c, w)| w * solution[c.index()]).sum();
            seen[q] = (seen[q].0.min(value), seen[q].1.max(value));
        }
    }
}

/// A suppressed cell and the columns of its persons, beneficiaries and non-beneficiaries.
struct Target<'a> {
    key: &'a CellKey,
    status: CellStatus,
    counts: Option<(u64, u64)>,
    quantities: [Vec<(Col, f64)>; 3],
}

/// Whether values seen in solutions already show that quantity `q` (0
/// persons, 1 beneficiaries, 2 non-beneficiaries) gives nothing away: two
/// different values, and for a primary cell one outside 1..k−1.
fn safe_by(seen: (f64, f64), q: usize, status: CellStatus, threshold: Threshold) -> bool {
    // Rounded as the bounds are: a count is whole, so a fractional value
    // seen in a solution of the relaxation proves only its integer part.
    let Interval { low, high } = seen_interval(seen);
    let high = high.expect("seen values are finite");
    let varies = high > low || q == 0 || high == 0;
    let escapes = status != CellStatus::Primary || low == 0 || high >= threshold.value();
    varies && escapes
}

fn seen_interval((low, high): (f64, f64)) -> Interval {
    Interval {
        low: (low - 1e-6).ceil().max(0.0) as u64,
        high: Some((high + 1e-6).floor().max(0.0) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_by;
    use crate::disclosure::Threshold;
    use crate::table::CellStatus;

    #[test]
    fn a_fractional_value_proves_only_its_whole_part() {
        let k = Threshold::new(5).unwrap();
        // A relaxation's solution with 0.4 beneficiaries does not show that
        // the count can be 0: the least whole count it allows is 1.
        assert!(!safe_by((0.4, 2.0), 1, CellStatus::Primary, k));
        assert!(safe_by((0.0, 2.0), 1, CellStatus::Primary, k));
        // Nor does 4.6 show that it can reach the threshold.
        assert!(!safe_by((1.0, 4.6), 1, CellStatus::Primary, k));
        assert!(safe_by((1.0, 5.0), 1, CellStatus::Primary, k));
        // A secondary cell is safe once its count is not pinned.
        assert!(safe_by((1.0, 2.0), 1, CellStatus::Secondary, k));
        assert!(!safe_by((1.2, 1.9), 1, CellStatus::Secondary, k));
    }
}
