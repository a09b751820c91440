//! Comparing each foreign group (or citizenship) with Italian citizens in
//! the same stratum of the other breakdowns: difference (Newcombe),
//! ratio (Katz), representation index and age-sex standardised rates.
//! Built from protected rate tables, so it publishes nothing they hide.

use anyhow::{bail, Result};

use super::plan::RatesPlan;
use super::population::Memo;
use super::rates::compute;
use crate::disclosure::{recode, Threshold};
use crate::extract::Extract;
use crate::reference::{Reference, ITALY};
use crate::stats::{self, Estimate};
use crate::table::{
    interval_columns, key_columns, key_values, Codebook, Dimension, Grid, Row, Table, Value, RELIABLE_POPULATION, TOTAL,
};

/// The population whose sex × age structure standardised rates take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standard {
    /// Every eligible person of the table.
    Total,
    /// The Italian citizens of the table.
    Italian,
}

const STANDARDISED_BY: [Dimension; 2] = [Dimension::Sesso, Dimension::ClasseEta];

/// The breakdowns a gap table reads beside those asked for: the citizenship
/// group it compares by default, and those it standardises by.
pub const GAP_ALSO_BY: [Dimension; 3] = [Dimension::GruppoCittadinanza, STANDARDISED_BY[0], STANDARDISED_BY[1]];

pub struct GapRow {
    pub strata: Vec<String>,
    pub group: String,
    pub group_cell: Row,
    pub italian_cell: Row,
    pub representation: Option<f64>,
    pub standardised: Option<f64>,
    pub standardised_italian: Option<f64>,
}

pub struct GapTable {
    pub strata_dims: Vec<Dimension>,
    pub compared: Dimension,
    pub rows: Vec<GapRow>,
    pub confidence: f64,
}

/// The breakdown compared with Italians: the one of `dims` that is about
/// citizenship, by default the citizenship group.
fn compared_dimension(dims: &[Dimension]) -> Result<Dimension> {
    let citizenship = [
        Dimension::Cittadinanza,
        Dimension::GruppoCittadinanza,
        Dimension::Straniero,
    ];
    let found: Vec<Dimension> = dims.iter().copied().filter(|d| citizenship.contains(d)).collect();
    match found[..] {
        [] => Ok(Dimension::GruppoCittadinanza),
        [one] => Ok(one),
        _ => bail!(
            "--by has {} and {}: gap compares along one citizenship breakdown; keep one",
            found[0],
            found[1]
        ),
    }
}

fn italian_code(dim: Dimension) -> &'static str {
    if dim == Dimension::Cittadinanza {
        ITALY
    } else {
        "ITA"
    }
}

/// What a gap table is made of: the rates table it publishes (protected
/// with everything published beside it) and the finer table, never
/// published, its standardised rates are weighted from.
pub struct GapInputs {
    pub published: Table,
    fine: Table,
    strata_dims: Vec<Dimension>,
    compared: Dimension,
    standard: Standard,
    margins_shown: bool,
    pub incomplete_followup: u64,
}

/// The breakdowns of a gap table: the strata, the compared one last
/// (`published`), and those with the sex and age classes standardisation
/// weights by (`fine`).
#[derive(Clone)]
pub(super) struct GapDims {
    pub(super) strata: Vec<Dimension>,
    pub(super) compared: Dimension,
    pub(super) published: Vec<Dimension>,
    pub(super) fine: Vec<Dimension>,
}

impl GapDims {
    pub(super) fn of(dims: &[Dimension]) -> Result<GapDims> {
        let compared = compared_dimension(dims)?;
        let strata: Vec<Dimension> = dims.iter().copied().filter(|d| *d != compared).collect();
        let mut published = strata.clone();
        published.push(compared);
        let mut fine = published.clone();
        fine.extend(STANDARDISED_BY.iter().copied().filter(|d| !published.contains(d)));
        Ok(GapDims {
            strata,
            compared,
            published,
            fine,
        })
    }

    /// The inputs of a gap table from its published table (to be
    /// protected with everything published beside it) and the finer one.
    pub(super) fn inputs(self, published: Table, fine: Table, standard: Standard, margins_shown: bool) -> GapInputs {
        GapInputs {
            published,
            fine,
            strata_dims: self.strata,
            compared: self.compared,
            standard,
            margins_shown,
            incomplete_followup: 0,
        }
    }
}

