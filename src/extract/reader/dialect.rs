//! The bytes of one extract file and how to read them: encoding (UTF-8 with
//! or without BOM, or Windows-1252), separator and header, detected from the
//! file itself so analysts never have to describe their export.

use std::fs::File;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// What the user asked for with `--encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum EncodingChoice {
    /// UTF-8 when every byte is valid UTF-8, Windows-1252 otherwise.
    #[default]
    Auto,
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// Also right for ISO-8859-1 (Latin-1) files.
    #[value(name = "windows-1252", alias = "cp1252", alias = "latin1", alias = "iso-8859-1")]
    Windows1252,
}

/// The bytes of a file as UTF-8, however they were stored.
pub enum Utf8Bytes {
    Mapped(memmap2::Mmap),
    Static(&'static [u8]),
    Decoded(Vec<u8>),
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Utf8Bytes::Mapped(m) => m,
            Utf8Bytes::Static(s) => s,
            Utf8Bytes::Decoded(v) => v,
        }
    }
}

impl Utf8Bytes {
    /// Lets the kernel drop the pages of `range` of a mapped file (read
    /// already) from memory; read again, they come back from the file.
    pub fn release(&self, range: std::ops::Range<usize>) {
        let Utf8Bytes::Mapped(map) = self else { return };
        const PAGE: usize = 4096;
        let start = range.start.div_ceil(PAGE) * PAGE;
        let end = range.end / PAGE * PAGE;
        if start < end {
            // SAFETY: the mapping is read-only and backed by the file, so a
            // dropped page holds the same bytes when read again. The advice
            // only saves memory: failing to give it changes nothing.
            let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
        }
    }
}

/// Bytes shared between the CSV reader and whoever releases their pages.
pub struct SharedBytes(pub std::sync::Arc<Utf8Bytes>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref().as_ref()
    }
}

/// A file ready for the CSV reader: UTF-8 bytes, the offset of its first data
/// line and its header.
pub struct PreparedFile {
    pub bytes: Utf8Bytes,
    /// Byte offset just after the header line.
    pub body_start: usize,
    pub encoding: &'static str,
    pub separator: u8,
    /// Header names, trimmed and lower-cased, in file order.
    pub header: Vec<String>,
    /// Whether any byte of the file is a quote; without one, each line is
    /// a record and a piece of the file may end at any line break.
    pub quotes: bool,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

pub fn prepare_path(path: &Path, choice: EncodingChoice) -> Result<PreparedFile> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let raw = if len == 0 {
        Utf8Bytes::Static(b"")
    } else {
        // SAFETY: the extract is read-only input; a file truncated under us
        // would be a concurrent misuse we cannot guard against anyway.
        let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot read {}", path.display()))?;
        Utf8Bytes::Mapped(map)
    };
    prepare(raw, &path.display().to_string(), choice)
}

pub fn prepare(raw: Utf8Bytes, name: &str, choice: EncodingChoice) -> Result<PreparedFile> {
    let (bytes, encoding, quotes) = decode(raw, name, choice)?;
    let data = bytes.as_ref();
    let header_start = if data.starts_with(BOM) { BOM.len() } else { 0 };
    let header_end = memchr_newline(&data[header_start..]).map_or(data.len(), |i| header_start + i);
    let body_start = (header_end + 1).min(data.len());
    let header_line = std::str::from_utf8(&data[header_start..header_end])
        .expect("decoded to UTF-8 above")
        .trim_end_matches('\r');
    if header_line.trim().is_empty() {
        bail!("{name}: the file is empty or its first line is blank; the first line must be the header with the column names");
    }
    let separator = if header_line.contains(';') {
        b';'
    } else if header_line.contains(',') {
        b','
    } else {
        b';'
    };
    let header = header_line
        .split(separator as char)
        .map(|h| h.trim().trim_matches('"').trim().to_ascii_lowercase())
        .collect();
    Ok(PreparedFile {
        bytes,
        body_start,
        encoding,
        separator,
        header,
        quotes,
    })
}

/// The file's bytes as UTF-8, the encoding they were read in and whether
/// any of them is a quote.
fn decode(raw: Utf8Bytes, name: &str, choice: EncodingChoice) -> Result<(Utf8Bytes, &'static str, bool)> {
    match (choice, scan(&raw, CHECKED_BYTES)) {
        (EncodingChoice::Auto | EncodingChoice::Utf8, Some(Scan { quotes })) => {
            let label = if raw.as_ref().starts_with(BOM) {
                "UTF-8 (BOM)"
            } else {
                "UTF-8"
            };
            Ok((raw, label, quotes))
        }
        (EncodingChoice::Utf8, None) => {
            // The standard library's check says where the bytes stop being UTF-8.
            let err = std::str::from_utf8(raw.as_ref()).expect_err("scan found invalid UTF-8");
            let at = err.valid_up_to();
            let line = raw.as_ref()[..at].iter().filter(|b| **b == b'\n').count() + 1;
            bail!(
                "{name}, line {line}: byte 0x{:02X} is not valid UTF-8; if the file was saved by Excel or an older system, rerun with --encoding windows-1252",
                raw.as_ref()[at]
            )
        }
        (EncodingChoice::Auto | EncodingChoice::Windows1252, _) => {
            let (decoded, quotes) = decoded_from_windows_1252(&raw, name)?;
            Ok((decoded, "Windows-1252", quotes))
        }
    }
}

