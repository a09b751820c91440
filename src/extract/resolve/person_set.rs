//! A set of persons by position, a bit each.

/// A set of persons by position, a bit each: small enough to stay in the
/// processor's caches where a value per person would not, so that looking
/// persons up is cheap whatever the order of the rows that name them.
pub struct PersonSet {
    bits: Vec<u64>,
}

impl PersonSet {
    pub fn of(persons: usize, members: impl Iterator<Item = u32>) -> PersonSet {
        let mut bits = vec![0u64; persons.div_ceil(64)];
        for p in members {
            bits[p as usize / 64] |= 1 << (p % 64);
        }
        PersonSet { bits }
    }

    pub fn contains(&self, person: u32) -> bool {
        self.bits[person as usize / 64] & (1 << (person % 64)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::PersonSet;

    #[test]
    fn holds_its_members_only_across_words() {
        let set = PersonSet::of(130, [0u32, 63, 64, 129].into_iter());
        let members: Vec<u32> = (0..130).filter(|p| set.contains(*p)).collect();
        assert_eq!(members, [0, 63, 64, 129]);
    }
}
