//! Multi-window, multi-burn-rate alerting (Google SRE workbook, "Alerting on SLOs", option 6),
//! pure: from the probe counts of a few windows to which alert tiers hold.
//!
//! The burn rate of a window is its bad-event ratio divided by the error budget (`1 − target`):
//! 1 spends the budget exactly over the SLO window. A tier holds when both its long and its short
//! window burn at least its threshold; the short window makes it stop soon after the cause does.
//!
//! | tier   | long | short | budget spent in the long window | threshold for 30 days |
//! |--------|------|-------|---------------------------------|-----------------------|
//! | page   | 1h   | 5m    | 2 %                             | 14.4                  |
//! | page   | 6h   | 30m   | 5 %                             | 6                     |
//! | ticket | 1d   | 2h    | 10 %                            | 3                     |
//! | ticket | 3d   | 6h    | 10 %                            | 1                     |
//!
//! Thresholds are derived from the budget share and the SLO window (`share × window / long`), so
//! a 30-day window gives the workbook's numbers and other windows keep the same meaning.

use std::time::Duration;

use crate::store::LATENCY_BUCKETS_MS;

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// Every window a tier reads, shortest first.
pub const WINDOWS: [Duration; 7] = [
    Duration::from_secs(5 * MINUTE),
    Duration::from_secs(30 * MINUTE),
    Duration::from_secs(HOUR),
    Duration::from_secs(2 * HOUR),
    Duration::from_secs(6 * HOUR),
    Duration::from_secs(DAY),
    Duration::from_secs(3 * DAY),
];

/// How urgent a tier is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Wake someone up: the budget goes in hours.
    Page,
    /// Look at it today: the budget goes in days.
    Ticket,
}

/// One long/short window pair and the share of the budget it alerts on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub tier: Tier,
    pub long: Duration,
    pub short: Duration,
    /// Share of the whole budget spent in `long` that triggers the pair.
    pub budget_share: f64,
}

/// The workbook's four pairs.
pub const PAIRS: [Pair; 4] = [
    Pair {
        tier: Tier::Page,
        long: Duration::from_secs(HOUR),
        short: Duration::from_secs(5 * MINUTE),
        budget_share: 0.02,
    },
    Pair {
        tier: Tier::Page,
        long: Duration::from_secs(6 * HOUR),
        short: Duration::from_secs(30 * MINUTE),
        budget_share: 0.05,
    },
    Pair {
        tier: Tier::Ticket,
        long: Duration::from_secs(DAY),
        short: Duration::from_secs(2 * HOUR),
        budget_share: 0.10,
    },
    Pair {
        tier: Tier::Ticket,
        long: Duration::from_secs(3 * DAY),
        short: Duration::from_secs(6 * HOUR),
        budget_share: 0.10,
    },
];

impl Pair {
    /// The burn rate both windows must reach, for an SLO over `slo_window`.
    #[must_use]
    pub fn threshold(&self, slo_window: Duration) -> f64 {
        self.budget_share * slo_window.as_secs_f64() / self.long.as_secs_f64()
    }
}

/// What one window of rollups holds for one target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub count: i64,
    pub failures: i64,
    /// Samples per latency bucket: [`LATENCY_BUCKETS_MS`] then +Inf.
    pub histogram: [i64; 11],
}

