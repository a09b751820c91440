//! Stage 1 over a file's bytes: opening it, cutting its body into pieces
//! that end with a record, reading each piece (with the plain reader when it
//! holds no quote, polars' CSV reader otherwise) and applying the row rules.

pub(super) mod dialect;
pub(super) mod plain;
pub(crate) mod records;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use polars::prelude::*;
use polars_buffer::Buffer;

use crate::engine::is_in_series;
use crate::reference::Reference;

use crate::extract::reader::dialect::{EncodingChoice, FileBytes, PreparedFile, SharedBytes};
use crate::extract::reader::plain::PlainColumn;
use crate::extract::reject::{shorten, unknown_person, Problem, Reject};
use crate::extract::resolve::all_distinct;
use crate::extract::resolve::index::PersonIndex;
use crate::extract::rules::{any_broken, split, Rule};
use crate::extract::schema::{ColumnSpec, FileSpec, Kind};
use crate::extract::stages::Keep;
use crate::extract::typing::type_column;
use crate::extract::{FileReport, Location};

pub(super) fn open(location: &Location, spec: &FileSpec, encoding: EncodingChoice) -> Result<Option<PreparedFile>> {
    match location {
        Location::Dir(dir) => {
            if !dir.is_dir() {
                bail!("--extract {}: no such directory; point it at the folder holding lavoratori.csv, did.csv and politiche.csv", dir.display());
            }
            let path = dir.join(spec.name);
            if !path.exists() {
                if spec.required {
                    bail!(
                        "{}: required file {} is missing (found: {})",
                        dir.display(),
                        spec.name,
                        list_csv_files(dir)
                    );
                }
                return Ok(None);
            }
            dialect::prepare_path_by_pieces(&path, encoding).map(Some)
        }
        Location::Sample => match crate::sample::file(spec.name) {
            Some(bytes) => {
                let name = format!("{}/{}", crate::sample::NAME, spec.name);
                dialect::prepare(FileBytes::Static(bytes), &name, encoding).map(Some)
            }
            None => Ok(None),
        },
    }
}

pub(super) fn list_csv_files(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.to_ascii_lowercase().ends_with(".csv"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        "no .csv files".to_string()
    } else {
        names.join(", ")
    }
}

/// Explains a file the CSV parser could not read. The usual cause is a
/// quote that is never closed, which swallows the rest of the file.
pub(super) fn malformed(file: &str, body: &[u8], error: PolarsError) -> anyhow::Error {
    let mut open_at: Option<usize> = None;
    let mut line = 2;
    for byte in body {
        match byte {
            b'"' => open_at = if open_at.is_some() { None } else { Some(line) },
            b'\n' => line += 1,
            _ => {}
        }
    }
    match open_at {
        Some(line) => anyhow!(
            "{file}, line {line}: a quote (\") opens a field that is never closed, so the rest of the file cannot be read; remove the stray quote or close it (a field holding the separator must be written \"like;this\")"
        ),
        None => anyhow!("{file}: not a readable CSV file ({error}); check the separator and quotes around line breaks"),
    }
}

pub(super) const LINE: &str = "__line";
pub(super) const RULE: &str = "__rule";
pub(super) const VALUE: &str = "__value";
pub(super) const OVERFLOW: &str = "__overflow";
pub(super) const BROKEN: &str = "__broken";

pub(super) fn raw_name(column: &str) -> String {
    format!("__raw_{column}")
}

/// A file after stage 1.
pub(super) struct FileRows {
    /// The rows that passed the row rules.
    pub(super) frame: DataFrame,
    pub(super) report: FileReport,
    pub(super) rejects: Vec<Reject>,
    /// With person references resolved: the rows among `frame` that refer
    /// to no person, as stage 3 rejects them unless stage 2 rejects them
    /// first (the text of the reference is gone from `frame`).
    pub(super) unknown_persons: Vec<Reject>,
}

