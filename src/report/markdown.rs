//! `sintesi.md`: the report's text and tables for wikis and e-mail (the
//! charts are in the HTML).

use std::fmt::Write;

use super::{t, Report};
use crate::output::terminal::{human, human_header};
use crate::table::{Grid, Value};

pub fn render(report: &Report) -> Vec<u8> {
    let lang = report.lang;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n\n{}\n", report.title, report.subtitle);
    let _ = writeln!(out, "## {}\n", t(lang, "Risultati principali", "Key findings"));
    for finding in &report.findings {
        let _ = writeln!(out, "- {finding}");
    }
    for section in &report.sections {
        let _ = writeln!(out, "\n## {}\n", section.title);
        for p in &section.paragraphs {
            let _ = writeln!(out, "{p}\n");
        }
        if !section.charts.is_empty() {
            let _ = writeln!(
                out,
                "_{}_\n",
                t(
                    lang,
                    "Grafici nella versione HTML (sintesi.html).",
                    "Charts in the HTML version (sintesi.html)."
                )
            );
        }
        for index in &section.tables {
            let table = &report.tables[*index];
            let _ = writeln!(out, "**{}**\n", table.title);
            table_markdown(&mut out, &table.grid, lang);
        }
    }
    out.into_bytes()
}

fn table_markdown(out: &mut String, grid: &Grid, lang: crate::table::Lang) {
    let status = grid.columns.iter().position(|c| c == "stato_cella");
    let headers: Vec<String> = grid.columns.iter().map(|c| human_header(c, lang)).collect();
    let _ = writeln!(out, "| {} |", headers.join(" | "));
    let aligns: Vec<&str> = grid
        .rows
        .first()
        .map(|row| {
            row.iter()
                .map(|v| if human(v, lang).1 { "---:" } else { "---" })
                .collect()
        })
        .unwrap_or_else(|| vec!["---"; grid.columns.len()]);
    let _ = writeln!(out, "|{}|", aligns.join("|"));
    for row in &grid.rows {
        let suppressed = status.is_some_and(|i| !matches!(&row[i], Value::Code(s) if s == "s"));
        let cells: Vec<String> = row
            .iter()
            .map(|v| match (suppressed, v) {
                (true, Value::Missing) => "n.d.".to_string(),
                _ => human(v, lang).0.replace('|', "\\|"),
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
}
