//! Pieces of a file read without polars' CSV reader, when they can be.
//!
//! A piece whose every line holds as many fields as the header, and whose
//! quotes, if any, only wrap whole fields (`"TO01"`, no separator, line
//! break or quote inside), is split on separators and line breaks alone, and
//! each column is typed straight from the slices of the piece: polars'
//! reader first copies every field into a text column of its own, which
//! the typing then reads again: most of the time of an analysis from the
//! CSV files. Any other piece, and the rows of
//! a plain one that break a rule (read again to quote their raw text), go
//! through polars' reader, so the two readers must agree on every plain
//! piece: `tests::a_plain_piece_reads_as_polars_reads_it_quoted`.

use polars::prelude::*;

use super::dialect::line_pieces;
use super::{BROKEN, LINE};
use crate::extract::parallel;
use crate::extract::typing::{Check, Typing};

/// A column of the header the plain reader types.
pub(in crate::extract) struct PlainColumn {
    /// Its place in the header.
    pub position: usize,
    pub name: &'static str,
    pub typing: Typing,
    pub optional: bool,
    /// Its row rules, checked on each part as it is typed.
    pub checks: Vec<Check>,
}

/// The bytes one thread reads at a time: small enough for both threads to
/// stay busy to the end of a piece, large enough that a part's columns are
/// not a long list of tiny chunks.
const PART_BYTES: usize = 4 << 20;

/// The typed columns of a piece (see `record_pieces`), with `__line`
/// counted from `first_line` and `__broken` for the rows that break a
/// column's rules; none when polars' reader must read it (a line with
/// another number of fields than `width`, bytes that are not UTF-8, quotes
/// other than around whole fields). `quoted`: the piece holds a quote.
pub(in crate::extract) fn read(
    piece: &[u8],
    separator: u8,
    width: usize,
    columns: &[PlainColumn],
    first_line: IdxSize,
    quoted: bool,
) -> PolarsResult<Option<DataFrame>> {
    if !separator.is_ascii() || separator == b'\n' || width < 2 {
        return Ok(None);
    }
    let parts = line_pieces(piece, PART_BYTES);
    let refused = |frame: &PolarsResult<Option<DataFrame>>| !matches!(frame, Ok(Some(_)));
    let read = match parallel::each(
        parts.len(),
        |part| read_part(&piece[parts[part].clone()], separator, width, columns, quoted),
        refused,
    ) {
        Ok(read) => read,
        // An error, or the first refusal: polars' reader says what is wrong.
        Err(stopped) => {
            return match stopped.into_iter().find_map(Result::err) {
                Some(error) => Err(error),
                None => Ok(None),
            }
        }
    };
    let mut whole: Option<DataFrame> = None;
    let mut line = first_line;
    for frame in read {
        let mut frame = frame?.expect("a refused part stops the read");
        let height = frame.height() as IdxSize;
        let lines = IdxCa::from_vec(LINE.into(), (line..line + height).collect());
        frame.insert_column(0, lines.into_column())?;
        line += height;
        match &mut whole {
            None => whole = Some(frame),
            Some(whole) => {
                whole.vstack_mut_owned(frame)?;
            }
        }
    }
    Ok(whole)
}

/// One part's typed columns; none when it holds a line of another width,
/// bytes that are not UTF-8, a quote that does not wrap a whole field, or
/// more than 4 GB.
fn read_part(
    bytes: &[u8],
    separator: u8,
    width: usize,
    columns: &[PlainColumn],
    quoted: bool,
) -> PolarsResult<Option<DataFrame>> {
    // Offsets are held in 32 bits: a part is one line past 4 MB, unless
    // its line is longer than 4 GB.
    if u32::try_from(bytes.len()).is_err() {
        return Ok(None);
    }
    // Vectorised, as in `dialect::scan`; polars' reader uses this one too.
    let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
        return Ok(None);
    };
    // Where each field of each row starts and ends, row after row.
    let mut fields: Vec<(u32, u32)> = Vec::with_capacity(bytes.len() / 6);
    let mut field_start = 0;
    let mut in_row = 0;
    for at in Delimiters::new(bytes, separator) {
        in_row += 1;
        fields.push((field_start as u32, at as u32));
        field_start = at + 1;
        if bytes[at] == b'\n' {
            if in_row != width {
                return Ok(None);
            }
            in_row = 0;
        } else if in_row >= width {
            return Ok(None);
        }
    }
    // The last line, when no line break ends it.
    if field_start < bytes.len() || in_row > 0 {
        in_row += 1;
        fields.push((field_start as u32, bytes.len() as u32));
        if in_row != width {
            return Ok(None);
        }
    }
    if quoted && !unquote(bytes, &mut fields) {
        return Ok(None);
    }
    let height = fields.len() / width;
    let mut typed = columns
        .iter()
        .map(|column| {
            let values = fields
                .iter()
                .skip(column.position)
                .step_by(width)
                .map(|&(start, end)| Some(&text[start as usize..end as usize]));
            column.typing.column(column.name.into(), values, column.optional)
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    let mut broken = vec![false; height];
    for (column, values) in columns.iter().zip(&typed) {
        for check in &column.checks {
            let start = match check {
                Check::Before(start) => columns.iter().position(|c| c.name == *start).map(|at| &typed[at]),
                _ => None,
            };
            check.mark_broken(values, start, &mut broken)?;
        }
    }
    typed.push(BooleanChunked::from_slice(BROKEN.into(), &broken).into_column());
    DataFrame::new(height, typed).map(Some)
}

/// Narrows each field that quotes wrap (`"TO01"`; before the CR of a CR LF
/// line end, as polars' reader reads it) to what they wrap. False when
/// `part` holds any other quote (an escaped one, or quotes around a
/// separator or line break, which split the field here): polars' reader
/// reads such a part. Each wrapped field holds two quotes, so the part holds
/// no other if it holds twice as many quotes as wrapped fields: counted in
/// one pass over the part, which costs less than searching each field.
fn unquote(part: &[u8], fields: &mut [(u32, u32)]) -> bool {
    let mut wrapped = 0;
    for field in fields.iter_mut() {
        let value = &part[field.0 as usize..field.1 as usize];
        if value.first() != Some(&b'"') {
            continue;
        }
        let end = value.len() - usize::from(value.last() == Some(&b'\r'));
        if end < 2 || value[end - 1] != b'"' {
            return false;
        }
        *field = (field.0 + 1, field.0 + end as u32 - 1);
        wrapped += 1;
    }
    super::count_quotes(part) == 2 * wrapped
}

/// The offsets of the separators and line breaks of `bytes`, in order,
/// found 64 bytes at a time as a mask of bits: one in four or five bytes is
/// one, and memchr's search for the next one, set up again at each of them,
/// costs more than the search.
struct Delimiters<'a> {
    bytes: &'a [u8],
    separator: u8,
    /// Where the block of `mask` starts.
    block: usize,
    /// The delimiters of the block not handed out yet.
    mask: u64,
}

