//! The committed corpus of hostile extracts (`tests/hostile/<case>/`): each
//! states in `expected.txt` the exit code and message `validate` must give.
//! None may panic, hang or leave an output file behind.

use std::path::Path;
use std::time::Duration;

mod common;

struct Expected {
    exit: i32,
    message: String,
    args: Vec<String>,
}

fn expected(case: &Path) -> Expected {
    let text = std::fs::read_to_string(case.join("expected.txt")).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    Expected {
        exit: field("exit ").unwrap().parse().unwrap(),
        message: field("message ").unwrap(),
        args: field("args ")
            .map(|a| a.split_whitespace().map(String::from).collect())
            .unwrap_or_default(),
    }
}

#[test]
fn every_hostile_extract_gives_its_expected_outcome() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut cases: Vec<_> = std::fs::read_dir(&corpus).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    assert!(cases.len() >= 17, "the corpus lost cases: {cases:?}");
    for case in cases {
        let want = expected(&case);
        let before = common::names(&case);
        let mut args = vec![
            "validate".to_string(),
            "--extract".to_string(),
            case.display().to_string(),
        ];
        args.extend(want.args.clone());
        let out = common::output_within(common::command().args(&args), Duration::from_secs(120));
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(want.exit), "{}: {said}", case.display());
        assert!(
            said.contains(&want.message),
            "{}: expected {:?} in:\n{said}",
            case.display(),
            want.message
        );
        assert!(!said.contains("panicked"), "{}: {said}", case.display());

        let work = tempfile::tempdir().unwrap();
        let table = work.path().join("tassi.csv");
        let mut args = vec![
            "rates".to_string(),
            "--strict".into(),
            "--extract".into(),
            case.display().to_string(),
        ];
        args.extend(want.args);
        args.extend([
            "--format".into(),
            "csv".into(),
            "--output".into(),
            table.display().to_string(),
        ]);
        let out = common::output_within(common::command().args(&args), Duration::from_secs(120));
        assert_eq!(
            table.exists(),
            out.status.success(),
            "{}: an output file only when the run succeeds",
            case.display()
        );
        assert_eq!(
            common::names(work.path()).len(),
            usize::from(table.exists()),
            "{}: no temporary file left",
            case.display()
        );
        assert_eq!(
            common::names(&case),
            before,
            "{}: nothing written into the extract",
            case.display()
        );
    }
}
