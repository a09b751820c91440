//! `report`: the synthesis report's numbers are the protected tables of
//! `rates` and `gap`, no suppressed value appears in any of its files, the
//! committed report regenerates byte for byte, and the HTML renders in a
//! real browser.

mod common;

use std::path::{Path, PathBuf};

use calamine::{open_workbook, Data, Reader, Xlsx};
use common::{records, run_ok, Workdir};

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/reports/piemonte-20k");

fn report(work: &Workdir, extra: &[&str]) -> PathBuf {
    let out = work.path().join("report");
    let mut args = vec!["report", "--years", "2023-2024", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_ok(&args);
    out
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for (name, bytes) in tree(&path) {
                files.push((format!("{}/{name}", path.file_name().unwrap().to_string_lossy()), bytes));
            }
        } else {
            files.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    files.sort();
    files
}

#[test]
fn the_committed_report_is_what_the_readme_command_writes() {
    let work = Workdir::new();
    let out = report(&work, &[]);
    let fresh = tree(&out);
    let committed = tree(Path::new(COMMITTED));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fresh), names(&committed));
    for ((name, a), (_, b)) in fresh.iter().zip(&committed) {
        assert!(
            a == b,
            "{name} differs from reports/piemonte-20k: regenerate it with the README's command"
        );
    }
}

#[test]
fn report_tables_are_the_rates_and_gap_tables() {
    let work = Workdir::new();
    let out = report(&work, &[]);
    let table = |name: &str| std::fs::read_to_string(out.join("tabelle").join(format!("{name}.csv"))).unwrap();
    let rates = |by: &str| run_ok(&["rates", "--year", "2024", "--by", by, "--margins", "--format", "csv"]);
    assert_eq!(table("accesso-provincia"), rates("provincia,gruppo_cittadinanza"));
    assert_eq!(table("accesso-gruppo"), rates("gruppo_cittadinanza"));
    assert_eq!(table("accesso-eta"), rates("classe_eta,gruppo_cittadinanza"));
    assert_eq!(
        table("divario-cittadinanza"),
        run_ok(&[
            "gap",
            "--year",
            "2024",
            "--by",
            "cittadinanza",
            "--top",
            "10",
            "--format",
            "csv"
        ])
    );
    let measures = run_ok(&[
        "rates",
        "--year",
        "2024",
        "--by",
        "gruppo_cittadinanza",
        "--select",
        "misure",
        "--margins",
        "--format",
        "csv",
    ]);
    assert_eq!(table("misure-gruppo"), measures);

    // The key findings quote the published non-EU and Italian rates.
    let gap = records(&run_ok(&["gap", "--year", "2024", "--format", "csv"]));
    let non_eu = gap.iter().find(|r| r["gruppo_cittadinanza"] == "EXTRA_UE").unwrap();
    let pct = |v: &str| format!("{:.1}", v.parse::<f64>().unwrap() * 100.0).replace('.', ",");
    let html = std::fs::read_to_string(out.join("sintesi.html")).unwrap();
    let sentence = format!(
        "nel {}% dei casi, contro il {}% degli italiani",
        pct(&non_eu["tasso"]),
        pct(&non_eu["tasso_ita"])
    );
    assert!(html.contains(&sentence), "{sentence}");
}

#[test]
fn suppressed_cells_carry_no_number_in_any_file() {
    let work = Workdir::new();
    // The shipped sample pools its few stateless persons and hides nothing;
    // a smaller extract has cells to hide.
    let extract = work.path().join("piccolo");
    run_ok(&[
        "generate",
        "--persons",
        "2000",
        "--seed",
        "7",
        "--out",
        extract.to_str().unwrap(),
    ]);
    let out = report(&work, &["--extract", extract.to_str().unwrap()]);
    let mut suppressed_rows = 0;
    for (name, bytes) in tree(&out.join("tabelle")) {
        for row in records(std::str::from_utf8(&bytes).unwrap()) {
            let Some(status) = row.get("stato_cella") else { continue };
            if status != "s" {
                suppressed_rows += 1;
                for column in [
                    "popolazione",
                    "beneficiari",
                    "tasso",
                    "ic95_inf",
                    "ic95_sup",
                    "differenza",
                    "tasso_standardizzato",
                ] {
                    assert!(
                        row.get(column).is_none_or(|v| v.is_empty()),
                        "{name}: {column} of a suppressed row: {row:?}"
                    );
                }
            }
        }
    }
    assert!(
        suppressed_rows > 0,
        "a 2,000-person extract has small cells, so some rows must be suppressed"
    );

    let html = std::fs::read_to_string(out.join("sintesi.html")).unwrap();
    for row in html.split("<tr class=\"soppressa\">").skip(1) {
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(
            !row.contains("<td class=\"n\">"),
            "a number in a suppressed HTML row: {row}"
        );
    }
    let markdown = std::fs::read_to_string(out.join("sintesi.md")).unwrap();
    for line in markdown
        .lines()
        .filter(|l| l.ends_with("| u |") || l.ends_with("| x |"))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let numbers = cells
            .iter()
            .filter(|c| c.chars().next().is_some_and(|ch| ch.is_ascii_digit()) && c.contains(','))
            .count();
        assert_eq!(numbers, 0, "a number in a suppressed Markdown row: {line}");
    }

    let mut workbook: Xlsx<_> = open_workbook(out.join("tabelle.xlsx")).unwrap();
    for sheet in workbook.sheet_names() {
        let range = workbook.worksheet_range(&sheet).unwrap();
        let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
        let Some(status) = header.iter().position(|h| h == "stato_cella") else {
            continue;
        };
        for row in range.rows().skip(1) {
            if row[status] != "s" {
                assert!(
                    !row.iter().any(|c| matches!(c, Data::Float(_) | Data::Int(_))),
                    "{sheet}: a number in a suppressed row {row:?}"
                );
            }
        }
    }
}

