//! Whether 64-bit hashes of identifiers are all distinct, on every core:
//! the duplicate rule needs the identifiers themselves only when two hashes
//! are equal (see `docs/design/person-index.md`, "Identifiers no analysis
//! reads"). polars' `n_unique` on one column of them, one core filling one
//! table far larger than the processor's caches, was a tenth of an analysis
//! of an extract out of key order (`docs/benchmarks.md`).

use crate::extract::parallel;

/// Hashes handed to one core at a time while partitioning.
const SPAN: usize = 1 << 20;
/// Hashes are partitioned by their top bits into this many buckets, each
/// then checked in a table small enough to stay in a core's cache.
const BUCKET_BITS: u32 = 8;
const BUCKETS: usize = 1 << BUCKET_BITS;

/// Whether no value is in `parts` twice; the values are hashes, so their
/// bits are uniform (the buckets and the table slots take different bits).
pub(in crate::extract) fn all_distinct(parts: &[&[u64]]) -> bool {
    let spans: Vec<&[u64]> = parts.iter().flat_map(|part| part.chunks(SPAN)).collect();
    let partitioned = parallel::each(
        spans.len(),
        |span| {
            // Counted first, so that the buckets hold one copy of the
            // hashes and no spare capacity.
            let mut counts = [0usize; BUCKETS];
            for &value in spans[span] {
                counts[bucket_of(value)] += 1;
            }
            let mut buckets: Vec<Vec<u64>> = counts.iter().map(|&count| Vec::with_capacity(count)).collect();
            for &value in spans[span] {
                buckets[bucket_of(value)].push(value);
            }
            buckets
        },
        |_| false,
    )
    .unwrap_or_else(|_| unreachable!("no span stops the others"));
    parallel::each(
        BUCKETS,
        |bucket| {
            let values = partitioned.iter().map(|buckets| buckets[bucket].as_slice());
            distinct_in_bucket(values)
        },
        |distinct| !distinct,
    )
    .is_ok()
}

fn bucket_of(value: u64) -> usize {
    (value >> (64 - BUCKET_BITS)) as usize
}

/// Whether the values of one bucket are distinct: an open-addressing table
/// at most half full, 0 marking an empty slot (so a value 0 is counted apart).
fn distinct_in_bucket<'a>(values: impl Iterator<Item = &'a [u64]> + Clone) -> bool {
    let count: usize = values.clone().map(<[u64]>::len).sum();
    let mask = (2 * count).max(2).next_power_of_two() - 1;
    let mut slots = vec![0u64; mask + 1];
    let mut zero = false;
    for &value in values.flatten() {
        if value == 0 {
            if zero {
                return false;
            }
            zero = true;
            continue;
        }
        let mut at = value as usize & mask;
        loop {
            match slots[at] {
                0 => {
                    slots[at] = value;
                    break;
                }
                held if held == value => return false,
                _ => at = (at + 1) & mask,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::all_distinct;

    #[test]
    fn a_repeat_is_found_across_parts_and_at_zero() {
        let many: Vec<u64> = (1..3_000_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .collect();
        assert!(all_distinct(&[&many]));
        assert!(all_distinct(&[&many[..10], &many[10..]]));
        let repeat = [many[2_999_990]];
        assert!(!all_distinct(&[&many, &repeat]));
        assert!(all_distinct(&[&[0, 1]]));
        assert!(!all_distinct(&[&[0], &[5, 0]]));
        assert!(all_distinct(&[]));
    }

    proptest! {
        /// The same verdict as a set of the values, on values that share
        /// their top bits (one bucket) or their low bits (one probe chain).
        #[test]
        fn distinct_as_a_set_says(values in prop::collection::vec(0u64..40, 0..80), shift in 0u32..58) {
            let values: Vec<u64> = values.into_iter().map(|v| v << shift).collect();
            let set: HashSet<u64> = values.iter().copied().collect();
            let (first, rest) = values.split_at(values.len() / 3);
            prop_assert_eq!(all_distinct(&[first, rest]), set.len() == values.len());
        }
    }
}
