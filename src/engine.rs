//! Helpers over polars shared by the pipeline modules (`extract`,
//! `indicators`); nothing outside them touches polars.

use std::borrow::Cow;

use polars::prelude::*;

/// `expr` is one of `values` (never true for a null).
pub fn is_one_of<S: AsRef<str>>(expr: Expr, values: &[S]) -> Expr {
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    is_in_series(expr, Series::new(PlSmallStr::EMPTY, values))
}

/// `expr` is among the values of `series`.
pub fn is_in_series(expr: Expr, series: Series) -> Expr {
    expr.is_in(lit(series).implode(false), false)
}

/// Days from 0001-01-01 to 1970-01-01, polars' date epoch.
pub const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// A date as polars stores it: days since 1970-01-01.
pub fn epoch_days(date: chrono::NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date) - EPOCH_DAYS_FROM_CE
}

/// A `Date` literal. `lit(NaiveDate)` is a datetime, which makes polars
/// cast the whole date column to datetimes before comparing.
pub fn date_lit(date: chrono::NaiveDate) -> Expr {
    day_lit(epoch_days(date))
}

/// A `Date` literal from days since 1970-01-01 (see [`date_lit`]).
pub fn day_lit(days: i32) -> Expr {
    lit(days).cast(DataType::Date)
}

/// A typed null literal.
pub fn null_of(dtype: DataType) -> Expr {
    lit(LiteralValue::untyped_null()).cast(dtype)
}

/// Whether each activity, given by its person's position (`owners`) and the
/// day it starts, starts inside a spell of its own person. `spells` holds
/// three columns, in this order: the person's position, the first day and
/// the last (null while the spell is open). An activity's spell depends on
/// no period: one that starts in a period inside a spell makes that spell
/// overlap the period, so `import` works this out once for the cache.
///
/// Found without a join or a sort, whatever the rows' order: the spells'
/// days are placed person by person (a counting sort: one count per
/// person), then each activity is checked against its person's few spells
/// (`docs/benchmarks.md`, "Spells in any order, without a sort").
pub fn inside_own_spells(
    owners: &IdxCa,
    days: &Int32Chunked,
    spells: DataFrame,
    persons: usize,
) -> PolarsResult<BooleanChunked> {
    let [owner, start, end] = [0, 1, 2].map(|i| &spells.columns()[i]);
    let (spell_owners, starts, ends) = (owner.idx()?, start.date()?.physical(), end.date()?.physical());
    // bounds[p] ends person p's spells once counted, and starts them once
    // placed (each placement steps it back); person p's spells then run to
    // bounds[p + 1].
    let mut bounds: Vec<IdxSize> = vec![0; persons + 1];
    let counts = bounds.as_ptr();
    let count_ahead = |person: IdxSize| prefetch(counts.wrapping_add(person as usize));
    for_each_spell(spell_owners, starts, ends, count_ahead, |_, person, _, _| {
        bounds[person as usize] += 1;
    });
    for p in 1..bounds.len() {
        bounds[p] += bounds[p - 1];
    }
    let mut spans: Vec<(i32, i32)> = vec![(0, 0); spells.height()];
    let counted = bounds.as_ptr();
    let place_ahead = |person: IdxSize| prefetch(counted.wrapping_add(person as usize));
    for_each_spell(spell_owners, starts, ends, place_ahead, |_, person, first, last| {
        let at = &mut bounds[person as usize];
        *at -= 1;
        // An open spell lasts for ever.
        spans[*at as usize] = (first, last.unwrap_or(i32::MAX));
    });
    // Two activities' lengths ahead, where a person's spells start; one
    // ahead, the spells themselves, from the start by then in the cache.
    let mut far = owners.into_no_null_iter().skip(2 * AHEAD);
    let mut near = owners.into_no_null_iter().skip(AHEAD);
    let inside = owners
        .into_no_null_iter()
        .zip(days.into_no_null_iter())
        .map(|(person, day)| {
            if let Some(later) = far.next() {
                prefetch(&bounds[later as usize]);
            }
            if let Some(later) = near.next() {
                prefetch(spans.as_ptr().wrapping_add(bounds[later as usize] as usize));
            }
            let own = &spans[bounds[person as usize] as usize..bounds[person as usize + 1] as usize];
            own.iter().any(|&(first, last)| first <= day && day <= last)
        });
    Ok(BooleanChunked::from_iter_values(PlSmallStr::EMPTY, inside))
}

/// How many rows ahead [`for_each_spell`] names a person to `ahead`: far
/// enough for a load from memory to arrive in time.
const AHEAD: usize = 16;

