//! Time-to-event estimators on counts by day: Kaplan–Meier with Greenwood's
//! variance and R's or lifelines' intervals, the median by R's rule, the
//! Aalen–Johansen cumulative incidence under a competing event, and the
//! (stratified) log-rank test as R's `survdiff(rho = 0)`. The check values
//! in the tests come from R 4.2's `survival` package
//! (`docs/contracts/outcomes.md`).

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// What happened to the persons whose follow-up ends on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    pub time: i32,
    /// The event of interest.
    pub events: u64,
    /// A competing event (only under `--competing`; otherwise a censoring).
    pub competing: u64,
    pub censored: u64,
}

impl Day {
    fn leaving(&self) -> u64 {
        self.events + self.competing + self.censored
    }
}

/// Persons' follow-up in one cell, by day, days ascending and distinct.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUp {
    pub days: Vec<Day>,
}

impl FollowUp {
    /// Counts by day from any number of entries for the same day, in any order.
    pub fn from_days(mut entries: Vec<Day>) -> FollowUp {
        entries.sort_by_key(|d| d.time);
        let mut days: Vec<Day> = Vec::with_capacity(entries.len());
        for entry in entries {
            match days.last_mut() {
                Some(last) if last.time == entry.time => {
                    last.events += entry.events;
                    last.competing += entry.competing;
                    last.censored += entry.censored;
                }
                _ => days.push(entry),
            }
        }
        FollowUp { days }
    }

    pub fn persons(&self) -> u64 {
        self.days.iter().map(Day::leaving).sum()
    }

    /// Persons still followed on day `t`: their follow-up ends on `t` or later.
    pub fn at_risk(&self, t: i32) -> u64 {
        self.days.iter().filter(|d| d.time >= t).map(Day::leaving).sum()
    }

    /// Events of interest on or before day `t`.
    pub fn events_by(&self, t: i32) -> u64 {
        self.days.iter().filter(|d| d.time <= t).map(|d| d.events).sum()
    }
}

/// Which interval a survival share carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interval {
    /// S·exp(∓ z·se), as R's `survfit` (its default).
    Log,
    /// S^exp(± z·se / ln S), as lifelines.
    LogLog,
}

/// The Kaplan–Meier estimate at one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// S(t): the share without the event by day t.
    pub survival: f64,
    /// Greenwood's Σ d / (n (n − d)) over event days up to t; infinite once S is 0.
    pub greenwood: f64,
}

impl Point {
    /// Bounds of S(t) at critical value `z`; None where S is 0 (R gives NA).
    /// Before the first event (S = 1, no variance) both bounds are 1.
    pub fn bounds(&self, z: f64, interval: Interval) -> Option<(f64, f64)> {
        let s = self.survival;
        if s <= 0.0 || !self.greenwood.is_finite() {
            return None;
        }
        if self.greenwood == 0.0 {
            return Some((s, s));
        }
        let se = self.greenwood.sqrt();
        match interval {
            Interval::Log => Some(((s * (-z * se).exp()).min(1.0), (s * (z * se).exp()).min(1.0))),
            Interval::LogLog => {
                if s >= 1.0 {
                    return Some((1.0, 1.0));
                }
                let log = s.ln();
                let a = s.powf((z * se / log).exp());
                let b = s.powf((-z * se / log).exp());
                Some((a.min(b), a.max(b)))
            }
        }
    }
}

/// The Kaplan–Meier curve: S just after each event day.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    steps: Vec<(i32, Point)>,
    /// The last day anyone is followed (the end of a flat stretch at the median).
    last_time: Option<i32>,
}

impl Curve {
    pub fn kaplan_meier(follow_up: &FollowUp) -> Curve {
        let mut at_risk = follow_up.persons();
        let mut survival = 1.0;
        let mut greenwood = 0.0;
        let mut steps = Vec::new();
        for day in &follow_up.days {
            if day.events > 0 {
                let (n, d) = (at_risk as f64, day.events as f64);
                survival *= 1.0 - d / n;
                greenwood += if n > d { d / (n * (n - d)) } else { f64::INFINITY };
                steps.push((day.time, Point { survival, greenwood }));
            }
            at_risk -= day.leaving();
        }
        Curve {
            steps,
            last_time: follow_up.days.last().map(|d| d.time),
        }
    }

    pub fn at(&self, t: i32) -> Point {
        self.steps.iter().take_while(|(time, _)| *time <= t).last().map_or(
            Point {
                survival: 1.0,
                greenwood: 0.0,
            },
            |(_, p)| *p,
        )
    }

