//! A synthetic linked file (`generate --accoglienza`): the reception
//! system's record of the extract's persons who were hosted, keyed by the
//! same pseudonymised `id_lav`, with its declaration. It shows the layout
//! of a linked file (`docs/contracts/linked.md`) and how unevenly such a
//! file covers the groups compared: reception hosts asylum seekers, the
//! protected and unaccompanied minors, never Italians.
//!
//! Drawn from its own random stream, so the extract's files are the bytes
//! they are without it.

use std::io::Write;

use super::rng::{splitmix64, Rng};

pub const FILE: &str = "accoglienza.csv";
pub const DECLARATION_FILE: &str = "accoglienza.toml";
pub const HEADER: &str = "id_lav;accoglienza;permanenza\n";

pub const DECLARATION: &str = r#"# Declares accoglienza.csv, a linked file (docs/contracts/linked.md).
source = "Sistema di accoglienza: ultima accoglienza di ogni persona (sintetico, generato da silp-access generate --accoglienza)"

[[column]]
name = "accoglienza"
codes = ["CAS", "SAI", "MSNA"]
labels = { CAS = "Accoglienza straordinaria (CAS)", SAI = "Sistema di accoglienza e integrazione (SAI)", MSNA = "Accoglienza per minori non accompagnati" }

[[column]]
name = "permanenza"
codes = ["FINO_6_MESI", "6_12_MESI", "OLTRE_12_MESI"]
labels = { FINO_6_MESI = "Fino a 6 mesi", "6_12_MESI" = "Da 6 a 12 mesi", OLTRE_12_MESI = "Oltre 12 mesi" }
"#;

/// Former unaccompanied minors: nearly all were hosted, most in centres
/// for minors, the rest moved on to SAI when they came of age.
const EX_MSNA_HOSTED: f64 = 0.95;
const EX_MSNA_IN_MINORS_CENTRES: f64 = 0.7;
/// Asylum seekers and the protected: most passed through reception,
/// extraordinary centres (CAS) somewhat more often than SAI.
const PROTECTION_HOSTED: f64 = 0.8;
const PROTECTION_IN_CAS: f64 = 0.55;
/// Other non-EU permits: a few, hosted while their permit changed.
const OTHER_NON_EU_HOSTED: f64 = 0.02;
/// Length of stay: minors stay long; the others spread over the classes,
/// a few without a recorded length.
const STAY_SHARES: [(&str, f64); 4] = [
    ("FINO_6_MESI", 0.30),
    ("6_12_MESI", 0.35),
    ("OLTRE_12_MESI", 0.30),
    ("", 0.05),
];
const MINORS_STAY_SHARES: [(&str, f64); 3] = [("6_12_MESI", 0.25), ("OLTRE_12_MESI", 0.7), ("", 0.05)];
/// For each person hosted, the chance of a row of a person hosted who
/// never registered at a job centre: it names no person of the extract and
/// is rejected as an unknown person.
const NOT_IN_EXTRACT: f64 = 0.03;

const PROTECTION_PERMITS: [&str; 3] = ["ASILO", "PROTEZIONE_INTERNAZIONALE", "PROTEZIONE_SPECIALE"];

pub struct Reception {
    rng: Rng,
    unknown: u64,
}

impl Reception {
    pub fn new(seed: u64) -> Reception {
        Reception {
            rng: Rng::new(splitmix64(seed ^ 0x4143_434F)),
            unknown: 0,
        }
    }

    /// The row of one person of the extract, if reception hosted them,
    /// now and then followed by one of a person the extract does not hold.
    pub fn person(&mut self, id: &str, non_eu: bool, permit: Option<&str>, ex_msna: bool, out: &mut Vec<u8>) {
        let rng = &mut self.rng;
        let protected = permit.is_some_and(|p| PROTECTION_PERMITS.contains(&p));
        let (hosted, kind, stay): (f64, &str, &[(&str, f64)]) = if ex_msna {
            let kind = if rng.chance(EX_MSNA_IN_MINORS_CENTRES) {
                "MSNA"
            } else {
                "SAI"
            };
            (EX_MSNA_HOSTED, kind, &MINORS_STAY_SHARES)
        } else if protected {
            let kind = if rng.chance(PROTECTION_IN_CAS) { "CAS" } else { "SAI" };
            (PROTECTION_HOSTED, kind, &STAY_SHARES)
        } else if non_eu {
            (OTHER_NON_EU_HOSTED, "CAS", &STAY_SHARES)
        } else {
            (0.0, "", &STAY_SHARES)
        };
        if hosted == 0.0 || !rng.chance(hosted) {
            return;
        }
        let stay = rng.pick(stay);
        writeln!(out, "{id};{kind};{stay}").expect("writing to memory");
        if rng.chance(NOT_IN_EXTRACT) {
            self.unknown += 1;
            // `R` is no hexadecimal digit: never an identifier of the extract.
            let unknown = format!("R{:015x}", splitmix64(self.unknown) >> 4);
            let stay = rng.pick(&STAY_SHARES);
            writeln!(out, "{unknown};CAS;{stay}").expect("writing to memory");
        }
    }
}
