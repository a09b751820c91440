//! An outcomes table as a grid: a row per cell and horizon, or with
//! `--gap` each horizon's comparison with Italians.

use anyhow::Result;

use super::OutcomesTable;
use crate::table::{interval_columns, key_columns, key_values, Codebook, Grid, Value};

impl OutcomesTable {
    /// The grid every renderer draws: a row per cell and horizon, or with
    /// `--gap` a row per group, stratum and horizon.
    pub fn grid(&self, codebook: &Codebook) -> Result<Grid> {
        if self.plan.gap.is_some() {
            return self.gap_grid(codebook);
        }
        let plan = &self.plan.base;
        let z = crate::stats::critical_value(plan.confidence)?;
        let (low, high) = interval_columns("ic", plan.confidence);
        let mut columns = key_columns(&plan.dims);
        columns.extend(
            [
                "giorni",
                "popolazione",
                "gia_occupati",
                "esiti",
                "tasso",
                &low,
                &high,
                "affidabile",
                "stato_cella",
            ]
            .map(String::from),
        );
        let mut rows = Vec::new();
        let mut cells: Vec<&Vec<String>> = Vec::new();
        for horizon in &self.horizons {
            for row in horizon.outcome.printed_rows() {
                if !cells.contains(&&row.keys) {
                    cells.push(&row.keys);
                }
            }
        }
        for keys in cells {
            for horizon in &self.horizons {
                let found = horizon.outcome.rows.iter().position(|r| r.keys == *keys);
                let Some(index) = found else { continue };
                let (row, working) = (&horizon.outcome.rows[index], &horizon.at_work.rows[index]);
                let mut values = key_values(&plan.dims, keys, codebook);
                values.push(Value::Code(horizon.day.to_string()));
                if row.status.is_suppressed() {
                    values.extend(std::iter::repeat_n(Value::Missing, 7));
                } else {
                    values.push(Value::Count(row.population));
                    values.push(Value::Count(working.beneficiaries));
                    values.push(Value::Count(row.beneficiaries));
                    values.extend(row.rate_values(z));
                }
                values.push(Value::Code(row.status.code().to_string()));
                rows.push(values);
            }
        }
        Ok(Grid { columns, rows })
    }

    /// Each horizon's gap grid, one after the other, with the horizon
    /// after the breakdowns and the outcome's counts named as such.
    fn gap_grid(&self, codebook: &Codebook) -> Result<Grid> {
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        for horizon in &self.horizons {
            let gap = horizon.gap.as_ref().expect("--gap computes a gap table per horizon");
            let grid = gap.grid(codebook)?;
            let keys = key_columns(&gap.strata_dims).len() + key_columns(&[gap.compared]).len();
            if columns.is_empty() {
                columns = grid.columns.clone();
                columns.insert(keys, "giorni".to_string());
                for name in &mut columns {
                    if let Some(rest) = name.strip_prefix("beneficiari") {
                        *name = format!("esiti{rest}");
                    }
                }
            }
            for mut row in grid.rows {
                row.insert(keys, Value::Code(horizon.day.to_string()));
                rows.push(row);
            }
        }
        Ok(Grid { columns, rows })
    }
}
