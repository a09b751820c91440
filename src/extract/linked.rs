//! Linked files put beside the extract's persons: each declared column
//! becomes a column of the persons' frame, holding a person's code as a
//! position among the column's codes (`NON_COLLEGATO` for a person the file
//! does not hold), so that breakdowns read it as they read `sesso`. A kept
//! row whose person is not among the extract's kept persons is rejected
//! here, and the linkage is counted by citizenship group.

use std::collections::{BTreeMap, HashMap};

use anyhow::{anyhow, Result};
use polars::prelude::*;

use super::reject::{unknown_person, Reject};
use super::schema::FileKind;
use super::{EncodingChoice, Extract};
use crate::link::{read::read, Links, PERSON_ID};
use crate::reference::Reference;
use crate::table::NOT_AVAILABLE;

/// The persons' identifiers as text, kept beside their positions while the
/// extract is loaded when files are to be linked (`LoadOptions::person_ids`).
pub const PERSON_ID_TEXT: &str = "__id_lav_text";

/// How many of the extract's persons a linked file holds, by citizenship group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linkage {
    pub file: String,
    /// Group, persons of the extract, of whom linked; groups in the
    /// tables' order.
    pub groups: Vec<(String, u64, u64)>,
}

const GROUP_ORDER: [&str; 4] = ["ITA", "UE", "EXTRA_UE", NOT_AVAILABLE];

impl Extract {
    /// Reads and checks each linked file, rejects its rows whose person the
    /// extract does not hold, and puts its columns beside the persons.
    /// Its rows read, kept and rejected join the extract's files and rejects.
    pub fn link(&mut self, links: &Links, encoding: EncodingChoice, reference: &Reference) -> Result<Vec<Linkage>> {
        let persons = self
            .frames
            .get_mut(&FileKind::Persons)
            .ok_or_else(|| anyhow!("lavoratori.csv was not loaded"))?;
        if links.is_empty() {
            return Ok(Vec::new());
        }
        let ids = persons
            .drop_in_place(PERSON_ID_TEXT)
            .map_err(|_| anyhow!("the extract was loaded without its persons' identifiers, which linking needs"))?;
        let ids = ids.str()?;
        let groups = person_groups(persons, reference)?;
        let mut linkages = Vec::new();
        for source in &links.sources {
            let mut rows = read(source, encoding)?;
            let by_id: HashMap<&str, usize> = rows.ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
            let mut columns: Vec<Vec<u32>> = source
                .columns
                .iter()
                .map(|c| vec![c.unlinked(); persons.height()])
                .collect();
            let mut found = vec![false; rows.ids.len()];
            let mut linked_by_group: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for (position, id) in ids.iter().enumerate() {
                let row = id.and_then(|id| by_id.get(id)).copied();
                let counts = linked_by_group.entry(groups[position]).or_default();
                counts.0 += 1;
                let Some(row) = row else { continue };
                counts.1 += 1;
                found[row] = true;
                for (column, values) in columns.iter_mut().zip(&rows.values) {
                    column[position] = values[row];
                }
            }
            let unknown: Vec<Reject> = found
                .iter()
                .enumerate()
                .filter(|(_, found)| !**found)
                .map(|(row, _)| unknown_person(&source.file, rows.lines[row], PERSON_ID, &rows.ids[row]))
                .collect();
            rows.report.rows_used -= unknown.len() as u64;
            rows.report.rows_rejected += unknown.len() as u64;
            rows.rejects.extend(unknown);
            for (column, values) in source.columns.iter().zip(columns) {
                persons.with_column(UInt32Chunked::from_vec(column.name.into(), values).into_column())?;
            }
            self.files.push(rows.report);
            self.rejects.append(&mut rows.rejects);
            linkages.push(Linkage {
                file: source.file.clone(),
                groups: in_group_order(linked_by_group),
            });
        }
        self.rejects.sort();
        Ok(linkages)
    }
}

/// Each person's citizenship group (`ND` where the citizenship is missing).
fn person_groups<'a>(persons: &DataFrame, reference: &'a Reference) -> Result<Vec<&'a str>> {
    let citizenships = persons.column("cittadinanza")?.u32()?;
    Ok(citizenships
        .iter()
        .map(|at| {
            at.and_then(|at| reference.citizenships.get(at as usize))
                .map_or(NOT_AVAILABLE, |c| c.gruppo.as_str())
        })
        .collect())
}

fn in_group_order(counts: BTreeMap<&str, (u64, u64)>) -> Vec<(String, u64, u64)> {
    let rank = |group: &str| {
        GROUP_ORDER
            .iter()
            .position(|g| *g == group)
            .unwrap_or(GROUP_ORDER.len())
    };
    let mut groups: Vec<(String, u64, u64)> = counts
        .into_iter()
        .map(|(group, (persons, linked))| (group.to_string(), persons, linked))
        .collect();
    groups.sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.0.cmp(&b.0)));
    groups
}
