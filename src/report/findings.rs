//! The key findings: sentences written from the protected numbers, so that
//! what the report says is what its tables show.

use super::{is_group, t};
use crate::indicators::gap::{GapRow, GapTable};
use crate::output::terminal::{decimal, percent, thousands};
use crate::stats;
use crate::table::Lang;

pub(super) fn difference(row: &GapRow, z: f64) -> Option<stats::Estimate> {
    let published = !row.group_cell.status.is_suppressed() && !row.italian_cell.status.is_suppressed();
    let (g, i) = (&row.group_cell, &row.italian_cell);
    published
        .then(|| stats::newcombe_difference(g.beneficiaries, g.population, i.beneficiaries, i.population, z))
        .flatten()
}

pub(super) fn points(value: f64, lang: Lang) -> String {
    let sign = if value > 0.0 { "+" } else { "" };
    format!("{sign}{}", decimal(value * 100.0, 1, lang))
}

/// The key findings, as sentences built from the protected numbers.
pub(super) fn findings(
    lang: Lang,
    year: i32,
    all: &GapTable,
    measures: &GapTable,
    by_province: &GapTable,
    z: f64,
) -> Vec<String> {
    let mut out = Vec::new();
    for group in ["EXTRA_UE", "UE"] {
        let Some(row) = all.rows.iter().find(|r| is_group(&r.group, group)) else {
            continue;
        };
        let who = match (group, lang) {
            ("EXTRA_UE", Lang::It) => "i cittadini non UE",
            ("EXTRA_UE", Lang::En) => "non-EU citizens",
            (_, Lang::It) => "i cittadini UE",
            (_, Lang::En) => "EU citizens",
        };
        match (difference(row, z), row.group_cell.rate(), row.italian_cell.rate()) {
            (Some(d), Some(rate), Some(italian)) => out.push(match lang {
                Lang::It => format!(
                    "Nel {year} {who} iscritti con una DID hanno avviato un servizio o una misura nel {}% dei casi, contro il {}% degli italiani: {} punti (IC 95% {}; {}).",
                    percent(rate, lang), percent(italian, lang), points(d.value, lang), points(d.low, lang), points(d.high, lang)
                ),
                Lang::En => format!(
                    "In {year}, {} {} registered with a DID started a service or measure in {}% of cases, against {}% of Italians: {} points (95% CI {}; {}).",
                    thousands(row.group_cell.population, lang), who, percent(rate, lang), percent(italian, lang), points(d.value, lang), points(d.low, lang), points(d.high, lang)
                ),
            }),
            _ => out.push(t(lang, "Il confronto non è pubblicabile: celle sotto la soglia di riservatezza.", "The comparison cannot be published: cells under the disclosure threshold.")),
        }
    }
    if let Some(row) = measures.rows.iter().find(|r| is_group(&r.group, "EXTRA_UE")) {
        if let (Some(d), Some(rate), Some(italian)) =
            (difference(row, z), row.group_cell.rate(), row.italian_cell.rate())
        {
            out.push(match lang {
                Lang::It => format!(
                    "Per le sole misure attive (formazione, tirocini, incentivi) il tasso dei non UE è {}% contro {}% degli italiani ({} punti).",
                    percent(rate, lang), percent(italian, lang), points(d.value, lang)
                ),
                Lang::En => format!(
                    "For active measures alone (training, traineeships, incentives) the non-EU rate is {}% against {}% for Italians ({} points).",
                    percent(rate, lang), percent(italian, lang), points(d.value, lang)
                ),
            });
        }
    }
    if let Some(row) = all.rows.iter().find(|r| is_group(&r.group, "EXTRA_UE")) {
        if let (Some(std_group), Some(std_italian)) = (row.standardised, row.standardised_italian) {
            out.push(match lang {
                Lang::It => format!(
                    "A parità di sesso ed età (tassi standardizzati) il divario dei non UE è di {} punti.",
                    points(std_group - std_italian, lang)
                ),
                Lang::En => format!(
                    "At equal sex and age (standardised rates) the non-EU gap is {} points.",
                    points(std_group - std_italian, lang)
                ),
            });
        }
    }
    let mut provinces: Vec<(String, f64)> = by_province
        .rows
        .iter()
        .filter(|r| is_group(&r.group, "EXTRA_UE"))
        .filter_map(|r| difference(r, z).map(|d| (r.strata[0].clone(), d.value)))
        .collect();
    provinces.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    if !provinces.is_empty() {
        let listed: Vec<String> = provinces
            .iter()
            .take(3)
            .map(|(p, d)| format!("{p} ({})", points(*d, lang)))
            .collect();
        out.push(format!(
            "{}: {}.",
            t(
                lang,
                "Province con il divario più ampio per i non UE",
                "Provinces with the widest non-EU gap"
            ),
            listed.join(", ")
        ));
    }
    out
}
