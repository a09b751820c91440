//! Code lists the extract is validated and labelled against: ISTAT
//! citizenships and provinces, the SILP activity catalogue and Eurostat LMP
//! categories. They are embedded so the binary works with nothing beside it;
//! `--ref-dir` replaces any of them with a file of the same name and columns.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;

const CITIZENSHIPS: &str = include_str!("../../reference/cittadinanze.csv");
const PROVINCES: &str = include_str!("../../reference/province.csv");
const ACTIVITIES: &str = include_str!("../../reference/attivita.csv");
const LMP_CATEGORIES: &str = include_str!("../../reference/categorie-lmp.csv");

/// The names of the code lists' files, embedded or in `--ref-dir`.
pub const CITIZENSHIPS_FILE: &str = "cittadinanze.csv";
pub const PROVINCES_FILE: &str = "province.csv";
pub const ACTIVITIES_FILE: &str = "attivita.csv";

/// ISTAT code of Italian citizenship.
pub const ITALY: &str = "100";

#[derive(Debug, Clone, Deserialize)]
pub struct Citizenship {
    pub codice: String,
    pub nome_it: String,
    pub nome_en: String,
    pub gruppo: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Province {
    pub codice: String,
    pub sigla: String,
    pub nome: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Activity {
    pub codice: String,
    pub descrizione: String,
    pub categoria_lmp: u8,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LmpCategory {
    pub categoria: u8,
    pub nome_it: String,
    pub nome_en: String,
}

/// All code lists, in the order of their files (which is code order).
#[derive(Debug, Clone)]
pub struct Reference {
    pub citizenships: Vec<Citizenship>,
    pub provinces: Vec<Province>,
    pub activities: Vec<Activity>,
    pub lmp_categories: Vec<LmpCategory>,
    /// Where each table came from, for the methods section and manifests.
    pub sources: Vec<(String, String)>,
}

impl Reference {
    /// The embedded tables, each replaced by `ref_dir/<name>` when that file exists.
    pub fn load(ref_dir: Option<&Path>) -> Result<Reference> {
        let mut sources = Vec::new();
        let mut table = |name: &str, embedded: &'static str| -> Result<(String, String)> {
            match ref_dir.map(|dir| dir.join(name)).filter(|p| p.exists()) {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).with_context(|| {
                        format!("cannot read reference table {} (it must be UTF-8)", path.display())
                    })?;
                    sources.push((name.to_string(), path.display().to_string()));
                    Ok((text, path.display().to_string()))
                }
                None => {
                    sources.push((name.to_string(), "embedded".to_string()));
                    Ok((embedded.to_string(), format!("embedded {name}")))
                }
            }
        };
        if let Some(dir) = ref_dir {
            if !dir.is_dir() {
                bail!("--ref-dir {}: not a directory", dir.display());
            }
        }
        let (cit, cit_src) = table(CITIZENSHIPS_FILE, CITIZENSHIPS)?;
        let (prov, prov_src) = table(PROVINCES_FILE, PROVINCES)?;
        let (act, act_src) = table(ACTIVITIES_FILE, ACTIVITIES)?;
        let (lmp, lmp_src) = table("categorie-lmp.csv", LMP_CATEGORIES)?;
        let reference = Reference {
            citizenships: parse(&cit, &cit_src, |c: &Citizenship| c.codice.clone())?,
            provinces: parse(&prov, &prov_src, |p: &Province| p.codice.clone())?,
            activities: parse(&act, &act_src, |a: &Activity| a.codice.clone())?,
            lmp_categories: parse(&lmp, &lmp_src, |c: &LmpCategory| c.categoria.to_string())?,
            sources,
        };
        reference.check_consistency()?;
        Ok(reference)
    }

    fn check_consistency(&self) -> Result<()> {
        let categories: Vec<u8> = self.lmp_categories.iter().map(|c| c.categoria).collect();
        for activity in &self.activities {
            if !categories.contains(&activity.categoria_lmp) {
                bail!(
                    "reference table attivita.csv: activity {} has LMP category {}, which categorie-lmp.csv does not list",
                    activity.codice,
                    activity.categoria_lmp
                );
            }
        }
        for c in &self.citizenships {
            if !["ITA", "UE", "EXTRA_UE", "ND"].contains(&c.gruppo.as_str()) {
                bail!(
                    "reference table cittadinanze.csv: citizenship {} has group {:?}; use ITA, UE, EXTRA_UE or ND",
                    c.codice,
                    c.gruppo
                );
            }
        }
        Ok(())
    }
}

/// The rows of a code list, each `code` once: a code listed twice would be
/// validated against one row and labelled from the other.
fn parse<T: DeserializeOwned>(text: &str, source: &str, code: impl Fn(&T) -> String) -> Result<Vec<T>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows = Vec::new();
    for (index, record) in reader.deserialize().enumerate() {
        let row: T =
            record.with_context(|| format!("reference table {source}, line {}: cannot read the row", index + 2))?;
        if let Some(first) = rows.iter().position(|held| code(held) == code(&row)) {
            bail!(
                "reference table {source}, line {}: code {:?} is already listed on line {}; each code must appear once, so remove or correct one of the two rows",
                index + 2,
                code(&row),
                first + 2
            );
        }
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("reference table {source} has no rows");
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::Reference;

    #[test]
    fn a_code_listed_twice_is_refused_naming_both_lines() {
        let dir = tempfile::tempdir().unwrap();
        let provinces = "codice;sigla;nome\n001;TO;Torino\n002;VC;Vercelli\n001;XX;Altro\n";
        std::fs::write(dir.path().join("province.csv"), provinces).unwrap();
        let error = format!("{:#}", Reference::load(Some(dir.path())).unwrap_err());
        assert!(
            error.contains("province.csv, line 4: code \"001\" is already listed on line 2"),
            "{error}"
        );
        let without_repeat = provinces.replace("001;XX;Altro\n", "");
        std::fs::write(dir.path().join("province.csv"), without_repeat).unwrap();
        let provinces = Reference::load(Some(dir.path())).unwrap().provinces;
        assert_eq!(
            provinces.iter().map(|p| p.nome.as_str()).collect::<Vec<_>>(),
            ["Torino", "Vercelli"]
        );
    }
}
