//! Faults a scheduled job meets (issue 23): a process killed with -9, an
//! output folder that cannot be written, a full disk, two runs at once, a
//! read-only cache folder. Each test checks that nothing half-written is
//! left where a reader would take it for output, and that the next run works.
//!
//! Read-only and full file systems are small tmpfs mounts inside the test's
//! own temporary folder, which needs root (CI runs as root, as schedulers
//! do); as another user the folder's permissions stand in where they can.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{example_job, names, run, run_ok, user_id, Workdir};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/piemonte-20k");

fn spawn(args: &[&str]) -> Child {
    common::command()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts `args` and kills it with SIGKILL as soon as an entry whose name
/// contains `marker` appears in `dir`: the moment it is writing. Tries again
/// when the process finished first, and fails if it never could be caught.
fn kill_while_writing(args: &[&str], dir: &Path, marker: &str) {
    for _ in 0..5 {
        let mut child = spawn(args);
        let started = Instant::now();
        loop {
            let writing = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .any(|e| e.file_name().to_string_lossy().contains(marker))
                })
                .unwrap_or(false);
            if writing {
                child.kill().unwrap();
                child.wait().unwrap();
                return;
            }
            if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(120) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!(
        "silp-access {} finished before it could be killed while writing",
        args.join(" ")
    );
}

/// A tmpfs mounted on a folder of the test's, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// None when not root: only root mounts.
    fn mount(dir: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        if user_id() != 0 {
            return None;
        }
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount -o {options} failed as root");
        Some(Tmpfs { dir: dir.to_path_buf() })
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_report_killed_while_writing_leaves_the_old_report_and_the_next_run_cleans_up() {
    let work = Workdir::new();
    let extract = work.generated("estratto", 200_000, 11);
    let out = work.path().join("rapporto");
    let args = [
        "report",
        "--extract",
        extract.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    run_ok(&args);
    let before = std::fs::read(out.join("sintesi.html")).unwrap();

    kill_while_writing(&args, work.path(), ".rapporto.staging-");
    assert_eq!(
        std::fs::read(out.join("sintesi.html")).unwrap(),
        before,
        "the published report is untouched"
    );
    assert!(out.join("manifest.json").exists());

    run_ok(&args);
    assert_eq!(
        names(work.path()),
        ["estratto", "rapporto"],
        "the killed run's staging folder is removed"
    );
    assert_eq!(std::fs::read(out.join("sintesi.html")).unwrap(), before);
}

#[test]
fn an_import_killed_while_writing_leaves_no_cache_and_the_next_import_works() {
    let work = Workdir::new();
    let extract = work.generated("estratto", 200_000, 12);
    let extract_arg = extract.to_str().unwrap();
    let from_csv = run_ok(&["rates", "--extract", extract_arg, "--no-cache", "--format", "csv"]);

    kill_while_writing(&["import", "--extract", extract_arg], &extract, ".silp-cache.staging-");
    assert!(!extract.join(".silp-cache").exists(), "no cache half-written");
    let out = run(&["rates", "--extract", extract_arg, "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), from_csv);

    run_ok(&["import", "--extract", extract_arg]);
    assert!(
        !names(&extract).iter().any(|n| n.contains(".staging-")),
        "the killed import's staging folder is removed: {:?}",
        names(&extract)
    );
    let out = run(&["rates", "--extract", extract_arg, "--format", "csv"]);
    assert!(
        stderr_of(&out).contains("read from the Parquet cache"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), from_csv);
}

#[test]
fn a_run_killed_while_writing_leaves_a_lock_the_next_run_takes_over() {
    let work = Workdir::new();
    let job = example_job(&work, "");
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let args = ["run", "--config", job.to_str().unwrap()];

    kill_while_writing(&args, &out, ".accesso-2024-12-31.staging-");
    let left = names(&out);
    assert!(left.contains(&"accesso-2024-12-31.lock".to_string()), "{left:?}");
    assert!(
        !left.contains(&"accesso-2024-12-31".to_string()),
        "no output half-written: {left:?}"
    );

    let first = run(&args);
    assert!(first.status.success(), "{}", stderr_of(&first));
    assert_eq!(names(&out), ["accesso-2024-12-31"], "lock and staging folder removed");
    assert!(out.join("accesso-2024-12-31/job.json").exists());
}

#[test]
fn two_runs_at_once_on_one_output_never_mix() {
    let work = Workdir::new();
    let job = example_job(&work, "");
    let out = work.path().join("out");
    let args = ["run", "--config", job.to_str().unwrap()];
    let (first, second) = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| common::command().args(args).output().unwrap()))
            .collect();
        let mut outputs = runs.into_iter().map(|run| run.join().unwrap());
        (outputs.next().unwrap(), outputs.next().unwrap())
    });
    let mut succeeded = 0;
    for result in [&first, &second] {
        match result.status.code() {
            Some(0) => succeeded += 1,
            Some(2) => assert!(
                stderr_of(result).contains("another run is writing"),
                "{}",
                stderr_of(result)
            ),
            other => panic!("exit {other:?}: {}", stderr_of(result)),
        }
    }
    assert!(succeeded >= 1, "one of the two runs completes");
    assert_eq!(names(&out), ["accesso-2024-12-31"]);
    let reference = work.path().join("reference");
    std::fs::rename(out.join("accesso-2024-12-31"), &reference).unwrap();
    run_ok(&args);
    for file in ["job.json", "accesso-provincia-2024.csv", "divario-provincia-2024.csv"] {
        assert_eq!(
            std::fs::read(out.join("accesso-2024-12-31").join(file)).unwrap(),
            std::fs::read(reference.join(file)).unwrap(),
            "{file} is the same as a lone run's"
        );
    }
}

#[test]
fn an_output_folder_that_cannot_be_written_is_an_error_naming_it() {
    let work = Workdir::new();
    let locked = work.path().join("sola-lettura");
    let mount = Tmpfs::mount(&locked, "size=1m,ro");
    if mount.is_none() {
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    }
    let report = locked.join("rapporto");
    let out = run(&["report", "--out", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert!(stderr.contains(&locked.display().to_string()), "{stderr}");
    assert!(stderr.contains("check that its folder can be written"), "{stderr}");

    let table = locked.join("accesso.csv");
    let out = run(&["rates", "--format", "csv", "--output", table.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains(&format!("cannot write {}", table.display())),
        "{}",
        stderr_of(&out)
    );
    assert!(names(&locked).is_empty());

    match &mount {
        Some(mount) => mount.remount("rw"),
        None => std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap(),
    }
    run_ok(&["report", "--out", report.to_str().unwrap()]);
    assert_eq!(names(&locked), ["rapporto"]);
}

/// Fills the file system of `dir` to its last byte.
fn fill(dir: &Path) {
    let mut file = std::fs::File::create(dir.join("riempimento")).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
}

#[test]
fn a_full_disk_is_an_error_and_leaves_nothing_half_written() {
    let work = Workdir::new();
    let small = work.path().join("piccolo");
    let Some(mount) = Tmpfs::mount(&small, "size=64k") else {
        eprintln!("skipped: only root can mount a small file system");
        return;
    };
    // The report (about 180 kB) does not fit.
    let report = small.join("rapporto");
    let out = run(&["report", "--out", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("cannot write {}", small.display())),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(names(&small).is_empty(), "{:?}", names(&small));

    // A table written before the disk filled up is kept whole.
    let table = small.join("accesso.csv");
    run_ok(&["rates", "--format", "csv", "--output", table.to_str().unwrap()]);
    let before = std::fs::read(&table).unwrap();
    fill(&small);
    let out = run(&[
        "rates",
        "--by",
        "cittadinanza",
        "--format",
        "csv",
        "--output",
        table.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains(&format!("cannot write {}", table.display())),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(std::fs::read(&table).unwrap(), before, "the old table is intact");
    assert_eq!(names(&small), ["accesso.csv", "riempimento"]);

    // The cache too.
    let cache = small.join("cache");
    let out = run(&["import", "--extract", SAMPLE, "--cache", cache.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("check that its folder can be written"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(names(&small), ["accesso.csv", "riempimento"]);

    mount.remount("size=8m");
    run_ok(&["report", "--out", report.to_str().unwrap()]);
    run_ok(&["import", "--extract", SAMPLE, "--cache", cache.to_str().unwrap()]);
    assert_eq!(names(&small), ["accesso.csv", "cache", "rapporto", "riempimento"]);
}

#[test]
fn a_read_only_cache_folder_is_read_and_an_import_into_it_is_an_error() {
    let work = Workdir::new();
    let share = work.path().join("condivisa");
    let Some(mount) = Tmpfs::mount(&share, "size=16m") else {
        eprintln!("skipped: only root can mount a read-only file system");
        return;
    };
    let extract = share.join("estratto");
    copy_dir(Path::new(SAMPLE), &extract);
    let extract_arg = extract.to_str().unwrap();
    let from_csv = run_ok(&["rates", "--extract", extract_arg, "--no-cache", "--format", "csv"]);
    run_ok(&["import", "--extract", extract_arg]);
    mount.remount("ro");

    let out = run(&["rates", "--extract", extract_arg, "--format", "csv"]);
    assert!(
        stderr_of(&out).contains("read from the Parquet cache"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), from_csv);

    let out = run(&["import", "--extract", extract_arg]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains(&format!("cannot write in {}", extract.display())),
        "{stderr}"
    );

    let elsewhere = work.path().join("cache");
    run_ok(&[
        "import",
        "--extract",
        extract_arg,
        "--cache",
        elsewhere.to_str().unwrap(),
    ]);
    let out = run(&[
        "rates",
        "--extract",
        extract_arg,
        "--cache",
        elsewhere.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(
        stderr_of(&out).contains("read from the Parquet cache"),
        "{}",
        stderr_of(&out)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), from_csv);
}
