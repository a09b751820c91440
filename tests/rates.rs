//! `rates` on the hand-computed fixture (tests/fixture.md): both
//! populations, every edge case of the activity and spell rules. The
//! extract holds 10 copies of each fixture person, so every expected count
//! is the fixture's times 10.

mod common;

use common::{counts, fixture_files, owned, run, run_ok, Workdir};

/// The answer from the CSV files, checked to be the same from the Parquet
/// cache (which stores the spells in their own order).
fn rates(extra: &[&str]) -> String {
    let work = Workdir::new();
    let dir = work.extract("fixture", &fixture_files());
    let mut args = vec!["rates", "--extract", dir.to_str().unwrap(), "--as-of", "31/12/2024"];
    args.extend_from_slice(extra);
    if !extra.contains(&"--format") {
        args.extend(["--format", "csv"]);
    }
    let from_csv = run_ok(&args);
    run_ok(&["import", "--extract", dir.to_str().unwrap()]);
    assert_eq!(run_ok(&args), from_csv, "from the cache: {extra:?}");
    from_csv
}

#[test]
fn stock_by_citizenship_group() {
    let out = rates(&["--year", "2024", "--by", "gruppo_cittadinanza"]);
    assert_eq!(
        counts(&out, &["gruppo_cittadinanza"]),
        owned(&[("ITA", 50, 40), ("UE", 10, 10), ("EXTRA_UE", 20, 0)])
    );
}

#[test]
fn stock_takes_the_province_of_the_latest_spell_and_breaks_ties_by_greatest_id() {
    let out = rates(&["--year", "2024", "--by", "provincia"]);
    assert_eq!(
        counts(&out, &["provincia"]),
        owned(&[("TO", 60, 40), ("CN", 10, 10), ("AL", 10, 0)])
    );
    assert!(out.contains("TO;Torino;60;40;0.6666666666666666"), "{out}");
}

#[test]
fn stock_measures_only() {
    let out = rates(&["--year", "2024", "--by", "gruppo_cittadinanza", "--select", "misure"]);
    assert_eq!(
        counts(&out, &["gruppo_cittadinanza"]),
        owned(&[("ITA", 50, 10), ("UE", 10, 0), ("EXTRA_UE", 20, 0)])
    );
    let by_lmp = rates(&["--year", "2024", "--by", "gruppo_cittadinanza", "--lmp", "2,4"]);
    assert_eq!(by_lmp, out, "--lmp 2,4 selects the same activities as misure here");
}

#[test]
fn stock_with_margins_has_totals() {
    let out = rates(&["--year", "2024", "--by", "gruppo_cittadinanza", "--margins"]);
    assert_eq!(
        counts(&out, &["gruppo_cittadinanza"]),
        owned(&[("ITA", 50, 40), ("UE", 10, 10), ("EXTRA_UE", 20, 0), ("TOTALE", 80, 50)])
    );
}

#[test]
fn period_given_as_dates_equals_the_year() {
    let by_year = rates(&["--year", "2024", "--by", "provincia"]);
    let by_dates = rates(&["--dal", "01/01/2024", "--al", "2024-12-31", "--by", "provincia"]);
    assert_eq!(by_year, by_dates);
}

#[test]
fn programme_breakdown_keeps_the_stratum_denominator() {
    let out = rates(&["--year", "2024", "--by", "programma", "--margins"]);
    assert_eq!(
        counts(&out, &["programma"]),
        owned(&[
            ("GOL", 80, 30),
            ("GG", 80, 10),
            ("FSE", 80, 0),
            ("FAMI", 80, 0),
            ("ORD", 80, 20),
            ("TOTALE", 80, 50)
        ])
    );
}

