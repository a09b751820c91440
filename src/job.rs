//! Batch jobs: a TOML file naming the extract, the periods and the tables
//! to write. Unknown keys are errors. Every table of every period is
//! planned (and its options checked) before any data is read.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::cli::{
    CellArgs, ExtractArgs, NarrowArgs, OriginName, OutcomesArgs, OutputArgs, PeriodArgs, PopulationName, QueryArgs,
    SourceArgs, StandardName, StatsArgs, SurvivalArgs,
};
use crate::extract::EncodingChoice;
use crate::indicators::outcomes::Outcome;
use crate::indicators::plan::SelectionName;
use crate::indicators::survival::Event;
use crate::output::Format;
use crate::stats::survival::Interval;
use crate::table::Lang;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Folder of the extract; absent: the embedded sample. Relative to the job file.
    pub extract: Option<PathBuf>,
    #[serde(default, deserialize_with = "date")]
    pub as_of: Option<NaiveDate>,
    #[serde(default)]
    pub encoding: Encoding,
    /// Folder of replacement code lists. Relative to the job file.
    pub ref_dir: Option<PathBuf>,
    /// Parquet cache written by `silp-access import`; default: `.silp-cache`
    /// in the extract folder. Relative to the job file.
    pub cache: Option<PathBuf>,
    #[serde(default)]
    pub strict: bool,
    /// Output folder; `{as_of}` becomes the extract's as-of date (yyyy-mm-dd).
    /// Relative to the job file.
    pub output: String,
    /// Calendar years the tables are computed for.
    pub years: Vec<i32>,
    #[serde(default = "default_lang")]
    pub lang: Lang,
    /// Also write the synthesis report (for all `years`) into `OUTPUT/report/`.
    #[serde(default)]
    pub report: bool,
    /// With the report, a fact sheet per job centre in `OUTPUT/report/cpi/`.
    #[serde(default)]
    pub per_cpi: bool,
    /// Linked files of other regional databases, each declared by the TOML
    /// file beside it; their columns become breakdowns of `by`. Relative to
    /// the job file.
    #[serde(default)]
    pub link: Vec<PathBuf>,
    #[serde(rename = "table", default)]
    pub tables: Vec<TableJob>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    #[default]
    Auto,
    Utf8,
    Windows1252,
}

fn default_lang() -> Lang {
    Lang::It
}

fn stock() -> PopulationName {
    PopulationName::Stock
}

fn all_activities() -> SelectionName {
    SelectionName::Tutte
}

fn total_standard() -> StandardName {
    StandardName::Totale
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableCommand {
    Rates,
    Gap,
    Survival,
    Outcomes,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableJob {
    /// File name stem: letters, digits, `-` and `_`.
    pub name: String,
    pub command: TableCommand,
    #[serde(default = "stock")]
    pub population: PopulationName,
    #[serde(default)]
    pub window: Option<u32>,
    #[serde(default)]
    pub complete_followup: bool,
    #[serde(default = "all_activities")]
    pub select: SelectionName,
    #[serde(default)]
    pub lmp: Option<Vec<u8>>,
    #[serde(default)]
    pub attivita: Option<Vec<String>>,
    #[serde(default)]
    pub programma: Option<Vec<String>>,
    #[serde(default)]
    pub ente: Option<Vec<String>>,
    #[serde(default)]
    pub by: Vec<String>,
    /// Rows printed, as `--where`: `["accoglienza=SAI"]`.
    #[serde(default, rename = "where")]
    pub filters: Vec<String>,
    #[serde(default)]
    pub top: Option<usize>,
    #[serde(default)]
    pub margins: bool,
    #[serde(default = "total_standard")]
    pub standard: StandardName,
    /// survival: what ends the wait (default misura).
    #[serde(default)]
    pub event: Option<Event>,
    /// survival and outcomes: the days or horizons (default 30, 90, 180, 365).
    #[serde(default)]
    pub days: Option<Vec<i32>>,
    /// survival: a closed DID is a competing event.
    #[serde(default)]
    pub competing: bool,
    /// survival: the interval (default log).
    #[serde(default)]
    pub ci: Option<Interval>,
    /// survival: the breakdown the log-rank test compares (default gruppo_cittadinanza).
    #[serde(default)]
    pub compare: Option<String>,
    /// outcomes: where the follow-up starts (default fine-misura).
    #[serde(default)]
    pub origin: Option<OriginName>,
    /// outcomes: what is counted (default occupati).
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// outcomes: the contract types counted (default all).
    #[serde(default)]
    pub contracts: Option<Vec<String>>,
    /// outcomes: compare with Italians, as `gap`.
    #[serde(default)]
    pub gap: bool,
    #[serde(default)]
    pub confidence: Option<f64>,
    #[serde(default)]
    pub threshold: Option<u64>,
    pub formats: Vec<String>,
    /// The job's linked files, which every table may break down by.
    #[serde(skip)]
    pub link: Vec<PathBuf>,
}

/// The days of `survival` and the horizons of `outcomes` by default, as on the command line.
const DEFAULT_DAYS: [i32; 4] = [30, 90, 180, 365];

/// A job reads its extract once, for all its tables, and writes each table
/// as its `formats` say: the per-command extract and output options are not used.
fn unused_extract() -> ExtractArgs {
    ExtractArgs {
        source: SourceArgs {
            extract: None,
            encoding: EncodingChoice::Auto,
            as_of: None,
            ref_dir: None,
            cache: None,
            no_cache: false,
        },
        strict: false,
        rejects: None,
    }
}

fn unused_output() -> OutputArgs {
    OutputArgs {
        format: Format::Csv,
        output: None,
        lang: Lang::It,
    }
}

fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| crate::indicators::plan::parse_date(&t).map_err(serde::de::Error::custom))
        .transpose()
}