/// Share of samples slower than `threshold_ms`, estimated from the histogram.
///
/// Buckets wholly above the threshold count in full; the bucket holding it counts for the part
/// of its range above the threshold, as if its samples were spread evenly between its bounds
/// (the usual linear interpolation of Prometheus' `histogram_quantile`). The estimate is exact
/// when the threshold is a bucket bound (10 ms … 10 s); otherwise it is off by at most that
/// bucket's count. The +Inf bucket is all slow.
#[must_use]
pub fn slow_share(histogram: &[i64; 11], threshold_ms: f64) -> Option<f64> {
    let total: i64 = histogram.iter().sum();
    if total <= 0 {
        return None;
    }
    let mut slow = 0.0;
    let mut lower = 0.0;
    for (i, &n) in histogram.iter().enumerate() {
        let n = n.max(0) as f64;
        let Some(&upper) = LATENCY_BUCKETS_MS.get(i) else {
            // +Inf: slower than the last bound, hence than any threshold below it; above it
            // nothing can be told apart, and all of it counts.
            slow += n;
            break;
        };
        if lower >= threshold_ms {
            slow += n;
        } else if upper > threshold_ms {
            slow += n * (upper - threshold_ms) / (upper - lower);
        }
        lower = upper;
    }
    Some(slow / total as f64)
}

/// Which SLI a burn rate is about.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sli {
    /// Failed probes.
    Availability,
    /// Probes slower than the threshold (ms).
    Latency { threshold_ms: f64 },
}

impl Sli {
    /// The bad-event ratio of a window; `None` without samples (no data never pages).
    #[must_use]
    pub fn bad_ratio(&self, c: &Counts) -> Option<f64> {
        if c.count <= 0 {
            return None;
        }
        match self {
            Self::Availability => Some(c.failures.clamp(0, c.count) as f64 / c.count as f64),
            Self::Latency { threshold_ms } => slow_share(&c.histogram, *threshold_ms),
        }
    }
}

/// A tier that holds, with the numbers behind it for the alert message.
#[derive(Clone, Debug, PartialEq)]
pub struct Burning {
    pub tier: Tier,
    pub pair: Pair,
    pub long_rate: f64,
    pub short_rate: f64,
    pub threshold: f64,
}

/// The first pair of `tier` whose windows both burn at least its threshold.
///
/// `window` looks up the counts of a window (one of [`WINDOWS`]); `budget` is `1 − target`.
#[must_use]
pub fn evaluate(
    tier: Tier,
    sli: Sli,
    budget: f64,
    slo_window: Duration,
    window: impl Fn(Duration) -> Option<Counts>,
) -> Option<Burning> {
    if budget <= 0.0 {
        return None;
    }
    let rate = |w: Duration| -> f64 {
        window(w)
            .and_then(|c| sli.bad_ratio(&c))
            .map_or(0.0, |r| r / budget)
    };
    PAIRS.iter().filter(|p| p.tier == tier).find_map(|p| {
        let threshold = p.threshold(slo_window);
        let (long_rate, short_rate) = (rate(p.long), rate(p.short));
        (long_rate >= threshold && short_rate >= threshold).then_some(Burning {
            tier,
            pair: *p,
            long_rate,
            short_rate,
            threshold,
        })
    })
}

