//! The statistics every published number carries: Wilson score intervals
//! for a rate, Newcombe's hybrid-score interval for a difference of rates,
//! Katz's log interval for a ratio, the representation index and direct
//! standardisation. Check values in the tests come from `spec/indicators.md`
//! (computed with R and SciPy).

pub mod survival;

use anyhow::{bail, Result};
use statrs::distribution::{ContinuousCDF, Normal};

/// The two-sided critical value of the standard normal for a confidence level.
pub fn critical_value(confidence: f64) -> Result<f64> {
    if !(confidence > 0.5 && confidence < 1.0) {
        bail!("--confidence {confidence}: give a level between 0.5 and 1, e.g. 0.95");
    }
    let normal = Normal::standard();
    Ok(normal.inverse_cdf(1.0 - (1.0 - confidence) / 2.0))
}

/// An estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Wilson score interval for x successes out of n (no continuity correction).
pub fn wilson(x: u64, n: u64, z: f64) -> Option<Estimate> {
    if n == 0 || x > n {
        return None;
    }
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0/n and n/n the exact bounds are 0 and 1; rounding must not move them.
    let low = if x == 0.0 { 0.0 } else { (centre - half).max(0.0) };
    let high = if x == n { 1.0 } else { (centre + half).min(1.0) };
    Some(Estimate { value: p, low, high })
}

/// Newcombe's hybrid score interval (his method 10) for p1 − p2.
pub fn newcombe_difference(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Option<Estimate> {
    let a = wilson(x1, n1, z)?;
    let b = wilson(x2, n2, z)?;
    let d = a.value - b.value;
    Some(Estimate {
        value: d,
        low: d - ((a.value - a.low).powi(2) + (b.high - b.value).powi(2)).sqrt(),
        high: d + ((a.high - a.value).powi(2) + (b.value - b.low).powi(2)).sqrt(),
    })
}

/// Katz's log interval for the ratio p1 / p2; undefined when either count is zero.
pub fn katz_ratio(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Option<Estimate> {
    if x1 == 0 || x2 == 0 || n1 == 0 || n2 == 0 {
        return None;
    }
    let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
    let ratio = (x1 / n1) / (x2 / n2);
    let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2).sqrt();
    Some(Estimate {
        value: ratio,
        low: ratio * (-z * se).exp(),
        high: ratio * (z * se).exp(),
    })
}

/// (share of the group among beneficiaries) / (share among the eligible).
pub fn representation_index(x: u64, n: u64, total_x: u64, total_n: u64) -> Option<f64> {
    if n == 0 || total_x == 0 || total_n == 0 {
        return None;
    }
    Some((x as f64 / total_x as f64) / (n as f64 / total_n as f64))
}

/// Direct standardisation: the rate the group would have with the standard
/// population's structure. `strata` are (group x, group n, standard weight);
/// undefined when a stratum with weight has no group member.
pub fn standardised_rate(strata: &[(u64, u64, f64)]) -> Option<f64> {
    let total: f64 = strata.iter().map(|(_, _, w)| w).sum();
    if total <= 0.0 {
        return None;
    }
    let mut rate = 0.0;
    for (x, n, weight) in strata {
        if *weight == 0.0 {
            continue;
        }
        if *n == 0 {
            return None;
        }
        rate += weight / total * (*x as f64 / *n as f64);
    }
    Some(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z95() -> f64 {
        critical_value(0.95).unwrap()
    }

    fn close(actual: f64, expected: f64, decimals: i32) {
        let tolerance = 0.5 * 10f64.powi(-decimals);
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} != {expected} to {decimals} decimals"
        );
    }

    fn check(estimate: Estimate, low: f64, high: f64, decimals: i32) {
        close(estimate.low, low, decimals);
        close(estimate.high, high, decimals);
    }

    #[test]
    fn critical_value_is_the_normal_quantile() {
        close(z95(), 1.959964, 6);
        close(critical_value(0.90).unwrap(), 1.644854, 6);
        close(critical_value(0.99).unwrap(), 2.575829, 6);
        assert!(critical_value(1.0).is_err());
        assert!(critical_value(0.3).is_err());
    }

    #[test]
    fn wilson_reproduces_the_spec() {
        check(wilson(7, 20, z95()).unwrap(), 0.1811918, 0.5671457, 6);
        check(wilson(340, 400, z95()).unwrap(), 0.8116864, 0.8816550, 6);
    }

    #[test]
    fn wilson_edge_cases_zero_and_all() {
        let none = wilson(0, 10, z95()).unwrap();
        assert_eq!(none.low, 0.0);
        close(none.high, 0.2775328, 6);
        let all = wilson(10, 10, z95()).unwrap();
        close(all.low, 0.7224672, 6);
        assert_eq!(all.high, 1.0);
        assert!(wilson(0, 0, z95()).is_none());
    }

    #[test]
    fn newcombe_reproduces_the_spec() {
        let d = newcombe_difference(56, 70, 48, 80, z95()).unwrap();
        close(d.value, 0.2, 9);
        check(d, 0.0524315, 0.3338727, 6);
        let d = newcombe_difference(9, 10, 3, 10, z95()).unwrap();
        close(d.value, 0.6, 9);
        check(d, 0.1705227, 0.8090180, 6);
    }

    #[test]
    fn katz_reproduces_the_spec() {
        let r = katz_ratio(45, 380, 210, 1200, z95()).unwrap();
        close(r.value, 0.6767, 4);
        check(r, 0.5010, 0.9140, 4);
        assert!(katz_ratio(0, 10, 3, 10, z95()).is_none());
    }

    #[test]
    fn representation_index_compares_shares() {
        // 20% of the eligible, 10% of the beneficiaries: half as represented.
        close(representation_index(10, 200, 100, 1000).unwrap(), 0.5, 12);
        assert!(representation_index(0, 0, 10, 100).is_none());
    }

    #[test]
    fn standardisation_reweights_strata() {
        // Young: 50% access, old: 10%. A group that is all young has a crude
        // rate of 50%; with a standard that is half young, half old, 30%.
        close(standardised_rate(&[(50, 100, 0.5), (1, 10, 0.5)]).unwrap(), 0.3, 12);
        // Weights need not sum to one.
        close(standardised_rate(&[(50, 100, 30.0), (1, 10, 10.0)]).unwrap(), 0.4, 12);
        assert!(standardised_rate(&[(50, 100, 0.5), (0, 0, 0.5)]).is_none());
        close(standardised_rate(&[(50, 100, 1.0), (0, 0, 0.0)]).unwrap(), 0.5, 12);
    }
}
