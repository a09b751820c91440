//! Person references resolved while the files are read. lavoratori.csv is
//! read first; an analysis then turns each `id_lav` of the other files into
//! its person's position among lavoratori.csv's checked rows as each piece is
//! typed, so no reference is held as text (tens of bytes each, tens of
//! millions of them in a large extract), and no later step hashes or joins
//! them as text. The design is in `docs/design/person-index.md`.

use polars::prelude::*;

use crate::engine::prefetch;
use crate::extract::positions::{short_words, KEY_BYTES};
use crate::extract::resolve::id_hash;

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
/// slots hold the top 27 bits of an identifier's hash, its length up to
/// [`KEY_BYTES`] (a mark for longer ones) and its position plus one (0:
/// empty). References are looked up in batches, each pass over a batch
/// prefetching what the next one reads (slot, then the candidate's words;
/// for a longer identifier its view, then its bytes): one lookup at a time
/// waits on each cache miss in turn, which with a general hash table made
/// resolving slower than joining the text.
pub(in crate::extract) struct PersonIndex {
    ids: Identifiers,
    /// Each person's identifier as two words ([`short_words`]), by
    /// position, one vector per span of persons hashed together (kept as
    /// they were made rather than copied into one; empty when every
    /// identifier is longer than [`KEY_BYTES`]): an identifier of up to
    /// [`KEY_BYTES`] bytes is compared through them, so that a reference to
    /// a person at a random position (an export out of key order) misses
    /// the cache in its slot and here, rather than in its slot, its view
    /// and its bytes.
    words: Vec<Vec<[u64; 2]>>,
    /// A span holds 2^`span_bits` persons.
    span_bits: u32,
    slots: Vec<u64>,
    mask: usize,
    /// Some identifier is held by two rows.
    repeats: bool,
}

/// References looked up together: enough misses in flight to hide their
/// latency, few enough for the batch's state to stay in registers and L1.
const BATCH: usize = 32;

/// Persons hashed together, on one core, before their identifiers go in
/// the table: 2^SPAN_BITS of them.
const SPAN_BITS: u32 = 20;

/// The table is filled one region of 2^15 slots (256 KB, which stays in a
/// core's cache) after the other, each identifier hashed first and sorted
/// by its region: filled at random, each insertion waits on memory.
const REGION_SLOT_BITS: u32 = 15;

/// A span of persons' hashes and slots, sorted by region, stably.
struct HashedSpan {
    entries: Vec<(u64, u64)>,
    /// Where each region's entries start, and the end.
    starts: Vec<usize>,
}

impl HashedSpan {
    fn by_region(hashed: Vec<(u64, u64)>, regions: usize, region: impl Fn(u64) -> usize) -> HashedSpan {
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

    fn region(&self, region: usize) -> &[(u64, u64)] {
        &self.entries[self.starts[region]..self.starts[region + 1]]
    }
}

/// Identifiers up to this long are held inside their view (Arrow's string views).
const INLINE_BYTES: u32 = 12;

/// The bits of a hash a slot holds.
const TAG_SHIFT: u32 = 37;

fn tag(hash: u64) -> u64 {
    hash >> TAG_SHIFT
}

/// An identifier's length as a slot holds it: up to [`KEY_BYTES`], or [`LONG`].
fn length_code(id: &[u8]) -> u64 {
    if id.len() <= KEY_BYTES {
        id.len() as u64
    } else {
        LONG
    }
}

/// The length code of an identifier longer than [`KEY_BYTES`], and the
/// mask of the 5 bits between the tag and the position that hold a code.
const LONG: u64 = 31;

/// The slot of the identifier `id` hashed to `hashed`, at `position`.
fn slot_of(hashed: u64, id: &[u8], position: IdxSize) -> u64 {
    tag(hashed) << TAG_SHIFT | length_code(id) << 32 | (u64::from(position) + 1)
}

fn position_in(slot: u64) -> IdxSize {
    (slot as u32 - 1) as IdxSize
}

fn length_code_in(slot: u64) -> u64 {
    (slot >> 32) & LONG
}

impl PersonIndex {
    pub(in crate::extract) fn new(ids: &StringChunked) -> PersonIndex {
        PersonIndex::filled_by(ids, SPAN_BITS, REGION_SLOT_BITS)
    }

