//! The result every table command produces: one row per cell of a breakdown,
//! with its counts. Plain Rust, so statistics, disclosure control and the
//! renderers never touch the query engine.

use std::cmp::Ordering;
use std::fmt;

use anyhow::{bail, Result};

use crate::link::{LinkedColumn, UNLINKED};
use crate::reference::Reference;

/// Code of a margin (a breakdown column summed over).
pub const TOTAL: &str = "TOTALE";
/// Code of the citizenships pooled outside the top N.
pub const OTHER_CITIZENSHIPS: &str = "ALTRE";
/// Code of a missing optional value, and of the stateless/unknown groups.
pub const NOT_AVAILABLE: &str = "ND";

/// Language of labels and human number formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    It,
    En,
}

/// A breakdown column, as named on the command line and in outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Provincia,
    Cpi,
    GruppoCittadinanza,
    Straniero,
    Cittadinanza,
    Sesso,
    ClasseEta,
    TitoloStudio,
    MotivoPermesso,
    ExMsna,
    Programma,
    /// Who delivered the activity: a public job centre or an accredited operator.
    Ente,
    CategoriaLmp,
    /// A column of a linked file (`--link`), a breakdown of persons.
    Linked(&'static LinkedColumn),
}

pub const AGE_CLASSES: [&str; 4] = ["15-24", "25-29", "30-54", "55+"];
pub const PROGRAMMES: [&str; 5] = ["GOL", "GG", "FSE", "FAMI", "ORD"];
/// The operator types of `ente`: public job centres, accredited operators.
pub const PROVIDERS: [&str; 2] = ["CPI", "ACCREDITATO"];
pub const PERMIT_REASONS: [&str; 8] = [
    "LAVORO",
    "FAMIGLIA",
    "STUDIO",
    "ASILO",
    "PROTEZIONE_INTERNAZIONALE",
    "PROTEZIONE_SPECIALE",
    "LUNGO_PERIODO",
    "ALTRO",
];

