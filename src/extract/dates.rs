//! The range of dates an extract covers.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::engine::EPOCH_DAYS_FROM_CE;

use crate::extract::schema::{FileKind, Kind};

/// The first and last date of a date column among the kept rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateRange {
    pub file: &'static str,
    pub column: &'static str,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
}

pub(super) fn date_ranges(frames: &BTreeMap<FileKind, DataFrame>) -> Result<Vec<DateRange>> {
    let to_date = |days: i32| NaiveDate::from_num_days_from_ce_opt(days + EPOCH_DAYS_FROM_CE);
    let mut ranges = Vec::new();
    for (kind, frame) in frames {
        for column in kind.spec().columns.iter().filter(|c| c.kind == Kind::Date) {
            let series = frame.column(column.name)?.as_materialized_series().clone();
            let range = day_range(series.date()?.physical());
            ranges.push(DateRange {
                file: kind.spec().name,
                column: column.name,
                first: range.and_then(|(first, _)| to_date(first)),
                last: range.and_then(|(_, last)| to_date(last)),
            });
        }
    }
    Ok(ranges)
}

/// The first and last of the days present, in one pass over each chunk:
/// polars' `min` and `max` over a column with missing values, an open
/// spell's end, took a pass each at several times the cost
/// (`docs/benchmarks.md`, "Identifiers typed as their hashes, and the person
/// index's words").
fn day_range(days: &Int32Chunked) -> Option<(i32, i32)> {
    let widen = |range: Option<(i32, i32)>, day: i32| match range {
        None => Some((day, day)),
        Some((first, last)) => Some((first.min(day), last.max(day))),
    };
    days.downcast_iter().fold(None, |range, array| {
        let values = array.values().iter().copied();
        match array.validity().filter(|valid| valid.unset_bits() > 0) {
            None => values.fold(range, widen),
            Some(valid) => values
                .zip(valid.iter())
                .filter_map(|(day, present)| present.then_some(day))
                .fold(range, widen),
        }
    })
}

pub(super) fn latest_date(kind: FileKind, frame: &DataFrame) -> Result<Option<NaiveDate>> {
    let frames = BTreeMap::from([(kind, frame.clone())]);
    Ok(date_ranges(&frames)?.into_iter().filter_map(|r| r.last).max())
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;

    use super::day_range;

    proptest::proptest! {
        /// The range polars' `min` and `max` give, over chunks with and
        /// without missing days, and none when every day is missing.
        #[test]
        fn the_range_is_polars_min_and_max(
            chunks in proptest::collection::vec(
                proptest::collection::vec(proptest::option::of(-30_000i32..30_000), 0..40),
                0..5,
            ),
        ) {
            let mut days = Int32Chunked::from_iter_options("days".into(), std::iter::empty());
            for chunk in &chunks {
                days.append(&Int32Chunked::from_iter_options("days".into(), chunk.iter().copied())).unwrap();
            }
            let expected = days.min().zip(days.max());
            proptest::prop_assert_eq!(day_range(&days), expected);
        }
    }
}
