//! Disclosure control end to end: which cells are suppressed, and that
//! nothing they hide reaches any output format.

mod common;

use common::{cell, extract_of_cells, records, run, run_ok, Workdir};

/// Worked out by hand, threshold 5:
/// TO/F (3 persons) is primary `u`; row TO then has one suppressed cell, so
/// its smallest other cell TO/M (20) becomes `x`; column M then has one
/// (TO/M), so CN/M (30, the smallest left) becomes `x`; column F has one
/// (TO/F), so CN/F (25) becomes `x`; every line now has 0 or 2 suppressed.
const PATTERN: [(&str, &str); 12] = [
    ("TO/M", "x"),
    ("TO/F", "u"),
    ("TO/TOTALE", "s"),
    ("CN/M", "x"),
    ("CN/F", "x"),
    ("CN/TOTALE", "s"),
    ("AL/M", "s"),
    ("AL/F", "s"),
    ("AL/TOTALE", "s"),
    ("TOTALE/M", "s"),
    ("TOTALE/F", "s"),
    ("TOTALE/TOTALE", "s"),
];

fn pattern_extract(work: &Workdir) -> std::path::PathBuf {
    work.extract(
        "pattern",
        &extract_of_cells(&[
            cell("001", "M", "100", 1980, 20, 10),
            cell("001", "F", "100", 1980, 3, 1),
            cell("004", "M", "100", 1980, 30, 12),
            cell("004", "F", "100", 1980, 25, 10),
            cell("006", "M", "100", 1980, 40, 20),
            cell("006", "F", "100", 1980, 35, 15),
        ]),
    )
}

/// `rates --by provincia,sesso` for 2024 on the pattern extract, with more options.
fn pattern_rates(extra: &[&str]) -> String {
    let work = Workdir::new();
    let dir = pattern_extract(&work);
    let mut args = vec![
        "rates",
        "--extract",
        dir.to_str().unwrap(),
        "--year",
        "2024",
        "--by",
        "provincia,sesso",
    ];
    args.extend_from_slice(extra);
    run_ok(&args)
}

fn statuses(csv_text: &str) -> String {
    records(csv_text).iter().map(|r| r["stato_cella"].clone()).collect()
}

#[test]
fn suppression_pattern_matches_the_hand_worked_one() {
    let out = pattern_rates(&["--margins", "--format", "csv"]);
    let rows = records(&out);
    let found: Vec<(String, String)> = rows
        .iter()
        .map(|r| (format!("{}/{}", r["provincia"], r["sesso"]), r["stato_cella"].clone()))
        .collect();
    let expected: Vec<(String, String)> = PATTERN.iter().map(|(k, s)| (k.to_string(), s.to_string())).collect();
    assert_eq!(found, expected);
    for row in &rows {
        let hidden = row["stato_cella"] != "s";
        for column in [
            "popolazione",
            "beneficiari",
            "tasso",
            "ic95_inf",
            "ic95_sup",
            "affidabile",
        ] {
            assert_eq!(row[column].is_empty(), hidden, "{column} of {row:?}");
        }
    }
    let total = rows
        .iter()
        .find(|r| r["provincia"] == "TOTALE" && r["sesso"] == "TOTALE")
        .unwrap();
    assert_eq!(
        (total["popolazione"].as_str(), total["beneficiari"].as_str()),
        ("153", "68")
    );
}

