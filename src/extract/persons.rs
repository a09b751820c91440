//! Person references resolved while the files are read. lavoratori.csv is
//! read first; an analysis then turns each `id_lav` of the other files into
//! its person's position among lavoratori.csv's checked rows as each piece is
//! typed, so no reference is held as text (at 10 million persons, 29 million
//! of them: 32 bytes each with 16-character identifiers, 80 with the
//! 64-character ones `pseudonymise` writes), and no later step hashes or
//! joins them as text.

use polars::prelude::*;

/// The persons' array of identifiers (one chunk: read by position).
type Identifiers = <StringType as PolarsDataType>::Array;

/// A reference present but longer than any identifier may be (stage 1
/// rejects it, like a long identifier).
pub(super) const TOO_LONG: IdxSize = IdxSize::MAX;
/// A reference to no row of lavoratori.csv that passed the row rules: stage
/// 3 rejects it, unless a rule of stage 2 rejects the row first.
pub(super) const UNKNOWN: IdxSize = IdxSize::MAX - 1;

/// lavoratori.csv's identifiers after the row rules, each found by its text.
///
/// An open-addressing table (linear probing, at most two thirds full) whose
/// slots hold the high half of an identifier's hash beside its position
/// plus one (0: empty). References are looked up in batches, each pass over
/// a batch prefetching what the next one reads (slot, then the candidate's
/// view, then its bytes): one lookup at a time waited on three or four
/// cache misses in a row, 18% of the CPU of `rates` at a million persons
/// with a hashed table (hashbrown), which made the whole query 13% slower
/// than joining the text.
pub(super) struct PersonIndex {
    ids: Identifiers,
    slots: Vec<u64>,
    mask: usize,
    /// Some identifier is held by two rows.
    repeats: bool,
}

/// References looked up together: enough misses in flight to hide their
/// latency, few enough for the batch's state to stay in registers and L1.
const BATCH: usize = 32;

/// Identifiers up to this long are held inside their view (Arrow's string views).
const INLINE_BYTES: u32 = 12;

fn hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

fn tag(hash: u64) -> u64 {
    hash >> 32
}

/// Asks the processor to start loading `address` into its caches; loads no
/// value and cannot fault, whatever the address.
#[inline(always)]
fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it reads nothing the program sees.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

impl PersonIndex {
    pub(super) fn new(ids: &StringChunked) -> PersonIndex {
        let ids = ids.rechunk();
        let ids: Identifiers = ids
            .downcast_iter()
            .next()
            .cloned()
            .unwrap_or_else(|| Identifiers::new_empty(ArrowDataType::Utf8View));
        let capacity = (ids.len() + ids.len() / 2).max(BATCH).next_power_of_two();
        let slots = vec![0; capacity];
        // A table past glibc's 32 MB ceiling for serving from its heaps is
        // mapped afresh, so not touched yet. 10 million persons (128 MB), 5
        // runs each: filled in 0.35-0.38 s instead of 0.49-0.52, rates 0.97
        // of the wall time with 4 KB pages.
        crate::memory::prefer_huge_pages(&slots);
        let mut index = PersonIndex {
            slots,
            mask: capacity - 1,
            ids,
            repeats: false,
        };
        // In batches, each identifier's slot prefetched before any is probed
        // (10 million persons, 3 runs each: rates 0.96 of the wall time of
        // inserting them one at a time).
        for first in (0..index.ids.len()).step_by(BATCH) {
            let batch = first..(first + BATCH).min(index.ids.len());
            let mut hashes = [0u64; BATCH];
            for position in batch.clone() {
                // Stage 1 rejects a person without an identifier.
                if let Some(id) = index.ids.get(position) {
                    hashes[position - first] = hash(id);
                    prefetch(&index.slots[hashes[position - first] as usize & index.mask]);
                }
            }
            for position in batch {
                let Some(id) = index.ids.get(position) else { continue };
                let hashed = hashes[position - first];
                // A repeated identifier keeps its first position: the
                // duplicate rule rejects every row that holds it, and so
                // stage 3 every reference to it.
                match index.find_from(hashed as usize & index.mask, hashed, id) {
                    Ok(_) => index.repeats = true,
                    Err(empty) => index.slots[empty] = (tag(hashed) << 32) | (position as u64 + 1),
                }
            }
        }
        index
    }

