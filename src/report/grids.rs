//! The report's tables that are not rates or gaps: the trend over the
//! years and the data-quality summary.

use anyhow::Result;

use crate::quality;
use crate::table::{Codebook, Grid, Table, Value};

pub(super) fn trend_grid(trend: &[(i32, Table)], codebook: &Codebook) -> Result<Grid> {
    let mut columns = vec!["anno".to_string()];
    let mut rows = Vec::new();
    for (year, table) in trend {
        let grid = table.grid(codebook)?;
        if columns.len() == 1 {
            columns.extend(grid.columns.iter().cloned());
        }
        for row in grid.rows {
            let mut values = vec![Value::Code(year.to_string())];
            values.extend(row);
            rows.push(values);
        }
    }
    Ok(Grid { columns, rows })
}

pub(super) fn quality_grid(report: &quality::QualityReport) -> Grid {
    Grid {
        columns: ["file", "righe_lette", "righe_usate", "righe_scartate"]
            .map(String::from)
            .to_vec(),
        rows: report
            .files
            .iter()
            .map(|f| {
                vec![
                    Value::Code(f.read.file.clone()),
                    Value::Count(f.read.rows_read),
                    Value::Count(f.read.rows_used),
                    Value::Count(f.read.rows_rejected),
                ]
            })
            .collect(),
    }
}

pub(super) fn reasons_grid(report: &quality::QualityReport) -> Grid {
    Grid {
        columns: ["file", "colonna", "motivo", "righe"].map(String::from).to_vec(),
        rows: report
            .files
            .iter()
            .flat_map(|f| {
                f.rejected_by_reason.iter().map(|r| {
                    vec![
                        Value::Code(f.read.file.clone()),
                        Value::Code(r.column.clone()),
                        Value::Text(r.reason.clone()),
                        Value::Count(r.rows),
                    ]
                })
            })
            .collect(),
    }
}
