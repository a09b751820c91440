//! The same extract written in every accepted dialect gives identical rates.

mod common;

use common::{fixture_files, run, Workdir};

type Transform = fn(&str) -> Vec<u8>;

fn fields(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split(';').map(String::from).collect()).collect()
}

fn join(rows: &[Vec<String>], separator: &str, newline: &str) -> String {
    rows.iter().map(|r| r.join(separator) + newline).collect()
}

fn comma(text: &str) -> Vec<u8> {
    join(&fields(text), ",", "\n").into_bytes()
}

fn crlf(text: &str) -> Vec<u8> {
    join(&fields(text), ";", "\r\n").into_bytes()
}

fn bom(text: &str) -> Vec<u8> {
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            'è' => 0xE8,
            'ì' => 0xEC,
            c if c.is_ascii() => c as u8,
            other => panic!("fixture character {other} not mapped"),
        })
        .collect()
}

fn iso_dates(text: &str) -> Vec<u8> {
    let rows: Vec<Vec<String>> = fields(text)
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|f| match f.split('/').collect::<Vec<_>>()[..] {
                    [d, m, y] if y.len() == 4 => format!("{y}-{m}-{d}"),
                    _ => f,
                })
                .collect()
        })
        .collect();
    join(&rows, ";", "\n").into_bytes()
}

/// Columns reversed, header names upper-cased with blanks around, an extra
/// column, and optional empties written as NULL / null / -.
fn reshaped(text: &str) -> Vec<u8> {
    let rows: Vec<Vec<String>> = fields(text)
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut row: Vec<String> = row
                .into_iter()
                .enumerate()
                .map(|(j, f)| match (i, f.as_str()) {
                    (0, name) => format!(" {} ", name.to_uppercase()),
                    (_, "") => ["NULL", "null", "-"][j % 3].to_string(),
                    _ => f,
                })
                .collect();
            row.reverse();
            row.push(if i == 0 { "note" } else { "ignored" }.to_string());
            row
        })
        .collect();
    join(&rows, ";", "\n").into_bytes()
}

fn rates_for(transform: Transform, extra: &[&str]) -> (String, String) {
    let work = Workdir::new();
    let files: Vec<(&str, Vec<u8>)> = fixture_files()
        .into_iter()
        .map(|(name, bytes)| (name, transform(std::str::from_utf8(&bytes).unwrap())))
        .collect();
    let dir = work.extract("dialect", &files);
    let mut args = vec![
        "rates",
        "--extract",
        dir.to_str().unwrap(),
        "--year",
        "2024",
        "--by",
        "provincia,cpi,gruppo_cittadinanza,sesso",
        "--margins",
        "--format",
        "csv",
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn every_dialect_gives_identical_rates() {
    let (canonical, _) = rates_for(|t| t.as_bytes().to_vec(), &[]);
    assert!(canonical.contains("TO-Ciriè"), "{canonical}");
    let variants: [(&str, Transform); 7] = [
        ("comma", comma),
        ("crlf", crlf),
        ("bom", bom),
        ("windows-1252", windows_1252),
        ("iso dates", iso_dates),
        ("reshaped header", reshaped),
        ("all at once", |t| {
            windows_1252(std::str::from_utf8(&crlf(std::str::from_utf8(&comma(t)).unwrap())).unwrap())
        }),
    ];
    for (name, transform) in variants {
        let (out, stderr) = rates_for(transform, &[]);
        assert_eq!(out, canonical, "dialect {name}\n{stderr}");
        assert!(stderr.contains("0 rejected"), "dialect {name}: {stderr}");
    }
}

#[test]
fn detected_dialect_is_reported() {
    let (_, stderr) = rates_for(windows_1252, &[]);
    assert!(
        stderr.contains("did.csv: 140 rows read, 140 used, 0 rejected (Windows-1252, separator ';')"),
        "{stderr}"
    );
    let (_, stderr) = rates_for(comma, &[]);
    assert!(stderr.contains("separator ','"), "{stderr}");
}

#[test]
fn forced_encoding_is_obeyed() {
    let (forced, _) = rates_for(windows_1252, &["--encoding", "windows-1252"]);
    let (auto, _) = rates_for(windows_1252, &[]);
    assert_eq!(forced, auto);

    let work = Workdir::new();
    let files: Vec<(&str, Vec<u8>)> = fixture_files()
        .into_iter()
        .map(|(name, bytes)| (name, windows_1252(std::str::from_utf8(&bytes).unwrap())))
        .collect();
    let dir = work.extract("latin", &files);
    let out = run(&["rates", "--extract", dir.to_str().unwrap(), "--encoding", "utf-8"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did.csv, line 3: byte 0xE8 is not valid UTF-8") && stderr.contains("--encoding windows-1252"),
        "{stderr}"
    );
}

#[test]
fn missing_column_names_file_column_and_found_columns() {
    let work = Workdir::new();
    let mut files = fixture_files();
    files[1].1 = common::SPELLS.replace("prov_cpi", "provincia_cpi").into_bytes();
    let dir = work.extract("missing", &files);
    let out = run(&["rates", "--extract", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "did.csv: missing column prov_cpi; the header has: id_did, id_lav, data_did, data_fine, cpi, provincia_cpi"
        ),
        "{stderr}"
    );
}