/// A Windows-1252 file decoded to UTF-8 a piece at a time into a file of
/// its own that no directory names (deleted when closed), mapped like the
/// files that are UTF-8 already, so that the reader lets each piece's pages
/// go once read: decoded whole in memory, a file of 1.3 GB held its
/// decoded bytes, more than it, until the end of the analysis
/// (`docs/benchmarks.md`, "Windows-1252 files decoded to disk"). Line
/// breaks, quotes and separators are the same bytes in both encodings, so
/// pieces end where lines end. Also whether any byte is a quote.
fn decoded_from_windows_1252(raw: &Utf8Bytes, name: &str) -> Result<(Utf8Bytes, bool)> {
    use std::io::Write;
    let cannot = || {
        format!(
            "{name}: cannot write its UTF-8 copy in the temporary folder {}; free space there, or set TMPDIR to a folder with room",
            std::env::temp_dir().display()
        )
    };
    let bytes = raw.as_ref();
    if bytes.is_empty() {
        return Ok((Utf8Bytes::Static(b""), false));
    }
    let file = tempfile::tempfile().with_context(cannot)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &file);
    let mut quotes = false;
    let pieces = line_pieces(bytes, CHECKED_BYTES);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // A piece per core decoded at a time, then written in order.
    for batch in pieces.chunks(cores) {
        let decode = |piece: usize| {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes[batch[piece].clone()]);
            text
        };
        let decoded = crate::extract::parallel::each(batch.len(), decode, |_| false)
            .unwrap_or_else(|_| unreachable!("no piece stops the others"));
        for (text, piece) in decoded.iter().zip(batch) {
            quotes = quotes || memchr::memchr(b'"', text.as_bytes()).is_some();
            out.write_all(text.as_bytes()).with_context(cannot)?;
            raw.release(piece.clone());
        }
    }
    out.flush().with_context(cannot)?;
    drop(out);
    // SAFETY: the file is this process's alone (no directory names it) and
    // is not written again.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(cannot)?;
    Ok((Utf8Bytes::Mapped(map), quotes))
}

/// Bytes checked at a time by [`scan`].
const CHECKED_BYTES: usize = 64 << 20;

/// What [`scan`] found in bytes that are UTF-8.
#[derive(Debug, PartialEq)]
struct Scan {
    quotes: bool,
}

/// Whether the bytes are UTF-8 (none when they are not) and hold a quote,
/// checked a piece at a time, each piece's pages of a mapped file let go
/// once checked: checked whole, all of a file's pages stayed in memory
/// until the end, on top of the frames already read. Pieces end after a
/// line break, which no multi-byte character holds, so each piece is UTF-8
/// exactly when the whole is; they are checked on every core. The
/// vectorised check is simdutf8's, several times faster than the standard
/// library's. The quotes are looked for in the same pass, a megabyte at a
/// time while it is in the cache: a file without one is split into pieces
/// at line breaks alone, without counting quotes on one core while the
/// others wait.
fn scan(raw: &Utf8Bytes, piece_bytes: usize) -> Option<Scan> {
    const BLOCK_BYTES: usize = 1 << 20;
    let bytes = raw.as_ref();
    let pieces = line_pieces(bytes, piece_bytes);
    let check = |piece: usize| {
        let piece_range = pieces[piece].clone();
        let piece = &bytes[piece_range.clone()];
        let mut quotes = false;
        for block in line_pieces(piece, BLOCK_BYTES) {
            let block = &piece[block];
            if simdutf8::basic::from_utf8(block).is_err() {
                return None;
            }
            quotes = quotes || memchr::memchr(b'"', block).is_some();
        }
        raw.release(piece_range);
        Some(quotes)
    };
    let quotes = crate::extract::parallel::each(pieces.len(), check, Option::is_none).ok()?;
    Some(Scan {
        quotes: quotes.into_iter().any(|quotes| quotes == Some(true)),
    })
}

/// Ranges of `bytes` of about `target` bytes, each ending after a line break
/// (the last one where the bytes end; one empty range for no bytes).
pub(in crate::extract) fn line_pieces(bytes: &[u8], target: usize) -> Vec<std::ops::Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes
            .get(start + target..)
            .and_then(memchr_newline)
            .map_or(bytes.len(), |newline| start + target + newline + 1);
        pieces.push(start..end);
        start = end;
    }
    if pieces.is_empty() {
        pieces.push(0..0);
    }
    pieces
}

fn memchr_newline(data: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', data)
}

#[cfg(test)]
mod tests {
    use super::{line_pieces, scan, Scan, Utf8Bytes};

    #[test]
    fn line_pieces_end_after_line_breaks_and_cover_the_bytes() {
        let piece = b"a;1\nbb;2\nc;3\nd";
        assert_eq!(line_pieces(piece, 2), vec![0..4, 4..9, 9..13, 13..14]);
        assert_eq!(line_pieces(piece, 100), vec![0..14]);
        assert_eq!(line_pieces(b"a\n", 1), vec![0..2]);
        assert_eq!(line_pieces(b"", 4), vec![0..0]);
    }

    #[test]
    fn utf8_and_quotes_checked_in_pieces_as_a_whole() {
        let scanned = |bytes: &'static [u8]| {
            (1..=bytes.len() + 1)
                .map(|piece| scan(&Utf8Bytes::Static(bytes), piece))
                .collect::<Vec<_>>()
        };
        let all = |bytes, expected: Option<Scan>| {
            let scanned = scanned(bytes);
            assert!(scanned.iter().all(|s| *s == expected), "{scanned:?}");
        };
        all("aé\nbè;ü\nç".as_bytes(), Some(Scan { quotes: false }));
        all("aé\nb\"è\";ü\nç".as_bytes(), Some(Scan { quotes: true }));
        all(b"a\nb;c\n\"", Some(Scan { quotes: true }));
        all(b"a\nb\xe9\nc", None);
        all(b"a\n\"\xc3", None);
        assert_eq!(scan(&Utf8Bytes::Static(b""), 1), Some(Scan { quotes: false }));
    }
}
