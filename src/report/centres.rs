//! The fact sheet of each job centre (`report --per-cpi`): its access by
//! citizenship group and sex against its province and the region, the gap
//! from Italians, services against measures, operator types, the trend and
//! its rejected rows.
//!
//! The sheets publish nothing of their own. Their numbers are rows of
//! tables by job centre (`cpi-*`), computed, protected and audited with the
//! regional report's tables as one published set; a sheet shows its
//! centre's slice of them, and says so when protection hid a figure.

use anyhow::Result;

use super::{charts, group_name, is_group, t, NamedTable, GROUPS};
use crate::extract::{CentreRows, Centres};
use crate::indicators::gap::GapTable;
use crate::indicators::plan::SelectionName;
use crate::indicators::{Question, RatesPlan, Selection, Standard};
use crate::output::terminal::{percent, thousands};
use crate::reference::Reference;
use crate::table::{interval_columns, CellStatus, Codebook, Dimension, Grid, Lang, Table, Value, TOTAL};

use super::findings::{difference, points};

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
            let file = unique_file(code, &files);
            files.push(file.clone());
            sheet(code, file, answers, cx)
        })
        .collect()
}

fn sheet(code: &str, file: String, answers: &Answers, cx: &Context) -> FactSheet {
    let lang = cx.lang;
    let rows = cx.centres.by_code.get(code).cloned().unwrap_or_default();
    // The province most of its persons belong to (one, unless the extract
    // files a centre's spells under two).
    let province = answers
        .provinces
        .rows
        .iter()
        .filter(|r| r.keys[0] != TOTAL && r.keys[1] == code)
        .max_by(|a, b| a.population.cmp(&b.population).then_with(|| b.keys[0].cmp(&a.keys[0])))
        .map(|r| r.keys[0].clone());
    let province_name = province.as_deref().map(|sigla| {
        cx.reference
            .provinces
            .iter()
            .find(|p| p.sigla == sigla)
            .map_or_else(|| sigla.to_string(), |p| p.nome.clone())
    });
    let total = answers
        .access
        .rows
        .iter()
        .find(|r| r.keys[0] == code && r.keys[1] == TOTAL && r.keys[2] == TOTAL);
    let gap_row = answers
        .gap
        .rows
        .iter()
        .find(|r| r.strata[0] == code && is_group(&r.group, "EXTRA_UE"));
    let gap = gap_row.and_then(|r| difference(r, cx.z));
    let mut headline = Vec::new();
    match total.filter(|r| r.status == CellStatus::Publishable) {
        Some(r) => headline.push(match lang {
            Lang::It => format!(
                "Nel {} {} persone hanno avuto una DID attiva presso il centro; {} ({}%) hanno avviato almeno un servizio o una misura durante la DID.",
                cx.year,
                thousands(r.population, lang),
                thousands(r.beneficiaries, lang),
                percent(r.rate().unwrap_or(0.0), lang)
            ),
            Lang::En => format!(
                "In {}, {} persons had an active DID at the centre; {} ({}%) started at least one service or measure during it.",
                cx.year,
                thousands(r.population, lang),
                thousands(r.beneficiaries, lang),
                percent(r.rate().unwrap_or(0.0), lang)
            ),
        }),
        None => headline.push(too_small(lang, &t(lang, "il tasso complessivo", "the overall rate"))),
    }
    let non_eu = answers
        .access
        .rows
        .iter()
        .any(|r| r.keys[0] == code && is_group(&r.keys[1], "EXTRA_UE") && r.keys[2] == TOTAL && r.population > 0);
    match (gap_row, gap) {
        _ if !non_eu => headline.push(t(
            lang,
            "Nessun cittadino non UE ha avuto una DID attiva presso il centro.",
            "No non-EU citizen had an active DID at the centre.",
        )),
        (Some(r), Some(d)) => headline.push(match lang {
            Lang::It => format!(
                "Cittadini non UE: {}% contro {}% degli italiani del centro, {} punti (IC 95% {}; {}).",
                percent(r.group_cell.rate().unwrap_or(0.0), lang),
                percent(r.italian_cell.rate().unwrap_or(0.0), lang),
                points(d.value, lang),
                points(d.low, lang),
                points(d.high, lang)
            ),
            Lang::En => format!(
                "Non-EU citizens: {}% against {}% of the centre's Italians, {} points (95% CI {}; {}).",
                percent(r.group_cell.rate().unwrap_or(0.0), lang),
                percent(r.italian_cell.rate().unwrap_or(0.0), lang),
                points(d.value, lang),
                points(d.low, lang),
                points(d.high, lang)
            ),
        }),
        _ => headline.push(too_small(
            lang,
            &t(
                lang,
                "il confronto tra non UE e italiani",
                "the comparison of non-EU citizens with Italians",
            ),
        )),
    }

    let series: Vec<String> = GROUPS.iter().map(|g| group_name(lang, g)).collect();
    let bars = |label: String, cell: &dyn Fn(&str) -> Option<f64>| charts::BarGroup {
        label,
        bars: GROUPS
            .iter()
            .enumerate()
            .map(|(s, g)| charts::Bar {
                series: s,
                value: cell(g),
            })
            .collect(),
    };
    let mut comparison_groups = vec![bars(code.to_string(), &|g| {
        published(&answers.access, |k| k[0] == code && is_group(&k[1], g) && k[2] == TOTAL)
    })];
    if let (Some(sigla), Some(name)) = (&province, &province_name) {
        comparison_groups.push(bars(name.clone(), &|g| {
            published(cx.by_province, |k| k[0] == *sigla && is_group(&k[1], g))
        }));
    }
    comparison_groups.push(bars("Piemonte".into(), &|g| {
        published(cx.by_group, |k| is_group(&k[0], g))
    }));
    let comparison_chart = charts::grouped_bars(
        &t(lang, "Tasso di accesso", "Access rate"),
        &series,
        &comparison_groups,
        lang,
    );

    let access = slice(cx.grid(ACCESS), "cpi", code);
    let mut compared = vec![(code.to_string(), slice(&access, "sesso", TOTAL))];
    if let (Some(sigla), Some(name)) = (&province, &province_name) {
        compared.push((
            name.clone(),
            slice(
                &slice(cx.grid("accesso-provincia"), "provincia", sigla),
                "provincia_nome",
                name,
            ),
        ));
    }
    compared.push(("Piemonte".into(), cx.grid("accesso-gruppo").clone()));
    let mut blocks = vec![
        block(
            cx,
            t(
                lang,
                "Accesso per gruppo: il centro, la provincia e il Piemonte",
                "Access by group: the centre, its province and Piedmont",
            ),
            stack(&t(lang, "ambito", "area"), compared),
        ),
        block(
            cx,
            t(lang, "Accesso per gruppo e sesso", "Access by group and sex"),
            access,
        ),
        block(
            cx,
            t(lang, "Divario dagli italiani", "Gap from Italians"),
            project(&slice(cx.grid(GAP), "cpi", code), &gap_shown(cx.confidence)),
        ),
    ];
    let activity_chart = charts::grouped_bars(
        &t(lang, "Servizi e misure", "Services and measures"),
        &series,
        &[
            bars(t(lang, "Servizi", "Services"), &|g| {
                published(&answers.services, |k| k[0] == code && is_group(&k[1], g))
            }),
            bars(t(lang, "Misure", "Measures"), &|g| {
                published(&answers.measures, |k| k[0] == code && is_group(&k[1], g))
            }),
        ],
        lang,
    );
    blocks.push(block(
        cx,
        t(
            lang,
            "Servizi (LMP 1) e misure attive (LMP 2-7)",
            "Services (LMP 1) and active measures (LMP 2-7)",
        ),
        stack(
            &t(lang, "attivita", "activity"),
            vec![
                (t(lang, "Servizi", "Services"), slice(cx.grid(SERVICES), "cpi", code)),
                (t(lang, "Misure", "Measures"), slice(cx.grid(MEASURES), "cpi", code)),
            ],
        ),
    ));
    blocks.push(block(
        cx,
        t(lang, "Per tipo di ente", "By operator type"),
        // Its margin over operator types is the access table's.
        without(&slice(cx.grid(PROVIDERS), "cpi", code), "ente", TOTAL),
    ));
    let trend_chart = (answers.trend.len() > 1).then(|| {
        charts::grouped_bars(
            &t(lang, "Tasso di accesso per anno", "Access rate by year"),
            &series,
            &answers
                .trend
                .iter()
                .map(|(year, table)| {
                    bars(year.to_string(), &|g| {
                        published(table, |k| k[0] == code && is_group(&k[1], g))
                    })
                })
                .collect::<Vec<_>>(),
            lang,
        )
    });
    blocks.push(block(
        cx,
        t(lang, "Andamento", "Trend"),
        slice(cx.grid(TREND), "cpi", code),
    ));
    blocks.push(quality_block(lang, &rows));

    let rate_of = |group: &str| {
        answers
            .access
            .rows
            .iter()
            .find(|r| r.keys[0] == code && is_group(&r.keys[1], group) && r.keys[2] == TOTAL)
            .filter(|r| r.status == CellStatus::Publishable)
            .and_then(|r| r.rate())
            .map_or(Value::Missing, Value::Proportion)
    };
    let summary = vec![
        Value::Code(code.to_string()),
        province.clone().map_or(Value::Missing, Value::Code),
        total
            .filter(|r| r.status == CellStatus::Publishable)
            .map_or(Value::Missing, |r| Value::Count(r.population)),
        rate_of(TOTAL),
        rate_of("ITA"),
        rate_of("EXTRA_UE"),
        gap.map_or(Value::Missing, |d| Value::Proportion(d.value)),
        Value::Count(rows.rows_rejected),
    ];
    FactSheet {
        code: code.to_string(),
        file,
        province: province_name,
        headline,
        charts: [Some(comparison_chart), Some(activity_chart), trend_chart]
            .into_iter()
            .flatten()
            .collect(),
        blocks,
        summary,
    }
}

