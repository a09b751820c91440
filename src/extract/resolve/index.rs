//! Person references resolved while the files are read. lavoratori.csv is
//! read first; an analysis then turns each `id_lav` of the other files into
//! its person's position among lavoratori.csv's checked rows as each piece is
//! typed, so no reference is held as text (tens of bytes each, tens of
//! millions of them in a large extract), and no later step hashes or joins
//! them as text. The design is in `docs/design/person-index.md`.

use polars::prelude::*;

use crate::engine::prefetch;

/// The persons' array of identifiers (one chunk: read by position).
type Identifiers = <StringType as PolarsDataType>::Array;

/// A reference present but longer than any identifier may be (stage 1
/// rejects it, like a long identifier).
pub(in crate::extract) const TOO_LONG: IdxSize = IdxSize::MAX;
/// A reference to no row of lavoratori.csv that passed the row rules: stage
/// 3 rejects it, unless a rule of stage 2 rejects the row first.
pub(in crate::extract) const UNKNOWN: IdxSize = IdxSize::MAX - 1;

/// lavoratori.csv's identifiers after the row rules, each found by its text.
///
/// An open-addressing table (linear probing, at most two thirds full) whose
/// slots hold the high half of an identifier's hash beside its position
/// plus one (0: empty). References are looked up in batches, each pass over
/// a batch prefetching what the next one reads (slot, then the candidate's
/// view, then its bytes): one lookup at a time waits on three or four
/// cache misses in a row, which with a general hash table made resolving
/// slower than joining the text.
pub(in crate::extract) struct PersonIndex {
    ids: Identifiers,
    slots: Vec<u64>,
    mask: usize,
    /// Some identifier is held by two rows.
    repeats: bool,
}

/// References looked up together: enough misses in flight to hide their
/// latency, few enough for the batch's state to stay in registers and L1.
const BATCH: usize = 32;

/// Persons hashed together, on one core, before their identifiers go in the table.
const SPAN: usize = 1 << 20;

/// The table is filled one region of 2^15 slots (256 KB, which stays in a
/// core's cache) after the other, each identifier hashed first and sorted
/// by its region: filled at random, each insertion waits on memory.
const REGION_SLOT_BITS: u32 = 15;

/// A span of persons' hashes and positions, sorted by region, stably.
struct HashedSpan {
    entries: Vec<(u64, u32)>,
    /// Where each region's entries start, and the end.
    starts: Vec<usize>,
}

impl HashedSpan {
    fn by_region(hashed: Vec<(u64, u32)>, regions: usize, region: impl Fn(u64) -> usize) -> HashedSpan {
        let mut starts = vec![0; regions + 1];
        for &(hashed, _) in &hashed {
            starts[region(hashed) + 1] += 1;
        }
        for at in 1..starts.len() {
            starts[at] += starts[at - 1];
        }
        let mut next = starts.clone();
        let mut entries = vec![(0, 0); hashed.len()];
        for entry in hashed {
            let at = &mut next[region(entry.0)];
            entries[*at] = entry;
            *at += 1;
        }
        HashedSpan { entries, starts }
    }

    fn region(&self, region: usize) -> &[(u64, u32)] {
        &self.entries[self.starts[region]..self.starts[region + 1]]
    }
}

/// Identifiers up to this long are held inside their view (Arrow's string views).
const INLINE_BYTES: u32 = 12;

fn hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

fn tag(hash: u64) -> u64 {
    hash >> 32
}

impl PersonIndex {
    pub(in crate::extract) fn new(ids: &StringChunked) -> PersonIndex {
        PersonIndex::filled_by(ids, SPAN, REGION_SLOT_BITS)
    }