    /// The median time by R's rule: the first day S ≤ 0.5; where S is 0.5
    /// on a stretch, the midpoint of the stretch (which ends at the next
    /// event day, or at the last day anyone is followed).
    pub fn median(&self) -> Option<f64> {
        const TOLERANCE: f64 = 1e-9;
        let (i, (time, point)) = self
            .steps
            .iter()
            .enumerate()
            .find(|(_, (_, p))| p.survival <= 0.5 + TOLERANCE)?;
        if (point.survival - 0.5).abs() > TOLERANCE {
            return Some(*time as f64);
        }
        let end = self.steps.get(i + 1).map(|(t, _)| *t).or(self.last_time)?;
        Some((*time as f64 + end as f64) / 2.0)
    }
}

/// The Aalen–Johansen cumulative incidence of the event of interest at day
/// `t`, with the competing event removing persons from risk: Σ over event
/// days tᵢ ≤ t of S(tᵢ−)·dᵢ/nᵢ, S the Kaplan–Meier of leaving by either.
pub fn cumulative_incidence(follow_up: &FollowUp, t: i32) -> f64 {
    let mut at_risk = follow_up.persons();
    let mut either = 1.0;
    let mut incidence = 0.0;
    for day in follow_up.days.iter().take_while(|d| d.time <= t) {
        if at_risk == 0 {
            break;
        }
        let n = at_risk as f64;
        incidence += either * day.events as f64 / n;
        either *= 1.0 - (day.events + day.competing) as f64 / n;
        at_risk -= day.leaving();
    }
    incidence
}

/// A log-rank test: χ², its degrees of freedom and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRank {
    pub chi_square: f64,
    pub degrees_of_freedom: usize,
    pub p_value: f64,
}