/// `1h`, `30m`, `3d`: how windows read in messages.
#[must_use]
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(DAY) {
        format!("{}d", s / DAY)
    } else if s.is_multiple_of(HOUR) {
        format!("{}h", s / HOUR)
    } else {
        format!("{}m", s / MINUTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THIRTY_DAYS: Duration = Duration::from_secs(30 * DAY);

    fn counts(count: i64, failures: i64) -> Counts {
        Counts {
            count,
            failures,
            ..Counts::default()
        }
    }

    // Protects: a 30-day SLO gets the workbook's 14.4/6/3/1 thresholds.
    #[test]
    fn thirty_day_window_gives_the_workbook_thresholds() {
        let t: Vec<f64> = PAIRS.iter().map(|p| p.threshold(THIRTY_DAYS)).collect();
        for (got, want) in t.iter().zip([14.4, 6.0, 3.0, 1.0]) {
            assert!((got - want).abs() < 1e-9, "{t:?}");
        }
    }

    // Protects: a page needs both windows over the threshold; a short blip (short window only)
    // or an old incident (long window only) does not page.
    #[test]
    fn page_needs_both_windows() {
        let budget = 0.005;
        // 10 % errors in both 1h and 5m: burn rate 20 ≥ 14.4.
        let both = |w: Duration| {
            Some(if w <= WINDOWS[2] {
                counts(100, 10)
            } else {
                counts(100, 0)
            })
        };
        let b = evaluate(Tier::Page, Sli::Availability, budget, THIRTY_DAYS, both).unwrap();
        assert_eq!(b.pair.long, Duration::from_secs(HOUR));
        assert!((b.long_rate - 20.0).abs() < 1e-9);
        // Only the 5m window burns.
        let blip = |w: Duration| {
            Some(if w == WINDOWS[0] {
                counts(10, 10)
            } else {
                counts(1000, 10)
            })
        };
        assert_eq!(
            evaluate(Tier::Page, Sli::Availability, budget, THIRTY_DAYS, blip),
            None
        );
        // The hour burnt but the last 5 (and 30) minutes are clean: over.
        let over = |w: Duration| {
            Some(if w <= WINDOWS[1] {
                counts(10, 0)
            } else {
                counts(100, 50)
            })
        };
        assert_eq!(
            evaluate(Tier::Page, Sli::Availability, budget, THIRTY_DAYS, over),
            None
        );
        // No samples at all: nothing.
        assert_eq!(
            evaluate(Tier::Ticket, Sli::Availability, budget, THIRTY_DAYS, |_| {
                None
            }),
            None
        );
    }

    // Protects: exactly at the threshold counts as burning (≥, as in the workbook's rules).
    #[test]
    fn threshold_is_inclusive() {
        // 3d and 6h at exactly 1× of a 1 % budget.
        let at = |_: Duration| Some(counts(1000, 10));
        let b = evaluate(Tier::Ticket, Sli::Availability, 0.01, THIRTY_DAYS, at).unwrap();
        assert_eq!(b.pair.long, Duration::from_secs(3 * DAY));
    }

    // Protects: the latency SLI interpolates inside the bucket holding the threshold and counts
    // everything above it.
    #[test]
    fn slow_share_interpolates_within_the_bucket() {
        // 10 samples in (1000, 2500], 10 in (2500, 5000], 80 fast.
        let mut h = [0i64; 11];
        h[3] = 80;
        h[7] = 10;
        h[8] = 10;
        // 2 s lies a third from the top of (1000, 2500]: a third of its 10 samples are slower.
        let s = slow_share(&h, 2000.0).unwrap();
        assert!((s - (10.0 / 3.0 + 10.0) / 100.0).abs() < 1e-9, "{s}");
        // On a bound it is exact.
        assert!((slow_share(&h, 2500.0).unwrap() - 0.10).abs() < 1e-9);
        assert!((slow_share(&h, 1000.0).unwrap() - 0.20).abs() < 1e-9);
        // The +Inf bucket is slow whatever the threshold.
        let mut inf = [0i64; 11];
        inf[10] = 5;
        inf[0] = 5;
        assert!((slow_share(&inf, 60_000.0).unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(slow_share(&[0; 11], 2000.0), None);
        // The first bucket's range starts at 0 ms.
        let mut first = [0i64; 11];
        first[0] = 10;
        assert!((slow_share(&first, 5.0).unwrap() - 0.5).abs() < 1e-9);
    }

    // Protects: a latency page fires when more than the budget's share is slow in both windows.
    #[test]
    fn latency_burns_like_availability() {
        let mut slow = [0i64; 11];
        slow[9] = 100; // all in (5000, 10000]
        let c = Counts {
            count: 100,
            failures: 0,
            histogram: slow,
        };
        let b = evaluate(
            Tier::Page,
            Sli::Latency {
                threshold_ms: 2000.0,
            },
            0.05,
            THIRTY_DAYS,
            |_| Some(c.clone()),
        )
        .unwrap();
        assert!((b.short_rate - 20.0).abs() < 1e-9);
    }

    #[test]
    fn windows_read_short() {
        let names: Vec<String> = WINDOWS.iter().map(|w| short_duration(*w)).collect();
        assert_eq!(names, ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]);
    }
}
