//! silp-access patch: a stable-Rust stand-in for the few `std::simd` items
//! polars' CSV parser uses behind its `simd` feature (`u8x64::splat`,
//! `From<[u8; 64]>`, `simd_eq`, `|` of masks, `to_bitmask`). Upstream
//! enables that feature on nightly only (`portable_simd`); without it the
//! line counter and field splitter read one byte at a time.
#![allow(non_camel_case_types)]

use std::ops::BitOr;

/// 64 bytes, compared lane by lane.
#[derive(Clone, Copy)]
pub struct u8x64([u8; 64]);

/// One bit per lane: bit `i` is set when lane `i` compared equal.
#[derive(Clone, Copy)]
pub struct Mask64(u64);

impl u8x64 {
    #[inline(always)]
    pub fn splat(byte: u8) -> Self {
        Self([byte; 64])
    }

    #[inline(always)]
    pub fn simd_eq(self, other: Self) -> Mask64 {
        Mask64(equal_lanes(&self.0, &other.0))
    }
}

impl From<[u8; 64]> for u8x64 {
    #[inline(always)]
    fn from(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }
}

impl BitOr for Mask64 {
    type Output = Mask64;

    #[inline(always)]
    fn bitor(self, other: Mask64) -> Mask64 {
        Mask64(self.0 | other.0)
    }
}

impl Mask64 {
    #[inline(always)]
    pub fn to_bitmask(self) -> u64 {
        self.0
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn equal_lanes(a: &[u8; 64], b: &[u8; 64]) -> u64 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8};
    let mut mask = 0u64;
    for quarter in 0..4 {
        // SAFETY: SSE2 is part of every x86_64 target; each load reads 16 of
        // the 64 bytes of `a` and `b`, unaligned loads being allowed.
        let bits = unsafe {
            let x = _mm_loadu_si128(a.as_ptr().add(16 * quarter) as *const __m128i);
            let y = _mm_loadu_si128(b.as_ptr().add(16 * quarter) as *const __m128i);
            _mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) as u32 as u64
        };
        mask |= (bits & 0xffff) << (16 * quarter);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn equal_lanes(a: &[u8; 64], b: &[u8; 64]) -> u64 {
    let mut mask = 0u64;
    for lane in 0..64 {
        mask |= ((a[lane] == b[lane]) as u64) << lane;
    }
    mask
}

