//! Command-line definitions: one argument struct per command, shared groups
//! for the extract, the period and the output.

mod examples;

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::extract::EncodingChoice;
use crate::indicators::plan::SelectionName;
use crate::output::Format;
use crate::table::Lang;
use examples::*;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  data rejected under --strict (nothing was written)
  2  usage or runtime error (bad option, unreadable extract, failed write)";

#[derive(Debug, Parser)]
#[command(
    name = "silp-access",
    version,
    about = "Migrants' access to job-centre services and active labour-market policies, from SILP extracts",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Hide the progress display (it is hidden anyway when stderr is not a terminal).
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Access rates by breakdown, for the stock or a cohort of registrants.
    #[command(after_long_help = RATES_EXAMPLES)]
    Rates(RatesArgs),
    /// Compare each foreign group (or citizenship) with Italian citizens in every stratum.
    #[command(after_long_help = GAP_EXAMPLES)]
    Gap(GapArgs),
    /// Write the synthesis report: HTML with charts, Markdown, XLSX, CSV tables, manifest.
    #[command(after_long_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Validate an extract once and keep a typed Parquet copy that later commands read instead.
    #[command(after_long_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Check an extract: rows read, used and rejected by reason, date ranges, unknown codes.
    #[command(after_long_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Replace the codici fiscali in id_lav with a keyed HMAC, writing a new extract.
    #[command(after_long_help = PSEUDONYMISE_EXAMPLES)]
    Pseudonymise(PseudonymiseArgs),
    /// Run a batch job described by a TOML file (for schedulers).
    #[command(after_long_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Time from the DID to a first service, measure, activity or hiring (Kaplan-Meier), by breakdown.
    #[command(after_long_help = SURVIVAL_EXAMPLES)]
    Survival(SurvivalArgs),
    /// At work, hired or in a stable job some days after a measure or after the DID, by breakdown.
    #[command(after_long_help = OUTCOMES_EXAMPLES)]
    Outcomes(OutcomesArgs),
    /// Check a folder of published tables as an intruder would: can any suppressed cell be recovered?
    #[command(after_long_help = AUDIT_EXAMPLES)]
    Audit(AuditArgs),
    /// Write a synthetic extract calibrated to public figures for Piedmont.
    #[command(after_long_help = GENERATE_EXAMPLES)]
    Generate(GenerateArgs),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Rates(_) => "rates",
            Command::Gap(_) => "gap",
            Command::Import(_) => "import",
            Command::Validate(_) => "validate",
            Command::Report(_) => "report",
            Command::Pseudonymise(_) => "pseudonymise",
            Command::Run(_) => "run",
            Command::Survival(_) => "survival",
            Command::Outcomes(_) => "outcomes",
            Command::Audit(_) => "audit",
            Command::Generate(_) => "generate",
        }
    }
}

/// Where the extract is and how to read it.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Folder holding lavoratori.csv, did.csv, politiche.csv (and avviamenti.csv);
    /// without it, the sample extract embedded in the program.
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,
    /// Character encoding of the files; auto tells UTF-8 from Windows-1252.
    #[arg(long, value_enum, default_value_t = EncodingChoice::Auto)]
    pub encoding: EncodingChoice,
    /// Extraction date (dd/mm/yyyy or yyyy-mm-dd); default: the latest date in the files.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub as_of: Option<NaiveDate>,
    /// Folder with replacement code lists (cittadinanze.csv, province.csv,
    /// attivita.csv, categorie-lmp.csv); missing ones stay the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub ref_dir: Option<PathBuf>,
    /// The Parquet cache written by `import`; default: .silp-cache inside the extract folder.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Read the CSV files even when a fresh Parquet cache exists.
    #[arg(long)]
    pub no_cache: bool,
}

/// The extract, and what to do with rows that break a rule.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Fail with exit code 1, writing nothing, if any row is rejected.
    #[arg(long)]
    pub strict: bool,
    /// Write every rejected row (file, line, column, value, reason) to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
}

/// The reference period.
#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// A calendar year (01/01 to 31/12); default: the year of the as-of date.
    #[arg(long, value_name = "YYYY", conflicts_with_all = ["dal", "al"])]
    pub year: Option<i32>,
    /// First day of the period (dd/mm/yyyy or yyyy-mm-dd); needs --al.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg, requires = "al")]
    pub dal: Option<NaiveDate>,
    /// Last day of the period, included; needs --dal.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg, requires = "dal")]
    pub al: Option<NaiveDate>,
}

/// How and where results are written.
#[derive(Debug, Args)]
pub struct OutputArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Language of labels and number formats.
    #[arg(long, value_enum, default_value_t = Lang::It)]
    pub lang: Lang,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PopulationName {
    /// Persons registered (with a DID spell) at some time in the period.
    Stock,
    /// Persons who registered in the period, followed up for --window days.
    Coorte,
}

