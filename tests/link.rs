//! `--link`: a linked file of another database on the hand-computed fixture
//! (tests/fixture.md, "A linked file"): its rows checked and accounted for,
//! its columns as breakdowns from the CSV files and from the cache, the
//! linkage by citizenship group, jobs, the audit, `pseudonymise` and the
//! shipped example.

mod common;

use common::{counts, fixture_files, owned, records, replicate, run, run_ok, Workdir};

/// The linked file of tests/fixture.md: P3 CAS, P4 SAI, P5 with no value
/// (ND), P10 CAS; P99 is no person of the extract; P1's code is not
/// declared; P6 is named twice; P2's row has one field.
const LINKED: &str = "\
id_lav;accoglienza;nota
P3;CAS;x
P4;SAI;
P5;;
P10;CAS;
P99;CAS;
P1;XYZ;
P6;SAI;
P6;CAS;
P2
";

const DECLARATION: &str = r#"source = "Accoglienza (fixture)"

[[column]]
name = "accoglienza"
codes = ["CAS", "SAI"]
labels = { CAS = "Straordinaria" }
"#;

/// The fixture's extract with the linked file `accoglienza.csv` and its
/// declaration beside it (in the extract folder, as analysts keep them).
fn linked_fixture(work: &Workdir) -> (String, String) {
    let dir = work.extract("fixture", &fixture_files());
    let linked = dir.join("accoglienza.csv");
    std::fs::write(&linked, replicate(LINKED, &[0])).unwrap();
    std::fs::write(dir.join("accoglienza.toml"), DECLARATION).unwrap();
    (dir.display().to_string(), linked.display().to_string())
}

/// The arguments of `command` on the fixture in `dir` linked to `linked`,
/// for 2024 as of 31/12/2024, then `rest`.
fn linked_args<'a>(command: &'a str, dir: &'a str, linked: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        command,
        "--extract",
        dir,
        "--as-of",
        "31/12/2024",
        "--year",
        "2024",
        "--link",
        linked,
    ];
    args.extend_from_slice(rest);
    args
}

fn rates_linked(dir: &str, linked: &str, by: &str) -> std::process::Output {
    run(&linked_args("rates", dir, linked, &["--by", by, "--format", "csv"]))
}

