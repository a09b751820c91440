//! `report`: the synthesis report's numbers are the protected tables of
//! `rates` and `gap`, no suppressed value appears in any of its files, the
//! committed report (with its job centres' fact sheets) regenerates byte
//! for byte, the fact sheets show their centres' rows of the published
//! tables, and the pages render in a real browser.

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
    let out = report(&work, &["--per-cpi"]);
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
    // The report finds each population once for all its selections, and
    // the cohort once for both waits; each command alone finds its own.
    let selected = |select: &str| {
        run_ok(&[
            "rates",
            "--year",
            "2024",
            "--by",
            "gruppo_cittadinanza",
            "--select",
            select,
            "--margins",
            "--format",
            "csv",
        ])
    };
    assert_eq!(table("misure-gruppo"), selected("misure"));
    assert_eq!(table("servizi-gruppo"), selected("servizi"));
    assert_eq!(table("accesso-programma"), rates("gruppo_cittadinanza,programma"));
    assert_eq!(table("accesso-ente"), rates("ente,gruppo_cittadinanza"));
    for event in ["servizio", "misura"] {
        let wait = run_ok(&[
            "survival",
            "--year",
            "2024",
            "--event",
            event,
            "--by",
            "gruppo_cittadinanza",
            "--days",
            "15,30,60,90,120,180,270",
            "--margins",
            "--format",
            "csv",
        ]);
        assert_eq!(table(&format!("tempi-{event}")), wait, "{event}");
    }

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
    // Its job centres are too small for fact sheets: protecting them would
    // hide regional cells, so the report refuses them and writes nothing.
    let refused = work.path().join("con-schede");
    let out = common::run(&[
        "report",
        "--extract",
        extract.to_str().unwrap(),
        "--year",
        "2024",
        "--per-cpi",
        "--out",
        refused.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("too small for fact sheets") && stderr.contains("accesso-gruppo"),
        "{stderr}"
    );
    assert!(!refused.exists());
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

    // The committed sample report's fact sheets hide the cells of small centres.
    let sheets = Path::new(COMMITTED).join("cpi");
    let mut pages = vec![out.join("sintesi.html")];
    pages.extend(
        common::names(&sheets)
            .iter()
            .filter(|n| n.ends_with(".html"))
            .map(|n| sheets.join(n)),
    );
    let mut suppressed_in_pages = 0;
    for page in &pages {
        let html = std::fs::read_to_string(page).unwrap();
        for row in html.split("<tr class=\"soppressa\">").skip(1) {
            suppressed_in_pages += 1;
            let row = &row[..row.find("</tr>").unwrap()];
            assert!(
                !row.contains("<td class=\"n\">"),
                "{}: a number in a suppressed HTML row: {row}",
                page.display()
            );
        }
    }
    assert!(
        suppressed_in_pages > 0,
        "the fact sheets of small centres show hidden cells"
    );
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

    for workbook in [out.join("tabelle.xlsx"), sheets.join("schede.xlsx")] {
        let mut workbook: Xlsx<_> = open_workbook(workbook).unwrap();
        for sheet in workbook.sheet_names() {
            let range = workbook.worksheet_range(&sheet).unwrap();
            // A fact sheet's tables lie one under the other, each under its header.
            let mut status = None;
            for row in range.rows() {
                if let Some(at) = row.iter().position(|c| *c == "stato_cella") {
                    status = Some(at);
                    continue;
                }
                let Some(at) = status else { continue };
                if matches!(row.get(at).map(|c| c.to_string()).as_deref(), Some("u" | "x")) {
                    assert!(
                        !row.iter().any(|c| matches!(c, Data::Float(_) | Data::Int(_))),
                        "{sheet}: a number in a suppressed row {row:?}"
                    );
                }
            }
        }
    }
}

