//! The shapes real exports have and the generator's own files lack: rows in
//! no particular order, job centres named in accented text, quoted fields,
//! Windows line ends and encoding. Each is a rewrite of the generated files,
//! so that every shape holds the same persons, spells and activities, and an
//! analysis must give the same numbers on all of them.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::params::{JOB_CENTRES, PROVINCE_SIGLE};
use super::rng::{splitmix64, Rng};
use crate::output::AtomicFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Shape {
    /// Every file's rows in random order: persons, spells and activities
    /// neither grouped by person nor ascending by identifier.
    Shuffled,
    /// did.csv's `cpi` as the job centre's name ("CPI Ciriè"), not its code.
    NamedCentres,
    /// One row in ten with every field in double quotes.
    Quoted,
    /// Lines ending in CR LF.
    Crlf,
    /// Windows-1252 bytes instead of UTF-8.
    Windows1252,
}

/// Names of each province's job centres, in the order of their codes
/// (`TO01` is the first of Turin's); some in accented letters, as SILP
/// writes them.
const CENTRE_NAMES: [&[&str]; 8] = [
    &[
        "CPI Torino",
        "CPI Ciriè",
        "CPI Chieri",
        "CPI Chivasso",
        "CPI Cuorgnè",
        "CPI Ivrea",
        "CPI Moncalieri",
        "CPI Orbassano",
        "CPI Pinerolo",
        "CPI Rivoli",
        "CPI Settimo Torinese",
        "CPI Susa",
    ],
    &["CPI Vercelli", "CPI Borgosesia"],
    &["CPI Novara", "CPI Borgomanero", "CPI Arona"],
    &["CPI Cuneo", "CPI Alba", "CPI Mondovì", "CPI Saluzzo", "CPI Savigliano"],
    &["CPI Asti", "CPI Nizza Monferrato"],
    &[
        "CPI Alessandria",
        "CPI Casale Monferrato",
        "CPI Novi Ligure",
        "CPI Tortona",
    ],
    &["CPI Biella"],
    &["CPI Verbania", "CPI Domodossola"],
];

/// The column of did.csv that names the job centre.
const CENTRE_COLUMN: usize = 4;

/// Share of rows written with quoted fields under [`Shape::Quoted`].
const QUOTED_SHARE: f64 = 0.1;

/// Rewrites `file` in `dir` into the `shapes` given, in place (atomically).
pub fn reshape(dir: &Path, file: &str, shapes: &[Shape], seed: u64) -> Result<()> {
    if shapes.is_empty() {
        return Ok(());
    }
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines: Vec<&str> = text.lines().collect();
    let has = |shape| shapes.contains(&shape);
    // A stream of its own for each file, from the seed and the file's name.
    let name_key = file
        .bytes()
        .fold(0x5348_4150u64, |key, byte| splitmix64(key ^ u64::from(byte)));
    let mut rng = Rng::new(splitmix64(seed ^ name_key));
    if has(Shape::Shuffled) && lines.len() > 2 {
        // Fisher-Yates over the rows, the header staying first.
        for i in (2..lines.len()).rev() {
            let j = 1 + (rng.next_u64() % i as u64) as usize;
            lines.swap(i, j);
        }
    }
    let end = if has(Shape::Crlf) { "\r\n" } else { "\n" };
    let mut out = BufWriter::with_capacity(1 << 20, AtomicFile::create(&path)?);
    let cannot = || format!("cannot write {}", path.display());
    for (index, line) in lines.iter().enumerate() {
        let mut fields: Vec<String> = line.split(';').map(str::to_string).collect();
        if index > 0 && file == "did.csv" && has(Shape::NamedCentres) {
            fields[CENTRE_COLUMN] = centre_name(&fields[CENTRE_COLUMN]);
        }
        let quoted = index > 0 && has(Shape::Quoted) && rng.chance(QUOTED_SHARE);
        let mut row = String::with_capacity(line.len() + 16);
        for (position, field) in fields.iter().enumerate() {
            if position > 0 {
                row.push(';');
            }
            if quoted {
                row.push('"');
                row.push_str(&field.replace('"', "\"\""));
                row.push('"');
            } else {
                row.push_str(field);
            }
        }
        row.push_str(end);
        let bytes = if has(Shape::Windows1252) {
            encoding_rs::WINDOWS_1252.encode(&row).0.into_owned()
        } else {
            row.into_bytes()
        };
        out.write_all(&bytes).with_context(cannot)?;
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .with_context(cannot)?
        .commit()
}

/// The name of the job centre a generated code such as `TO02` stands for.
fn centre_name(code: &str) -> String {
    let (sigla, number) = code.split_at(2.min(code.len()));
    let province = PROVINCE_SIGLE.iter().position(|s| *s == sigla);
    match (province, number.parse::<usize>()) {
        (Some(p), Ok(n)) if (1..=JOB_CENTRES[p] as usize).contains(&n) => CENTRE_NAMES[p][n - 1].to_string(),
        _ => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_centre_has_a_name_of_its_own() {
        let mut names = std::collections::BTreeSet::new();
        for (province, count) in JOB_CENTRES.iter().enumerate() {
            assert_eq!(CENTRE_NAMES[province].len(), *count as usize);
            for n in 1..=*count {
                let name = centre_name(&format!("{}{n:02}", PROVINCE_SIGLE[province]));
                assert!(name.starts_with("CPI "), "{name}");
                assert!(names.insert(name));
            }
        }
        assert_eq!(centre_name("TO02"), "CPI Ciriè");
    }
}
