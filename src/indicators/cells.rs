//! Counts per labelled cell for the tables whose persons carry their own
//! counted columns (survival days, outcomes at each horizon): persons are
//! grouped by the codes their breakdowns read, labelled once grouped, and
//! summed into every cell and margin, as `rates` counts its cells.

use anyhow::Result;
use polars::prelude::*;

use super::plan::RatesPlan;
use super::rates::{dimension_expr, grouped, grouping_sets, labelled, pooled_citizenship, source_columns, N};
use crate::engine::collect_streaming;
use crate::reference::Reference;
use crate::table::{Dimension, NOT_AVAILABLE, TOTAL};

/// Sums of the `counted` columns of `persons` per cell of `dims` and of
/// the `kept` columns (kept as they are, e.g. a day), with a row for every
/// margin (`TOTALE`) when `margins`. The first counted column is the one
/// `--top` ranks citizenships by.
pub(super) struct CellCounts {
    pub(super) frame: DataFrame,
}

pub(super) fn count_cells(
    persons: LazyFrame,
    reference: &Reference,
    plan: &RatesPlan,
    kept: &[&str],
    counted: &[&str],
    margins: bool,
) -> Result<CellCounts> {
    let dims = &plan.dims;
    let mut sources: Vec<&str> = Vec::new();
    for column in dims.iter().flat_map(|d| source_columns(*d)) {
        if !sources.contains(column) {
            sources.push(column);
        }
    }
    let mut keys: Vec<Expr> = sources.iter().chain(kept).map(|c| col(*c)).collect();
    let sums = |frame: LazyFrame, keys: Vec<Expr>| {
        grouped(
            frame,
            keys,
            counted
                .iter()
                .map(|c| col(*c).cast(DataType::UInt64).sum().alias(*c))
                .collect(),
        )
    };
    let by_codes = collect_streaming(sums(persons, keys.clone()))?.lazy();
    let mut labels: Vec<Expr> = Vec::with_capacity(dims.len() + kept.len());
    for dim in dims {
        let mut label = dimension_expr(*dim, reference, plan);
        if let (Dimension::Cittadinanza, Some(top)) = (dim, plan.top) {
            let sized = by_codes.clone().with_column(col(counted[0]).alias(N));
            label = pooled_citizenship(sized, label, top)?;
        }
        labels.push(label.alias(dim.name()));
    }
    labels.extend(kept.iter().map(|c| col(*c)));
    let by_labels = labelled(by_codes, &labels, counted).collect()?.lazy();
    let mut parts = Vec::new();
    for set in grouping_sets(dims, margins) {
        keys = set
            .iter()
            .map(|d| col(d.name()))
            .chain(kept.iter().map(|c| col(*c)))
            .collect();
        let mut columns: Vec<Expr> = dims
            .iter()
            .map(|d| {
                if set.contains(d) {
                    col(d.name())
                } else {
                    lit(TOTAL).alias(d.name())
                }
            })
            .collect();
        columns.extend(kept.iter().map(|c| col(*c)));
        columns.extend(counted.iter().map(|c| col(*c).cast(DataType::UInt64)));
        parts.push(sums(by_labels.clone(), keys).select(columns));
    }
    Ok(CellCounts {
        frame: concat(parts, UnionArgs::default())?.collect()?,
    })
}

impl CellCounts {
    pub(super) fn height(&self) -> usize {
        self.frame.height()
    }

    /// The codes of row `i`, one per breakdown.
    pub(super) fn keys(&self, dims: &[Dimension], i: usize) -> Result<Vec<String>> {
        dims.iter()
            .map(|d| {
                Ok(self
                    .frame
                    .column(d.name())?
                    .str()?
                    .get(i)
                    .unwrap_or(NOT_AVAILABLE)
                    .to_string())
            })
            .collect()
    }

    /// A counted or kept integer column, as u64 (nulls as 0).
    pub(super) fn counts(&self, name: &str) -> Result<Vec<u64>> {
        let column = self.frame.column(name)?.cast(&DataType::UInt64)?;
        Ok(column.u64()?.iter().map(|v| v.unwrap_or(0)).collect())
    }

    /// A kept day column, as i32.
    pub(super) fn days(&self, name: &str) -> Result<Vec<i32>> {
        let column = self.frame.column(name)?.cast(&DataType::Int32)?;
        Ok(column.i32()?.iter().map(|v| v.unwrap_or(0)).collect())
    }
}
