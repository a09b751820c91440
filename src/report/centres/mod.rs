//! The fact sheet of each job centre (`report --per-cpi`): its access by
//! citizenship group and sex against its province and the region, the gap
//! from Italians, services against measures, operator types, the trend and
//! its rejected rows.
//!
//! The sheets publish nothing of their own. Their numbers are rows of
//! tables by job centre (`cpi-*`), computed, protected and audited with the
//! regional report's tables as one published set; a sheet shows its
//! centre's slice of them, and says so when protection hid a figure.

mod sheet;
mod slices;

use anyhow::{bail, Result};

use super::{t, NamedTable};
use crate::extract::Centres;
use crate::indicators::gap::GapTable;
use crate::indicators::plan::SelectionName;
use crate::indicators::{Question, RatesPlan, Selection, Standard};
use crate::reference::Reference;
use crate::table::{Codebook, Dimension, Grid, Lang, Table, Value, TOTAL};

/// Which province each centre's persons belong to: a complete table by
/// province and centre tells protection and the audit that centres lie
/// within provinces, so that a centre's hidden cell cannot be recovered as
/// its province's less its other centres.
pub(super) const PROVINCES: &str = "cpi-provincia";
pub(super) const ACCESS: &str = "cpi-accesso";
pub(super) const GAP: &str = "cpi-divario";
pub(super) const SERVICES: &str = "cpi-servizi";
pub(super) const MEASURES: &str = "cpi-misure";
pub(super) const PROVIDERS: &str = "cpi-ente";
/// One table, a period per year, like the regional trend.
pub(super) const TREND: &str = "cpi-andamento";

/// The questions on the report's year and population, from the plan of
/// the report's own tables.
pub(super) fn questions(base: &RatesPlan) -> Vec<(String, Question)> {
    let with = |dims: Vec<Dimension>| RatesPlan { dims, ..base.clone() };
    let of = |selection: SelectionName| RatesPlan {
        selection: Selection::named(selection),
        ..with(vec![Dimension::Cpi, Dimension::GruppoCittadinanza])
    };
    vec![
        (
            PROVINCES.into(),
            Question::Rates(with(vec![Dimension::Provincia, Dimension::Cpi])),
        ),
        (
            ACCESS.into(),
            Question::Rates(with(vec![
                Dimension::Cpi,
                Dimension::GruppoCittadinanza,
                Dimension::Sesso,
            ])),
        ),
        (
            GAP.into(),
            Question::Gap(
                RatesPlan {
                    margins: false,
                    ..with(vec![Dimension::Cpi])
                },
                Standard::Total,
            ),
        ),
        (SERVICES.into(), Question::Rates(of(SelectionName::Servizi))),
        (MEASURES.into(), Question::Rates(of(SelectionName::Misure))),
        (
            PROVIDERS.into(),
            Question::Rates(with(vec![
                Dimension::Cpi,
                Dimension::Ente,
                Dimension::GruppoCittadinanza,
            ])),
        ),
    ]
}

/// The trend's question for one year, from that year's regional one.
pub(super) fn trend_question(year_plan: &RatesPlan) -> (String, Question) {
    (
        TREND.into(),
        Question::Rates(RatesPlan {
            dims: vec![Dimension::Cpi, Dimension::GruppoCittadinanza],
            margins: true,
            ..year_plan.clone()
        }),
    )
}

/// The answers to [`questions`] and [`trend_question`].
pub(super) struct Answers {
    pub provinces: Table,
    pub access: Table,
    pub gap: GapTable,
    pub services: Table,
    pub measures: Table,
    pub providers: Table,
    pub trend: Vec<(i32, Table)>,
}

impl Answers {
    /// The published tables by job centre, in the report's order.
    pub(super) fn tables(&self, lang: Lang, codebook: &Codebook) -> Result<Vec<(&'static str, String, Grid)>> {
        Ok(vec![
            (
                PROVINCES,
                t(
                    lang,
                    "Accesso per provincia e centro per l'impiego",
                    "Access by province and job centre",
                ),
                self.provinces.grid(codebook)?,
            ),
            (
                ACCESS,
                t(
                    lang,
                    "Accesso per centro per l'impiego, gruppo e sesso",
                    "Access by job centre, group and sex",
                ),
                self.access.grid(codebook)?,
            ),
            (
                GAP,
                t(
                    lang,
                    "Divario dagli italiani per centro per l'impiego",
                    "Gap from Italians by job centre",
                ),
                self.gap.grid(codebook)?,
            ),
            (
                SERVICES,
                t(
                    lang,
                    "Servizi per il lavoro per centro per l'impiego",
                    "Labour-market services by job centre",
                ),
                self.services.grid(codebook)?,
            ),
            (
                MEASURES,
                t(
                    lang,
                    "Misure attive per centro per l'impiego",
                    "Active measures by job centre",
                ),
                self.measures.grid(codebook)?,
            ),
            (
                PROVIDERS,
                t(
                    lang,
                    "Accesso per centro per l'impiego e tipo di ente",
                    "Access by job centre and operator type",
                ),
                self.providers.grid(codebook)?,
            ),
            (
                TREND,
                t(lang, "Andamento per centro per l'impiego", "Trend by job centre"),
                super::grids::trend_grid(&self.trend, codebook)?,
            ),
        ])
    }
}