/// The log-rank test of equal hazards across groups, stratified: observed
/// minus expected events and their covariance summed over strata, as R's
/// `survdiff(Surv(t, e) ~ group + strata(s))`. `strata[s][g]` is group g's
/// follow-up in stratum s (every stratum lists the same groups). None when
/// fewer than two groups have anyone, or no event varies.
pub fn log_rank(strata: &[Vec<FollowUp>]) -> Option<LogRank> {
    let groups = strata.first()?.len();
    let present: Vec<usize> = (0..groups)
        .filter(|g| strata.iter().any(|s| s[*g].persons() > 0))
        .collect();
    if present.len() < 2 {
        return None;
    }
    let k = present.len();
    let mut observed_minus_expected = vec![0.0; k];
    let mut variance = vec![vec![0.0; k]; k];
    for stratum in strata {
        let follow_ups: Vec<&FollowUp> = present.iter().map(|g| &stratum[*g]).collect();
        let mut times: Vec<i32> = follow_ups.iter().flat_map(|f| f.days.iter().map(|d| d.time)).collect();
        times.sort_unstable();
        times.dedup();
        let mut at_risk: Vec<f64> = follow_ups.iter().map(|f| f.persons() as f64).collect();
        let mut cursor = vec![0usize; k];
        for time in times {
            let mut events = vec![0.0; k];
            let mut leaving = vec![0.0; k];
            for g in 0..k {
                if let Some(day) = follow_ups[g].days.get(cursor[g]).filter(|d| d.time == time) {
                    events[g] = (day.events) as f64;
                    leaving[g] = day.leaving() as f64;
                    cursor[g] += 1;
                }
            }
            let n: f64 = at_risk.iter().sum();
            let d: f64 = events.iter().sum();
            if d > 0.0 {
                for g in 0..k {
                    observed_minus_expected[g] += events[g] - d * at_risk[g] / n;
                    if n > 1.0 {
                        let spread = d * (n - d) / (n - 1.0);
                        for h in 0..k {
                            let same = if g == h { 1.0 } else { 0.0 };
                            variance[g][h] += spread * at_risk[g] / n * (same - at_risk[h] / n);
                        }
                    }
                }
            }
            for g in 0..k {
                at_risk[g] -= leaving[g];
            }
        }
    }
    // The k deviations sum to zero: the test uses the first k − 1.
    let m = k - 1;
    let deviations = &observed_minus_expected[..m];
    let covariance: Vec<Vec<f64>> = variance[..m].iter().map(|row| row[..m].to_vec()).collect();
    let solved = solve(covariance, deviations.to_vec())?;
    let chi_square: f64 = deviations.iter().zip(&solved).map(|(a, b)| a * b).sum();
    let p_value = ChiSquared::new(m as f64).ok()?.sf(chi_square);
    Some(LogRank {
        chi_square,
        degrees_of_freedom: m,
        p_value,
    })
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; None
/// when `a` is singular (no event variance to test).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for column in 0..n {
        let pivot = (column..n).max_by(|x, y| a[*x][column].abs().total_cmp(&a[*y][column].abs()))?;
        if a[pivot][column].abs() < 1e-12 {
            return None;
        }
        a.swap(column, pivot);
        b.swap(column, pivot);
        let (pivot_rows, rows_below) = a.split_at_mut(column + 1);
        let pivot_row = &pivot_rows[column];
        for (offset, row) in rows_below.iter_mut().enumerate() {
            let factor = row[column] / pivot_row[column];
            for (value, above) in row[column..].iter_mut().zip(&pivot_row[column..]) {
                *value -= factor * above;
            }
            b[column + 1 + offset] -= factor * b[column];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) {
        assert!((a - b).abs() < tolerance, "{a} is not {b}");
    }

    /// (time, 1 = event, 0 = censored) as R's `Surv`.
    fn follow_up(persons: &[(i32, u8)]) -> FollowUp {
        FollowUp::from_days(
            persons
                .iter()
                .map(|(time, status)| Day {
                    time: *time,
                    events: u64::from(*status == 1),
                    competing: u64::from(*status == 2),
                    censored: u64::from(*status == 0),
                })
                .collect(),
        )
    }

    /// R's `aml`, group "Maintained": 9, 13, 13+, 18, 23, 28+, 31, 34, 45+, 48, 161+.
    fn maintained() -> FollowUp {
        follow_up(&[
            (9, 1),
            (13, 1),
            (13, 0),
            (18, 1),
            (23, 1),
            (28, 0),
            (31, 1),
            (34, 1),
            (45, 0),
            (48, 1),
            (161, 0),
        ])
    }

    fn non_maintained() -> FollowUp {
        follow_up(&[
            (5, 1),
            (5, 1),
            (8, 1),
            (8, 1),
            (12, 1),
            (16, 0),
            (23, 1),
            (27, 1),
            (30, 1),
            (33, 1),
            (43, 1),
            (45, 1),
        ])
    }

    const TIMES: [i32; 7] = [9, 13, 18, 23, 31, 34, 48];

    #[test]
    fn kaplan_meier_matches_r_survfit_on_aml() {
        let curve = Curve::kaplan_meier(&maintained());
        let expected = [0.9091, 0.8182, 0.7159, 0.6136, 0.4909, 0.3682, 0.1841];
        for (t, s) in TIMES.iter().zip(expected) {
            close(curve.at(*t).survival, s, 5e-5);
        }
        assert_eq!(curve.at(8).survival, 1.0);
        close(curve.at(30).survival, 0.6136363636, 1e-9);
        assert_eq!(curve.median(), Some(31.0));
        let follow_up = maintained();
        assert_eq!(follow_up.at_risk(13), 10);
        assert_eq!(follow_up.at_risk(31), 5);
        assert_eq!(follow_up.events_by(13), 2);
    }

    #[test]
    fn intervals_match_r_log_and_log_log() {
        // summary(survfit(..., conf.type = "log" / "log-log"), times = ...)$lower/$upper
        let log = [
            (0.75413384508, 1.0),
            (0.61924898740, 1.0),
            (0.48842628742, 1.0),
            (0.37686705950, 0.9991576002),
            (0.25485995120, 0.9455849552),
            (0.15487711790, 0.8752606781),
            (0.03591789849, 0.9435257695),
        ];
        let log_log = [
            (0.50808020577, 0.9866738227),
            (0.44742861468, 0.9511622286),
            (0.35019038591, 0.8990239742),
            (0.26575204000, 0.8352992433),
            (0.16733090978, 0.7533997904),
            (0.09282957494, 0.6570408324),
            (0.01173848012, 0.5250148427),
        ];
        let curve = Curve::kaplan_meier(&maintained());
        let z = crate::stats::critical_value(0.95).unwrap();
        for (i, t) in TIMES.iter().enumerate() {
            let (low, high) = curve.at(*t).bounds(z, Interval::Log).unwrap();
            close(low, log[i].0, 1e-8);
            close(high, log[i].1, 1e-8);
            let (low, high) = curve.at(*t).bounds(z, Interval::LogLog).unwrap();
            close(low, log_log[i].0, 1e-8);
            close(high, log_log[i].1, 1e-8);
        }
    }

    #[test]
    fn log_rank_matches_r_survdiff_on_aml() {
        let test = log_rank(&[vec![maintained(), non_maintained()]]).unwrap();
        close(test.chi_square, 3.396388699, 1e-8);
        assert_eq!(test.degrees_of_freedom, 1);
        close(test.p_value, 0.06533932204, 1e-9);
    }

    #[test]
    fn s_at_zero_has_no_interval_and_before_the_first_event_no_width() {
        // R: times 2, 2+, 5, 7+, 9, 9: S = 0.8333, 0.625, 0 (bounds NA at 9).
        let curve = Curve::kaplan_meier(&follow_up(&[(2, 1), (2, 0), (5, 1), (7, 0), (9, 1), (9, 1)]));
        close(curve.at(5).survival, 0.625, 1e-12);
        let z = crate::stats::critical_value(0.95).unwrap();
        let (low, high) = curve.at(5).bounds(z, Interval::Log).unwrap();
        close(low, 0.319992, 1e-6);
        assert_eq!(high, 1.0);
        assert_eq!(curve.at(9).survival, 0.0);
        assert_eq!(curve.at(9).bounds(z, Interval::Log), None);
        assert_eq!(curve.at(1).bounds(z, Interval::Log), Some((1.0, 1.0)));
    }

    #[test]
    fn an_event_on_day_zero_counts_and_ties_put_events_before_censorings() {
        // Three persons: an event on day 0, an event and a censoring on day 4.
        let curve = Curve::kaplan_meier(&follow_up(&[(0, 1), (4, 1), (4, 0)]));
        close(curve.at(0).survival, 2.0 / 3.0, 1e-12);
        // On day 4 both are at risk: S = 2/3 × (1 − 1/2).
        close(curve.at(4).survival, 1.0 / 3.0, 1e-12);
    }

    #[test]
    fn a_flat_half_gives_the_midpoint_as_r_does() {
        // R: quantile(survfit(Surv(c(1,2,3,4), c(1,1,0,0)) ~ 1), 0.5) is 3:
        // S = 0.5 from day 2 to the last follow-up on day 4.
        let curve = Curve::kaplan_meier(&follow_up(&[(1, 1), (2, 1), (3, 0), (4, 0)]));
        assert_eq!(curve.median(), Some(3.0));
        // The stretch ends at the next event when there is one: (2 + 6) / 2.
        let curve = Curve::kaplan_meier(&follow_up(&[(1, 1), (2, 1), (3, 0), (6, 1)]));
        assert_eq!(curve.median(), Some(4.0));
        // Never at or below one half: no median.
        assert_eq!(
            Curve::kaplan_meier(&follow_up(&[(1, 1), (2, 0), (3, 0)])).median(),
            None
        );
    }

    #[test]
    fn cumulative_incidence_matches_r_multistate_survfit() {
        // R: survfit(Surv(t, factor(e, 0:2)) ~ 1), pstate of the event.
        let persons = [
            (1, 1),
            (2, 2),
            (2, 1),
            (3, 0),
            (4, 1),
            (5, 2),
            (5, 0),
            (6, 1),
            (7, 0),
            (8, 2),
        ];
        let follow_up = follow_up(&persons);
        let expected = [
            0.1,
            0.2,
            0.2,
            0.3166666667,
            0.3166666667,
            0.4722222222,
            0.4722222222,
            0.4722222222,
        ];
        for (t, value) in (1..=8).zip(expected) {
            close(cumulative_incidence(&follow_up, t), value, 1e-9);
        }
    }

    #[test]
    fn stratified_log_rank_matches_r_survdiff() {
        let text = include_str!("../../tests/fixtures/survival/strata.csv");
        let mut strata: Vec<Vec<Vec<(i32, u8)>>> = vec![vec![Vec::new(); 3]; 2];
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').map(|f| f.trim_matches('"')).collect();
            let group = ["a", "b", "c"].iter().position(|g| *g == fields[2]).unwrap();
            let stratum = usize::from(fields[3] == "F");
            strata[stratum][group].push((fields[0].parse().unwrap(), fields[1].parse().unwrap()));
        }
        let strata: Vec<Vec<FollowUp>> = strata
            .iter()
            .map(|groups| groups.iter().map(|g| follow_up(g)).collect())
            .collect();
        let test = log_rank(&strata).unwrap();
        // survdiff(Surv(tt, st) ~ g + strata(sx))
        close(test.chi_square, 0.5109910841, 1e-8);
        assert_eq!(test.degrees_of_freedom, 2);
        close(test.p_value, 0.7745325894, 1e-8);
    }
}
