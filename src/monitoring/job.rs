//! The monitoring jobs of the leader: the probe loop (targets from the caches, each probed at
//! its slot, results counted in `/metrics` and batched into Postgres) and the rollup loop
//! (rollups every [`Config::rollup_every`], retention every [`Config::prune_every`]). Both
//! report to `/health/jobs`. A follower keeps nothing scheduled and waits to lead.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::{
    sync::{Semaphore, mpsc, watch},
    task::JoinSet,
};

use super::{
    ProbeMetrics, Sample,
    ingest::Batcher,
    probe::Prober,
    rollup::{self, Retention},
    scheduler::Schedule,
    targets,
};
use crate::{
    controllers::Caches,
    jobs::{JobStatus, Registry},
    store::Store,
};

/// Command-line settings of monitoring (flattened into `berth controller`).
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Days raw probe samples are kept (rollups keep the history).
    #[arg(long, env = "BERTH_PROBE_SAMPLE_RETENTION_DAYS", default_value_t = 7)]
    pub probe_sample_retention_days: u32,
    /// Days minute rollups are kept; older reports are exact to the hour at their edges.
    #[arg(long, env = "BERTH_PROBE_MINUTE_RETENTION_DAYS", default_value_t = 35, value_parser = clap::value_parser!(u32).range(1..))]
    pub probe_minute_retention_days: u32,
    /// Days hour and day rollups are kept.
    #[arg(long, env = "BERTH_PROBE_ROLLUP_RETENTION_DAYS", default_value_t = 400)]
    pub probe_rollup_retention_days: u32,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            probe_sample_retention_days: 7,
            probe_minute_retention_days: 35,
            probe_rollup_retention_days: 400,
        }
    }
}

impl Args {
    /// The retention these flags ask for.
    #[must_use]
    pub fn retention(&self) -> Retention {
        let days = |d: u32| TimeDelta::days(i64::from(d));
        Retention {
            samples: days(self.probe_sample_retention_days),
            minutes: days(self.probe_minute_retention_days),
            rollups: days(self.probe_rollup_retention_days),
        }
    }
}

/// How the jobs run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The controller's `--health-check-via`.
    pub via: Option<String>,
    pub retention: Retention,
    pub rollup_every: Duration,
    pub prune_every: Duration,
    /// Probes in flight at once.
    pub concurrency: usize,
}

impl Config {
    /// From the command line.
    #[must_use]
    pub fn new(args: &Args, via: Option<String>) -> Self {
        Self {
            via,
            retention: args.retention(),
            rollup_every: Duration::from_secs(30),
            prune_every: Duration::from_secs(3600),
            concurrency: 64,
        }
    }
}

/// The target set is re-read from the caches at least this often.
const REFRESH: Duration = Duration::from_secs(1);

const PROBES: &str = "probes";
const ROLLUPS: &str = "probe-rollups";
const RETENTION: &str = "probe-retention";

/// Everything the jobs need.
pub struct Monitoring {
    pub caches: Caches,
    pub store: Store,
    pub metrics: ProbeMetrics,
    pub jobs: Arc<Registry>,
    pub leader: watch::Receiver<bool>,
    pub config: Config,
}

