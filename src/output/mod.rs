//! Renderers turn a [`Grid`] into bytes; [`write`] puts bytes on stdout or
//! into a file atomically (see `files`). Nothing here prints.

mod delimited;
mod files;
mod json;
pub mod terminal;
pub mod xlsx;

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

pub use files::{cannot_write, file_name, replace_dir, staging_dir, write_file_atomically, write_new, AtomicFile};

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

/// Writes to `path` (see [`write_file_atomically`]); without a path, to
/// stdout, where a failed write is an error naming it (a closed pipe is
/// told apart by the caller).
pub fn write(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    match path {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write to standard output")
        }
        Some(path) => write_file_atomically(path, bytes),
    }
}

/// Numbers in machine formats: the shortest text that reads back as the
/// same number (and never `-0`).
fn machine_number(value: f64) -> String {
    // Rust writes every digit of a tiny p-value without an exponent.
    if value != 0.0 && value.abs() < 1e-6 {
        format!("{value:e}")
    } else {
        format!("{}", value + 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::machine_number;

    #[test]
    fn machine_numbers_read_back_exactly_and_tiny_ones_take_an_exponent() {
        assert_eq!(machine_number(0.25), "0.25");
        assert_eq!(machine_number(-0.0), "0");
        assert_eq!(machine_number(6.810264342339164e-102), "6.810264342339164e-102");
        for value in [0.1, 1.0 / 3.0, 2.5e-7, 123456.789] {
            assert_eq!(machine_number(value).parse::<f64>().unwrap(), value);
        }
    }
}