#[test]
fn the_workbook_holds_every_table_with_its_values() {
    let work = Workdir::new();
    let out = report(&work, &[]);
    let mut workbook: Xlsx<_> = open_workbook(out.join("tabelle.xlsx")).unwrap();
    let csvs: Vec<String> = tree(&out.join("tabelle"))
        .into_iter()
        .map(|(n, _)| n.trim_end_matches(".csv").to_string())
        .collect();
    let mut sheets = workbook.sheet_names();
    sheets.sort();
    assert_eq!(sheets, csvs);
    let range = workbook.worksheet_range("accesso-gruppo").unwrap();
    let csv = records(&std::fs::read_to_string(out.join("tabelle/accesso-gruppo.csv")).unwrap());
    let total = csv.iter().find(|r| r["gruppo_cittadinanza"] == "TOTALE").unwrap();
    let last = range.rows().next_back().unwrap();
    assert_eq!(last[0].to_string(), "TOTALE");
    assert_eq!(last[1], Data::Float(total["popolazione"].parse().unwrap()));
    assert_eq!(
        last[3],
        Data::Float(total["tasso"].parse().unwrap()),
        "rates are numbers (shown as percent cells)"
    );
}

#[test]
fn english_report_uses_english_words_and_numbers() {
    let work = Workdir::new();
    let out = report(&work, &["--lang", "en"]);
    let html = std::fs::read_to_string(out.join("sintesi.html")).unwrap();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Key findings") && html.contains("Data quality"));
    assert!(html.contains("20,000"), "English thousands separator");
    assert!(!html.contains("Risultati principali"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["parameters"]["lang"], "en");
    assert_eq!(manifest["inputs"][0]["rows_read"], 20000);
    assert_eq!(manifest["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
}

/// Renders sintesi.html in headless Chromium (CI installs Debian's
/// chromium): the page must render to a substantial screenshot, and a page
/// made of nothing but the report's own charts must be far from blank.
#[test]
fn the_html_renders_with_its_charts_in_a_browser() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(chromium) = chromium else {
        assert!(std::env::var("CI").is_err(), "CI must install chromium (see .ci/run)");
        eprintln!("chromium is not installed: skipping the browser check outside CI");
        return;
    };
    let work = Workdir::new();
    let out = report(&work, &[]);
    let html = std::fs::read_to_string(out.join("sintesi.html")).unwrap();
    let figures: String = html
        .split("<figure>")
        .skip(1)
        .map(|part| part.split_once("</figure>").unwrap().0)
        .collect();
    assert_eq!(
        html.matches("<figure><svg").count(),
        9,
        "province, gap, sex, age, operator type and trend charts, the two access curves and the outcomes after a measure"
    );
    std::fs::write(
        work.path().join("charts.html"),
        format!("<!DOCTYPE html><html><body>{figures}</body></html>"),
    )
    .unwrap();
    std::fs::write(
        work.path().join("blank.html"),
        "<!DOCTYPE html><html><body></body></html>",
    )
    .unwrap();
    let shoot = |page: &Path, png: &Path| {
        let status = std::process::Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                &format!("--user-data-dir={}", work.path().join("profile").display()),
                "--window-size=1100,1800",
                &format!("--screenshot={}", png.display()),
                &format!("file://{}", page.display()),
            ])
            .output()
            .unwrap();
        assert!(
            png.exists(),
            "chromium wrote no screenshot: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        std::fs::metadata(png).unwrap().len()
    };
    let report = shoot(&out.join("sintesi.html"), &work.path().join("sintesi.png"));
    let charts = shoot(&work.path().join("charts.html"), &work.path().join("charts.png"));
    let blank = shoot(&work.path().join("blank.html"), &work.path().join("blank.png"));
    if let Ok(keep) = std::env::var("SILP_KEEP_SCREENSHOT") {
        std::fs::copy(work.path().join("sintesi.png"), keep).unwrap();
    }
    assert!(report > 100_000, "the report renders nearly empty: {report} bytes");
    assert!(
        charts > 3 * blank && charts > 20_000,
        "the charts render blank: {charts} bytes against {blank} for an empty page"
    );
}
