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
            let days = series.date()?.physical();
            ranges.push(DateRange {
                file: kind.spec().name,
                column: column.name,
                first: days.min().and_then(to_date),
                last: days.max().and_then(to_date),
            });
        }
    }
    Ok(ranges)
}

pub(super) fn latest_date(kind: FileKind, frame: &DataFrame) -> Result<Option<NaiveDate>> {
    let frames = BTreeMap::from([(kind, frame.clone())]);
    Ok(date_ranges(&frames)?.into_iter().filter_map(|r| r.last).max())
}
