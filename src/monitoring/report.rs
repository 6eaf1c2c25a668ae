//! Uptime and latency over any window, from rollups. A minute bucket is in the window when it
//! starts in `[from, to)`. That set of minutes is tiled by the coarsest buckets that fit: whole
//! days inside, whole hours beside them, single minutes at the edges ([`tile`], pure), so a
//! 30-day report reads about 200 rows a target and is still exact to the minute.
//!
//! Quantiles come from the fixed latency histogram: linear within the bucket that holds the
//! rank, clamped to the observed minimum and maximum, so they are exact to the bucket
//! resolution ([`LATENCY_BUCKETS_MS`]).

use std::ops::Range;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{
    Error,
    rollup::{Resolution, histogram_sum},
};
use crate::store::LATENCY_BUCKETS_MS;

/// The buckets that exactly cover the minutes starting in a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tiles {
    pub days: Range<DateTime<Utc>>,
    /// Before and after the days (or one run, the other empty, when there are none).
    pub hours: [Range<DateTime<Utc>>; 2],
    /// Before and after the hours.
    pub minutes: [Range<DateTime<Utc>>; 2],
}

/// Tiles the minutes starting in `[from, to)` (pure).
#[must_use]
pub fn tile(from: DateTime<Utc>, to: DateTime<Utc>) -> Tiles {
    let lo = Resolution::Minute.ceil(from);
    let hi = Resolution::Minute.ceil(to).max(lo);
    let (h0, h1) = inner(Resolution::Hour, lo, hi);
    let (d0, d1) = inner(Resolution::Day, h0, h1);
    Tiles {
        days: d0..d1,
        hours: [h0..d0, d1..h1],
        minutes: [lo..h0, h1..hi],
    }
}

/// The window a report can answer exactly when minute rollups are kept from `minutes_since`
/// (pure): unchanged when it needs no older minute; otherwise its start moves back to its hour,
/// and its end forward to its hour too if a minute tile would still reach before
/// `minutes_since`, so older edges are covered by hour rollups (which outlive minutes).
#[must_use]
pub fn answerable(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    minutes_since: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    // Every minute tile starts at or after the first minute of the window.
    if Resolution::Minute.ceil(from) >= minutes_since {
        return (from, to);
    }
    let from = Resolution::Hour.floor(from);
    let reaches_back = tile(from, to)
        .minutes
        .iter()
        .any(|m| !m.is_empty() && m.start < minutes_since);
    let to = if reaches_back {
        Resolution::Hour.ceil(to)
    } else {
        to
    };
    (from, to)
}

/// The whole `r` buckets inside `[lo, hi)`, or an empty range at `hi` when none fits.
fn inner(r: Resolution, lo: DateTime<Utc>, hi: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let (a, b) = (r.ceil(lo), r.floor(hi));
    if a < b { (a, b) } else { (hi, hi) }
}

/// One target's totals over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub target: String,
    pub samples: i64,
    pub failures: i64,
    /// Counts per fixed latency bucket, `+Inf` last.
    pub histogram: Vec<i64>,
    pub latency_sum_ms: f64,
    pub latency_min_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
}

impl Summary {
    /// An empty summary (no samples in the window).
    #[must_use]
    pub fn empty(target: String) -> Self {
        Self {
            target,
            samples: 0,
            failures: 0,
            histogram: vec![0; LATENCY_BUCKETS_MS.len() + 1],
            latency_sum_ms: 0.0,
            latency_min_ms: None,
            latency_max_ms: None,
        }
    }

    /// Share of successful samples, in percent; `None` without samples.
    #[must_use]
    pub fn uptime_percent(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        (self.samples > 0)
            .then(|| (self.samples - self.failures) as f64 * 100.0 / self.samples as f64)
    }

    /// Mean latency.
    #[must_use]
    pub fn mean_ms(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        (self.samples > 0).then(|| self.latency_sum_ms / self.samples as f64)
    }

    /// The `q` quantile (0–1) of latency, estimated from the histogram.
    #[must_use]
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total: i64 = self.histogram.iter().sum();
        if total <= 0 {
            return None;
        }
        let (min, max) = (self.latency_min_ms?, self.latency_max_ms?);
        #[allow(clippy::cast_precision_loss)]
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0f64;
        for (i, &n) in self.histogram.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let n = n as f64;
            if n > 0.0 && below + n >= rank {
                let lower = if i == 0 {
                    0.0
                } else {
                    LATENCY_BUCKETS_MS[i - 1]
                };
                let upper = LATENCY_BUCKETS_MS.get(i).copied().unwrap_or(max);
                let (lower, upper) = (lower.max(min), upper.min(max));
                let share = ((rank - below) / n).clamp(0.0, 1.0);
                return Some(lower + share * (upper - lower).max(0.0));
            }
            below += n;
        }
        Some(max)
    }
}

