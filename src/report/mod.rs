//! The synthesis report for the technical working group and the job
//! centres: key findings written from the numbers, access by province,
//! citizenship, sex and age, services versus measures and programmes, the
//! trend, the standardised comparison, data quality and methods. Every
//! number comes from the same protected tables `rates` and `gap` publish.

mod after;
mod centres;
mod charts;
mod files;
mod findings;
mod grids;
mod markdown;
mod pages;
mod protection;
mod provenance;
mod questions;

use anyhow::{bail, Result};

use crate::disclosure::{recode, Scope, ScopedTable, Threshold};
use crate::extract::Extract;
use crate::indicators::{self, Period, Population, Question, RatesPlan, Selection};
use crate::quality;
use crate::reference::Reference;
use crate::stats;
use crate::table::{Codebook, Grid, Lang, Table};

use std::collections::BTreeMap;

pub use centres::{Block, FactSheet};
pub use files::write_files;
use findings::findings;
use grids::{quality_grid, reasons_grid, trend_grid};
use provenance::{manifest, methods};

/// What the report covers.
#[derive(Debug, Clone)]
pub struct ReportPlan {
    /// Calendar years, ascending; the last is the report's year.
    pub years: Vec<i32>,
    pub lang: Lang,
    pub threshold: Threshold,
    pub confidence: f64,
    /// Also a fact sheet per job centre, in `cpi/`.
    pub per_cpi: bool,
}

/// A published table: its file stem, title and cells.
pub struct NamedTable {
    pub name: String,
    pub title: String,
    pub grid: Grid,
    /// Which persons and activities it counts; none for the data-quality tables.
    pub scope: Option<Scope>,
    /// A table of days (`giorni`): for each day, what each count column
    /// counts out of `popolazione` (the scope above is its first day's).
    pub counts_by_day: BTreeMap<String, BTreeMap<String, Scope>>,
}

/// The trend table's name: one table, a period per year.
const TREND: &str = "andamento";

pub struct Section {
    pub id: &'static str,
    pub title: String,
    pub paragraphs: Vec<String>,
    /// Inline SVG charts.
    pub charts: Vec<String>,
    /// Indexes into `Report::tables`.
    pub tables: Vec<usize>,
}

pub struct Report {
    pub lang: Lang,
    pub title: String,
    pub subtitle: String,
    pub findings: Vec<String>,
    pub sections: Vec<Section>,
    pub tables: Vec<NamedTable>,
    /// One per job centre with `per_cpi`, else none.
    pub sheets: Vec<FactSheet>,
    pub manifest: serde_json::Value,
}

/// Italian or English, whichever the report is written in.
fn t(lang: Lang, it: &str, en: &str) -> String {
    match lang {
        Lang::It => it.to_string(),
        Lang::En => en.to_string(),
    }
}

const GROUPS: [&str; 3] = ["ITA", "UE", "EXTRA_UE"];

fn group_name(lang: Lang, code: &str) -> String {
    match (code, lang) {
        ("ITA", Lang::It) => "Italiani".into(),
        ("ITA", Lang::En) => "Italians".into(),
        ("UE", Lang::It) => "UE".into(),
        ("UE", Lang::En) => "EU".into(),
        ("EXTRA_UE", Lang::It) => "Non UE".into(),
        ("EXTRA_UE", Lang::En) => "Non-EU".into(),
        (other, _) => other.into(),
    }
}

pub fn build(extract: &Extract, reference: &Reference, plan: &ReportPlan) -> Result<Report> {
    Ok(build_with(extract, reference, plan, Vec::new(), Vec::new())?.0)
}

/// The report, protected together with `also` (a job's own tables) and
/// `also_counts` (the count tables of a job's survival and outcomes
/// tables), whose answers and protected count tables come back in order.
pub fn build_with(
    extract: &Extract,
    reference: &Reference,
    plan: &ReportPlan,
    also: Vec<(String, Question)>,
    also_counts: Vec<ScopedTable>,
) -> Result<(Report, Vec<indicators::Answer>, Vec<ScopedTable>)> {
    let digests = provenance::Digests::start(extract);
    build_report(extract, reference, plan, also, also_counts, Some(digests))
}

