//! What the report says of disclosure control: the "Protezione dei dati"
//! section, and the list of its tables with the persons and activities
//! each counts, which `audit` reads from the manifest.

use std::collections::BTreeMap;

use super::{centres, NamedTable, TREND};
use crate::disclosure::files::ListedTable;
use crate::disclosure::Protection;
use crate::output::terminal::thousands;
use crate::table::Lang;

/// The tables an audit of the report's folder reads, with their scopes.
pub(super) fn listed_tables(tables: &[NamedTable], trend_universes: &BTreeMap<String, String>) -> Vec<ListedTable> {
    tables
        .iter()
        .filter_map(|t| {
            t.scope.clone().map(|scope| ListedTable {
                file: format!("tabelle/{}.csv", t.name),
                scope,
                universes_by_year: if t.name == TREND || t.name == centres::TREND {
                    trend_universes.clone()
                } else {
                    BTreeMap::new()
                },
                counts_by_day: t.counts_by_day.clone(),
                filtered: false,
            })
        })
        .collect()
}

/// "Protezione dei dati": the threshold, what was recoded, what is hidden,
/// and that the published set passed the audit.
pub(super) fn protection_paragraphs(lang: Lang, protection: &Protection) -> Vec<String> {
    let mut out = vec![match lang {
        Lang::It => format!(
            "Soglia: nessuna cella pubblicata conta da 1 a {} persone, beneficiari o non beneficiari. Le tabelle del rapporto sono protette insieme: una cella che compare in più tabelle ha lo stesso stato in tutte, e i totali sono considerati pubblici anche dove non sono stampati.",
            protection.threshold - 1
        ),
        Lang::En => format!(
            "Threshold: no published cell counts 1 to {} persons, beneficiaries or non-beneficiaries. The report's tables are protected together: a cell that appears in several tables has the same status in all, and totals count as public even where they are not printed.",
            protection.threshold - 1
        ),
    }];
    let mut recoded: Vec<String> = Vec::new();
    for (table, r) in &protection.recodings {
        // A table of several years (the trend) is recoded year by year alike.
        let text = format!("{table} ({} → {})", r.from.join(" + "), r.into);
        if !recoded.contains(&text) {
            recoded.push(text);
        }
    }
    if !recoded.is_empty() {
        out.push(match lang {
            Lang::It => format!(
                "Ricodifiche: dove le persone apolidi o di cittadinanza non nota (ND) erano sotto la soglia, sono state unite ai cittadini non UE (EXTRA_UE_ND), così che il gruppo UE resti pubblicato: {}.",
                recoded.join("; ")
            ),
            Lang::En => format!(
                "Recoding: where stateless persons or those of unknown citizenship (ND) were under the threshold they were pooled with non-EU citizens (EXTRA_UE_ND), so that the EU group stays published: {}.",
                recoded.join("; ")
            ),
        });
    }
    let hidden = protection.primary_cells + protection.secondary_cells;
    out.push(match (lang, hidden) {
        (Lang::It, 0) => "Nessuna cella è soppressa. Un audit per programmazione lineare conferma che le tabelle pubblicate insieme non lasciano ricavare alcun valore nascosto.".to_string(),
        (Lang::En, 0) => "No cell is suppressed. A linear-programming audit confirms that the tables published together leave no hidden value to recover.".to_string(),
        (Lang::It, _) => format!(
            "Celle soppresse: {} sotto la soglia (u) e {} per non farle ricavare (x), con {} persone in tutto. Un audit per programmazione lineare ha verificato, per ciascuna delle {} celle soppresse, i valori minimi e massimi compatibili con tutte le tabelle pubblicate: nessuna è ricavabile.",
            protection.primary_cells, protection.secondary_cells, thousands(protection.hidden_persons, lang), protection.audited_cells
        ),
        (Lang::En, _) => format!(
            "Suppressed cells: {} under the threshold (u) and {} so that they cannot be recovered (x), holding {} persons in all. A linear-programming audit checked, for each of the {} suppressed cells, the least and greatest values compatible with every published table: none can be recovered.",
            protection.primary_cells, protection.secondary_cells, thousands(protection.hidden_persons, lang), protection.audited_cells
        ),
    });
    out
}
