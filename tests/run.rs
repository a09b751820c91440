//! `run --config job.toml`: batch jobs that either complete or leave nothing.

mod common;

use std::path::Path;

use common::{example_job, names, run, run_ok, Workdir};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/piemonte-20k");

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut entries: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    entries.sort();
    entries
}

#[test]
fn the_example_job_writes_every_table_and_reruns_identically() {
    let work = Workdir::new();
    let job = example_job(&work, "");
    let first = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let output = work.path().join("out/accesso-2024-12-31");
    let written = files(&output);
    let expected = [
        "accesso-provincia-2023.csv",
        "accesso-provincia-2023.json",
        "accesso-provincia-2024.csv",
        "accesso-provincia-2024.json",
        "coorte-misure-2023.csv",
        "coorte-misure-2024.csv",
        "divario-provincia-2023.csv",
        "divario-provincia-2023.txt",
        "divario-provincia-2024.csv",
        "divario-provincia-2024.txt",
        "job.json",
        "misure-cittadinanza-2023.csv",
        "misure-cittadinanza-2024.csv",
    ];
    assert_eq!(written.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), expected);

    let second = run(&["run", "--config", job.to_str().unwrap(), "--log-format", "json"]);
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(files(&output), written, "same job, same input: same bytes");
    for line in String::from_utf8(second.stderr).unwrap().lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(event["event"].is_string());
    }
    assert_eq!(
        names(&work.path().join("out")),
        ["accesso-2024-12-31"],
        "no staging folder or lock left"
    );

    // The rates table equals what the command line gives for the same options.
    let direct = common::run_ok(&[
        "rates",
        "--extract",
        SAMPLE,
        "--year",
        "2024",
        "--by",
        "provincia,gruppo_cittadinanza,sesso",
        "--margins",
        "--format",
        "csv",
    ]);
    assert_eq!(
        std::fs::read_to_string(output.join("accesso-provincia-2024.csv")).unwrap(),
        direct
    );
}

