//! `validate`: the data-quality report and its exit codes.

mod common;

use common::{fixture_files, run, Workdir};

#[test]
fn a_clean_extract_exits_0() {
    let work = Workdir::new();
    let dir = work.extract("clean", &fixture_files());
    let out = run(&["validate", "--extract", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("lavoratori.csv (UTF-8, separator ';')"), "{text}");
    assert!(text.contains("data_did: 2022-01-01 to 2024-12-31"), "{text}");
    assert!(text.contains("clean: every row is usable"), "{text}");
}

#[test]
fn problems_are_counted_by_kind_and_the_exit_code_is_1() {
    let work = Workdir::new();
    let mut files = fixture_files();
    files[0]
        .1
        .extend_from_slice(b"Q1;M;1980;777;001;;;\nQ2;M;1980;777;001;;;\nQ3;M;1980;100;001;;;\nQ3;F;1980;100;001;;;\n");
    files[1]
        .1
        .extend_from_slice(b"DX;nobody;01/01/2024;;TO01;001\nDY;P1-0;01/01/2031;;TO01;001\n");
    let dir = work.extract("bad", &files);
    let rejects = work.path().join("scarti.csv");
    let out = run(&[
        "validate",
        "--extract",
        dir.to_str().unwrap(),
        "--as-of",
        "31/12/2024",
        "--format",
        "json",
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("6 rows were rejected"));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows_rejected"], 6);
    let persons = &report["files"][0];
    assert_eq!(persons["file"], "lavoratori.csv");
    assert_eq!(
        (persons["rows_read"].as_u64(), persons["rows_used"].as_u64()),
        (Some(114), Some(110))
    );
    assert_eq!(
        (persons["duplicate_ids"].as_u64(), persons["duplicate_rows"].as_u64()),
        (Some(1), Some(2))
    );
    let spells = &report["files"][1];
    assert_eq!(spells["unknown_person_rows"], 1);
    assert_eq!(spells["dates_after_as_of"], 1);
    assert_eq!(report["unknown_codes"][0]["code"], "777");
    assert_eq!(report["unknown_codes"][0]["rows"], 2);
    let reasons = persons["rejected_by_reason"].as_array().unwrap();
    assert_eq!(reasons[0]["rows"], 2);
    assert_eq!(reasons[0]["first_lines"], serde_json::json!([112, 113]));
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        7,
        "header and 6 rows"
    );
}

#[test]
fn an_unreadable_extract_exits_2() {
    let work = Workdir::new();
    let mut files = fixture_files();
    files.remove(1);
    let dir = work.extract("no-spells", &files);
    let out = run(&["validate", "--extract", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("required file did.csv is missing (found: lavoratori.csv, politiche.csv)"),
        "{stderr}"
    );
}

#[test]
fn extra_columns_are_listed() {
    let work = Workdir::new();
    let mut files = fixture_files();
    let text = String::from_utf8(files[2].1.clone()).unwrap();
    let with_note: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{l};{}\n", if i == 0 { "note" } else { "" }))
        .collect();
    files[2].1 = with_note.into_bytes();
    let dir = work.extract("extra", &files);
    let out = run(&["validate", "--extract", dir.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("extra columns (ignored): note"), "{text}");
}