/// A block, with a note when protection hid some or all of its cells.
fn block(cx: &Context, title: String, grid: Grid) -> Block {
    let status = grid.columns.iter().position(|c| c == "stato_cella");
    let hidden = status.map_or(0, |i| {
        grid.rows
            .iter()
            .filter(|row| !matches!(&row[i], Value::Code(s) if s == "s"))
            .count()
    });
    let notes = if grid.rows.is_empty() {
        vec![t(
            cx.lang,
            "Il centro non ha persone in questa tabella.",
            "The centre has no persons in this table.",
        )]
    } else if hidden == grid.rows.len() {
        vec![too_small(cx.lang, &t(cx.lang, "questa tabella", "this table"))]
    } else if hidden > 0 {
        vec![match cx.lang {
            Lang::It => format!(
                "Le celle n.d. contano meno di {} persone (beneficiari o non beneficiari), o permetterebbero di ricavarne una: non sono pubblicate.",
                cx.threshold
            ),
            Lang::En => format!(
                "The n.a. cells count fewer than {} persons (beneficiaries or not), or would let one be worked out: they are not published.",
                cx.threshold
            ),
        }]
    } else {
        vec![]
    };
    Block { title, notes, grid }
}

fn too_small(lang: Lang, what: &str) -> String {
    match lang {
        Lang::It => format!(
            "Il centro è troppo piccolo per pubblicare {what}: le persone sono sotto la soglia di riservatezza, o lo lascerebbero ricavare."
        ),
        Lang::En => format!(
            "The centre is too small to publish {what}: its persons are under the disclosure threshold, or would let it be worked out."
        ),
    }
}