impl Dimension {
    pub const ALL: [Dimension; 13] = [
        Dimension::Provincia,
        Dimension::Cpi,
        Dimension::GruppoCittadinanza,
        Dimension::Straniero,
        Dimension::Cittadinanza,
        Dimension::Sesso,
        Dimension::ClasseEta,
        Dimension::TitoloStudio,
        Dimension::MotivoPermesso,
        Dimension::ExMsna,
        Dimension::Programma,
        Dimension::Ente,
        Dimension::CategoriaLmp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Provincia => "provincia",
            Dimension::Cpi => "cpi",
            Dimension::GruppoCittadinanza => "gruppo_cittadinanza",
            Dimension::Straniero => "straniero",
            Dimension::Cittadinanza => "cittadinanza",
            Dimension::Sesso => "sesso",
            Dimension::ClasseEta => "classe_eta",
            Dimension::TitoloStudio => "titolo_studio",
            Dimension::MotivoPermesso => "motivo_permesso",
            Dimension::ExMsna => "ex_msna",
            Dimension::Programma => "programma",
            Dimension::Ente => "ente",
            Dimension::CategoriaLmp => "categoria_lmp",
            Dimension::Linked(column) => column.name,
        }
    }

    /// Parses a comma-separated `--by` list, keeping the user's order;
    /// `linked` are the breakdowns the linked files bring.
    pub fn parse_list(list: &str, linked: &[Dimension]) -> Result<Vec<Dimension>> {
        let mut dims = Vec::new();
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let lower = name.to_ascii_lowercase();
            let known = || Dimension::ALL.into_iter().chain(linked.iter().copied());
            let Some(dim) = known().find(|d| d.name() == lower) else {
                let names: Vec<&str> = known().map(|d| d.name()).collect();
                bail!(
                    "--by: unknown breakdown {name:?}; use any of {}{}",
                    names.join(", "),
                    if linked.is_empty() {
                        " (a column of another database needs its file: --link FILE)"
                    } else {
                        ""
                    }
                );
            };
            if dims.contains(&dim) {
                bail!("--by: breakdown {name:?} is given twice");
            }
            dims.push(dim);
        }
        Ok(dims)
    }

    /// Breakdowns of the activity rather than of the person: the denominator
    /// stays the stratum's eligible population and one person may count in
    /// several cells.
    pub fn is_beneficiary_side(self) -> bool {
        matches!(self, Dimension::Programma | Dimension::Ente | Dimension::CategoriaLmp)
    }

    /// The name of the label column that follows the code column, if any.
    pub fn label_column(self) -> Option<&'static str> {
        match self {
            Dimension::Provincia => Some("provincia_nome"),
            Dimension::Cittadinanza => Some("cittadinanza_nome"),
            Dimension::CategoriaLmp => Some("categoria_lmp_nome"),
            _ => None,
        }
    }

    /// Codes whose order is fixed by the spec; the rest sort by code list or bytes.
    fn fixed_order(self) -> &'static [&'static str] {
        match self {
            Dimension::GruppoCittadinanza => &["ITA", "UE", "EXTRA_UE", "EXTRA_UE_ND", "ND"],
            Dimension::Straniero => &["ITA", "STRANIERI", "STRANIERI_ND", "ND"],
            Dimension::Sesso => &["M", "F"],
            Dimension::ClasseEta => &AGE_CLASSES,
            Dimension::TitoloStudio => &["BASSO", "MEDIO", "ALTO", "ND"],
            Dimension::MotivoPermesso => &[
                "LAVORO",
                "FAMIGLIA",
                "STUDIO",
                "ASILO",
                "PROTEZIONE_INTERNAZIONALE",
                "PROTEZIONE_SPECIALE",
                "LUNGO_PERIODO",
                "ALTRO",
                "ND",
            ],
            Dimension::ExMsna => &["S", "N", "ND"],
            Dimension::Programma => &PROGRAMMES,
            Dimension::Ente => &PROVIDERS,
            _ => &[],
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Sort keys and labels of codes, from the reference tables.
pub struct Codebook<'a> {
    reference: &'a Reference,
    lang: Lang,
}

impl<'a> Codebook<'a> {
    pub fn new(reference: &'a Reference, lang: Lang) -> Self {
        Codebook { reference, lang }
    }

    /// Position of a code in code order; margins last, unknown codes just before them.
    fn rank(&self, dim: Dimension, code: &str) -> (u8, usize) {
        if code == TOTAL {
            return (3, 0);
        }
        let position = match dim {
            Dimension::Provincia => self.reference.provinces.iter().position(|p| p.sigla == code),
            Dimension::Cittadinanza if code == OTHER_CITIZENSHIPS => {
                return (1, 0);
            }
            Dimension::Cittadinanza => self.reference.citizenships.iter().position(|c| c.codice == code),
            Dimension::CategoriaLmp => self
                .reference
                .lmp_categories
                .iter()
                .position(|c| c.categoria.to_string() == code),
            Dimension::Cpi => None,
            Dimension::Linked(column) => column.codes.iter().position(|c| c == code),
            other => other.fixed_order().iter().position(|c| *c == code),
        };
        match position {
            Some(p) => (0, p),
            None => (2, 0),
        }
    }

    pub fn compare(&self, dim: Dimension, a: &str, b: &str) -> Ordering {
        self.rank(dim, a)
            .cmp(&self.rank(dim, b))
            .then_with(|| a.as_bytes().cmp(b.as_bytes()))
    }

    pub fn label(&self, dim: Dimension, code: &str) -> String {
        let it = self.lang == Lang::It;
        if code == TOTAL {
            return if it { "Totale" } else { "Total" }.to_string();
        }
        let found = match dim {
            Dimension::Provincia => self
                .reference
                .provinces
                .iter()
                .find(|p| p.sigla == code)
                .map(|p| p.nome.clone()),
            Dimension::Cittadinanza if code == OTHER_CITIZENSHIPS => {
                Some(if it { "Altre cittadinanze" } else { "Other citizenships" }.to_string())
            }
            Dimension::Cittadinanza => self.reference.citizenships.iter().find(|c| c.codice == code).map(|c| {
                if it {
                    c.nome_it.clone()
                } else {
                    c.nome_en.clone()
                }
            }),
            Dimension::CategoriaLmp => self
                .reference
                .lmp_categories
                .iter()
                .find(|c| c.categoria.to_string() == code)
                .map(|c| if it { c.nome_it.clone() } else { c.nome_en.clone() }),
            // Short: they label bars a few characters wide.
            Dimension::Ente => match (code, it) {
                ("CPI", false) => Some("Job centres".to_string()),
                ("ACCREDITATO", true) => Some("Accreditati".to_string()),
                ("ACCREDITATO", false) => Some("Accredited".to_string()),
                _ => None,
            },
            Dimension::Linked(_) if code == UNLINKED => {
                Some(if it { "Non collegati" } else { "Not linked" }.to_string())
            }
            Dimension::Linked(column) => column.labels.get(code).cloned(),
            _ => None,
        };
        found.unwrap_or_else(|| code.to_string())
    }
}

/// Whether a cell may be published (`stato_cella`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CellStatus {
    #[default]
    Publishable,
    /// A count below the threshold.
    Primary,
    /// Hidden so that a primary cell cannot be recovered from a margin.
    Secondary,
}

