//! `pseudonymise`: codici fiscali replaced by a keyed HMAC; the result is
//! analysable, links across extracts with the same key, and holds no
//! original identifier; analyses refuse an extract with codici fiscali.

mod common;

use common::{fixture_files, run, run_ok, Workdir};

/// The fixture with each `P<n>-<r>` person identifier turned into a codice
/// fiscale-shaped value.
fn with_codici_fiscali() -> Vec<(&'static str, Vec<u8>)> {
    let cf = |id: &str| {
        let (person, replica) = id.trim_start_matches('P').split_once('-').unwrap();
        format!(
            "RSSMRA{:02}A{:02}L219X",
            replica.parse::<u32>().unwrap(),
            person.parse::<u32>().unwrap()
        )
    };
    fixture_files()
        .into_iter()
        .map(|(name, bytes)| {
            let text = String::from_utf8(bytes).unwrap();
            let column = if name == "lavoratori.csv" { 0 } else { 1 };
            let rewritten: String = text
                .lines()
                .enumerate()
                .map(|(i, line)| {
                    let mut fields: Vec<String> = line.split(';').map(String::from).collect();
                    if i > 0 {
                        fields[column] = cf(&fields[column]);
                    }
                    fields.join(";") + "\n"
                })
                .collect();
            (name, rewritten.into_bytes())
        })
        .collect()
}

fn key(work: &Workdir, name: &str, byte: char) -> String {
    let path = work.path().join(name);
    std::fs::write(&path, byte.to_string().repeat(40)).unwrap();
    path.display().to_string()
}

