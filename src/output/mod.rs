//! Renderers turn a [`Grid`] into bytes; [`write`] puts bytes on stdout or
//! into a file atomically. Nothing here prints.

mod delimited;
mod json;
pub mod terminal;
pub mod xlsx;

use std::io::Write;
use std::path::Path;

use std::os::unix::fs::PermissionsExt;

use anyhow::{bail, Context, Result};

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

/// Writes a file so that a reader never sees it half-written, and without
/// replacing what is not a regular file:
/// - an existing device, FIFO or `/dev/fd/N` is written straight into;
/// - a symlink is followed, and its target replaced in the target's folder;
/// - a regular file is replaced by a temporary file renamed over it, which
///   keeps the old file's mode; a new file gets `0666` less the umask.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let cannot = || format!("cannot write {}", path.display());
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(cannot)?;
            return file.write_all(bytes).and_then(|()| file.flush()).with_context(cannot);
        }
        Ok(meta) if meta.is_dir() => bail!("cannot write {}: it is a folder; give a file name", path.display()),
        _ => {}
    }
    let target = final_target(path).with_context(cannot)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let existing = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let mut staged = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name(&target)))
        .permissions(std::fs::Permissions::from_mode(NEW_FILE_MODE))
        .tempfile_in(&dir)
        .with_context(|| {
            format!(
                "cannot write {}: cannot create a file in {}",
                path.display(),
                dir.display()
            )
        })?;
    if let Some(permissions) = existing {
        staged.as_file().set_permissions(permissions).with_context(cannot)?;
    }
    staged.write_all(bytes).with_context(cannot)?;
    staged.as_file().sync_all().with_context(cannot)?;
    staged.persist(&target).with_context(cannot)?;
    Ok(())
}

/// Mode a new file is created with, before the umask (as `touch` does).
const NEW_FILE_MODE: u32 = 0o666;

/// The file a path names after following its symlinks, even a dangling one.
fn final_target(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            _ => return Ok(target),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
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

/// A folder beside `output` to write into before `replace_dir` moves it in
/// place. Its name carries this process's id, so that the folders a killed
/// run left behind (its process gone) are removed first.
pub fn staging_dir(output: &Path) -> Result<tempfile::TempDir> {
    let parent = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    remove_abandoned(parent, &file_name(output));
    tempfile::Builder::new()
        .prefix(&format!(".{}.staging-{}-", file_name(output), std::process::id()))
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))
}

/// Staging and set-aside folders of `name` whose process no longer runs.
fn remove_abandoned(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let owner = [".staging-", ".previous-"].iter().find_map(|kind| {
            let rest = file.strip_prefix(&format!(".{name}{kind}"))?;
            rest.split('-').next()?.parse::<u32>().ok()
        });
        let abandoned = owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if abandoned && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Puts the finished staging folder where the output goes, replacing an older one.
pub fn replace_dir(staging: std::path::PathBuf, output: &Path) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(output) {
        if !meta.is_dir() {
            let _ = std::fs::remove_dir_all(&staging);
            bail!(
                "{} exists and is not a folder (a file, a link or a device): nothing was written; choose another output folder",
                output.display()
            );
        }
    }
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
