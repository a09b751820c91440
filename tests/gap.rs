//! `gap` end to end: the spec's Newcombe check value, and standardisation
//! that removes a gap due only to age.

mod common;

use common::{cell, extract_of_cells, records, run, run_ok, Workdir};

/// Non-EU: 60 young (48 beneficiaries) and 10 older (8): 56/70, 80% in both ages.
/// Italians: 20 young (16) and 60 older (32): 48/80. The crude gap is the
/// spec's Newcombe example; within each age it is 0 for the young.
fn age_confounded(work: &Workdir) -> String {
    let dir = work.extract(
        "ages",
        &extract_of_cells(&[
            cell("001", "M", "436", 2000, 60, 48),
            cell("001", "M", "436", 1980, 10, 8),
            cell("001", "M", "100", 2000, 20, 16),
            cell("001", "M", "100", 1980, 60, 32),
        ]),
    );
    dir.to_str().unwrap().to_string()
}

fn close(value: &str, expected: f64, decimals: i32) {
    let v: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {value:?}"));
    assert!((v - expected).abs() <= 0.5 * 10f64.powi(-decimals), "{v} != {expected}");
}

#[test]
fn crude_gap_has_the_newcombe_and_katz_intervals() {
    let work = Workdir::new();
    let dir = age_confounded(&work);
    let out = run_ok(&["gap", "--extract", &dir, "--year", "2024", "--format", "csv"]);
    let rows = records(&out);
    assert_eq!(rows.len(), 1, "{out}");
    let r = &rows[0];
    assert_eq!(r["gruppo_cittadinanza"], "EXTRA_UE");
    assert_eq!((r["popolazione"].as_str(), r["beneficiari"].as_str()), ("70", "56"));
    assert_eq!(
        (r["popolazione_ita"].as_str(), r["beneficiari_ita"].as_str()),
        ("80", "48")
    );
    close(&r["differenza"], 0.2, 9);
    close(&r["diff_ic95_inf"], 0.0524315, 6);
    close(&r["diff_ic95_sup"], 0.3338727, 6);
    close(&r["rapporto"], 0.8 / 0.6, 9);
    // Shares: 56/104 of beneficiaries, 70/150 of eligible.
    close(&r["indice_rappresentazione"], (56.0 / 104.0) / (70.0 / 150.0), 9);
    assert_eq!(r["affidabile"], "true");
    assert_eq!(r["stato_cella"], "s");
}

#[test]
fn standardisation_removes_a_gap_due_to_age() {
    let work = Workdir::new();
    let dir = age_confounded(&work);
    // Standard = all 150 eligible: 80 young, 70 older.
    let out = run_ok(&["gap", "--extract", &dir, "--year", "2024", "--format", "csv"]);
    let r = &records(&out)[0];
    close(&r["tasso_standardizzato"], 0.8, 9);
    close(
        &r["tasso_standardizzato_ita"],
        0.8 * 80.0 / 150.0 + (32.0 / 60.0) * 70.0 / 150.0,
        9,
    );
    // Standard = Italians: 20 young, 60 older; Italians keep their crude rate.
    let out = run_ok(&[
        "gap",
        "--extract",
        &dir,
        "--year",
        "2024",
        "--standard",
        "ita",
        "--format",
        "csv",
    ]);
    let r = &records(&out)[0];
    close(&r["tasso_standardizzato"], 0.8, 9);
    close(&r["tasso_standardizzato_ita"], 0.6, 9);
    // By age at threshold 3: the older non-EU (10 persons, 2 non-beneficiaries)
    // are small; the non-EU total would give them away from the young, and the
    // older row's total from the older Italians, so those are hidden too. The
    // young row's gap, zero, would reopen the young non-EU cell: it is hidden.
    let out = run_ok(&[
        "gap",
        "--extract",
        &dir,
        "--year",
        "2024",
        "--by",
        "classe_eta",
        "--threshold",
        "3",
        "--format",
        "csv",
    ]);
    let statuses: Vec<(String, String)> = records(&out)
        .into_iter()
        .map(|r| (r["classe_eta"].clone(), r["stato_cella"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("15-24".to_string(), "x".to_string()),
            ("30-54".to_string(), "u".to_string())
        ]
    );
}

#[test]
fn gap_by_citizenship_compares_with_italy_and_respects_suppression() {
    let work = Workdir::new();
    let dir = work.extract(
        "countries",
        &extract_of_cells(&[
            cell("001", "F", "100", 1980, 50, 30),
            cell("001", "F", "436", 1980, 40, 10),
            cell("001", "F", "201", 1980, 30, 12),
            cell("001", "F", "243", 1980, 3, 1),
        ]),
    );
    let out = run_ok(&[
        "gap",
        "--extract",
        dir.to_str().unwrap(),
        "--year",
        "2024",
        "--by",
        "cittadinanza",
        "--format",
        "csv",
    ]);
    let rows = records(&out);
    let codes: Vec<&str> = rows.iter().map(|r| r["cittadinanza"].as_str()).collect();
    assert_eq!(codes, ["201", "243", "436"], "ISTAT order, Italy is the reference");
    assert_eq!(rows[1]["stato_cella"], "u");
    assert!(rows[1]["popolazione"].is_empty() && rows[1]["differenza"].is_empty());
    close(&rows[2]["differenza"], 10.0 / 40.0 - 30.0 / 50.0, 9);
    // Ukraine's 3 persons are suppressed, so the stratum total is not public:
    // no representation index may reveal it.
    assert!(rows[2]["indice_rappresentazione"].is_empty());
}

#[test]
fn gap_refuses_two_citizenship_breakdowns() {
    let out = run(&["gap", "--by", "cittadinanza,gruppo_cittadinanza"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keep one"));
}

/// `ente` is a stratum like any other: within each operator type, the
/// stratum's eligible persons stay the denominator (tests/fixture.md).
#[test]
fn gap_by_operator_type_compares_within_each_type() {
    let work = Workdir::new();
    let dir = work.extract("fixture", &common::fixture_files());
    let out = run_ok(&[
        "gap",
        "--extract",
        dir.to_str().unwrap(),
        "--as-of",
        "31/12/2024",
        "--year",
        "2024",
        "--by",
        "ente",
        "--format",
        "csv",
    ]);
    let rows = records(&out);
    let row = |ente: &str, group: &str| {
        rows.iter()
            .find(|r| r["ente"] == ente && r["gruppo_cittadinanza"] == group)
            .unwrap_or_else(|| panic!("no {ente}/{group} in {out}"))
    };
    let eu_at_centres = row("CPI", "UE");
    assert_eq!(
        (
            eu_at_centres["popolazione"].as_str(),
            eu_at_centres["beneficiari"].as_str()
        ),
        ("10", "10")
    );
    assert_eq!(
        (
            eu_at_centres["popolazione_ita"].as_str(),
            eu_at_centres["beneficiari_ita"].as_str()
        ),
        ("50", "30")
    );
    close(&eu_at_centres["differenza"], 1.0 - 0.6, 9);
    // 10 of the 40 CPI beneficiaries, 10 of the 80 eligible.
    close(
        &eu_at_centres["indice_rappresentazione"],
        (10.0 / 40.0) / (10.0 / 80.0),
        9,
    );
    let non_eu_accredited = row("ACCREDITATO", "EXTRA_UE");
    assert_eq!(non_eu_accredited["beneficiari"], "0");
    assert_eq!(non_eu_accredited["beneficiari_ita"], "10");
    close(&non_eu_accredited["differenza"], -0.2, 9);
}
