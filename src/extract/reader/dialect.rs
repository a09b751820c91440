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

/// The bytes of a file, mapped, embedded or held: UTF-8 once prepared, but
/// for a Windows-1252 file decoded piece by piece as it is read
/// ([`PreparedFile::windows_1252`]).
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Static(&'static [u8]),
    Decoded(Vec<u8>),
}

impl AsRef<[u8]> for FileBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Static(s) => s,
            FileBytes::Decoded(v) => v,
        }
    }
}

impl FileBytes {
    /// Lets the kernel drop the pages of `range` of a mapped file (read
    /// already) from memory; read again, they come back from the file.
    pub fn release(&self, range: std::ops::Range<usize>) {
        let FileBytes::Mapped(map) = self else { return };
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
pub struct SharedBytes(pub std::sync::Arc<FileBytes>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref().as_ref()
    }
}

/// A file ready for the CSV reader: its bytes, the offset of its first data
/// line and its header.
pub struct PreparedFile {
    /// UTF-8, unless `windows_1252`.
    pub bytes: FileBytes,
    /// Byte offset just after the header line.
    pub body_start: usize,
    pub encoding: &'static str,
    pub separator: u8,
    /// Header names, trimmed and lower-cased, in file order.
    pub header: Vec<String>,
    /// Whether any byte of the file is a quote; without one, each line is
    /// a record and a piece of the file may end at any line break.
    pub quotes: bool,
    /// The bytes are the file's Windows-1252, each piece to be decoded with
    /// [`utf8_from_windows_1252`] as it is read ([`prepare_path_by_pieces`]).
    pub windows_1252: bool,
}

/// How a Windows-1252 file becomes UTF-8.
#[derive(Clone, Copy, PartialEq)]
enum Decoding {
    /// Decoded whole, for readers of the whole text.
    Whole,
    /// Left as it is, for a reader that decodes each piece as it reads it.
    ByPiece,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// A file whose text is read whole: a Windows-1252 file is decoded first.
pub fn prepare_path(path: &Path, choice: EncodingChoice) -> Result<PreparedFile> {
    prepare_path_decoded(path, choice, Decoding::Whole)
}

/// A file that the extract's reader reads piece by piece: a Windows-1252
/// file stays as it is and each piece is decoded as it is read, in memory.
/// Decoded whole, it went to a temporary file first (as large as the file),
/// and the kernel's writing that file to disk slowed the analysis, unevenly
/// (`docs/benchmarks.md`, "Every shape at both sizes, five rotated runs"
/// and "Windows-1252 decoded piece by piece").
pub(in crate::extract) fn prepare_path_by_pieces(path: &Path, choice: EncodingChoice) -> Result<PreparedFile> {
    prepare_path_decoded(path, choice, Decoding::ByPiece)
}

fn prepare_path_decoded(path: &Path, choice: EncodingChoice, decoding: Decoding) -> Result<PreparedFile> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let raw = if len == 0 {
        FileBytes::Static(b"")
    } else {
        // SAFETY: the extract is read-only input; a file truncated under us
        // would be a concurrent misuse we cannot guard against anyway.
        let map = unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("cannot read {}", path.display()))?;
        FileBytes::Mapped(map)
    };
    prepare_decoded(raw, &path.display().to_string(), choice, decoding)
}

pub fn prepare(raw: FileBytes, name: &str, choice: EncodingChoice) -> Result<PreparedFile> {
    prepare_decoded(raw, name, choice, Decoding::Whole)
}

fn prepare_decoded(raw: FileBytes, name: &str, choice: EncodingChoice, decoding: Decoding) -> Result<PreparedFile> {
    let (bytes, encoding, quotes) = decode(raw, name, choice, decoding)?;
    let windows_1252 = decoding == Decoding::ByPiece && encoding == WINDOWS_1252;
    let data = bytes.as_ref();
    let header_start = if data.starts_with(BOM) && !windows_1252 {
        BOM.len()
    } else {
        0
    };
    let header_end = memchr_newline(&data[header_start..]).map_or(data.len(), |i| header_start + i);
    let body_start = (header_end + 1).min(data.len());
    let header_bytes = &data[header_start..header_end];
    let decoded_header;
    let header_line = if windows_1252 {
        decoded_header = utf8_from_windows_1252(header_bytes);
        std::str::from_utf8(&decoded_header)
    } else {
        std::str::from_utf8(header_bytes)
    }
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
        windows_1252,
    })
}

