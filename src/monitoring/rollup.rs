//! Rollups and retention. Minute buckets are computed from raw samples, hour buckets from
//! their minutes and day buckets from their hours, each by element-wise sums (the latency
//! histogram has fixed buckets, [`LATENCY_BUCKETS_MS`]), so an hour is exactly the sum of its
//! minutes. Buckets are aligned in UTC. Every pass recomputes whole buckets and replaces them,
//! so it is idempotent, includes the current (partial) bucket, and picks up late samples within
//! [`LOOKBACK`].
//!
//! Everything takes an explicit `now`, so tests can drive it on a simulated clock.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

use super::Error;
use crate::store::LATENCY_BUCKETS_MS;

/// How far before the newest minute bucket each pass starts again: covers samples that
/// arrive late (a probe's time-out, the ingest batch delay, a leader change).
pub const LOOKBACK: TimeDelta = TimeDelta::minutes(10);

/// How long raw samples and rollups are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Raw samples (default 7 days).
    pub samples: TimeDelta,
    /// Minute rollups (default 35 days): they are nearly all the rows (1,440 a target a day),
    /// and past a month reports need only hours at their edges.
    pub minutes: TimeDelta,
    /// Hour and day rollups (default 400 days).
    pub rollups: TimeDelta,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            samples: TimeDelta::days(7),
            minutes: TimeDelta::days(35),
            rollups: TimeDelta::days(400),
        }
    }
}

impl Retention {
    /// How long rollups of `r` are kept (minutes never longer than the rest).
    #[must_use]
    pub fn of(&self, r: Resolution) -> TimeDelta {
        match r {
            Resolution::Minute => self.minutes.min(self.rollups),
            Resolution::Hour | Resolution::Day => self.rollups,
        }
    }

    /// The oldest minute whose rollup is kept at `now`: reports need whole hours before it.
    #[must_use]
    pub fn minutes_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.of(Resolution::Minute)
    }
}

