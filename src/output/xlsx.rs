//! XLSX as analysts expect it: one sheet per table, frozen header,
//! percentages as percent cells, counts with thousands separators, widths
//! fitted, suppressed rows greyed with "n.d." in their empty cells. The
//! document date is fixed so the same tables give the same bytes.

use anyhow::{Context, Result};
use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatPattern, Workbook};

use crate::table::{Grid, Value};

/// Excel caps sheet names at 31 characters and forbids a few.
fn sheet_name(name: &str) -> String {
    name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect()
}

pub fn render_workbook(sheets: &[(&str, &Grid)]) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let fixed = ExcelDateTime::from_ymd(2000, 1, 1).context("a fixed document date")?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&fixed));
    let header = Format::new().set_bold().set_background_color(Color::RGB(0xE8EEF3));
    // Excel shows the separators of the reader's locale: one format serves both languages.
    let count = Format::new().set_num_format("#,##0");
    let percent = Format::new().set_num_format("0.0%");
    let number = Format::new().set_num_format("0.00");
    let days = Format::new().set_num_format("General");
    let p_value = Format::new().set_num_format("0.000");
    let grey = |f: Format| {
        f.set_pattern(FormatPattern::Solid)
            .set_background_color(Color::RGB(0xEEEEEE))
            .set_font_color(Color::RGB(0x777777))
    };
    let suppressed_text = grey(Format::new());
    for (name, grid) in sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(name))?;
        let status = grid.columns.iter().position(|c| c == "stato_cella");
        for (c, column) in grid.columns.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, column, &header)?;
        }
        for (r, row) in grid.rows.iter().enumerate() {
            let r = r as u32 + 1;
            let suppressed = status.is_some_and(|i| !matches!(&row[i], Value::Code(s) if s == "s"));
            for (c, value) in row.iter().enumerate() {
                let c = c as u16;
                let pick = |f: &Format| if suppressed { grey(f.clone()) } else { f.clone() };
                match value {
                    Value::Code(s) | Value::Text(s) => {
                        sheet.write_string_with_format(r, c, s, &pick(&Format::new()))?;
                    }
                    Value::Count(n) => {
                        sheet.write_number_with_format(r, c, *n as f64, &pick(&count))?;
                    }
                    Value::Proportion(p) => {
                        sheet.write_number_with_format(r, c, *p, &pick(&percent))?;
                    }
                    Value::Number(v) => {
                        sheet.write_number_with_format(r, c, *v, &pick(&number))?;
                    }
                    Value::Days(v) => {
                        sheet.write_number_with_format(r, c, *v, &pick(&days))?;
                    }
                    Value::PValue(v) => {
                        sheet.write_number_with_format(r, c, *v, &pick(&p_value))?;
                    }
                    Value::Flag(b) => {
                        sheet.write_boolean(r, c, *b)?;
                    }
                    Value::Missing if suppressed => {
                        sheet.write_string_with_format(r, c, "n.d.", &suppressed_text)?;
                    }
                    Value::Missing => {}
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
    }
    Ok(workbook.save_to_buffer()?)
}
