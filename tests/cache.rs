//! `import` and the Parquet cache: the same numbers and the same rejects as
//! from the CSV files, used only while the files are unchanged.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture_files, run, run_ok, Workdir};

/// Rows broken at each validation stage: an unknown code (row rules), a
/// duplicate id (of a person and of a spell that would count) and a date after an explicit as-of date (as-of rules), and
/// references to persons rejected or absent (cross-file rules).
const BAD_PERSONS: &str = "P15;M;1980;100;001;;;\nP15;F;1981;100;001;;;\nP16;M;1980;777;001;;;\n";
const BAD_SPELLS: &str =
    "D12;P99;01/01/2024;;TO01;001\nD1-0;P2-0;01/01/2024;;TO01;001\nD15;P1-0;01/01/2025;;TO01;001\n";
const BAD_ACTIVITIES: &str = "X13;P15;A01;01/01/2024;;CONCLUSA;ORD;CPI\n";

fn bad_extract(work: &Workdir) -> PathBuf {
    let mut files = fixture_files();
    for ((_, bytes), bad) in files.iter_mut().zip([BAD_PERSONS, BAD_SPELLS, BAD_ACTIVITIES]) {
        bytes.extend_from_slice(bad.as_bytes());
    }
    work.extract("bad", &files)
}