/// Who is counted and which activities count as access.
#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    #[arg(long, value_enum, default_value_t = PopulationName::Stock)]
    pub population: PopulationName,
    /// Cohort follow-up in days after the DID.
    #[arg(long, value_name = "DAYS", default_value_t = 365)]
    pub window: u32,
    /// Cohort: leave out persons whose follow-up passes the as-of date.
    #[arg(long)]
    pub complete_followup: bool,
    /// Which activities count as access.
    #[arg(long, value_enum, default_value_t = SelectionName::Tutte, conflicts_with = "lmp")]
    pub select: SelectionName,
    #[command(flatten)]
    pub narrow: NarrowArgs,
    #[command(flatten)]
    pub cells: CellArgs,
}

/// Which activities count, narrowed from a selection.
#[derive(Debug, Args)]
pub struct NarrowArgs {
    /// Eurostat LMP categories instead of --select, e.g. 2,4.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub lmp: Option<Vec<u8>>,
    /// Count only these activity codes, e.g. C01,C06.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub attivita: Option<Vec<String>>,
    /// Count only activities of these programmes (GOL, GG, FSE, FAMI, ORD).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub programma: Option<Vec<String>>,
    /// Count only activities delivered by these operator types (CPI, ACCREDITATO).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub ente: Option<Vec<String>>,
}

/// The cells of a table: its breakdowns and margins.
#[derive(Debug, Args)]
pub struct CellArgs {
    /// Breakdowns, comma-separated: provincia, cpi, gruppo_cittadinanza,
    /// straniero, cittadinanza, sesso, classe_eta, titolo_studio,
    /// motivo_permesso, ex_msna, programma, ente, categoria_lmp, and the
    /// columns of the files given with --link.
    #[arg(long, value_name = "LIST", default_value = "")]
    pub by: String,
    /// With cittadinanza: keep Italy and the N largest foreign citizenships, pool the rest as ALTRE.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Add margins: TOTALE rows for every breakdown summed over, and a grand total.
    #[arg(long)]
    pub margins: bool,
    /// A pseudonymised person-level file of another regional database,
    /// declared by the TOML file beside it; its columns become breakdowns
    /// of --by. Repeatable.
    #[arg(long = "link", value_name = "FILE")]
    pub link: Vec<PathBuf>,
    /// Print only the rows whose breakdown holds this code, e.g.
    /// accoglienza=SAI (the breakdown must be in --by). Repeatable.
    #[arg(long = "where", value_name = "BREAKDOWN=CODE")]
    pub filters: Vec<String>,
}

/// Intervals and disclosure control.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Confidence level of the intervals.
    #[arg(long, value_name = "LEVEL", default_value_t = 0.95)]
    pub confidence: f64,
    /// Suppress cells where eligible persons, beneficiaries or non-beneficiaries
    /// number between 1 and this minus one (at least 3).
    #[arg(long, value_name = "K", default_value_t = crate::disclosure::DEFAULT_THRESHOLD)]
    pub threshold: u64,
}

