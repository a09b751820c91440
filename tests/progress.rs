//! Progress lines are for people at a terminal: never in a pipe or a log.

mod common;

use common::run;

#[test]
fn progress_never_reaches_a_pipe_and_quiet_changes_nothing_else() {
    let question = ["rates", "--year", "2024", "--by", "provincia,sesso", "--format", "csv"];
    let plain = run(&question);
    let quiet = run(&[&["--quiet"][..], &question[..]].concat());
    assert!(plain.status.success() && quiet.status.success());
    let said = String::from_utf8(plain.stderr.clone()).unwrap();
    assert!(!said.contains('\u{1b}'), "terminal escapes in a pipe: {said:?}");
    assert!(!said.contains("reading and checking"), "{said}");
    assert!(said.contains("lavoratori.csv: 20000 rows read"), "{said}");
    assert_eq!(plain.stdout, quiet.stdout);
    assert_eq!(plain.stderr, quiet.stderr);
}