/// The fixture (tests/fixture.md, ten copies of each person) by job centre
/// in 2024: TO01 holds P1, P8, P9 (Italians, all beneficiaries) and P3
/// (non-EU, none), 40 persons and 30 beneficiaries; P2 is TO-Ciriè's only
/// person, P4 TO02's, P5 CN01's and P6 AL01's.
#[test]
fn fact_sheets_are_their_centres_rows_of_the_published_tables() {
    let work = Workdir::new();
    let mut files = common::fixture_files();
    // A did.csv row of TO01 with an impossible date: TO01's sheet counts it.
    files[1].1.extend_from_slice(b"DX;P1-0;32/01/2024;;TO01;001\n");
    let extract = work.extract("fixture", &files);
    let out = work.path().join("report");
    run_ok(&[
        "report",
        "--extract",
        extract.to_str().unwrap(),
        "--as-of",
        "31/12/2024",
        "--year",
        "2024",
        "--per-cpi",
        "--out",
        out.to_str().unwrap(),
    ]);
    let cpi = out.join("cpi");
    assert_eq!(
        common::names(&cpi),
        [
            "AL01.html",
            "CN01.html",
            "TO-Cirie.html",
            "TO01.html",
            "TO02.html",
            "index.html",
            "schede.xlsx"
        ]
    );
    let page = |name: &str| std::fs::read_to_string(cpi.join(name)).unwrap();
    // The start of a table row: its codes, then its numbers.
    let row = |codes: &[&str], numbers: &[&str]| {
        let codes = codes.iter().map(|c| format!("<td>{c}</td>"));
        let numbers = numbers.iter().map(|n| format!("<td class=\"n\">{n}</td>"));
        format!("<tr>{}", codes.chain(numbers).collect::<String>())
    };
    let to01 = page("TO01.html");
    for expected in [
        "<h1>Centro per l'impiego TO01 (Torino)</h1>".into(),
        "Nel 2024 40 persone hanno avuto una DID attiva presso il centro; 30 (75,0%) hanno avviato".into(),
        "Cittadini non UE: 0,0% contro 100,0% degli italiani del centro, -100,0 punti".into(),
        // the centre, its province and the region, by group
        row(&["TO01", "ITA"], &["30", "30", "100,0"]),
        row(&["TO01", "EXTRA_UE"], &["10", "0", "0,0"]),
        row(&["TO01", "TOTALE"], &["40", "30", "75,0"]),
        row(&["Torino", "TOTALE"], &["60", "40", "66,7"]),
        row(&["Piemonte", "TOTALE"], &["80", "50", "62,5"]),
        // services (P8, P9) and measures (P1's C01)
        row(&["Servizi", "ITA"], &["30", "20", "66,7"]),
        row(&["Misure", "ITA"], &["30", "10", "33,3"]),
        // operator types: P8's and P9's at the centre, P1's at an accredited one
        row(&["CPI", "ITA"], &["30", "20", "66,7"]),
        row(&["ACCREDITATO", "ITA"], &["30", "10", "33,3"]),
        row(&["2024", "TOTALE"], &["40", "30", "75,0"]),
        "<tr><td>did.csv</td><td class=\"n\">80</td><td class=\"n\">1</td></tr>".into(),
    ] {
        assert!(to01.contains(&expected), "TO01.html lacks {expected}");
    }
    let cirie = page("TO-Cirie.html");
    assert!(
        cirie.contains("TO-Ciriè (Torino)"),
        "the centre keeps its name, accents and all"
    );
    assert!(cirie.contains("Nessun cittadino non UE ha avuto una DID attiva presso il centro."));
    assert!(cirie.contains(&row(&["TO-Ciriè", "ITA"], &["10", "10", "100,0"])));
    let index = page("index.html");
    assert!(index.contains(
        "<tr><td><a href=\"TO01.html\">TO01</a></td><td>TO</td><td class=\"n\">40</td><td class=\"n\">75,0</td><td class=\"n\">100,0</td><td class=\"n\">0,0</td><td class=\"n\">-100,0</td><td class=\"n\">1</td></tr>"
    ), "{index}");
    assert!(index.contains("<a href=\"TO-Cirie.html\">TO-Ciriè</a>"));

    // The same numbers in the published tables the audit reads.
    let table = |name: &str| records(&std::fs::read_to_string(out.join("tabelle").join(name)).unwrap());
    let access = table("cpi-accesso.csv");
    let total = access
        .iter()
        .find(|r| r["cpi"] == "TO01" && r["gruppo_cittadinanza"] == "TOTALE" && r["sesso"] == "TOTALE")
        .unwrap();
    assert_eq!(
        (total["popolazione"].as_str(), total["beneficiari"].as_str()),
        ("40", "30")
    );
    let nesting = table("cpi-provincia.csv");
    assert!(nesting
        .iter()
        .any(|r| r["provincia"] == "TO" && r["cpi"] == "TO01" && r["popolazione"] == "40"));
    assert!(nesting
        .iter()
        .any(|r| r["provincia"] == "CN" && r["cpi"] == "CN01" && r["popolazione"] == "10"));

    let mut workbook: Xlsx<_> = open_workbook(cpi.join("schede.xlsx")).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        ["indice", "AL01", "CN01", "TO-Cirie", "TO01", "TO02"]
    );
    let sheet = workbook.worksheet_range("TO01").unwrap();
    assert_eq!(
        sheet.rows().next().unwrap()[0].to_string(),
        "Accesso per gruppo: il centro, la provincia e il Piemonte"
    );
    assert!(sheet
        .rows()
        .any(|r| r[0] == "TO01" && r[1] == "TOTALE" && r[2] == Data::Float(40.0) && r[3] == Data::Float(30.0)));

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["schede_cpi"].as_array().unwrap().len(), 5);
    let audit = common::run(&["audit", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&audit.stdout);
    assert_eq!(audit.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("verdict: safe"), "{stdout}");
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
    let out = report(&work, &["--per-cpi"]);
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
    let chromium_with = |page: &Path, output: &str| {
        std::process::Command::new(chromium)
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
                "--no-pdf-header-footer",
                output,
                &format!("file://{}", page.display()),
            ])
            .output()
            .unwrap()
    };
    let shoot = |page: &Path, png: &Path| {
        let status = chromium_with(page, &format!("--screenshot={}", png.display()));
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
    let sheet = shoot(&out.join("cpi/TO01.html"), &work.path().join("TO01.png"));
    assert!(sheet > 50_000, "a fact sheet renders nearly empty: {sheet} bytes");
    // A fact sheet prints on one or two A4 pages.
    let pdf = work.path().join("TO01.pdf");
    chromium_with(&out.join("cpi/TO01.html"), &format!("--print-to-pdf={}", pdf.display()));
    let pdf = std::fs::read(&pdf).unwrap();
    let pages = pdf
        .windows(12)
        .filter(|w| w.starts_with(b"/Type /Page") && w[11] != b's')
        .count();
    assert!((1..=2).contains(&pages), "TO01's fact sheet prints on {pages} pages");
    assert!(
        charts > 3 * blank && charts > 20_000,
        "the charts render blank: {charts} bytes against {blank} for an empty page"
    );
}