    /// The index, its persons hashed 2^`span_bits` at a time and its table
    /// filled a region of 2^`region_slot_bits` slots at a time.
    fn filled_by(ids: &StringChunked, span_bits: u32, region_slot_bits: u32) -> PersonIndex {
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
            words: Vec::new(),
            span_bits,
            repeats: false,
        };
        let length = index.ids.len();
        let spans: Vec<std::ops::Range<usize>> = (0..length)
            .step_by(1 << span_bits)
            .map(|first| first..(first + (1 << span_bits)).min(length))
            .collect();
        let regions = (capacity >> region_slot_bits).max(1);
        let region = |hashed: u64| (hashed as usize & index.mask) >> region_slot_bits;
        // Identifiers that are all longer than the words hold (the 64
        // characters `pseudonymise` writes) are compared by their bytes
        // alone, and no person's words are kept.
        let any_short = index.ids.views().iter().any(|view| view.length as usize <= KEY_BYTES);
        let by_region_and_words = crate::extract::parallel::each(
            spans.len(),
            |span| {
                let mut words = Vec::with_capacity(if any_short { spans[span].len() } else { 0 });
                let hashed: Vec<(u64, u64)> = spans[span]
                    .clone()
                    // Stage 1 rejects a person without an identifier.
                    .filter_map(|position| {
                        let id = index.ids.get(position);
                        if any_short {
                            words.push(id.map_or([0, 0], |id| short_words(id.as_bytes())));
                        }
                        id.map(|id| {
                            let hashed = id_hash(id);
                            (hashed, slot_of(hashed, id.as_bytes(), position as IdxSize))
                        })
                    })
                    .collect();
                (HashedSpan::by_region(hashed, regions, region), words)
            },
            |_| false,
        )
        .unwrap_or_else(|_| unreachable!("no span stops the others"));
        let by_region: Vec<HashedSpan>;
        (by_region, index.words) = by_region_and_words.into_iter().unzip();
        // Region after region, each span's identifiers in the order of their
        // positions: a repeated identifier keeps its first position (the
        // duplicate rule rejects every row that holds it, and so stage 3
        // every reference to it).
        for region in 0..regions {
            for span in &by_region {
                for &(hashed, slot) in span.region(region) {
                    // The identifier is read only when a slot holds its tag:
                    // read for each, in the order of the regions, it missed
                    // the cache every time.
                    let id = || index.id(position_in(slot)).as_bytes();
                    match index.find_from(hashed as usize & index.mask, hashed, |held| index.holds(held, id())) {
                        Ok(_) => index.repeats = true,
                        Err(empty) => index.slots[empty] = slot,
                    }
                }
            }
        }
        index
    }