    /// From slot `at`, the first slot whose tag is `hashed`'s, with the
    /// position it holds, or the empty slot that ends the probe.
    fn next_candidate(&self, mut at: usize, hashed: u64) -> Result<(usize, IdxSize), usize> {
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return Err(at);
            }
            if slot >> 32 == tag(hashed) {
                return Ok((at, (slot as u32 - 1) as IdxSize));
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Probes from slot `at` for `id`: its position, or the empty slot
    /// where it would go.
    fn find_from(&self, mut at: usize, hashed: u64, id: &str) -> Result<IdxSize, usize> {
        loop {
            let (slot, position) = self.next_candidate(at, hashed)?;
            if super::same_bytes(self.id(position).as_bytes(), id.as_bytes()) {
                return Ok(position);
            }
            at = (slot + 1) & self.mask;
        }
    }

    /// Each reference's person: its position, [`UNKNOWN`] for an identifier
    /// of no person, [`TOO_LONG`] past `max_bytes`, null for none.
    pub(super) fn resolve(&self, references: &[Option<&str>], max_bytes: usize) -> Vec<Option<IdxSize>> {
        let mut resolved = Vec::with_capacity(references.len());
        let views = self.ids.views();
        let buffers = self.ids.data_buffers();
        for batch in references.chunks(BATCH) {
            let mut hashes = [0u64; BATCH];
            let mut candidates = [None::<(usize, IdxSize)>; BATCH];
            for (i, id) in batch.iter().enumerate() {
                if let Some(id) = id.filter(|id| id.len() <= max_bytes) {
                    hashes[i] = hash(id);
                    prefetch(&self.slots[hashes[i] as usize & self.mask]);
                }
            }
            // The first slot of the same tag; its identifier is compared below.
            for (i, id) in batch.iter().enumerate() {
                if id.is_some_and(|id| id.len() <= max_bytes) {
                    candidates[i] = self.next_candidate(hashes[i] as usize & self.mask, hashes[i]).ok();
                    if let Some((_, position)) = candidates[i] {
                        prefetch(&views[position as usize]);
                    }
                }
            }
            for (_, position) in candidates.iter().flatten() {
                let view = views[*position as usize];
                if view.length > INLINE_BYTES {
                    prefetch(
                        buffers[view.buffer_idx as usize]
                            .as_ptr()
                            .wrapping_add(view.offset as usize),
                    );
                }
            }
            for (i, id) in batch.iter().enumerate() {
                resolved.push(id.map(|id| {
                    if id.len() > max_bytes {
                        return TOO_LONG;
                    }
                    match candidates[i] {
                        Some((_, position)) if super::same_bytes(self.id(position).as_bytes(), id.as_bytes()) => {
                            position
                        }
                        // Another identifier with the same tag: probe on.
                        Some((at, _)) => self.find_from((at + 1) & self.mask, hashes[i], id).unwrap_or(UNKNOWN),
                        None => UNKNOWN,
                    }
                }));
            }
        }
        resolved
    }

    /// The identifier of the person at `position`, as lavoratori.csv has it.
    pub(super) fn id(&self, position: IdxSize) -> &str {
        self.ids.value(position as usize)
    }

    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether two of the persons' rows hold the same identifier.
    pub(super) fn repeats(&self) -> bool {
        self.repeats
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;
    use proptest::prelude::*;

    use super::{PersonIndex, TOO_LONG, UNKNOWN};

    #[test]
    fn identifiers_are_found_exactly_and_a_repeated_one_at_its_first_row() {
        let long = "a much longer identifier than twelve bytes";
        let ids = StringChunked::from_iter_options(
            "id_lav".into(),
            [Some("P1"), Some(long), None, Some("P1"), Some("p1")].into_iter(),
        );
        let index = PersonIndex::new(&ids);
        assert_eq!(index.len(), 5);
        assert!(index.repeats());
        assert!(!PersonIndex::new(&ids.slice(1, 3)).repeats());
        assert_eq!(index.id(1), long);
        let references = [
            Some("p1"),
            None,
            Some("P2"),
            Some("P1 "),
            Some(long),
            Some("P1"),
            Some(""),
        ];
        assert_eq!(
            index.resolve(&references, 100),
            [
                Some(4),
                None,
                Some(UNKNOWN),
                Some(UNKNOWN),
                Some(1),
                Some(0),
                Some(UNKNOWN)
            ]
        );
        assert_eq!(index.resolve(&references[4..5], 20), [Some(TOO_LONG)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Batches, probing past slots of other identifiers and identifiers
        /// inline in their views or not: every reference resolves to the
        /// first row holding exactly its text.
        #[test]
        fn references_resolve_to_the_first_row_with_their_exact_text(
            persons in proptest::collection::vec("[ab]{1,3}|[ab]{13,14}", 0..200),
            references in proptest::collection::vec("[ab]{0,3}|[ab]{13,14}", 0..300),
        ) {
            let ids = StringChunked::from_iter_values("id_lav".into(), persons.iter().map(String::as_str));
            let index = PersonIndex::new(&ids);
            let asked: Vec<Option<&str>> = references.iter().map(|r| Some(r.as_str())).collect();
            let expected: Vec<Option<u32>> = references
                .iter()
                .map(|r| Some(persons.iter().position(|p| p == r).map_or(UNKNOWN, |p| p as u32)))
                .collect();
            prop_assert_eq!(index.resolve(&asked, 1000), expected);
        }
    }
}