impl<'a> Delimiters<'a> {
    fn new(bytes: &'a [u8], separator: u8) -> Delimiters<'a> {
        Delimiters {
            bytes,
            separator,
            block: 0,
            mask: block_mask(bytes, separator),
        }
    }
}

impl Iterator for Delimiters<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.block += 64;
            let rest = self.bytes.get(self.block..).filter(|rest| !rest.is_empty())?;
            self.mask = block_mask(rest, self.separator);
        }
        let at = self.block + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

/// Bit i set where byte i of the first 64 of `bytes` is `separator` or a line break.
fn block_mask(bytes: &[u8], separator: u8) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if let Some(block) = bytes.first_chunk::<64>() {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of every x86_64 processor; each load reads 16
        // of the block's 64 bytes, unaligned loads being allowed.
        return unsafe {
            let separators = _mm_set1_epi8(separator as i8);
            let breaks = _mm_set1_epi8(b'\n' as i8);
            (0..4).fold(0u64, |mask, quarter| {
                let chunk = _mm_loadu_si128(block.as_ptr().add(16 * quarter).cast::<__m128i>());
                let hits = _mm_or_si128(_mm_cmpeq_epi8(chunk, separators), _mm_cmpeq_epi8(chunk, breaks));
                mask | u64::from(_mm_movemask_epi8(hits) as u16) << (16 * quarter)
            })
        };
    }
    bytes
        .iter()
        .take(64)
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u64::from(b == separator || b == b'\n') << i)
}

#[cfg(test)]
mod tests {
    use super::{unquote, Delimiters};

    #[test]
    fn quotes_around_a_whole_field_are_read_and_any_other_is_left_to_polars() {
        // The fields of one line (no separator inside), as the delimiters split them.
        let unquoted = |line: &[u8]| {
            let mut fields = vec![(0, line.len() as u32)];
            unquote(line, &mut fields).then(|| fields[0])
        };
        assert_eq!(unquoted(b"TO01"), Some((0, 4)));
        assert_eq!(unquoted(b""), Some((0, 0)));
        assert_eq!(unquoted(b"\"TO01\""), Some((1, 5)));
        assert_eq!(unquoted(b"\"\""), Some((1, 1)));
        assert_eq!(unquoted(b"\"TO01\"\r"), Some((1, 5)));
        assert_eq!(unquoted(b" \"TO01\""), None);
        assert_eq!(unquoted(b"\"TO01\" "), None);
        assert_eq!(unquoted(b"\"a\"\"b\""), None);
        assert_eq!(unquoted(b"\"a"), None);
        assert_eq!(unquoted(b"a\""), None);
        assert_eq!(unquoted(b"\""), None);
        assert_eq!(unquoted(b"ab\"c"), None);
        // A stray quote in one field refuses the part, however the others are wrapped.
        let part = b"\"a\";b\"\n\"c\";d\n";
        let mut fields = vec![(0, 3), (4, 6), (7, 10), (11, 12)];
        assert!(!unquote(part, &mut fields));
        let part = b"\"a\";b\n\"c\";d\n";
        let mut fields = vec![(0, 3), (4, 5), (6, 9), (10, 11)];
        assert!(unquote(part, &mut fields));
        assert_eq!(fields, vec![(1, 2), (4, 5), (7, 8), (10, 11)]);
    }

    proptest::proptest! {
        #[test]
        fn delimiters_are_every_separator_and_line_break(
            bytes in proptest::collection::vec(proptest::sample::select(b";\n,a\"\x80".to_vec()), 0..300),
            separator in proptest::sample::select(b";,".to_vec()),
        ) {
            let expected: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == separator || bytes[i] == b'\n').collect();
            proptest::prop_assert_eq!(Delimiters::new(&bytes, separator).collect::<Vec<_>>(), expected);
        }
    }
}
