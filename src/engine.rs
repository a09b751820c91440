//! Helpers over polars shared by the pipeline modules (`extract`,
//! `indicators`); nothing outside them touches polars.

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
    lit(epoch_days(date)).cast(DataType::Date)
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
/// Found without a join: the spells are put person by person, each
/// person's first spell is found by position, and every activity is
/// checked against it; those outside are checked against the person's next
/// spell, and so on. A person has one spell in a period, rarely more, so
/// the rounds end quickly, and cost a fraction of a hash join of the
/// activities with the spells.
pub fn inside_own_spells(
    owners: &IdxCa,
    days: &Int32Chunked,
    spells: DataFrame,
    persons: usize,
) -> PolarsResult<BooleanChunked> {
    let [owner, start, end] = [0, 1, 2].map(|i| spells.columns()[i].name().clone());
    let spells = if ascending(spells.column(&owner)?.idx()?) {
        spells
    } else {
        spells.sort([owner.clone()], SortMultipleOptions::default())?
    };
    let spell_owners = spells.column(&owner)?.idx()?.rechunk();
    let starts = spells.column(&start)?.date()?.physical().rechunk();
    // An open spell lasts for ever.
    let ends = spells
        .column(&end)?
        .date()?
        .physical()
        .fill_null_with_values(i32::MAX)?
        .rechunk()
        .into_owned();
    let spell_rows = IdxCa::from_vec(PlSmallStr::EMPTY, (0..spells.height() as IdxSize).collect());
    let begins_run = spell_owners.not_equal_missing(&spell_owners.shift(1));
    let first_spell = spread_over_persons(
        &spell_owners.filter(&begins_run)?,
        &spell_rows.filter(&begins_run)?,
        persons,
    )?;

    let mut candidates = IdxCa::from_vec(PlSmallStr::EMPTY, (0..owners.len() as IdxSize).collect());
    let mut at = first_spell.take(owners)?;
    let mut inside = BooleanChunked::full(PlSmallStr::EMPTY, false, owners.len());
    loop {
        let known = at.is_not_null();
        candidates = candidates.filter(&known)?;
        at = at.filter(&known)?;
        if candidates.is_empty() {
            break;
        }
        let day = days.take(&candidates)?;
        let within = starts.take(&at)?.lt_eq(&day) & day.lt_eq(&ends.take(&at)?);
        inside = inside.scatter_single(candidates.filter(&within)?.into_no_null_iter(), Some(true))?;
        let outside = !&within;
        candidates = candidates.filter(&outside)?;
        at = &at.filter(&outside)? + 1;
        let in_range = at.lt(spells.height() as IdxSize);
        candidates = candidates.filter(&in_range)?;
        at = at.filter(&in_range)?;
        let same_person = spell_owners.take(&at)?.equal(&owners.take(&candidates)?);
        candidates = candidates.filter(&same_person)?;
        at = at.filter(&same_person)?;
    }
    Ok(inside)
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

/// Whether `values` never decrease.
fn ascending(values: &IdxCa) -> bool {
    values.len() < 2
        || values
            .slice(1, values.len() - 1)
            .gt_eq(&values.slice(0, values.len() - 1))
            .all()
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