/// The totals of `targets` over the minutes starting in `[from, to)`, one per target that has
/// data (targets without any are left out).
pub async fn summarize(
    pool: &PgPool,
    targets: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Summary>, Error> {
    let t = tile(from, to);
    let sql = format!(
        "SELECT target, sum(count)::bigint, sum(failures)::bigint, {hist}, \
             coalesce(sum(latency_sum_ms), 0), min(latency_min_ms), max(latency_max_ms) \
         FROM probe_rollups \
         WHERE target = ANY($1) AND ( \
             (resolution = 'day' AND bucket_start >= $2 AND bucket_start < $3) \
          OR (resolution = 'hour' AND ((bucket_start >= $4 AND bucket_start < $5) \
                                    OR (bucket_start >= $6 AND bucket_start < $7))) \
          OR (resolution = 'minute' AND ((bucket_start >= $8 AND bucket_start < $9) \
                                      OR (bucket_start >= $10 AND bucket_start < $11)))) \
         GROUP BY target ORDER BY target",
        hist = histogram_sum()
    );
    type Row = (String, i64, i64, Vec<i64>, f64, Option<f64>, Option<f64>);
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(targets)
        .bind(t.days.start)
        .bind(t.days.end)
        .bind(t.hours[0].start)
        .bind(t.hours[0].end)
        .bind(t.hours[1].start)
        .bind(t.hours[1].end)
        .bind(t.minutes[0].start)
        .bind(t.minutes[0].end)
        .bind(t.minutes[1].start)
        .bind(t.minutes[1].end)
        .fetch_all(pool)
        .await
        .map_err(Error::query("summarize probe rollups"))?;
    Ok(rows
        .into_iter()
        .map(
            |(target, samples, failures, histogram, latency_sum_ms, min, max)| Summary {
                target,
                samples,
                failures,
                histogram,
                latency_sum_ms,
                latency_min_ms: min,
                latency_max_ms: max,
            },
        )
        .collect())
}

/// Every target (in `namespace`, when given) with rollups in the days overlapping
/// `[from, to)`, sorted.
pub async fn targets_with_data(
    pool: &PgPool,
    namespace: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<String>, Error> {
    // Day rows cover every minute of their day, partial days included (see rollup), so one
    // day row in the window says a target has data. A loose index scan over the primary key
    // (one probe for the next target, one for its day rows) costs per target, however long
    // the history; DISTINCT over the window's day rows read every one of them. A namespace
    // is a prefix range of the key: "ns/" up to "ns0" ('0' follows '/').
    let (lo, hi) = namespace.map_or((String::new(), None), |ns| {
        (format!("{ns}/"), Some(format!("{ns}0")))
    });
    // The bound is written out, not `$4 IS NULL OR …`, so it stays an index condition in
    // a generic plan and the scan stops at the namespace's end.
    let below = if hi.is_some() {
        "AND target < $4"
    } else {
        "AND $4::text IS NULL"
    };
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE t(target) AS ( \
           (SELECT target FROM probe_rollups WHERE target >= $3 {below} \
            ORDER BY target LIMIT 1) \
           UNION ALL \
           SELECT (SELECT target FROM probe_rollups WHERE target > t.target {below} \
                   ORDER BY target LIMIT 1) \
           FROM t WHERE t.target IS NOT NULL) \
         SELECT target FROM t WHERE target IS NOT NULL AND EXISTS ( \
           SELECT 1 FROM probe_rollups d WHERE d.target = t.target AND d.resolution = 'day' \
             AND d.bucket_start >= $1 AND d.bucket_start < $2) \
         ORDER BY target"
    )))
    .bind(Resolution::Day.floor(from))
    .bind(to)
    .bind(lo)
    .bind(hi)
    .fetch_all(pool)
    .await
    .map_err(Error::query("list monitored targets"))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use proptest::prelude::*;

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn minutes_of(r: &Range<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut m = r.start;
        while m < r.end {
            out.push(m);
            m += TimeDelta::minutes(1);
        }
        out
    }

    // Protects: a window is covered by whole days inside, hours beside them and minutes at
    // the edges, and a minute bucket counts when it starts inside the window.
    #[test]
    fn windows_tile_into_days_hours_and_edge_minutes() {
        let tiles = tile(t("2026-01-01T22:30:20Z"), t("2026-01-04T01:15:00Z"));
        assert_eq!(
            tiles.days,
            t("2026-01-02T00:00:00Z")..t("2026-01-04T00:00:00Z")
        );
        assert_eq!(
            tiles.hours,
            [
                t("2026-01-01T23:00:00Z")..t("2026-01-02T00:00:00Z"),
                t("2026-01-04T00:00:00Z")..t("2026-01-04T01:00:00Z")
            ]
        );
        assert_eq!(
            tiles.minutes,
            [
                t("2026-01-01T22:31:00Z")..t("2026-01-01T23:00:00Z"),
                t("2026-01-04T01:00:00Z")..t("2026-01-04T01:15:00Z")
            ]
        );
        // Within one hour: minutes only.
        let short = tile(t("2026-01-01T10:05:00Z"), t("2026-01-01T10:50:30Z"));
        assert_eq!(short.days.start, short.days.end);
        assert!(short.hours.iter().all(|r| r.start == r.end));
        assert_eq!(
            minutes_of(&short.minutes[0]).len() + minutes_of(&short.minutes[1]).len(),
            46
        );
    }

    proptest! {
        // Protects: for any window the tiles cover exactly the minutes starting in it, with
        // no overlap, each (non-empty) tile aligned to its resolution.
        #[test]
        fn tiles_cover_exactly_the_window_minutes(
            start in 0i64..(4 * 24 * 60), len in 0i64..(4 * 24 * 60), from_s in 0i64..60, to_s in 0i64..60,
        ) {
            let base = t("2026-02-27T00:00:00Z");
            let from = base + TimeDelta::minutes(start) + TimeDelta::seconds(from_s);
            let to = from + TimeDelta::minutes(len) + TimeDelta::seconds(to_s);
            let tiles = tile(from, to);
            let mut covered: Vec<DateTime<Utc>> = Vec::new();
            let mut each = |r: &Range<DateTime<Utc>>, res: Resolution| {
                prop_assert!(r.start <= r.end);
                if r.start < r.end {
                    prop_assert_eq!(res.floor(r.start), r.start);
                    prop_assert_eq!(res.floor(r.end), r.end);
                }
                covered.extend(minutes_of(r));
                Ok(())
            };
            each(&tiles.days, Resolution::Day)?;
            for r in &tiles.hours { each(r, Resolution::Hour)?; }
            for r in &tiles.minutes { each(r, Resolution::Minute)?; }
            covered.sort();
            let want: Vec<DateTime<Utc>> = minutes_of(&(Resolution::Minute.ceil(from)..Resolution::Minute.ceil(to)));
            let n = covered.len();
            covered.dedup();
            prop_assert_eq!(n, covered.len(), "overlapping tiles");
            prop_assert_eq!(covered, want);
        }
    }

    proptest! {
        // Protects: a window reaching before the kept minutes is answered over a window that
        // holds it, moved only to hour edges, whose minute tiles are all kept; a window whose
        // minutes are all kept is answered as asked.
        #[test]
        fn answerable_windows_need_only_kept_minutes(
            start in 0i64..(3 * 24 * 60), len in 0i64..(2 * 24 * 60), from_s in 0i64..60,
            to_s in 0i64..60, since in 0i64..(5 * 24 * 60),
        ) {
            let base = t("2026-02-27T00:00:00Z");
            let from = base + TimeDelta::minutes(start) + TimeDelta::seconds(from_s);
            let to = from + TimeDelta::minutes(len) + TimeDelta::seconds(to_s + 1);
            let since = base + TimeDelta::minutes(since);
            let (f, e) = answerable(from, to, since);
            prop_assert!(f <= from && e >= to);
            prop_assert!(f == from || f == Resolution::Hour.floor(from));
            prop_assert!(e == to || e == Resolution::Hour.ceil(to));
            for m in tile(f, e).minutes {
                prop_assert!(m.is_empty() || m.start >= since, "{m:?} before {since}");
            }
            if Resolution::Minute.ceil(from) >= since {
                prop_assert_eq!((f, e), (from, to));
            }
        }
    }

    // Protects: quantiles land in the bucket that holds the rank, within the observed range.
    #[test]
    fn quantiles_come_from_the_histogram_within_bucket_resolution() {
        let mut s = Summary::empty("a".into());
        // 90 fast samples (≤10 ms), 10 slow ones in (250, 500].
        s.histogram[0] = 90;
        s.histogram[5] = 10;
        s.samples = 100;
        s.failures = 10;
        s.latency_sum_ms = 90.0 * 2.0 + 10.0 * 300.0;
        s.latency_min_ms = Some(1.0);
        s.latency_max_ms = Some(320.0);
        let p50 = s.quantile_ms(0.5).unwrap();
        assert!((1.0..=10.0).contains(&p50), "{p50}");
        let p95 = s.quantile_ms(0.95).unwrap();
        assert!((250.0..=320.0).contains(&p95), "{p95}");
        assert_eq!(s.quantile_ms(1.0), Some(320.0));
        assert_eq!(s.uptime_percent(), Some(90.0));
        assert_eq!(s.mean_ms(), Some(31.8));
        assert_eq!(Summary::empty("b".into()).uptime_percent(), None);
        assert_eq!(Summary::empty("b".into()).quantile_ms(0.5), None);
    }
}
