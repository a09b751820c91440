//! The four files of an extract and the rule each column obeys
//! (`spec/extract.md`), as data the validator walks.

use crate::table::PROVIDERS;

/// What a column holds, which decides its parsing and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A row identifier: non-empty, unique in the file.
    Id,
    /// A reference to `lavoratori.id_lav`.
    PersonRef,
    /// Free text, required.
    Text,
    /// A date, `dd/mm/yyyy` or `yyyy-mm-dd`.
    Date,
    /// A birth year.
    Year,
    /// A code from one of the reference tables.
    Code(CodeList),
    /// One of a fixed set of values.
    Enum(&'static [&'static str]),
}

impl Kind {
    /// The values a code or enumeration column may hold, in the order that
    /// the extract numbers them once read (see `extract::Extract`); none for
    /// other kinds.
    pub fn values(self, reference: &crate::reference::Reference) -> Option<Vec<&str>> {
        match self {
            Kind::Enum(values) => Some(values.to_vec()),
            Kind::Code(CodeList::Citizenship) => {
                Some(reference.citizenships.iter().map(|c| c.codice.as_str()).collect())
            }
            Kind::Code(CodeList::Province) => Some(reference.provinces.iter().map(|p| p.codice.as_str()).collect()),
            Kind::Code(CodeList::Activity) => Some(reference.activities.iter().map(|a| a.codice.as_str()).collect()),
            Kind::Id | Kind::PersonRef | Kind::Text | Kind::Date | Kind::Year => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeList {
    Citizenship,
    Province,
    Activity,
}

impl CodeList {
    /// The reference table that lists the codes.
    pub fn file(self) -> &'static str {
        match self {
            CodeList::Citizenship => crate::reference::CITIZENSHIPS_FILE,
            CodeList::Province => crate::reference::PROVINCES_FILE,
            CodeList::Activity => crate::reference::ACTIVITIES_FILE,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// An empty value is allowed (and `NULL`, `null`, `-` mean empty).
    pub optional: bool,
    /// For an end date: the start date it may not precede.
    pub not_before: Option<&'static str>,
}

const fn column(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: false,
        not_before: None,
    }
}

const fn optional(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: true,
        not_before: None,
    }
}

const fn end_date(name: &'static str, start: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        kind: Kind::Date,
        optional: true,
        not_before: Some(start),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Persons,
    Spells,
    Activities,
    Hirings,
}

pub struct FileSpec {
    pub kind: FileKind,
    pub name: &'static str,
    pub required: bool,
    pub columns: &'static [ColumnSpec],
    /// The columns the indicators read, and every date column (the report
    /// gives their ranges); analyses keep only these once the rows are
    /// validated, which leaves the memory to the queries.
    pub analysed: &'static [&'static str],
}

pub const SEX: &[&str] = &["M", "F"];
pub const EDUCATION: &[&str] = &["BASSO", "MEDIO", "ALTO"];
pub const YES_NO: &[&str] = &["S", "N"];
pub const OUTCOMES: &[&str] = &["AVVIATA", "CONCLUSA", "INTERROTTA", "RIFIUTATA"];
pub const CONTRACTS: &[&str] = &["TI", "TD", "APPR", "SOMM", "ALTRO"];
/// The outcome that never counts as access.
pub const REFUSED: &str = "RIFIUTATA";

pub const PERSONS: FileSpec = FileSpec {
    kind: FileKind::Persons,
    name: "lavoratori.csv",
    required: true,
    columns: &[
        column("id_lav", Kind::Id),
        column("sesso", Kind::Enum(SEX)),
        column("anno_nascita", Kind::Year),
        column("cittadinanza", Kind::Code(CodeList::Citizenship)),
        column("prov_domicilio", Kind::Code(CodeList::Province)),
        optional("titolo_studio", Kind::Enum(EDUCATION)),
        optional("motivo_permesso", Kind::Enum(&crate::table::PERMIT_REASONS)),
        optional("ex_msna", Kind::Enum(YES_NO)),
    ],
    analysed: &[
        "id_lav",
        "sesso",
        "anno_nascita",
        "cittadinanza",
        "titolo_studio",
        "motivo_permesso",
        "ex_msna",
    ],
};

pub const SPELLS: FileSpec = FileSpec {
    kind: FileKind::Spells,
    name: "did.csv",
    required: true,
    columns: &[
        column("id_did", Kind::Id),
        column("id_lav", Kind::PersonRef),
        column("data_did", Kind::Date),
        end_date("data_fine", "data_did"),
        column("cpi", Kind::Text),
        column("prov_cpi", Kind::Code(CodeList::Province)),
    ],
    analysed: &["id_did", "id_lav", "data_did", "data_fine", "cpi", "prov_cpi"],
};

pub const ACTIVITIES: FileSpec = FileSpec {
    kind: FileKind::Activities,
    name: "politiche.csv",
    required: true,
    columns: &[
        column("id_pol", Kind::Id),
        column("id_lav", Kind::PersonRef),
        column("cod_attivita", Kind::Code(CodeList::Activity)),
        column("data_inizio", Kind::Date),
        end_date("data_fine", "data_inizio"),
        column("esito", Kind::Enum(OUTCOMES)),
        column("programma", Kind::Enum(&crate::table::PROGRAMMES)),
        column("ente", Kind::Enum(&PROVIDERS)),
    ],
    analysed: &[
        "id_lav",
        "cod_attivita",
        "data_inizio",
        "data_fine",
        "esito",
        "programma",
        "ente",
    ],
};

pub const HIRINGS: FileSpec = FileSpec {
    kind: FileKind::Hirings,
    name: "avviamenti.csv",
    required: false,
    columns: &[
        column("id_avv", Kind::Id),
        column("id_lav", Kind::PersonRef),
        column("data_avviamento", Kind::Date),
        end_date("data_cessazione", "data_avviamento"),
        column("tipo_contratto", Kind::Enum(CONTRACTS)),
        column("prov_sede", Kind::Code(CodeList::Province)),
    ],
    analysed: &["id_lav", "data_avviamento", "data_cessazione", "tipo_contratto"],
};

pub const ALL_FILES: [&FileSpec; 4] = [&PERSONS, &SPELLS, &ACTIVITIES, &HIRINGS];

impl ColumnSpec {
    /// Whether the rules after stage 1 read the column: dates and birth
    /// years against the as-of date, identifiers for duplicates, person
    /// references against lavoratori.csv.
    pub fn read_by_later_rules(&self) -> bool {
        matches!(self.kind, Kind::Date | Kind::Year | Kind::Id | Kind::PersonRef)
    }
}

impl FileSpec {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns an analysis reads. `id_did` only breaks ties between a
    /// person's spells of the same date, so spells already in that order
    /// (see `Layout::spells_by_person`) need it no more.
    pub fn analysed_columns(&self, spells_in_order: bool) -> Vec<&'static str> {
        let order_only = |name: &str| spells_in_order && self.kind == FileKind::Spells && name == "id_did";
        self.analysed.iter().copied().filter(|name| !order_only(name)).collect()
    }
}

impl FileKind {
    pub fn spec(self) -> &'static FileSpec {
        match self {
            FileKind::Persons => &PERSONS,
            FileKind::Spells => &SPELLS,
            FileKind::Activities => &ACTIVITIES,
            FileKind::Hirings => &HIRINGS,
        }
    }
}
