//! Content hashes of the CSV files, taken as they were read: what tells a
//! cache whether the files it was written from have changed.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::extract::reader::dialect::FileBytes;

fn content_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// The content hash of each file, computed in parallel (one thread per file).
pub(super) fn hash_files(paths: &[PathBuf]) -> Result<Vec<String>> {
    std::thread::scope(|scope| {
        let jobs: Vec<_> = paths
            .iter()
            .map(|path| scope.spawn(move || hash_file(path, HASHED_PIECE_BYTES)))
            .collect();
        jobs.into_iter()
            .map(|job| job.join().expect("hashing does not panic"))
            .collect()
    })
}

fn hash_file(path: &Path, piece_bytes: usize) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len == 0 {
        return Ok(content_hash(b""));
    }
    // SAFETY: read-only input, as in the CSV reader.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = FileBytes::Mapped(map);
    // Piece by piece, each page let go once hashed: otherwise every mapped
    // page of the extract stays resident, as much as the whole cached
    // analysis needs besides.
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let whole = bytes.as_ref();
    for start in (0..whole.len()).step_by(piece_bytes) {
        let piece = start..(start + piece_bytes).min(whole.len());
        hasher.update(&whole[piece.clone()]);
        bytes.release(piece);
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

const HASHED_PIECE_BYTES: usize = 16 << 20;

/// What changes when a file is rewritten, appended to or replaced, read
/// without reading its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileIdentity {
    device: u64,
    inode: u64,
    pub(super) bytes: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl FileIdentity {
    pub(super) fn of(path: &Path) -> Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(FileIdentity {
            device: meta.dev(),
            inode: meta.ino(),
            bytes: meta.len(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        })
    }
}

/// The hash of `path` as it was when `seen` was taken, before it was read:
/// a file that changed since cannot be vouched for by a hash taken now.
pub(super) fn hash_as_read(path: &Path, seen: &FileIdentity) -> Result<String> {
    let hash = hash_file(path, HASHED_PIECE_BYTES)?;
    if FileIdentity::of(path)? != *seen {
        bail!(
            "{} changed while it was read, so the Parquet cache was not written; run the import again once the file is no longer being written",
            path.display()
        );
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::{content_hash, hash_as_read, hash_file, FileIdentity};

    #[test]
    fn a_file_hashed_in_pieces_has_the_hash_of_its_whole_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("did.csv");
        let content: Vec<u8> = (0..10_000u32)
            .flat_map(|i| format!("D{i};P{};01/01/2024\n", i % 97).into_bytes())
            .collect();
        std::fs::write(&path, &content).unwrap();
        let whole = content_hash(&content);
        for piece_bytes in [1, 4096, 5000, content.len(), content.len() * 2] {
            assert_eq!(
                hash_file(&path, piece_bytes).unwrap(),
                whole,
                "pieces of {piece_bytes} bytes"
            );
        }
        std::fs::write(&path, b"").unwrap();
        assert_eq!(hash_file(&path, 4096).unwrap(), content_hash(b""));
    }

    #[test]
    fn a_file_that_changed_after_it_was_first_seen_is_not_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("did.csv");
        std::fs::write(&path, b"id_did;id_lav\nD1;P1\n").unwrap();
        let seen = FileIdentity::of(&path).unwrap();
        assert_eq!(hash_as_read(&path, &seen).unwrap(), hash_file(&path, 4096).unwrap());

        // Rewritten in place with the same length, as an export still running would.
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::io::Write::write_all(&mut &file, b"id_did;id_lav\nD2;P2\n").unwrap();
        file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(1))
            .unwrap();
        let error = hash_as_read(&path, &seen).unwrap_err().to_string();
        assert!(error.contains("did.csv changed while it was read"), "{error}");

        // Replaced by another file of the same length and times.
        let seen = FileIdentity::of(&path).unwrap();
        let other = dir.path().join("other.csv");
        std::fs::copy(&path, &other).unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(hash_as_read(&path, &seen).is_err());
    }
}