impl Job {
    pub fn load(path: &Path) -> Result<Job> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the job file {}", path.display()))?;
        let mut job: Job = toml::from_str(&text).map_err(|e| anyhow::anyhow!("job file {}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        job.extract = job.extract.map(|e| base.join(e));
        job.ref_dir = job.ref_dir.map(|r| base.join(r));
        job.cache = job.cache.map(|c| base.join(c));
        job.link = job.link.iter().map(|l| base.join(l)).collect();
        for table in &mut job.tables {
            table.link = job.link.clone();
        }
        if Path::new(&job.output).is_relative() {
            job.output = base.join(&job.output).display().to_string();
        }
        job.check().with_context(|| format!("job file {}", path.display()))?;
        Ok(job)
    }

    fn check(&self) -> Result<()> {
        if self.years.is_empty() {
            bail!("`years` is empty; list the calendar years to compute, e.g. years = [2024]");
        }
        if self.per_cpi && !self.report {
            bail!("per_cpi = true writes fact sheets beside the report: add report = true");
        }
        if self.tables.is_empty() && !self.report {
            bail!("no [[table]] and no report = true: there is nothing to write");
        }
        let mut names: Vec<&str> = Vec::new();
        for table in &self.tables {
            let ok = !table.name.is_empty()
                && table
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                bail!(
                    "table name {:?}: use letters, digits, - and _ only (it names the output files)",
                    table.name
                );
            }
            if names.contains(&table.name.as_str()) {
                bail!("two tables are named {:?}", table.name);
            }
            names.push(&table.name);
            if table.formats.is_empty() {
                bail!("table {:?} has no formats; e.g. formats = [\"csv\"]", table.name);
            }
            for format in &table.formats {
                parse_format(format).with_context(|| format!("table {:?}", table.name))?;
            }
            table.check_keys().with_context(|| format!("table {:?}", table.name))?;
        }
        Ok(())
    }

    pub fn encoding(&self) -> EncodingChoice {
        match self.encoding {
            Encoding::Auto => EncodingChoice::Auto,
            Encoding::Utf8 => EncodingChoice::Utf8,
            Encoding::Windows1252 => EncodingChoice::Windows1252,
        }
    }

    /// The output folder for an extract with this as-of date.
    pub fn output_dir(&self, as_of: NaiveDate) -> PathBuf {
        PathBuf::from(self.output.replace("{as_of}", &as_of.format("%Y-%m-%d").to_string()))
    }
}

pub fn parse_format(name: &str) -> Result<Format> {
    match name {
        "csv" => Ok(Format::Csv),
        "json" => Ok(Format::Json),
        "table" | "txt" => Ok(Format::Table),
        "parquet" => Ok(Format::Parquet),
        "xlsx" => Ok(Format::Xlsx),
        other => bail!("format {other:?}: use csv, json, table, parquet or xlsx"),
    }
}