/// stdout, the rejects file and stderr of `rates` on `dir`, with `extra` options.
fn rates(dir: &Path, rejects: &Path, extra: &[&str]) -> (String, String, String) {
    let question = "rates --year 2024 --by provincia,gruppo_cittadinanza,sesso --margins --format csv";
    let mut args: Vec<&str> = question.split(' ').collect();
    args.extend([
        "--extract",
        dir.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (
        String::from_utf8(out.stdout).unwrap(),
        // Written only when some row is rejected.
        std::fs::read_to_string(rejects).unwrap_or_default(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn import(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["import", "--extract", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stderr).unwrap()
}

const FROM_CACHE: &str = "read from the Parquet cache";

/// Imports `dir`, then asks `rates` from the CSV files and from the cache,
/// which must give the same table and rejects; the answer from the CSV files.
fn imported_and_asked_both_ways(dir: &Path, rejects: &Path) -> (String, String, String) {
    import(dir, &[]);
    let from_csv = rates(dir, rejects, &["--no-cache"]);
    let from_cache = rates(dir, rejects, &[]);
    assert!(from_cache.2.contains(FROM_CACHE), "{}", from_cache.2);
    assert_eq!(from_cache.0, from_csv.0);
    assert_eq!(from_cache.1, from_csv.1);
    from_csv
}

/// stderr without the line that says where the rows came from.
fn without_cache_line(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.contains("Parquet cache"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_cache_gives_the_same_numbers_and_rejects_as_the_csv_files() {
    let work = Workdir::new();
    let dir = bad_extract(&work);
    let rejects = work.path().join("scarti.csv");
    // The default as-of (taken from the files), then one earlier than the
    // import's, which makes the as-of rules run again on the cached rows.
    import(&dir, &[]);
    for as_of in [&[][..], &["--as-of", "31/12/2024"][..]] {
        let from_csv = rates(&dir, &rejects, &[&["--no-cache"][..], as_of].concat());
        assert!(!from_csv.2.contains("Parquet cache"), "{}", from_csv.2);
        let from_cache = rates(&dir, &rejects, as_of);
        assert!(from_cache.2.contains(FROM_CACHE), "{}", from_cache.2);
        assert_eq!(from_cache.0, from_csv.0, "rates with {as_of:?}");
        assert_eq!(from_cache.1, from_csv.1, "rejects with {as_of:?}");
        assert_eq!(without_cache_line(&from_cache.2), from_csv.2.trim_end());
    }
    // Every stage rejected something, the cross-file stage through a rejected duplicate.
    let (_, listed, _) = rates(&dir, &rejects, &["--as-of", "31/12/2024"]);
    for reason in [
        "code not in the reference table cittadinanze.csv",
        "duplicate id_lav",
        "after the as-of date 31/12/2024",
        "unknown person",
    ] {
        assert!(listed.contains(reason), "{reason} missing from\n{listed}");
    }
    assert_eq!(listed.matches("unknown person").count(), 2, "{listed}");

    // The quality report reads the cache too (all four files) and says the same.
    let validate = |extra: &[&str]| {
        let mut args = vec!["validate", "--extract", dir.to_str().unwrap(), "--format", "json"];
        args.extend_from_slice(extra);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "rows are rejected");
        out.stdout
    };
    assert_eq!(validate(&[]), validate(&["--no-cache"]));
}

/// The cache numbers the persons by their rows, and analyses find a spell's
/// person at that number. A person the as-of rules reject (born too late),
/// on the first row, moves every other person up one row once dropped: a
/// spell still pointing at its person's old row would count as its
/// neighbour (another sex, citizenship or province).
#[test]
fn the_cache_finds_each_persons_row_after_the_later_rules_drop_one_ahead_of_the_others() {
    let work = Workdir::new();
    let mut files = fixture_files();
    for ((_, bytes), first_row) in files
        .iter_mut()
        .zip(["P0;F;2015;100;001;;;\n", "D0;P0;01/01/2024;;TO01;001\n"])
    {
        let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        bytes.splice(header_end..header_end, first_row.bytes());
    }
    let dir = work.extract("first_person_too_young", &files);
    let from_csv = imported_and_asked_both_ways(&dir, &work.path().join("scarti.csv"));
    assert!(from_csv.1.contains("birth year after 2010"), "{}", from_csv.1);
    assert!(from_csv.1.contains("unknown person"), "{}", from_csv.1);
}

/// `import` works out once whether each activity starts inside a spell of
/// its own person, and must do so among the spells the later rules keep. A
/// duplicate id_did rejects both spells D5a-0: the fixture's person P5-0
/// stays eligible through D5b-0, but both activities lie in D5a-0 only, so
/// P5-0 is no longer a beneficiary. A spell of no person is rejected too.
#[test]
fn the_cache_counts_an_activity_only_inside_a_spell_the_later_rules_kept() {
    let work = Workdir::new();
    let mut files = fixture_files();
    files[1]
        .1
        .extend_from_slice(b"D5a-0;P3-0;01/01/2020;31/12/2020;TO01;001\nD12;P99;01/01/2024;;TO01;001\n");
    let dir = work.extract("spell_rejected_later", &files);
    let from_csv = imported_and_asked_both_ways(&dir, &work.path().join("scarti.csv"));
    assert!(dir.join(".silp-cache/politiche-in-did.parquet").is_file());
    assert!(from_csv.1.contains("duplicate id_did"), "{}", from_csv.1);
    assert!(from_csv.1.contains("unknown person"), "{}", from_csv.1);
    let untouched = work.extract("untouched", &fixture_files());
    let before = rates(&untouched, &work.path().join("scarti-untouched.csv"), &["--no-cache"]);
    assert_ne!(from_csv.0, before.0, "losing D5a-0 changes P5-0's cell");
}

/// A single table loads only the columns its breakdowns and selection read:
/// every breakdown, in either population, and a gap table (which also reads
/// the citizenship group, sex and age) give from the cache what they give
/// from the CSV files.
#[test]
fn each_breakdown_reads_its_columns_from_the_cache() {
    let work = Workdir::new();
    let dir = work.extract("every_breakdown", &fixture_files());
    import(&dir, &[]);
    let extract = dir.to_str().unwrap();
    let mut questions: Vec<String> = Vec::new();
    for dim in silp_access::table::Dimension::ALL {
        for population in ["stock", "coorte"] {
            questions.push(format!("rates --by {} --population {population}", dim.name()));
        }
    }
    questions.push("rates --by sesso --programma GOL".to_string());
    questions.push("gap --by provincia".to_string());
    questions.push("gap --by cittadinanza --population coorte".to_string());
    for question in &questions {
        let mut args: Vec<&str> = question.split(' ').collect();
        args.extend(["--year", "2024", "--margins", "--format", "csv", "--extract", extract]);
        let from_cache = run(&args);
        assert!(
            String::from_utf8_lossy(&from_cache.stderr).contains(FROM_CACHE),
            "{question}: {}",
            String::from_utf8_lossy(&from_cache.stderr)
        );
        args.push("--no-cache");
        let from_csv = run_ok(&args);
        assert_eq!(String::from_utf8(from_cache.stdout).unwrap(), from_csv, "{question}");
    }
}

#[test]
fn a_changed_file_makes_the_commands_read_the_csv_files_again() {
    let work = Workdir::new();
    let dir = work.extract("clean", &fixture_files());
    let rejects = work.path().join("scarti.csv");
    import(&dir, &[]);
    let before = rates(&dir, &rejects, &[]);
    assert!(before.2.contains(FROM_CACHE));

    // Same size, different content: P8's activities move to the day before
    // P8's registration, so P8 stops being a beneficiary.
    let path = dir.join("politiche.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replace(";31/12/2024;;AVVIATA", ";30/12/2024;;AVVIATA");
    assert_eq!(changed.len(), text.len());
    assert_ne!(changed, text);
    std::fs::write(&path, changed).unwrap();

    let after = rates(&dir, &rejects, &[]);
    assert!(!after.2.contains(FROM_CACHE));
    assert!(
        after
            .2
            .contains("is out of date (politiche.csv changed since the import), so the CSV files were read"),
        "{}",
        after.2
    );
    assert_ne!(after.0, before.0, "the change must show in the numbers");
    assert_eq!(after.0, rates(&dir, &rejects, &["--no-cache"]).0);

    import(&dir, &[]);
    let refreshed = rates(&dir, &rejects, &[]);
    assert!(refreshed.2.contains(FROM_CACHE));
    assert_eq!(refreshed.0, after.0);

    // An optional file appearing after the import also makes the cache stale.
    std::fs::write(
        dir.join("avviamenti.csv"),
        "id_avv;id_lav;data_avviamento;data_cessazione;tipo_contratto;prov_sede\nA1;P1-0;01/02/2024;;TD;001\n",
    )
    .unwrap();
    let out = run(&["validate", "--extract", dir.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("(avviamenti.csv was added since the import)"), "{said}");
    let unaffected = rates(&dir, &rejects, &[]);
    assert!(
        unaffected.2.contains(FROM_CACHE),
        "rates does not read avviamenti.csv: {}",
        unaffected.2
    );
}

#[test]
fn a_cache_elsewhere_is_found_only_with_cache() {
    let work = Workdir::new();
    let dir = work.extract("clean", &fixture_files());
    let cache = work.path().join("cache");
    let rejects = work.path().join("scarti.csv");
    let said = import(&dir, &["--cache", cache.to_str().unwrap()]);
    assert!(said.contains("Parquet cache written to"), "{said}");
    assert!(!dir.join(".silp-cache").exists());
    assert!(cache.join("manifest.json").exists());
    assert!(!rates(&dir, &rejects, &[]).2.contains(FROM_CACHE));
    assert!(rates(&dir, &rejects, &["--cache", cache.to_str().unwrap()])
        .2
        .contains(FROM_CACHE));
    // The advice to refresh it names the same cache folder.
    let path = dir.join("did.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("D99;P1-0;01/01/2024;;TO01;001\n");
    std::fs::write(&path, text).unwrap();
    let said = rates(&dir, &rejects, &["--cache", cache.to_str().unwrap()]).2;
    let advice = format!(
        "rerun `silp-access import --extract {} --cache {}`",
        dir.display(),
        cache.display()
    );
    assert!(said.contains(&advice), "{said}");
}

#[test]
fn import_under_strict_writes_nothing_when_rows_are_rejected() {
    let work = Workdir::new();
    let dir = bad_extract(&work);
    let out = run(&["import", "--extract", dir.to_str().unwrap(), "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.join(".silp-cache").exists());
    let names: Vec<String> = common::names(&dir);
    assert_eq!(names, ["did.csv", "lavoratori.csv", "politiche.csv"]);
    // Without --strict the same extract imports, rejects and all.
    let said = import(&dir, &[]);
    assert!(said.contains("rejected"), "{said}");
    assert!(dir.join(".silp-cache/manifest.json").exists());
}

#[test]
fn import_needs_an_extract_folder() {
    let out = run(&["import"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("import needs --extract DIR"));
    let listed = run_ok(&["import", "--help"]);
    assert!(listed.contains("--cache"));
}

/// What `rates` says on stderr once the imported manifest of the fixture
/// has been rewritten by `edit`.
fn said_after_editing_the_manifest(edit: impl Fn(&str) -> String) -> String {
    let work = Workdir::new();
    let dir = work.extract("clean", &fixture_files());
    let rejects = work.path().join("scarti.csv");
    import(&dir, &[]);
    let manifest = dir.join(".silp-cache/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, edit(&text)).unwrap();
    rates(&dir, &rejects, &[]).2
}

#[test]
fn a_cache_from_another_version_is_passed_over() {
    let said = said_after_editing_the_manifest(|text| {
        let ours = format!("\"program\": \"{}\"", env!("CARGO_PKG_VERSION"));
        assert!(text.contains(&ours), "{text}");
        // An older layout would not even parse as this version's manifest.
        text.replace(&ours, "\"program\": \"0.0.9\"")
            .replace("xxh3_128", "sha256")
    });
    assert!(
        said.contains("is out of date (it was written by silp-access 0.0.9)"),
        "{said}"
    );
}

#[test]
fn a_cache_of_another_layout_from_this_version_is_passed_over() {
    let said = said_after_editing_the_manifest(|text| {
        let layout = text.lines().find(|l| l.contains("\"layout\":")).unwrap();
        text.replace(layout, "  \"layout\": 1,")
    });
    assert!(
        said.contains("is out of date (it was written by an earlier build of this version"),
        "{said}"
    );
    assert!(!said.contains(FROM_CACHE), "{said}");
}
