//! CSV as the spec wants it: `;`-separated, UTF-8, `.` decimals.

use super::machine_number;
use crate::table::{Grid, Value};

pub fn render(grid: &Grid) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(&grid.columns).expect("writing to memory");
    for row in &grid.rows {
        let fields = row.iter().map(|value| match value {
            Value::Code(s) | Value::Text(s) => s.clone(),
            Value::Count(n) => n.to_string(),
            Value::Flag(b) => b.to_string(),
            Value::Missing => String::new(),
            other => other.real().map(machine_number).unwrap_or_default(),
        });
        writer.write_record(fields).expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}