/// A rollup resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    /// The name in `probe_rollups.resolution` (also a `date_trunc` field).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// The bucket length.
    #[must_use]
    pub fn step(self) -> TimeDelta {
        match self {
            Self::Minute => TimeDelta::minutes(1),
            Self::Hour => TimeDelta::hours(1),
            Self::Day => TimeDelta::days(1),
        }
    }

    /// The start of the bucket holding `t`.
    #[must_use]
    pub fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let step = self.step().num_seconds();
        let secs = t.timestamp().div_euclid(step) * step;
        DateTime::from_timestamp(secs, 0).unwrap_or(t)
    }

    /// The first bucket start at or after `t`.
    #[must_use]
    pub fn ceil(self, t: DateTime<Utc>) -> DateTime<Utc> {
        let floor = self.floor(t);
        if floor == t { t } else { floor + self.step() }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rolled {
    pub minutes: u64,
    pub hours: u64,
    pub days: u64,
}

/// One pass of the job: recomputes every bucket from shortly before the newest minute bucket
/// (or, on an empty table, from the oldest sample) up to `now`.
pub async fn run(pool: &PgPool, now: DateTime<Utc>) -> Result<Rolled, Error> {
    let newest: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT max(bucket_start) FROM probe_rollups WHERE resolution = 'minute' AND bucket_start <= $1",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(Error::query("find the newest minute rollup"))?;
    let since = match newest {
        Some(t) => t - LOOKBACK,
        None => {
            let oldest: Option<DateTime<Utc>> =
                sqlx::query_scalar("SELECT min(at) FROM probe_samples WHERE at <= $1")
                    .bind(now)
                    .fetch_one(pool)
                    .await
                    .map_err(Error::query("find the oldest probe sample"))?;
            match oldest {
                Some(t) => t,
                None => return Ok(Rolled::default()),
            }
        }
    };
    roll_up(pool, since, now).await
}

/// Recomputes the minute, hour and day buckets that hold times in `[since, until)` from what
/// was recorded before `until`.
pub async fn roll_up(
    pool: &PgPool,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Rolled, Error> {
    if since >= until {
        return Ok(Rolled::default());
    }
    let minutes = minutes_from_samples(pool, Resolution::Minute.floor(since), until).await?;
    let hours = coarser(pool, Resolution::Hour, since, until).await?;
    let days = coarser(pool, Resolution::Day, since, until).await?;
    Ok(Rolled {
        minutes,
        hours,
        days,
    })
}

/// `count(*) FILTER` per fixed bucket, in order, with `+Inf` last.
fn histogram_of_samples() -> String {
    let mut parts = Vec::with_capacity(LATENCY_BUCKETS_MS.len() + 1);
    let mut lower: Option<f64> = None;
    for upper in LATENCY_BUCKETS_MS {
        parts.push(match lower {
            None => format!("count(*) FILTER (WHERE latency_ms <= {upper:?})"),
            Some(lo) => {
                format!("count(*) FILTER (WHERE latency_ms > {lo:?} AND latency_ms <= {upper:?})")
            }
        });
        lower = Some(upper);
    }
    if let Some(lo) = lower {
        parts.push(format!("count(*) FILTER (WHERE latency_ms > {lo:?})"));
    }
    format!("ARRAY[{}]::bigint[]", parts.join(", "))
}

/// The element-wise sum of `latency_histogram` over a group.
pub(crate) fn histogram_sum() -> String {
    let parts: Vec<String> = (1..=LATENCY_BUCKETS_MS.len() + 1)
        .map(|i| format!("coalesce(sum(latency_histogram[{i}]), 0)::bigint"))
        .collect();
    format!("ARRAY[{}]::bigint[]", parts.join(", "))
}

const UPSERT: &str = "ON CONFLICT (target, resolution, bucket_start) DO UPDATE SET \
     count = EXCLUDED.count, failures = EXCLUDED.failures, \
     latency_histogram = EXCLUDED.latency_histogram, latency_sum_ms = EXCLUDED.latency_sum_ms, \
     latency_min_ms = EXCLUDED.latency_min_ms, latency_max_ms = EXCLUDED.latency_max_ms";

async fn minutes_from_samples(
    pool: &PgPool,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<u64, Error> {
    let sql = format!(
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
             latency_histogram, latency_sum_ms, latency_min_ms, latency_max_ms) \
         SELECT target, 'minute', date_trunc('minute', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', \
             count(*), count(*) FILTER (WHERE NOT ok), {hist}, sum(latency_ms), min(latency_ms), \
             max(latency_ms) \
         FROM probe_samples WHERE at >= $1 AND at < $2 \
         GROUP BY 1, 3 {UPSERT}",
        hist = histogram_of_samples()
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from)
        .bind(until)
        .execute(pool)
        .await
        .map_err(Error::query("roll samples up into minutes"))?;
    Ok(done.rows_affected())
}

/// Hours from minutes, or days from hours.
async fn coarser(
    pool: &PgPool,
    to: Resolution,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<u64, Error> {
    let from = match to {
        Resolution::Day => Resolution::Hour,
        _ => Resolution::Minute,
    };
    let sql = format!(
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
             latency_histogram, latency_sum_ms, latency_min_ms, latency_max_ms) \
         SELECT target, '{to}', date_trunc('{to}', bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', \
             sum(count)::bigint, sum(failures)::bigint, {hist}, sum(latency_sum_ms), \
             min(latency_min_ms), max(latency_max_ms) \
         FROM probe_rollups WHERE resolution = '{from}' AND bucket_start >= $1 AND bucket_start < $2 \
         GROUP BY 1, 3 {UPSERT}",
        to = to.as_str(),
        from = from.as_str(),
        hist = histogram_sum()
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to.floor(since))
        .bind(until)
        .execute(pool)
        .await
        .map_err(Error::query("roll rollups up into coarser buckets"))?;
    Ok(done.rows_affected())
}

/// What a prune removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub samples: u64,
    pub rollups: u64,
}

/// Rows one `DELETE` of [`prune`] removes at most: the first prune after a long pause or a
/// shorter retention (tens of millions of minute rows) runs as many short transactions, not
/// one that holds its snapshot for minutes while autovacuum and replicas wait.
const PRUNE_BATCH: i64 = 50_000;

/// Deletes samples and rollups older than `retention` allows at `now`.
pub async fn prune(
    pool: &PgPool,
    now: DateTime<Utc>,
    retention: &Retention,
) -> Result<Pruned, Error> {
    let samples = delete_batched(
        pool,
        "probe_samples",
        "at < $1",
        now - retention.samples,
        None,
    )
    .await
    .map_err(Error::query("prune probe samples"))?;
    // A bucket goes once it has wholly left the retention window.
    let mut rollups = 0;
    for r in [Resolution::Minute, Resolution::Hour, Resolution::Day] {
        rollups += delete_batched(
            pool,
            "probe_rollups",
            "bucket_start < $1 AND resolution = $2",
            now - retention.of(r) - r.step(),
            Some(r.as_str()),
        )
        .await
        .map_err(Error::query("prune probe rollups"))?;
    }
    Ok(Pruned { samples, rollups })
}

/// Deletes the rows of `table` matching `filter` ($1 `before`, $2 `resolution` when given)
/// in batches of [`PRUNE_BATCH`]; how many went.
async fn delete_batched(
    pool: &PgPool,
    table: &'static str,
    filter: &'static str,
    before: DateTime<Utc>,
    resolution: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY( \
             SELECT ctid FROM {table} WHERE {filter} LIMIT {PRUNE_BATCH}))"
    );
    let mut total = 0;
    loop {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(before);
        if let Some(r) = resolution {
            q = q.bind(r);
        }
        let n = q.execute(pool).await?.rows_affected();
        total += n;
        if n < PRUNE_BATCH.unsigned_abs() {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    // Protects: buckets are UTC-aligned and ceil/floor agree on edges.
    #[test]
    fn buckets_align_in_utc() {
        let x = t("2026-03-04T05:06:07.5Z");
        assert_eq!(Resolution::Minute.floor(x), t("2026-03-04T05:06:00Z"));
        assert_eq!(Resolution::Hour.ceil(x), t("2026-03-04T06:00:00Z"));
        assert_eq!(Resolution::Day.floor(x), t("2026-03-04T00:00:00Z"));
        let edge = t("2026-03-04T00:00:00Z");
        assert_eq!(Resolution::Day.ceil(edge), edge);
        assert_eq!(Resolution::Day.floor(edge), edge);
    }

    // Protects: the histogram SQL has one term a fixed bucket plus +Inf (11, as the table
    // requires), with the bounds in order.
    #[test]
    fn histogram_sql_has_eleven_buckets() {
        let h = histogram_of_samples();
        assert_eq!(h.matches("count(*)").count(), 11, "{h}");
        assert!(h.contains("latency_ms <= 10.0)") && h.contains("latency_ms > 10000.0)"));
        assert_eq!(histogram_sum().matches("sum(").count(), 11);
    }
}
