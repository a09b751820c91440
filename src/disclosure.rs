//! Statistical disclosure control (`spec/indicators.md`): cells with a
//! count below the threshold are suppressed (primary, `u`), and when the
//! table shows margins, further cells are suppressed (secondary, `x`) until
//! no suppressed cell can be recovered by subtraction from a margin.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::table::{CellStatus, Table, TOTAL};

/// The minimum frequency a published count may show; SISTAN forbids less than 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Threshold(u64);

pub const DEFAULT_THRESHOLD: u64 = 5;

impl Threshold {
    pub fn new(k: u64) -> Result<Threshold> {
        if k < 3 {
            bail!(
                "--threshold {k}: Italian official statistics (SISTAN) forbid publishing cells under 3; use 3 or more (default {DEFAULT_THRESHOLD})"
            );
        }
        Ok(Threshold(k))
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// A count that would identify too few people: between 1 and k − 1.
    fn is_small(self, count: u64) -> bool {
        (1..self.0).contains(&count)
    }
}

/// Marks the cells to suppress in place.
pub fn protect(table: &mut Table, threshold: Threshold) {
    for row in &mut table.rows {
        let n = row.population;
        let x = row.beneficiaries;
        row.status = if threshold.is_small(n) || threshold.is_small(x) || threshold.is_small(n - x) {
            CellStatus::Primary
        } else {
            CellStatus::Publishable
        };
    }
    if table.has_margins() {
        suppress_secondary(table);
    }
}

/// Sets of rows that add up to their margin: for one breakdown, the cells
/// that differ only in it, together with the cell holding `TOTALE` there.
/// Breakdowns of the activity (a person may count under several
/// programmes) do not add up and form no line.
pub fn additive_lines(table: &Table) -> Vec<Vec<usize>> {
    let mut lines = Vec::new();
    for (d, dim) in table.dims.iter().enumerate() {
        if dim.is_beneficiary_side() {
            continue;
        }
        let mut groups: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
        for (i, row) in table.rows.iter().enumerate() {
            let mut key: Vec<&str> = row.keys.iter().map(String::as_str).collect();
            key[d] = "";
            groups.entry(key).or_default().push(i);
        }
        for (_, members) in groups {
            let has_margin = members.iter().any(|i| table.rows[*i].keys[d] == TOTAL);
            if has_margin && members.len() > 1 {
                lines.push(members);
            }
        }
    }
    lines
}

fn suppress_secondary(table: &mut Table) {
    let lines = additive_lines(table);
    loop {
        let mut changed = false;
        for line in &lines {
            let suppressed = line.iter().filter(|i| table.rows[**i].status.is_suppressed()).count();
            if suppressed != 1 {
                continue;
            }
            let smallest = line
                .iter()
                .copied()
                .filter(|i| !table.rows[*i].status.is_suppressed())
                .min_by_key(|i| (table.rows[*i].population, *i));
            if let Some(i) = smallest {
                table.rows[i].status = CellStatus::Secondary;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Dimension, Row};

    fn table(cells: &[(&str, &str, u64, u64)]) -> Table {
        Table {
            dims: vec![Dimension::Provincia, Dimension::Sesso],
            rows: cells
                .iter()
                .map(|(p, s, n, x)| Row {
                    keys: vec![p.to_string(), s.to_string()],
                    population: *n,
                    beneficiaries: *x,
                    status: CellStatus::Publishable,
                })
                .collect(),
            confidence: 0.95,
        }
    }

    fn statuses(table: &Table) -> String {
        table.rows.iter().map(|r| r.status.code()).collect()
    }

    #[test]
    fn thresholds_below_three_are_refused() {
        assert!(Threshold::new(2).is_err());
        assert!(Threshold::new(3).is_ok());
    }

    #[test]
    fn primary_suppression_looks_at_n_x_and_n_minus_x() {
        let mut t = table(&[
            ("TO", "M", 100, 50),
            ("TO", "F", 4, 0),
            ("CN", "M", 100, 3),
            ("CN", "F", 100, 98),
            ("AL", "M", 0, 0),
            ("AL", "F", 5, 5),
        ]);
        protect(&mut t, Threshold::new(5).unwrap());
        assert_eq!(statuses(&t), "suuuss");
    }

    #[test]
    fn a_single_suppressed_cell_in_a_line_gets_a_partner() {
        let mut t = table(&[("TO", "M", 30, 10), ("TO", "F", 3, 1), ("TO", TOTAL, 33, 11)]);
        protect(&mut t, Threshold::new(5).unwrap());
        assert_eq!(statuses(&t), "xus");
    }

    #[test]
    fn a_line_of_one_cell_hides_its_margin_too() {
        let mut t = table(&[("TO", "F", 3, 1), ("TO", TOTAL, 3, 1)]);
        protect(&mut t, Threshold::new(5).unwrap());
        assert_eq!(statuses(&t), "uu");
    }
}
