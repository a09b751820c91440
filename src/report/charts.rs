//! Inline SVG charts for the report: grouped bars of rates and a
//! dot-and-whisker chart of gaps, and their data from the report's tables.
//! Suppressed cells are drawn as suppressed (a dashed outline marked
//! "n.d."), never as zero. Plain text output, so the same numbers always
//! give the same bytes.

use std::fmt::Write;

use super::findings::difference;
use super::pages::escape;
use super::{is_group, GROUPS};
use crate::indicators::gap::GapTable;
use crate::output::terminal::decimal;
use crate::table::{CellStatus, Codebook, Dimension, Lang, Table, TOTAL};

/// One bar: a rate in [0, 1], or `None` when the cell is suppressed.
pub struct Bar {
    pub series: usize,
    pub value: Option<f64>,
}

pub struct BarGroup {
    pub label: String,
    pub bars: Vec<Bar>,
}

const COLOURS: [&str; 4] = ["#1b6ca8", "#e07b39", "#3a9a5b", "#8a5fb4"];
const FONT: &str = "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\"";

/// Grouped vertical bars: one group per category, one bar per series.
pub fn grouped_bars(title: &str, series: &[String], groups: &[BarGroup], lang: Lang) -> String {
    let (left, top, bottom, height) = (40.0, 30.0, 40.0, 200.0);
    let bar = 14.0;
    let group_width = bar * series.len() as f64 + 16.0;
    // Wide enough for the title and the legend even with few groups.
    let width = (left + group_width * groups.len() as f64 + 10.0).max(left + 110.0 * series.len() as f64 + 20.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width:.0} {:.0}\" width=\"{width:.0}\" height=\"{:.0}\" {FONT}>",
        escape(title),
        top + height + bottom + 20.0,
        top + height + bottom + 20.0
    );
    for tick in 0..=4 {
        let y = top + height - height * f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{width:.0}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}%</text>",
            left - 4.0,
            y + 4.0,
            tick * 25
        );
    }
    for (g, group) in groups.iter().enumerate() {
        let x0 = left + 8.0 + group_width * g as f64;
        for b in &group.bars {
            let x = x0 + bar * b.series as f64;
            match b.value {
                Some(v) => {
                    let h = height * v.clamp(0.0, 1.0);
                    let _ = write!(
                        svg,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {}%</title></rect>",
                        top + height - h,
                        bar - 2.0,
                        COLOURS[b.series % COLOURS.len()],
                        escape(&format!("{} {}", group.label, series[b.series])),
                        decimal(v * 100.0, 1, lang)
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"30\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"3,2\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"8\" text-anchor=\"middle\" fill=\"#777\">n.d.</text>",
                        top + height - 30.0,
                        bar - 2.0,
                        x + (bar - 2.0) / 2.0,
                        top + height - 34.0
                    );
                }
            }
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x0 + bar * series.len() as f64 / 2.0,
            top + height + 14.0,
            escape(&group.label)
        );
    }
    for (s, name) in series.iter().enumerate() {
        let x = left + 110.0 * s as f64;
        let y = top + height + bottom;
        let _ = write!(
            svg,
            "<rect x=\"{x:.0}\" y=\"{:.0}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.0}\" y=\"{y:.0}\">{}</text>",
            y - 9.0,
            COLOURS[s % COLOURS.len()],
            x + 14.0,
            escape(name)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text></svg>",
        escape(title)
    );
    svg
}

/// One line of a dot-and-whisker chart: a difference with its interval, or
/// `None` when suppressed or not computable.
pub struct Whisker {
    pub label: String,
    pub estimate: Option<(f64, f64, f64)>,
}