const WINDOWS_1252: &str = "Windows-1252";

/// The file's bytes as UTF-8, the encoding they were read in and whether
/// any of them is a quote.
fn decode(
    raw: FileBytes,
    name: &str,
    choice: EncodingChoice,
    decoding: Decoding,
) -> Result<(FileBytes, &'static str, bool)> {
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
        (EncodingChoice::Auto | EncodingChoice::Windows1252, _) if decoding == Decoding::ByPiece => {
            let quotes = holds_quote(&raw);
            Ok((raw, WINDOWS_1252, quotes))
        }
        (EncodingChoice::Auto | EncodingChoice::Windows1252, _) => {
            let (decoded, quotes) = decoded_from_windows_1252(&raw, name)?;
            Ok((decoded, WINDOWS_1252, quotes))
        }
    }
}

/// A Windows-1252 file decoded to UTF-8, for readers of its whole text, a
/// piece at a time into a file of its own that no directory names (deleted
/// when closed), mapped like the files that are UTF-8 already: decoded
/// whole in memory, a file's decoded bytes, more than the file, stayed
/// resident until the end (`docs/benchmarks.md`, "Windows-1252 files
/// decoded to disk"). Also whether any byte is a quote.
fn decoded_from_windows_1252(raw: &FileBytes, name: &str) -> Result<(FileBytes, bool)> {
    use std::io::Write;
    let cannot = || {
        format!(
            "{name}: cannot write its UTF-8 copy in the temporary folder {}; free space there, or set TMPDIR to a folder with room",
            std::env::temp_dir().display()
        )
    };
    let bytes = raw.as_ref();
    if bytes.is_empty() {
        return Ok((FileBytes::Static(b""), false));
    }
    let file = tempfile::tempfile().with_context(cannot)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &file);
    let mut quotes = false;
    for piece in line_pieces(bytes, CHECKED_BYTES) {
        let text = utf8_from_windows_1252(&bytes[piece.clone()]);
        quotes = quotes || memchr::memchr(b'"', &text).is_some();
        out.write_all(&text).with_context(cannot)?;
        raw.release(piece);
    }
    out.flush().with_context(cannot)?;
    drop(out);
    // SAFETY: the file is this process's alone (no directory names it) and
    // is not written again.
    let map = unsafe { memmap2::Mmap::map(&file) }.with_context(cannot)?;
    Ok((FileBytes::Mapped(map), quotes))
}

/// Windows-1252 bytes as UTF-8, decoded a part per core at a time.
/// Line breaks, quotes and separators are the same bytes in both
/// encodings, so parts end where lines end and a file's pieces are its
/// decoded text's.
pub(in crate::extract) fn utf8_from_windows_1252(bytes: &[u8]) -> Vec<u8> {
    const PART_BYTES: usize = 4 << 20;
    let parts = line_pieces(bytes, PART_BYTES);
    let decode = |part: usize| {
        let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes[parts[part].clone()]);
        text
    };
    let decoded = crate::extract::parallel::each(parts.len(), decode, |_| false)
        .unwrap_or_else(|_| unreachable!("no part stops the others"));
    let mut text = Vec::with_capacity(decoded.iter().map(|part| part.len()).sum());
    for part in &decoded {
        text.extend_from_slice(part.as_bytes());
    }
    text
}

/// Whether any byte is a quote, looked for on every core a piece at a time,
/// each piece's pages of a mapped file let go once searched (as in [`scan`]).
fn holds_quote(raw: &FileBytes) -> bool {
    let bytes = raw.as_ref();
    let pieces = line_pieces(bytes, CHECKED_BYTES);
    let search = |piece: usize| {
        let found = memchr::memchr(b'"', &bytes[pieces[piece].clone()]).is_some();
        raw.release(pieces[piece].clone());
        found
    };
    crate::extract::parallel::each(pieces.len(), search, |&found| found).is_err()
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
fn scan(raw: &FileBytes, piece_bytes: usize) -> Option<Scan> {
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
    use super::{line_pieces, scan, FileBytes, Scan};

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
                .map(|piece| scan(&FileBytes::Static(bytes), piece))
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
        assert_eq!(scan(&FileBytes::Static(b""), 1), Some(Scan { quotes: false }));
    }
}
