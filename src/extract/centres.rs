//! The job centres an extract's spells name, and how many of each one's
//! did.csv rows were used and rejected. The per-centre fact
//! sheets show the rejected rows as the centre's own data quality.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use polars::prelude::*;

use super::reader::dialect::{prepare, prepare_path, EncodingChoice, FileBytes};
use super::reader::records::{fields, records};
use super::schema::FileKind;
use super::{Extract, Location};

/// One job centre's did.csv rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CentreRows {
    pub rows_used: u64,
    pub rows_rejected: u64,
}

/// The job centres of did.csv by their `cpi` text. A rejected row whose
/// `cpi` cannot be read (an empty field, a broken line) belongs to no
/// centre; the regional report's quality tables count it.
#[derive(Debug, Clone, Default)]
pub struct Centres {
    pub by_code: BTreeMap<String, CentreRows>,
}

impl Extract {
    /// The did.csv rows of every job centre, used and rejected: the
    /// rejected rows are read again from did.csv (only when there are any)
    /// because a reject keeps the value that broke its rule, not its centre.
    pub fn centres(&self) -> Result<Centres> {
        let mut centres = Centres::default();
        let counts = self
            .frame(FileKind::Spells)?
            .clone()
            .lazy()
            .group_by([col("cpi")])
            .agg([len().alias("rows")])
            .collect()?;
        let codes = counts.column("cpi")?.str()?;
        let rows = counts.column("rows")?.idx()?;
        for (code, n) in codes.iter().zip(rows.iter()) {
            if let (Some(code), Some(n)) = (code, n) {
                centres.by_code.entry(code.to_string()).or_default().rows_used += u64::from(n);
            }
        }
        let name = FileKind::Spells.spec().name;
        let lines: Vec<u64> = self.rejects.iter().filter(|r| r.file == name).map(|r| r.line).collect();
        if !lines.is_empty() {
            for code in self.centres_of_lines(name, &lines)?.into_iter().flatten() {
                centres.by_code.entry(code).or_default().rows_rejected += 1;
            }
        }
        Ok(centres)
    }

    /// The `cpi` field of each of `lines` of the file `name`, numbered as
    /// rejects number them: the header is line 1, then one per record (a
    /// line break inside quotes does not end one; a blank line does).
    fn centres_of_lines(&self, name: &str, lines: &[u64]) -> Result<Vec<Option<String>>> {
        let encoding = match self.files.iter().find(|f| f.file == name).map(|f| f.encoding.as_str()) {
            Some("Windows-1252") => EncodingChoice::Windows1252,
            _ => EncodingChoice::Utf8,
        };
        let prepared = match &self.location {
            Location::Dir(dir) => prepare_path(&dir.join(name), encoding)?,
            Location::Sample => prepare(
                FileBytes::Static(crate::sample::file(name).context("the sample holds did.csv")?),
                name,
                encoding,
            )?,
        };
        let column = prepared.header.iter().position(|h| h == "cpi");
        let mut wanted: Vec<u64> = lines.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let body = &prepared.bytes.as_ref()[prepared.body_start..];
        let mut records = records(body).enumerate().peekable();
        Ok(wanted
            .into_iter()
            .map(|line| {
                let index = (line - 2) as usize;
                while records.next_if(|(i, _)| *i < index).is_some() {}
                let record = records.next_if(|(i, _)| *i == index).map(|(_, r)| r)?;
                let text = fields(record, prepared.separator).into_iter().nth(column?)?;
                let text = text.trim();
                (!text.is_empty()).then(|| text.to_string())
            })
            .collect())
    }
}
