//! Writes that respect what is already there, write errors that are never
//! swallowed, and periods the data can answer (issue 23), run as a
//! scheduler would run them.

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use common::{run, user_id, Workdir};

fn rates_to(path: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["rates", "--format", "csv", "--output", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn shell(script: &str) {
    let status = Command::new("sh").arg("-c").arg(script).status().unwrap();
    assert!(status.success(), "{script}");
}

#[test]
fn a_new_file_gets_the_umask_mode_and_an_existing_one_keeps_its_own() {
    let work = Workdir::new();
    let new = work.path().join("nuovo.csv");
    // The test binary's umask is the caller's; the file gets 0666 less it.
    let umask = {
        let out = Command::new("sh").arg("-c").arg("umask").output().unwrap();
        u32::from_str_radix(String::from_utf8_lossy(&out.stdout).trim(), 8).unwrap()
    };
    assert!(rates_to(&new, &[]).status.success());
    assert_eq!(mode(&new), 0o666 & !umask);
    let old = work.path().join("vecchio.csv");
    std::fs::write(&old, "prima\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert!(rates_to(&old, &[]).status.success());
    assert_eq!(mode(&old), 0o640);
    assert!(std::fs::read_to_string(&old).unwrap().starts_with("popolazione;"));
}

#[test]
fn a_symlink_is_followed_and_stays_a_link() {
    let work = Workdir::new();
    let target = work.path().join("dati/tassi.csv");
    std::fs::create_dir(work.path().join("dati")).unwrap();
    std::fs::write(&target, "prima\n").unwrap();
    let link = work.path().join("ultimo.csv");
    std::os::unix::fs::symlink("dati/tassi.csv", &link).unwrap();
    assert!(rates_to(&link, &[]).status.success());
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&target).unwrap().starts_with("popolazione;"));
    assert_eq!(
        common::names(&work.path().join("dati")),
        ["tassi.csv"],
        "no temporary file left beside the target"
    );
}

#[test]
fn a_fifo_is_written_into_not_replaced() {
    let work = Workdir::new();
    let fifo = work.path().join("tubo.csv");
    shell(&format!("mkfifo {}", fifo.display()));
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    assert!(rates_to(&fifo, &[]).status.success());
    let read = reader.join().unwrap();
    assert!(read.starts_with("popolazione;"), "{read}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_device_node_is_written_into_and_a_full_one_is_an_error() {
    let work = Workdir::new();
    let null = work.path().join("null");
    let full = work.path().join("full");
    // Device nodes of our own, in a temporary folder: never the real /dev.
    let made = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "mknod {} c 1 3 && mknod {} c 1 7",
            null.display(),
            full.display()
        ))
        .status()
        .unwrap();
    if !made.success() {
        // Only root makes device nodes; CI runs as root, as schedulers do.
        assert_ne!(user_id(), 0, "mknod failed as root");
        return;
    }
    assert!(rates_to(&null, &[]).status.success());
    assert!(std::fs::metadata(&null).unwrap().file_type().is_char_device());
    let out = rates_to(&full, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot write {}", full.display())), "{stderr}");
    assert!(
        std::fs::metadata(&full).unwrap().file_type().is_char_device(),
        "the device is still a device"
    );
}

#[test]
fn a_failed_write_to_standard_output_is_an_error_naming_it() {
    let binary = common::binary();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} rates --format csv > /dev/full", binary.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write to standard output"));
    // A closed pipe is not an error.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} rates --by cittadinanza --format csv | head -1",
            binary.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("silp-access rates:"));
}

#[test]
fn an_output_folder_that_is_a_file_is_left_alone() {
    let work = Workdir::new();
    let out_path = work.path().join("rapporto");
    std::fs::write(&out_path, "non una cartella\n").unwrap();
    let out = run(&["report", "--out", out_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a folder"));
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), "non una cartella\n");
    assert_eq!(common::names(work.path()), ["rapporto"], "no staging folder left");
}

#[test]
fn periods_the_extract_cannot_answer_are_refused_cut_or_flagged() {
    // The sample's as-of date is 31/12/2024.
    let out = run(&["rates", "--year", "2030"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("01/01/2030-31/12/2030 starts after the extract's as-of date 31/12/2024"),
        "{stderr}"
    );
    assert!(stderr.contains("--as-of"));

    let out = run(&["rates", "--dal", "01/07/2024", "--al", "30/06/2025", "--format", "csv"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: the period 01/07/2024-30/06/2025 runs past the extract's as-of date 31/12/2024: it is cut at 31/12/2024"), "{stderr}");
    let cut = run(&["rates", "--dal", "01/07/2024", "--al", "31/12/2024", "--format", "csv"]);
    assert_eq!(
        out.stdout, cut.stdout,
        "the cut period is the period up to the as-of date"
    );

    let out = run(&["rates", "--year", "1850", "--format", "csv"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no person of the extract is eligible in the period 01/01/1850-31/12/1850 (its DID spells start between 01/01/2020 and ")
            && stderr.contains("/12/2024)"),
        "{stderr}"
    );
}

#[test]
fn a_period_after_a_given_as_of_date_is_refused_before_any_data_is_read() {
    let work = Workdir::new();
    // No extract there: the period is judged before the files are looked for.
    let missing = work.path().join("assente");
    let missing = missing.to_str().unwrap();
    let refused = "01/01/2030-31/12/2030 starts after the extract's as-of date 31/12/2024";
    for args in [
        vec!["rates", "--extract", missing, "--as-of", "31/12/2024", "--year", "2030"],
        vec!["gap", "--extract", missing, "--as-of", "31/12/2024", "--year", "2030"],
        vec![
            "report",
            "--extract",
            missing,
            "--as-of",
            "31/12/2024",
            "--years",
            "2024,2030",
            "--out",
            "r",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(refused), "{args:?}: {stderr}");
    }
    let job = work.path().join("job.toml");
    std::fs::write(
        &job,
        format!(
            "extract = \"{missing}\"\nas_of = \"31/12/2024\"\noutput = \"out\"\nyears = [2024, 2030]\n\n[[table]]\nname = \"accesso\"\ncommand = \"rates\"\nby = [\"provincia\"]\nformats = [\"csv\"]\n"
        ),
    )
    .unwrap();
    let out = run(&["run", "--config", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("table \"accesso\""), "{stderr}");
    assert!(stderr.contains(refused), "{stderr}");
    assert_eq!(common::names(work.path()), ["job.toml"]);
}

#[test]
fn pseudonymise_follows_links_and_keeps_modes_like_every_write() {
    let work = Workdir::new();
    let key = work.path().join("chiave");
    std::fs::write(&key, "k".repeat(32) + "\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out_dir = work.path().join("pseudo");
    let elsewhere = work.path().join("altrove");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("did.csv"), "prima\n").unwrap();
    std::fs::set_permissions(elsewhere.join("did.csv"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("../altrove/did.csv", out_dir.join("did.csv")).unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/piemonte-20k");
    let args = [
        "pseudonymise",
        "--in",
        sample,
        "--out",
        out_dir.to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
    ];
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::symlink_metadata(out_dir.join("did.csv"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(elsewhere.join("did.csv"))
        .unwrap()
        .starts_with("id_did;"));
    assert_eq!(mode(&elsewhere.join("did.csv")), 0o640);
    assert_eq!(common::names(&elsewhere), ["did.csv"], "nothing left beside the target");
    assert!(
        !common::names(&out_dir).iter().any(|n| n.starts_with('.')),
        "{:?}",
        common::names(&out_dir)
    );
}
