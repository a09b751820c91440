//! The published set: every cell that one command, one report or one job
//! publishes together, and the identity that makes a cell printed in two
//! tables one cell (`spec/indicators.md`, "What counts as published with
//! it"). Protection builds it from the tables it computed; the audit
//! builds it from the files in a folder; both then reason on the same cells.

use std::collections::BTreeMap;

use crate::reference::Reference;
use crate::table::{CellStatus, Dimension, OTHER_CITIZENSHIPS, TOTAL};

/// Which persons a table counts (population and period) and which
/// activities make one of them a beneficiary. Two tables' cells with the
/// same codes are the same cell only within one scope; the population
/// (`n`) is shared by every selection of activities within a universe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// Population and period, e.g. `stock 2024-01-01 2024-12-31`.
    pub universe: String,
    /// The activities counted, e.g. `lmp 1,2,3,4,5,6,7`.
    pub activities: String,
}

/// One table of the set.
#[derive(Debug, Clone)]
pub struct PublishedTable {
    /// File or table name, for messages.
    pub name: String,
    pub scope: Scope,
    pub dims: Vec<Dimension>,
    pub rows: Vec<PublishedRow>,
    /// The table has a row for every combination of codes that has persons,
    /// so an intruder knows a missing combination is empty.
    pub lists_every_cell: bool,
}

/// A cell as the set holds it: its codes (one per dimension, `TOTALE` for
/// a margin), its counts when known, and whether they are published.
#[derive(Debug, Clone)]
pub struct PublishedRow {
    pub keys: Vec<String>,
    /// Eligible persons and beneficiaries: known to protection for every
    /// cell, to the audit only for published ones.
    pub counts: Option<(u64, u64)>,
    pub status: CellStatus,
}

/// The citizenship persons belong to, whichever breakdown named it:
/// `gruppo_cittadinanza`, `straniero` and `cittadinanza` are views of one
/// attribute, so `ITA`, `100` and the Italians of `straniero` are one cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Citizenship {
    /// Every citizenship of these groups (`ITA`, `UE`, `EXTRA_UE`, `ND`).
    Groups(Vec<String>),
    /// One ISTAT code.
    Code(String),
    /// Every foreign citizenship but these codes (`ALTRE` of a top-N table).
    OthersBut(Vec<String>),
}

/// A person-side coordinate of a cell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Coordinate {
    Citizenship(Citizenship),
    Code(Dimension, String),
}

/// The identity of a cell across the tables of a set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellKey {
    pub universe: String,
    /// The activities counted, with the activity-side codes (programme,
    /// LMP category) that restrict them.
    pub activities: String,
    pub persons: Vec<Coordinate>,
}

impl CellKey {
    /// The population this cell counts, whatever activities it counts.
    pub fn population(&self) -> (String, Vec<Coordinate>) {
        (self.universe.clone(), self.persons.clone())
    }

    /// A short readable form for messages and the audit's rows.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.persons.iter().map(describe_coordinate).collect();
        if parts.is_empty() {
            parts.push("totale".to_string());
        }
        let scope: Vec<&str> = [self.universe.as_str(), self.activities.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        if scope.is_empty() {
            parts.join(", ")
        } else {
            format!("{} [{}]", parts.join(", "), scope.join("; "))
        }
    }
}

fn describe_coordinate(c: &Coordinate) -> String {
    match c {
        Coordinate::Citizenship(Citizenship::Groups(g)) => format!("cittadinanza={}", g.join("+")),
        Coordinate::Citizenship(Citizenship::Code(code)) => format!("cittadinanza={code}"),
        Coordinate::Citizenship(Citizenship::OthersBut(_)) => format!("cittadinanza={OTHER_CITIZENSHIPS}"),
        Coordinate::Code(dim, code) => format!("{dim}={code}"),
    }
}

/// Codes a pooled group stands for (see `recode`).
pub fn pooled_groups(code: &str) -> Option<&'static [&'static str]> {
    match code {
        super::recode::POOLED_NON_EU => Some(&["EXTRA_UE", "ND"]),
        super::recode::POOLED_FOREIGN => Some(&["UE", "EXTRA_UE", "ND"]),
        _ => None,
    }
}

/// The groups of the citizenship reference, for naming a code by its group.
pub struct Groups<'a> {
    reference: &'a Reference,
}

impl<'a> Groups<'a> {
    pub fn new(reference: &'a Reference) -> Self {
        Groups { reference }
    }