/// Stage 1: scan the file as text, type every column and apply the row
/// rules; with `persons`, person references become positions among them.
/// Each piece is read by [`plain`] when it can be, by polars' CSV reader
/// otherwise; rejected rows are read again by polars' reader either way.
/// Each piece's rows that passed the row rules go through `each_piece`,
/// whose rows the file's frame holds: `import` writes them into the cache
/// there and holds only what the later rules read. With `Keep::All` a file
/// is read once, so `each_piece` sees each row once.
pub(super) fn read_file(
    spec: &FileSpec,
    prepared: PreparedFile,
    reference: &Reference,
    keep: Keep<'_>,
    persons: Option<&Arc<PersonIndex>>,
    piece_bytes: usize,
    each_piece: &mut dyn FnMut(DataFrame) -> Result<DataFrame>,
) -> Result<FileRows> {
    let header = &prepared.header;
    let mut seen = BTreeMap::new();
    for (position, name) in header.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), position) {
            bail!(
                "{}: column {:?} appears twice in the header (columns {} and {}); remove one",
                spec.name,
                name,
                first + 1,
                position + 1
            );
        }
    }
    let missing: Vec<&str> = spec
        .columns
        .iter()
        .map(|c| c.name)
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{}: missing column{} {}; the header has: {}",
            spec.name,
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            shorten(
                &header
                    .iter()
                    .map(|h| h.escape_debug().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
    }
    let known = |h: &str| spec.columns.iter().any(|c| c.name == h);
    let extra_columns: Vec<String> = header.iter().filter(|h| !known(h)).cloned().collect();

    let mut fields: Vec<Field> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let name = if known(h) { raw_name(h) } else { format!("__extra_{i}") };
            Field::new(name.into(), DataType::String)
        })
        .collect();
    // Fields beyond the header land here; a short row leaves its last
    // columns null, which the required-value rules report.
    fields.push(Field::new(OVERFLOW.into(), DataType::String));

    let report = FileReport::new(spec.name, &prepared, extra_columns);
    let separator = prepared.separator;
    let body_start = prepared.body_start;
    let windows_1252 = prepared.windows_1252;
    let bytes = Arc::new(prepared.bytes);
    let body = Buffer::from_owner(SharedBytes(Arc::clone(&bytes))).sliced(body_start..);
    let schema = Arc::new(Schema::from_iter(fields));
    let scan = |piece: Buffer<u8>, first_line: IdxSize| {
        LazyCsvReader::new_with_sources(ScanSources::Buffers(Arc::from(vec![piece])))
            .with_has_header(false)
            .with_schema(Some(Arc::clone(&schema)))
            .with_separator(separator)
            .with_quote_char(Some(b'"'))
            .with_truncate_ragged_lines(true)
            .with_raise_if_empty(false)
            .with_row_index(Some(polars::io::RowIndex {
                name: LINE.into(),
                offset: first_line,
            }))
            .finish()
    };

    // The rules on the row's shape, which the plain reader checks by refusing
    // a piece that breaks them.
    let mut shape_rules = vec![Rule {
        problem: Problem::FieldCount,
        column: String::new(),
        reason: format!("the row has more fields than the header's {}", header.len()),
        invalid: col(OVERFLOW).is_not_null(),
        value: lit(""),
    }];
    // A blank line reads as a row of nulls; say so rather than "empty identifier".
    let blank = header.iter().enumerate().fold(col(OVERFLOW).is_null(), |all, (i, h)| {
        let name = if known(h) { raw_name(h) } else { format!("__extra_{i}") };
        all.and(col(name.as_str()).is_null())
    });
    shape_rules.push(Rule {
        problem: Problem::FieldCount,
        column: String::new(),
        reason: "blank line".to_string(),
        invalid: blank,
        value: lit(""),
    });
    let kept: Vec<Expr> = std::iter::once(col(LINE))
        .chain(spec.columns.iter().filter(|c| keep.keeps(spec, c)).map(|c| col(c.name)))
        .collect();
    let resolved = spec
        .columns
        .iter()
        .find(|c| c.kind == Kind::PersonRef)
        .filter(|_| persons.is_some());
    // An identifier no analysis reads is kept for the duplicate rule alone:
    // an analysis holds it as its 64-bit hash (half its text's memory or
    // less, and typed without building the text), dropped once the file
    // is read if all differ. Only a repeat among the hashes makes it read
    // the file again, keeping the text the duplicate rule reports (see
    // `docs/design/person-index.md`).
    let unread: Vec<&str> = match keep {
        Keep::ForAnalysis(_) => spec
            .columns
            .iter()
            .filter(|c| c.kind == Kind::Id && !spec.analysed.contains(&c.name))
            .map(|c| c.name)
            .collect(),
        Keep::All => Vec::new(),
    };
    let mut hashed: &[&str] = &unread;
    'file: loop {
        let mut rules = shape_rules.clone();
        let mut typed_columns = Vec::new();
        let mut plain_columns = Vec::new();
        for column in spec.columns {
            let (typing, checks) = type_column(column, reference, persons, hashed.contains(&column.name));
            rules.extend(checks.iter().map(|check| check.rule(column)));
            typed_columns.push(
                typing
                    .clone()
                    .expr(col(raw_name(column.name).as_str()), column.optional)
                    .alias(column.name),
            );
            plain_columns.push(PlainColumn {
                position: header.iter().position(|h| h == column.name).expect("checked above"),
                name: column.name,
                typing,
                optional: column.optional,
                checks,
            });
        }
        // Streamed, and without the raw text: the whole file's raw and typed
        // columns never sit in memory together.
        let mut selection = kept.clone();
        selection.push(any_broken(&rules));
        let mut report = report.clone();
        let mut frame = DataFrame::empty();
        let mut rejects = Vec::new();
        let mut unknown_persons = Vec::new();
        // Piece by piece, each let go once read: a mapped file's pages would
        // otherwise all stay in memory until its last row.
        for (piece, quoted) in record_pieces(body.as_slice(), piece_bytes, prepared.quotes) {
            let first_line = 2 + report.rows_read as IdxSize;
            let text = if windows_1252 {
                Buffer::from(dialect::utf8_from_windows_1252(&body.as_slice()[piece.clone()]))
            } else {
                body.clone().sliced(piece.clone())
            };
            // Typed columns are materialised before the rules, which read them by name.
            let typed = scan(text.clone(), first_line)?.with_columns(typed_columns.clone());
            let plain = plain::read(
                text.as_slice(),
                separator,
                header.len(),
                &plain_columns,
                first_line,
                quoted,
            )?;
            let read_plain = plain.is_some();
            let checked = match plain {
                Some(frame) => frame,
                None => typed
                    .clone()
                    .select(selection.clone())
                    .collect_with_engine(Engine::Streaming)
                    .map_err(|error| malformed(spec.name, body.as_slice(), error))?
                    .unwrap_single(),
            };
            report.rows_read += checked.height() as u64;
            // Rejected rows are read again, with their raw text, to say what
            // broke: from a plain piece (a record per line) only their lines,
            // by polars' reader; from any other, the piece again.
            let rows_again = |lines: Series| -> Result<LazyFrame> {
                if !read_plain {
                    return Ok(typed.clone().filter(is_in_series(col(LINE), lines)));
                }
                let mut wanted: Vec<IdxSize> = lines.idx()?.into_no_null_iter().collect();
                wanted.sort_unstable();
                let at: Vec<usize> = wanted.iter().map(|line| (line - first_line) as usize).collect();
                let bytes = lines_at(text.as_slice(), &at);
                let numbers = IdxCa::from_vec(LINE.into(), wanted).into_series();
                Ok(scan(Buffer::from(bytes), 0)?
                    .with_column(lit(numbers))
                    .with_columns(typed_columns.clone()))
            };
            let (kept_rows, mut piece_rejects) = split(checked, &rules, &kept, spec.name, rows_again)?;
            rejects.append(&mut piece_rejects);
            if let Some(column) = resolved {
                unknown_persons.extend(unknown_references(&kept_rows, column, spec.name, rows_again)?);
            }
            let kept_rows = each_piece(kept_rows)?;
            if frame.width() == 0 {
                frame = kept_rows;
            } else {
                frame.vstack_mut_owned(kept_rows)?;
            }
            bytes.release(body_start + piece.start..body_start + piece.end);
        }
        // A file without rows has no columns.
        for id in hashed.iter().filter(|_| frame.width() > 0) {
            let hashes = frame.column(id)?.u64()?;
            let parts: Vec<&[u64]> = hashes.downcast_iter().map(|chunk| chunk.values().as_slice()).collect();
            if !all_distinct(&parts) {
                hashed = &[];
                continue 'file;
            }
        }
        frame = frame.drop_many(hashed.iter().copied());
        return Ok(FileRows {
            frame,
            report,
            rejects,
            unknown_persons,
        });
    }
}