pub fn prepare(
    extract: &Extract,
    reference: &Reference,
    plan: &RatesPlan,
    standard: Standard,
    memo: &Memo,
) -> Result<GapInputs> {
    let dims = GapDims::of(&plan.dims)?;
    let published_plan = RatesPlan {
        dims: dims.published.clone(),
        ..plan.clone()
    };
    let published = compute(extract, reference, &published_plan, memo)?;
    // Never published: only weighted averages of its rates leave this module.
    let fine_plan = RatesPlan {
        dims: dims.fine.clone(),
        margins: false,
        threshold: None,
        ..plan.clone()
    };
    let fine = compute(extract, reference, &fine_plan, memo)?.table;
    let mut inputs = dims.inputs(published.table, fine, standard, plan.margins);
    inputs.incomplete_followup = published.incomplete_followup;
    Ok(inputs)
}

impl GapInputs {
    /// The gap table from the protected rates table: a row is suppressed
    /// with either of its cells, the representation index with any cell of
    /// its stratum, a standardised rate with any small cell it weights.
    pub fn finish(mut self, threshold: Threshold) -> GapTable {
        let dims: Vec<Dimension> = self.published.dims.clone();
        let cmp = dims.len() - 1;
        if let Some(pooled) = self
            .published
            .rows
            .iter()
            .find_map(|r| recode::pooled_code(&r.keys[cmp]))
        {
            recode::pool_unknown(&mut self.fine, cmp, pooled);
        }
        let fine = &self.fine;
        let italian = italian_code(self.compared);
        // The sex × age strata standardisation runs over, in the fine table.
        let mut strata: Vec<&[String]> = fine.rows.iter().map(|r| &r.keys[dims.len()..]).collect();
        strata.sort();
        strata.dedup();
        let table = &self.published;
        let mut rows = Vec::new();
        for cell in &table.rows {
            let group = &cell.keys[cmp];
            if group == italian || group == TOTAL || (!self.margins_shown && cell.is_margin()) {
                continue;
            }
            let stratum = &cell.keys[..cmp];
            let in_stratum = |r: &&Row| r.keys[..cmp] == *stratum && r.keys[cmp] != TOTAL;
            let Some(italian_cell) = table.rows.iter().filter(in_stratum).find(|r| r.keys[cmp] == italian) else {
                continue;
            };
            let stratum_cells: Vec<&Row> = table.rows.iter().filter(in_stratum).collect();
            let representation = if stratum_cells.iter().all(|r| !r.status.is_suppressed()) {
                let total_x = stratum_cells.iter().map(|r| r.beneficiaries).sum();
                let total_n = stratum_cells.iter().map(|r| r.population).sum();
                stats::representation_index(cell.beneficiaries, cell.population, total_x, total_n)
            } else {
                None
            };
            let standardise =
                |keys: &[String]| standardised(fine, &strata, &dims, keys, self.standard, cmp, italian, threshold);
            rows.push(GapRow {
                strata: stratum.to_vec(),
                group: group.clone(),
                group_cell: cell.clone(),
                italian_cell: italian_cell.clone(),
                representation,
                standardised: standardise(&cell.keys),
                standardised_italian: standardise(&italian_cell.keys),
            });
        }
        GapTable {
            strata_dims: self.strata_dims,
            compared: self.compared,
            rows,
            confidence: table.confidence,
        }
    }
}

/// The direct standardised rate of the cell with `keys` (over `dims`): its
/// rates in each sex × age stratum not already fixed by the cell, weighted
/// by the standard population's size in that stratum. None when one of
/// those strata holds 1 to k − 1 persons: their few outcomes would weigh
/// visibly in the rate, which the linear audit cannot bound.
#[allow(clippy::too_many_arguments)]
fn standardised(
    fine: &Table,
    combos: &[&[String]],
    dims: &[Dimension],
    keys: &[String],
    standard: Standard,
    cmp: usize,
    italian: &str,
    threshold: Threshold,
) -> Option<f64> {
    let matches = |code: &str, wanted: &str| wanted == TOTAL || code == wanted;
    let mut strata: Vec<(u64, u64, f64)> = Vec::with_capacity(combos.len());
    for combo in combos {
        let in_combo = fine.rows.iter().filter(|r| r.keys[dims.len()..] == **combo);
        let weight: u64 = in_combo
            .clone()
            .filter(|r| {
                dims.iter()
                    .enumerate()
                    .all(|(i, d)| !STANDARDISED_BY.contains(d) || matches(&r.keys[i], &keys[i]))
            })
            .filter(|r| standard == Standard::Total || r.keys[cmp] == italian)
            .map(|r| r.population)
            .sum();
        let (x, n) = in_combo
            .filter(|r| (0..dims.len()).all(|i| matches(&r.keys[i], &keys[i])))
            .fold((0, 0), |(x, n), r| (x + r.beneficiaries, n + r.population));
        if threshold.is_small(n) {
            return None;
        }
        strata.push((x, n, weight as f64));
    }
    stats::standardised_rate(&strata)
}

