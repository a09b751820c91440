//! Person-level files from other regional databases (reception, social
//! services, housing) linked to the extract by the pseudonymised `id_lav`:
//! each declares, in a TOML file beside it, the columns it brings and their
//! code lists; those columns become breakdowns like the extract's own
//! (`docs/contracts/linked.md`).
//!
//! Declarations are read before any data, so a wrong `--by` is refused at
//! once; the rows are read and checked by [`read`], and put beside the
//! extract's persons by `extract::linked`.

pub mod read;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::extract::schema::ALL_FILES;
use crate::table::{is_statistic_column, Dimension, NOT_AVAILABLE, TOTAL};

/// The code of the extract's persons a linked file does not hold.
pub const UNLINKED: &str = "NON_COLLEGATO";

/// The column that names the person, in the extract's files and in a
/// linked file.
pub const PERSON_ID: &str = "id_lav";

/// One declared column of a linked file, a breakdown of persons.
///
/// Held for the whole run (`Dimension` is `Copy` and refers to it), so a
/// declaration is leaked once when read: a run declares a handful.
#[derive(Debug)]
pub struct LinkedColumn {
    pub name: &'static str,
    /// The declared codes, then `ND` (a linked person whose value is
    /// empty), then [`UNLINKED`]: a person's value is a position here.
    pub codes: Vec<String>,
    /// Labels of the declared codes, where the declaration gives them.
    pub labels: BTreeMap<String, String>,
}

impl LinkedColumn {
    /// A column known by name only, as the audit reads it from a manifest:
    /// the audit compares codes, and needs no code list or labels.
    pub fn named(name: &str) -> &'static LinkedColumn {
        Box::leak(Box::new(LinkedColumn {
            name: Box::leak(name.to_string().into_boxed_str()),
            codes: Vec::new(),
            labels: BTreeMap::new(),
        }))
    }

    /// The codes the declaration lists (without `ND` and `NON_COLLEGATO`).
    pub fn declared(&self) -> &[String] {
        &self.codes[..self.codes.len() - 2]
    }

    /// The position of an unlinked person's value.
    pub fn unlinked(&self) -> u32 {
        (self.codes.len() - 1) as u32
    }

    /// The position of a linked person's empty value.
    pub fn not_available(&self) -> u32 {
        (self.codes.len() - 2) as u32
    }
}

// One column per name in a run (declarations are checked for clashes), so
// the name is its identity, also across the audit's columns known by name.
impl PartialEq for LinkedColumn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for LinkedColumn {}

impl PartialOrd for LinkedColumn {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for LinkedColumn {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name.cmp(other.name)
    }
}

