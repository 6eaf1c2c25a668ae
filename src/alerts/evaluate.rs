//! The alert job: every interval (30 s by default) the leader takes a snapshot of the cluster
//! state from the controllers' caches and the provider pool, evaluates every rule, applies the
//! life cycle, publishes Events, notifies receivers and refreshes the gauges. [`Evaluator::pass`]
//! is one such pass at an explicit `now`, which is what tests drive with a simulated clock.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::{
    Api, ResourceExt,
    runtime::events::{EventType, Recorder},
};
use tokio::sync::watch;

use super::{
    AlertMetrics, Error, Finding, OpenAlerts, Resource, Result, lifecycle,
    notify::{self, Delivered, Notifier, Receiver, RetryPolicy},
    rules, slo,
};
use crate::{
    api::{BackupPolicy, Certificate, Deployment},
    controllers::{
        Caches,
        runtime::{error_chain, publish_to},
    },
    jobs::{self, JobStatus},
    providers::{Pool, pool::ProviderCircuit},
    store::Store,
};

/// The job's name in `/health/jobs`.
pub const JOB: &str = "alert-evaluation";

/// What the rules read from the cluster.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub deployments: Vec<Arc<Deployment>>,
    pub certificates: Vec<Arc<Certificate>>,
    pub backup_policies: Vec<Arc<BackupPolicy>>,
    pub circuits: Vec<ProviderCircuit>,
}

impl Snapshot {
    /// The controllers' caches and the provider circuits as they are now.
    #[must_use]
    pub fn of(caches: &Caches, providers: &Pool) -> Self {
        Self {
            deployments: caches.deployments.state(),
            certificates: caches.certificates.state(),
            backup_policies: caches.backup_policies.state(),
            circuits: providers.circuits(),
        }
    }

    /// Object references (with uid, so `kubectl describe` shows the Events) by resource.
    fn references(&self) -> HashMap<Resource, ObjectReference> {
        fn add<K: kube::Resource<DynamicType = ()>>(
            out: &mut HashMap<Resource, ObjectReference>,
            objs: &[Arc<K>],
        ) {
            for o in objs {
                let r = Resource::object(
                    &o.namespace().unwrap_or_default(),
                    &K::kind(&()),
                    &o.name_any(),
                );
                out.insert(r, o.object_ref(&()));
            }
        }
        let mut out = HashMap::new();
        add(&mut out, &self.deployments);
        add(&mut out, &self.certificates);
        add(&mut out, &self.backup_policies);
        out
    }
}

/// A Secret named `namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretName {
    pub namespace: String,
    pub name: String,
}

