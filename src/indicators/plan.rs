//! The question a table answers, checked before any data is read.

use anyhow::{bail, Result};
use chrono::{Datelike, NaiveDate};

use crate::disclosure::{Scope, Threshold};
use crate::table::Dimension;

/// The reference period, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    pub fn year(year: i32) -> Result<Period> {
        match (
            NaiveDate::from_ymd_opt(year, 1, 1),
            NaiveDate::from_ymd_opt(year, 12, 31),
        ) {
            (Some(from), Some(to)) => Ok(Period { from, to }),
            _ => bail!("--year {year}: not a valid year"),
        }
    }

    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Period> {
        if from > to {
            bail!(
                "--dal {} is after --al {}: the period must start before it ends",
                from.format("%d/%m/%Y"),
                to.format("%d/%m/%Y")
            );
        }
        Ok(Period { from, to })
    }

    /// The period as an extract extracted on `as_of` can answer it: an error
    /// when it starts after that date; cut at it, with a note saying so,
    /// when it ends after it (nothing after the as-of date is in the extract).
    pub fn within(self, as_of: NaiveDate) -> Result<(Period, Option<String>)> {
        let show = |d: NaiveDate| d.format("%d/%m/%Y").to_string();
        if self.from > as_of {
            bail!(
                "the period {}-{} starts after the extract's as-of date {}: the extract holds nothing about it; choose an earlier --year or --dal, or give the extract's real extraction date with --as-of",
                show(self.from),
                show(self.to),
                show(as_of)
            );
        }
        if self.to > as_of {
            let note = format!(
                "the period {}-{} runs past the extract's as-of date {}: it is cut at {} (the extract holds nothing later)",
                show(self.from),
                show(self.to),
                show(as_of),
                show(as_of)
            );
            return Ok((
                Period {
                    from: self.from,
                    to: as_of,
                },
                Some(note),
            ));
        }
        Ok((self, None))
    }

    /// The year ages are computed in: `year(al)`.
    pub fn age_year(&self) -> i32 {
        self.to.year()
    }
}

/// The universe of a population over a period, as manifests write it; a
/// trend table's manifest entry passes `{anno}` for the dates' year. The
/// cohort is the same persons whatever the follow-up window (which goes
/// with the activities, see [`RatesPlan::scope`]), so that tables of
/// several windows, and `survival`'s, share its populations; only
/// `--complete-followup` makes the window choose the persons.
pub fn universe(population: &Population, from: &str, to: &str) -> String {
    match population {
        Population::Stock => format!("stock {from} {to}"),
        Population::Cohort {
            complete_followup: false,
            ..
        } => cohort_universe(from, to),
        Population::Cohort {
            window,
            complete_followup: true,
        } => format!("coorte {window} {from} {to} completa"),
    }
}

/// The persons whose DID starts in the period.
pub fn cohort_universe(from: &str, to: &str) -> String {
    format!("coorte {from} {to}")
}

/// Parses a date as the spec writes them: `dd/mm/yyyy` or `yyyy-mm-dd`.
pub fn parse_date(text: &str) -> Result<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .map_err(|_| anyhow::anyhow!("{text:?} is not a date; write it as dd/mm/yyyy or yyyy-mm-dd"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    /// Persons with a spell overlapping the period.
    Stock,
    /// Persons whose spell starts in the period, followed up for `window` days.
    Cohort { window: u32, complete_followup: bool },
}

/// Which activities count as access (never a refused one).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Selection {
    /// Eurostat LMP categories, ascending.
    pub categories: Vec<u8>,
    /// Activity codes, when restricted.
    pub activities: Option<Vec<String>>,
    /// Programmes, when restricted.
    pub programmes: Option<Vec<String>>,
    /// Operator types (`ente`), when restricted.
    pub providers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectionName {
    /// LMP categories 1-7.
    Tutte,
    /// LMP category 1: labour-market services.
    Servizi,
    /// LMP categories 2-7: active measures.
    Misure,
}

impl Selection {
    /// A canonical text of the selection: `lmp 2,3,4,5,6,7`, then any
    /// activity codes, programmes and operator types.
    pub fn describe(&self) -> String {
        let join = |v: &[String]| v.join(",");
        let categories: Vec<String> = self.categories.iter().map(u8::to_string).collect();
        let mut text = format!("lmp {}", join(&categories));
        if let Some(codes) = &self.activities {
            text.push_str(&format!(" attivita {}", join(codes)));
        }
        if let Some(programmes) = &self.programmes {
            text.push_str(&format!(" programma {}", join(programmes)));
        }
        if let Some(providers) = &self.providers {
            text.push_str(&format!(" ente {}", join(providers)));
        }
        text
    }

    pub fn named(name: SelectionName) -> Selection {
        let categories = match name {
            SelectionName::Tutte => (1..=7).collect(),
            SelectionName::Servizi => vec![1],
            SelectionName::Misure => (2..=7).collect(),
        };
        Selection {
            categories,
            activities: None,
            programmes: None,
            providers: None,
        }
    }
}

/// Everything `rates` needs to know, validated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RatesPlan {
    pub period: Period,
    pub population: Population,
    pub selection: Selection,
    #[serde(serialize_with = "serialize_dims")]
    pub dims: Vec<Dimension>,
    /// Keep the top N foreign citizenships, pooling the rest as `ALTRE`.
    pub top: Option<usize>,
    pub margins: bool,
    /// Level of the confidence intervals.
    pub confidence: f64,
    /// Disclosure control; `None` only for tables that are never published
    /// (the fine strata standardisation is computed from).
    pub threshold: Option<Threshold>,
}

fn serialize_dims<S: serde::Serializer>(dims: &[Dimension], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(dims.iter().map(|d| d.name()))
}

impl RatesPlan {
    /// Which persons and activities the plan's cells count, for linking
    /// them with other tables' (`disclosure::Scope`).
    pub fn scope(&self) -> Scope {
        Scope {
            universe: universe(
                &self.population,
                &self.period.from.to_string(),
                &self.period.to.to_string(),
            ),
            activities: match self.population {
                Population::Cohort { window, .. } => format!("entro {window} {}", self.selection.describe()),
                Population::Stock => self.selection.describe(),
            },
        }
    }

    pub fn check(&self) -> Result<()> {
        if self.top.is_some() && !self.dims.contains(&Dimension::Cittadinanza) {
            bail!("--top applies to the cittadinanza breakdown: add cittadinanza to --by, or drop --top");
        }
        if self.top == Some(0) {
            bail!("--top 0 would pool every foreign citizenship: give at least 1");
        }
        if self.margins && self.dims.is_empty() {
            bail!("--margins needs at least one breakdown in --by");
        }
        if let Population::Cohort { window: 0, .. } = self.population {
            bail!("--window 0: the follow-up window must be at least one day");
        }
        Ok(())
    }
}