impl std::hash::Hash for LinkedColumn {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

/// A linked file and its declaration.
#[derive(Debug, Clone)]
pub struct LinkedSource {
    pub path: PathBuf,
    /// The file's name, as rejects and reports name it.
    pub file: String,
    /// What the file is, from its declaration.
    pub description: String,
    pub columns: Vec<&'static LinkedColumn>,
}

/// Every linked file of a run.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub sources: Vec<LinkedSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declaration {
    source: String,
    #[serde(rename = "column")]
    columns: Vec<DeclaredColumn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclaredColumn {
    name: String,
    codes: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

impl Links {
    /// Reads the declaration beside each file (`FILE.toml` for `FILE.csv`),
    /// checking names and code lists; no row is read.
    pub fn declare(paths: &[PathBuf]) -> Result<Links> {
        let mut sources: Vec<LinkedSource> = Vec::new();
        let mut names: BTreeSet<String> = BTreeSet::new();
        for path in paths {
            let source = declare_one(path)?;
            if sources.iter().any(|s| s.file == source.file) {
                bail!(
                    "--link {}: another linked file is also named {}; give each linked file its own name",
                    path.display(),
                    source.file
                );
            }
            for column in &source.columns {
                if !names.insert(column.name.to_string()) {
                    bail!(
                        "--link {}: column {} is declared by another linked file too; rename it in one declaration and its file",
                        path.display(),
                        column.name
                    );
                }
            }
            sources.push(source);
        }
        Ok(Links { sources })
    }

    /// What a manifest says of the linked files: each file, its source and
    /// the codes of its columns.
    pub fn describe(&self) -> serde_json::Value {
        self.sources
            .iter()
            .map(|s| {
                let columns: serde_json::Map<String, serde_json::Value> = s
                    .columns
                    .iter()
                    .map(|c| (c.name.to_string(), serde_json::json!(c.codes)))
                    .collect();
                serde_json::json!({ "file": s.file, "source": s.description, "columns": columns })
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The breakdowns the linked files bring.
    pub fn dimensions(&self) -> Vec<Dimension> {
        self.sources
            .iter()
            .flat_map(|s| s.columns.iter().map(|c| Dimension::Linked(c)))
            .collect()
    }
}

/// The declaration's path for a linked file: same folder and stem, `.toml`.
pub fn declaration_path(path: &Path) -> PathBuf {
    path.with_extension("toml")
}

fn declare_one(path: &Path) -> Result<LinkedSource> {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    if !path.is_file() {
        bail!(
            "--link {}: no such file; give the path of a linked CSV file",
            path.display()
        );
    }
    let toml_path = declaration_path(path);
    let text = std::fs::read_to_string(&toml_path).with_context(|| {
        format!(
            "--link {}: cannot read its declaration {}; write beside it a TOML file naming the source and each column with its codes (see docs/contracts/linked.md)",
            path.display(),
            toml_path.display()
        )
    })?;
    let declaration: Declaration =
        toml::from_str(&text).with_context(|| format!("{}: not a valid declaration", toml_path.display()))?;
    if declaration.columns.is_empty() {
        bail!(
            "{}: declares no column; add a [[column]] with its name and codes",
            toml_path.display()
        );
    }
    let mut columns = Vec::new();
    for declared in declaration.columns {
        columns.push(check_column(&toml_path, &file, declared)?);
    }
    Ok(LinkedSource {
        path: path.to_path_buf(),
        file,
        description: declaration.source,
        columns,
    })
}

fn check_column(toml_path: &Path, file: &str, declared: DeclaredColumn) -> Result<&'static LinkedColumn> {
    let place = toml_path.display();
    let name = declared.name.trim().to_string();
    let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed {
        bail!("{place}: column name {name:?} must start with a lower-case letter and hold only lower-case letters, digits and _");
    }
    let clashes = Dimension::ALL.iter().any(|d| d.name() == name)
        || ALL_FILES.iter().any(|spec| spec.columns.iter().any(|c| c.name == name))
        || is_statistic_column(&name)
        || name.ends_with("_nome")
        || name.ends_with("_ita");
    if clashes {
        bail!("{place}: column name {name:?} is, or reads like, a column of the extract or of the tables (names ending in _nome or _ita included); rename it in the declaration and in {file}");
    }
    if declared.codes.is_empty() {
        bail!("{place}: column {name} lists no codes; list every value it may hold in codes = [...]");
    }
    let mut codes: Vec<String> = Vec::new();
    for code in &declared.codes {
        let code = code.trim();
        if code.is_empty() || [TOTAL, NOT_AVAILABLE, UNLINKED].contains(&code) {
            bail!("{place}: column {name}: {code:?} cannot be a code ({TOTAL}, {NOT_AVAILABLE} and {UNLINKED} are the tables' own; an empty value in {file} is {NOT_AVAILABLE})");
        }
        if codes.iter().any(|c| c == code) {
            bail!("{place}: column {name}: code {code:?} is listed twice");
        }
        codes.push(code.to_string());
    }
    if let Some(unknown) = declared.labels.keys().find(|k| !codes.contains(k)) {
        bail!("{place}: column {name}: label for {unknown:?}, which is not among its codes");
    }
    codes.push(NOT_AVAILABLE.to_string());
    codes.push(UNLINKED.to_string());
    Ok(Box::leak(Box::new(LinkedColumn {
        name: Box::leak(name.into_boxed_str()),
        codes,
        labels: declared.labels,
    })))
}
