//! JSON: an array of row objects whose keys keep the table's column order.

use super::machine_number;
use crate::table::{Grid, Value};

pub fn render(grid: &Grid) -> Vec<u8> {
    let mut out = String::from("[");
    for (i, row) in grid.rows.iter().enumerate() {
        out.push_str(if i == 0 { "\n  {" } else { ",\n  {" });
        for (j, (column, value)) in grid.columns.iter().zip(row).enumerate() {
            if j > 0 {
                out.push_str(", ");
            }
            out.push_str(&serde_json::to_string(column).expect("strings serialise"));
            out.push_str(": ");
            match value {
                Value::Code(s) | Value::Text(s) => out.push_str(&serde_json::to_string(s).expect("strings serialise")),
                Value::Count(n) => out.push_str(&n.to_string()),
                Value::Flag(b) => out.push_str(&b.to_string()),
                other => match other.real().filter(|x| x.is_finite()) {
                    Some(x) => out.push_str(&machine_number(x)),
                    None => out.push_str("null"),
                },
            }
        }
        out.push('}');
    }
    out.push_str(if grid.rows.is_empty() { "]\n" } else { "\n]\n" });
    out.into_bytes()
}
