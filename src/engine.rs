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
            Some(Value::Proportion(_) | Value::Number(_)) => {
                let data: Vec<Option<f64>> = values()
                    .map(|v| match v {
                        Value::Proportion(x) | Value::Number(x) => Some(*x),
                        _ => None,
                    })
                    .collect();
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
