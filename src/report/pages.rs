//! The report's HTML pages (`sintesi.html`, and with `--per-cpi` the index
//! and a fact sheet per job centre), each self-contained (inline CSS and
//! SVG, no network), built from the templates in `templates/`. Every value
//! a template prints is escaped unless the template says `|safe`, which it
//! says only of the SVG charts (`charts.rs` escapes their text).

use anyhow::{Context, Result};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, State};
use serde::Serialize;

use super::{centres, t, FactSheet, Report};
use crate::output::terminal::{human, human_header};
use crate::table::{Grid, Lang, Value};

/// Text and attribute values made safe inside HTML and SVG.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn templates() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .context("the report templates' syntax")?,
    );
    // Our escape rather than minijinja's, which also writes `/` as `&#x2f;`
    // and would make every date in the page source unreadable.
    env.set_formatter(|out, state: &mut State, value| {
        if *state.auto_escape() != minijinja::AutoEscape::None && !value.is_safe() {
            match value.as_str() {
                Some(text) => out.write_str(&escape(text))?,
                None => out.write_str(&escape(&value.to_string()))?,
            }
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    for (name, source) in [
        ("layout.html", include_str!("templates/layout.html")),
        ("macros.html", include_str!("templates/macros.html")),
        ("sintesi.html", include_str!("templates/sintesi.html")),
        ("scheda.html", include_str!("templates/scheda.html")),
        ("indice.html", include_str!("templates/indice.html")),
    ] {
        env.add_template(name, source)
            .with_context(|| format!("the report template {name}"))?;
    }
    Ok(env)
}

fn render(template: &str, context: minijinja::Value) -> Result<Vec<u8>> {
    let env = templates()?;
    let page = env
        .get_template(template)?
        .render(context)
        .with_context(|| format!("rendering the report template {template}"))?;
    Ok(page.into_bytes())
}

#[derive(Serialize)]
struct Cell {
    text: String,
    numeric: bool,
}

#[derive(Serialize)]
struct TableRow {
    suppressed: bool,
    cells: Vec<Cell>,
}

#[derive(Serialize)]
struct TableView {
    title: String,
    columns: Vec<String>,
    rows: Vec<TableRow>,
}

fn cell(value: &Value, suppressed: bool, lang: Lang) -> Cell {
    let (text, numeric) = human(value, lang);
    let text = if suppressed && matches!(value, Value::Missing) {
        "n.d.".to_string()
    } else {
        text
    };
    Cell { text, numeric }
}

fn table_view(title: &str, grid: &Grid, lang: Lang) -> TableView {
    let status = grid.columns.iter().position(|c| c == "stato_cella");
    TableView {
        title: title.to_string(),
        columns: grid.columns.iter().map(|c| human_header(c, lang)).collect(),
        rows: grid
            .rows
            .iter()
            .map(|row| {
                let suppressed = status.is_some_and(|i| !matches!(&row[i], Value::Code(s) if s == "s"));
                TableRow {
                    suppressed,
                    cells: row.iter().map(|v| cell(v, suppressed, lang)).collect(),
                }
            })
            .collect(),
    }
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::It => "it",
        Lang::En => "en",
    }
}

#[derive(Serialize)]
struct SectionView<'a> {
    id: &'a str,
    title: &'a str,
    paragraphs: &'a [String],
    charts: &'a [String],
    tables: Vec<TableView>,
}

/// `sintesi.html`.
pub fn synthesis(report: &Report) -> Result<Vec<u8>> {
    let lang = report.lang;
    let sections: Vec<SectionView> = report
        .sections
        .iter()
        .map(|s| SectionView {
            id: s.id,
            title: &s.title,
            paragraphs: &s.paragraphs,
            charts: &s.charts,
            tables: s
                .tables
                .iter()
                .map(|i| table_view(&report.tables[*i].title, &report.tables[*i].grid, lang))
                .collect(),
        })
        .collect();
    render(
        "sintesi.html",
        minijinja::context! {
            lang => lang_code(lang),
            title => &report.title,
            subtitle => &report.subtitle,
            findings => Serde(&report.findings),
            sections => Serde(sections),
            sheets => !report.sheets.is_empty(),
            words => minijinja::context! {
                findings => t(lang, "Risultati principali", "Key findings"),
                sheets => t(lang, "Schede dei centri per l'impiego", "Job centre fact sheets"),
            },
        },
    )
}

fn sheet_words(lang: Lang) -> minijinja::Value {
    minijinja::context! {
        index => t(lang, "Tutti i centri per l'impiego", "All job centres"),
        regional => t(lang, "Rapporto regionale", "Regional report"),
    }
}

#[derive(Serialize)]
struct BlockView<'a> {
    title: &'a str,
    notes: &'a [String],
    table: TableView,
}

/// A job centre's page in `cpi/`.
pub fn sheet(report: &Report, sheet: &FactSheet) -> Result<Vec<u8>> {
    let lang = report.lang;
    let title = match &sheet.province {
        Some(province) => format!(
            "{} {} ({province})",
            t(lang, "Centro per l'impiego", "Job centre"),
            sheet.code
        ),
        None => format!("{} {}", t(lang, "Centro per l'impiego", "Job centre"), sheet.code),
    };
    let blocks: Vec<BlockView> = sheet
        .blocks
        .iter()
        .map(|b| BlockView {
            title: &b.title,
            notes: &b.notes,
            table: table_view("", &b.grid, lang),
        })
        .collect();
    render(
        "scheda.html",
        minijinja::context! {
            lang => lang_code(lang),
            title => title,
            subtitle => &report.subtitle,
            headline => Serde(&sheet.headline),
            charts => Serde(&sheet.charts),
            blocks => Serde(blocks),
            words => sheet_words(lang),
        },
    )
}

#[derive(Serialize)]
struct IndexRow<'a> {
    file: &'a str,
    code: &'a str,
    cells: Vec<Cell>,
}

/// `cpi/index.html`: every centre with its headline figures and a link.
pub fn index(report: &Report) -> Result<Vec<u8>> {
    let lang = report.lang;
    let rows: Vec<IndexRow> = report
        .sheets
        .iter()
        .map(|s| IndexRow {
            file: &s.file,
            code: &s.code,
            cells: s.summary[1..].iter().map(|v| cell(v, true, lang)).collect(),
        })
        .collect();
    render(
        "indice.html",
        minijinja::context! {
            lang => lang_code(lang),
            title => t(lang, "Schede dei centri per l'impiego", "Job centre fact sheets"),
            subtitle => &report.subtitle,
            paragraphs => Serde(centres::index_paragraphs(lang)),
            columns => Serde(centres::SUMMARY_COLUMNS.iter().map(|c| human_header(c, lang)).collect::<Vec<_>>()),
            rows => Serde(rows),
            words => sheet_words(lang),
        },
    )
}
