//! XLSX as analysts expect it: one sheet per table (or per fact sheet, its
//! tables one under the other), frozen header,
//! percentages as percent cells, counts with thousands separators, widths
//! fitted, suppressed rows greyed with "n.d." in their empty cells. The
//! document date is fixed so the same tables give the same bytes.

use anyhow::{Context, Result};
use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, FormatPattern, Workbook, Worksheet};

use crate::table::{Grid, Value};

/// Excel caps sheet names at 31 characters and forbids a few.
fn sheet_name(name: &str) -> String {
    name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect()
}

/// One sheet per table, its header frozen.
pub fn render_workbook(sheets: &[(&str, &Grid)]) -> Result<Vec<u8>> {
    let sheets: Vec<(&str, Vec<(&str, &Grid)>)> =
        sheets.iter().map(|(name, grid)| (*name, vec![("", *grid)])).collect();
    render_sheets(&sheets)
}

/// Sheets of titled tables one under the other (a fact sheet per sheet);
/// a sheet of one untitled table has its header frozen.
pub fn render_sheets(sheets: &[(&str, Vec<(&str, &Grid)>)]) -> Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    let fixed = ExcelDateTime::from_ymd(2000, 1, 1).context("a fixed document date")?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&fixed));
    let formats = Formats::new();
    for (name, blocks) in sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(name))?;
        let mut row = 0;
        for (title, grid) in blocks {
            if !title.is_empty() {
                sheet.write_string_with_format(row, 0, *title, &formats.title)?;
                row += 1;
            }
            row = write_grid(sheet, row, grid, &formats)? + 1;
        }
        if let [("", _)] = blocks[..] {
            sheet.set_freeze_panes(1, 0)?;
        }
        sheet.autofit();
    }
    Ok(workbook.save_to_buffer()?)
}

struct Formats {
    title: Format,
    header: Format,
    count: Format,
    percent: Format,
    number: Format,
    days: Format,
    p_value: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            title: Format::new().set_bold().set_font_size(12),
            header: Format::new().set_bold().set_background_color(Color::RGB(0xE8EEF3)),
            // Excel shows the separators of the reader's locale: one format serves both languages.
            count: Format::new().set_num_format("#,##0"),
            percent: Format::new().set_num_format("0.0%"),
            number: Format::new().set_num_format("0.00"),
            days: Format::new().set_num_format("General"),
            p_value: Format::new().set_num_format("0.000"),
        }
    }
}

fn grey(f: Format) -> Format {
    f.set_pattern(FormatPattern::Solid)
        .set_background_color(Color::RGB(0xEEEEEE))
        .set_font_color(Color::RGB(0x777777))
}

/// Writes `grid` from row `first` (its header there); returns the row after it.
fn write_grid(sheet: &mut Worksheet, first: u32, grid: &Grid, formats: &Formats) -> Result<u32> {
    let suppressed_text = grey(Format::new());
    let status = grid.columns.iter().position(|c| c == "stato_cella");
    for (c, column) in grid.columns.iter().enumerate() {
        sheet.write_string_with_format(first, c as u16, column, &formats.header)?;
    }
    for (r, row) in grid.rows.iter().enumerate() {
        let r = first + r as u32 + 1;
        let suppressed = status.is_some_and(|i| !matches!(&row[i], Value::Code(s) if s == "s"));
        for (c, value) in row.iter().enumerate() {
            let c = c as u16;
            let pick = |f: &Format| if suppressed { grey(f.clone()) } else { f.clone() };
            match value {
                Value::Code(s) | Value::Text(s) => {
                    sheet.write_string_with_format(r, c, s, &pick(&Format::new()))?;
                }
                Value::Count(n) => {
                    sheet.write_number_with_format(r, c, *n as f64, &pick(&formats.count))?;
                }
                Value::Proportion(p) => {
                    sheet.write_number_with_format(r, c, *p, &pick(&formats.percent))?;
                }
                Value::Number(v) => {
                    sheet.write_number_with_format(r, c, *v, &pick(&formats.number))?;
                }
                Value::Days(v) => {
                    sheet.write_number_with_format(r, c, *v, &pick(&formats.days))?;
                }
                Value::PValue(v) => {
                    sheet.write_number_with_format(r, c, *v, &pick(&formats.p_value))?;
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
    Ok(first + grid.rows.len() as u32 + 1)
}
