//! Statistical disclosure control (`docs/indicators.md`): cells with a
//! count below the threshold are suppressed (primary, `u`); further cells
//! are suppressed (secondary, `x`) over everything published together
//! until the intruder's audit recovers none of them. `published` is the
//! set's model, `recode` pools structurally tiny categories, `protect`
//! chooses the suppressions and `audit` bounds every suppressed cell by
//! linear programming (`lp`); `files` reads a folder of published tables back.

pub mod audit;
pub mod files;
mod lp;
pub mod protect;
pub mod published;
pub mod recode;

use anyhow::{bail, Result};

pub use audit::{audit, Audit, Depth, Finding, Interval};
pub use protect::{protect_set, Protection, ScopedTable};
pub use published::{Groups, Scope};

/// The minimum frequency a published count may show; SISTAN forbids less than 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Threshold(u64);

pub const DEFAULT_THRESHOLD: u64 = 5;

impl Threshold {
    pub fn new(k: u64) -> Result<Threshold> {
        if k < 3 {
            bail!(
                "--threshold {k}: Italian official statistics (SISTAN) forbid publishing cells under 3; use 3 or more (default {DEFAULT_THRESHOLD})"
            );
        }
        Ok(Threshold(k))
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// A count that would identify too few people: between 1 and k − 1.
    pub fn is_small(self, count: u64) -> bool {
        (1..self.0).contains(&count)
    }

    /// A cell whose persons, beneficiaries or non-beneficiaries are small.
    pub fn is_sensitive(self, population: u64, beneficiaries: u64) -> bool {
        self.is_small(population) || self.is_small(beneficiaries) || self.is_small(population - beneficiaries)
    }
}

#[cfg(test)]
mod tests;
