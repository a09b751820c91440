//! Bad rows are reported with file, line, column, value and reason, never
//! used, and for every file rows read = rows used + rows rejected.

mod common;

use common::{fixture_files, run, Workdir, ACTIVITIES, PERSONS, SPELLS};
use proptest::prelude::*;
use silp_access::extract::schema::FileKind;
use silp_access::extract::{Extract, LoadOptions, Location};
use silp_access::reference::Reference;

const BAD_PERSONS: &str = "\
P12;X;1980;100;001;;;
P13;M;19x0;100;001;;;
P14;M;1980;777;001;;;
P15;M;1980;100;001;;;
P15;F;1981;100;001;;;
P16;M;2015;100;001;;;
P17;M;1980;100
";
const BAD_SPELLS: &str = "\
D12;P99;01/01/2024;;TO01;001
D13;P1;31/02/2024;;TO01;001
D14;P1;01/03/2024;01/02/2024;TO01;001
D15;P1;01/01/2025;;TO01;001
D16;P1;01/01/2024;;TO01;001;extra
";
const BAD_ACTIVITIES: &str = "\
X13;P1;Z99;01/01/2024;;CONCLUSA;ORD;CPI
X14;P1;A01;01/01/2024;;FATTA;ORD;CPI
;P1;A01;01/01/2024;;CONCLUSA;ORD;CPI
X15;P15;A01;01/01/2024;;CONCLUSA;ORD;CPI
";

/// (file, position among the bad rows, column, value, reason).
const EXPECTED_REJECTS: [(&str, u64, &str, &str, &str); 16] = [
    (
        "did.csv",
        1,
        "id_lav",
        "P99",
        "unknown person: not among the valid rows of lavoratori.csv",
    ),
    (
        "did.csv",
        2,
        "data_did",
        "31/02/2024",
        "not a valid date (dd/mm/yyyy or yyyy-mm-dd)",
    ),
    (
        "did.csv",
        3,
        "data_fine",
        "01/02/2024",
        "before data_did of the same row",
    ),
    (
        "did.csv",
        4,
        "data_did",
        "01/01/2025",
        "after the as-of date 31/12/2024",
    ),
    ("did.csv", 5, "", "", "the row has more fields than the header's 6"),
    ("lavoratori.csv", 1, "sesso", "X", "not one of M, F"),
    (
        "lavoratori.csv",
        2,
        "anno_nascita",
        "19x0",
        "not a whole year (e.g. 1985)",
    ),
    (
        "lavoratori.csv",
        3,
        "cittadinanza",
        "777",
        "code not in the reference table cittadinanze.csv",
    ),
    (
        "lavoratori.csv",
        4,
        "id_lav",
        "P15",
        "duplicate id_lav: every row with this value is rejected",
    ),
    (
        "lavoratori.csv",
        5,
        "id_lav",
        "P15",
        "duplicate id_lav: every row with this value is rejected",
    ),
    (
        "lavoratori.csv",
        6,
        "anno_nascita",
        "2015",
        "birth year after 2010 (younger than 14 at the as-of date)",
    ),
    (
        "lavoratori.csv",
        7,
        "prov_domicilio",
        "",
        "empty value: prov_domicilio is required (or the row has fewer fields than the header)",
    ),
    (
        "politiche.csv",
        1,
        "cod_attivita",
        "Z99",
        "code not in the reference table attivita.csv",
    ),
    (
        "politiche.csv",
        2,
        "esito",
        "FATTA",
        "not one of AVVIATA, CONCLUSA, INTERROTTA, RIFIUTATA",
    ),
    (
        "politiche.csv",
        3,
        "id_pol",
        "",
        "empty identifier: id_pol is required (or the row has fewer fields than the header)",
    ),
    (
        "politiche.csv",
        4,
        "id_lav",
        "P15",
        "unknown person: not among the valid rows of lavoratori.csv",
    ),
];