    /// The index, its persons hashed `span` at a time and its table filled
    /// a region of 2^`region_slot_bits` slots at a time.
    fn filled_by(ids: &StringChunked, span: usize, region_slot_bits: u32) -> PersonIndex {
        let ids = ids.rechunk();
        let ids: Identifiers = ids
            .downcast_iter()
            .next()
            .cloned()
            .unwrap_or_else(|| Identifiers::new_empty(ArrowDataType::Utf8View));
        let capacity = (ids.len() + ids.len() / 2).max(BATCH).next_power_of_two();
        let slots = vec![0; capacity];
        // A table past glibc's 32 MB ceiling for serving from its heaps is
        // mapped afresh, so not touched yet. The lookups of the references
        // probe it at random, and with 4 KB pages nearly every probe misses
        // the TLB.
        crate::memory::prefer_huge_pages(&slots);
        let mut index = PersonIndex {
            slots,
            mask: capacity - 1,
            ids,
            repeats: false,
        };
        let length = index.ids.len();
        let spans: Vec<std::ops::Range<usize>> = (0..length)
            .step_by(span)
            .map(|first| first..(first + span).min(length))
            .collect();
        let regions = (capacity >> region_slot_bits).max(1);
        let region = |hashed: u64| (hashed as usize & index.mask) >> region_slot_bits;
        let by_region = crate::extract::parallel::each(
            spans.len(),
            |span| {
                let hashed: Vec<(u64, u32)> = spans[span]
                    .clone()
                    // Stage 1 rejects a person without an identifier.
                    .filter_map(|position| index.ids.get(position).map(|id| (hash(id), position as u32)))
                    .collect();
                HashedSpan::by_region(hashed, regions, region)
            },
            |_| false,
        )
        .unwrap_or_else(|_| unreachable!("no span stops the others"));
        // Region after region, each span's identifiers in the order of their
        // positions: a repeated identifier keeps its first position (the
        // duplicate rule rejects every row that holds it, and so stage 3
        // every reference to it).
        for region in 0..regions {
            for span in &by_region {
                for &(hashed, position) in span.region(region) {
                    // The identifier is read only when a slot holds its tag:
                    // read for each, in the order of the regions, it missed
                    // the cache every time.
                    let id = || index.id(position);
                    match index.find_from(hashed as usize & index.mask, hashed, id) {
                        Ok(_) => index.repeats = true,
                        Err(empty) => index.slots[empty] = (tag(hashed) << 32) | (u64::from(position) + 1),
                    }
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

    /// Probes from slot `at` for the identifier `id` gives, asked for only
    /// when a slot holds its tag: its position, or the empty slot where it
    /// would go.
    fn find_from<'a>(&'a self, mut at: usize, hashed: u64, id: impl Fn() -> &'a str) -> Result<IdxSize, usize> {
        loop {
            let (slot, position) = self.next_candidate(at, hashed)?;
            if crate::extract::typing::same_bytes(self.id(position).as_bytes(), id().as_bytes()) {
                return Ok(position);
            }
            at = (slot + 1) & self.mask;
        }
    }

    /// Each reference's person: its position, [`UNKNOWN`] for an identifier
    /// of no person, [`TOO_LONG`] past `max_bytes`, null for none.
    pub(in crate::extract) fn resolve(&self, references: &[Option<&str>], max_bytes: usize) -> Vec<Option<IdxSize>> {
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
                        Some((_, position))
                            if crate::extract::typing::same_bytes(self.id(position).as_bytes(), id.as_bytes()) =>
                        {
                            position
                        }
                        // Another identifier with the same tag: probe on.
                        Some((at, _)) => self
                            .find_from((at + 1) & self.mask, hashes[i], || id)
                            .unwrap_or(UNKNOWN),
                        None => UNKNOWN,
                    }
                }));
            }
        }
        resolved
    }

    /// The identifier of the person at `position`, as lavoratori.csv has it.
    pub(in crate::extract) fn id(&self, position: IdxSize) -> &str {
        self.ids.value(position as usize)
    }

    pub(in crate::extract) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether two of the persons' rows hold the same identifier.
    pub(in crate::extract) fn repeats(&self) -> bool {
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
        /// inline in their views or not, the table filled in one region or
        /// many, from one span of persons or many: every reference resolves
        /// to the first row holding exactly its text.
        #[test]
        fn references_resolve_to_the_first_row_with_their_exact_text(
            persons in proptest::collection::vec("[ab]{1,3}|[ab]{13,14}", 0..200),
            references in proptest::collection::vec("[ab]{0,3}|[ab]{13,14}", 0..300),
            span in 1usize..300,
            region_slot_bits in 0u32..9,
        ) {
            let ids = StringChunked::from_iter_values("id_lav".into(), persons.iter().map(String::as_str));
            let index = PersonIndex::filled_by(&ids, span, region_slot_bits);
            let distinct: std::collections::HashSet<&String> = persons.iter().collect();
            prop_assert_eq!(index.repeats(), distinct.len() < persons.len());
            let asked: Vec<Option<&str>> = references.iter().map(|r| Some(r.as_str())).collect();
            let expected: Vec<Option<u32>> = references
                .iter()
                .map(|r| Some(persons.iter().position(|p| p == r).map_or(UNKNOWN, |p| p as u32)))
                .collect();
            prop_assert_eq!(index.resolve(&asked, 1000), expected);
        }
    }
}
