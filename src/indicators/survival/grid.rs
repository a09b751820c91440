//! A survival table as a grid: a row per cell and day, hidden rows
//! showing nothing but their status.

use anyhow::Result;

use super::SurvivalTable;
use crate::stats::survival::{cumulative_incidence, Curve};
use crate::table::{interval_columns, key_columns, key_values, Codebook, Grid, Value, RELIABLE_POPULATION, TOTAL};

impl SurvivalTable {
    /// The grid every renderer draws: a row per cell and day.
    pub fn grid(&self, codebook: &Codebook) -> Result<Grid> {
        let plan = &self.plan;
        let z = crate::stats::critical_value(plan.base.confidence)?;
        let (low, high) = interval_columns("ic", plan.base.confidence);
        let mut columns = key_columns(&plan.base.dims);
        columns.extend(
            [
                "giorni",
                "popolazione",
                "a_rischio",
                "eventi",
                "quota",
                &low,
                &high,
                "mediana_giorni",
                "affidabile",
                "stato_cella",
                "logrank_chi2",
                "logrank_gdl",
                "logrank_p",
            ]
            .map(String::from),
        );
        let mut rows = Vec::new();
        for cell in &self.cells {
            if !plan.base.margins && cell.keys.iter().any(|k| k == TOTAL) {
                continue;
            }
            let curve = Curve::kaplan_meier(&cell.follow_up);
            let median = cell.shown_median(plan);
            for (day, status) in plan.days.iter().zip(&cell.status) {
                let mut values = key_values(&plan.base.dims, &cell.keys, codebook);
                values.push(Value::Code(day.to_string()));
                if status.is_suppressed() {
                    values.extend(std::iter::repeat_n(Value::Missing, 8));
                } else {
                    let at_risk = cell.follow_up.at_risk(*day);
                    values.push(Value::Count(cell.follow_up.persons()));
                    values.push(Value::Count(at_risk));
                    values.push(Value::Count(cell.follow_up.events_by(*day)));
                    if plan.competing {
                        values.push(Value::Proportion(cumulative_incidence(&cell.follow_up, *day)));
                        values.extend([Value::Missing, Value::Missing]);
                    } else {
                        let point = curve.at(*day);
                        values.push(Value::Proportion(1.0 - point.survival));
                        match point.bounds(z, plan.interval) {
                            Some((s_low, s_high)) => {
                                values.push(Value::Proportion(1.0 - s_high));
                                values.push(Value::Proportion(1.0 - s_low));
                            }
                            None => values.extend([Value::Missing, Value::Missing]),
                        }
                    }
                    values.push(median.map_or(Value::Missing, Value::Days));
                    values.push(Value::Flag(at_risk >= RELIABLE_POPULATION));
                }
                values.push(Value::Code(status.code().to_string()));
                match (&cell.log_rank, status.is_suppressed()) {
                    (Some(test), false) => values.extend([
                        Value::Number(test.chi_square),
                        Value::Count(test.degrees_of_freedom as u64),
                        Value::PValue(test.p_value),
                    ]),
                    _ => values.extend([Value::Missing, Value::Missing, Value::Missing]),
                }
                rows.push(values);
            }
        }
        Ok(Grid { columns, rows })
    }
}