fn quality_block(lang: Lang, rows: &CentreRows) -> Block {
    Block {
        title: t(lang, "Qualità dei dati", "Data quality"),
        notes: vec![t(
            lang,
            "Righe di did.csv con questo centro: usate e scartate dalla validazione (per i motivi, vedi la tabella scarti-motivi del rapporto regionale).",
            "Rows of did.csv naming this centre: used, and rejected by validation (the reasons are in the regional report's scarti-motivi table).",
        )],
        grid: Grid {
            columns: ["file", "righe_usate", "righe_scartate"].map(String::from).to_vec(),
            rows: vec![vec![
                Value::Code("did.csv".into()),
                Value::Count(rows.rows_used),
                Value::Count(rows.rows_rejected),
            ]],
        },
    }
}

/// The rate of the published row whose keys match, if any.
fn published(table: &Table, matches: impl Fn(&[String]) -> bool) -> Option<f64> {
    table
        .rows
        .iter()
        .find(|r| matches(&r.keys))
        .filter(|r| r.status == CellStatus::Publishable)
        .and_then(|r| r.rate())
}

/// The rows of `grid` whose `column` holds `code`, without that column.
fn slice(grid: &Grid, column: &str, code: &str) -> Grid {
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
fn without(grid: &Grid, column: &str, code: &str) -> Grid {
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

/// The gap table's columns a sheet shows (of its twenty).
fn gap_shown(confidence: f64) -> Vec<String> {
    let (low, high) = interval_columns("diff_ic", confidence);
    [
        "gruppo_cittadinanza",
        "popolazione",
        "tasso",
        "tasso_ita",
        "differenza",
        &low,
        &high,
        "rapporto",
        "indice_rappresentazione",
        "stato_cella",
    ]
    .map(String::from)
    .to_vec()
}

/// The columns of `grid` named in `shown` (those it has), in its order.
fn project(grid: &Grid, shown: &[String]) -> Grid {
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
fn stack(label: &str, grids: Vec<(String, Grid)>) -> Grid {
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
fn unique_file(code: &str, taken: &[String]) -> String {
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
