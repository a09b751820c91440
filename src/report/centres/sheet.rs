//! One job centre's sheet: its headline, and each block a slice of the
//! published tables by centre, with a note where protection hid a figure.

use super::slices::{project, slice, stack, without};
use super::{Answers, Block, Context, FactSheet, ACCESS, GAP, MEASURES, PROVIDERS, SERVICES, TREND};
use crate::extract::CentreRows;
use crate::output::terminal::{percent, thousands};
use crate::report::charts::{self, published_rate};
use crate::report::findings::{difference, points};
use crate::report::{group_name, is_group, t, GROUPS};
use crate::table::{interval_columns, CellStatus, Grid, Lang, Value, TOTAL};

pub(super) fn sheet(code: &str, file: String, answers: &Answers, cx: &Context) -> FactSheet {
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
    // The centre's rate for a group (or all of them: TOTAL), when published.
    let centre_rate = |group: &str| {
        published_rate(&answers.access, |k| {
            k[0] == code && is_group(&k[1], group) && k[2] == TOTAL
        })
    };
    let mut comparison_groups = vec![bars(code.to_string(), &centre_rate)];
    if let (Some(sigla), Some(name)) = (&province, &province_name) {
        comparison_groups.push(bars(name.clone(), &|g| {
            published_rate(cx.by_province, |k| k[0] == *sigla && is_group(&k[1], g))
        }));
    }
    comparison_groups.push(bars("Piemonte".into(), &|g| {
        published_rate(cx.by_group, |k| is_group(&k[0], g))
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
                published_rate(&answers.services, |k| k[0] == code && is_group(&k[1], g))
            }),
            bars(t(lang, "Misure", "Measures"), &|g| {
                published_rate(&answers.measures, |k| k[0] == code && is_group(&k[1], g))
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
                        published_rate(table, |k| k[0] == code && is_group(&k[1], g))
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

    let rate_of = |group: &str| centre_rate(group).map_or(Value::Missing, Value::Proportion);
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