#[test]
fn a_failing_table_leaves_no_output_and_keeps_the_previous_one() {
    let work = Workdir::new();
    let good = example_job(&work, "");
    assert!(run(&["run", "--config", good.to_str().unwrap()]).status.success());
    let output = work.path().join("out/accesso-2024-12-31");
    let before = files(&output);

    // The last table fails only when computed, after the others were written.
    let failing = "\n[[table]]\nname = \"rotta\"\ncommand = \"gap\"\nby = [\"cittadinanza\", \"gruppo_cittadinanza\"]\nformats = [\"csv\"]\n";
    let bad = example_job(&work, failing);
    let out = run(&["run", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("table \"rotta\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(&output), before, "the previous output is untouched");
    assert_eq!(
        names(&work.path().join("out")),
        ["accesso-2024-12-31"],
        "no staging folder or lock left"
    );

    std::fs::remove_dir_all(&output).unwrap();
    let out = run(&["run", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(names(&work.path().join("out")).is_empty(), "nothing half-written");
}

#[test]
fn a_lock_left_by_a_killed_run_is_taken_over() {
    let work = Workdir::new();
    let job = example_job(&work, "");
    std::fs::create_dir_all(work.path().join("out")).unwrap();
    // The lock of a run killed with -9: its process no longer exists.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(work.path().join("out/accesso-2024-12-31.lock"), format!("{pid}\n")).unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        names(&work.path().join("out")),
        ["accesso-2024-12-31"],
        "the stale lock is gone"
    );
}

#[test]
fn a_lock_stops_a_second_run() {
    let work = Workdir::new();
    let job = example_job(&work, "");
    std::fs::create_dir_all(work.path().join("out")).unwrap();
    // Held by a live process: this test's own.
    std::fs::write(
        work.path().join("out/accesso-2024-12-31.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another run is writing"));
    assert!(!work.path().join("out/accesso-2024-12-31").exists());
}

#[test]
fn unknown_keys_and_bad_values_are_errors() {
    let work = Workdir::new();
    let job = example_job(&work, "");
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(
        &job,
        text.replacen("margins = true", "margins = true\nmargini = true", 1),
    )
    .unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown field `margini`"), "{stderr}");

    std::fs::write(&job, text.replacen("select = \"misure\"", "select = \"corsi\"", 1)).unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("corsi"));
}

/// The example job publishes tables by province; one by job centre beside
/// them needs one by both, or protection would take centres and provinces
/// for independent breakdowns.
#[test]
fn a_job_by_job_centre_beside_provinces_needs_a_table_by_both() {
    let work = Workdir::new();
    let by_centre = "\n[[table]]\nname = \"accesso-cpi\"\ncommand = \"rates\"\nby = [\"cpi\", \"gruppo_cittadinanza\"]\nformats = [\"csv\"]\n";
    let job = example_job(&work, by_centre);
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("none is by both"), "{stderr}");
    let output = work.path().join("out/accesso-2024-12-31");
    assert!(!output.exists(), "nothing is written");

    let both = "\n[[table]]\nname = \"cpi-provincia\"\ncommand = \"rates\"\nby = [\"provincia\", \"cpi\"]\nformats = [\"csv\"]\n";
    let job = example_job(&work, &format!("{by_centre}{both}"));
    run_ok(&["run", "--config", job.to_str().unwrap()]);
    let out = run(&["audit", output.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn strict_jobs_fail_with_exit_1_on_rejected_rows() {
    let work = Workdir::new();
    let mut files = common::fixture_files();
    files[0].1.extend_from_slice(b"BAD;X;1980;100;001;;;\n");
    let extract = work.extract("bad", &files);
    let job = work.path().join("strict.toml");
    std::fs::write(
        &job,
        format!(
            "extract = \"{}\"\nstrict = true\noutput = \"out/x\"\nyears = [2024]\n[[table]]\nname = \"t\"\ncommand = \"rates\"\nformats = [\"csv\"]\n",
            extract.display()
        ),
    )
    .unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!work.path().join("out/x").exists());
}

#[test]
fn a_job_can_write_the_synthesis_report_too() {
    let work = Workdir::new();
    let job = example_job(&work, "");
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(&job, text.replace("# report = true", "report = true")).unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report = work.path().join("out/accesso-2024-12-31/report");
    for file in ["sintesi.html", "sintesi.md", "tabelle.xlsx", "manifest.json"] {
        assert!(report.join(file).exists(), "{file}");
    }
    let standalone = work.path().join("standalone");
    common::run_ok(&[
        "report",
        "--extract",
        SAMPLE,
        "--years",
        "2023-2024",
        "--out",
        standalone.to_str().unwrap(),
    ]);
    assert_eq!(files(&report.join("tabelle")), files(&standalone.join("tabelle")));
}

/// A job's survival and outcomes tables are protected with its rates
/// tables: the cohort of a `rates` table and of `survival` is one
/// population in the manifest, and the whole output passes the audit.
#[test]
fn a_job_can_write_survival_and_outcomes_tables() {
    let work = Workdir::new();
    let job = work.path().join("job.toml");
    std::fs::write(
        &job,
        format!(
            r#"extract = {SAMPLE:?}
output = "out"
years = [2023]

[[table]]
name = "coorte"
command = "rates"
population = "coorte"
window = 90
select = "misure"
by = ["gruppo_cittadinanza"]
formats = ["csv"]

[[table]]
name = "attese"
command = "survival"
by = ["provincia", "gruppo_cittadinanza"]
days = [30, 90, 180]
formats = ["csv"]

[[table]]
name = "esiti"
command = "outcomes"
by = ["gruppo_cittadinanza"]
gap = true
days = [90, 180]
formats = ["json"]
"#
        ),
    )
    .unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let output = work.path().join("out");
    let written: Vec<String> = files(&output).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        written,
        ["attese-2023.csv", "coorte-2023.csv", "esiti-2023.json", "job.json"]
    );
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(output.join("job.json")).unwrap()).unwrap();
    let listed = manifest["tabelle_pubblicate"].as_array().unwrap();
    assert_eq!(listed[0]["universe"], "coorte 2023-01-01 2023-12-31");
    assert_eq!(listed[1]["universe"], listed[0]["universe"]);
    assert_eq!(
        listed[1]["counts_by_day"]["90"]["a_rischio"]["universe"],
        listed[0]["universe"]
    );
    let suppressed = std::fs::read_to_string(output.join("attese-2023.csv"))
        .unwrap()
        .lines()
        .filter(|line| line.ends_with(";u;;;") || line.contains(";x;"))
        .count();
    assert!(suppressed > 0, "provinces × groups have small cells to protect");
    let audit = run(&["audit", output.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&audit.stdout);
    assert_eq!(audit.status.code(), Some(0), "{said}");
    // 1 rates table, 3 days × 2 counts of survival, 2 horizons of outcomes.
    assert!(said.contains("9 tables"), "{said}");

    // A key of one command given to another is an error, not ignored.
    let text = std::fs::read_to_string(&job).unwrap();
    std::fs::write(&job, text.replacen("window = 90", "window = 90\ncompeting = true", 1)).unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`competing` applies to command = survival only"),
        "{stderr}"
    );
}
