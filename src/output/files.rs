//! Putting what the toolkit writes in place, so that a reader never sees a
//! file or folder half-written, and nothing that is not ours is replaced.
//!
//! - A file is written beside its target and renamed over it when complete
//!   ([`AtomicFile`]); an existing device, FIFO or `/dev/fd/N` is written
//!   straight into instead, and a symlink is followed.
//! - A folder (report, job output, cache) is built in a staging folder
//!   beside it ([`staging_dir`]) and moved in place ([`replace_dir`]).
//! - Partial files and staging folders carry the writing process's id, so
//!   that those a killed process left behind are removed by the next write
//!   beside them.
//!
//! Every error names the path, and a failed write is always an error.

use std::fs::{File, Permissions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tempfile::NamedTempFile;

/// Mode a new file is created with, before the umask (as `touch` does).
const NEW_FILE_MODE: u32 = 0o666;

/// What a failed write asks the user to check.
const CHECK_ROOM: &str = "check that its folder can be written and has room";

/// A file being written: complete (renamed in place) only on [`commit`],
/// left out of the way if dropped before.
///
/// [`commit`]: AtomicFile::commit
pub struct AtomicFile {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    /// A device, FIFO or descriptor: written into where it is.
    Direct(BufWriter<File>),
    /// A regular file: a partial file beside the final target.
    Staged {
        file: BufWriter<NamedTempFile>,
        target: PathBuf,
    },
}

impl AtomicFile {
    /// Starts writing `path`. A new file gets `0666` less the umask; a file
    /// that is replaced keeps its mode.
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let cannot = || format!("cannot write {}", path.display());
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => bail!("cannot write {}: it is a folder; give a file name", path.display()),
            Ok(meta) if !meta.is_file() => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(cannot)?;
                return Ok(AtomicFile {
                    path: path.to_path_buf(),
                    sink: Sink::Direct(BufWriter::new(file)),
                });
            }
            _ => {}
        }
        let target = final_target(path).with_context(cannot)?;
        let dir = parent_of(&target);
        let existing = std::fs::metadata(&target).ok().map(|m| m.permissions());
        let name = file_name(&target);
        remove_abandoned(&dir, &name);
        let staged = tempfile::Builder::new()
            .prefix(&format!(".{name}{PARTIAL}{}-", std::process::id()))
            .permissions(Permissions::from_mode(NEW_FILE_MODE))
            .tempfile_in(&dir)
            .with_context(|| {
                format!(
                    "cannot write {}: cannot create a file in {}; {CHECK_ROOM}",
                    path.display(),
                    dir.display()
                )
            })?;
        if let Some(permissions) = existing {
            staged.as_file().set_permissions(permissions).with_context(cannot)?;
        }
        Ok(AtomicFile {
            path: path.to_path_buf(),
            sink: Sink::Staged {
                file: BufWriter::new(staged),
                target,
            },
        })
    }

    /// The path given to [`AtomicFile::create`], for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes what is written and puts the file in place.
    pub fn commit(self) -> Result<()> {
        let cannot = || cannot_write(&self.path);
        match self.sink {
            Sink::Direct(mut file) => file.flush().with_context(cannot),
            Sink::Staged { file, target } => {
                let staged = file.into_inner().map_err(|e| e.into_error()).with_context(cannot)?;
                staged.as_file().sync_all().with_context(cannot)?;
                staged.persist(&target).map_err(|e| e.error).with_context(cannot)?;
                Ok(())
            }
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match &mut self.sink {
            Sink::Direct(file) => file.write(bytes),
            Sink::Staged { file, .. } => file.write(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Direct(file) => file.flush(),
            Sink::Staged { file, .. } => file.flush(),
        }
    }
}

/// What a failed write of `path` says: which file, and what to check.
pub fn cannot_write(path: &Path) -> String {
    format!("cannot write {}; {CHECK_ROOM}", path.display())
}

/// Writes `bytes` to `path` with [`AtomicFile`].
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).with_context(|| cannot_write(path))?;
    file.commit()
}

/// Writes a new file inside a staging folder, naming it in any error.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| cannot_write(path))
}

/// The file a path names after following its symlinks, even a dangling one.
fn final_target(path: &Path) -> std::io::Result<PathBuf> {
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

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string())
}

/// The infixes of what a write leaves beside its target until it completes:
/// a partial file, a staging folder, the folder it replaces.
const PARTIAL: &str = ".partial-";
const STAGING: &str = ".staging-";
const PREVIOUS: &str = ".previous-";

/// A folder beside `output` to write into before `replace_dir` moves it in
/// place.
pub fn staging_dir(output: &Path) -> Result<tempfile::TempDir> {
    let parent = parent_of(output);
    std::fs::create_dir_all(&parent).with_context(|| format!("cannot create {}; {CHECK_ROOM}", parent.display()))?;
    remove_abandoned(&parent, &file_name(output));
    tempfile::Builder::new()
        .prefix(&format!(".{}{STAGING}{}-", file_name(output), std::process::id()))
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}; {CHECK_ROOM}", parent.display()))
}

/// Removes the partial files and staging or set-aside folders of `name`
/// whose process no longer runs.
fn remove_abandoned(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let owner = [PARTIAL, STAGING, PREVIOUS].iter().find_map(|kind| {
            let rest = file.strip_prefix(&format!(".{name}{kind}"))?;
            rest.split('-').next()?.parse::<u32>().ok()
        });
        if owner.is_none_or(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
            continue;
        }
        let _ = match entry.file_type() {
            Ok(kind) if kind.is_dir() => std::fs::remove_dir_all(entry.path()),
            Ok(kind) if kind.is_file() => std::fs::remove_file(entry.path()),
            _ => Ok(()),
        };
    }
}

/// Puts the finished staging folder where the output goes, replacing an older one.
pub fn replace_dir(staging: PathBuf, output: &Path) -> Result<()> {
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
        let previous = output.with_file_name(format!(".{}{PREVIOUS}{}", file_name(output), std::process::id()));
        std::fs::rename(output, &previous)
            .with_context(|| format!("cannot move the old {} aside", output.display()))?;
        if let Err(error) = std::fs::rename(&staging, output) {
            let _ = std::fs::rename(&previous, output);
            return Err(error).with_context(|| format!("cannot move the new output into {}", output.display()));
        }
        std::fs::remove_dir_all(&previous).with_context(|| format!("cannot remove {}", previous.display()))?;
    } else {
        std::fs::rename(&staging, output)
            .with_context(|| format!("cannot move the output into {}", output.display()))?;
    }
    Ok(())
}