/// A block of a fact sheet: a titled slice of published tables.
pub struct Block {
    pub title: String,
    pub notes: Vec<String>,
    pub grid: Grid,
}

/// One job centre's fact sheet.
pub struct FactSheet {
    /// The centre as the extract writes it.
    pub code: String,
    /// Its page's file name inside `cpi/`.
    pub file: String,
    pub province: Option<String>,
    pub headline: Vec<String>,
    /// Inline SVG: the centre against its province and the region,
    /// services against measures, and the trend over several years.
    pub charts: Vec<String>,
    pub blocks: Vec<Block>,
    /// The index's row: population, rate, the non-EU and Italian rates and
    /// their difference, rows rejected.
    pub summary: Vec<Value>,
}

/// The fact sheets' folder in the report's.
pub(super) const DIR: &str = "cpi";
/// The index page's file name inside [`DIR`].
pub(super) const INDEX: &str = "index.html";
/// The workbook of the index and the sheets, inside [`DIR`].
pub(super) const WORKBOOK: &str = "schede.xlsx";

/// The index's columns, matching [`FactSheet::summary`].
pub(super) const SUMMARY_COLUMNS: [&str; 8] = [
    "cpi",
    "provincia",
    "popolazione",
    "tasso",
    "tasso_ita",
    "tasso_extra_ue",
    "differenza",
    "righe_scartate",
];

/// The index as a table: a row per centre.
pub(super) fn index_grid(sheets: &[FactSheet]) -> Grid {
    Grid {
        columns: SUMMARY_COLUMNS.map(String::from).to_vec(),
        rows: sheets.iter().map(|s| s.summary.clone()).collect(),
    }
}

pub(super) fn index_paragraphs(lang: Lang) -> Vec<String> {
    vec![t(
        lang,
        "Una scheda per ogni centro per l'impiego con persone iscritte nell'anno: tassi di accesso per gruppo di cittadinanza, il divario dagli italiani (non UE contro italiani, in punti percentuali), servizi e misure, tipo di ente, andamento e righe scartate. Le schede e il rapporto regionale sono protetti e verificati insieme: n.d. indica un valore non pubblicabile.",
        "A sheet for each job centre with persons registered in the year: access rates by citizenship group, the gap from Italians (non-EU against Italians, in percentage points), services and measures, operator type, trend and rejected rows. The sheets and the regional report are protected and audited together: n.a. marks a value that cannot be published.",
    )]
}

/// What the sheets read besides the answers: the regional tables they set
/// a centre against, and the centres' rows in did.csv.
pub(super) struct Context<'a> {
    pub lang: Lang,
    pub year: i32,
    pub z: f64,
    pub confidence: f64,
    pub threshold: u64,
    pub reference: &'a Reference,
    pub by_group: &'a Table,
    pub by_province: &'a Table,
    pub centres: &'a Centres,
    /// The published tables, to slice by name.
    pub tables: &'a [NamedTable],
}

impl Context<'_> {
    fn grid(&self, name: &str) -> &Grid {
        &self
            .tables
            .iter()
            .find(|t| t.name == name)
            .expect("the sheets' tables are published with them")
            .grid
    }
}

/// One sheet per job centre of the report's population, in the order of the
/// published table.
pub(super) fn sheets(answers: &Answers, cx: &Context) -> Vec<FactSheet> {
    let mut codes: Vec<&String> = Vec::new();
    for row in answers.access.rows.iter().filter(|r| r.keys[0] != TOTAL) {
        if !codes.contains(&&row.keys[0]) {
            codes.push(&row.keys[0]);
        }
    }
    let mut files: Vec<String> = vec![INDEX.to_string()];
    codes
        .into_iter()
        .map(|code| {
            let file = slices::unique_file(code, &files);
            files.push(file.clone());
            sheet::sheet(code, file, answers, cx)
        })
        .collect()
}

/// Fails when publishing the sheets hides a cell of a table the regional
/// report publishes alone (`alone`): better no sheets than a regional
/// report without, say, the Italians' total.
pub(super) fn check_regional_tables_kept(alone: &[NamedTable], with_sheets: &[NamedTable]) -> Result<()> {
    let status = |grid: &Grid| -> Vec<Option<Value>> {
        let at = grid.columns.iter().position(|c| c == "stato_cella");
        grid.rows.iter().map(|row| at.map(|i| row[i].clone())).collect()
    };
    let changed: Vec<&str> = alone
        .iter()
        .filter(|t| {
            with_sheets
                .iter()
                .find(|w| w.name == t.name)
                .is_none_or(|w| status(&w.grid) != status(&t.grid))
        })
        .map(|t| t.name.as_str())
        .collect();
    if !changed.is_empty() {
        bail!(
            "the job centres of this extract are too small for fact sheets: protecting them would hide cells of the regional tables {} that the report publishes without them. Write the report without --per-cpi (per_cpi = false in a job), or over more years or a larger extract",
            changed.join(", ")
        );
    }
    Ok(())
}
