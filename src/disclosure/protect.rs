//! Protection of a published set: primary suppression of small cells,
//! secondary suppression chosen over every line of every table (a cell has
//! one status wherever it appears), repeated until the intruder's audit of
//! the whole set, margins included whether printed or not, finds nothing.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Result};

use super::audit::{self, Audit, Depth};
use super::published::{CellKey, Groups, PublishedRow, PublishedTable, Scope};
use super::recode::{pool_tiny_unknown, Recoding};
use super::Threshold;
use crate::reference::Reference;
use crate::table::{CellStatus, Codebook, Dimension, Lang, Table, TOTAL};

/// The most rounds of audit and further suppression before giving up.
const MAX_ROUNDS: usize = 100;

/// A table to publish, with the persons and activities it counts.
#[derive(Clone)]
pub struct ScopedTable {
    pub name: String,
    pub scope: Scope,
    /// Its rows come in suppressed where the caller hides them whatever
    /// their counts (a survival curve's persons still followed under the
    /// threshold); protection finds them partners like any small cell.
    pub table: Table,
    /// The tables of the set, by scope, whose hidden cells hide this
    /// table's cells of the same codes: where a printed row shows counts of
    /// several tables (a day of a survival curve, and every later day; an
    /// outcome and who was already at work), protection hides the row
    /// whole, so that the audit sees every cell the row hides.
    pub hidden_with: Vec<Scope>,
}

/// What protection did, for the report's "Protezione dei dati" and manifests.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Protection {
    pub threshold: u64,
    /// Table name and what was pooled in it.
    pub recodings: Vec<(String, Recoding)>,
    /// Distinct cells suppressed, primary and secondary.
    pub primary_cells: usize,
    pub secondary_cells: usize,
    /// Distinct cells printed, hidden or not.
    pub printed_cells: usize,
    /// Distinct populations in suppressed cells, summed.
    pub hidden_persons: u64,
    /// Suppressed cells of the whole set, margins included, each proved
    /// safe by the audit, and the rounds it took.
    pub audited_cells: usize,
    pub rounds: usize,
}

/// Protects `tables` together, in place.
pub fn protect_set(tables: &mut [ScopedTable], reference: &Reference, threshold: Threshold) -> Result<Protection> {
    centres_within_provinces(tables)?;
    let codebook = Codebook::new(reference, Lang::It);
    let mut recodings = Vec::new();
    for scoped in tables.iter_mut() {
        if let Some(recoding) = pool_tiny_unknown(&mut scoped.table, threshold) {
            scoped.table.sort(&codebook);
            recodings.push((scoped.name.clone(), recoding));
        }
    }
    let groups = Groups::new(reference);
    let mut published: Vec<PublishedTable> = tables.iter().map(published_table).collect();
    let keys: Vec<Vec<CellKey>> = published.iter().map(|t| t.keys(&groups)).collect();

    let mut cells: BTreeMap<CellKey, Candidate> = BTreeMap::new();
    for (table, table_keys) in published.iter().zip(&keys) {
        for (row, key) in table.rows.iter().zip(table_keys) {
            let (n, x) = row.counts.expect("protection knows every count");
            let cell = cells.entry(key.clone()).or_insert(Candidate {
                population: n,
                beneficiaries: x,
                status: CellStatus::Publishable,
                margin_everywhere: true,
            });
            if threshold.is_sensitive(n, x) || row.status.is_suppressed() {
                cell.status = CellStatus::Primary;
            }
            if !row.keys.iter().any(|k| k == TOTAL) {
                cell.margin_everywhere = false;
            }
        }
    }
    let mut lines: Vec<Vec<CellKey>> = Vec::new();
    for (table, table_keys) in published.iter().zip(&keys) {
        for line in table.additive_lines() {
            lines.push(line.members().map(|i| table_keys[i].clone()).collect());
        }
    }

    let followers = followers(tables, &published, &keys);

    let mut rounds = 0;
    let mut recheck: Option<BTreeSet<CellKey>> = None;
    loop {
        rounds += 1;
        let before: BTreeSet<CellKey> = suppressed(&cells);
        loop {
            let hidden = suppressed(&cells).len();
            close_lines(&lines, &mut cells, threshold);
            hide_followers(&followers, &mut cells);
            if suppressed(&cells).len() == hidden {
                break;
            }
        }
        if let Some(recheck) = recheck.as_mut() {
            recheck.extend(suppressed(&cells).difference(&before).cloned());
        }
        for (table, table_keys) in published.iter_mut().zip(&keys) {
            for (row, key) in table.rows.iter_mut().zip(table_keys) {
                row.status = cells[key].status;
            }
        }
        let audit = audit::audit_cells(&published, &groups, threshold, Depth::Verdict, recheck.as_ref())?;
        if audit.is_safe() {
            break;
        }
        if rounds == MAX_ROUNDS {
            bail!(disclosure_message(&audit, rounds));
        }
        // One new partner per line a round: a disclosed cell whose line
        // already gained one waits for the next audit.
        let mut added: BTreeSet<CellKey> = BTreeSet::new();
        for finding in audit.disclosed() {
            let through = |l: &&Vec<CellKey>| l.contains(&finding.key);
            if lines
                .iter()
                .filter(through)
                .any(|l| l.iter().any(|k| added.contains(k)))
            {
                continue;
            }
            if let Some(partner) = partner(&lines, &cells, &finding.key) {
                cells.get_mut(&partner).expect("partners are cells").status = CellStatus::Secondary;
                added.insert(partner);
            }
        }
        if added.is_empty() {
            bail!(disclosure_message(&audit, rounds));
        }
        let mut next: BTreeSet<CellKey> = audit.disclosed().map(|f| f.key.clone()).collect();
        next.extend(added);
        recheck = Some(next);
    }

    for (scoped, table) in tables.iter_mut().zip(&published) {
        for (row, published_row) in scoped.table.rows.iter_mut().zip(&table.rows) {
            row.status = published_row.status;
        }
    }
    let printed = printed_keys(tables, &keys);
    let count = |status: CellStatus| printed.iter().filter(|k| cells[**k].status == status).count();
    let populations: BTreeSet<_> = printed
        .iter()
        .filter(|k| cells[**k].status.is_suppressed())
        .map(|k| (k.population(), cells[*k].population))
        .collect();
    Ok(Protection {
        threshold: threshold.value(),
        recodings,
        primary_cells: count(CellStatus::Primary),
        secondary_cells: count(CellStatus::Secondary),
        printed_cells: printed.len(),
        hidden_persons: populations.iter().map(|(_, n)| n).sum(),
        // A cell proved safe stays safe as more are hidden: every suppressed
        // cell was proved in the round it was hidden in or a later one.
        audited_cells: suppressed(&cells).len(),
        rounds,
    })
}