fn read_all(dir: &std::path::Path) -> String {
    ["lavoratori.csv", "did.csv", "politiche.csv"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn analyses_refuse_codici_fiscali_without_printing_them() {
    let work = Workdir::new();
    let raw = work.extract("raw", &with_codici_fiscali());
    let out = run(&["rates", "--extract", raw.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lavoratori.csv, line 2: id_lav holds what looks like a codice fiscale"),
        "{stderr}"
    );
    assert!(stderr.contains("silp-access pseudonymise"), "{stderr}");
    assert!(!stderr.contains("RSSMRA"), "{stderr}");
}

#[test]
fn pseudonymised_extract_is_analysable_and_holds_no_identifier_or_key() {
    let work = Workdir::new();
    let raw = work.extract("raw", &with_codici_fiscali());
    let out = work.path().join("pseudo");
    let key = key(&work, "silp.key", 'k');
    run_ok(&[
        "pseudonymise",
        "--in",
        raw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--key-file",
        &key,
    ]);

    let written = read_all(&out);
    assert!(!written.contains("RSSMRA"), "an original identifier survived");
    assert!(!written.contains(&"k".repeat(32)), "the key was written");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 3, "only the extract's files");

    let clean = work.extract("clean", &fixture_files());
    let args = |dir: &std::path::Path| {
        run_ok(&[
            "rates",
            "--extract",
            dir.to_str().unwrap(),
            "--year",
            "2024",
            "--by",
            "provincia,gruppo_cittadinanza",
            "--margins",
            "--format",
            "csv",
        ])
    };
    assert_eq!(args(&out), args(&clean), "pseudonyms change no number");
}

#[test]
fn the_same_key_links_extracts_and_another_key_does_not() {
    let work = Workdir::new();
    let full = with_codici_fiscali();
    // A later extract holding only the persons file, in another dialect.
    let later: Vec<(&str, Vec<u8>)> = full
        .iter()
        .map(|(name, bytes)| {
            (
                *name,
                String::from_utf8(bytes.clone())
                    .unwrap()
                    .replace(';', ",")
                    .replace('\n', "\r\n")
                    .into_bytes(),
            )
        })
        .collect();
    let first = work.extract("first", &full);
    let second = work.extract("second", &later);
    let key_a = key(&work, "a.key", 'a');
    let key_b = key(&work, "b.key", 'b');
    let mut outputs = Vec::new();
    for (input, key, name) in [(&first, &key_a, "o1"), (&second, &key_a, "o2"), (&first, &key_b, "o3")] {
        let out = work.path().join(name);
        run_ok(&[
            "pseudonymise",
            "--in",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--key-file",
            key,
        ]);
        outputs.push(std::fs::read_to_string(out.join("lavoratori.csv")).unwrap());
    }
    assert_eq!(
        outputs[0], outputs[1],
        "same key: same pseudonyms, whatever the dialect"
    );
    let first_id = |text: &str| text.lines().nth(1).unwrap().split(';').next().unwrap().to_string();
    assert_ne!(
        first_id(&outputs[0]),
        first_id(&outputs[2]),
        "another key: other pseudonyms"
    );
    assert_eq!(first_id(&outputs[0]).len(), 64);
}

#[test]
fn a_short_key_is_refused() {
    let work = Workdir::new();
    let raw = work.extract("raw", &with_codici_fiscali());
    let short = work.path().join("short.key");
    std::fs::write(&short, "secret").unwrap();
    let out = work.path().join("pseudo");
    let result = run(&[
        "pseudonymise",
        "--in",
        raw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--key-file",
        short.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("holds 6 bytes; use at least 32"), "{stderr}");
    assert!(!stderr.contains("secret"));
    assert!(!out.join("lavoratori.csv").exists());
}

#[test]
fn a_linked_file_pseudonymised_with_the_extracts_key_links_the_same_persons() {
    let work = Workdir::new();
    let raw = work.extract("raw", &with_codici_fiscali());
    // Reception holds P3 and P5 of every copy, named by their codici
    // fiscali, and one person the extract does not hold.
    let persons = String::from_utf8(with_codici_fiscali()[0].1.clone()).unwrap();
    let code_of = |id: &str| -> String {
        persons
            .lines()
            .nth(id.parse::<usize>().unwrap())
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string()
    };
    let mut linked = String::from("id_lav;accoglienza\n");
    // After the header, P3-0 and P5-0 are the third and fifth rows.
    for line in ["3", "5"] {
        linked.push_str(&format!("{};CAS\n", code_of(line)));
    }
    linked.push_str("VRDGPP70A01L219X;SAI\n");
    let linked_path = work.path().join("accoglienza.csv");
    std::fs::write(&linked_path, linked).unwrap();
    std::fs::write(
        work.path().join("accoglienza.toml"),
        "source = \"x\"\n[[column]]\nname = \"accoglienza\"\ncodes = [\"CAS\", \"SAI\"]\n",
    )
    .unwrap();
    let out = work.path().join("pseudo");
    let key = key(&work, "silp.key", 'k');
    run_ok(&[
        "pseudonymise",
        "--in",
        raw.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--key-file",
        &key,
        "--link",
        linked_path.to_str().unwrap(),
    ]);
    let written = std::fs::read_to_string(out.join("accoglienza.csv")).unwrap();
    assert!(!written.contains("RSSMRA") && !written.contains("VRDGPP"), "{written}");
    assert!(out.join("accoglienza.toml").is_file());

    let analysed = run(&[
        "rates",
        "--extract",
        out.to_str().unwrap(),
        "--link",
        out.join("accoglienza.csv").to_str().unwrap(),
        "--by",
        "accoglienza",
        "--year",
        "2024",
        "--format",
        "csv",
    ]);
    assert!(analysed.status.success());
    let stderr = String::from_utf8_lossy(&analysed.stderr);
    // P3-0 (non-EU) and P5-0 (EU) are found; the third is no person of the extract.
    assert!(
        stderr.contains("accoglienza.csv: 3 rows read, 2 used, 1 rejected"),
        "{stderr}"
    );
    assert!(stderr.contains("  UE: 1 of 10 linked"), "{stderr}");
    assert!(stderr.contains("  EXTRA_UE: 1 of 30 linked"), "{stderr}");
}
