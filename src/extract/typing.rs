//! Stage 1 column by column: how each column's text becomes typed values
//! in one pass, and the row rules checked on them.

use std::sync::Arc;

use polars::prelude::*;
use polars_arrow::array::Array;
use polars_arrow::bitmap::Bitmap;

use crate::reference::Reference;

use crate::extract::positions::Positions;
use crate::extract::reader::raw_name;
use crate::extract::reject::{Problem, MAX_TEXT_BYTES};
use crate::extract::resolve::index::PersonIndex;
use crate::extract::rules::Rule;
use crate::extract::schema::{ColumnSpec, Kind};

/// How a column is typed (from its raw text) and its row rules.
/// One pass over each value trims it, tells a missing value from a present
/// one and types it; a present value that does not read marks the row with
/// an out-of-range value the rules look for (no kept row ever holds one).
/// Trimming, the null spellings, parsing and the code lookups as separate
/// polars expressions each built a column of their own: half the time of
/// stage 1. Code and enumeration values become their position in
/// [`Kind::values`] (4 bytes a row where the text takes 16 or more, and
/// cheaper to gather in every join; polars' `replace_strict` did it but kept
/// whole columns in memory in the streamed read); dates are read by [`date_days`], one pass for both layouts
/// where polars' `to_date` needs one per format. With `persons`, a person
/// reference becomes its person's position (see [`crate::extract::resolve::index`]);
/// with `hashed`, an identifier becomes its hash ([`Typing::Hashed`]).
pub(super) fn type_column(
    column: &ColumnSpec,
    reference: &Reference,
    persons: Option<&Arc<PersonIndex>>,
    hashed: bool,
) -> (Typing, Vec<Check>) {
    let mut checks = Vec::new();
    if !column.optional {
        checks.push(Check::Missing);
    }
    let typing = match column.kind {
        Kind::PersonRef if persons.is_some() => {
            checks.push(Check::LongReference);
            Typing::Person(Arc::clone(persons.expect("matched")))
        }
        Kind::Id if hashed => {
            checks.push(Check::LongIdentifier);
            Typing::Hashed
        }
        Kind::Id | Kind::PersonRef | Kind::Text => {
            checks.push(Check::LongText);
            Typing::Text
        }
        Kind::Enum(_) | Kind::Code(_) => {
            checks.push(Check::NotInList);
            Typing::Numbered(Arc::new(positions(column, reference)))
        }
        Kind::Year => {
            checks.extend([Check::Unreadable, Check::YearBefore(1900)]);
            Typing::Year
        }
        Kind::Date => {
            checks.push(Check::Unreadable);
            // An unreadable start reads as the earliest day: no order to break.
            checks.extend(column.not_before.map(Check::Before));
            Typing::Date
        }
    };
    (typing, checks)
}

/// A row rule of stage 1 on one column's typed values. The plain reader
/// checks it as each part is typed ([`Check::mark_broken`]); polars' reader
/// and the reading again of rejected rows use its [`Rule`]'s expression.
/// The two must agree: `tests::checks_break_the_rows_their_rules_break`.
/// Checked on the typed arrays as they are made, the rules cost a fraction
/// of evaluating one polars expression per rule on each piece.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Check {
    /// No value in a required column.
    Missing,
    /// A text longer than [`MAX_TEXT_BYTES`].
    LongText,
    /// A person reference longer than [`MAX_TEXT_BYTES`] (see [`crate::extract::resolve::index::TOO_LONG`]).
    LongReference,
    /// An identifier held as its hash longer than [`MAX_TEXT_BYTES`] (see [`TOO_LONG_ID`]).
    LongIdentifier,
    /// A code or enumeration value not in its list.
    NotInList,
    /// A year or date that does not read as one.
    Unreadable,
    /// A year before this one.
    YearBefore(i32),
    /// A date before the same row's date in this column.
    Before(&'static str),
}