/// Horizontal dots with intervals around a zero line, in percentage points.
pub fn dot_whisker(title: &str, lines: &[Whisker], lang: Lang) -> String {
    let (left, right, top, row) = (150.0, 30.0, 30.0, 18.0);
    let plot = 360.0;
    let extent = lines
        .iter()
        .filter_map(|l| l.estimate)
        .flat_map(|(_, lo, hi)| [lo.abs(), hi.abs()])
        .fold(0.05_f64, f64::max)
        .min(1.0);
    // Round the axis up to whole multiples of 5 points so its ticks read well.
    let extent = ((extent * 100.0 / 10.0).ceil() * 10.0 / 100.0).min(1.0);
    let scale = |v: f64| left + plot / 2.0 + v / extent * plot / 2.0;
    let height = top + row * lines.len() as f64 + 30.0;
    let width = left + plot + right;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" {FONT}>",
        escape(title)
    );
    let zero = scale(0.0);
    let _ = write!(
        svg,
        "<line x1=\"{zero:.1}\" x2=\"{zero:.1}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#444\"/>",
        height - 24.0
    );
    for tick in [-1.0, -0.5, 0.0, 0.5, 1.0] {
        let x = scale(tick * extent);
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"#eee\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            height - 24.0,
            height - 10.0,
            decimal(tick * extent * 100.0, 0, lang)
        );
    }
    for (i, line) in lines.iter().enumerate() {
        let y = top + row * i as f64 + row / 2.0;
        let _ = write!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + 4.0,
            escape(&line.label)
        );
        match line.estimate {
            Some((value, low, high)) => {
                let _ = write!(
                    svg,
                    "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{}\" stroke-width=\"2\"/><circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{}\"><title>{}: {} [{}; {}]</title></circle>",
                    scale(low),
                    scale(high),
                    COLOURS[0],
                    scale(value),
                    COLOURS[0],
                    escape(&line.label),
                    decimal(value * 100.0, 1, lang),
                    decimal(low * 100.0, 1, lang),
                    decimal(high * 100.0, 1, lang)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    "<text x=\"{zero:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#777\">n.d.</text>",
                    y + 4.0
                );
            }
        }
    }
    let _ = write!(
        svg,
        "<text x=\"10\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text></svg>",
        escape(title)
    );
    svg
}

/// One group's cumulative curve: at each day, the share and its interval
/// when shown (`None` from the first hidden day on: the curve stops there).
pub struct CurveSeries {
    pub name: String,
    pub points: Vec<(i32, Option<CurvePoint>)>,
}

#[derive(Clone, Copy)]
pub struct CurvePoint {
    pub share: f64,
    pub interval: Option<(f64, f64)>,
}