/// What a command that prints one table needs (`rates`, `gap`).
#[derive(Debug, Args)]
pub struct TableArgs {
    #[command(flatten)]
    pub extract: ExtractArgs,
    #[command(flatten)]
    pub query: QueryArgs,
    #[command(flatten)]
    pub stats: StatsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct RatesArgs {
    #[command(flatten)]
    pub table: TableArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StandardName {
    /// All eligible persons of the table.
    Totale,
    /// Eligible Italian citizens only.
    Ita,
}

impl From<StandardName> for crate::indicators::Standard {
    fn from(name: StandardName) -> Self {
        match name {
            StandardName::Totale => crate::indicators::Standard::Total,
            StandardName::Ita => crate::indicators::Standard::Italian,
        }
    }
}

#[derive(Debug, Args)]
pub struct GapArgs {
    #[command(flatten)]
    pub table: TableArgs,
    /// Standard population of the age-sex standardised rates.
    #[arg(long, value_enum, default_value_t = StandardName::Totale)]
    pub standard: StandardName,
}

#[derive(Debug, Args)]
pub struct SurvivalArgs {
    #[command(flatten)]
    pub extract: ExtractArgs,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// What ends the wait.
    #[arg(long, value_enum, default_value_t = crate::indicators::survival::Event::Misura)]
    pub event: crate::indicators::survival::Event,
    /// Days after the DID at which the curve is given.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "30,90,180,365")]
    pub days: Vec<i32>,
    /// The interval of the share: log as R's survfit, log-log as lifelines.
    #[arg(long = "ci", value_enum, default_value_t = crate::stats::survival::Interval::Log)]
    pub interval: crate::stats::survival::Interval,
    /// Treat the DID's closure before the event as a competing event (Aalen-Johansen).
    #[arg(long)]
    pub competing: bool,
    /// The breakdown whose groups the log-rank test compares within each stratum of the others.
    #[arg(long, value_name = "BREAKDOWN", default_value = "gruppo_cittadinanza")]
    pub compare: String,
    #[command(flatten)]
    pub narrow: NarrowArgs,
    #[command(flatten)]
    pub cells: CellArgs,
    #[command(flatten)]
    pub stats: StatsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OriginName {
    /// The end of the person's latest counted activity in the period.
    FineMisura,
    /// The DID of the cohort's reference spell.
    Did,
}

#[derive(Debug, Args)]
pub struct OutcomesArgs {
    #[command(flatten)]
    pub extract: ExtractArgs,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Where each person's follow-up starts.
    #[arg(long, value_enum, default_value_t = OriginName::FineMisura)]
    pub origin: OriginName,
    /// Which activities make a person's origin (with --origin fine-misura).
    #[arg(long, value_enum, default_value_t = SelectionName::Misure, conflicts_with = "lmp")]
    pub select: SelectionName,
    #[command(flatten)]
    pub narrow: NarrowArgs,
    /// What is counted at each horizon.
    #[arg(long, value_enum, default_value_t = crate::indicators::outcomes::Outcome::Occupati)]
    pub outcome: crate::indicators::outcomes::Outcome,
    /// Contract types that count (and that make a person already at work).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "TI,TD,APPR,SOMM,ALTRO"
    )]
    pub contracts: Vec<String>,
    /// Days after the origin at which the outcome is counted.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_value = "30,90,180,365")]
    pub days: Vec<i32>,
    #[command(flatten)]
    pub cells: CellArgs,
    /// Compare each group with Italians in the same stratum (difference, ratio, standardised rates).
    #[arg(long)]
    pub gap: bool,
    /// Standard population of the standardised rates, with --gap.
    #[arg(long, value_enum, default_value_t = StandardName::Totale, requires = "gap")]
    pub standard: StandardName,
    #[command(flatten)]
    pub stats: StatsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Folder of published tables: a report's tabelle/, a job's output, tables written by rates or gap.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Disclosure threshold; default: the manifest's, else 5.
    #[arg(long, value_name = "K")]
    pub threshold: Option<u64>,
    /// Folder of replacement code lists (the citizenship groups), as for the analyses.
    #[arg(long, value_name = "DIR")]
    pub ref_dir: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub extract: ExtractArgs,
    /// The report's year; default: the year of the as-of date.
    #[arg(long, value_name = "YYYY", conflicts_with = "years")]
    pub year: Option<i32>,
    /// Several years, e.g. 2022-2024: the last is the report's year, all make the trend.
    #[arg(long, value_name = "RANGE")]
    pub years: Option<String>,
    /// Folder to write the report into (replaced atomically).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Language of every label, sentence and number.
    #[arg(long, value_enum, default_value_t = Lang::It)]
    pub lang: Lang,
    /// Also a fact sheet per job centre (cpi/index.html, cpi/*.html, cpi/schede.xlsx), protected and audited with the report.
    #[arg(long)]
    pub per_cpi: bool,
    #[command(flatten)]
    pub stats: StatsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A summary to read.
    Text,
    /// The whole report for programs.
    Json,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub extract: ExtractArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub extract: SourceArgs,
    /// A linked file of another database (declared by FILE.toml beside it):
    /// its rows are checked too, and its linkage reported. Repeatable.
    #[arg(long = "link", value_name = "FILE")]
    pub link: Vec<PathBuf>,
    /// Write every rejected row (file, line, column, value, reason) to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Write the report to this file (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PseudonymiseArgs {
    /// Folder of the extract holding codici fiscali.
    #[arg(long = "in", value_name = "DIR")]
    pub input: PathBuf,
    /// Folder to write the pseudonymised extract into (canonical dialect).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// File whose bytes are the secret key (at least 32).
    #[arg(long, value_name = "FILE")]
    pub key_file: PathBuf,
    /// A linked file of another database, keyed by the same id_lav: written
    /// into --out pseudonymised with the same key, beside its declaration
    /// (FILE.toml). Repeatable.
    #[arg(long = "link", value_name = "FILE")]
    pub link: Vec<PathBuf>,
    /// Character encoding of the input files.
    #[arg(long, value_enum, default_value_t = EncodingChoice::Auto)]
    pub encoding: EncodingChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    /// One JSON object per line, for schedulers and log collectors.
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job file (TOML).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of persons.
    #[arg(long, value_name = "N")]
    pub persons: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
    /// Folder to write the four files into (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Extraction date of the synthetic extract.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg, default_value = "31/12/2024")]
    pub as_of: NaiveDate,
    /// Lay the files out as real exports may be (comma-separated): rows in
    /// random order, job centres by name, quoted fields, CR LF line ends,
    /// Windows-1252. The content stays the same.
    #[arg(long, value_name = "SHAPES", value_delimiter = ',')]
    pub shape: Vec<crate::synth::Shape>,
    /// Also write accoglienza.csv, a linked file of the reception system
    /// for these persons, and its declaration accoglienza.toml (for --link).
    #[arg(long)]
    pub accoglienza: bool,
}

fn parse_date_arg(text: &str) -> Result<NaiveDate, String> {
    crate::indicators::plan::parse_date(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
