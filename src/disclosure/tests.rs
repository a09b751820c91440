//! Known answers, worked out by hand in each test, and the failure
//! patterns sdcTable's users reported (sdcTools/UserSupport #133/#135/#136/#194).

use super::published::{PublishedRow, PublishedTable};
use super::*;
use crate::reference::Reference;
use crate::table::{CellStatus, Dimension, Row, Table, TOTAL};

fn reference() -> Reference {
    Reference::load(None).unwrap()
}

fn scope() -> Scope {
    Scope {
        universe: "stock 2024-01-01 2024-12-31".into(),
        activities: "lmp 1,2,3,4,5,6,7".into(),
    }
}

fn table(dims: Vec<Dimension>, cells: &[(&[&str], u64, u64)]) -> Table {
    Table {
        dims,
        rows: cells
            .iter()
            .map(|(keys, n, x)| Row {
                keys: keys.iter().map(|k| k.to_string()).collect(),
                population: *n,
                beneficiaries: *x,
                status: CellStatus::Publishable,
            })
            .collect(),
        confidence: 0.95,
        margins_shown: true,
    }
}

fn protect_one(t: Table, k: u64) -> (Table, Protection) {
    let mut set = vec![ScopedTable {
        name: "t".into(),
        scope: scope(),
        table: t,
        hidden_with: Vec::new(),
    }];
    let protection = protect_set(&mut set, &reference(), Threshold::new(k).unwrap()).unwrap();
    (set.pop().unwrap().table, protection)
}

fn statuses(table: &Table) -> String {
    table.rows.iter().map(|r| r.status.code()).collect()
}

/// The table as an intruder reads it: suppressed cells without counts.
fn as_published(name: &str, t: &Table, statuses: &str) -> PublishedTable {
    PublishedTable {
        name: name.into(),
        scope: scope(),
        dims: t.dims.clone(),
        rows: t
            .rows
            .iter()
            .zip(statuses.chars())
            .map(|(r, s)| {
                let status = match s {
                    'u' => CellStatus::Primary,
                    'x' => CellStatus::Secondary,
                    _ => CellStatus::Publishable,
                };
                PublishedRow {
                    keys: r.keys.clone(),
                    counts: (status == CellStatus::Publishable).then_some((r.population, r.beneficiaries)),
                    status,
                }
            })
            .collect(),
        lists_every_cell: true,
    }
}

fn audit_of(tables: &[PublishedTable], k: u64) -> Audit {
    let reference = reference();
    audit(
        tables,
        &Groups::new(&reference),
        Threshold::new(k).unwrap(),
        Depth::Intervals,
    )
    .unwrap()
}

fn interval(low: u64, high: u64) -> Interval {
    Interval { low, high: Some(high) }
}

/// Two provinces by sex with all margins: TO-F (3 persons, 1 beneficiary) is small.
fn two_by_two() -> Table {
    let p = Dimension::Provincia;
    let s = Dimension::Sesso;
    table(
        vec![p, s],
        &[
            (&["TO", "M"], 30, 10),
            (&["TO", "F"], 3, 1),
            (&["TO", TOTAL], 33, 11),
            (&["CN", "M"], 20, 8),
            (&["CN", "F"], 40, 20),
            (&["CN", TOTAL], 60, 28),
            (&[TOTAL, "M"], 50, 18),
            (&[TOTAL, "F"], 43, 21),
            (&[TOTAL, TOTAL], 93, 39),
        ],
    )
}

#[test]
fn thresholds_below_three_are_refused() {
    assert!(Threshold::new(2).is_err());
    assert!(Threshold::new(3).is_ok());
}

#[test]
fn primary_suppression_looks_at_n_x_and_n_minus_x() {
    let t = table(
        vec![Dimension::Provincia, Dimension::Sesso],
        &[
            (&["TO", "M"], 100, 50),
            (&["TO", "F"], 4, 0),
            (&["CN", "M"], 100, 3),
            (&["CN", "F"], 100, 98),
            (&["AL", "M"], 0, 0),
            (&["AL", "F"], 5, 5),
        ],
    );
    let (t, _) = protect_one(t, 5);
    assert_eq!(statuses(&t), "suuuss");
}

#[test]
fn one_hidden_cell_in_a_line_is_read_off_its_margin() {
    // TO-F hidden alone: 33 − 30 = 3 persons, 11 − 10 = 1 beneficiary.
    let t = two_by_two();
    let found = audit_of(&[as_published("t", &t, "susssssss")], 5);
    let f = &found.findings[0];
    assert_eq!(
        (f.population, f.beneficiaries, f.non_beneficiaries),
        (interval(3, 3), interval(1, 1), interval(2, 2))
    );
    assert_eq!(f.disclosure, Some("primary cell proved below the threshold"));
}