fn suppressed(cells: &BTreeMap<CellKey, Candidate>) -> BTreeSet<CellKey> {
    cells
        .iter()
        .filter(|(_, c)| c.status.is_suppressed())
        .map(|(k, _)| k.clone())
        .collect()
}

struct Candidate {
    population: u64,
    beneficiaries: u64,
    status: CellStatus,
    /// Appears only as a margin, which another command publishes: hidden
    /// only when no inner cell of its line can be.
    margin_everywhere: bool,
}

/// Job centres lie within provinces, which protection and the audit learn
/// only from a table that prints both: without one they would cross the
/// two as independent, and miss a centre's cell read off its province's
/// less its other centres'. A set that publishes both apart is refused.
fn centres_within_provinces(tables: &[ScopedTable]) -> Result<()> {
    let universes: BTreeSet<&str> = tables.iter().map(|t| t.scope.universe.as_str()).collect();
    for universe in universes {
        let dims = |t: &ScopedTable| (t.scope.universe == universe).then_some(t.table.dims.clone());
        let by = |d: Dimension| tables.iter().filter_map(dims).any(|dims| dims.contains(&d));
        let by_both = tables
            .iter()
            .filter_map(dims)
            .any(|dims| dims.contains(&Dimension::Cpi) && dims.contains(&Dimension::Provincia));
        if by(Dimension::Cpi) && by(Dimension::Provincia) && !by_both {
            bail!(
                "tables by cpi and tables by provincia are published together ({universe}), and none is by both: protection could not tell that each job centre lies in one province, so a centre's hidden cell could be read off its province's. Add a table by provincia and cpi (by = [\"provincia\", \"cpi\"]), or publish them apart"
            );
        }
    }
    Ok(())
}

/// Pairs of cells (hidden, then also hidden) from each table's
/// [`ScopedTable::hidden_with`]: the cells of the same codes.
fn followers(tables: &[ScopedTable], published: &[PublishedTable], keys: &[Vec<CellKey>]) -> Vec<(CellKey, CellKey)> {
    let mut pairs = Vec::new();
    for (t, scoped) in tables.iter().enumerate() {
        for scope in &scoped.hidden_with {
            let Some(u) = tables.iter().position(|other| &other.scope == scope) else {
                continue;
            };
            for (row, key) in published[t].rows.iter().zip(&keys[t]) {
                if let Some(j) = published[u].rows.iter().position(|r| r.keys == row.keys) {
                    pairs.push((keys[u][j].clone(), key.clone()));
                }
            }
        }
    }
    pairs
}