/// The rows of `kept` whose resolved reference in `column` found no person,
/// as rejects quoting the reference's text, read again from `rows` (given
/// the line numbers) like a broken row's.
pub(super) fn unknown_references(
    kept: &DataFrame,
    column: &ColumnSpec,
    file: &str,
    rows: impl FnOnce(Series) -> Result<LazyFrame>,
) -> Result<Vec<Reject>> {
    let lines = kept
        .clone()
        .lazy()
        .filter(col(column.name).eq(lit(crate::extract::resolve::index::UNKNOWN)))
        .select([col(LINE)])
        .collect()?;
    if lines.height() == 0 {
        return Ok(Vec::new());
    }
    let lines = lines.column(LINE)?.as_materialized_series().clone();
    let found = rows(lines)?
        .select([
            col(LINE),
            col(raw_name(column.name).as_str())
                .str()
                .strip_chars(lit(LiteralValue::untyped_null())),
        ])
        .collect()?;
    let ids = found.column(&raw_name(column.name))?.str()?;
    Ok(found
        .column(LINE)?
        .idx()?
        .iter()
        .zip(ids.iter())
        .map(|(line, id)| unknown_person(file, line.map_or(0, u64::from), column.name, id.unwrap_or("")))
        .collect())
}

/// The lines at the positions `at` (ascending) among the lines of `piece`,
/// one after the other, each ending with its line break.
pub(super) fn lines_at(piece: &[u8], at: &[usize]) -> Vec<u8> {
    let mut wanted = at.iter().copied().peekable();
    let mut lines = Vec::new();
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', piece)
        .map(|newline| newline + 1)
        .chain((piece.last() != Some(&b'\n')).then_some(piece.len()));
    for (index, end) in ends.enumerate() {
        if wanted.peek() == Some(&index) {
            lines.extend_from_slice(&piece[start..end]);
            if lines.last() != Some(&b'\n') {
                lines.push(b'\n');
            }
            wanted.next();
            if wanted.peek().is_none() {
                break;
            }
        }
        start = end;
    }
    lines
}