impl TableJob {
    /// Keys of one command given to another are errors, not ignored.
    fn check_keys(&self) -> Result<()> {
        let given = |present: bool, key: &str, commands: &[TableCommand]| -> Result<()> {
            if present && !commands.contains(&self.command) {
                let names: Vec<String> = commands.iter().map(|c| format!("{c:?}").to_lowercase()).collect();
                bail!("`{key}` applies to command = {} only", names.join(" or "));
            }
            Ok(())
        };
        use TableCommand::{Gap, Outcomes, Rates, Survival};
        given(self.population != PopulationName::Stock, "population", &[Rates, Gap])?;
        given(self.window.is_some(), "window", &[Rates, Gap])?;
        given(self.complete_followup, "complete_followup", &[Rates, Gap])?;
        given(self.select != SelectionName::Tutte, "select", &[Rates, Gap, Outcomes])?;
        given(self.standard != StandardName::Totale, "standard", &[Gap, Outcomes])?;
        given(self.event.is_some(), "event", &[Survival])?;
        given(self.competing, "competing", &[Survival])?;
        given(self.ci.is_some(), "ci", &[Survival])?;
        given(self.compare.is_some(), "compare", &[Survival])?;
        given(self.days.is_some(), "days", &[Survival, Outcomes])?;
        given(self.origin.is_some(), "origin", &[Outcomes])?;
        given(self.outcome.is_some(), "outcome", &[Outcomes])?;
        given(self.contracts.is_some(), "contracts", &[Outcomes])?;
        given(self.gap, "gap", &[Outcomes])?;
        Ok(())
    }

    /// The options `survival` takes on the command line, for one year.
    pub fn survival(&self, year: i32) -> SurvivalArgs {
        let query = self.query(year);
        SurvivalArgs {
            extract: unused_extract(),
            period: query.period,
            event: self.event.unwrap_or(Event::Misura),
            days: self.days.clone().unwrap_or(DEFAULT_DAYS.to_vec()),
            interval: self.ci.unwrap_or(Interval::Log),
            competing: self.competing,
            compare: self.compare.clone().unwrap_or("gruppo_cittadinanza".to_string()),
            narrow: query.narrow,
            cells: query.cells,
            stats: self.stats(),
            output: unused_output(),
        }
    }

    /// The options `outcomes` takes on the command line, for one year.
    pub fn outcomes(&self, year: i32) -> OutcomesArgs {
        let query = self.query(year);
        OutcomesArgs {
            extract: unused_extract(),
            period: query.period,
            origin: self.origin.unwrap_or(OriginName::FineMisura),
            select: if self.select == SelectionName::Tutte {
                SelectionName::Misure
            } else {
                self.select
            },
            narrow: query.narrow,
            outcome: self.outcome.unwrap_or(Outcome::Occupati),
            contracts: self.contracts.clone().unwrap_or(
                crate::extract::schema::CONTRACTS
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            ),
            days: self.days.clone().unwrap_or(DEFAULT_DAYS.to_vec()),
            cells: query.cells,
            gap: self.gap,
            standard: self.standard,
            stats: self.stats(),
            output: unused_output(),
        }
    }

    /// The same options the command line takes, for one year.
    pub fn query(&self, year: i32) -> QueryArgs {
        QueryArgs {
            period: PeriodArgs {
                year: Some(year),
                dal: None,
                al: None,
            },
            population: self.population,
            window: self.window.unwrap_or(365),
            complete_followup: self.complete_followup,
            select: self.select,
            narrow: NarrowArgs {
                lmp: self.lmp.clone(),
                attivita: self.attivita.clone(),
                programma: self.programma.clone(),
                ente: self.ente.clone(),
            },
            cells: CellArgs {
                by: self.by.join(","),
                top: self.top,
                margins: self.margins,
                link: self.link.clone(),
                filters: self.filters.clone(),
            },
        }
    }

    pub fn stats(&self) -> StatsArgs {
        StatsArgs {
            confidence: self.confidence.unwrap_or(0.95),
            threshold: self.threshold.unwrap_or(crate::disclosure::DEFAULT_THRESHOLD),
        }
    }
}
