//! Where the report's numbers come from: its methods section and
//! `manifest.json` (inputs and their digests, parameters, disclosure
//! control and the tables for `audit`).

use std::collections::BTreeMap;

use std::io::Read;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::{protection, t, NamedTable, ReportPlan};
use crate::disclosure::files::MANIFEST_TABLES;
use crate::disclosure::Protection;
use crate::extract::{Extract, Location};
use crate::reference::Reference;
use crate::table::Lang;

pub(super) fn methods(lang: Lang, plan: &ReportPlan, reference: &Reference, cut: Option<&str>) -> Vec<String> {
    let sources: Vec<String> = reference
        .sources
        .iter()
        .map(|(name, from)| format!("{name} ({from})"))
        .collect();
    vec![
        t(lang,
          "Popolazione: persone con almeno una DID (dichiarazione di immediata disponibilità) attiva in un giorno dell'anno. Beneficiario: chi ha avviato un'attività conteggiata (non rifiutata) nell'anno e durante una propria DID. Provincia e centro per l'impiego sono quelli della DID più recente.",
          "Population: persons with at least one DID (declaration of immediate availability) active on some day of the year. Beneficiary: who started a counted (not refused) activity in the year and during one of their DIDs. Province and job centre are those of the latest DID."),
        format!("{} {:.0}% {}",
          t(lang, "Statistiche: intervalli di Wilson al", "Statistics: Wilson intervals at"),
          plan.confidence * 100.0,
          t(lang, "per i tassi; Newcombe per le differenze; Katz (log) per i rapporti; standardizzazione diretta per sesso e classe di età. Un tasso con meno di 20 persone è segnalato come non affidabile.",
                  "for rates; Newcombe for differences; Katz (log) for ratios; direct standardisation by sex and age class. A rate on fewer than 20 persons is flagged as not reliable.")),
        format!("{} {} {}",
          t(lang, "Tutela del segreto statistico: sono soppresse le celle con meno di", "Disclosure control: cells with fewer than"),
          plan.threshold.value(),
          t(lang, "persone, beneficiari o non beneficiari (n.d.), e le celle necessarie perché non si possano ricavare dai totali.",
                  "persons, beneficiaries or non-beneficiaries are suppressed (n.a.), with the cells needed so that none can be recovered from the totals.")),
        format!("{}: {}.", t(lang, "Tabelle di riferimento", "Reference tables"), sources.join(", ")),
    ]
    .into_iter()
    .chain(cut.map(|note| format!("{}: {note}.", t(lang, "Periodo", "Period"))))
    .collect()
}

/// The SHA-256 of each file of the extract, computed on threads of their
/// own while the report's tables are computed: at ten million persons the
/// files are gigabytes to read again, and the tables leave a core idle
/// often enough (protection, drawing) for the hashing to fit in.
pub(super) struct Digests(std::thread::JoinHandle<Result<BTreeMap<String, Option<String>>>>);

impl Digests {
    pub(super) fn start(extract: &Extract) -> Digests {
        let location = extract.location.clone();
        let names: Vec<String> = extract.files.iter().map(|f| f.file.clone()).collect();
        Digests(std::thread::spawn(move || {
            std::thread::scope(|scope| {
                let hashing: Vec<_> = names
                    .iter()
                    .map(|name| scope.spawn(|| digest(&location, name).map(|d| (name.clone(), d))))
                    .collect();
                hashing
                    .into_iter()
                    .map(|h| h.join().expect("hashing a file does not panic"))
                    .collect()
            })
        }))
    }

    fn finish(self) -> Result<BTreeMap<String, Option<String>>> {
        self.0.join().expect("hashing the files does not panic")
    }
}

/// SHA-256 of a file of the extract (for the embedded sample, of its
/// bytes), read a megabyte at a time; none when the file is not there.
fn digest(location: &Location, name: &str) -> Result<Option<String>> {
    let mut hasher = Sha256::new();
    match location {
        Location::Dir(dir) => {
            let path = dir.join(name);
            let Ok(mut file) = std::fs::File::open(&path) else {
                return Ok(None);
            };
            let mut buffer = vec![0; 1 << 20];
            loop {
                let read = file
                    .read(&mut buffer)
                    .with_context(|| format!("reading {} again for its SHA-256", path.display()))?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
        }
        Location::Sample => match crate::sample::file(name) {
            Some(bytes) => hasher.update(bytes),
            None => return Ok(None),
        },
    }
    Ok(Some(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()))
}

pub(super) fn manifest(
    extract: &Extract,
    reference: &Reference,
    plan: &ReportPlan,
    protection: &Protection,
    tables: &[NamedTable],
    trend_universes: &BTreeMap<String, String>,
    digests: Option<Digests>,
) -> Result<serde_json::Value> {
    let digests = digests.map(Digests::finish).transpose()?.unwrap_or_default();
    let mut files = Vec::new();
    for f in &extract.files {
        files.push(serde_json::json!({
            "file": f.file,
            "sha256": digests.get(&f.file).cloned().flatten(),
            "rows_read": f.rows_read,
            "rows_used": f.rows_used,
            "rows_rejected": f.rows_rejected,
            "encoding": f.encoding,
        }));
    }
    Ok(serde_json::json!({
        "silp_access": env!("CARGO_PKG_VERSION"),
        "parameters": {
            "years": plan.years,
            "lang": plan.lang,
            "threshold": plan.threshold.value(),
            "confidence": plan.confidence,
            "population": "stock",
            "per_cpi": plan.per_cpi,
        },
        "as_of": extract.as_of.format("%Y-%m-%d").to_string(),
        "extract": extract.location.describe(),
        "inputs": files,
        "reference_tables": reference.sources.iter().map(|(n, s)| serde_json::json!({"table": n, "source": s})).collect::<Vec<_>>(),
        "protezione": {
            "soglia": protection.threshold,
            "ricodifiche": protection.recodings.iter().map(|(table, r)| serde_json::json!({"tabella": table, "ricodifica": r.describe()})).collect::<Vec<_>>(),
            "celle_soppresse_primarie": protection.primary_cells,
            "celle_soppresse_secondarie": protection.secondary_cells,
            "persone_nelle_celle_soppresse": protection.hidden_persons,
            "audit": "superato",
            "celle_verificate": protection.audited_cells,
        },
        MANIFEST_TABLES: protection::listed_tables(tables, trend_universes),
    }))
}