impl CellStatus {
    pub fn code(self) -> &'static str {
        match self {
            CellStatus::Publishable => "s",
            CellStatus::Primary => "u",
            CellStatus::Secondary => "x",
        }
    }

    pub fn is_suppressed(self) -> bool {
        self != CellStatus::Publishable
    }
}

/// One cell of a breakdown: its codes (one per dimension) and counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub keys: Vec<String>,
    /// Eligible persons.
    pub population: u64,
    /// Beneficiaries among them.
    pub beneficiaries: u64,
    pub status: CellStatus,
}

impl Row {
    pub fn rate(&self) -> Option<f64> {
        (self.population > 0).then(|| self.beneficiaries as f64 / self.population as f64)
    }

    /// The rate, its Wilson interval at critical value `z`, and whether it is reliable.
    pub fn rate_values(&self, z: f64) -> [Value; 4] {
        let interval = crate::stats::wilson(self.beneficiaries, self.population, z);
        [
            self.rate().map_or(Value::Missing, Value::Proportion),
            interval.map_or(Value::Missing, |i| Value::Proportion(i.low)),
            interval.map_or(Value::Missing, |i| Value::Proportion(i.high)),
            Value::Flag(self.population >= RELIABLE_POPULATION),
        ]
    }

    pub fn is_margin(&self) -> bool {
        self.keys.iter().any(|k| k == TOTAL)
    }
}

/// Below this many eligible persons a rate is flagged as not reliable.
pub const RELIABLE_POPULATION: u64 = 20;

/// A breakdown table, rows in code order.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub dims: Vec<Dimension>,
    pub rows: Vec<Row>,
    /// Level of the confidence intervals, e.g. 0.95.
    pub confidence: f64,
    /// Whether the margin rows are printed. A published table always holds
    /// them: protection treats them as public, since another command
    /// prints them.
    pub margins_shown: bool,
}

impl Table {
    pub fn sort(&mut self, codebook: &Codebook) {
        let dims = self.dims.clone();
        self.rows.sort_by(|a, b| {
            dims.iter()
                .enumerate()
                .map(|(i, dim)| codebook.compare(*dim, &a.keys[i], &b.keys[i]))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    }

    pub fn has_margins(&self) -> bool {
        self.rows.iter().any(Row::is_margin)
    }

    /// The rows a renderer prints: all, or all but the margins.
    pub fn printed_rows(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| self.margins_shown || !r.is_margin())
    }

    /// The grid every renderer draws: column names and typed values, in
    /// output order. A suppressed cell shows nothing but its status.
    pub fn grid(&self, codebook: &Codebook) -> anyhow::Result<Grid> {
        let z = crate::stats::critical_value(self.confidence)?;
        let (low, high) = interval_columns("ic", self.confidence);
        let mut columns = key_columns(&self.dims);
        columns.extend([
            "popolazione".to_string(),
            "beneficiari".to_string(),
            "tasso".to_string(),
            low,
            high,
        ]);
        columns.extend(["affidabile", "stato_cella"].map(String::from));
        let rows = self
            .printed_rows()
            .map(|row| {
                let mut values = key_values(&self.dims, &row.keys, codebook);
                if row.status.is_suppressed() {
                    values.extend(std::iter::repeat_n(Value::Missing, 6));
                } else {
                    values.push(Value::Count(row.population));
                    values.push(Value::Count(row.beneficiaries));
                    values.extend(row.rate_values(z));
                }
                values.push(Value::Code(row.status.code().to_string()));
                values
            })
            .collect();
        Ok(Grid { columns, rows })
    }
}

/// Names of an interval's columns at a level: `ic95_inf`, `ic95_sup` at 0.95.
pub fn interval_columns(prefix: &str, confidence: f64) -> (String, String) {
    let level = format!("{}", (confidence * 1000.0).round() / 10.0).replace('.', "_");
    (format!("{prefix}{level}_inf"), format!("{prefix}{level}_sup"))
}

/// The columns the tables print beside their breakdowns and labels (with
/// `_ita` for the Italians' figures, and the intervals' columns).
const STATISTICS: [&str; 20] = [
    "popolazione",
    "beneficiari",
    "tasso",
    "affidabile",
    "stato_cella",
    "differenza",
    "rapporto",
    "indice_rappresentazione",
    "tasso_standardizzato",
    "anno",
    "giorni",
    "a_rischio",
    "eventi",
    "quota",
    "mediana_giorni",
    "logrank_chi2",
    "logrank_gdl",
    "logrank_p",
    "esiti",
    "gia_occupati",
];

/// Whether a column of a printed table holds a statistic, or the year or
/// day its row is for, rather than a breakdown. The audit takes a column
/// that is neither this, nor a label, nor a breakdown of the extract for a
/// linked file's breakdown; so a linked file may not name a column so.
pub fn is_statistic_column(name: &str) -> bool {
    let base = name.strip_suffix("_ita").unwrap_or(name);
    if STATISTICS.contains(&base) {
        return true;
    }
    ["ic", "diff_ic", "rapp_ic"].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("_inf").or_else(|| rest.strip_suffix("_sup")))
            .is_some_and(|level| !level.is_empty() && level.chars().all(|c| c.is_ascii_digit() || c == '_'))
    })
}

