//! `sintesi.html`: one self-contained page (inline CSS and SVG, no network)
//! that reads on screen and prints to PDF.

use std::fmt::Write;

use super::{t, Report};
use crate::output::terminal::{human, human_header};
use crate::table::{Grid, Value};

const STYLE: &str = "\
body{font-family:Helvetica,Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #1b6ca8;padding-bottom:.2rem;margin-top:2.2rem}
.subtitle{color:#555;margin-top:0}.findings{background:#f2f6fa;border-left:4px solid #1b6ca8;padding:.6rem 1.2rem}
table{border-collapse:collapse;font-size:.8rem;margin:1rem 0;width:100%}th,td{border:1px solid #ccc;padding:.2rem .4rem}
th{background:#eef2f5;text-align:left}td.n{text-align:right}tr.soppressa td{background:#f3f3f3;color:#777}
caption{text-align:left;font-weight:bold;padding:.3rem 0}figure{margin:1rem 0;overflow-x:auto}
nav ul{columns:2}@media print{body{margin:0;max-width:none}h2{break-before:auto}table,figure{break-inside:avoid}nav{display:none}}";

pub fn render(report: &Report) -> Vec<u8> {
    let lang = report.lang;
    let mut out = String::new();
    let code = match lang {
        crate::table::Lang::It => "it",
        crate::table::Lang::En => "en",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n",
        escape(&report.title)
    );
    let _ = writeln!(
        out,
        "<h1>{}</h1>\n<p class=\"subtitle\">{}</p>",
        escape(&report.title),
        escape(&report.subtitle)
    );
    let _ = writeln!(
        out,
        "<section class=\"findings\" id=\"sintesi\">\n<h2>{}</h2>\n<ul>",
        t(lang, "Risultati principali", "Key findings")
    );
    for finding in &report.findings {
        let _ = writeln!(out, "<li>{}</li>", escape(finding));
    }
    let _ = writeln!(out, "</ul>\n</section>\n<nav><ul>");
    for section in &report.sections {
        let _ = writeln!(
            out,
            "<li><a href=\"#{}\">{}</a></li>",
            section.id,
            escape(&section.title)
        );
    }
    let _ = writeln!(out, "</ul></nav>");
    for section in &report.sections {
        let _ = writeln!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>",
            section.id,
            escape(&section.title)
        );
        for p in &section.paragraphs {
            let _ = writeln!(out, "<p>{}</p>", escape(p));
        }
        for chart in &section.charts {
            let _ = writeln!(out, "<figure>{chart}</figure>");
        }
        for index in &section.tables {
            let table = &report.tables[*index];
            table_html(&mut out, &table.title, &table.grid, lang);
        }
        let _ = writeln!(out, "</section>");
    }
    let _ = writeln!(out, "</body>\n</html>");
    out.into_bytes()
}

fn table_html(out: &mut String, title: &str, grid: &Grid, lang: crate::table::Lang) {
    let status = grid.columns.iter().position(|c| c == "stato_cella");
    let _ = write!(out, "<table>\n<caption>{}</caption>\n<thead><tr>", escape(title));
    for column in &grid.columns {
        let _ = write!(out, "<th>{}</th>", escape(&human_header(column, lang)));
    }
    let _ = writeln!(out, "</tr></thead>\n<tbody>");
    for row in &grid.rows {
        let suppressed = status.is_some_and(|i| !matches!(&row[i], Value::Code(s) if s == "s"));
        let _ = write!(out, "{}", if suppressed { "<tr class=\"soppressa\">" } else { "<tr>" });
        for value in row {
            let (text, numeric) = human(value, lang);
            let text = if suppressed && matches!(value, Value::Missing) {
                "n.d.".to_string()
            } else {
                text
            };
            let _ = write!(
                out,
                "{}{}</td>",
                if numeric { "<td class=\"n\">" } else { "<td>" },
                escape(&text)
            );
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody>\n</table>");
}

/// Text and attribute values made safe inside HTML and SVG.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