/// [`build_with`]; without `digests` (a report built only to compare its
/// tables with) the manifest names no input's SHA-256.
fn build_report(
    extract: &Extract,
    reference: &Reference,
    plan: &ReportPlan,
    also: Vec<(String, Question)>,
    also_counts: Vec<ScopedTable>,
    digests: Option<provenance::Digests>,
) -> Result<(Report, Vec<indicators::Answer>, Vec<ScopedTable>)> {
    let Some(&year) = plan.years.last() else {
        bail!("the report needs at least one year")
    };
    let lang = plan.lang;
    let codebook = Codebook::new(reference, lang);
    let (report_period, cut) = Period::year(year)?.within(extract.as_of)?;
    let base = RatesPlan {
        period: report_period,
        population: Population::Stock,
        selection: Selection::named(crate::indicators::plan::SelectionName::Tutte),
        dims: vec![],
        top: None,
        margins: true,
        confidence: plan.confidence,
        threshold: Some(plan.threshold),
    };
    // The fact sheets must not cost the regional report a figure: small
    // centres can make protection hide regional cells, even a whole
    // citizenship group's. The report without them is the measure.
    let regional = match plan.per_cpi {
        true => {
            let alone = ReportPlan {
                per_cpi: false,
                ..plan.clone()
            };
            Some(build_report(extract, reference, &alone, also.clone(), also_counts.clone(), None)?.0)
        }
        false => None,
    };
    let mut questions = questions::questions(&base, plan, extract)?;
    questions.extend(also);
    let memo = indicators::Memo::shared();
    let after_access = after::Prepared::new(extract, reference, report_period, plan, &memo)?;
    let mut counts = after_access.count_tables();
    let mine = counts.len();
    counts.extend(also_counts);
    let mut publication = indicators::publish_with(extract, reference, questions, counts, Some(plan.threshold), &memo)?;
    let also_counts = publication.counts.split_off(mine);
    let after_access = after_access.finish(std::mem::take(&mut publication.counts), reference)?;
    let mut protection = publication.protection;
    protection.recodings.extend(after_access.recodings.iter().cloned());
    // Which persons and activities each table counts, from the plan that
    // computed it; the trend's universe changes year by year.
    let mut scopes: BTreeMap<String, Scope> = BTreeMap::new();
    let mut trend_universes: BTreeMap<String, String> = BTreeMap::new();
    for answer in &publication.answers {
        let scope = answer.plan.scope();
        if answer.name == TREND {
            trend_universes.insert(answer.plan.period.age_year().to_string(), scope.universe.clone());
        }
        scopes.entry(answer.name.clone()).or_insert(scope);
    }
    let mut answers = publication.answers.into_iter();
    let mut next = || answers.next().expect("one answer per question");
    let by_group = next().table;
    let gap_group = next().gap.expect("a gap question");
    let by_province = next().table;
    let gap_province = next().gap.expect("a gap question");
    let gap_country = next().gap.expect("a gap question");
    let by_sex = next().table;
    let by_age = next().table;
    let by_programme = next().table;
    let by_provider = next().table;
    let services_group = next().table;
    let measures_group = next().table;
    let gap_group_measures = next().gap.expect("a gap question");
    let mut by_centre = plan.per_cpi.then(|| centres::Answers {
        provinces: next().table,
        access: next().table,
        gap: next().gap.expect("a gap question"),
        services: next().table,
        measures: next().table,
        providers: next().table,
        trend: Vec::new(),
    });
    let mut trend: Vec<(i32, Table)> = Vec::new();
    for y in &plan.years {
        if let Some(answers) = &mut by_centre {
            answers.trend.push((*y, next().table));
        }
        trend.push((*y, next().table));
    }
    let also_answers: Vec<indicators::Answer> = answers.collect();

    let mut tables = Vec::new();
    let mut add = |name: &str, title: String, grid: Grid| {
        tables.push(NamedTable {
            name: name.to_string(),
            title,
            grid,
            scope: scopes.get(name).cloned(),
            counts_by_day: BTreeMap::new(),
        });
        tables.len() - 1
    };
    let t_group = add(
        "accesso-gruppo",
        t(
            lang,
            "Accesso per gruppo di cittadinanza",
            "Access by citizenship group",
        ),
        by_group.grid(&codebook)?,
    );
    let t_province = add(
        "accesso-provincia",
        t(lang, "Accesso per provincia e gruppo", "Access by province and group"),
        by_province.grid(&codebook)?,
    );
    let t_gap_province = add(
        "divario-provincia",
        t(
            lang,
            "Divario dagli italiani per provincia",
            "Gap from Italians by province",
        ),
        gap_province.grid(&codebook)?,
    );
    let t_country = add(
        "divario-cittadinanza",
        t(
            lang,
            "Divario dagli italiani, prime 10 cittadinanze",
            "Gap from Italians, top 10 citizenships",
        ),
        gap_country.grid(&codebook)?,
    );
    let t_sex = add(
        "accesso-sesso",
        t(lang, "Accesso per sesso e gruppo", "Access by sex and group"),
        by_sex.grid(&codebook)?,
    );
    let t_age = add(
        "accesso-eta",
        t(
            lang,
            "Accesso per classe di età e gruppo",
            "Access by age class and group",
        ),
        by_age.grid(&codebook)?,
    );
    let t_services = add(
        "servizi-gruppo",
        t(lang, "Servizi per il lavoro (LMP 1)", "Labour-market services (LMP 1)"),
        services_group.grid(&codebook)?,
    );
    let t_measures = add(
        "misure-gruppo",
        t(lang, "Misure attive (LMP 2-7)", "Active measures (LMP 2-7)"),
        measures_group.grid(&codebook)?,
    );
    let t_programme = add(
        "accesso-programma",
        t(lang, "Accesso per programma", "Access by programme"),
        by_programme.grid(&codebook)?,
    );
    let t_provider = add(
        "accesso-ente",
        t(
            lang,
            "Accesso per tipo di ente e gruppo",
            "Access by operator type and group",
        ),
        by_provider.grid(&codebook)?,
    );
    let t_trend = add(
        TREND,
        t(lang, "Andamento per anno", "Trend by year"),
        trend_grid(&trend, &codebook)?,
    );
    let t_standard = add(
        "standardizzazione",
        t(
            lang,
            "Confronto standardizzato per età e sesso",
            "Age-sex standardised comparison",
        ),
        gap_group.grid(&codebook)?,
    );
    let quality_report = quality::assess(extract, &[], false)?;
    let t_quality = add(
        "qualita-dati",
        t(lang, "Righe lette, usate e scartate", "Rows read, used and rejected"),
        quality_grid(&quality_report),
    );
    let t_reasons = add(
        "scarti-motivi",
        t(lang, "Righe scartate per motivo", "Rejected rows by reason"),
        reasons_grid(&quality_report),
    );

    if let Some(answers) = &by_centre {
        for (name, title, grid) in answers.tables(lang, &codebook)? {
            add(name, title, grid);
        }
    }

    let after_sections = after_access.sections(lang, &codebook, &mut |table| {
        tables.push(table);
        tables.len() - 1
    })?;
    let z = stats::critical_value(plan.confidence)?;
    let mut findings = findings(lang, year, &gap_group, &gap_group_measures, &gap_province, z);
    findings.extend(after_access.findings(lang, z));

    let series: Vec<String> = GROUPS.iter().map(|g| group_name(lang, g)).collect();
    let province_chart = charts::grouped_bars(
        &t(lang, "Tasso di accesso per provincia", "Access rate by province"),
        &series,
        &charts::bar_groups(&by_province, &codebook),
        lang,
    );
    let gap_chart = charts::dot_whisker(
        &t(
            lang,
            "Divario dagli italiani (punti percentuali, IC 95%)",
            "Gap from Italians (percentage points, 95% CI)",
        ),
        &charts::whiskers(&gap_country, &codebook, z),
        lang,
    );
    let sex_chart = charts::grouped_bars(
        &t(lang, "Per sesso", "By sex"),
        &series,
        &charts::bar_groups(&by_sex, &codebook),
        lang,
    );
    let age_chart = charts::grouped_bars(
        &t(lang, "Per classe di età", "By age class"),
        &series,
        &charts::bar_groups(&by_age, &codebook),
        lang,
    );
    let provider_chart = charts::grouped_bars(
        &t(
            lang,
            "Per tipo di ente che ha erogato l'attività",
            "By type of operator that delivered the activity",
        ),
        &series,
        &charts::bar_groups(&by_provider, &codebook),
        lang,
    );
    let trend_chart = charts::grouped_bars(
        &t(lang, "Tasso di accesso per anno", "Access rate by year"),
        &series,
        &trend
            .iter()
            .map(|(y, table)| charts::BarGroup {
                label: y.to_string(),
                bars: GROUPS
                    .iter()
                    .enumerate()
                    .map(|(s, g)| charts::Bar {
                        series: s,
                        value: charts::published_rate(table, |k| is_group(&k[0], g)),
                    })
                    .collect(),
            })
            .collect::<Vec<_>>(),
        lang,
    );

    let period = format!(
        "{}-{}",
        report_period.from.format("%d/%m/%Y"),
        report_period.to.format("%d/%m/%Y")
    );
    let mut sections = vec![
        Section {
            id: "provincia",
            title: t(lang, "Accesso per provincia", "Access by province"),
            paragraphs: vec![t(
                lang,
                "Quota delle persone con una DID attiva nell'anno che hanno avviato almeno un servizio o una misura durante la DID, per provincia del centro per l'impiego.",
                "Share of persons with an active DID in the year who started at least one service or measure during it, by province of the job centre.",
            )],
            charts: vec![province_chart],
            tables: vec![t_province, t_gap_province],
        },
        Section {
            id: "cittadinanza",
            title: t(lang, "Gruppi e cittadinanze", "Groups and citizenships"),
            paragraphs: vec![t(
                lang,
                "Differenza tra il tasso di ciascuna cittadinanza e quello degli italiani, con intervallo di Newcombe: se l'intervallo non comprende lo zero, il divario difficilmente è dovuto al caso.",
                "Difference between each citizenship's rate and the Italians', with Newcombe's interval: when it excludes zero the gap is unlikely to be chance.",
            )],
            charts: vec![gap_chart],
            tables: vec![t_group, t_country],
        },
        Section {
            id: "sesso-eta",
            title: t(lang, "Sesso ed età", "Sex and age"),
            paragraphs: vec![],
            charts: vec![sex_chart, age_chart],
            tables: vec![t_sex, t_age],
        },
        Section {
            id: "servizi-misure",
            title: t(
                lang,
                "Servizi e misure, programmi, enti",
                "Services and measures, programmes, operators",
            ),
            paragraphs: vec![t(
                lang,
                "Servizi: categoria Eurostat LMP 1; misure: categorie 2-7. Per programma e per tipo di ente (centro per l'impiego o operatore accreditato) il denominatore resta la popolazione del gruppo e una persona può contare in più programmi ed enti.",
                "Services: Eurostat LMP category 1; measures: categories 2-7. By programme and by operator type (public job centre or accredited operator) the denominator stays the group's population and a person may count in several programmes and operators.",
            )],
            charts: vec![provider_chart],
            tables: vec![t_services, t_measures, t_programme, t_provider],
        },
        Section {
            id: "andamento",
            title: t(lang, "Andamento", "Trend"),
            paragraphs: vec![],
            charts: if plan.years.len() > 1 { vec![trend_chart] } else { vec![] },
            tables: vec![t_trend],
        },
        Section {
            id: "standardizzazione",
            title: t(lang, "Confronto standardizzato", "Standardised comparison"),
            paragraphs: vec![t(
                lang,
                "I tassi standardizzati applicano a ogni gruppo la struttura per sesso ed età di tutta la popolazione: il confronto non dipende dalla diversa età di italiani e stranieri.",
                "Standardised rates give every group the sex and age structure of the whole population, so the comparison does not depend on the different ages of Italians and foreigners.",
            )],
            charts: vec![],
            tables: vec![t_standard],
        },
    ];
    sections.extend(after_sections);
    sections.extend([
        Section {
            id: "qualita",
            title: t(lang, "Qualità dei dati", "Data quality"),
            paragraphs: vec![format!(
                "{} {} ({} {}).",
                t(lang, "Estrazione", "Extract"),
                extract.location.describe(),
                t(lang, "data di estrazione", "as-of"),
                extract.as_of.format("%d/%m/%Y")
            )],
            charts: vec![],
            tables: vec![t_quality, t_reasons],
        },
        Section {
            id: "protezione",
            title: t(lang, "Protezione dei dati", "Data protection"),
            paragraphs: protection::protection_paragraphs(lang, &protection),
            charts: vec![],
            tables: vec![],
        },
        Section {
            id: "metodi",
            title: t(lang, "Metodi", "Methods"),
            paragraphs: methods(lang, plan, reference, cut.as_deref()),
            charts: vec![],
            tables: vec![],
        },
    ]);
    if let Some(regional) = &regional {
        centres::check_regional_tables_kept(&regional.tables, &tables)?;
    }
    let sheets = match &by_centre {
        Some(answers) => centres::sheets(
            answers,
            &centres::Context {
                lang,
                year,
                z,
                confidence: plan.confidence,
                threshold: plan.threshold.value(),
                reference,
                by_group: &by_group,
                by_province: &by_province,
                centres: &extract.centres()?,
                tables: &tables,
            },
        ),
        None => Vec::new(),
    };
    let mut manifest = manifest(
        extract,
        reference,
        plan,
        &protection,
        &tables,
        &trend_universes,
        digests,
    )?;
    manifest["schede_cpi"] = sheets
        .iter()
        .map(|s| serde_json::json!({"cpi": s.code, "file": format!("{}/{}", centres::DIR, s.file)}))
        .collect();
    if let Some(note) = &cut {
        manifest["periodo_tagliato"] = serde_json::Value::String(note.clone());
    }
    let report = Report {
        lang,
        title: t(
            lang,
            "L'accesso dei migranti ai servizi e alle politiche attive del lavoro",
            "Migrants' access to labour-market services and active policies",
        ),
        subtitle: format!(
            "Piemonte, {period} — {} {}",
            t(lang, "dati SILP al", "SILP data as of"),
            extract.as_of.format("%d/%m/%Y")
        ),
        findings,
        sections,
        tables,
        sheets,
        manifest,
    };
    Ok((report, also_answers, also_counts))
}

/// Whether a group code is `group`, or the pooled code that stands for it
/// where disclosure control pooled the stateless and unknown with it.
fn is_group(code: &str, group: &str) -> bool {
    code == group || (group == "EXTRA_UE" && code == recode::POOLED_NON_EU)
}