fn hide_followers(followers: &[(CellKey, CellKey)], cells: &mut BTreeMap<CellKey, Candidate>) {
    for (hidden, follower) in followers {
        if cells[hidden].status.is_suppressed() && !cells[follower].status.is_suppressed() {
            cells.get_mut(follower).expect("followers are cells").status = CellStatus::Secondary;
        }
    }
}

fn published_table(scoped: &ScopedTable) -> PublishedTable {
    PublishedTable {
        name: scoped.name.clone(),
        scope: scoped.scope.clone(),
        dims: scoped.table.dims.clone(),
        rows: scoped
            .table
            .rows
            .iter()
            .map(|r| PublishedRow {
                keys: r.keys.clone(),
                counts: Some((r.population, r.beneficiaries)),
                status: r.status,
            })
            .collect(),
        lists_every_cell: true,
    }
}

/// A line gives its hidden cells away by subtraction when it has a single
/// one, or when those below a published margin add up to a small count
/// (each of a few singletons can subtract itself and read the others): hide
/// its cheapest other cell, until no line does. The audit finds the second
/// case too, but each cell it finds costs linear programmes and a round.
fn close_lines(lines: &[Vec<CellKey>], cells: &mut BTreeMap<CellKey, Candidate>, threshold: Threshold) {
    loop {
        let mut changed = false;
        for line in lines {
            let (margin, inner) = line.split_first().expect("a line starts with its margin");
            let hidden = |k: &&CellKey| cells[*k].status.is_suppressed();
            let suppressed = line.iter().filter(hidden).count();
            let small_sum = || {
                let (n, x) = inner.iter().filter(hidden).fold((0, 0), |(n, x), k| {
                    (n + cells[k].population, x + cells[k].beneficiaries)
                });
                threshold.is_sensitive(n, x)
            };
            let gives_away = suppressed == 1 || (suppressed > 1 && !hidden(&margin) && small_sum());
            if !gives_away {
                continue;
            }
            if let Some(key) = cheapest(line.iter(), cells) {
                cells.get_mut(&key).expect("line cells are cells").status = CellStatus::Secondary;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// The published cell of `candidates` that costs least to hide: an inner
/// cell before a margin, then the fewest persons, then code order.
fn cheapest<'a>(
    candidates: impl Iterator<Item = &'a CellKey>,
    cells: &BTreeMap<CellKey, Candidate>,
) -> Option<CellKey> {
    // An empty cell hides nothing: hiding it beside a small one leaves the
    // small one's count readable from the line's total.
    candidates
        .filter(|k| !cells[*k].status.is_suppressed() && cells[*k].population > 0)
        .min_by_key(|k| (cells[*k].margin_everywhere, cells[*k].population, (*k).clone()))
        .cloned()
}

/// A further cell to hide for a disclosed one: the cheapest published cell
/// of the lines through it, or, when those hold none (all hidden, empty, or
/// margins already hidden), of the lines through their hidden cells, and
/// so on outwards.
fn partner(lines: &[Vec<CellKey>], cells: &BTreeMap<CellKey, Candidate>, disclosed: &CellKey) -> Option<CellKey> {
    let mut reached: BTreeSet<&CellKey> = BTreeSet::from([disclosed]);
    let mut used = vec![false; lines.len()];
    loop {
        let through: Vec<usize> = (0..lines.len())
            .filter(|l| !used[*l] && lines[*l].iter().any(|k| reached.contains(k)))
            .collect();
        if through.is_empty() {
            return None;
        }
        if let Some(found) = cheapest(through.iter().flat_map(|l| lines[*l].iter()), cells) {
            return Some(found);
        }
        for l in through {
            used[l] = true;
            reached.extend(lines[l].iter().filter(|k| cells[*k].status.is_suppressed()));
        }
    }
}

fn printed_keys<'a>(tables: &[ScopedTable], keys: &'a [Vec<CellKey>]) -> BTreeSet<&'a CellKey> {
    tables
        .iter()
        .zip(keys)
        .flat_map(|(scoped, table_keys)| {
            scoped
                .table
                .rows
                .iter()
                .zip(table_keys)
                .filter(|(row, _)| scoped.table.margins_shown || !row.is_margin())
                .map(|(_, k)| k)
        })
        .collect()
}

pub fn disclosure_message(audit: &Audit, rounds: usize) -> String {
    let named: Vec<String> = audit
        .disclosed()
        .take(5)
        .map(|f| format!("{} ({})", f.key.describe(), f.disclosure.unwrap_or_default()))
        .collect();
    format!(
        "after {rounds} rounds of suppression {} cell(s) can still be recovered from the published tables: {}; publish fewer tables together, or raise the breakdowns' level",
        audit.disclosed().count(),
        named.join("; ")
    )
}