#[test]
fn the_audit_bounds_a_two_by_two_with_all_four_cells_hidden() {
    // n: a + b = 33, c + d = 60, a + c = 50, b + d = 43 leaves b free in
    // 0..33 (a = 33 − b, c = 17 + b, d = 43 − b); x: b' in 0..11 with
    // a' = 11 − b' ≤ a, c' = 7 + b' ≤ c, d' = 21 − b' ≤ d; n − x: 0..22.
    let t = two_by_two();
    let found = audit_of(&[as_published("t", &t, "xusxxssss")], 5);
    let to_f = found
        .findings
        .iter()
        .find(|f| f.status == CellStatus::Primary)
        .expect("TO-F is bounded");
    assert_eq!(to_f.population, interval(0, 33));
    assert_eq!(to_f.beneficiaries, interval(0, 11));
    assert_eq!(to_f.non_beneficiaries, interval(0, 22));
    assert!(found.is_safe());
}

#[test]
fn protection_hides_a_partner_in_every_line_and_passes_the_audit() {
    let (t, protection) = protect_one(two_by_two(), 5);
    // TO-F small; its row and column each need a second hidden cell, and
    // the square closes on CN-M: the cheapest pattern of inner cells.
    assert_eq!(statuses(&t), "xusxxssss");
    assert_eq!((protection.primary_cells, protection.secondary_cells), (1, 3));
}

#[test]
fn three_singletons_hidden_together_still_reveal_each_other() {
    // sdcTools/UserSupport #135: three persons alone in their cells, hidden
    // together; each can subtract itself from 43 − 40 = 3 and read the others.
    let p = Dimension::Provincia;
    let t = table(
        vec![p],
        &[
            (&["TO"], 1, 0),
            (&["VC"], 1, 0),
            (&["NO"], 1, 1),
            (&["CN"], 40, 20),
            (&[TOTAL], 43, 21),
        ],
    );
    let found = audit_of(&[as_published("t", &t, "uuuss")], 5);
    assert!(found.findings.iter().all(|f| f.population == interval(0, 3)));
    assert_eq!(
        found.disclosed().count(),
        3,
        "each singleton is disclosed through the line's hidden total"
    );
    let (protected, protection) = protect_one(t, 5);
    assert_eq!(statuses(&protected), "uuuxs");
    assert_eq!(
        protection.rounds, 1,
        "the partner is chosen before the audit, not after it finds the singletons"
    );
}

#[test]
fn an_empty_cell_is_never_the_partner_of_a_small_one() {
    // sdcTools/UserSupport #194: hiding a zero beside a 3 leaves 3 = 53 − 50
    // readable through non-negativity; the partner must hold persons.
    let p = Dimension::Provincia;
    let t = table(
        vec![p],
        &[
            (&["TO"], 0, 0),
            (&["VC"], 3, 1),
            (&["NO"], 20, 10),
            (&["CN"], 30, 10),
            (&[TOTAL], 53, 21),
        ],
    );
    let found = audit_of(&[as_published("t", &t, "xusss")], 5);
    assert_eq!(found.disclosed().count(), 2);
    let (protected, _) = protect_one(t, 5);
    assert_eq!(statuses(&protected), "suxss");
}