    /// From slot `at`, the first slot whose tag is `hashed`'s, with what it
    /// holds, or the empty slot that ends the probe.
    fn next_candidate(&self, mut at: usize, hashed: u64) -> Result<(usize, u64), usize> {
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return Err(at);
            }
            if tag(slot) == tag(hashed) {
                return Ok((at, slot));
            }
            at = (at + 1) & self.mask;
        }
    }

    /// Probes from slot `at` for a slot of `hashed`'s tag that `same` says
    /// holds the identifier sought: its position, or the empty slot where
    /// the identifier would go.
    fn find_from(&self, mut at: usize, hashed: u64, same: impl Fn(u64) -> bool) -> Result<IdxSize, usize> {
        loop {
            let (found, slot) = self.next_candidate(at, hashed)?;
            if same(slot) {
                return Ok(position_in(slot));
            }
            at = (found + 1) & self.mask;
        }
    }

    /// Whether the person of `slot` has the identifier `id`.
    #[inline]
    fn holds(&self, slot: u64, id: &[u8]) -> bool {
        let code = length_code_in(slot);
        let position = position_in(slot);
        code == length_code(id)
            && if code == LONG {
                crate::extract::typing::same_bytes(self.id(position).as_bytes(), id)
            } else {
                *self.words_of(position) == short_words(id)
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
            let mut candidates = [None::<(usize, u64)>; BATCH];
            for (i, id) in batch.iter().enumerate() {
                if let Some(id) = id.filter(|id| id.len() <= max_bytes) {
                    hashes[i] = id_hash(id);
                    prefetch(&self.slots[hashes[i] as usize & self.mask]);
                }
            }
            // The first slot of the same tag; its identifier is compared below.
            for (i, id) in batch.iter().enumerate() {
                if id.is_some_and(|id| id.len() <= max_bytes) {
                    candidates[i] = self.next_candidate(hashes[i] as usize & self.mask, hashes[i]).ok();
                    if let Some((_, slot)) = candidates[i] {
                        let position = position_in(slot) as usize;
                        if length_code_in(slot) == LONG {
                            prefetch(&views[position]);
                        } else {
                            prefetch(self.words_of(position as IdxSize));
                        }
                    }
                }
            }
            for (_, slot) in candidates
                .iter()
                .flatten()
                .filter(|(_, slot)| length_code_in(*slot) == LONG)
            {
                let view = views[position_in(*slot) as usize];
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
                    let id = id.as_bytes();
                    match candidates[i] {
                        Some((_, slot)) if self.holds(slot, id) => position_in(slot),
                        // Another identifier with the same tag: probe on.
                        Some((at, _)) => self
                            .find_from((at + 1) & self.mask, hashes[i], |slot| self.holds(slot, id))
                            .unwrap_or(UNKNOWN),
                        None => UNKNOWN,
                    }
                }));
            }
        }
        resolved
    }

    /// The words of the identifier of the person at `position`.
    #[inline]
    fn words_of(&self, position: IdxSize) -> &[u64; 2] {
        let position = position as usize;
        &self.words[position >> self.span_bits][position & ((1 << self.span_bits) - 1)]
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
        // Every identifier past 16 bytes: none has words, each is found by its bytes.
        let longer = |tail: &str| format!("{long}{tail}");
        let ids = StringChunked::from_iter_values("id_lav".into(), [longer("1"), longer("2")].into_iter());
        let index = PersonIndex::new(&ids);
        assert!(index.words.iter().all(Vec::is_empty));
        let references = [
            Some(longer("2")),
            Some(longer("3")),
            Some("P1".to_string()),
            Some(long.to_string()),
        ];
        let references: Vec<Option<&str>> = references.iter().map(Option::as_deref).collect();
        assert_eq!(
            index.resolve(&references, 100),
            [Some(1), Some(UNKNOWN), Some(UNKNOWN), Some(UNKNOWN)]
        );
    }

    /// A slot's person has only its own identifier, whatever the tag: of
    /// the same words at another length, of the same first and last words
    /// past 16 bytes, or none.
    #[test]
    fn a_slot_holds_its_persons_identifier_and_no_other() {
        let texts = [
            "a",
            "aa",
            "aaa",
            "aaaaaaaa",
            "aaaaaaaaa",
            "abcdefghijklmnop",
            "abcdefghXjklmnop",
            "abcdefghijklmnopq",
            "abcdefghijXklmnopq",
            "abcdefghijYklmnopq",
            "",
        ];
        let ids = StringChunked::from_iter_values("id_lav".into(), texts[..10].iter().copied());
        let index = PersonIndex::new(&ids);
        for (position, person) in texts[..10].iter().enumerate() {
            let slot = super::slot_of(0, person.as_bytes(), position as u32);
            for text in texts {
                assert_eq!(
                    index.holds(slot, text.as_bytes()),
                    text == *person,
                    "{person:?} {text:?}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Batches, probing past slots of other identifiers; identifiers
        /// inline in their views or not, compared by their words (of the
        /// same words at another length, when all their bytes are alike) or
        /// past 16 bytes by their bytes; the table filled in one region or
        /// many, from one span of persons or many: every reference resolves
        /// to the first row holding exactly its text.
        #[test]
        fn references_resolve_to_the_first_row_with_their_exact_text(
            persons in proptest::collection::vec("[ab]{1,3}|[ab]{8,9}|[ab]{13,18}", 0..200),
            references in proptest::collection::vec("[ab]{0,3}|[ab]{8,9}|[ab]{13,18}", 0..300),
            span_bits in 0u32..9,
            region_slot_bits in 0u32..9,
        ) {
            let ids = StringChunked::from_iter_values("id_lav".into(), persons.iter().map(String::as_str));
            let index = PersonIndex::filled_by(&ids, span_bits, region_slot_bits);
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
