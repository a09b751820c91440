//! The rows of a linked file, checked as the extract's are: every row is
//! kept or rejected with its line, column, value and reason, so that rows
//! read = rows kept + rows rejected. Whether a kept row's person is in the
//! extract is checked when the rows are put beside the persons
//! (`extract::linked`).

use std::collections::HashMap;

use anyhow::{bail, Result};

use super::{LinkedSource, PERSON_ID};
use crate::extract::{
    fields, prepare_path, records, shorten, EncodingChoice, FileReport, Problem, Reject, MAX_TEXT_BYTES,
};

/// The rows of a linked file that passed its rules.
pub struct LinkedRows {
    pub report: FileReport,
    pub rejects: Vec<Reject>,
    /// Each kept row's line, person and, per declared column, the position
    /// of its value among the column's codes.
    pub lines: Vec<u64>,
    pub ids: Vec<String>,
    pub values: Vec<Vec<u32>>,
}

/// Reads and checks the rows of `source`; an identifier shaped like a
/// codice fiscale stops the run, as in the extract.
pub fn read(source: &LinkedSource, encoding: EncodingChoice) -> Result<LinkedRows> {
    let prepared = prepare_path(&source.path, encoding)?;
    let file = &source.file;
    let at = |name: &str| prepared.header.iter().position(|h| h == name);
    let Some(id_at) = at(PERSON_ID) else {
        bail!(
            "{file}: no {PERSON_ID} column; the header has: {}. A linked file names each person by the pseudonymised {PERSON_ID} of the extract",
            prepared.header.join(", ")
        );
    };
    let mut column_at = Vec::new();
    for column in &source.columns {
        let Some(i) = at(column.name) else {
            bail!(
                "{file}: no column {} although its declaration lists it; the header has: {}. Add the column to the file, or remove it from {}",
                column.name,
                prepared.header.join(", "),
                super::declaration_path(&source.path).display()
            );
        };
        column_at.push(i);
    }
    let extra_columns: Vec<String> = prepared
        .header
        .iter()
        .filter(|h| h.as_str() != PERSON_ID && !source.columns.iter().any(|c| c.name == h.as_str()))
        .cloned()
        .collect();

    let mut rows = LinkedRows {
        report: FileReport::new(file, &prepared, extra_columns),
        rejects: Vec::new(),
        lines: Vec::new(),
        ids: Vec::new(),
        values: vec![Vec::new(); source.columns.len()],
    };
    let reject = |line: u64, column: &str, value: &str, reason: String, problem: Problem| Reject {
        file: file.clone(),
        line,
        column: column.to_string(),
        value: shorten(value),
        reason,
        problem,
    };
    let declared_in = super::declaration_path(&source.path)
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let body = &prepared.bytes.as_ref()[prepared.body_start..];
    for (number, record) in records(body).enumerate() {
        // The header is line 1; a line break inside quotes does not end a
        // record, a blank line is one (rejected for its field count).
        let line = number as u64 + 2;
        rows.report.rows_read += 1;
        let fields = fields(record, prepared.separator);
        if fields.len() != prepared.header.len() {
            let text = String::from_utf8_lossy(record);
            rows.rejects.push(reject(
                line,
                "",
                &text,
                format!(
                    "{} fields where the header has {}: check the separator and the quotes",
                    fields.len(),
                    prepared.header.len()
                ),
                Problem::FieldCount,
            ));
            continue;
        }
        let id = fields[id_at].trim();
        if id.is_empty() {
            rows.rejects.push(reject(
                line,
                PERSON_ID,
                id,
                format!("empty {PERSON_ID}: every row names its person"),
                Problem::Empty,
            ));
            continue;
        }
        if id.len() > MAX_TEXT_BYTES {
            rows.rejects.push(reject(
                line,
                PERSON_ID,
                id,
                format!("{PERSON_ID} longer than {MAX_TEXT_BYTES} bytes: not an identifier"),
                Problem::NotAllowed,
            ));
            continue;
        }
        if crate::pseudonym::looks_like_codice_fiscale(id) {
            bail!(
                "{file}, line {line}: {PERSON_ID} holds what looks like a codice fiscale; analyses run only on pseudonymised files: run `silp-access pseudonymise --in DIR --out NEW_DIR --key-file KEY --link {file}` with the extract's key"
            );
        }
        let mut coded = Vec::with_capacity(source.columns.len());
        let mut broken = None;
        for (column, &i) in source.columns.iter().zip(&column_at) {
            let value = fields[i].trim();
            if value.is_empty() {
                coded.push(column.not_available());
                continue;
            }
            match column.declared().iter().position(|c| c == value) {
                Some(p) => coded.push(p as u32),
                None => {
                    broken = Some(reject(
                        line,
                        column.name,
                        value,
                        format!(
                            "not a code of {} declared in {declared_in}: {}",
                            column.name,
                            column.declared().join(", ")
                        ),
                        Problem::UnknownCode,
                    ));
                    break;
                }
            }
        }
        if let Some(broken) = broken {
            rows.rejects.push(broken);
            continue;
        }
        rows.lines.push(line);
        rows.ids.push(id.to_string());
        for (values, value) in rows.values.iter_mut().zip(coded) {
            values.push(value);
        }
    }
    reject_repeated_persons(&mut rows, &reject);
    rows.rejects.sort();
    rows.report.rows_used = rows.ids.len() as u64;
    rows.report.rows_rejected = rows.report.rows_read - rows.report.rows_used;
    Ok(rows)
}

/// Every row of a person named twice is rejected, as the extract rejects
/// repeated identifiers: which of the rows is right cannot be told.
fn reject_repeated_persons(rows: &mut LinkedRows, reject: &dyn Fn(u64, &str, &str, String, Problem) -> Reject) {
    let mut seen: HashMap<&str, u32> = HashMap::with_capacity(rows.ids.len());
    for id in &rows.ids {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    let repeated: Vec<bool> = rows.ids.iter().map(|id| seen[id.as_str()] > 1).collect();
    if !repeated.contains(&true) {
        return;
    }
    for (i, _) in repeated.iter().enumerate().filter(|(_, r)| **r) {
        rows.rejects.push(reject(
            rows.lines[i],
            PERSON_ID,
            &rows.ids[i],
            format!("duplicate {PERSON_ID}: every row with this value is rejected"),
            Problem::Duplicate,
        ));
    }
    keep_unrepeated(&mut rows.lines, &repeated);
    keep_unrepeated(&mut rows.ids, &repeated);
    for values in &mut rows.values {
        keep_unrepeated(values, &repeated);
    }
}

fn keep_unrepeated<T>(values: &mut Vec<T>, repeated: &[bool]) {
    let mut at = 0;
    values.retain(|_| {
        at += 1;
        !repeated[at - 1]
    });
}
