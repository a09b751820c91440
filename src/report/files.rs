//! The report's folder: its pages, tables, workbook and manifest, and the
//! job centres' sheets beside them. The caller stages the folder and moves
//! it into place.

use std::path::Path;

use anyhow::{Context, Result};

use super::{centres, markdown, pages, t, Report};
use crate::output::{self, xlsx};
use crate::table::Grid;

/// Writes the report's files into `dir`: sintesi.html, sintesi.md,
/// tabelle.xlsx, tabelle/*.csv and manifest.json, and with fact sheets
/// cpi/index.html, cpi/*.html and cpi/schede.xlsx.
pub fn write_files(report: &Report, dir: &Path) -> Result<()> {
    let tables = dir.join("tabelle");
    std::fs::create_dir_all(&tables).with_context(|| format!("cannot create {}", tables.display()))?;
    output::write_new(&dir.join("sintesi.html"), &pages::synthesis(report)?)?;
    output::write_new(&dir.join("sintesi.md"), &markdown::render(report))?;
    let sheets: Vec<(&str, &Grid)> = report.tables.iter().map(|t| (t.name.as_str(), &t.grid)).collect();
    output::write_new(&dir.join("tabelle.xlsx"), &xlsx::render_workbook(&sheets)?)?;
    for table in &report.tables {
        let csv = output::render(&table.grid, output::Format::Csv, report.lang)?;
        output::write_new(&tables.join(format!("{}.csv", table.name)), &csv)?;
    }
    if !report.sheets.is_empty() {
        write_sheets(report, &dir.join(centres::DIR))?;
    }
    let mut manifest = serde_json::to_vec_pretty(&report.manifest)?;
    manifest.push(b'\n');
    output::write_new(&dir.join("manifest.json"), &manifest)
}

/// The fact sheets: an index page, a page per job centre, and a workbook
/// with the index and a sheet per centre.
fn write_sheets(report: &Report, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    output::write_new(&dir.join(centres::INDEX), &pages::index(report)?)?;
    for sheet in &report.sheets {
        output::write_new(&dir.join(&sheet.file), &pages::sheet(report, sheet)?)?;
    }
    let index = centres::index_grid(&report.sheets);
    let mut sheets = vec![(t(report.lang, "indice", "index"), vec![(String::new(), &index)])];
    for sheet in &report.sheets {
        let blocks = sheet.blocks.iter().map(|b| (b.title.clone(), &b.grid)).collect();
        sheets.push((sheet.file.trim_end_matches(".html").to_string(), blocks));
    }
    let sheets: Vec<(&str, Vec<(&str, &Grid)>)> = sheets
        .iter()
        .map(|(name, blocks)| (name.as_str(), blocks.iter().map(|(t, g)| (t.as_str(), *g)).collect()))
        .collect();
    output::write_new(&dir.join(centres::WORKBOOK), &xlsx::render_sheets(&sheets)?)
}