impl Monitoring {
    /// Runs the jobs until `shutdown` turns true; probes in flight finish and every sample
    /// taken is written before it returns.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let prober = match Prober::new() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %crate::controllers::runtime::error_chain(&e), "probes cannot run");
                status(
                    &self.jobs,
                    PROBES,
                    "when leading",
                    Some(e.to_string()),
                    None,
                );
                return;
            }
        };
        let this = Arc::new(self);
        let (tx, rx) = mpsc::channel::<Sample>(4096);
        let batcher = tokio::spawn(Batcher::new(this.store.pool().clone()).run(rx));
        tokio::join!(
            this.clone().probe_loop(prober, tx, shutdown.clone()),
            this.clone().rollup_loop(shutdown),
        );
        let _ = batcher.await;
    }

    async fn probe_loop(
        self: Arc<Self>,
        prober: Prober,
        tx: mpsc::Sender<Sample>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut schedule = Schedule::default();
        let mut leader = self.leader.clone();
        let limit = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut running = JoinSet::new();
        loop {
            let now = Utc::now();
            if *leader.borrow_and_update() {
                let targets = targets::from_caches(&self.caches, self.config.via.as_deref());
                schedule.sync(targets, now);
                for target in schedule.take_due(now) {
                    let (prober, tx, limit, metrics) = (
                        prober.clone(),
                        tx.clone(),
                        limit.clone(),
                        self.metrics.clone(),
                    );
                    running.spawn(async move {
                        let Ok(_permit) = limit.acquire_owned().await else {
                            return;
                        };
                        let sample = prober.probe(&target).await;
                        metrics.observe(&sample);
                        let _ = tx.send(sample).await;
                    });
                }
                status(
                    &self.jobs,
                    PROBES,
                    &format!(
                        "{} targets, each every healthCheck.interval",
                        schedule.len()
                    ),
                    None,
                    schedule.next_wake(),
                );
            } else {
                schedule.sync(Vec::new(), now);
            }
            while running.try_join_next().is_some() {}
            let wake = schedule
                .next_wake()
                .map_or(REFRESH, |w| until(w).min(REFRESH));
            tokio::select! {
                () = tokio::time::sleep(wake) => {}
                changed = leader.changed() => if changed.is_err() { break },
                _ = shutdown.wait_for(|s| *s) => break,
            }
        }
        while running.join_next().await.is_some() {}
    }

    async fn rollup_loop(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.config.rollup_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune: Option<tokio::time::Instant> = None;
        let pool = self.store.pool();
        let every = self.config.rollup_every;
        let prune_every = self.config.prune_every;
        // Listed from the start, so /health/jobs shows them before their first run.
        for (name, period) in [(ROLLUPS, every), (RETENTION, prune_every)] {
            self.jobs.upsert(JobStatus {
                name: name.into(),
                schedule: format!("every {}s", period.as_secs()),
                last_run: None,
                last_outcome: None,
                next_run: None,
            });
        }
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            if !*self.leader.borrow() {
                continue;
            }
            let now = Utc::now();
            let outcome = rollup::run(pool, now).await.err().map(|e| {
                tracing::warn!(error = %crate::controllers::runtime::error_chain(&e), "probe rollup failed");
                e.to_string()
            });
            status(
                &self.jobs,
                ROLLUPS,
                &format!("every {}s", every.as_secs()),
                outcome,
                Some(now + every),
            );
            if last_prune.is_none_or(|t| t.elapsed() >= prune_every) {
                let outcome = match rollup::prune(pool, now, &self.config.retention).await {
                    Ok(p) => {
                        last_prune = Some(tokio::time::Instant::now());
                        tracing::debug!(
                            samples = p.samples,
                            rollups = p.rollups,
                            "pruned probe history"
                        );
                        None
                    }
                    Err(e) => Some(e.to_string()),
                };
                status(
                    &self.jobs,
                    RETENTION,
                    &format!("every {}s", prune_every.as_secs()),
                    outcome,
                    Some(now + prune_every),
                );
            }
        }
    }
}

fn until(when: DateTime<Utc>) -> Duration {
    (when - Utc::now()).to_std().unwrap_or(Duration::ZERO)
}

/// Reports a job run to `/health/jobs`; `error` `None` is a success.
fn status(
    jobs: &Registry,
    name: &str,
    schedule: &str,
    error: Option<String>,
    next_run: Option<DateTime<Utc>>,
) {
    jobs.upsert(JobStatus {
        name: name.into(),
        schedule: schedule.into(),
        last_run: Some(Utc::now()),
        last_outcome: Some(error.unwrap_or_else(|| "ok".into())),
        next_run,
    });
}
