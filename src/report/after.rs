//! The report's sections after access: "Tempi di accesso" (how soon the
//! year's registrants reach a first service and a first measure, by
//! citizenship group) and "Dopo la misura" (who is at work some days after
//! the end of a measure, against Italians). Their count tables are
//! protected with every other table of the report.

use anyhow::Result;

use super::findings::{difference, points};
use super::{charts, group_name, is_group, t, NamedTable, ReportPlan, Section, GROUPS};
use crate::disclosure::files::first_day_scope;
use crate::disclosure::recode::Recoding;
use crate::disclosure::ScopedTable;
use crate::extract::schema::FileKind;
use crate::extract::Extract;
use crate::indicators::outcomes::{self, Origin, Outcome, OutcomesPlan, OutcomesTable, PreparedOutcomes};
use crate::indicators::survival::{self, Event, SurvivalTable};
use crate::indicators::{Memo, Period, Population, RatesPlan, Selection, Standard};
use crate::output::terminal::percent;
use crate::reference::Reference;
use crate::stats::survival::{Curve, Interval};
use crate::table::{Codebook, Dimension, Lang, TOTAL};

/// Days the access curves are shown at.
const CURVE_DAYS: [i32; 8] = [15, 30, 60, 90, 120, 180, 270, 365];
/// Days the shares with a first service and a first measure are compared at.
const COMPARED_DAYS: [i32; 3] = [30, 90, 180];
/// Days after the end of a measure the outcome is counted at.
const OUTCOME_DAYS: [i32; 3] = [30, 90, 180];

/// The after-access tables before protection.
pub(super) struct Prepared {
    times: Vec<SurvivalTable>,
    /// None when the extract has no avviamenti.csv.
    outcomes: Option<PreparedOutcomes>,
}

/// The after-access tables, protected.
pub(super) struct AfterAccess {
    services: SurvivalTable,
    measures: SurvivalTable,
    outcomes: Option<OutcomesTable>,
    /// What was pooled, by table, for the protection section.
    pub(super) recodings: Vec<(String, Recoding)>,
}

fn base(period: Period, plan: &ReportPlan, selection: Selection) -> RatesPlan {
    RatesPlan {
        period,
        population: Population::Stock,
        selection,
        dims: vec![Dimension::GruppoCittadinanza],
        top: None,
        margins: true,
        confidence: plan.confidence,
        threshold: Some(plan.threshold),
    }
}

impl Prepared {
    pub(super) fn new(
        extract: &Extract,
        reference: &Reference,
        period: Period,
        plan: &ReportPlan,
        memo: &Memo,
    ) -> Result<Prepared> {
        // Days hardly any cohort member can have been followed for (only
        // who registered on the period's first day reach the as-of date's
        // distance) are left out.
        let followed = (extract.as_of - period.from).num_days() as i32;
        let days: Vec<i32> = CURVE_DAYS.iter().copied().filter(|d| *d < followed).collect();
        let times = [Event::Servizio, Event::Misura]
            .into_iter()
            .map(|event| {
                let wait = survival::SurvivalPlan {
                    base: base(
                        period,
                        plan,
                        event.selection(None, Selection::named(crate::indicators::plan::SelectionName::Tutte))?,
                    ),
                    event,
                    days: days.clone(),
                    interval: Interval::Log,
                    competing: false,
                    compare: Dimension::GruppoCittadinanza,
                };
                survival::prepare(extract, reference, &wait, memo)
            })
            .collect::<Result<Vec<_>>>()?;
        let outcomes = if extract.holds(FileKind::Hirings) {
            let after = OutcomesPlan {
                base: base(
                    period,
                    plan,
                    Selection::named(crate::indicators::plan::SelectionName::Misure),
                ),
                origin: Origin::EndOfMeasure,
                outcome: Outcome::Occupati,
                contracts: (0..crate::extract::schema::CONTRACTS.len()).collect(),
                days: OUTCOME_DAYS.to_vec(),
                gap: Some(Standard::Total),
            };
            Some(outcomes::prepare(extract, reference, &after)?)
        } else {
            None
        };
        Ok(Prepared { times, outcomes })
    }

    /// Every count table, to protect with the report's other tables.
    pub(super) fn count_tables(&self) -> Vec<ScopedTable> {
        let mut tables: Vec<ScopedTable> = self.times.iter().flat_map(|t| t.count_tables()).collect();
        if let Some(after) = &self.outcomes {
            tables.extend(after.count_tables());
        }
        tables
    }

