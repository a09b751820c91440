//! The sample extract shipped in `data-samples/`, embedded so that
//! `--extract` can be left out from any directory, even after `cargo install`.

pub const NAME: &str = "piemonte-20k";

/// The command that made the sample; a test regenerates it and compares bytes.
pub const PERSONS: u64 = 20_000;
pub const SEED: u64 = 2024;

pub fn file(name: &str) -> Option<&'static [u8]> {
    match name {
        "lavoratori.csv" => Some(include_bytes!("../data-samples/piemonte-20k/lavoratori.csv")),
        "did.csv" => Some(include_bytes!("../data-samples/piemonte-20k/did.csv")),
        "politiche.csv" => Some(include_bytes!("../data-samples/piemonte-20k/politiche.csv")),
        "avviamenti.csv" => Some(include_bytes!("../data-samples/piemonte-20k/avviamenti.csv")),
        _ => None,
    }
}
