//! Published tables read back from a folder, for the audit: the CSV and
//! JSON tables that `rates`, `gap`, `report` and `run` write, and the
//! manifest (`manifest.json` of a report, `job.json` of a job) that says
//! which persons and activities each counts. Tables without a manifest are
//! taken to count the same persons and activities; the audit stops if
//! their counts say otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::published::{CellKey, Groups, PublishedRow, PublishedTable, Scope};
use crate::link::LinkedColumn;
use crate::reference::ITALY;
use crate::table::{is_label_column, is_statistic_column, CellStatus, Dimension};

/// The key a manifest lists its tables under, each with its scope.
pub const MANIFEST_TABLES: &str = "tabelle_pubblicate";
/// The column of a trend table that changes the period row by row.
const YEAR: &str = "anno";

/// One table of a manifest: its file, relative to the manifest's folder.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ListedTable {
    pub file: String,
    #[serde(flatten)]
    pub scope: Scope,
    /// A trend table's universe for each value of its `anno` column.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub universes_by_year: BTreeMap<String, String>,
    /// A table of days (`giorni`, survival and outcomes): for each day,
    /// what each count column counts out of `popolazione`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts_by_day: BTreeMap<String, BTreeMap<String, Scope>>,
    /// The file prints some rows of its table only (`--where`): a
    /// combination of codes it lacks need not be empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub filtered: bool,
}

/// What a table of days counts at its first day (the scope a manifest
/// entry carries beside its `counts_by_day`): its events or outcomes.
pub fn first_day_scope(counts_by_day: &BTreeMap<String, BTreeMap<String, Scope>>) -> Option<Scope> {
    let (_, by_column) = counts_by_day
        .iter()
        .min_by_key(|(day, _)| day.parse::<i64>().unwrap_or(i64::MAX))?;
    ["eventi", "esiti"]
        .iter()
        .find_map(|column| by_column.get(*column))
        .or_else(|| by_column.values().next())
        .cloned()
}

pub struct Folder {
    pub tables: Vec<PublishedTable>,
    /// Files read but not audited, and why.
    pub skipped: Vec<(String, String)>,
    /// The threshold a manifest states, if any.
    pub threshold: Option<u64>,
}

pub fn read_folder(dir: &Path, groups: &Groups) -> Result<Folder> {
    if !dir.is_dir() {
        bail!(
            "{} is not a folder: give the folder of the published tables (a report's tabelle/, a job's output)",
            dir.display()
        );
    }
    let mut files = Vec::new();
    collect(dir, 0, &mut files)?;
    files.sort();
    let mut listed_tables: BTreeMap<PathBuf, ListedTable> = BTreeMap::new();
    let mut threshold = None;
    let manifests = files
        .iter()
        .filter(|f| is_manifest(f))
        .cloned()
        .chain(dir.parent().map(|p| p.join("manifest.json")).filter(|p| p.is_file()));
    for manifest in manifests {
        let text = std::fs::read_to_string(&manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", manifest.display()))?;
        let base = manifest.parent().unwrap_or(Path::new("."));
        if let Some(listed) = value.get(MANIFEST_TABLES) {
            let listed: Vec<ListedTable> = serde_json::from_value(listed.clone())
                .with_context(|| format!("{}: {MANIFEST_TABLES} is not a list of tables", manifest.display()))?;
            for table in listed {
                listed_tables.insert(base.join(&table.file), table);
            }
        }
        if let Some(k) = value.pointer("/protezione/soglia").and_then(|v| v.as_u64()) {
            threshold = Some(threshold.map_or(k, |t: u64| t.max(k)));
        }
    }
    let mut tables = Vec::new();
    let mut unlisted = Vec::new();
    let mut skipped = Vec::new();
    for file in files.iter().filter(|f| !is_manifest(f)) {
        let name = file.strip_prefix(dir).unwrap_or(file).display().to_string();
        let Some((columns, rows)) = read_grid(file)? else {
            skipped.push((name, "not a CSV or JSON table".to_string()));
            continue;
        };
        let listed = listed_tables.get(file).cloned().unwrap_or(ListedTable {
            file: name.clone(),
            scope: Scope {
                universe: String::new(),
                activities: String::new(),
            },
            universes_by_year: BTreeMap::new(),
            counts_by_day: BTreeMap::new(),
            filtered: false,
        });
        match parse_table(&name, &listed, &columns, &rows)? {
            Some(parsed) => {
                unlisted.extend(std::iter::repeat_n(!listed_tables.contains_key(file), parsed.len()));
                tables.extend(parsed);
            }
            None => skipped.push((name, "not a table of eligible persons and beneficiaries".to_string())),
        }
    }
    infer_activities(&mut tables, &unlisted, groups);
    Ok(Folder {
        tables,
        skipped,
        threshold,
    })
}

/// Tables no manifest lists count the same persons, as far as the audit
/// can tell, but may count different activities (services, measures):
/// each joins the first group of such tables whose beneficiaries agree
/// with its own in every cell they share, or starts a group of its own.
fn infer_activities(tables: &mut [PublishedTable], unlisted: &[bool], groups: &Groups) {
    let mut known: Vec<BTreeMap<CellKey, u64>> = Vec::new();
    for (table, _) in tables.iter_mut().zip(unlisted).filter(|(_, u)| **u) {
        let beneficiaries: BTreeMap<CellKey, u64> = table
            .keys(groups)
            .into_iter()
            .zip(&table.rows)
            .filter_map(|(key, row)| row.counts.map(|(_, x)| (key, x)))
            .collect();
        let agrees =
            |group: &BTreeMap<CellKey, u64>| beneficiaries.iter().all(|(k, x)| group.get(k).is_none_or(|g| g == x));
        let index = match known.iter().position(agrees) {
            Some(i) => i,
            None => {
                known.push(BTreeMap::new());
                known.len() - 1
            }
        };
        table.scope.activities = format!("{}#{}", table.scope.activities, index + 1);
        known[index].extend(beneficiaries);
    }
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("manifest.json") | Some("job.json")
    )
}