impl Check {
    /// The rule as polars evaluates it, on the typed column named like `column`.
    pub(super) fn rule(self, column: &ColumnSpec) -> Rule {
        let typed = col(column.name);
        let too_long = || format!("longer than {MAX_TEXT_BYTES} bytes");
        let (problem, reason, invalid) = match (self, column.kind) {
            (Check::Missing, kind) => {
                let what = match kind {
                    Kind::Id | Kind::PersonRef => "identifier",
                    _ => "value",
                };
                let reason = format!(
                    "empty {what}: {} is required (or the row has fewer fields than the header)",
                    column.name
                );
                (Problem::Empty, reason, typed.is_null())
            }
            (Check::LongText, _) => (
                Problem::NotAllowed,
                too_long(),
                typed.str().len_bytes().gt(lit(MAX_TEXT_BYTES as u32)),
            ),
            (Check::LongReference, _) => (
                Problem::NotAllowed,
                too_long(),
                typed.eq(lit(crate::extract::resolve::index::TOO_LONG)),
            ),
            (Check::LongIdentifier, _) => (
                Problem::NotAllowed,
                too_long(),
                typed.eq(lit(Scalar::new(DataType::UInt64, AnyValue::UInt64(TOO_LONG_ID)))),
            ),
            (Check::NotInList, Kind::Code(list)) => (
                Problem::UnknownCode,
                format!("code not in the reference table {}", list.file()),
                typed.eq(lit(NOT_IN_LIST)),
            ),
            (Check::NotInList, kind) => {
                let values = match kind {
                    Kind::Enum(values) => values.join(", "),
                    _ => unreachable!("only code and enumeration columns are numbered"),
                };
                (
                    Problem::NotAllowed,
                    format!("not one of {values}"),
                    typed.eq(lit(NOT_IN_LIST)),
                )
            }
            (Check::Unreadable, Kind::Year) => (
                Problem::BadYear,
                "not a whole year (e.g. 1985)".to_string(),
                typed.eq(lit(UNREADABLE)),
            ),
            (Check::Unreadable, _) => (
                Problem::BadDate,
                "not a valid date (dd/mm/yyyy or yyyy-mm-dd)".to_string(),
                typed.cast(DataType::Int32).eq(lit(UNREADABLE)),
            ),
            (Check::YearBefore(year), _) => (
                Problem::BadYear,
                format!("birth year before {year}"),
                typed.lt(lit(year)),
            ),
            (Check::Before(start), _) => (
                Problem::DateOrder,
                format!("before {start} of the same row"),
                typed.lt(col(start)),
            ),
        };
        Rule {
            problem,
            column: column.name.to_string(),
            reason,
            invalid,
            value: col(raw_name(column.name).as_str())
                .str()
                .strip_chars(lit(LiteralValue::untyped_null())),
        }
    }

    /// Sets `broken` where the rule rejects a row of `typed`; `start` is the
    /// column a [`Check::Before`] compares with. A comparison with a missing
    /// value breaks nothing, as in [`crate::extract::rules::any_broken`]. Read straight from the
    /// arrays: through polars' iterators of optional values the checks
    /// cost twice what the expressions do.
    pub(super) fn mark_broken(self, typed: &Column, start: Option<&Column>, broken: &mut [bool]) -> PolarsResult<()> {
        let physical = typed.to_physical_repr();
        match self {
            Check::Missing => {
                let mut at = 0;
                for array in typed.as_materialized_series().chunks() {
                    let rows = &mut broken[at..at + array.len()];
                    if let Some(valid) = array.validity().filter(|valid| valid.unset_bits() > 0) {
                        mark(rows, valid.iter().map(|present| !present));
                    }
                    at += array.len();
                }
            }
            Check::LongText => {
                let mut at = 0;
                for array in typed.str()?.downcast_iter() {
                    let long = array.views().iter().map(|view| view.length as usize > MAX_TEXT_BYTES);
                    mark_present(&mut broken[at..at + array.len()], array.validity(), long);
                    at += array.len();
                }
            }
            Check::LongReference => {
                mark_values(broken, typed.idx()?, |v| v == crate::extract::resolve::index::TOO_LONG)
            }
            Check::LongIdentifier => mark_values(broken, typed.u64()?, |v| v == TOO_LONG_ID),
            Check::NotInList => mark_values(broken, typed.u32()?, |v| v == NOT_IN_LIST),
            Check::Unreadable => mark_values(broken, physical.i32()?, |v| v == UNREADABLE),
            Check::YearBefore(year) => mark_values(broken, physical.i32()?, |v| v < year),
            Check::Before(name) => {
                let start = start
                    .ok_or_else(|| polars_err!(ColumnNotFound: "{name}"))?
                    .to_physical_repr();
                let (ends, starts) = (physical.i32()?.rechunk(), start.i32()?.rechunk());
                let (ends, starts) = (ends.downcast_as_array(), starts.downcast_as_array());
                let before = ends
                    .values()
                    .iter()
                    .zip(starts.values().iter())
                    .map(|(end, start)| end < start);
                let both = match (ends.validity(), starts.validity()) {
                    (Some(ends), Some(starts)) => Some(ends & starts),
                    (one, other) => one.or(other).cloned(),
                };
                mark_present(broken, both.as_ref(), before);
            }
        }
        Ok(())
    }
}

