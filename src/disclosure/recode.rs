//! Recoding before suppression. Stateless persons and those of unknown
//! citizenship (`ND`) are a few in every province, age class or programme:
//! suppressing them cell by cell forced a second suppression in every such
//! line, and the smallest other cell was always the EU group's, so a whole
//! citizenship group disappeared from the tables. Where a table has a
//! small `ND` cell, its `ND` persons are pooled with the non-EU group
//! (stateless persons are third-country nationals in EU law), under a code
//! of their own so that nothing can be subtracted back: no published
//! table separates them there, and their total is still in every margin.

use std::collections::HashMap;

use crate::table::{Dimension, Row, Table, NOT_AVAILABLE};

use super::Threshold;

/// Non-EU citizens pooled with the stateless and unknown.
pub const POOLED_NON_EU: &str = "EXTRA_UE_ND";
/// Foreign citizens pooled with the stateless and unknown (`straniero`).
pub const POOLED_FOREIGN: &str = "STRANIERI_ND";

/// What was pooled in a table, for its notes and the manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Recoding {
    pub breakdown: &'static str,
    pub from: Vec<&'static str>,
    pub into: &'static str,
}

impl Recoding {
    pub fn describe(&self) -> String {
        format!(
            "{}: {} pooled as {} (a cell of {} was below the threshold)",
            self.breakdown,
            self.from.join(" + "),
            self.into,
            NOT_AVAILABLE
        )
    }
}

/// Pools `ND` into the non-EU (or foreign) group when any `ND` cell of the
/// table is small. The caller sorts the rows again.
pub fn pool_tiny_unknown(table: &mut Table, threshold: Threshold) -> Option<Recoding> {
    let d = table
        .dims
        .iter()
        .position(|dim| matches!(dim, Dimension::GruppoCittadinanza | Dimension::Straniero))?;
    let tiny = table
        .rows
        .iter()
        .any(|r| r.keys[d] == NOT_AVAILABLE && threshold.is_sensitive(r.population, r.beneficiaries));
    if !tiny {
        return None;
    }
    let pooled = if table.dims[d] == Dimension::Straniero {
        POOLED_FOREIGN
    } else {
        POOLED_NON_EU
    };
    pool_unknown(table, d, pooled);
    Some(Recoding {
        breakdown: table.dims[d].name(),
        from: vec![partner(pooled), NOT_AVAILABLE],
        into: pooled,
    })
}

/// Pools `ND` in every table alike when any one of them would pool it:
/// tables whose rows line up (the horizons of one outcomes table) keep the
/// same cells. The caller sorts the rows again.
pub fn pool_alike(tables: &mut [&mut Table], threshold: Threshold) -> Option<Recoding> {
    let recoding = tables
        .iter()
        .find_map(|table| pool_tiny_unknown(&mut (**table).clone(), threshold))?;
    for table in tables.iter_mut() {
        if let Some(d) = table.dims.iter().position(|dim| dim.name() == recoding.breakdown) {
            pool_unknown(table, d, recoding.into);
        }
    }
    Some(recoding)
}

/// The pooled code `code` is, if it is one.
pub fn pooled_code(code: &str) -> Option<&'static str> {
    [POOLED_NON_EU, POOLED_FOREIGN].into_iter().find(|p| *p == code)
}

fn partner(pooled: &str) -> &'static str {
    if pooled == POOLED_FOREIGN {
        "STRANIERI"
    } else {
        "EXTRA_UE"
    }
}

/// Merges the rows of `ND` and of the pooled code's partner group (column
/// `d`) into rows of the pooled code, summing their counts.
pub fn pool_unknown(table: &mut Table, d: usize, pooled: &'static str) {
    let partner = partner(pooled);
    let mut merged: Vec<Row> = Vec::with_capacity(table.rows.len());
    let mut index: HashMap<Vec<String>, usize> = HashMap::new();
    for mut row in table.rows.drain(..) {
        if row.keys[d] == NOT_AVAILABLE || row.keys[d] == partner {
            row.keys[d] = pooled.to_string();
        }
        match index.get(&row.keys) {
            Some(&i) => {
                merged[i].population += row.population;
                merged[i].beneficiaries += row.beneficiaries;
            }
            None => {
                index.insert(row.keys.clone(), merged.len());
                merged.push(row);
            }
        }
    }
    table.rows = merged;
}