    /// The tables from their count tables as protection left them.
    pub(super) fn finish(self, protected: Vec<ScopedTable>, reference: &Reference) -> Result<AfterAccess> {
        let mut protected = protected.into_iter();
        let mut recodings = Vec::new();
        let mut times = Vec::new();
        for (mut table, name) in self.times.into_iter().zip(["tempi-servizio", "tempi-misura"]) {
            let mine: Vec<ScopedTable> = protected.by_ref().take(2 * table.plan.days.len()).collect();
            table.apply(&mine, reference)?;
            if let Some(recoding) = &table.pooled {
                recodings.push((name.to_string(), recoding.clone()));
            }
            times.push(table);
        }
        let outcomes = match self.outcomes {
            Some(after) => {
                if let Some(recoding) = &after.pooled {
                    recodings.push(("dopo-misura".to_string(), recoding.clone()));
                }
                Some(after.finish(protected.collect(), reference)?)
            }
            None => None,
        };
        let measures = times.pop().expect("two survival tables");
        let services = times.pop().expect("two survival tables");
        Ok(AfterAccess {
            services,
            measures,
            outcomes,
            recodings,
        })
    }
}

impl AfterAccess {
    /// The sections, adding their tables with `add`.
    pub(super) fn sections(
        &self,
        lang: Lang,
        codebook: &Codebook,
        add: &mut dyn FnMut(NamedTable) -> usize,
    ) -> Result<Vec<Section>> {
        let mut tables = Vec::new();
        let mut charts = Vec::new();
        for (table, name, title, chart) in [
            (
                &self.services,
                "tempi-servizio",
                t(
                    lang,
                    "Tempo dalla DID al primo servizio",
                    "Time from the DID to a first service",
                ),
                t(
                    lang,
                    "Quota con un primo servizio entro n giorni dalla DID",
                    "Share with a first service within n days of the DID",
                ),
            ),
            (
                &self.measures,
                "tempi-misura",
                t(
                    lang,
                    "Tempo dalla DID alla prima misura",
                    "Time from the DID to a first measure",
                ),
                t(
                    lang,
                    "Quota con una prima misura entro n giorni dalla DID",
                    "Share with a first measure within n days of the DID",
                ),
            ),
        ] {
            charts.push(charts::cumulative_curves(&chart, &curves(table, lang), lang));
            tables.push(add(NamedTable {
                name: name.to_string(),
                title,
                grid: table.grid(codebook)?,
                scope: first_day_scope(&table.scopes_by_day()),
                counts_by_day: table.scopes_by_day(),
            }));
        }
        let mut paragraphs = vec![t(
            lang,
            "Persone che hanno registrato una DID nell'anno, seguite dal giorno della DID fino al primo servizio (o alla prima misura), alla chiusura della DID o alla data di estrazione. La quota è 1 meno la stima di Kaplan-Meier; la mediana segue la regola di R. Una curva non è mostrata oltre il primo giorno soppresso.",
            "Persons who registered a DID in the year, followed from that day to the first service (or measure), to the DID's closure or to the extraction date. The share is 1 minus the Kaplan-Meier estimate; the median follows R's rule. A curve is not shown past its first suppressed day.",
        )];
        paragraphs.extend(self.compared_shares(lang));
        let mut sections = vec![Section {
            id: "tempi",
            title: t(lang, "Tempi di accesso", "Time to access"),
            paragraphs,
            charts,
            tables,
        }];
        if let Some(outcomes) = &self.outcomes {
            let table = add(NamedTable {
                name: "dopo-misura".to_string(),
                title: t(
                    lang,
                    "Al lavoro dopo la fine di una misura, confronto con gli italiani",
                    "At work after the end of a measure, against Italians",
                ),
                grid: outcomes.grid(codebook)?,
                scope: first_day_scope(&outcomes.scopes_by_day()),
                counts_by_day: outcomes.scopes_by_day(),
            });
            let series: Vec<String> = GROUPS.iter().map(|g| group_name(lang, g)).collect();
            let chart = charts::grouped_bars(
                &t(
                    lang,
                    "Al lavoro n giorni dopo la fine di una misura",
                    "At work n days after the end of a measure",
                ),
                &series,
                &outcome_bars(outcomes, lang),
                lang,
            );
            sections.push(Section {
                id: "dopo-misura",
                title: t(lang, "Dopo la misura", "After the measure"),
                paragraphs: vec![t(
                    lang,
                    "Persone la cui ultima misura (categorie LMP 2-7) si è conclusa nell'anno: al lavoro n giorni dopo, in un rapporto avviato dopo la fine della misura (Comunicazioni Obbligatorie). Sono contate a ogni orizzonte solo le persone seguite per quei giorni prima della data di estrazione; chi era già al lavoro alla fine della misura è contato a parte (gia_occupati).",
                    "Persons whose latest measure (LMP categories 2-7) ended in the year: at work n days later, in a job started after the measure ended (Comunicazioni Obbligatorie). At each horizon only persons followed that long before the extraction date are counted; those already at work when the measure ended are counted apart (gia_occupati).",
                )],
                charts: vec![chart],
                tables: vec![table],
            });
        }
        Ok(sections)
    }

