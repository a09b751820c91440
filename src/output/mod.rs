//! Renderers turn a [`Grid`] into bytes; [`write`] puts bytes on stdout or
//! into a file atomically. Nothing here prints.

mod delimited;
mod json;
mod terminal;

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
}

pub fn render(grid: &Grid, format: Format, lang: Lang) -> Vec<u8> {
    match format {
        Format::Table => terminal::render(grid, lang),
        Format::Csv => delimited::render(grid),
        Format::Json => json::render(grid),
    }
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