#[test]
fn a_row_printing_two_tables_is_hidden_whole_and_its_followers_too() {
    // Day 30 and day 90 of a curve: at day 30 the events and the persons
    // still followed of a cell show on one row, and a row hidden at day 30
    // is hidden at day 90. One group has 2 events by day 30 (small); its
    // pair, and both tables of day 90, hide the cell as well, each with a
    // partner in its line, and the set passes the audit.
    let g = Dimension::GruppoCittadinanza;
    let day = |what: &str, d: u32| Scope {
        universe: "coorte 2024-01-01 2024-12-31".into(),
        activities: format!("{what} {d}"),
    };
    let counts = |x: [u64; 3]| {
        table(
            vec![g],
            &[
                (&["ITA"], 40, x[0]),
                (&["UE"], 30, x[1]),
                (&["EXTRA_UE"], 30, x[2]),
                (&[TOTAL], 100, x[0] + x[1] + x[2]),
            ],
        )
    };
    let scoped = |what: &str, d: u32, x: [u64; 3], with: Vec<Scope>| ScopedTable {
        name: format!("{what} {d}"),
        scope: day(what, d),
        table: counts(x),
        hidden_with: with,
    };
    let mut set = vec![
        scoped("eventi", 30, [20, 2, 12], vec![day("a_rischio", 30)]),
        scoped("a_rischio", 30, [18, 25, 16], vec![day("eventi", 30)]),
        scoped(
            "eventi",
            90,
            [30, 14, 20],
            vec![day("eventi", 30), day("a_rischio", 30), day("a_rischio", 90)],
        ),
        scoped(
            "a_rischio",
            90,
            [8, 12, 9],
            vec![day("eventi", 30), day("a_rischio", 30), day("eventi", 90)],
        ),
    ];
    let protection = protect_set(&mut set, &reference(), Threshold::new(5).unwrap()).unwrap();
    // UE is small at day 30; EXTRA_UE (fewer persons than ITA) is its
    // partner; the other three tables hide both as followers.
    let shown: Vec<String> = set.iter().map(|t| statuses(&t.table)).collect();
    assert_eq!(shown, ["suxs", "sxxs", "sxxs", "sxxs"]);
    assert_eq!((protection.primary_cells, protection.secondary_cells), (1, 7));
    let published: Vec<PublishedTable> = set
        .iter()
        .map(|t| PublishedTable {
            scope: t.scope.clone(),
            ..as_published(&t.name, &t.table, &statuses(&t.table))
        })
        .collect();
    assert!(audit_of(&published, 5).is_safe());
}

#[test]
fn linked_tables_share_one_status_per_cell() {
    // sdcTools/UserSupport #133/#136: two tables with the same province
    // margins, protected one at a time, can disagree; together, a cell hidden
    // in one is hidden in the other.
    let s = Dimension::Sesso;
    let p = Dimension::Provincia;
    let by_sex = two_by_two();
    let by_province = table(vec![p], &[(&["TO"], 33, 11), (&["CN"], 60, 28), (&[TOTAL], 93, 39)]);
    let mut set = vec![
        ScopedTable {
            name: "per-sesso".into(),
            scope: scope(),
            table: by_sex,
            hidden_with: Vec::new(),
        },
        ScopedTable {
            name: "per-provincia".into(),
            scope: scope(),
            table: by_province,
            hidden_with: Vec::new(),
        },
    ];
    protect_set(&mut set, &reference(), Threshold::new(5).unwrap()).unwrap();
    assert_eq!(set[0].table.dims, vec![p, s]);
    assert_eq!(statuses(&set[0].table), "xusxxssss");
    assert_eq!(statuses(&set[1].table), "sss", "the margins stay published");
    let audit = audit_of(
        &[
            as_published("per-sesso", &set[0].table, &statuses(&set[0].table)),
            as_published("per-provincia", &set[1].table, &statuses(&set[1].table)),
        ],
        5,
    );
    assert!(audit.is_safe());
}

#[test]
fn a_cell_published_in_one_table_and_hidden_in_another_is_disclosed() {
    let t = two_by_two();
    let hidden = as_published("a", &t, "xusxxssss");
    let shown = as_published("b", &t, "sssssssss");
    let found = audit_of(&[hidden, shown], 5);
    assert_eq!(found.disclosed().count(), 4);
}

#[test]
fn tiny_unknown_citizenship_is_pooled_with_non_eu_and_eu_stays_published() {
    let p = Dimension::Provincia;
    let g = Dimension::GruppoCittadinanza;
    let t = table(
        vec![p, g],
        &[
            (&["TO", "ITA"], 3845, 2012),
            (&["TO", "UE"], 590, 282),
            (&["TO", "EXTRA_UE"], 858, 406),
            (&["TO", "ND"], 12, 3),
            (&["TO", TOTAL], 5305, 2703),
            (&[TOTAL, "ITA"], 3845, 2012),
            (&[TOTAL, "UE"], 590, 282),
            (&[TOTAL, "EXTRA_UE"], 858, 406),
            (&[TOTAL, "ND"], 12, 3),
            (&[TOTAL, TOTAL], 5305, 2703),
        ],
    );
    let (t, protection) = protect_one(t, 5);
    let keys: Vec<String> = t.rows.iter().map(|r| r.keys.join("/")).collect();
    assert_eq!(
        keys,
        [
            "TO/ITA",
            "TO/UE",
            "TO/EXTRA_UE_ND",
            "TO/TOTALE",
            "TOTALE/ITA",
            "TOTALE/UE",
            "TOTALE/EXTRA_UE_ND",
            "TOTALE/TOTALE"
        ]
    );
    assert_eq!(t.rows[2].population, 870);
    assert_eq!(t.rows[2].beneficiaries, 409);
    assert_eq!(statuses(&t), "ssssssss");
    assert_eq!(protection.recodings.len(), 1);
}