    pub fn of(&self, code: &str) -> Option<&'a str> {
        self.reference
            .citizenships
            .iter()
            .find(|c| c.codice == code)
            .map(|c| c.gruppo.as_str())
    }

    /// Codes of a group: a group of one code is that code.
    fn only_code(&self, group: &str) -> Option<&'a str> {
        let mut codes = self.reference.citizenships.iter().filter(|c| c.gruppo == group);
        match (codes.next(), codes.next()) {
            (Some(one), None) => Some(one.codice.as_str()),
            _ => None,
        }
    }

    fn citizenship(&self, dim: Dimension, code: &str, table_codes: &[String]) -> Citizenship {
        let groups = |g: &[&str]| Citizenship::Groups(g.iter().map(|s| s.to_string()).collect());
        match dim {
            Dimension::GruppoCittadinanza => pooled_groups(code).map_or_else(|| groups(&[code]), groups),
            Dimension::Straniero => match code {
                "STRANIERI" => groups(&["UE", "EXTRA_UE"]),
                other => pooled_groups(other).map_or_else(|| groups(&[other]), groups),
            },
            _ if code == OTHER_CITIZENSHIPS => {
                let mut kept: Vec<String> = table_codes
                    .iter()
                    .filter(|c| *c != OTHER_CITIZENSHIPS && *c != TOTAL)
                    .cloned()
                    .collect();
                kept.sort();
                kept.dedup();
                Citizenship::OthersBut(kept)
            }
            _ => match self.of(code) {
                Some(group) if self.only_code(group) == Some(code) => groups(&[group]),
                _ => Citizenship::Code(code.to_string()),
            },
        }
    }
}

fn is_citizenship(dim: Dimension) -> bool {
    matches!(
        dim,
        Dimension::GruppoCittadinanza | Dimension::Straniero | Dimension::Cittadinanza
    )
}

impl PublishedTable {
    /// The identity of each row's cell.
    pub fn keys(&self, groups: &Groups) -> Vec<CellKey> {
        let citizenship_codes: BTreeMap<usize, Vec<String>> = self
            .dims
            .iter()
            .enumerate()
            .filter(|(_, d)| **d == Dimension::Cittadinanza)
            .map(|(i, _)| (i, self.rows.iter().map(|r| r.keys[i].clone()).collect()))
            .collect();
        self.rows
            .iter()
            .map(|row| {
                let mut persons = Vec::new();
                let mut activities = self.scope.activities.clone();
                for (i, (dim, code)) in self.dims.iter().zip(&row.keys).enumerate() {
                    if code == TOTAL {
                        continue;
                    }
                    if dim.is_beneficiary_side() {
                        activities.push_str(&format!(" {dim}={code}"));
                    } else if is_citizenship(*dim) {
                        let codes = citizenship_codes.get(&i).map_or(&[][..], Vec::as_slice);
                        persons.push(Coordinate::Citizenship(groups.citizenship(*dim, code, codes)));
                    } else {
                        persons.push(Coordinate::Code(*dim, code.clone()));
                    }
                }
                persons.sort();
                CellKey {
                    universe: self.scope.universe.clone(),
                    activities,
                    persons,
                }
            })
            .collect()
    }

    /// Rows that sum to their margin: for each person-side breakdown, the
    /// cells that differ only in it, and the cell holding `TOTALE` there.
    pub fn additive_lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        for (d, dim) in self.dims.iter().enumerate() {
            if dim.is_beneficiary_side() {
                continue;
            }
            let mut groups: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
            for (i, row) in self.rows.iter().enumerate() {
                let mut key: Vec<&str> = row.keys.iter().map(String::as_str).collect();
                key[d] = "";
                groups.entry(key).or_default().push(i);
            }
            for (_, members) in groups {
                let Some(margin) = members.iter().copied().find(|i| self.rows[*i].keys[d] == TOTAL) else {
                    continue;
                };
                let cells: Vec<usize> = members.into_iter().filter(|i| *i != margin).collect();
                if !cells.is_empty() {
                    lines.push(Line { margin, cells });
                }
            }
        }
        lines
    }
}

/// Cells of a table that add up to a margin (row indexes).
#[derive(Debug, Clone)]
pub struct Line {
    pub margin: usize,
    pub cells: Vec<usize>,
}

impl Line {
    pub fn members(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.margin).chain(self.cells.iter().copied())
    }
}
