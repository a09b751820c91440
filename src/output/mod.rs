//! Renderers turn a [`Grid`] into bytes; [`write`] puts bytes on stdout or
//! into a file atomically. Nothing here prints.

mod delimited;
mod json;
pub mod terminal;
pub mod xlsx;

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::table::{Grid, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned table with labels and human number format.
    Table,
    /// `;`-separated, UTF-8, `.` decimals, proportions in [0, 1].
    Csv,
    /// An array of row objects, columns in table order.
    Json,
    /// Typed columns (counts, rates, flags), suppressed values as nulls; needs --output.
    Parquet,
    /// A workbook with one sheet, percentages as percent cells; needs --output.
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Table => "txt",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Parquet => "parquet",
            Format::Xlsx => "xlsx",
        }
    }

    /// Binary formats go to files only, never to a terminal.
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Parquet | Format::Xlsx)
    }
}

pub fn render(grid: &Grid, format: Format, lang: Lang) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Table => terminal::render(grid, lang),
        Format::Csv => delimited::render(grid),
        Format::Json => json::render(grid),
        Format::Parquet => crate::engine::grid_to_parquet(grid)?,
        Format::Xlsx => xlsx::render_workbook(&[("tabella", grid)])?,
    })
}

/// Writes to `path` through a temporary file in the same directory, renamed
/// into place only when complete; without a path, to stdout.
pub fn write(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match path {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
            Ok(())
        }
        Some(path) => write_file_atomically(path, bytes),
    }
}

pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut staged = tempfile::NamedTempFile::new_in(dir).with_context(|| {
        format!(
            "cannot write {}: cannot create a file in {}",
            path.display(),
            dir.display()
        )
    })?;
    staged
        .write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    staged
        .as_file()
        .sync_all()
        .with_context(|| format!("cannot write {}", path.display()))?;
    staged
        .persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Numbers in machine formats: the shortest text that reads back as the
/// same number (and never `-0`).
fn machine_number(value: f64) -> String {
    format!("{}", value + 0.0)
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string())
}

/// A folder beside `output` to write into before `replace_dir` moves it in place.
pub fn staging_dir(output: &Path) -> Result<tempfile::TempDir> {
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    tempfile::Builder::new()
        .prefix(&format!(".{}.staging-", file_name(output)))
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))
}

/// Puts the finished staging folder where the output goes, replacing an older one.
pub fn replace_dir(staging: std::path::PathBuf, output: &Path) -> Result<()> {
    if output.exists() {
        let previous = output.with_file_name(format!(".{}.previous-{}", file_name(output), std::process::id()));
        std::fs::rename(output, &previous)
            .with_context(|| format!("cannot move the old {} aside", output.display()))?;
        std::fs::rename(&staging, output)
            .with_context(|| format!("cannot move the new output into {}", output.display()))?;
        std::fs::remove_dir_all(&previous).with_context(|| format!("cannot remove {}", previous.display()))?;
    } else {
        std::fs::rename(&staging, output)
            .with_context(|| format!("cannot move the output into {}", output.display()))?;
    }
    Ok(())
}
