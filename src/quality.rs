//! The data-quality report of `validate`: for each file what was read, used
//! and rejected by reason (with the first offending lines), the date ranges,
//! unknown codes, duplicate identifiers and references to unknown persons;
//! with linked files, their rows too and how many persons each holds.

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::Result;
use serde::Serialize;

use crate::extract::{Extract, FileReport, Linkage, Problem, Reject};

/// How many offending lines a reason lists.
const FIRST_LINES: usize = 5;

#[derive(Debug, Serialize)]
pub struct QualityReport {
    pub extract: String,
    pub as_of: String,
    pub as_of_given: bool,
    pub rows_rejected: u64,
    pub files: Vec<FileQuality>,
    pub unknown_codes: Vec<CodeCount>,
    /// How many of the extract's persons each linked file holds, by group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub linkage: Vec<Linkage>,
}

#[derive(Debug, Serialize)]
pub struct FileQuality {
    /// File name, encoding, separator, rows read, used and rejected, extra columns.
    #[serde(flatten)]
    pub read: FileReport,
    pub rejected_by_reason: Vec<ReasonCount>,
    /// Identifiers that appear on more than one row, and on how many rows.
    pub duplicate_ids: u64,
    pub duplicate_rows: u64,
    pub unknown_person_rows: u64,
    pub dates_after_as_of: u64,
    pub date_ranges: Vec<DateSpan>,
}

#[derive(Debug, Serialize)]
pub struct ReasonCount {
    pub column: String,
    pub reason: String,
    pub rows: u64,
    pub first_lines: Vec<u64>,
}

#[derive(Debug, Serialize)]
pub struct DateSpan {
    pub column: String,
    pub first: Option<String>,
    pub last: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CodeCount {
    pub file: String,
    pub column: String,
    pub code: String,
    pub rows: u64,
}

pub fn assess(extract: &Extract, linkages: &[Linkage], as_of_given: bool) -> Result<QualityReport> {
    let ranges = extract.date_ranges()?;
    let iso = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let mut files = Vec::new();
    for report in &extract.files {
        let rejects: Vec<&Reject> = extract.rejects.iter().filter(|r| r.file == report.file).collect();
        let count = |problem: Problem| rejects.iter().filter(|r| r.problem == problem).count() as u64;
        let mut by_reason: BTreeMap<(&str, &str), Vec<u64>> = BTreeMap::new();
        for r in &rejects {
            by_reason.entry((&r.column, &r.reason)).or_default().push(r.line);
        }
        let mut rejected_by_reason: Vec<ReasonCount> = by_reason
            .into_iter()
            .map(|((column, reason), lines)| ReasonCount {
                column: column.to_string(),
                reason: reason.to_string(),
                rows: lines.len() as u64,
                first_lines: lines.into_iter().take(FIRST_LINES).collect(),
            })
            .collect();
        rejected_by_reason.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.first_lines.cmp(&b.first_lines)));
        let mut duplicated: Vec<&str> = rejects
            .iter()
            .filter(|r| r.problem == Problem::Duplicate)
            .map(|r| r.value.as_str())
            .collect();
        let duplicate_rows = duplicated.len() as u64;
        duplicated.sort_unstable();
        duplicated.dedup();
        files.push(FileQuality {
            read: report.clone(),
            rejected_by_reason,
            duplicate_ids: duplicated.len() as u64,
            duplicate_rows,
            unknown_person_rows: count(Problem::UnknownPerson),
            dates_after_as_of: count(Problem::AfterAsOf),
            date_ranges: ranges
                .iter()
                .filter(|r| r.file == report.file)
                .map(|r| DateSpan {
                    column: r.column.to_string(),
                    first: iso(r.first),
                    last: iso(r.last),
                })
                .collect(),
        });
    }
    let mut codes: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for r in extract.rejects.iter().filter(|r| r.problem == Problem::UnknownCode) {
        *codes.entry((&r.file, &r.column, &r.value)).or_default() += 1;
    }
    let unknown_codes = codes
        .into_iter()
        .map(|((file, column, code), rows)| CodeCount {
            file: file.to_string(),
            column: column.to_string(),
            code: code.to_string(),
            rows,
        })
        .collect();
    Ok(QualityReport {
        extract: extract.location.describe(),
        as_of: extract.as_of.format("%Y-%m-%d").to_string(),
        as_of_given,
        rows_rejected: extract.rows_rejected(),
        files,
        unknown_codes,
        linkage: linkages.to_vec(),
    })
}

impl QualityReport {
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("the report serialises");
        bytes.push(b'\n');
        bytes
    }

    /// The summary an analyst reads in a terminal.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = String::new();
        let origin = if self.as_of_given {
            "given"
        } else {
            "latest date in the files"
        };
        let _ = writeln!(out, "Extract {} (as-of {}, {origin})", self.extract, self.as_of);
        for f in &self.files {
            let read = &f.read;
            let _ = writeln!(
                out,
                "\n{} ({}, separator '{}')",
                read.file, read.encoding, read.separator
            );
            let _ = writeln!(
                out,
                "  rows: {} read, {} used, {} rejected",
                read.rows_read, read.rows_used, read.rows_rejected
            );
            if !read.extra_columns.is_empty() {
                let _ = writeln!(out, "  extra columns (ignored): {}", read.extra_columns.join(", "));
            }
            for r in &f.rejected_by_reason {
                let lines: Vec<String> = r.first_lines.iter().map(u64::to_string).collect();
                let more = if r.rows as usize > r.first_lines.len() {
                    ", ..."
                } else {
                    ""
                };
                let column = if r.column.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", r.column)
                };
                let _ = writeln!(
                    out,
                    "  {:>7} rejected, {column}{} (lines {}{more})",
                    r.rows,
                    r.reason,
                    lines.join(", ")
                );
            }
            if f.duplicate_ids > 0 {
                let _ = writeln!(
                    out,
                    "  duplicate identifiers: {} values on {} rows",
                    f.duplicate_ids, f.duplicate_rows
                );
            }
            if f.unknown_person_rows > 0 {
                let _ = writeln!(out, "  references to unknown persons: {} rows", f.unknown_person_rows);
            }
            if f.dates_after_as_of > 0 {
                let _ = writeln!(out, "  dates after the as-of date: {} rows", f.dates_after_as_of);
            }
            for d in &f.date_ranges {
                let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
                let _ = writeln!(out, "  {}: {} to {}", d.column, show(&d.first), show(&d.last));
            }
        }
        if !self.unknown_codes.is_empty() {
            let _ = writeln!(out, "\nCodes not in the reference tables:");
            for c in &self.unknown_codes {
                let _ = writeln!(out, "  {} {} {:?}: {} rows", c.file, c.column, c.code, c.rows);
            }
        }
        if !self.linkage.is_empty() {
            let _ = writeln!(out);
            for line in self.linkage.iter().flat_map(Linkage::describe) {
                let _ = writeln!(out, "{line}");
            }
        }
        let verdict = if self.rows_rejected == 0 {
            "clean: every row is usable".to_string()
        } else {
            format!(
                "{} rows rejected; list them all with --rejects FILE",
                self.rows_rejected
            )
        };
        let _ = writeln!(out, "\n{verdict}");
        out.into_bytes()
    }
}