/// Whether a column of a printed table is a breakdown's label.
pub fn is_label_column(name: &str) -> bool {
    Dimension::ALL.iter().any(|d| d.label_column() == Some(name))
}

/// The code and label columns of the breakdowns.
pub fn key_columns(dims: &[Dimension]) -> Vec<String> {
    let mut columns = Vec::new();
    for dim in dims {
        columns.push(dim.name().to_string());
        if let Some(label) = dim.label_column() {
            columns.push(label.to_string());
        }
    }
    columns
}

pub fn key_values(dims: &[Dimension], keys: &[String], codebook: &Codebook) -> Vec<Value> {
    let mut values = Vec::new();
    for (dim, code) in dims.iter().zip(keys) {
        values.push(Value::Code(code.clone()));
        if dim.label_column().is_some() {
            values.push(Value::Text(codebook.label(*dim, code)));
        }
    }
    values
}

/// A typed cell of an output grid; each renderer decides how to write it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Code(String),
    Text(String),
    Count(u64),
    Proportion(f64),
    /// A signed number that is not a proportion (a difference, a ratio, an index).
    Number(f64),
    /// A number of days: whole, or half way between two (a median).
    Days(f64),
    /// A test's p-value, which people read to three decimals or as "< 0.001".
    PValue(f64),
    Flag(bool),
    Missing,
}

impl Value {
    /// The value of a non-count number, as machine formats write it.
    pub fn real(&self) -> Option<f64> {
        match self {
            Value::Proportion(x) | Value::Number(x) | Value::Days(x) | Value::PValue(x) => Some(*x),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// A row filter of a printed table (`--where BREAKDOWN=CODE`): the rows
/// whose breakdown holds the code. The table is computed and protected
/// whole, then only these rows are printed, so what is printed is a part of
/// a table protection has made safe as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFilter {
    pub dim: Dimension,
    pub code: String,
}

impl RowFilter {
    /// Parses `BREAKDOWN=CODE` filters on the person breakdowns of `dims`.
    pub fn parse_all(filters: &[String], dims: &[Dimension]) -> Result<Vec<RowFilter>> {
        let mut parsed: Vec<RowFilter> = Vec::new();
        for filter in filters {
            let Some((name, code)) = filter.split_once('=') else {
                bail!("--where {filter:?}: write it as BREAKDOWN=CODE, e.g. accoglienza=SAI");
            };
            let (name, code) = (name.trim().to_ascii_lowercase(), code.trim().to_string());
            let Some(dim) = dims.iter().copied().find(|d| d.name() == name) else {
                bail!("--where {filter:?}: {name} is not among the breakdowns of --by; add it there (the filter keeps its rows for {code})");
            };
            if dim.is_beneficiary_side() {
                bail!("--where {filter:?}: {name} breaks down activities, not persons; narrow the activities counted with --{name} instead");
            }
            if let Dimension::Linked(column) = dim {
                if !column.codes.contains(&code) {
                    bail!(
                        "--where {filter:?}: {code} is not a code of {name}; use one of {}",
                        column.codes.join(", ")
                    );
                }
            }
            if code.is_empty() || code == TOTAL {
                bail!("--where {filter:?}: give one code of {name}");
            }
            if parsed.iter().any(|f| f.dim == dim) {
                bail!("--where: {name} is filtered twice; keep one code per breakdown");
            }
            parsed.push(RowFilter { dim, code });
        }
        Ok(parsed)
    }
}

impl Grid {
    /// Keeps the rows every filter keeps.
    pub fn keep_where(&mut self, filters: &[RowFilter]) {
        let at: Vec<(usize, &str)> = filters
            .iter()
            .filter_map(|f| {
                self.columns
                    .iter()
                    .position(|c| c == f.dim.name())
                    .map(|i| (i, f.code.as_str()))
            })
            .collect();
        self.rows.retain(|row| {
            at.iter()
                .all(|(i, code)| matches!(&row[*i], Value::Code(c) if c == code))
        });
    }
}