/// Sets `broken` where `rows` is true.
pub(super) fn mark(broken: &mut [bool], rows: impl Iterator<Item = bool>) {
    broken.iter_mut().zip(rows).for_each(|(broken, row)| *broken |= row);
}

/// Sets `broken` where `rows` is true and `validity` (none: every row) has a value.
pub(super) fn mark_present(broken: &mut [bool], validity: Option<&Bitmap>, rows: impl Iterator<Item = bool>) {
    match validity.filter(|valid| valid.unset_bits() > 0) {
        None => mark(broken, rows),
        Some(valid) => mark(broken, rows.zip(valid.iter()).map(|(row, present)| row && present)),
    }
}

/// Sets `broken` where `breaks` holds for a row's value, if it has one.
pub(super) fn mark_values<T: PolarsNumericType>(
    broken: &mut [bool],
    values: &ChunkedArray<T>,
    breaks: impl Fn(T::Native) -> bool,
) {
    let mut at = 0;
    for array in values.downcast_iter() {
        let rows = array.values().iter().map(|&v| breaks(v));
        mark_present(&mut broken[at..at + array.len()], array.validity(), rows);
        at += array.len();
    }
}

/// A present code or enumeration value that is not in its list.
pub(super) const NOT_IN_LIST: u32 = u32::MAX;
/// A present year or date that does not read as one.
pub(super) const UNREADABLE: i32 = i32::MIN;
/// An identifier held as its hash that is longer than [`MAX_TEXT_BYTES`];
/// no identifier's hash is this value ([`Typing::Hashed`]).
pub(super) const TOO_LONG_ID: u64 = u64::MAX;

/// Spellings of a missing value in an optional column, besides the empty field.
pub(super) const NULL_SPELLINGS: [&str; 3] = ["NULL", "null", "-"];

/// The trimmed value, or none when the field holds no value.
pub(super) fn present(raw: Option<&str>, optional: bool) -> Option<&str> {
    let raw = raw?;
    // Most values start and end with a printable ASCII byte, so nothing can
    // be trimmed: `trim` decoded characters from each end to find out.
    let printable = |byte: Option<&u8>| byte.is_some_and(|b| (0x21..0x7f).contains(b));
    let text = if printable(raw.as_bytes().first()) && printable(raw.as_bytes().last()) {
        raw
    } else {
        raw.trim()
    };
    let missing = text.is_empty()
        || (optional
            && NULL_SPELLINGS
                .iter()
                .any(|null| same_bytes(null.as_bytes(), text.as_bytes())));
    (!missing).then_some(text)
}