fn collect(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read the folder {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() && depth < 3 {
            collect(&path, depth + 1, files)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("csv") | Some("json")) {
            files.push(path);
        }
    }
    Ok(())
}

type Grid = (Vec<String>, Vec<Vec<String>>);

fn read_grid(path: &Path) -> Result<Option<Grid>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let Ok(serde_json::Value::Array(items)) = serde_json::from_slice(&bytes) else {
            return Ok(None);
        };
        let Some(serde_json::Value::Object(first)) = items.first() else {
            return Ok(None);
        };
        let columns: Vec<String> = first.keys().cloned().collect();
        let mut rows = Vec::new();
        for item in &items {
            let serde_json::Value::Object(object) = item else {
                return Ok(None);
            };
            rows.push(
                columns
                    .iter()
                    .map(|c| match object.get(c) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(serde_json::Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    })
                    .collect(),
            );
        }
        return Ok(Some((columns, rows)));
    }
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(bytes.as_slice());
    let columns: Vec<String> = reader.headers()?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: line {} is not a row of the table", path.display(), i + 2))?;
        rows.push(record.iter().map(String::from).collect());
    }
    Ok(Some((columns, rows)))
}

/// The count columns a table of days (`giorni`) publishes out of
/// `popolazione`: survival's, and outcomes'.
const COUNTS_BY_DAY: [&str; 4] = ["eventi", "a_rischio", "esiti", "gia_occupati"];
/// The column of a table of days.
const DAY: &str = "giorni";

/// The tables a grid holds: one per year for a trend table, one per day
/// and count column for a table of days.
fn parse_table(
    name: &str,
    listed: &ListedTable,
    columns: &[String],
    rows: &[Vec<String>],
) -> Result<Option<Vec<PublishedTable>>> {
    let at = |c: &str| columns.iter().position(|x| x == c);
    if let Some(day) = at(DAY) {
        let mut tables = Vec::new();
        for counted in COUNTS_BY_DAY.iter().filter(|c| at(c).is_some()) {
            let mut days: Vec<&String> = rows.iter().map(|r| &r[day]).collect();
            days.sort();
            days.dedup();
            for value in days {
                let scope = listed
                    .counts_by_day
                    .get(value)
                    .and_then(|by_column| by_column.get(*counted))
                    .cloned()
                    .unwrap_or_else(|| Scope {
                        universe: format!("{} {DAY} {value}", listed.scope.universe),
                        activities: format!("{} {counted} {value}", listed.scope.activities),
                    });
                let of_day: Vec<Vec<String>> = rows.iter().filter(|r| &r[day] == value).cloned().collect();
                let one = ListedTable {
                    scope,
                    universes_by_year: BTreeMap::new(),
                    counts_by_day: BTreeMap::new(),
                    ..listed.clone()
                };
                if let Some(parsed) = parse_counts(name, &one, columns, &of_day, counted)? {
                    tables.extend(parsed);
                }
            }
        }
        return Ok((!tables.is_empty()).then_some(tables));
    }
    parse_counts(name, listed, columns, rows, "beneficiari")
}

