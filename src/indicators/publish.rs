//! Everything one command, one report or one job publishes: each table is
//! computed, then all are protected together as one set (`disclosure`),
//! and only then are gap tables and their derived statistics built from
//! the protected cells. No table leaves this module unprotected.

use anyhow::{bail, Context, Result};

use super::gap::{self, GapTable, Standard};
use super::plan::RatesPlan;
use super::population::{eligible_key, EligibleKey, Memo};
use super::rates::compute;
use crate::disclosure::{protect_set, Protection, ScopedTable, Threshold};
use crate::extract::Extract;
use crate::reference::Reference;
use crate::table::Table;

/// One table to publish.
#[derive(Debug, Clone)]
pub enum Question {
    Rates(RatesPlan),
    Gap(RatesPlan, Standard),
}

impl Question {
    pub fn plan(&self) -> &RatesPlan {
        match self {
            Question::Rates(plan) | Question::Gap(plan, _) => plan,
        }
    }
}

/// A protected answer: the rates table, and for a gap question its gap table.
pub struct Answer {
    pub name: String,
    pub plan: RatesPlan,
    pub table: Table,
    pub gap: Option<GapTable>,
    pub incomplete_followup: u64,
}

pub struct Publication {
    pub answers: Vec<Answer>,
    pub protection: Protection,
    /// The count tables given beside the questions, protected with them.
    pub counts: Vec<ScopedTable>,
}

/// Computes every question and protects the answers together.
pub fn publish(
    extract: &Extract,
    reference: &Reference,
    questions: Vec<(String, Question)>,
    memo: &Memo,
) -> Result<Publication> {
    publish_with(extract, reference, questions, Vec::new(), None, memo)
}

/// As [`publish`], protecting `counts` (the count tables of survival and
/// outcomes tables, see `survival::SurvivalTable::count_tables`, at
/// `counts_threshold`) with the answers as one set.
pub fn publish_with(
    extract: &Extract,
    reference: &Reference,
    questions: Vec<(String, Question)>,
    counts: Vec<ScopedTable>,
    counts_threshold: Option<Threshold>,
    memo: &Memo,
) -> Result<Publication> {
    let Some(threshold) = questions
        .iter()
        .filter_map(|(_, q)| q.plan().threshold)
        .chain(counts_threshold)
        .max_by_key(|t| t.value())
    else {
        bail!("nothing to publish: every table needs a disclosure threshold");
    };
    // Computed population by population, since the memo keeps only the
    // last one, and answered in the order asked.
    let mut computed: Vec<Option<Computed>> = questions.iter().map(|_| None).collect();
    for at in population_by_population(&questions) {
        let (name, question) = &questions[at];
        let context = || format!("table {name:?}");
        let (table, inputs, followup) = match question {
            Question::Rates(plan) => {
                let result = compute(extract, reference, plan, memo).with_context(context)?;
                (result.table, None, result.incomplete_followup)
            }
            Question::Gap(plan, standard) => {
                let mut inputs = gap::prepare(extract, reference, plan, *standard, memo).with_context(context)?;
                let empty = empty_like(&inputs.published);
                let table = std::mem::replace(&mut inputs.published, empty);
                let followup = inputs.incomplete_followup;
                (table, Some(inputs), followup)
            }
        };
        computed[at] = Some((table, inputs, followup));
    }
    let mut scoped = Vec::with_capacity(questions.len());
    let mut gaps = Vec::with_capacity(questions.len());
    let mut followups = Vec::with_capacity(questions.len());
    for ((name, question), computed) in questions.iter().zip(computed) {
        let (table, inputs, followup) = computed.expect("every question is computed");
        scoped.push(ScopedTable {
            name: name.clone(),
            scope: question.plan().scope(),
            table,
            hidden_with: Vec::new(),
        });
        gaps.push(inputs);
        followups.push(followup);
    }
    let asked = scoped.len();
    scoped.extend(counts);
    let protection = protect_set(&mut scoped, reference, threshold)?;
    let counts = scoped.split_off(asked);
    let answers = questions
        .into_iter()
        .zip(scoped)
        .zip(gaps)
        .zip(followups)
        .map(|((((name, question), scoped), inputs), incomplete_followup)| {
            let gap = inputs.map(|mut inputs| {
                inputs.published = scoped.table.clone();
                inputs.finish(threshold)
            });
            Answer {
                name,
                plan: question.plan().clone(),
                table: scoped.table,
                gap,
                incomplete_followup,
            }
        })
        .collect();
    Ok(Publication {
        answers,
        protection,
        counts,
    })
}

/// A question's table, a gap question's inputs and the persons whose
/// follow-up is incomplete.
type Computed = (Table, Option<gap::GapInputs>, u64);

/// The questions' positions, those of one population of eligible persons
/// together, populations in the order of their first question, questions
/// in the order asked.
fn population_by_population(questions: &[(String, Question)]) -> Vec<usize> {
    let keys: Vec<EligibleKey> = questions.iter().map(|(_, q)| eligible_key(q.plan())).collect();
    let mut order: Vec<usize> = (0..questions.len()).collect();
    order.sort_by_key(|&at| keys.iter().position(|key| *key == keys[at]));
    order
}

fn empty_like(table: &Table) -> Table {
    Table {
        dims: table.dims.clone(),
        rows: Vec::new(),
        confidence: table.confidence,
        margins_shown: table.margins_shown,
    }
}

/// Publishes one table on its own, as `rates` and `gap` do.
pub fn publish_one(
    extract: &Extract,
    reference: &Reference,
    question: Question,
    memo: &Memo,
) -> Result<(Answer, Protection)> {
    let publication = publish(extract, reference, vec![("tabella".to_string(), question)], memo)?;
    let answer = publication
        .answers
        .into_iter()
        .next()
        .expect("one question, one answer");
    Ok((answer, publication.protection))
}

#[cfg(test)]
mod tests {
    use super::{population_by_population, Question};
    use crate::indicators::plan::{Period, Population, RatesPlan, Selection, SelectionName};

    #[test]
    fn questions_of_one_population_are_computed_together_in_the_order_asked() {
        let plan = |year: i32, selection: SelectionName| RatesPlan {
            period: Period::year(year).expect("a year"),
            population: Population::Stock,
            selection: Selection::named(selection),
            dims: vec![],
            top: None,
            margins: false,
            confidence: 0.95,
            threshold: None,
        };
        let questions: Vec<(String, Question)> = [
            plan(2024, SelectionName::Tutte),
            plan(2024, SelectionName::Servizi),
            plan(2024, SelectionName::Tutte),
            plan(2023, SelectionName::Tutte),
            plan(2024, SelectionName::Servizi),
            plan(2024, SelectionName::Tutte),
        ]
        .into_iter()
        .enumerate()
        .map(|(at, plan)| (at.to_string(), Question::Rates(plan)))
        .collect();
        assert_eq!(population_by_population(&questions), vec![0, 2, 5, 1, 4, 3]);
    }
}