impl GapTable {
    pub fn grid(&self, codebook: &Codebook) -> Result<Grid> {
        let z = stats::critical_value(self.confidence)?;
        let mut columns = key_columns(&self.strata_dims);
        columns.extend(key_columns(&[self.compared]));
        let (low, high) = interval_columns("ic", self.confidence);
        let (diff_low, diff_high) = interval_columns("diff_ic", self.confidence);
        let (ratio_low, ratio_high) = interval_columns("rapp_ic", self.confidence);
        columns.extend(
            [
                "popolazione",
                "beneficiari",
                "tasso",
                &low,
                &high,
                "popolazione_ita",
                "beneficiari_ita",
                "tasso_ita",
                "differenza",
                &diff_low,
                &diff_high,
                "rapporto",
                &ratio_low,
                &ratio_high,
                "indice_rappresentazione",
                "tasso_standardizzato",
                "tasso_standardizzato_ita",
                "affidabile",
                "stato_cella",
            ]
            .map(String::from),
        );
        let rows = self
            .rows
            .iter()
            .map(|row| {
                let mut values = key_values(&self.strata_dims, &row.strata, codebook);
                values.extend(key_values(&[self.compared], std::slice::from_ref(&row.group), codebook));
                let (g, ita) = (&row.group_cell, &row.italian_cell);
                // The row's status is its group's cell's. With the Italians'
                // cell hidden the group's own figures stay (the rates tables
                // protected with this one show them) and every figure that
                // reads the Italians' is left empty: hiding the row would
                // tell the audit the group's cell is hidden, which another
                // table contradicts.
                let status = g.status;
                if status.is_suppressed() {
                    values.extend(std::iter::repeat_n(Value::Missing, 18));
                } else if ita.status.is_suppressed() {
                    let proportion = |v: Option<f64>| v.map_or(Value::Missing, Value::Proportion);
                    let interval = stats::wilson(g.beneficiaries, g.population, z);
                    values.extend([
                        Value::Count(g.population),
                        Value::Count(g.beneficiaries),
                        proportion(g.rate()),
                        proportion(interval.map(|e| e.low)),
                        proportion(interval.map(|e| e.high)),
                    ]);
                    values.extend(std::iter::repeat_n(Value::Missing, 13));
                } else {
                    let proportion = |v: Option<f64>| v.map_or(Value::Missing, Value::Proportion);
                    let number = |v: Option<f64>| v.map_or(Value::Missing, Value::Number);
                    let interval = stats::wilson(g.beneficiaries, g.population, z);
                    let diff =
                        stats::newcombe_difference(g.beneficiaries, g.population, ita.beneficiaries, ita.population, z);
                    let ratio = stats::katz_ratio(g.beneficiaries, g.population, ita.beneficiaries, ita.population, z);
                    let part = |e: Option<Estimate>, f: fn(&Estimate) -> f64| e.as_ref().map(f);
                    values.extend([
                        Value::Count(g.population),
                        Value::Count(g.beneficiaries),
                        proportion(g.rate()),
                        proportion(part(interval, |e| e.low)),
                        proportion(part(interval, |e| e.high)),
                        Value::Count(ita.population),
                        Value::Count(ita.beneficiaries),
                        proportion(ita.rate()),
                        proportion(part(diff, |e| e.value)),
                        proportion(part(diff, |e| e.low)),
                        proportion(part(diff, |e| e.high)),
                        number(part(ratio, |e| e.value)),
                        number(part(ratio, |e| e.low)),
                        number(part(ratio, |e| e.high)),
                        number(row.representation),
                        proportion(row.standardised),
                        proportion(row.standardised_italian),
                        Value::Flag(g.population >= RELIABLE_POPULATION && ita.population >= RELIABLE_POPULATION),
                    ]);
                }
                values.push(Value::Code(status.code().to_string()));
                values
            })
            .collect();
        Ok(Grid { columns, rows })
    }
}