#[test]
fn operator_type_breakdown_keeps_the_stratum_denominator() {
    let out = rates(&["--year", "2024", "--by", "ente", "--margins"]);
    assert_eq!(
        counts(&out, &["ente"]),
        owned(&[("CPI", 80, 40), ("ACCREDITATO", 80, 10), ("TOTALE", 80, 50)])
    );
    let measures = rates(&[
        "--year",
        "2024",
        "--by",
        "gruppo_cittadinanza,ente",
        "--select",
        "misure",
    ]);
    assert_eq!(
        counts(&measures, &["gruppo_cittadinanza", "ente"]),
        owned(&[
            ("ITA/CPI", 50, 0),
            ("ITA/ACCREDITATO", 50, 10),
            ("UE/CPI", 10, 0),
            ("UE/ACCREDITATO", 10, 0),
            ("EXTRA_UE/CPI", 20, 0),
            ("EXTRA_UE/ACCREDITATO", 20, 0),
        ])
    );
    let narrowed = rates(&["--year", "2024", "--by", "gruppo_cittadinanza", "--ente", "CPI"]);
    assert_eq!(
        counts(&narrowed, &["gruppo_cittadinanza"]),
        owned(&[("ITA", 50, 30), ("UE", 10, 10), ("EXTRA_UE", 20, 0)])
    );
    let out = run(&["rates", "--ente", "PRIVATO"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ente PRIVATO: use any of CPI, ACCREDITATO"));
}

#[test]
fn margins_of_two_activity_breakdowns_count_each_beneficiary_once() {
    // P5 starts a service under GOL and one under ORD: one beneficiary of
    // category 1 however many programmes, so the category margin is not the
    // sum of the programmes' cells (GOL 2 + GG 1 + ORD 2).
    let out = rates(&["--year", "2024", "--by", "programma,categoria_lmp", "--margins"]);
    let cells = counts(&out, &["programma", "categoria_lmp"]);
    assert_eq!(cells.len(), 6 * 8, "{out}");
    assert!(cells.iter().all(|(_, n, _)| *n == 80), "{out}");
    let started: Vec<_> = cells.into_iter().filter(|(_, _, x)| *x > 0).collect();
    assert_eq!(
        started,
        owned(&[
            ("GOL/1", 80, 20),
            ("GOL/2", 80, 10),
            ("GOL/TOTALE", 80, 30),
            ("GG/1", 80, 10),
            ("GG/TOTALE", 80, 10),
            ("ORD/1", 80, 20),
            ("ORD/TOTALE", 80, 20),
            ("TOTALE/1", 80, 40),
            ("TOTALE/2", 80, 10),
            ("TOTALE/TOTALE", 80, 50),
        ])
    );
}

#[test]
fn margins_cover_every_combination_of_two_breakdowns() {
    let out = rates(&["--year", "2024", "--by", "provincia,gruppo_cittadinanza", "--margins"]);
    assert_eq!(
        counts(&out, &["provincia", "gruppo_cittadinanza"]),
        owned(&[
            ("TO/ITA", 40, 40),
            ("TO/EXTRA_UE", 20, 0),
            ("TO/TOTALE", 60, 40),
            ("CN/UE", 10, 10),
            ("CN/TOTALE", 10, 10),
            ("AL/ITA", 10, 0),
            ("AL/TOTALE", 10, 0),
            ("TOTALE/ITA", 50, 40),
            ("TOTALE/UE", 10, 10),
            ("TOTALE/EXTRA_UE", 20, 0),
            ("TOTALE/TOTALE", 80, 50),
        ])
    );
}

#[test]
fn cohort_counts_activities_within_the_window_from_the_earliest_spell() {
    let out = rates(&[
        "--population",
        "coorte",
        "--window",
        "365",
        "--year",
        "2023",
        "--by",
        "gruppo_cittadinanza",
    ]);
    assert_eq!(
        counts(&out, &["gruppo_cittadinanza"]),
        owned(&[("ITA", 30, 20), ("UE", 10, 10), ("EXTRA_UE", 10, 0)])
    );
    let by_province = rates(&["--population", "coorte", "--year", "2023", "--by", "provincia"]);
    assert_eq!(
        counts(&by_province, &["provincia"]),
        owned(&[("TO", 40, 30), ("NO", 10, 0)])
    );
}

#[test]
fn cohort_follow_up_is_cut_by_the_as_of_date() {
    let work = Workdir::new();
    let dir = work.extract("fixture", &fixture_files());
    let dir = dir.to_str().unwrap();
    let base = [
        "rates",
        "--extract",
        dir,
        "--as-of",
        "31/12/2024",
        "--population",
        "coorte",
        "--year",
        "2024",
        "--format",
        "csv",
    ];

    let out = run(&[&base[..], &["--window", "30"]].concat());
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cohort: 10 persons"), "{stderr}");
    let all = counts(&String::from_utf8(out.stdout).unwrap(), &[]);
    assert_eq!(
        all,
        owned(&[("", 60, 20)]),
        "P2 and P8 start an activity on their DID date"
    );

    let out = run(&[&base[..], &["--window", "30", "--complete-followup"]].concat());
    assert_eq!(
        counts(&String::from_utf8(out.stdout).unwrap(), &[]),
        owned(&[("", 50, 10)]),
        "P8 left out"
    );

    let out = run(&[&base[..], &["--window", "365"]].concat());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cohort: 60 persons"));
}

#[test]
fn json_and_table_carry_the_same_numbers() {
    let json = rates(&["--year", "2024", "--by", "sesso", "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = parsed.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["sesso"], "M");
    assert_eq!(rows[0]["popolazione"], 50);
    assert_eq!(rows[0]["beneficiari"], 40);
    assert_eq!(rows[1]["sesso"], "F");
    assert_eq!(rows[1]["tasso"], 1.0 / 3.0);

    let table = rates(&["--year", "2024", "--by", "sesso", "--format", "table"]);
    assert!(table.contains("80,0"), "Italian percentages: {table}");
    let english = rates(&["--year", "2024", "--by", "sesso", "--format", "table", "--lang", "en"]);
    assert!(english.contains("80.0") && english.contains("rate %"), "{english}");
}

#[test]
fn top_citizenships_pool_the_rest() {
    let out = rates(&["--year", "2024", "--by", "cittadinanza", "--top", "1", "--margins"]);
    assert_eq!(
        counts(&out, &["cittadinanza"]),
        owned(&[("100", 50, 40), ("436", 20, 0), ("ALTRE", 10, 10), ("TOTALE", 80, 50)])
    );
    assert!(out.contains("436;Marocco;"), "{out}");
}

#[test]
fn no_identifier_reaches_the_output() {
    let out = rates(&[
        "--year",
        "2024",
        "--by",
        "provincia,cpi,cittadinanza,sesso,classe_eta",
        "--margins",
        "--format",
        "json",
    ]);
    for id in ["P1-", "D5a-", "X1-", "D11a-", "L1"] {
        assert!(!out.contains(id), "{id} in output");
    }
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let out = run(&["rates", "--by", "provincia,nazione"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown breakdown \"nazione\""));
    let out = run(&["rates", "--top", "5", "--by", "provincia"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add cittadinanza to --by"));
    let out = run(&["rates", "--extract", "/nonexistent/extract"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/extract"));
}