/// Each spell handed to `each` with its row: a person's position, its
/// first day and its last (`None` while open), as days since the epoch;
/// and `ahead` given the person of the spell [`AHEAD`] rows later, so that
/// it can [`prefetch`] what `each` will read of that person: in an extract
/// in no order every person's data is a cache miss. Read chunk by chunk,
/// which is several times faster than polars' value iterators zipped over
/// many chunks.
pub fn for_each_spell(
    owners: &IdxCa,
    starts: &Int32Chunked,
    ends: &Int32Chunked,
    mut ahead: impl FnMut(IdxSize),
    mut each: impl FnMut(IdxSize, IdxSize, i32, Option<i32>),
) {
    let aligned = owners.chunk_lengths().eq(starts.chunk_lengths()) && owners.chunk_lengths().eq(ends.chunk_lengths());
    let (owners, starts, ends) = if aligned {
        (Cow::Borrowed(owners), Cow::Borrowed(starts), Cow::Borrowed(ends))
    } else {
        (owners.rechunk(), starts.rechunk(), ends.rechunk())
    };
    let mut row: IdxSize = 0;
    let chunks = owners
        .downcast_iter()
        .zip(starts.downcast_iter())
        .zip(ends.downcast_iter());
    for ((owners, starts), ends) in chunks {
        let (owners, starts, last_days) = (owners.values(), starts.values(), ends.values());
        let closed = ends.validity();
        for i in 0..owners.len() {
            if let Some(later) = owners.get(i + AHEAD) {
                ahead(*later);
            }
            let last = closed.is_none_or(|closed| closed.get_bit(i)).then(|| last_days[i]);
            each(row, owners[i], starts[i], last);
            row += 1;
        }
    }
}

/// Asks the processor to start loading `address` into its caches; loads no
/// value and cannot fault, whatever the address.
#[inline(always)]
pub fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing the program sees.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// `values[i]` put at position `owners[i]` of a column of one row per
/// person, null for the persons no row names (a person named twice keeps
/// the last value).
pub fn spread_over_persons<T: PolarsNumericType>(
    owners: &IdxCa,
    values: &ChunkedArray<T>,
    persons: usize,
) -> PolarsResult<ChunkedArray<T>>
where
    for<'a> &'a mut ChunkedArray<T>: ChunkedSet<T::Native>,
{
    let spread = ChunkedArray::<T>::full_null(values.name().clone(), persons)
        .scatter(owners.rechunk().cont_slice()?, values.iter())?;
    Ok(spread.unpack::<T>()?.clone())
}

/// A result grid as a Parquet file: counts as UInt64, rates and statistics
/// as Float64, flags as Boolean, codes and labels as String; suppressed
/// values are nulls.
pub fn grid_to_parquet(grid: &crate::table::Grid) -> anyhow::Result<Vec<u8>> {
    use crate::table::Value;
    let height = grid.rows.len();
    let mut columns = Vec::with_capacity(grid.columns.len());
    for (c, name) in grid.columns.iter().enumerate() {
        let values = || grid.rows.iter().map(move |row| &row[c]);
        let name = PlSmallStr::from(name.as_str());
        let kind = values().find(|v| !matches!(v, Value::Missing));
        let series = match kind {
            Some(Value::Count(_)) => {
                let data: Vec<Option<u64>> = values()
                    .map(|v| if let Value::Count(n) = v { Some(*n) } else { None })
                    .collect();
                Series::new(name, data)
            }
            Some(v) if v.real().is_some() => {
                let data: Vec<Option<f64>> = values().map(Value::real).collect();
                Series::new(name, data)
            }
            Some(Value::Flag(_)) => {
                let data: Vec<Option<bool>> = values()
                    .map(|v| if let Value::Flag(b) = v { Some(*b) } else { None })
                    .collect();
                Series::new(name, data)
            }
            _ => {
                let data: Vec<Option<&str>> = values()
                    .map(|v| match v {
                        Value::Code(s) | Value::Text(s) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect();
                Series::new(name, data)
            }
        };
        columns.push(series.into());
    }
    let mut frame = DataFrame::new(height, columns)?;
    let mut bytes = Vec::new();
    ParquetWriter::new(std::io::Cursor::new(&mut bytes)).finish(&mut frame)?;
    Ok(bytes)
}

/// `query`'s rows, computed by polars' streaming engine.
pub fn collect_streaming(query: LazyFrame) -> PolarsResult<DataFrame> {
    Ok(query.collect_with_engine(Engine::Streaming)?.unwrap_single())
}
