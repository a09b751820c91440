//! The terminal table: labels, thousands separators and percentages in the
//! chosen language's format (Italian: 1.234 and 12,3%).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table as Drawn};

use crate::table::{Grid, Lang, Value};

pub fn render(grid: &Grid, lang: Lang) -> Vec<u8> {
    let mut drawn = Drawn::new();
    drawn.load_preset(UTF8_FULL_CONDENSED);
    drawn.set_header(grid.columns.iter().map(|c| human_header(c, lang)));
    for row in &grid.rows {
        drawn.add_row(row.iter().map(|value| {
            let (text, numeric) = human(value, lang);
            let cell = comfy_table::Cell::new(text);
            if numeric {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    let mut text = drawn.to_string();
    text.push('\n');
    text.into_bytes()
}

/// A value as people read it, and whether it is a number (right-aligned).
pub fn human(value: &Value, lang: Lang) -> (String, bool) {
    match value {
        Value::Code(s) | Value::Text(s) => (s.clone(), false),
        Value::Count(n) => (thousands(*n, lang), true),
        Value::Proportion(p) => (percent(*p, lang), true),
        Value::Number(v) => (decimal(*v, 2, lang), true),
        Value::Days(v) if v.fract() == 0.0 => (decimal(*v, 0, lang), true),
        Value::Days(v) => (decimal(*v, 1, lang), true),
        Value::PValue(p) if *p < 0.001 => (format!("< {}", decimal(0.001, 3, lang)), true),
        Value::PValue(p) => (decimal(*p, 3, lang), true),
        Value::Flag(b) => (yes_no(*b, lang).to_string(), false),
        Value::Missing => (String::new(), false),
    }
}

pub fn human_header(column: &str, lang: Lang) -> String {
    match (column, lang) {
        ("tasso", Lang::It) => "tasso %".to_string(),
        ("tasso", Lang::En) => "rate %".to_string(),
        ("popolazione", Lang::En) => "eligible".to_string(),
        ("beneficiari", Lang::En) => "beneficiaries".to_string(),
        ("affidabile", Lang::En) => "reliable".to_string(),
        ("stato_cella", Lang::En) => "cell status".to_string(),
        _ => column.to_string(),
    }
}

/// `1234567` as `1.234.567` (Italian) or `1,234,567` (English).
pub fn thousands(n: u64, lang: Lang) -> String {
    let separator = if lang == Lang::It { '.' } else { ',' };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// A proportion as a percentage with one decimal: `12,3` or `12.3`.
pub fn percent(p: f64, lang: Lang) -> String {
    decimal(p * 100.0, 1, lang)
}

/// A number with fixed decimals in the language's format.
pub fn decimal(value: f64, decimals: usize, lang: Lang) -> String {
    let text = format!("{:.*}", decimals, value + 0.0);
    if lang == Lang::It {
        text.replace('.', ",")
    } else {
        text
    }
}

fn yes_no(value: bool, lang: Lang) -> &'static str {
    match (value, lang) {
        (true, Lang::It) => "sì",
        (true, Lang::En) => "yes",
        (false, _) => "no",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_follow_the_language() {
        assert_eq!(thousands(0, Lang::It), "0");
        assert_eq!(thousands(999, Lang::It), "999");
        assert_eq!(thousands(1234, Lang::It), "1.234");
        assert_eq!(thousands(1234567, Lang::En), "1,234,567");
    }

    #[test]
    fn percentages_have_one_decimal() {
        assert_eq!(percent(0.1234, Lang::It), "12,3");
        assert_eq!(percent(0.1234, Lang::En), "12.3");
        assert_eq!(percent(1.0, Lang::It), "100,0");
    }

    #[test]
    fn days_and_p_values_read_as_people_quote_them() {
        assert_eq!(human(&Value::Days(44.0), Lang::It).0, "44");
        assert_eq!(human(&Value::Days(44.5), Lang::It).0, "44,5");
        assert_eq!(human(&Value::PValue(0.0062), Lang::It).0, "0,006");
        assert_eq!(human(&Value::PValue(0.0062), Lang::En).0, "0.006");
        assert_eq!(human(&Value::PValue(6.8e-102), Lang::It).0, "< 0,001");
    }
}
