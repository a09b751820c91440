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

/// A typed null literal.
pub fn null_of(dtype: DataType) -> Expr {
    lit(LiteralValue::untyped_null()).cast(dtype)
}