/// The breakdown a printed column is, if any: one of the extract's, or,
/// for a column that is no statistic or label, a linked file's (known to
/// the audit by its name, which is all that tells its cells apart).
fn breakdown(column: &str) -> Option<Dimension> {
    if let Some(dim) = Dimension::ALL.into_iter().find(|d| d.name() == column) {
        return Some(dim);
    }
    if is_statistic_column(column) || is_label_column(column) {
        return None;
    }
    Some(Dimension::Linked(LinkedColumn::named(column)))
}

/// The tables of a grid whose `counted` column counts out of `popolazione`.
fn parse_counts(
    name: &str,
    listed: &ListedTable,
    columns: &[String],
    rows: &[Vec<String>],
    counted: &str,
) -> Result<Option<Vec<PublishedTable>>> {
    let at = |c: &str| columns.iter().position(|x| x == c);
    let (Some(n), Some(x), Some(status)) = (at("popolazione"), at(counted), at("stato_cella")) else {
        return Ok(None);
    };
    let italians = at("popolazione_ita").zip(at(&format!("{counted}_ita")));
    let dims: Vec<(usize, Dimension)> = columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| breakdown(c).map(|d| (i, d)))
        .collect();
    let year = at(YEAR);
    let mut by_year: BTreeMap<Option<String>, Vec<PublishedRow>> = BTreeMap::new();
    let count = |row: &[String], i: usize, line: usize| -> Result<Option<u64>> {
        let text = &row[i];
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .with_context(|| format!("{name}: line {line}, column {}: {text:?} is not a count", columns[i]))
    };
    for (r, row) in rows.iter().enumerate() {
        let line = r + 2;
        let status = match row[status].as_str() {
            "s" => CellStatus::Publishable,
            "u" => CellStatus::Primary,
            "x" => CellStatus::Secondary,
            other => bail!("{name}: line {line}, column stato_cella: {other:?} is not s, u or x"),
        };
        let counts = |ni: usize, xi: usize| -> Result<Option<(u64, u64)>> {
            Ok(match (count(row, ni, line)?, count(row, xi, line)?) {
                (Some(a), Some(b)) if status == CellStatus::Publishable => Some((a, b)),
                _ => None,
            })
        };
        let keys: Vec<String> = dims.iter().map(|(i, _)| row[*i].clone()).collect();
        let rows = by_year.entry(year.map(|y| row[y].clone())).or_default();
        rows.push(PublishedRow {
            keys: keys.clone(),
            counts: counts(n, x)?,
            status,
        });
        // A gap row's status is its group's cell's; the Italians' cell of
        // the stratum is known when its counts are shown (its status is its
        // rates table's).
        if let (Some((ni, xi)), CellStatus::Publishable) = (italians, status) {
            // The compared breakdown is the citizenship one (JSON objects
            // need not keep the columns' order).
            let compared = dims.iter().position(|(_, d)| {
                matches!(
                    d,
                    Dimension::GruppoCittadinanza | Dimension::Straniero | Dimension::Cittadinanza
                )
            });
            let mut italian_keys = keys;
            if let Some(at) = compared {
                italian_keys[at] = if dims[at].1 == Dimension::Cittadinanza {
                    ITALY
                } else {
                    "ITA"
                }
                .to_string();
            }
            // A row whose Italians' cell is hidden leaves their columns empty.
            if let Some(counts) = counts(ni, xi)? {
                let italian = PublishedRow {
                    keys: italian_keys,
                    counts: Some(counts),
                    status,
                };
                if !rows.iter().any(|r| r.keys == italian.keys) {
                    rows.push(italian);
                }
            }
        }
    }
    let tables = by_year
        .into_iter()
        .map(|(year, rows)| {
            let universe = match &year {
                Some(y) => listed
                    .universes_by_year
                    .get(y)
                    .cloned()
                    .unwrap_or_else(|| format!("{} {YEAR} {y}", listed.scope.universe)),
                None => listed.scope.universe.clone(),
            };
            PublishedTable {
                name: name.to_string(),
                scope: Scope {
                    universe,
                    activities: listed.scope.activities.clone(),
                },
                dims: dims.iter().map(|(_, d)| *d).collect(),
                lists_every_cell: italians.is_none() && !listed.filtered,
                rows,
            }
        })
        .collect();
    Ok(Some(tables))
}
