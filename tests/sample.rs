//! End-to-end runs of the real binary on the shipped sample extract.

mod common;

use common::{counts, run, run_ok, Workdir};
use silp_access::sample;

const SAMPLE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/piemonte-20k");

#[test]
fn the_sample_is_what_generate_writes_for_its_seed() {
    let work = Workdir::new();
    let out = work.path().join("regenerated");
    run_ok(&[
        "generate",
        "--persons",
        &sample::PERSONS.to_string(),
        "--seed",
        &sample::SEED.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    for file in ["lavoratori.csv", "did.csv", "politiche.csv", "avviamenti.csv"] {
        let committed = std::fs::read(format!("{SAMPLE_DIR}/{file}")).unwrap();
        let regenerated = std::fs::read(out.join(file)).unwrap();
        assert!(
            committed == regenerated,
            "{file} differs from what generate writes; regenerate data-samples (see its README)"
        );
    }
}

#[test]
fn the_embedded_sample_is_the_default_extract_from_any_directory() {
    let args = [
        "rates",
        "--year",
        "2024",
        "--by",
        "provincia,gruppo_cittadinanza,sesso",
        "--format",
        "csv",
    ];
    let from_files = run_ok(&[&args[..], &["--extract", SAMPLE_DIR]].concat());
    let work = Workdir::new();
    let out = common::command().current_dir(work.path()).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), from_files);
    assert!(String::from_utf8_lossy(&out.stderr).contains("embedded sample (piemonte-20k)"));
}

#[test]
fn the_sample_passes_strict_validation() {
    let out = run(&["rates", "--strict", "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn margins_add_up_and_rates_lie_in_zero_one() {
    let out = run_ok(&[
        "rates",
        "--year",
        "2024",
        "--by",
        "provincia,sesso",
        "--margins",
        "--format",
        "csv",
    ]);
    let rows = counts(&out, &["provincia", "sesso"]);
    let total = rows.iter().find(|(k, _, _)| k == "TOTALE/TOTALE").unwrap();
    let inner: Vec<_> = rows.iter().filter(|(k, _, _)| !k.contains("TOTALE")).collect();
    assert_eq!(inner.iter().map(|r| r.1).sum::<u64>(), total.1);
    assert_eq!(inner.iter().map(|r| r.2).sum::<u64>(), total.2);
    assert!(rows.iter().all(|(_, n, x)| x <= n));
    assert!(
        total.1 > 5_000,
        "a 20,000-person sample has thousands registered in 2024: {}",
        total.1
    );
}

#[test]
fn output_file_is_written_and_identical_across_runs() {
    let work = Workdir::new();
    let first = work.path().join("a.json");
    let second = work.path().join("b.json");
    for path in [&first, &second] {
        run_ok(&[
            "rates",
            "--year",
            "2024",
            "--by",
            "cittadinanza",
            "--top",
            "10",
            "--margins",
            "--format",
            "json",
            "--output",
            path.to_str().unwrap(),
        ]);
    }
    assert_eq!(std::fs::read(&first).unwrap(), std::fs::read(&second).unwrap());
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        13,
        "Italy, 10 citizenships, ALTRE, TOTALE"
    );
}

#[test]
fn failed_write_leaves_no_file() {
    let work = Workdir::new();
    let target = work.path().join("missing-dir").join("out.csv");
    let out = run(&["rates", "--format", "csv", "--output", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-dir"));
}