/// Cumulative shares over days since the DID, one line per group from
/// (0, 0) through the days shown, with the interval as a whisker at each;
/// a line stops before its first hidden day, marked "n.d." there.
pub fn cumulative_curves(title: &str, series: &[CurveSeries], lang: Lang) -> String {
    let (left, top, bottom, width, height) = (40.0, 30.0, 44.0, 600.0, 200.0);
    let last_day = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(d, _)| *d))
        .max()
        .unwrap_or(1)
        .max(1);
    let peak = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|(_, p)| *p))
        .map(|p| p.interval.map_or(p.share, |(_, high)| high))
        .fold(0.0_f64, f64::max)
        .min(1.0);
    // The axis ends at the next multiple of 20 points above the highest
    // bound, so that its quarters fall on whole multiples of 5 points.
    let ceiling = ((peak * 5.0).ceil() / 5.0).clamp(0.2, 1.0);
    let x = |day: i32| left + (width - left - 10.0) * f64::from(day) / f64::from(last_day);
    let y = |share: f64| top + height - height * share / ceiling;
    let total_height = top + height + bottom + 16.0 * series.len().div_ceil(3) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width:.0} {total_height:.0}\" width=\"{width:.0}\" height=\"{total_height:.0}\" {FONT}>",
        escape(title)
    );
    for tick in 0..=4 {
        let share = ceiling * f64::from(tick) / 4.0;
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{:.0}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}%</text>",
            width - 10.0,
            y(share),
            y(share),
            left - 4.0,
            y(share) + 4.0,
            decimal(share * 100.0, 0, lang)
        );
    }
    let mut days: Vec<i32> = series.iter().flat_map(|s| s.points.iter().map(|(d, _)| *d)).collect();
    days.sort_unstable();
    days.dedup();
    for day in std::iter::once(0).chain(days) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{day}</text>",
            x(day),
            top + height + 14.0
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
        width - 10.0,
        top + height + 28.0,
        if lang == Lang::It {
            "giorni dalla DID"
        } else {
            "days since the DID"
        }
    );
    for (s, curve) in series.iter().enumerate() {
        let colour = COLOURS[s % COLOURS.len()];
        let mut path = format!("M{:.1},{:.1}", x(0), y(0.0));
        for (day, point) in &curve.points {
            let Some(CurvePoint { share: value, interval }) = point else {
                let _ = write!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"8\" text-anchor=\"middle\" fill=\"{colour}\">n.d.</text>",
                    x(*day),
                    top + height - 4.0 - 10.0 * s as f64
                );
                break;
            };
            let _ = write!(path, " L{:.1},{:.1}", x(*day), y(*value));
            if let Some((low, high)) = interval {
                let _ = write!(
                    svg,
                    "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"{colour}\" stroke-opacity=\"0.5\"/>",
                    x(*day) + 2.0 * s as f64 - 2.0,
                    y(*low),
                    y(*high)
                );
            }
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{}, {day}: {}%</title></circle>",
                x(*day),
                y(*value),
                escape(&curve.name),
                decimal(value * 100.0, 1, lang)
            );
        }
        let _ = write!(
            svg,
            "<path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>"
        );
        let (column, line) = (s % 3, s / 3);
        let lx = left + 185.0 * column as f64;
        let ly = top + height + bottom + 16.0 * line as f64;
        let _ = write!(
            svg,
            "<rect x=\"{lx:.0}\" y=\"{:.0}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.0}\" y=\"{ly:.0}\">{}</text>",
            ly - 9.0,
            lx + 14.0,
            escape(&curve.name)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text></svg>",
        escape(title)
    );
    svg
}

/// The rate of the row whose codes match, when it is published.
pub(super) fn published_rate(table: &Table, matches: impl Fn(&[String]) -> bool) -> Option<f64> {
    table
        .rows
        .iter()
        .find(|r| matches(&r.keys))
        .filter(|r| r.status == CellStatus::Publishable)
        .and_then(|r| r.rate())
}

/// Bar groups from a table by (category, citizenship group): one group per
/// category but the margin, one bar per Italian/EU/non-EU cell.
pub(super) fn bar_groups(table: &Table, codebook: &Codebook) -> Vec<BarGroup> {
    let (category, series) = (0, 1);
    let mut categories: Vec<&String> = Vec::new();
    for row in table.rows.iter().filter(|r| r.keys[category] != TOTAL) {
        if !categories.contains(&&row.keys[category]) {
            categories.push(&row.keys[category]);
        }
    }
    categories
        .into_iter()
        .map(|c| BarGroup {
            label: match table.dims[category] {
                Dimension::Provincia | Dimension::Sesso | Dimension::ClasseEta => c.clone(),
                dim => codebook.label(dim, c),
            },
            bars: GROUPS
                .iter()
                .enumerate()
                .filter_map(|(s, g)| {
                    let row = table
                        .rows
                        .iter()
                        .find(|r| &r.keys[category] == c && is_group(&r.keys[series], g))?;
                    let value = (row.status == CellStatus::Publishable).then(|| row.rate()).flatten();
                    Some(Bar { series: s, value })
                })
                .collect(),
        })
        .collect()
}

pub(super) fn whiskers(gap: &GapTable, codebook: &Codebook, z: f64) -> Vec<Whisker> {
    gap.rows
        .iter()
        .map(|row| Whisker {
            label: codebook.label(gap.compared, &row.group),
            estimate: difference(row, z).map(|e| (e.value, e.low, e.high)),
        })
        .collect()
}