/// Bytes of CSV read at a time (see [`record_pieces`]).
pub(super) const PIECE_BYTES: usize = 64 << 20;

/// Splits a file's body into pieces of about `target` bytes, each ending
/// where a record ends: at a line break outside quotes (an even number of
/// quotes before it, as `""` escapes a quote inside a quoted field), at any
/// line break when the body holds no quote (`quotes` false). Each piece is
/// found when asked for, so the bytes beyond it are not touched; with it
/// comes whether it holds a quote (counted anyway to find its end), which
/// sends it to polars' reader (see [`plain`]).
pub(super) fn record_pieces(
    body: &[u8],
    target: usize,
    quotes: bool,
) -> impl Iterator<Item = (std::ops::Range<usize>, bool)> + '_ {
    let mut start = 0;
    let mut scanned = 0;
    let mut quotes_before = 0;
    let mut quotes_at_start = 0;
    let mut done = false;
    let count_quotes = move |bytes: &[u8]| if quotes { count_quotes(bytes) } else { 0 };
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut end = start + target;
        while end < body.len() {
            let Some(newline) = memchr::memchr(b'\n', &body[end..]) else {
                break;
            };
            let after = end + newline + 1;
            quotes_before += count_quotes(&body[scanned..after]);
            scanned = after;
            if quotes_before % 2 == 0 && after < body.len() {
                let piece = (start..after, quotes_before > quotes_at_start);
                start = after;
                quotes_at_start = quotes_before;
                return Some(piece);
            }
            end = after;
        }
        // The rest, or the whole body (an empty one is read like an empty file).
        done = true;
        let quoted = quotes_before > quotes_at_start || count_quotes(&body[scanned..]) > 0;
        Some((start..body.len(), quoted))
    })
}

/// The quotes in `bytes`, summed in bytes 64 at a time so that the
/// compiler compares whole vector registers: counted into one `usize`, each
/// byte was widened to 64 bits, 4 bytes a step, on the thread that hands
/// out the pieces.
pub(super) fn count_quotes(bytes: &[u8]) -> usize {
    let blocks = bytes.chunks_exact(64);
    let rest = blocks.remainder().iter().filter(|&&b| b == b'"').count();
    blocks.fold(rest, |count, block| {
        count + usize::from(block.iter().map(|&b| u8::from(b == b'"')).sum::<u8>())
    })
}
