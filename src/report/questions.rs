//! The questions the report asks, in the order the shared memo wants them
//! (it keeps one population at a time): the tables of the report's year,
//! the job centres' with `--per-cpi`, and the trend year by year.

use anyhow::Result;

use super::{centres, ReportPlan, TREND};
use crate::extract::Extract;
use crate::indicators::plan::SelectionName;
use crate::indicators::{Period, Question, RatesPlan, Selection, Standard};
use crate::table::Dimension;

/// The report's questions on the population of `base`, then the trend's.
pub(super) fn questions(base: &RatesPlan, plan: &ReportPlan, extract: &Extract) -> Result<Vec<(String, Question)>> {
    let with = |dims: Vec<Dimension>| RatesPlan { dims, ..base.clone() };
    let measures = Selection::named(SelectionName::Misure);
    let services = Selection::named(SelectionName::Servizi);
    let rates = |plan: RatesPlan| Question::Rates(plan);
    let gap = |plan: RatesPlan| Question::Gap(RatesPlan { margins: false, ..plan }, Standard::Total);
    // In this order the memo keeps each population once (it holds one at a time).
    let mut questions: Vec<(String, Question)> = vec![
        (
            "accesso-gruppo".into(),
            rates(with(vec![Dimension::GruppoCittadinanza])),
        ),
        ("standardizzazione".into(), gap(with(vec![]))),
        (
            "accesso-provincia".into(),
            rates(with(vec![Dimension::Provincia, Dimension::GruppoCittadinanza])),
        ),
        ("divario-provincia".into(), gap(with(vec![Dimension::Provincia]))),
        (
            "divario-cittadinanza".into(),
            gap(RatesPlan {
                top: Some(10),
                ..with(vec![Dimension::Cittadinanza])
            }),
        ),
        (
            "accesso-sesso".into(),
            rates(with(vec![Dimension::Sesso, Dimension::GruppoCittadinanza])),
        ),
        (
            "accesso-eta".into(),
            rates(with(vec![Dimension::ClasseEta, Dimension::GruppoCittadinanza])),
        ),
        (
            "accesso-programma".into(),
            rates(with(vec![Dimension::GruppoCittadinanza, Dimension::Programma])),
        ),
        (
            "accesso-ente".into(),
            rates(with(vec![Dimension::Ente, Dimension::GruppoCittadinanza])),
        ),
        (
            "servizi-gruppo".into(),
            rates(RatesPlan {
                selection: services,
                ..with(vec![Dimension::GruppoCittadinanza])
            }),
        ),
        (
            "misure-gruppo".into(),
            rates(RatesPlan {
                selection: measures.clone(),
                ..with(vec![Dimension::GruppoCittadinanza])
            }),
        ),
        // Published only through the key findings' sentences.
        (
            "divario-misure".into(),
            gap(RatesPlan {
                selection: measures,
                ..with(vec![])
            }),
        ),
    ];
    if plan.per_cpi {
        questions.extend(centres::questions(base));
    }
    for y in &plan.years {
        let year_plan = RatesPlan {
            period: Period::year(*y)?.within(extract.as_of)?.0,
            margins: false,
            ..with(vec![Dimension::GruppoCittadinanza])
        };
        if plan.per_cpi {
            questions.push(centres::trend_question(&year_plan));
        }
        questions.push((TREND.into(), rates(year_plan)));
    }
    Ok(questions)
}