    /// "Within 30, 90, 180 days": each foreign group's share against the
    /// Italians', from the published rows.
    fn compared_shares(&self, lang: Lang) -> Vec<String> {
        let mut out = Vec::new();
        for (table, what) in [
            (&self.services, t(lang, "un primo servizio", "a first service")),
            (&self.measures, t(lang, "una prima misura", "a first measure")),
        ] {
            let mut parts = Vec::new();
            for day in COMPARED_DAYS {
                let shares: Vec<String> = GROUPS
                    .iter()
                    .map(|g| {
                        let share = published_share(table, g, day)
                            .map_or("n.d.".to_string(), |s| format!("{}%", percent(s, lang)));
                        format!("{} {share}", group_name(lang, g))
                    })
                    .collect();
                parts.push(format!("{day} {}: {}", t(lang, "giorni", "days"), shares.join(", ")));
            }
            out.push(format!(
                "{} {what}: {}.",
                t(lang, "Quota con", "Share with"),
                parts.join("; ")
            ));
        }
        out
    }

    /// The key finding of "Dopo la misura": non-EU citizens against Italians at 90 days.
    pub(super) fn findings(&self, lang: Lang, z: f64) -> Vec<String> {
        let mut out = Vec::new();
        let Some(outcomes) = &self.outcomes else {
            return out;
        };
        let Some(horizon) = outcomes.horizons.iter().find(|h| h.day == 90) else {
            return out;
        };
        let Some(gap) = &horizon.gap else { return out };
        let Some(row) = gap.rows.iter().find(|r| is_group(&r.group, "EXTRA_UE")) else {
            return out;
        };
        if let (Some(d), Some(rate), Some(italian)) =
            (difference(row, z), row.group_cell.rate(), row.italian_cell.rate())
        {
            out.push(match lang {
                Lang::It => format!(
                    "90 giorni dopo la fine di una misura era al lavoro il {}% dei cittadini non UE, contro il {}% degli italiani: {} punti (IC 95% {}; {}).",
                    percent(rate, lang), percent(italian, lang), points(d.value, lang), points(d.low, lang), points(d.high, lang)
                ),
                Lang::En => format!(
                    "90 days after the end of a measure {}% of non-EU citizens were at work, against {}% of Italians: {} points (95% CI {}; {}).",
                    percent(rate, lang), percent(italian, lang), points(d.value, lang), points(d.low, lang), points(d.high, lang)
                ),
            });
        }
        out
    }
}

/// A group's share with the event by `day`, when its row is shown.
fn published_share(table: &SurvivalTable, group: &str, day: i32) -> Option<f64> {
    let d = table.plan.days.iter().position(|x| *x == day)?;
    let cell = table.cells.iter().find(|c| is_group(&c.keys[0], group))?;
    (!cell.status[d].is_suppressed()).then(|| 1.0 - Curve::kaplan_meier(&cell.follow_up).at(day).survival)
}

/// One curve per citizenship group, from its shown rows.
fn curves(table: &SurvivalTable, lang: Lang) -> Vec<charts::CurveSeries> {
    let z = crate::stats::critical_value(table.plan.base.confidence).unwrap_or(1.96);
    GROUPS
        .iter()
        .filter_map(|group| {
            let cell = table
                .cells
                .iter()
                .find(|c| c.keys[0] != TOTAL && is_group(&c.keys[0], group))?;
            let curve = Curve::kaplan_meier(&cell.follow_up);
            let last_shown = table
                .plan
                .days
                .iter()
                .zip(&cell.status)
                .rfind(|(_, s)| !s.is_suppressed())
                .map(|(d, _)| *d);
            let median = curve
                .median()
                .filter(|m| last_shown.is_some_and(|d| *m <= f64::from(d)));
            let name = match median {
                Some(days) => format!(
                    "{} ({} {} {})",
                    group_name(lang, group),
                    t(lang, "mediana", "median"),
                    crate::output::terminal::decimal(days, 0, lang),
                    t(lang, "gg", "days")
                ),
                None => group_name(lang, group),
            };
            let points = table
                .plan
                .days
                .iter()
                .zip(&cell.status)
                .map(|(day, status)| {
                    let point = curve.at(*day);
                    let shown = !status.is_suppressed();
                    let interval = point
                        .bounds(z, table.plan.interval)
                        .map(|(low, high)| (1.0 - high, 1.0 - low));
                    let share = 1.0 - point.survival;
                    (*day, shown.then_some(charts::CurvePoint { share, interval }))
                })
                .collect();
            Some(charts::CurveSeries { name, points })
        })
        .collect()
}

/// One bar group per horizon, one bar per citizenship group.
fn outcome_bars(outcomes: &OutcomesTable, lang: Lang) -> Vec<charts::BarGroup> {
    outcomes
        .horizons
        .iter()
        .map(|horizon| charts::BarGroup {
            label: format!("{} {}", horizon.day, t(lang, "giorni", "days")),
            bars: GROUPS
                .iter()
                .enumerate()
                .filter_map(|(s, g)| {
                    let row = horizon.outcome.rows.iter().find(|r| is_group(&r.keys[0], g))?;
                    let value = (!row.status.is_suppressed()).then(|| row.rate()).flatten();
                    Some(charts::Bar { series: s, value })
                })
                .collect(),
        })
        .collect()
}
