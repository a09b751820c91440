//! Invariants of the statistics and of disclosure control over random inputs.

use proptest::prelude::*;
use silp_access::disclosure::files::read_folder;
use silp_access::disclosure::{audit, protect_set, Depth, Groups, Scope, ScopedTable, Threshold};
use silp_access::output::{render, Format};
use silp_access::reference::Reference;
use silp_access::stats::{critical_value, newcombe_difference, wilson};
use silp_access::table::{CellStatus, Codebook, Dimension, Lang, Row, Table, TOTAL};

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
    fn after_protection_the_audit_recovers_no_cell(
        cells in proptest::collection::vec((0u64..40, 0.0f64..=1.0), 6..=24),
        columns in 2usize..=4,
        k in 3u64..8,
    ) {
        let table = protected(&cells, columns, k);
        for row in &table.rows {
            let (n, x) = (row.population, row.beneficiaries);
            let small = |c: u64| (1..k).contains(&c);
            if small(n) || small(x) || small(n - x) {
                prop_assert_eq!(row.status, CellStatus::Primary);
            }
        }
        // Read back as an intruder would, from the published file alone.
        let verdict = audit_published(&[("tabella", &table)], k);
        prop_assert!(verdict.is_safe(), "{:?}", verdict.disclosed().map(|f| f.key.describe()).collect::<Vec<_>>());
    }

    #[test]
    fn linked_tables_protected_together_pass_the_audit(
        micro in proptest::collection::vec((0u64..12, 0.0f64..=1.0), 18..=48),
        k in 3u64..6,
    ) {
        // One population by province × sex × age class, published as two
        // tables that share the province margins.
        let provinces = micro.len() / 6;
        let cell = |p: usize, s: usize, a: usize| micro[(p * 2 + s) * 3 + a];
        let by = |second: Dimension, codes: &[&str]| -> Table {
            let mut rows = Vec::new();
            for p in 0..provinces {
                for (j, code) in codes.iter().enumerate() {
                    let parts: Vec<(u64, f64)> = if second == Dimension::Sesso {
                        (0..3).map(|a| cell(p, j, a)).collect()
                    } else {
                        (0..2).map(|s| cell(p, s, j)).collect()
                    };
                    let n: u64 = parts.iter().map(|(n, _)| n).sum();
                    let x: u64 = parts.iter().map(|(n, share)| ((*n as f64) * share).round() as u64).sum();
                    rows.push(Row { keys: vec![format!("P{p}"), code.to_string()], population: n, beneficiaries: x, status: CellStatus::Publishable });
                }
            }
            with_margins(Table { dims: vec![Dimension::Provincia, second], rows, confidence: 0.95, margins_shown: true })
        };
        let mut set = vec![
            scoped("per-sesso", by(Dimension::Sesso, &["M", "F"])),
            scoped("per-eta", by(Dimension::ClasseEta, &["15-24", "25-29", "30-54"])),
        ];
        let reference = Reference::load(None).unwrap();
        protect_set(&mut set, &reference, Threshold::new(k).unwrap()).unwrap();
        let verdict = audit_published(&[("per-sesso", &set[0].table), ("per-eta", &set[1].table)], k);
        prop_assert!(verdict.is_safe(), "{:?}", verdict.disclosed().map(|f| f.key.describe()).collect::<Vec<_>>());
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
        margins_shown: true,
    }
}

/// Adds row, column and grand totals.
fn with_margins(mut table: Table) -> Table {
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
    table
}

fn scoped(name: &str, table: Table) -> ScopedTable {
    ScopedTable {
        name: name.to_string(),
        scope: Scope {
            universe: "stock 2024-01-01 2024-12-31".into(),
            activities: "lmp 1,2,3,4,5,6,7".into(),
        },
        table,
        hidden_with: Vec::new(),
    }
}

fn with_margins_protected(table: Table, k: u64) -> Table {
    let mut set = vec![scoped("tabella", with_margins(table))];
    let reference = Reference::load(None).unwrap();
    protect_set(&mut set, &reference, Threshold::new(k).unwrap()).unwrap();
    set.pop().unwrap().table
}

fn protected(cells: &[(u64, f64)], columns: usize, k: u64) -> Table {
    with_margins_protected(build(cells, columns), k)
}

/// The audit of the tables as `rates --format csv` would write them, read
/// back from a folder with no manifest.
fn audit_published(tables: &[(&str, &Table)], k: u64) -> silp_access::disclosure::Audit {
    let reference = Reference::load(None).unwrap();
    let codebook = Codebook::new(&reference, Lang::It);
    let dir = tempfile::tempdir().unwrap();
    for (name, table) in tables {
        let csv = render(&table.grid(&codebook).unwrap(), Format::Csv, Lang::It).unwrap();
        std::fs::write(dir.path().join(format!("{name}.csv")), csv).unwrap();
    }
    let groups = Groups::new(&reference);
    let folder = read_folder(dir.path(), &groups).unwrap();
    audit(&folder.tables, &groups, Threshold::new(k).unwrap(), Depth::Intervals).unwrap()
}
