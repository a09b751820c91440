//! Fuzzing the extract reader with proptest: random bytes, and random
//! mutations (flips, insertions, deletions, truncations) of a valid extract.
//! Loading must return a result, never panic, and keep its accounting.
//! CI runs a few hundred cases; for a long run:
//!     PROPTEST_CASES=20000 cargo test --release --test fuzz

mod common;

use proptest::prelude::*;
use silp_access::extract::schema::FileKind;
use silp_access::extract::{EncodingChoice, Extract, LoadOptions, Location};
use silp_access::reference::Reference;

const KINDS: [FileKind; 3] = [FileKind::Persons, FileKind::Spells, FileKind::Activities];

fn load(files: &[(&str, Vec<u8>)], encoding: EncodingChoice) {
    let work = common::Workdir::new();
    let dir = work.extract("fuzz", files);
    let reference = Reference::load(None).unwrap();
    let options = LoadOptions {
        encoding,
        ..LoadOptions::default()
    };
    if let Ok(extract) = Extract::load(&Location::Dir(dir), &KINDS, &options, &reference) {
        for report in &extract.files {
            assert_eq!(report.rows_read, report.rows_used + report.rows_rejected);
            let listed = extract.rejects.iter().filter(|r| r.file == report.file).count() as u64;
            assert_eq!(listed, report.rows_rejected);
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop_oneof![
        Just(b'"'),
        Just(b';'),
        Just(b','),
        Just(b'\n'),
        Just(b'\r'),
        Just(0u8),
        Just(0xE8),
        any::<u8>()
    ];
    prop_oneof![
        (any::<usize>(), special.clone()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), special).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match *m {
        Mutation::Flip(i, b) => {
            let i = i % bytes.len();
            bytes[i] = b;
        }
        Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
        Mutation::Delete(i) => {
            let i = i % bytes.len();
            bytes.remove(i);
        }
        Mutation::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(files in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 3)) {
        let named: Vec<(&str, Vec<u8>)> =
            ["lavoratori.csv", "did.csv", "politiche.csv"].into_iter().zip(files).collect();
        load(&named, EncodingChoice::Auto);
    }

    #[test]
    fn mutated_extracts_never_panic(
        mutations in proptest::collection::vec((0usize..3, mutation()), 1..8),
        forced_utf8 in any::<bool>(),
    ) {
        let mut files = common::fixture_files();
        for (file, m) in &mutations {
            apply(&mut files[*file].1, m);
        }
        load(&files, if forced_utf8 { EncodingChoice::Utf8 } else { EncodingChoice::Auto });
    }
}