/// Settings of the job.
#[derive(Clone, Debug)]
pub struct Config {
    /// Time between passes.
    pub interval: Duration,
    /// The Secret listing webhook receivers; none: no notifications.
    pub receivers: Option<SecretName>,
    /// A namespace-scoped install resolves only its namespace's alerts.
    pub scope: Option<String>,
    pub retry: RetryPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            receivers: None,
            scope: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// What one pass did.
#[derive(Debug, Default)]
pub struct Report {
    pub fired: Vec<lifecycle::Alert>,
    pub resolved: Vec<lifecycle::Alert>,
    pub delivered: Delivered,
    /// What could not be evaluated or sent (the pass still did the rest).
    pub problems: Vec<String>,
}

/// Evaluates the rules and carries out their consequences.
pub struct Evaluator {
    store: Store,
    client: kube::Client,
    recorder: Recorder,
    notifier: Notifier,
    metrics: Arc<AlertMetrics>,
    config: Config,
    /// Where the Deployment reconciler reads each Deployment's open alerts.
    open: Option<OpenAlerts>,
}

impl Evaluator {
    /// An evaluator writing to `store` and publishing Events through `recorder`.
    pub fn new(
        store: Store,
        client: kube::Client,
        recorder: Recorder,
        metrics: Arc<AlertMetrics>,
        config: Config,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            notifier: Notifier::new(config.retry)?,
            store,
            client,
            recorder,
            metrics,
            config,
            open: None,
        })
    }

    /// Publishes the open alerts of Deployments to `open` after every pass.
    #[must_use]
    pub fn publishing_to(mut self, open: OpenAlerts) -> Self {
        self.open = Some(open);
        self
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One pass at `now`.
    pub async fn pass(&self, snapshot: &Snapshot, now: DateTime<Utc>) -> Result<Report> {
        let mut report = Report::default();
        let mut findings: Vec<Finding> = Vec::new();
        findings.extend(rules::certificates(&snapshot.certificates, now));
        findings.extend(rules::backups(&snapshot.backup_policies));
        findings.extend(rules::deployments(&snapshot.deployments));
        findings.extend(rules::circuits(&snapshot.circuits));
        let mut evaluated: Vec<&str> = rules::RULES.to_vec();

        let targets: Vec<String> = snapshot
            .deployments
            .iter()
            .map(|d| slo::target(&d.namespace().unwrap_or_default(), &d.name_any()))
            .collect();
        match slo::read_windows(&self.store, &targets, now).await {
            Ok(counts) => {
                findings.extend(slo::findings(&snapshot.deployments, &counts));
                evaluated.extend(slo::RULES);
            }
            // The SLO alerts stay as they are until the rollups can be read again.
            Err(e) => report.problems.push(error_chain(&e)),
        }

        let t = lifecycle::apply(
            &self.store,
            &findings,
            &evaluated,
            self.config.scope.as_deref(),
            now,
        )
        .await?;
        self.announce(snapshot, &t).await;
        report.fired = t.fired;
        report.resolved = t.resolved;

        match self.receivers().await {
            Ok((receivers, problems)) => {
                report.problems.extend(problems);
                report.delivered = self
                    .notifier
                    .deliver(&self.store, &receivers, &self.metrics, now)
                    .await?;
                if report.delivered.failed > 0 {
                    report.problems.push(format!(
                        "{} notification(s) not delivered; retried later",
                        report.delivered.failed
                    ));
                }
            }
            Err(e) => report.problems.push(error_chain(&e)),
        }
        // One read of what is open serves the gauges and the Deployments' conditions.
        let open = lifecycle::open(&self.store).await?;
        self.metrics.set_open(&open);
        if let Some(published) = &self.open {
            let shown = snapshot.deployments.iter().map(|d| {
                let conditions = d
                    .status
                    .as_ref()
                    .map_or(&[][..], |s| &s.common.conditions[..]);
                (
                    Resource::object(
                        &d.namespace().unwrap_or_default(),
                        &<Deployment as kube::Resource>::kind(&()),
                        &d.name_any(),
                    ),
                    conditions,
                )
            });
            published.publish(open, shown);
        }
        Ok(report)
    }

    /// A Warning Event on the resource when an alert fires, a Normal one when it resolves.
    /// Provider alerts have no object to carry them.
    async fn announce(&self, snapshot: &Snapshot, t: &lifecycle::Transitions) {
        let refs = snapshot.references();
        let fired = t
            .fired
            .iter()
            .map(|a| (a, EventType::Warning, "AlertFiring"));
        let resolved = t
            .resolved
            .iter()
            .map(|a| (a, EventType::Normal, "AlertResolved"));
        for (alert, type_, reason) in fired.chain(resolved) {
            if let Some(reference) = refs.get(&alert.resource()) {
                let note = format!("{} ({}): {}", alert.rule, alert.severity, alert.message);
                publish_to(&self.recorder, reference, type_, "Alert", reason, &note).await;
            }
        }
    }

    /// The receivers from the configured Secret, read every pass so edits apply without a
    /// restart. A missing Secret means no receivers (and says so).
    async fn receivers(&self) -> Result<(Vec<Receiver>, Vec<String>)> {
        let Some(secret) = &self.config.receivers else {
            return Ok((Vec::new(), Vec::new()));
        };
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &secret.namespace);
        let found = api
            .get_opt(&secret.name)
            .await
            .map_err(|source| Error::Receivers {
                namespace: secret.namespace.clone(),
                name: secret.name.clone(),
                source,
            })?;
        let Some(found) = found else {
            return Ok((
                Vec::new(),
                vec![format!(
                    "the alert receivers Secret {}/{} does not exist",
                    secret.namespace, secret.name
                )],
            ));
        };
        let mut data: std::collections::BTreeMap<String, Vec<u8>> = found
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        for (k, v) in found.string_data.unwrap_or_default() {
            data.insert(k, v.into_bytes());
        }
        Ok(notify::parse_receivers(&data))
    }

    /// Runs a pass every interval while this replica leads, until `shutdown`, reporting each
    /// to `jobs`.
    pub async fn run(
        self: Arc<Self>,
        caches: Caches,
        providers: Pool,
        leader: watch::Receiver<bool>,
        jobs: Arc<jobs::Registry>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let interval = self.config.interval;
        let schedule = format!("every {}s (leader only)", interval.as_secs());
        let mut last: Option<(DateTime<Utc>, String)> = None;
        loop {
            if *leader.borrow() {
                let now = Utc::now();
                let outcome = match self.pass(&Snapshot::of(&caches, &providers), now).await {
                    Ok(r) if r.problems.is_empty() => "ok".to_owned(),
                    Ok(r) => {
                        tracing::warn!(problems = ?r.problems, "alert evaluation incomplete");
                        r.problems.join("; ")
                    }
                    Err(e) => {
                        let e = error_chain(&e);
                        tracing::warn!(error = %e, "alert evaluation failed");
                        e
                    }
                };
                last = Some((now, outcome));
            }
            jobs.upsert(JobStatus {
                name: JOB.into(),
                schedule: schedule.clone(),
                last_run: last.as_ref().map(|(at, _)| *at),
                last_outcome: last.as_ref().map(|(_, o)| o.clone()),
                next_run: chrono::TimeDelta::from_std(interval)
                    .ok()
                    .map(|d| Utc::now() + d),
            });
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}
