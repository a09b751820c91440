//! Slices of published grids: a centre's rows, some of their columns,
//! several stacked under a label; and the file name of a centre's page.

use crate::table::{Grid, Value};

/// The rows of `grid` whose `column` holds `code`, without that column.
pub(super) fn slice(grid: &Grid, column: &str, code: &str) -> Grid {
    let Some(at) = grid.columns.iter().position(|c| c == column) else {
        return grid.clone();
    };
    let holds = |v: &Value| matches!(v, Value::Code(s) | Value::Text(s) if s == code);
    Grid {
        columns: grid
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, c)| c.clone())
            .collect(),
        rows: grid
            .rows
            .iter()
            .filter(|row| holds(&row[at]))
            .map(|row| {
                row.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != at)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .collect(),
    }
}

/// The rows of `grid` whose `column` does not hold `code`.
pub(super) fn without(grid: &Grid, column: &str, code: &str) -> Grid {
    let at = grid.columns.iter().position(|c| c == column);
    Grid {
        columns: grid.columns.clone(),
        rows: grid
            .rows
            .iter()
            .filter(|row| at.is_none_or(|at| !matches!(&row[at], Value::Code(s) if s == code)))
            .cloned()
            .collect(),
    }
}

/// The columns of `grid` named in `shown` (those it has), in its order.
pub(super) fn project(grid: &Grid, shown: &[String]) -> Grid {
    let kept: Vec<usize> = (0..grid.columns.len())
        .filter(|i| shown.contains(&grid.columns[*i]))
        .collect();
    Grid {
        columns: kept.iter().map(|i| grid.columns[*i].clone()).collect(),
        rows: grid
            .rows
            .iter()
            .map(|row| kept.iter().map(|i| row[*i].clone()).collect())
            .collect(),
    }
}

/// Grids of the same columns one under the other, each row led by its grid's label.
pub(super) fn stack(label: &str, grids: Vec<(String, Grid)>) -> Grid {
    let columns = std::iter::once(label.to_string())
        .chain(grids.first().map(|(_, g)| g.columns.clone()).unwrap_or_default())
        .collect();
    let rows = grids
        .into_iter()
        .flat_map(|(name, grid)| {
            grid.rows.into_iter().map(move |row| {
                std::iter::once(Value::Text(name.clone()))
                    .chain(row)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    Grid { columns, rows }
}

/// A file name for a centre's page: its code in letters, digits and
/// hyphens (accents dropped), unique among `taken`.
pub(super) fn unique_file(code: &str, taken: &[String]) -> String {
    let mut stem: String = code
        .chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'À' | 'Á' | 'Â' | 'Ä' => 'A',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'È' | 'É' | 'Ê' | 'Ë' => 'E',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'Ò' | 'Ó' | 'Ô' | 'Ö' => 'O',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
            c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => c,
            _ => '-',
        })
        .collect();
    if stem.trim_matches('-').is_empty() {
        stem = "cpi".into();
    }
    let mut file = format!("{stem}.html");
    let mut n = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&file)) {
        file = format!("{stem}-{n}.html");
        n += 1;
    }
    file
}
