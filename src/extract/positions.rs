//! The positions of a code list's or an enumeration's values, each found by
//! its text. Every code and enumeration field of an extract is looked up
//! here, so the lookup neither hashes the text as a string nor compares it
//! by a library call: a value of up to 16 bytes is read as two words that
//! hold all its bytes (its key), and keys are compared as numbers. A hash
//! map of strings and a search value by value cost more, in time spent on
//! every field (see `docs/benchmarks.md`, "Code and date lookups").

/// Values up to this long are told apart by their key alone.
pub(in crate::extract) const KEY_BYTES: usize = 16;

/// The bytes of a value of up to [`KEY_BYTES`] bytes as two words: values
/// of the same length have the same words only if they are equal, since the
/// words read (overlapping when the value is shorter than them) cover every
/// byte and the length tells how they overlap. Longer values' words hold
/// only some of their bytes.
#[inline]
pub(in crate::extract) fn short_words(bytes: &[u8]) -> [u64; 2] {
    let n = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")));
    match n {
        0 => [0, 0],
        1..=3 => [
            u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16,
            0,
        ],
        4..=7 => [half(0), half(n - 4)],
        _ => [word(0), word(n - 8)],
    }
}

/// A value's bytes as numbers: for up to [`KEY_BYTES`] bytes, equal keys
/// mean equal values ([`short_words`] and the length).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Key {
    head: u64,
    tail: u64,
    length: u64,
}

impl Key {
    #[inline]
    fn of(bytes: &[u8]) -> Key {
        let [head, tail] = short_words(bytes);
        Key {
            head,
            tail,
            length: bytes.len() as u64,
        }
    }

    #[inline]
    fn hash(self) -> u64 {
        (self.head ^ self.tail.rotate_left(23) ^ self.length.rotate_left(47)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// A list's values in an open-addressing table (linear probing, at most a
/// quarter full, so a probe rarely goes past its first slot).
pub(super) struct Positions {
    /// A value's key and its position plus one (0: an empty slot).
    slots: Vec<(Key, u32)>,
    /// How far to shift a key's hash for its first slot.
    shift: u32,
    /// The values, to compare those longer than a key tells apart.
    values: Vec<String>,
}

impl Positions {
    /// The table of `values`; a value listed twice keeps its first position.
    pub(super) fn new<S: AsRef<str>>(values: &[S]) -> Positions {
        let size = (4 * values.len()).max(16).next_power_of_two();
        let mut positions = Positions {
            slots: vec![(Key::default(), 0); size],
            shift: 64 - size.trailing_zeros(),
            values: values.iter().map(|v| v.as_ref().to_string()).collect(),
        };
        for (position, value) in values.iter().enumerate() {
            if let Err(empty) = positions.find(value.as_ref()) {
                positions.slots[empty] = (Key::of(value.as_ref().as_bytes()), position as u32 + 1);
            }
        }
        positions
    }

    /// The position of `value` in the list, if listed.
    #[inline]
    pub(super) fn get(&self, value: &str) -> Option<u32> {
        self.find(value).ok()
    }

    /// The position of `value`, or the empty slot where it would go.
    #[inline]
    fn find(&self, value: &str) -> Result<u32, usize> {
        let key = Key::of(value.as_bytes());
        let mask = self.slots.len() - 1;
        let mut at = (key.hash() >> self.shift) as usize;
        loop {
            let (held, position) = self.slots[at];
            if position == 0 {
                return Err(at);
            }
            let position = position - 1;
            if held == key && (value.len() <= KEY_BYTES || self.values[position as usize] == value) {
                return Ok(position);
            }
            at = (at + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Key, Positions};

    #[test]
    fn every_listed_value_has_its_first_position_and_nothing_else_is_listed() {
        let values = [
            "TO01",
            "",
            "A",
            "AB",
            "ABC",
            "ABCD",
            "CPI Ciriè",
            "PROTEZIONE_INTERNAZIONALE",
            "PROTEZIONE_UMANITARIA",
            "TO01",
        ];
        let positions = Positions::new(&values);
        for (expected, value) in [(0, "TO01"), (1, ""), (6, "CPI Ciriè"), (7, "PROTEZIONE_INTERNAZIONALE")] {
            assert_eq!(positions.get(value), Some(expected), "{value:?}");
        }
        assert_eq!(positions.get("PROTEZIONE_UMANITARIA"), Some(8));
        // Same first and last words and length as a listed value, another middle.
        assert_eq!(positions.get("PROTEZIONE_XNTERNAZIONALE"), None);
        for absent in ["TO0", "TO011", "to01", "B", "ABD", "BBC", " TO01"] {
            assert_eq!(positions.get(absent), None, "{absent:?}");
        }
    }

    proptest::proptest! {
        /// Up to 16 bytes, two values share a key only if they are equal.
        #[test]
        fn short_values_share_a_key_only_when_equal(
            a in proptest::collection::vec(proptest::sample::select(b"AB0\x80".to_vec()), 0..=16),
            b in proptest::collection::vec(proptest::sample::select(b"AB0\x80".to_vec()), 0..=16),
        ) {
            proptest::prop_assert_eq!(Key::of(&a) == Key::of(&b), a == b);
        }

        /// The table finds what a search value by value finds.
        #[test]
        fn a_lookup_finds_what_a_search_in_the_list_finds(
            values in proptest::collection::vec("[AB0è]{0,20}", 0..60),
            wanted in proptest::collection::vec("[AB0è]{0,20}", 0..60),
        ) {
            let positions = Positions::new(&values);
            for value in values.iter().chain(&wanted) {
                let expected = values.iter().position(|v| v == value).map(|at| at as u32);
                proptest::prop_assert_eq!(positions.get(value), expected);
            }
        }
    }
}