/// The clean fixture with the bad rows appended; returns the folder and,
/// per file, the line number just before the first bad row.
fn bad_extract(work: &Workdir) -> (std::path::PathBuf, Vec<(&'static str, u64)>) {
    let mut files = fixture_files();
    let mut last_clean_line = Vec::new();
    for ((name, bytes), bad) in files.iter_mut().zip([BAD_PERSONS, BAD_SPELLS, BAD_ACTIVITIES]) {
        last_clean_line.push((*name, bytes.iter().filter(|b| **b == b'\n').count() as u64));
        bytes.extend_from_slice(bad.as_bytes());
    }
    (work.extract("bad", &files), last_clean_line)
}

fn expected_rejects(last_clean_line: &[(&str, u64)]) -> String {
    let mut text = String::from("file;line;column;value;reason\n");
    for (file, position, column, value, reason) in EXPECTED_REJECTS {
        let base = last_clean_line.iter().find(|(f, _)| *f == file).unwrap().1;
        text.push_str(&format!("{file};{};{column};{value};{reason}\n", base + position));
    }
    text
}

#[test]
fn rejected_rows_are_reported_with_their_lines_and_never_used() {
    let work = Workdir::new();
    let (bad, last_clean_line) = bad_extract(&work);
    let rejects = work.path().join("scarti.csv");
    let args = |dir: &std::path::Path| {
        vec![
            "rates".to_string(),
            "--extract".into(),
            dir.display().to_string(),
            "--as-of".into(),
            "31/12/2024".into(),
            "--year".into(),
            "2024".into(),
            "--by".into(),
            "provincia,gruppo_cittadinanza".into(),
            "--margins".into(),
            "--format".into(),
            "csv".into(),
        ]
    };
    let mut with_rejects = args(&bad);
    with_rejects.extend(["--rejects".to_string(), rejects.display().to_string()]);
    let out = run(&with_rejects.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap(),
        expected_rejects(&last_clean_line)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lavoratori.csv: 117 rows read, 110 used, 7 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did.csv: 145 rows read, 140 used, 5 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains("politiche.csv: 124 rows read, 120 used, 4 rejected"),
        "{stderr}"
    );

    let clean = work.extract("clean", &fixture_files());
    let clean_out = run(&args(&clean).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.stdout, clean_out.stdout, "rejected rows must not change any number");
    let published = String::from_utf8_lossy(&out.stdout);
    assert!(published.contains("TOTALE;Totale;TOTALE;80;50;"), "{published}");
}

#[test]
fn strict_fails_with_exit_1_and_writes_nothing() {
    let work = Workdir::new();
    let (bad, last_clean_line) = bad_extract(&work);
    let output = work.path().join("tassi.csv");
    let out = run(&[
        "rates",
        "--extract",
        bad.to_str().unwrap(),
        "--as-of",
        "31/12/2024",
        "--strict",
        "--format",
        "csv",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!output.exists());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("16 rows were rejected and --strict is set"), "{stderr}");
    let first = last_clean_line.iter().find(|(f, _)| *f == "did.csv").unwrap().1 + 1;
    let listed = format!("rejected: did.csv line {first}, column id_lav, value \"P99\"");
    assert!(stderr.contains(&listed), "{stderr}");
}

#[test]
fn a_clean_extract_passes_strict() {
    let work = Workdir::new();
    let clean = work.extract("clean", &fixture_files());
    let out = run(&[
        "rates",
        "--extract",
        clean.to_str().unwrap(),
        "--strict",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A row that breaks a rule of the as-of date and refers to no person is
/// rejected for the date, whether references are resolved as the files are
/// read (an analysis) or compared as text afterwards (validate).
#[test]
fn a_date_after_the_as_of_date_outranks_an_unknown_person() {
    let work = Workdir::new();
    let mut files = fixture_files();
    let (name, spells) = &mut files[1];
    assert_eq!(*name, "did.csv");
    let last_clean_line = spells.iter().filter(|b| **b == b'\n').count();
    spells.extend_from_slice(b"DX1;NOBODY;01/01/2031;;TO01;001\nDX2;NOBODY;01/01/2024;;TO01;001\n");
    let dir = work.extract("both", &files);
    let listed = |command: &str| {
        let rejects = work.path().join(format!("{command}.csv"));
        run(&[
            command,
            "--extract",
            dir.to_str().unwrap(),
            "--as-of",
            "31/12/2024",
            "--rejects",
            rejects.to_str().unwrap(),
        ]);
        std::fs::read_to_string(rejects).unwrap()
    };
    let expected = format!(
        "file;line;column;value;reason\n\
         did.csv;{};data_did;01/01/2031;after the as-of date 31/12/2024\n\
         did.csv;{};id_lav;NOBODY;unknown person: not among the valid rows of lavoratori.csv\n",
        last_clean_line + 1,
        last_clean_line + 2
    );
    assert_eq!(listed("rates"), expected);
    assert_eq!(listed("validate"), expected);
}

/// Values a broken export might hold.
const GARBAGE: [&str; 13] = [
    "",
    "x",
    "P1",
    "31/02/2024",
    "2024-13-01",
    "99999",
    "-1",
    "NULL",
    "P99",
    "1800",
    "\u{e8}",
    "a;b",
    "01/01/2031",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn rows_read_equal_used_plus_rejected_whether_references_are_resolved_or_not(
        mutations in proptest::collection::vec((0usize..3, 1usize..15, 0usize..8, 0usize..=GARBAGE.len()), 1..12)
    ) {
        let mut texts = [PERSONS.to_string(), SPELLS.to_string(), ACTIVITIES.to_string()];
        for (file, line, column, garbage) in mutations {
            let mut lines: Vec<Vec<String>> =
                texts[file].lines().map(|l| l.split(';').map(String::from).collect()).collect();
            let line = 1 + (line - 1) % (lines.len() - 1);
            let column = column % lines[line].len();
            // Past the list: a value longer than any identifier may be.
            lines[line][column] = GARBAGE.get(garbage).map_or_else(|| "P".repeat(1001), |g| g.to_string());
            texts[file] = lines.iter().map(|l| l.join(";") + "\n").collect();
        }
        let work = Workdir::new();
        let dir = work.extract(
            "mutated",
            &[
                ("lavoratori.csv", texts[0].clone().into_bytes()),
                ("did.csv", texts[1].clone().into_bytes()),
                ("politiche.csv", texts[2].clone().into_bytes()),
            ],
        );
        let reference = Reference::load(None).unwrap();
        let options = LoadOptions { as_of: Some(chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap()), ..LoadOptions::default() };
        let kinds = [FileKind::Persons, FileKind::Spells, FileKind::Activities];
        let extract = Extract::load(&Location::Dir(dir.clone()), &kinds, &options, &reference).unwrap();
        // An analysis resolves person references to positions as it reads
        // the files; it must reject exactly the rows the text comparison does.
        let analysed_options = LoadOptions { analysed_only: true, ..options.clone() };
        let analysed = Extract::load(&Location::Dir(dir), &kinds, &analysed_options, &reference).unwrap();
        prop_assert!(matches!(analysed.persons, silp_access::extract::PersonKey::Position(_)));
        prop_assert_eq!(&analysed.rejects, &extract.rejects);
        for (resolved, text) in analysed.files.iter().zip(&extract.files) {
            prop_assert_eq!((resolved.rows_used, resolved.rows_rejected), (text.rows_used, text.rows_rejected));
        }
        for (report, text) in extract.files.iter().zip(&texts) {
            prop_assert_eq!(report.rows_read, report.rows_used + report.rows_rejected);
            prop_assert_eq!(report.rows_read, text.lines().count() as u64 - 1);
            let listed: Vec<u64> = extract.rejects.iter().filter(|r| r.file == report.file).map(|r| r.line).collect();
            prop_assert_eq!(listed.len() as u64, report.rows_rejected);
            let mut unique = listed.clone();
            unique.dedup();
            prop_assert_eq!(unique.len(), listed.len(), "one reject per line");
        }
    }
}
