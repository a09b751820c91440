//! Pseudonymisation of identifiers that hold codici fiscali: a keyed HMAC
//! (SHA-256), the technique ENISA recommends for pseudonymisation, so the
//! same person gets the same pseudonym in every extract made with the same
//! key and nobody without the key can recompute it.

use anyhow::{bail, Context, Result};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The least key material accepted: SHA-256's block of security.
pub const MIN_KEY_BYTES: usize = 32;

pub struct Pseudonymiser {
    keyed: Hmac<Sha256>,
}

impl Pseudonymiser {
    /// Reads the key from a file; its bytes are the key (a trailing newline is ignored).
    pub fn from_key_file(path: &std::path::Path) -> Result<Pseudonymiser> {
        let mut key = std::fs::read(path).with_context(|| format!("cannot read the key file {}", path.display()))?;
        while key.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            key.pop();
        }
        if key.len() < MIN_KEY_BYTES {
            bail!(
                "the key file {} holds {} bytes; use at least {MIN_KEY_BYTES} random bytes, e.g. `head -c 32 /dev/urandom | base64 > {}`, and keep it out of the extract's folder",
                path.display(),
                key.len(),
                path.display()
            );
        }
        Ok(Pseudonymiser {
            keyed: Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length"),
        })
    }

    /// The pseudonym of an identifier: 64 lower-case hex digits. Codici
    /// fiscali are compared without case or surrounding blanks.
    pub fn pseudonym(&self, identifier: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(identifier.trim().to_ascii_uppercase().as_bytes());
        mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Whether a value has the shape of a codice fiscale: 16 upper-case
/// characters, letters and digits in their places (digits may be replaced
/// by the letters of "omocodia").
pub fn looks_like_codice_fiscale(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 16 {
        return false;
    }
    let letter = |c: u8| c.is_ascii_uppercase();
    let digit = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUV".contains(&c);
    b[..6].iter().all(|c| letter(*c))
        && b[6..8].iter().all(|c| digit(*c))
        && b"ABCDEHLMPRST".contains(&b[8])
        && b[9..11].iter().all(|c| digit(*c))
        && letter(b[11])
        && b[12..15].iter().all(|c| digit(*c))
        && letter(b[15])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_codici_fiscali_and_nothing_else() {
        assert!(looks_like_codice_fiscale("RSSMRA80A01L219X"));
        assert!(looks_like_codice_fiscale("RSSMRA80A01L2MVX"), "omocodia");
        assert!(
            !looks_like_codice_fiscale("rssmra80a01l219x"),
            "SILP writes them upper-case"
        );
        assert!(!looks_like_codice_fiscale("f65babe89928aa0b"), "generator ids");
        assert!(!looks_like_codice_fiscale("RSSMRA80Z01L219X"), "no month Z");
        assert!(!looks_like_codice_fiscale("RSSMRA80A01L219"));
    }

    #[test]
    fn pseudonyms_are_keyed_hmac_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "k".repeat(32) + "\n").unwrap();
        let p = Pseudonymiser::from_key_file(&key).unwrap();
        // HMAC-SHA256 of "RSSMRA80A01L219X" under 32 × "k", from Python's hmac module.
        assert_eq!(p.pseudonym(" rssmra80a01l219x "), p.pseudonym("RSSMRA80A01L219X"));
        assert_eq!(
            p.pseudonym("RSSMRA80A01L219X"),
            "81796609cc031dcd7a6a4dca6c819654336e5cbca94ba535737de24ae77cb617"
        );
        std::fs::write(&key, "short").unwrap();
        assert!(Pseudonymiser::from_key_file(&key).is_err());
    }
}