/// Whether two short byte strings are equal, compared inline: the library
/// call a slice comparison makes cost more than the comparison itself for
/// identifiers and codes of a few bytes, where `memcmp` showed in profiles
/// of `rates`.
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let n = a.len();
    match n {
        _ if n != b.len() => false,
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        0..=7 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// The positions of a code or enumeration column's values in its list.
pub(super) fn positions(column: &ColumnSpec, reference: &Reference) -> Positions {
    let values = column
        .kind
        .values(reference)
        .expect("a code or enumeration column has values");
    Positions::new(&values)
}

/// How a column's text becomes its typed values, value by value: the same
/// whether polars' CSV reader scanned the piece (see [`Typing::expr`]) or
/// the piece was read plain (see [`crate::extract::reader::plain`]).
#[derive(Clone)]
pub(super) enum Typing {
    /// Trimmed text, missing values as nulls.
    Text,
    /// The referred person's position among lavoratori.csv's rows (see [`crate::extract::resolve::index`]).
    Person(Arc<PersonIndex>),
    /// An identifier no analysis reads, held for the duplicate rule alone as
    /// its 64-bit hash ([`TOO_LONG_ID`] when too long), typed straight from
    /// the field: building its text only to hash it cost more than the hash
    /// (see `docs/design/person-index.md`, "Identifiers no analysis reads").
    Hashed,
    /// The value's position in its list; [`NOT_IN_LIST`] when not in it.
    Numbered(Arc<Positions>),
    /// A year; [`UNREADABLE`] when not a whole number.
    Year,
    /// Days since 1970-01-01; [`UNREADABLE`] when not a date.
    Date,
}

impl Typing {
    pub(super) fn dtype(&self) -> DataType {
        match self {
            Typing::Text => DataType::String,
            Typing::Person(_) => IDX_DTYPE,
            Typing::Hashed => DataType::UInt64,
            Typing::Numbered(_) => DataType::UInt32,
            Typing::Year => DataType::Int32,
            Typing::Date => DataType::Date,
        }
    }

    /// The typed column of the fields `raw` (none where the field is missing).
    pub(super) fn column<'a>(
        &self,
        name: PlSmallStr,
        raw: impl Iterator<Item = Option<&'a str>>,
        optional: bool,
    ) -> PolarsResult<Column> {
        let values = raw.map(|value| present(value, optional));
        Ok(match self {
            Typing::Text => values.collect::<StringChunked>().with_name(name).into_column(),
            Typing::Person(index) => {
                let references: Vec<Option<&str>> = values.collect();
                let positions: IdxCa = index.resolve(&references, MAX_TEXT_BYTES).into_iter().collect();
                positions.with_name(name).into_column()
            }
            Typing::Hashed => values
                .map(|value| {
                    value.map(|id| match id.len() {
                        0..=MAX_TEXT_BYTES => crate::extract::resolve::id_hash(id).min(TOO_LONG_ID - 1),
                        _ => TOO_LONG_ID,
                    })
                })
                .collect::<UInt64Chunked>()
                .with_name(name)
                .into_column(),
            Typing::Numbered(positions) => read_values::<UInt32Type>(values, NOT_IN_LIST, |v| positions.get(v))
                .with_name(name)
                .into_column(),
            // The spellings polars' cast read (sign, leading zeros); the one
            // year equal to the mark stays a year before 1900.
            Typing::Year => read_values::<Int32Type>(values, UNREADABLE, |v| {
                v.parse::<i32>().ok().map(|year| year.max(UNREADABLE + 1))
            })
            .with_name(name)
            .into_column(),
            Typing::Date => read_values::<Int32Type>(values, UNREADABLE, date_days)
                .with_name(name)
                .into_column()
                .cast(&DataType::Date)?,
        })
    }

    /// The typed column as an expression over a scanned piece's raw text
    /// column. A text column with nothing to trim or blank out, the usual
    /// case, is passed on without a copy.
    pub(super) fn expr(self, raw: Expr, optional: bool) -> Expr {
        let dtype = self.dtype();
        raw.map(
            move |column| {
                let text = column.str()?;
                if let Typing::Text = self {
                    let unchanged = |v: &str| present(Some(v), optional).is_some_and(|kept| kept.len() == v.len());
                    if text.iter().all(|value| value.is_none_or(unchanged)) {
                        return Ok(column);
                    }
                }
                self.column(column.name().clone(), text.iter(), optional)
            },
            move |_, field| Ok(Field::new(field.name().clone(), dtype.clone())),
        )
    }
}

/// Present values read by `read`; `unreadable` stands for one it cannot read.
pub(super) fn read_values<'a, T>(
    present: impl Iterator<Item = Option<&'a str>>,
    unreadable: T::Native,
    read: impl Fn(&str) -> Option<T::Native>,
) -> ChunkedArray<T>
where
    T: PolarsNumericType,
    ChunkedArray<T>: FromIterator<Option<T::Native>>,
{
    present
        .map(|value| value.map(|v| read(v).unwrap_or(unreadable)))
        .collect()
}

/// Days since 1970-01-01 of a `dd/mm/yyyy` or `yyyy-mm-dd` date.
pub(crate) fn date_days(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range]
            .iter()
            .try_fold(0u32, |n, d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = match (b[2], b[5], b[4], b[7]) {
        (b'/', b'/', _, _) => (number(6..10)?, number(3..5)?, number(0..2)?),
        (_, _, b'-', b'-') => (number(0..4)?, number(5..7)?, number(8..10)?),
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    (1..=month_days)
        .contains(&day)
        .then(|| civil_days(year as i32, month as i32, day as i32))
}

/// Days since 1970-01-01 of a valid date of the proleptic Gregorian
/// calendar, counted in years that start in March (so that a leap day ends
/// its year) and eras of 400 years (H. Hinnant's `days_from_civil`); held
/// to chrono's count by `dates_read_as_chrono_reads_them`.
fn civil_days(year: i32, month: i32, day: i32) -> i32 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
