//! What the toolkit computes: populations, activity selection and access
//! rates by breakdown (`spec/indicators.md`). The query runs in polars; the
//! result is a plain [`Table`](crate::table::Table).

pub mod plan;
mod rates;

pub use plan::{Period, Population, RatesPlan, Selection};
pub use rates::{compute, RatesResult};