#[test]
fn a_linked_column_breaks_down_the_persons_and_every_row_is_accounted_for() {
    let work = Workdir::new();
    let (dir, linked) = linked_fixture(&work);
    let out = rates_linked(&dir, &linked, "accoglienza,gruppo_cittadinanza");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    // Stock 2024: P3 CAS and P4 SAI (EXTRA_UE, no access), P5 ND (UE, a
    // beneficiary); P1, P2, P6 (whose rows were rejected), P8 and P9 are
    // not linked. P10 is linked but not in the 2024 stock.
    assert_eq!(
        counts(&table, &["accoglienza", "gruppo_cittadinanza"]),
        owned(&[
            ("CAS/EXTRA_UE", 10, 0),
            ("SAI/EXTRA_UE", 10, 0),
            ("ND/UE", 10, 10),
            ("NON_COLLEGATO/ITA", 50, 40),
        ])
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 9 rows x 10 copies: P99 (unknown person), P1 (code), P6 twice
    // (duplicate) and P2 (fields) rejected.
    assert!(
        stderr.contains("accoglienza.csv: 90 rows read, 40 used, 50 rejected"),
        "{stderr}"
    );
    // The extract's 110 persons: 70 Italians (none linked), 10 EU (P5),
    // 30 non-EU (P3, P4, P10).
    assert!(
        stderr.contains("linkage of accoglienza.csv: 40 of the extract's 110 persons are in it (36.4%)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  ITA: 0 of 70 linked (0.0%), 70 not linked"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  UE: 10 of 10 linked (100.0%), 0 not linked"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  EXTRA_UE: 30 of 30 linked (100.0%), 0 not linked"),
        "{stderr}"
    );
}

#[test]
fn a_linked_files_rejects_name_line_column_value_and_reason() {
    let work = Workdir::new();
    let (dir, linked) = linked_fixture(&work);
    let rejects = work.path().join("scarti.csv");
    run_ok(&[
        "rates",
        "--extract",
        &dir,
        "--as-of",
        "31/12/2024",
        "--link",
        &linked,
        "--by",
        "accoglienza",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&rejects).unwrap();
    let of = |line: u32| -> Vec<&str> {
        text.lines()
            .filter(|l| l.starts_with(&format!("accoglienza.csv;{line};")))
            .collect()
    };
    // Copy 0 sits on lines 2-10.
    assert_eq!(
        of(6),
        ["accoglienza.csv;6;id_lav;P99-0;unknown person: not among the valid rows of lavoratori.csv"]
    );
    assert_eq!(
        of(7),
        ["accoglienza.csv;7;accoglienza;XYZ;not a code of accoglienza declared in accoglienza.toml: CAS, SAI"]
    );
    assert_eq!(
        of(8),
        ["accoglienza.csv;8;id_lav;P6-0;duplicate id_lav: every row with this value is rejected"]
    );
    assert_eq!(of(9).len(), 1);
    assert!(
        of(10)[0].starts_with("accoglienza.csv;10;;P2-0;1 fields where the header has 3"),
        "{:?}",
        of(10)
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("accoglienza.csv;")).count(), 50);

    let strict = run(&[
        "rates",
        "--extract",
        &dir,
        "--link",
        &linked,
        "--by",
        "accoglienza",
        "--strict",
    ]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(strict.stdout.is_empty());
}

#[test]
fn the_cache_and_every_as_of_date_give_the_linked_numbers_of_the_csv_files() {
    let work = Workdir::new();
    let (dir, linked) = linked_fixture(&work);
    let by = "accoglienza,sesso";
    let from_csv = rates_linked(&dir, &linked, by);
    run_ok(&["import", "--extract", &dir]);
    let from_cache = rates_linked(&dir, &linked, by);
    assert!(String::from_utf8_lossy(&from_cache.stderr).contains("read from the Parquet cache"));
    assert_eq!(from_cache.stdout, from_csv.stdout);
    assert_eq!(
        counts(&String::from_utf8(from_csv.stdout).unwrap(), &["accoglienza", "sesso"]),
        owned(&[
            ("CAS/M", 10, 0),
            ("SAI/F", 10, 0),
            ("ND/M", 10, 10),
            ("NON_COLLEGATO/M", 30, 30),
            ("NON_COLLEGATO/F", 20, 10),
        ])
    );
    // Read against another as-of date, the cache's identifiers are text.
    let args = |cache: bool| {
        let mut args = vec![
            "rates",
            "--extract",
            &dir,
            "--as-of",
            "30/11/2024",
            "--year",
            "2024",
            "--link",
            &linked,
            "--by",
            by,
            "--format",
            "csv",
        ];
        if !cache {
            args.push("--no-cache");
        }
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let with = |cache| {
        let args = args(cache);
        run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(with(true), with(false));
}

#[test]
fn wrong_links_are_refused_saying_what_to_do() {
    let work = Workdir::new();
    let (dir, _) = linked_fixture(&work);
    let refused = |args: &[&str], says: &str| {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };
    refused(
        &["rates", "--extract", &dir, "--by", "accoglienza"],
        "a column of another database needs its file: --link FILE",
    );
    let lone = work.path().join("lone.csv");
    std::fs::write(&lone, "id_lav;accoglienza\n").unwrap();
    refused(
        &[
            "rates",
            "--extract",
            &dir,
            "--link",
            lone.to_str().unwrap(),
            "--by",
            "accoglienza",
        ],
        "cannot read its declaration",
    );
    let clash = work.path().join("clash.csv");
    std::fs::write(&clash, "id_lav;sesso\n").unwrap();
    std::fs::write(
        work.path().join("clash.toml"),
        "source = \"x\"\n[[column]]\nname = \"sesso\"\ncodes = [\"A\"]\n",
    )
    .unwrap();
    refused(
        &["rates", "--extract", &dir, "--link", clash.to_str().unwrap()],
        "column name \"sesso\" is, or reads like, a column of the extract",
    );
    let missing = work.path().join("missing.csv");
    std::fs::write(&missing, "id_lav;altro\nP1-0;A\n").unwrap();
    std::fs::write(work.path().join("missing.toml"), DECLARATION).unwrap();
    refused(
        &[
            "rates",
            "--extract",
            &dir,
            "--link",
            missing.to_str().unwrap(),
            "--by",
            "accoglienza",
        ],
        "no column accoglienza although its declaration lists it",
    );
    let identified = work.path().join("identified.csv");
    std::fs::write(&identified, "id_lav;accoglienza\nRSSMRA80A01L219X;CAS\n").unwrap();
    std::fs::write(work.path().join("identified.toml"), DECLARATION).unwrap();
    let out = run(&["rates", "--extract", &dir, "--link", identified.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("identified.csv, line 2: id_lav holds what looks like a codice fiscale"));
    assert!(!stderr.contains("RSSMRA"), "{stderr}");
}

#[test]
fn a_job_with_a_linked_file_publishes_its_breakdowns_and_passes_the_audit() {
    let work = Workdir::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let job = work.path().join("job.toml");
    std::fs::write(
        &job,
        format!(
            r#"output = "out"
years = [2024]
link = ["{}"]

[[table]]
name = "accoglienza-gruppo"
command = "rates"
by = ["accoglienza", "gruppo_cittadinanza"]
margins = true
formats = ["csv", "json"]

[[table]]
name = "gruppo"
command = "rates"
by = ["gruppo_cittadinanza"]
formats = ["csv"]

[[table]]
name = "permanenza"
command = "rates"
by = ["permanenza"]
formats = ["csv"]

[[table]]
name = "cas-sesso"
command = "rates"
by = ["accoglienza", "sesso"]
where = ["accoglienza=CAS"]
formats = ["csv"]
"#,
            root.join("examples/accoglienza.csv").display()
        ),
    )
    .unwrap();
    run_ok(&["run", "--config", job.to_str().unwrap()]);
    let out = work.path().join("out");
    let table = records(&std::fs::read_to_string(out.join("accoglienza-gruppo-2024.csv")).unwrap());
    let of = |linked: &str, group: &str| {
        table
            .iter()
            .find(|r| r["accoglienza"] == linked && r["gruppo_cittadinanza"] == group)
            .map(|r| {
                (
                    r["popolazione"].clone(),
                    r["beneficiari"].clone(),
                    r["stato_cella"].clone(),
                )
            })
    };
    // Reception hosts no Italian: every Italian is unlinked, and the
    // margin over the linked column is the group's total of the table by
    // group alone, published with it.
    assert_eq!(of("NON_COLLEGATO", "ITA"), of("TOTALE", "ITA"));
    assert_eq!(of("CAS", "ITA"), None);
    let groups = records(&std::fs::read_to_string(out.join("gruppo-2024.csv")).unwrap());
    for group in ["ITA", "UE", "EXTRA_UE"] {
        let alone = groups.iter().find(|r| r["gruppo_cittadinanza"] == group).unwrap();
        assert_eq!(
            of("TOTALE", group),
            Some((
                alone["popolazione"].clone(),
                alone["beneficiari"].clone(),
                alone["stato_cella"].clone()
            )),
            "{group}"
        );
    }
    assert_eq!(of("TOTALE", "ITA").unwrap().0, "7633");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("job.json")).unwrap()).unwrap();
    assert_eq!(manifest["linked"][0]["file"], "accoglienza.csv");
    assert_eq!(manifest["linked"][0]["columns"]["accoglienza"][3], "ND");
    let filtered = records(&std::fs::read_to_string(out.join("cas-sesso-2024.csv")).unwrap());
    assert!(!filtered.is_empty() && filtered.iter().all(|r| r["accoglienza"] == "CAS"));
    let listed = manifest["tabelle_pubblicate"].as_array().unwrap();
    let entry = |file: &str| listed.iter().find(|t| t["file"] == file).unwrap().clone();
    assert_eq!(entry("cas-sesso-2024.csv")["filtered"], true);
    assert!(entry("gruppo-2024.csv").get("filtered").is_none());
    let verdict = run(&["audit", out.to_str().unwrap()]);
    assert!(verdict.status.success());
    assert!(String::from_utf8_lossy(&verdict.stdout).contains("verdict: safe"));
}

#[test]
fn the_shipped_linked_example_is_what_generate_writes_for_the_sample() {
    let work = Workdir::new();
    let out = work.path().join("sample");
    run_ok(&[
        "generate",
        "--persons",
        "20000",
        "--seed",
        "2024",
        "--out",
        out.to_str().unwrap(),
        "--accoglienza",
    ]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["accoglienza.csv", "accoglienza.toml"] {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(root.join("examples").join(name)).unwrap(),
            "{name}"
        );
    }
    // The extract's own files are the sample's, with or without the linked file.
    assert_eq!(
        std::fs::read(out.join("lavoratori.csv")).unwrap(),
        std::fs::read(root.join("data-samples/piemonte-20k/lavoratori.csv")).unwrap()
    );
}

#[test]
fn the_audit_reads_a_column_it_does_not_know_as_a_linked_breakdown() {
    // A hidden cell of a linked breakdown, recoverable as its margin less
    // the other cell: only an audit that tells CAS from SAI sees it.
    let work = Workdir::new();
    let folder = work.path().join("tabelle");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("accoglienza.csv"),
        "accoglienza;popolazione;beneficiari;stato_cella\nCAS;;;u\nSAI;20;10;s\nTOTALE;23;11;s\n",
    )
    .unwrap();
    let out = run(&["audit", folder.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let found = records(&String::from_utf8(out.stdout).unwrap());
    let cas = found
        .iter()
        .find(|r| r["cella"].starts_with("accoglienza=CAS"))
        .unwrap();
    assert_eq!(
        (cas["popolazione_min"].as_str(), cas["popolazione_max"].as_str()),
        ("3", "3")
    );
}

#[test]
fn where_prints_the_rows_of_one_code_of_a_table_protected_whole() {
    let work = Workdir::new();
    let (dir, linked) = linked_fixture(&work);
    let out = run_ok(&linked_args(
        "rates",
        &dir,
        &linked,
        &[
            "--by",
            "accoglienza,sesso",
            "--margins",
            "--where",
            "accoglienza=NON_COLLEGATO",
            "--format",
            "csv",
        ],
    ));
    // P1 P8 P9 (M, all beneficiaries), P2 (F, beneficiary), P6 (F, not).
    assert_eq!(
        counts(&out, &["accoglienza", "sesso"]),
        owned(&[
            ("NON_COLLEGATO/M", 30, 30),
            ("NON_COLLEGATO/F", 20, 10),
            ("NON_COLLEGATO/TOTALE", 50, 40),
        ])
    );
    let refused = run(&[
        "rates",
        "--extract",
        &dir,
        "--link",
        &linked,
        "--by",
        "sesso",
        "--where",
        "accoglienza=CAS",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("accoglienza is not among the breakdowns of --by"));
}

#[test]
fn every_column_the_tables_print_is_a_breakdown_a_label_or_a_statistic_the_audit_knows() {
    // Else the audit would take a new statistic for a linked breakdown and
    // lose the identity of cells across tables.
    use silp_access::table::{is_label_column, is_statistic_column, Dimension};
    let known = |column: &str| {
        Dimension::ALL.iter().any(|d| d.name() == column) || is_label_column(column) || is_statistic_column(column)
    };
    let mut headers: Vec<String> = Vec::new();
    for args in [
        &[
            "rates",
            "--by",
            "provincia,cittadinanza,categoria_lmp",
            "--confidence",
            "0.9",
        ][..],
        &["gap", "--by", "provincia", "--confidence", "0.975"],
        &["survival", "--by", "sesso", "--competing"],
        &["survival", "--by", "sesso", "--event", "assunzione"],
        &["outcomes", "--by", "sesso", "--gap"],
        &["outcomes", "--by", "sesso", "--outcome", "stabili"],
        &["outcomes", "--by", "sesso", "--origin", "did"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--format", "csv"]);
        headers.push(run_ok(&args).lines().next().unwrap().to_string());
    }
    let tables = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/piemonte-20k/tabelle");
    for entry in std::fs::read_dir(tables).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let header = text.lines().next().unwrap().to_string();
        if header.split(';').any(|c| c == "popolazione") {
            headers.push(header);
        }
    }
    for header in &headers {
        for column in header.split(';') {
            assert!(known(column), "{column} of {header}");
        }
    }
    assert!(!known("accoglienza") && known("ic97_5_inf") && known("esiti_ita"));
}

#[test]
fn validate_checks_a_linked_file_and_reports_its_linkage() {
    let work = Workdir::new();
    let (dir, linked) = linked_fixture(&work);
    let out = run(&["validate", "--extract", &dir, "--link", &linked, "--format", "json"]);
    // Its rows are rejected: validate exits 1, its report written.
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == "accoglienza.csv")
        .unwrap();
    assert_eq!(
        (file["rows_read"].as_u64(), file["rows_used"].as_u64()),
        (Some(90), Some(40))
    );
    assert_eq!(file["duplicate_ids"], 10);
    assert_eq!(file["duplicate_rows"], 20);
    assert_eq!(file["unknown_person_rows"], 10);
    assert_eq!(
        report["linkage"][0]["groups"][2],
        serde_json::json!({"group": "EXTRA_UE", "persons": 30, "linked": 30})
    );
    let text = String::from_utf8(run(&["validate", "--extract", &dir, "--link", &linked]).stdout).unwrap();
    assert!(text.contains("  ITA: 0 of 70 linked (0.0%), 70 not linked"), "{text}");
}

#[test]
fn survival_breaks_down_and_compares_by_a_linked_column() {
    let work = Workdir::new();
    let (dir, linked) = linked_fixture(&work);
    let out = run_ok(&linked_args(
        "survival",
        &dir,
        &linked,
        &[
            "--event",
            "servizio",
            "--by",
            "accoglienza",
            "--compare",
            "accoglienza",
            "--days",
            "30",
            "--format",
            "csv",
        ],
    ));
    let rows = records(&out);
    let at = |code: &str| {
        let row = rows.iter().find(|r| r["accoglienza"] == code).unwrap();
        (
            row["popolazione"].as_str(),
            row["a_rischio"].as_str(),
            row["eventi"].as_str(),
        )
    };
    // The 2024 cohort: P3 CAS, P4 SAI, P5 ND, none with a service; P2 and
    // P8 (a service on their DID date) and P6 unlinked.
    assert_eq!(at("CAS"), ("10", "10", "0"));
    assert_eq!(at("SAI"), ("10", "10", "0"));
    assert_eq!(at("ND"), ("10", "10", "0"));
    assert_eq!(at("NON_COLLEGATO"), ("30", "10", "20"));
    assert!(rows.iter().all(|r| r["logrank_gdl"] == "3"));
}
