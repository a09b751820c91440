//! Invariants of the statistics and of disclosure control over random inputs.

use proptest::prelude::*;
use silp_access::disclosure::{additive_lines, protect, Threshold};
use silp_access::stats::{critical_value, newcombe_difference, wilson};
use silp_access::table::{CellStatus, Dimension, Row, Table, TOTAL};

proptest! {
    #[test]
    fn every_rate_lies_inside_its_interval(n in 1u64..100_000, share in 0.0f64..=1.0, confidence in 0.51f64..0.999) {
        let x = ((n as f64) * share).round() as u64;
        let z = critical_value(confidence).unwrap();
        let e = wilson(x, n, z).unwrap();
        prop_assert!(0.0 <= e.low && e.low <= e.value && e.value <= e.high && e.high <= 1.0, "{e:?}");
    }

    #[test]
    fn every_difference_lies_inside_its_interval(n1 in 1u64..5_000, n2 in 1u64..5_000, a in 0.0f64..=1.0, b in 0.0f64..=1.0) {
        let (x1, x2) = (((n1 as f64) * a).round() as u64, ((n2 as f64) * b).round() as u64);
        let d = newcombe_difference(x1, n1, x2, n2, critical_value(0.95).unwrap()).unwrap();
        prop_assert!(-1.0 <= d.low && d.low <= d.value && d.value <= d.high && d.high <= 1.0, "{d:?}");
    }

    #[test]
    fn no_suppressed_cell_can_be_recomputed_from_a_margin(
        cells in proptest::collection::vec((0u64..40, 0.0f64..=1.0), 6..=24),
        columns in 2usize..=4,
        k in 3u64..8,
    ) {
        let table = protected(&cells, columns, k);
        for line in additive_lines(&table) {
            let hidden = line.iter().filter(|i| table.rows[**i].status.is_suppressed()).count();
            prop_assert!(hidden != 1, "a line with one suppressed cell: {:?}", line.iter().map(|i| &table.rows[*i]).collect::<Vec<_>>());
        }
        for row in &table.rows {
            let (n, x) = (row.population, row.beneficiaries);
            let small = |c: u64| (1..k).contains(&c);
            if small(n) || small(x) || small(n - x) {
                prop_assert_eq!(row.status, CellStatus::Primary);
            }
        }
    }

    #[test]
    fn a_table_without_small_cells_suppresses_nothing(
        cells in proptest::collection::vec((0u64..3, 0u64..3), 6..=24),
        columns in 2usize..=4,
    ) {
        // n, x and n − x are all 0 or at least 10: nothing under a threshold of 5.
        let mut table = build(&vec![(0, 0.0); cells.len()], columns);
        for (row, (others, beneficiaries)) in table.rows.iter_mut().zip(&cells) {
            row.beneficiaries = 10 * beneficiaries;
            row.population = 10 * (beneficiaries + others);
        }
        let table = with_margins_protected(table, 5);
        prop_assert!(table.rows.iter().all(|r| r.status == CellStatus::Publishable));
    }
}

/// A provinces × sexes-like grid of inner cells (n, share of beneficiaries).
fn build(cells: &[(u64, f64)], columns: usize) -> Table {
    let columns_codes = ["M", "F", "X", "Y"];
    let rows = cells
        .iter()
        .enumerate()
        .map(|(i, (n, share))| Row {
            keys: vec![format!("R{:02}", i / columns), columns_codes[i % columns].to_string()],
            population: *n,
            beneficiaries: ((*n as f64) * share).round() as u64,
            status: CellStatus::Publishable,
        })
        .collect();
    Table {
        dims: vec![Dimension::Provincia, Dimension::Sesso],
        rows,
        confidence: 0.95,
    }
}

/// Adds row, column and grand totals, then protects.
fn with_margins_protected(mut table: Table, k: u64) -> Table {
    let inner = table.rows.clone();
    let mut add = |keys: Vec<String>, rows: Vec<&Row>| {
        table.rows.push(Row {
            keys,
            population: rows.iter().map(|r| r.population).sum(),
            beneficiaries: rows.iter().map(|r| r.beneficiaries).sum(),
            status: CellStatus::Publishable,
        });
    };
    let mut row_codes: Vec<&String> = inner.iter().map(|r| &r.keys[0]).collect();
    row_codes.dedup();
    let mut column_codes: Vec<&String> = inner.iter().map(|r| &r.keys[1]).collect();
    column_codes.sort();
    column_codes.dedup();
    for code in &row_codes {
        add(
            vec![code.to_string(), TOTAL.into()],
            inner.iter().filter(|r| &&r.keys[0] == code).collect(),
        );
    }
    for code in &column_codes {
        add(
            vec![TOTAL.into(), code.to_string()],
            inner.iter().filter(|r| &&r.keys[1] == code).collect(),
        );
    }
    add(vec![TOTAL.into(), TOTAL.into()], inner.iter().collect());
    protect(&mut table, Threshold::new(k).unwrap());
    table
}

fn protected(cells: &[(u64, f64)], columns: usize, k: u64) -> Table {
    with_margins_protected(build(cells, columns), k)
}
