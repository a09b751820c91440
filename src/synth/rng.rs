//! A small seeded generator (xoshiro256**, seeded by splitmix64) written
//! here so the synthetic extract's bytes depend only on the seed, never on a
//! dependency's version.

pub struct Rng {
    state: [u64; 4],
}

pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            splitmix64(s)
        };
        Rng {
            state: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.state;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform integer in `low..=high`.
    pub fn between(&mut self, low: i32, high: i32) -> i32 {
        debug_assert!(low <= high);
        low + (self.unit() * f64::from(high - low + 1)) as i32
    }

    /// An item drawn with probability proportional to its weight.
    pub fn pick<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        &items[self.choose(items.iter().map(|(_, w)| *w))].0
    }

    /// An index drawn with probability proportional to its weight.
    pub fn index(&mut self, weights: &[f64]) -> usize {
        self.choose(weights.iter().copied())
    }

    fn choose(&mut self, weights: impl Iterator<Item = f64> + Clone) -> usize {
        let total: f64 = weights.clone().sum();
        let mut target = self.unit() * total;
        let mut last = 0;
        for (i, weight) in weights.enumerate() {
            if target < weight {
                return i;
            }
            target -= weight;
            last = i;
        }
        last
    }
}
