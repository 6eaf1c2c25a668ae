//! Probe sample ingest into a real Postgres, and the rollup seeding the admin API load bench
//! uses.
//!
//! The bench starts its own Postgres, applies the migrations, then:
//! - writes `BERTH_BENCH_SAMPLES` samples (default 200,000) over 1,000 targets in batches of
//!   [`ingest::BATCH`], once with `INSERT … UNNEST` and once with `COPY`, from 4 writers in
//!   parallel (as the job's batcher would under load), and prints samples/s for each (goal:
//!   at least 10,000/s);
//! - rolls the samples up (minute, hour, day) and prints the time;
//! - seeds 1,000 services × 30 days of rollups with `monitoring::seed::rollups` and prints the
//!   time and row counts, then one 30-day uptime report of 100 targets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use berth::{
    devstack::Postgres,
    monitoring::{ErrorKind, Sample, ingest, report, rollup, seed},
    store::Store,
};
use chrono::{TimeDelta, Utc};
use sqlx::{Connection as _, Executor as _, PgConnection, PgPool};

const WRITERS: usize = 4;

fn samples(n: usize, offset: usize) -> Vec<Sample> {
    let start = Utc::now() - TimeDelta::hours(2);
    (0..n)
        .map(|i| {
            let k = i + offset;
            let ok = !k.is_multiple_of(50);
            Sample {
                target: seed::target(k % 1000),
                at: start + TimeDelta::milliseconds(i64::try_from(k).unwrap() * 7),
                status_code: Some(if ok { 200 } else { 503 }),
                latency_ms: f64::from(u32::try_from(k % 400).unwrap()) + 0.25,
                tls_ms: Some(3.5),
                error_kind: (!ok).then_some(ErrorKind::Status),
                ok,
            }
        })
        .collect()
}

async fn fresh(pg: &Postgres, name: &str) -> PgPool {
    PgConnection::connect(&pg.url("postgres"))
        .await
        .unwrap()
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let store = Store::connect_lazy(&pg.url(name), 8).unwrap();
    store.migrate().await.unwrap();
    store.pool().clone()
}

/// Writes `total` samples with `write`, `WRITERS` at a time; samples/s.
async fn ingest_rate<F, Fut>(pool: &PgPool, total: usize, write: F) -> f64
where
    F: Fn(PgPool, Vec<Sample>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<u64, berth::monitoring::Error>> + Send,
{
    let batches: Vec<Vec<Sample>> = samples(total, 0)
        .chunks(ingest::BATCH)
        .map(<[Sample]>::to_vec)
        .collect();
    let per_writer = batches.len().div_ceil(WRITERS);
    let mut groups: Vec<Vec<Vec<Sample>>> = Vec::new();
    let mut it = batches.into_iter();
    for _ in 0..WRITERS {
        groups.push(it.by_ref().take(per_writer).collect());
    }
    let started = Instant::now();
    let handles: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let (pool, write) = (pool.clone(), write.clone());
            tokio::spawn(async move {
                let mut n = 0;
                for batch in group {
                    n += write(pool.clone(), batch).await.unwrap();
                }
                n
            })
        })
        .collect();
    let mut written = 0;
    for h in handles {
        written += h.await.unwrap();
    }
    assert_eq!(written, u64::try_from(total).unwrap());
    #[allow(clippy::cast_precision_loss)]
    let rate = total as f64 / started.elapsed().as_secs_f64();
    rate
}

#[tokio::main]
async fn main() {
    let total: usize = std::env::var("BERTH_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let pg = Postgres::start().await.expect("postgres starts");

    let pool = fresh(&pg, "ingest_unnest").await;
    let unnest = ingest_rate(
        &pool,
        total,
        |p, b| async move { ingest::insert(&p, &b).await },
    )
    .await;
    println!("ingest INSERT…UNNEST: {total} samples, {unnest:.0} samples/s");

    let pool = fresh(&pg, "ingest_copy").await;
    let copy = ingest_rate(
        &pool,
        total,
        |p, b| async move { ingest::copy(&p, &b).await },
    )
    .await;
    println!("ingest COPY:          {total} samples, {copy:.0} samples/s");

    let started = Instant::now();
    let rolled = rollup::run(&pool, Utc::now()).await.unwrap();
    println!(
        "rollup of {total} samples: {:?} ({} minute, {} hour, {} day rows)",
        started.elapsed(),
        rolled.minutes,
        rolled.hours,
        rolled.days
    );

    let pool = fresh(&pg, "seeded").await;
    let started = Instant::now();
    let seeded = seed::rollups(&pool, 1000, 30).await.unwrap();
    println!(
        "seed 1000 services × 30 days: {:?} ({} minute, {} hour, {} day rows)",
        started.elapsed(),
        seeded.minutes,
        seeded.hours,
        seeded.days
    );
    let page: Vec<String> = (0..100).map(seed::target).collect();
    let now = Utc::now();
    for (label, span) in [("1h", TimeDelta::hours(1)), ("30d", TimeDelta::days(30))] {
        let started = Instant::now();
        let rows = report::summarize(&pool, &page, now - span, now)
            .await
            .unwrap();
        println!(
            "report {label} of 100 targets: {:?} ({} rows)",
            started.elapsed(),
            rows.len()
        );
    }
}
