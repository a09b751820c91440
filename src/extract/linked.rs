//! Linked files put beside the extract's persons: each declared column
//! becomes a column of the persons' frame, holding a person's code as a
//! position among the column's codes (`NON_COLLEGATO` for a person the file
//! does not hold), so that breakdowns read it as they read `sesso`. A kept
//! row whose person is not among the extract's kept persons is rejected
//! here, and the linkage is counted by citizenship group.

use anyhow::{anyhow, Result};
use polars::prelude::*;

use super::reject::{unknown_person, Reject, MAX_TEXT_BYTES};
use super::resolve::index::{PersonIndex, TOO_LONG, UNKNOWN};
use super::schema::FileKind;
use super::{EncodingChoice, Extract, PersonKey};
use crate::link::{read::read, Links, PERSON_ID};
use crate::reference::Reference;
use crate::table::NOT_AVAILABLE;

/// The persons' identifiers as text, kept beside their positions while the
/// extract is loaded when files are to be linked (`LoadOptions::person_ids`).
pub const PERSON_ID_TEXT: &str = "__id_lav_text";

/// How many of the extract's persons a linked file holds, by citizenship group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Linkage {
    pub file: String,
    /// In the tables' order of the groups.
    pub groups: Vec<GroupLinkage>,
}

/// The persons of one citizenship group in the extract, and of them linked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupLinkage {
    pub group: String,
    pub persons: u64,
    pub linked: u64,
}

impl Linkage {
    /// The lines an analyst reads: the file's share of the extract's
    /// persons, then each group's.
    pub fn describe(&self) -> Vec<String> {
        let share = |linked: u64, persons: u64| {
            if persons == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", 100.0 * linked as f64 / persons as f64)
            }
        };
        let persons: u64 = self.groups.iter().map(|g| g.persons).sum();
        let linked: u64 = self.groups.iter().map(|g| g.linked).sum();
        let mut lines = vec![format!(
            "linkage of {}: {linked} of the extract's {persons} persons are in it ({})",
            self.file,
            share(linked, persons)
        )];
        for g in &self.groups {
            lines.push(format!(
                "  {}: {} of {} linked ({}), {} not linked",
                g.group,
                g.linked,
                g.persons,
                share(g.linked, g.persons),
                g.persons - g.linked
            ));
        }
        lines
    }
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
        // Loaded for an analysis, `id_lav` holds positions and the text is
        // kept aside until now; loaded whole (validate), it is the text.
        let ids = match self.persons {
            PersonKey::Text => persons.column("id_lav")?.clone(),
            PersonKey::Position(_) => persons
                .drop_in_place(PERSON_ID_TEXT)
                .map_err(|_| anyhow!("the extract was loaded without its persons' identifiers, which linking needs"))?,
        };
        // One chunk, which the index shares instead of copying every view.
        let ids = ids.str()?.rechunk().into_owned();
        // The extract's persons are indexed once and each linked row looked
        // up: a linked file holds a small part of the persons, and the
        // index resolves references in batches that hide their cache misses
        // (looking every person up in a table of the linked rows was the
        // slower half of a linked analysis at 10 million persons).
        let index = PersonIndex::new(&ids);
        let (groups, group_of) = person_groups(persons, reference)?;
        let mut persons_by_group = vec![0u64; groups.len()];
        for group in &group_of {
            persons_by_group[*group as usize] += 1;
        }
        let mut linkages = Vec::new();
        for source in &links.sources {
            let mut rows = read(source, encoding)?;
            let references: Vec<Option<&str>> = rows.ids.iter().map(|id| Some(id.as_str())).collect();
            let found: Vec<Option<usize>> = index
                .resolve(&references, MAX_TEXT_BYTES)
                .into_iter()
                .map(|p| p.filter(|p| ![UNKNOWN, TOO_LONG].contains(p)).map(|p| p as usize))
                .collect();
            let mut columns: Vec<Vec<u32>> = source
                .columns
                .iter()
                .map(|c| vec![c.unlinked(); persons.height()])
                .collect();
            let mut linked_by_group = vec![0u64; groups.len()];
            for (row, position) in found.iter().enumerate() {
                let Some(position) = *position else {
                    continue;
                };
                linked_by_group[group_of[position] as usize] += 1;
                for (column, values) in columns.iter_mut().zip(&rows.values) {
                    column[position] = values[row];
                }
            }
            let counts: Vec<(u64, u64)> = persons_by_group.iter().copied().zip(linked_by_group).collect();
            let unknown: Vec<Reject> = found
                .iter()
                .enumerate()
                .filter(|(_, found)| found.is_none())
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
                groups: in_group_order(&groups, &counts),
            });
        }
        self.rejects.sort();
        Ok(linkages)
    }
}

/// The citizenship groups, and each person's group among them (`ND`
/// where the citizenship is missing).
fn person_groups<'a>(persons: &DataFrame, reference: &'a Reference) -> Result<(Vec<&'a str>, Vec<u8>)> {
    let mut groups: Vec<&str> = vec![NOT_AVAILABLE];
    let mut group_of_citizenship = Vec::with_capacity(reference.citizenships.len());
    for citizenship in &reference.citizenships {
        let group = citizenship.gruppo.as_str();
        let at = groups.iter().position(|g| *g == group).unwrap_or_else(|| {
            groups.push(group);
            groups.len() - 1
        });
        group_of_citizenship.push(at as u8);
    }
    let citizenships = persons.column("cittadinanza")?.u32()?;
    let group_of = citizenships
        .iter()
        .map(|at| {
            at.and_then(|at| group_of_citizenship.get(at as usize).copied())
                .unwrap_or(0)
        })
        .collect();
    Ok((groups, group_of))
}

/// The groups with any person, in the tables' order.
fn in_group_order(groups: &[&str], counts: &[(u64, u64)]) -> Vec<GroupLinkage> {
    let rank = |group: &str| {
        GROUP_ORDER
            .iter()
            .position(|g| *g == group)
            .unwrap_or(GROUP_ORDER.len())
    };
    let mut found: Vec<GroupLinkage> = groups
        .iter()
        .zip(counts)
        .filter(|(_, (persons, _))| *persons > 0)
        .map(|(group, (persons, linked))| GroupLinkage {
            group: group.to_string(),
            persons: *persons,
            linked: *linked,
        })
        .collect();
    found.sort_by(|a, b| rank(&a.group).cmp(&rank(&b.group)).then_with(|| a.group.cmp(&b.group)));
    found
}
