//! Synthetic rollup history for load tests and benches: `services` targets with `days` of
//! hour and day rows, and minute rows for the last day (the part a 1 h or 24 h report reads at
//! minute resolution), generated inside Postgres so a month for a thousand services takes
//! seconds. Day rows and the last day's hours are computed by the real rollup from the rows
//! below them, so the seeded data is as consistent as real data.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;

use super::{
    Error,
    rollup::{self, Resolution},
};

/// Namespaces the seeded targets are spread over.
pub const NAMESPACES: usize = 10;

/// The name of seeded target `i`: `bench-<i mod 10>/Deployment/svc-<i>`.
#[must_use]
pub fn target(i: usize) -> String {
    super::target_name(
        &format!("bench-{}", i % NAMESPACES),
        "Deployment",
        &format!("svc-{i:04}"),
    )
}

/// What was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seeded {
    pub minutes: u64,
    pub hours: u64,
    pub days: u64,
}

/// Seeds `services` targets ([`target`]) with `days` of history ending now.
pub async fn rollups(pool: &PgPool, services: usize, days: u32) -> Result<Seeded, Error> {
    rollups_until(pool, services, days, Utc::now()).await
}

/// [`rollups`] ending at `now`.
pub async fn rollups_until(
    pool: &PgPool,
    services: usize,
    days: u32,
    now: DateTime<Utc>,
) -> Result<Seeded, Error> {
    let names: Vec<String> = (0..services).map(target).collect();
    let start = Resolution::Day.floor(now) - TimeDelta::days(i64::from(days));
    let minutes_from = (now - TimeDelta::days(1)).max(start);
    // Two probes a minute (30 s interval): mostly fast, one slow bucket now and then, about
    // one failure in 200.
    let hours = sqlx::query(
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
             latency_histogram, latency_sum_ms, latency_min_ms, latency_max_ms) \
         SELECT t, 'hour', h, 120, (random() < 0.3)::int, \
             ARRAY[0, 40, 50, 20, 6, 2, 1, 1, 0, 0, 0]::bigint[], 120 * 75.0, 12.0, 2100.0 \
         FROM unnest($1::text[]) t, \
              generate_series($2::timestamptz, $3::timestamptz - interval '1 hour', interval '1 hour') h \
         ON CONFLICT DO NOTHING",
    )
    .bind(&names)
    .bind(start)
    .bind(Resolution::Hour.floor(minutes_from))
    .execute(pool)
    .await
    .map_err(Error::query("seed hour rollups"))?
    .rows_affected();
    let minutes = sqlx::query(
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
             latency_histogram, latency_sum_ms, latency_min_ms, latency_max_ms) \
         SELECT t, 'minute', m, 2, (random() < 0.005)::int, \
             CASE WHEN random() < 0.02 THEN ARRAY[0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0]::bigint[] \
                  ELSE ARRAY[0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]::bigint[] END, 60.0, 20.0, 40.0 \
         FROM unnest($1::text[]) t, \
              generate_series($2::timestamptz, $3::timestamptz, interval '1 minute') m \
         ON CONFLICT DO NOTHING",
    )
    .bind(&names)
    .bind(Resolution::Hour.floor(minutes_from))
    .bind(Resolution::Minute.floor(now))
    .execute(pool)
    .await
    .map_err(Error::query("seed minute rollups"))?
    .rows_affected();
    let rolled = rollup::roll_up(pool, start, now).await?;
    // Fresh statistics, or the first reports plan as if the table were empty.
    sqlx::query("ANALYZE probe_rollups")
        .execute(pool)
        .await
        .map_err(Error::query("analyze probe rollups"))?;
    Ok(Seeded {
        minutes,
        hours: hours + rolled.hours,
        days: rolled.days,
    })
}
