//! What a rejected row says: its file, line, column, value, reason and
//! the kind of rule it broke, with values cut to a readable length.

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
    pub problem: Problem,
}

/// What kind of rule a row broke, for summaries that group rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    FieldCount,
    Empty,
    NotAllowed,
    UnknownCode,
    BadYear,
    BadDate,
    DateOrder,
    AfterAsOf,
    Duplicate,
    UnknownPerson,
}

/// No identifier or job-centre code is longer; a longer value is a broken export.
pub const MAX_TEXT_BYTES: usize = 1000;
/// Values quoted in messages and reports are cut to this many characters.
pub(super) const SHOWN_CHARS: usize = 200;

pub fn shorten(value: &str) -> String {
    match value.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}... ({} bytes)", &value[..cut], value.len()),
        None => value.to_string(),
    }
}

/// The reject of a row whose reference `id` in `column` is to no kept person.
pub(super) fn unknown_person(file: &str, line: u64, column: &str, id: &str) -> Reject {
    Reject {
        file: file.to_string(),
        line,
        column: column.to_string(),
        value: shorten(id),
        reason: "unknown person: not among the valid rows of lavoratori.csv".to_string(),
        problem: Problem::UnknownPerson,
    }
}