#[test]
fn suppressed_values_appear_in_no_format() {
    for format in ["table", "csv", "json"] {
        let out = pattern_rates(&["--margins", "--format", format]);
        // TO/F is 3 persons, 1 beneficiary, 33.3%: no published cell has that rate.
        for hidden in ["33,3", "0.3333", "0.6666"] {
            assert!(!out.contains(hidden), "{format} shows {hidden}:\n{out}");
        }
    }
    let json = pattern_rates(&["--margins", "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let to_f = &rows[1];
    assert_eq!(
        (to_f["provincia"].as_str(), to_f["sesso"].as_str()),
        (Some("TO"), Some("F"))
    );
    assert!(to_f["popolazione"].is_null() && to_f["beneficiari"].is_null() && to_f["tasso"].is_null());
    assert_eq!(to_f["stato_cella"], "u");
}

#[test]
fn without_margins_the_same_cells_are_hidden_as_with_them() {
    // `rates --by provincia` and `--by sesso` print the margins, so a table
    // printed without them is protected as if they were published.
    assert_eq!(statuses(&pattern_rates(&["--format", "csv"])), "xuxxss");
}

/// Three persons in each province and sex: every inner cell and every
/// margin but the grand total is under the threshold, 8 of the 9 printed.
#[test]
fn a_table_mostly_hidden_says_so() {
    let work = Workdir::new();
    let tiny = work.extract(
        "tiny",
        &extract_of_cells(&[
            cell("001", "M", "100", 1980, 3, 1),
            cell("001", "F", "100", 1980, 3, 1),
            cell("004", "M", "100", 1980, 3, 2),
            cell("004", "F", "100", 1980, 3, 1),
        ]),
    );
    let rates = |dir: &std::path::Path| {
        run(&[
            "rates",
            "--extract",
            dir.to_str().unwrap(),
            "--year",
            "2024",
            "--by",
            "provincia,sesso",
            "--margins",
        ])
    };
    let out = rates(&tiny);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: 8 of the 9 cells are hidden (8 under the threshold of 5 persons"),
        "{stderr}"
    );
    // The hand-worked pattern hides 4 of its 12: no warning.
    let out = rates(&pattern_extract(&work));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cells are hidden"));
}

#[test]
fn threshold_is_configurable_but_never_below_three() {
    // At 11, TO/M (10 non-beneficiaries) and CN/F (10 beneficiaries) join
    // TO/F; row CN then hides one cell, so CN/M (30) is its partner. Each
    // line's hidden cells add up to 11 or more of each count: TO 23/11,
    // column M 50/22, column F 28/11.
    assert_eq!(
        statuses(&pattern_rates(&["--threshold", "11", "--format", "csv"])),
        "uuxuss"
    );
    let out = run(&["rates", "--threshold", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbid publishing cells under 3"));
}

#[test]
fn a_gap_row_whose_italians_are_hidden_keeps_its_groups_figures_and_passes_the_audit() {
    // Among women the Italians (3) and the EU citizens (8, 3 beneficiaries)
    // are small; the 10 non-EU women (5 beneficiaries) are not.
    let work = Workdir::new();
    let dir = work.extract(
        "cells",
        &extract_of_cells(&[
            cell("001", "M", "100", 1980, 20, 10),
            cell("001", "F", "100", 1980, 3, 2),
            cell("001", "M", "235", 1980, 10, 5),
            cell("001", "F", "235", 1980, 8, 3),
            cell("001", "M", "436", 1980, 20, 10),
            cell("001", "F", "436", 1980, 10, 5),
        ]),
    );
    let folder = work.path().join("published");
    std::fs::create_dir_all(&folder).unwrap();
    let ask = |command: &str, by: &str, file: &str| {
        run_ok(&[
            command,
            "--extract",
            dir.to_str().unwrap(),
            "--year",
            "2024",
            "--by",
            by,
            "--format",
            "csv",
            "--output",
            folder.join(file).to_str().unwrap(),
        ]);
        records(&std::fs::read_to_string(folder.join(file)).unwrap())
    };
    let gap = ask("gap", "sesso", "divario.csv");
    let rates = ask("rates", "sesso,gruppo_cittadinanza", "accesso.csv");
    let women = gap
        .iter()
        .find(|r| r["sesso"] == "F" && r["gruppo_cittadinanza"] == "EXTRA_UE")
        .unwrap();
    assert_eq!(
        (
            women["popolazione"].as_str(),
            women["beneficiari"].as_str(),
            women["stato_cella"].as_str()
        ),
        ("10", "5", "s")
    );
    assert_eq!(
        (women["popolazione_ita"].as_str(), women["differenza"].as_str()),
        ("", "")
    );
    let italians = rates
        .iter()
        .find(|r| r["sesso"] == "F" && r["gruppo_cittadinanza"] == "ITA")
        .unwrap();
    assert_eq!(italians["stato_cella"], "u");
    // The gap row agrees with the rates table on the non-EU women: the
    // audit finds nothing to recover in the two files.
    let audit = run(&["audit", folder.to_str().unwrap()]);
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&audit.stdout)
    );
}
