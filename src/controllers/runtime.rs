//! The reconcile wrapper every kind runs through, and the loop that runs all controllers.
//!
//! Order of a reconcile: leader gate → finalizer → status first (new generation) → suspend
//! check → the kind's reconcile → one status write (only if changed) → Events for condition
//! transitions → requeue at the resync interval, or per-object backoff on error. A kind that
//! asks to go on [`AT_ONCE`] (it recorded something that must be in status before it acts)
//! gets a second pass in the same reconcile, from the status just written.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use futures::{Stream, StreamExt};
use k8s_openapi::{api::core::v1::ObjectReference, apimachinery::pkg::apis::meta::v1::Time};
use kube::{
    Api, ResourceExt,
    runtime::{
        Controller,
        controller::Action,
        events::{Event, EventType, Recorder},
        finalizer::{Event as Finalized, finalizer},
        reflector::Store,
        watcher,
    },
};
use tokio::sync::watch;

use super::{
    AT_ONCE, Context, Error, FINALIZER, Managed, Outcome, Reconciler,
    conditions::{self, SyncResult, Verdict},
    status,
};
use crate::api::common::RECONCILE_REQUESTED_ANNOTATION;

/// Reconciles one object: the shared steps around the kind's own reconcile.
pub async fn reconcile<K: Reconciler>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    // Only the leader writes; the others keep their caches warm for admin reads and are
    // re-triggered for every object when they become leader.
    if !*ctx.leader.borrow() {
        return Ok(Action::await_change());
    }
    let timer = ctx.metrics.start(K::KIND);
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalized::Apply(obj) => apply(obj, ctx.clone()).await,
            Finalized::Cleanup(obj) => {
                K::cleanup(obj.clone(), ctx.clone()).await?;
                publish(
                    &ctx,
                    obj.as_ref(),
                    EventType::Normal,
                    "Finalized",
                    "provider cleanup done; the object can go",
                )
                .await;
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    timer.finish(result.is_ok());
    result
}

async fn apply<K: Reconciler>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let generation = obj.meta().generation;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut next = obj.status().cloned().unwrap_or_default();

    // Status first: a new generation is marked Reconciling before any slow work, or GitOps
    // tools would take the old Ready as the verdict on the new spec.
    if K::common(&next).observed_generation != generation {
        let common = K::common_mut(&mut next);
        common.observed_generation = generation;
        conditions::merge(
            &mut common.conditions,
            &conditions::starting("reconciling the new generation"),
            generation,
            &now,
        );
        status::write(&ctx, obj.as_ref(), &next).await?;
    }

    let mut obj = obj;
    for _ in 1..PASSES {
        match pass(&obj, &ctx, &next).await? {
            Passed::Again(written) => {
                // Go on from the status just written, not from the watch cache, which may
                // not have it yet.
                obj = Arc::new(obj.with_status(written.clone()));
                next = written;
            }
            Passed::Done(action) => return Ok(action),
        }
    }
    match pass(&obj, &ctx, &next).await? {
        Passed::Again(_) => Ok(Action::requeue(AT_ONCE)),
        Passed::Done(action) => Ok(action),
    }
}

/// How many times one reconcile runs the kind's reconcile when it asks to go on at once
/// ([`AT_ONCE`]): enough for "record, then act" (a Deployment's release).
const PASSES: usize = 2;

/// What one pass concluded.
enum Passed<S> {
    /// Written `S`; the kind asked to go on from it at once.
    Again(S),
    /// Come back per this action.
    Done(Action),
}

/// One pass: the kind's reconcile against `next` (the status as written), its status written,
/// its Events published, and the requeue decided.
async fn pass<K: Reconciler>(
    obj: &Arc<K>,
    ctx: &Arc<Context>,
    next: &K::Status,
) -> Result<Passed<K::Status>, Error> {
    let generation = obj.meta().generation;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let outcome = if obj.suspended() {
        Outcome {
            verdict: Verdict::Suspended,
            sync: SyncResult::NotAttempted {
                message: "spec.suspend is true".into(),
            },
            status: K::suspended_status(next.clone()),
            requeue: None,
            conditions: Vec::new(),
        }
    } else {
        K::reconcile(obj.clone(), ctx.clone()).await?
    };
    let Outcome {
        verdict,
        sync,
        status: mut written,
        requeue,
        conditions: mut extra,
    } = outcome;
    if K::SHOWS_OPEN_ALERTS {
        let resource = crate::alerts::Resource::object(
            &obj.namespace().unwrap_or_default(),
            K::KIND,
            &obj.name_any(),
        );
        extra.extend(ctx.alerts.condition(&resource));
    }

    let common = K::common_mut(&mut written);
    *common = K::common(next).clone();
    let mut desired = conditions::from_verdict(&verdict, &sync);
    desired.extend(extra.iter().cloned());
    let changed = conditions::merge(&mut common.conditions, &desired, generation, &now);
    common.last_handled_reconcile_at = obj
        .annotations()
        .get(RECONCILE_REQUESTED_ANNOTATION)
        .cloned()
        .or(common.last_handled_reconcile_at.take());
    status::write(ctx, obj.as_ref(), &written).await?;
    if changed.contains(&conditions::types::READY) || changed.contains(&conditions::types::STALLED)
    {
        announce(ctx, obj.as_ref(), &verdict).await;
    }
    // A kind's alert condition raised or cleared is an Event too; its first, quiet
    // appearance is not.
    let before = &K::common(next).conditions;
    for d in extra.iter().filter(|d| {
        K::ALERT_CONDITIONS.contains(&d.type_)
            && changed.contains(&d.type_)
            && (d.status == "True" || conditions::find(before, d.type_).is_some())
    }) {
        let type_ = if d.status == "True" {
            EventType::Warning
        } else {
            EventType::Normal
        };
        let note = if d.message.is_empty() {
            format!("{} is {}", d.type_, d.status)
        } else {
            d.message.clone()
        };
        publish(ctx, obj.as_ref(), type_, d.reason, &note).await;
    }
    let uid = obj.uid().unwrap_or_default();
    Ok(match verdict {
        Verdict::Suspended => {
            ctx.backoff.reset(&uid);
            Passed::Done(Action::await_change())
        }
        // A transient provider failure: the object's own jittered backoff grows until a
        // reconcile gets through (or the provider's wait, when it named one, if longer).
        Verdict::Retrying { .. } => {
            let backoff = ctx.backoff.next_delay(&uid);
            Passed::Done(Action::requeue(
                requeue.map_or(backoff, |wait| wait.max(backoff)),
            ))
        }
        _ if requeue == Some(AT_ONCE) => {
            ctx.backoff.reset(&uid);
            Passed::Again(written)
        }
        _ => {
            ctx.backoff.reset(&uid);
            Passed::Done(Action::requeue(requeue.unwrap_or(ctx.resync)))
        }
    })
}

/// One Event per state change, Warning when it needs attention.
async fn announce<K: Managed>(ctx: &Context, obj: &K, verdict: &Verdict) {
    let (type_, reason, note) = match verdict {
        Verdict::Ready { message } => (EventType::Normal, "Ready", message.clone()),
        Verdict::Progressing { reason, message } => (EventType::Normal, *reason, message.clone()),
        Verdict::Blocked { message } => (
            EventType::Normal,
            conditions::reasons::DEPENDENCY_NOT_READY,
            message.clone(),
        ),
        Verdict::Stalled { reason, message } => (EventType::Warning, *reason, message.clone()),
        Verdict::Retrying { message } => (
            EventType::Warning,
            conditions::reasons::RETRYING,
            message.clone(),
        ),
        Verdict::Suspended => (
            EventType::Normal,
            conditions::reasons::SUSPENDED,
            "reconciliation suspended".into(),
        ),
    };
    publish(ctx, obj, type_, reason, &note).await;
}

/// Publishes one Event about `obj` (best effort).
pub async fn publish<K: Managed>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    publish_to(
        &ctx.recorder,
        &obj.object_ref(&()),
        type_,
        "Reconcile",
        reason,
        note,
    )
    .await;
}

/// Publishes one Event about the object `reference` names, as `action` (best effort: a failed
/// publish is logged, never returned, so it cannot fail the work that raised it).
pub async fn publish_to(
    recorder: &Recorder,
    reference: &ObjectReference,
    type_: EventType,
    action: &str,
    reason: &str,
    note: &str,
) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(truncate(note, 1024)),
        action: action.into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, reference).await {
        tracing::warn!(kind = ?reference.kind, name = ?reference.name, error = %e, "failed to publish event");
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Retry policy on error: per-object exponential backoff with jitter.
pub fn error_policy<K: Managed>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.error(K::KIND, error.metric_label());
    let delay = ctx.backoff.next_delay(&obj.uid().unwrap_or_default());
    tracing::warn!(kind = K::KIND, namespace = %obj.namespace().unwrap_or_default(), name = %obj.name_any(), error = %error_chain(error), retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// An error with its sources, one line.
#[must_use]
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Fires once each time this replica becomes leader, so every object is reconciled by the new
/// leader (objects seen while a follower were skipped).
fn on_leadership(leader: watch::Receiver<bool>) -> impl Stream<Item = ()> + Send {
    futures::stream::unfold((leader, false), |(mut rx, mut was)| async move {
        loop {
            let is = *rx.borrow_and_update();
            if is && !was {
                return Some(((), (rx, true)));
            }
            was = is;
            if rx.changed().await.is_err() {
                return None;
            }
        }
    })
}

/// Counts changes to the caches: bumped after each watch event has been applied to its
/// store, so a view built from the caches can tell it is stale without rereading them (read
/// the count before the stores, and the view is at least as new as the count).
#[derive(Clone, Debug, Default)]
pub struct Changes(Arc<AtomicU64>);

impl Changes {
    #[must_use]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }
}

/// The in-memory caches of every kind, kept by the controllers' watches on every replica.
#[derive(Clone)]
pub struct Caches {
    pub environments: Store<crate::api::Environment>,
    pub deployments: Store<crate::api::Deployment>,
    pub domains: Store<crate::api::Domain>,
    pub certificates: Store<crate::api::Certificate>,
    pub backup_policies: Store<crate::api::BackupPolicy>,
    /// Changes to any of them.
    pub changes: Changes,
}

/// Objects in `store` whose status does not reflect their current generation yet: the
/// controller's work queue, as `/health/detailed` and `/metrics` report it.
#[must_use]
pub fn backlog<K: Managed>(store: &Store<K>) -> usize {
    store
        .state()
        .iter()
        .filter(|o| {
            o.status().and_then(|s| K::common(s).observed_generation) != o.meta().generation
        })
        .count()
}

/// Drops what berth never reads from cached objects: `managedFields` and kubectl's
/// last-applied copy of the whole object are most of an object's size, on every replica.
fn slim<K: kube::Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// What a change must touch to start a reconcile: anything but the status. Status is ours,
/// written at the end of a reconcile that already asked when to come back; waking on our own
/// write would look at the provider again at once, for nothing.
fn acted_on<K: kube::Resource>(obj: &K) -> Option<u64> {
    Some(super::deps::acted_on(obj))
}

/// Builds a controller for kind `K` with its dependency watches added by `wire`.
pub fn controller<K>(
    ctx: &Arc<Context>,
    changes: &Changes,
    wire: impl FnOnce(Controller<K>) -> Controller<K>,
) -> Controller<K>
where
    K: Reconciler,
{
    use kube::runtime::{PredicateConfig, WatchStreamExt as _, reflector};
    let (reader, writer) = reflector::store();
    let objects = watcher(
        ctx.watch_api::<K>(),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(slim)
    .reflect(writer)
    .inspect({
        let changes = changes.clone();
        move |_| changes.bump()
    })
    .applied_objects()
    .predicate_filter(acted_on::<K>, PredicateConfig::default());
    let c = Controller::for_stream(objects, reader)
        .with_config(kube::runtime::controller::Config::default().concurrency(ctx.concurrency));
    let c = wire(c).reconcile_all_on(on_leadership(ctx.leader.clone()));
    if K::SHOWS_OPEN_ALERTS {
        c.reconcile_on(woken_by_alerts::<K>(&ctx.alerts))
    } else {
        c
    }
}

/// The objects of kind `K` whose `Alerting` condition the alert job found stale.
fn woken_by_alerts<K: Reconciler>(
    alerts: &crate::alerts::OpenAlerts,
) -> impl Stream<Item = kube::runtime::reflector::ObjectRef<K>> + Send + 'static {
    use tokio::sync::broadcast::error::RecvError;
    futures::stream::unfold(alerts.wakes(), |mut wakes| async move {
        loop {
            match wakes.recv().await {
                Ok(r) if r.kind == K::KIND => {
                    let object =
                        kube::runtime::reflector::ObjectRef::new(&r.name).within(&r.namespace);
                    return Some((object, wakes));
                }
                // Names lost to lag come again with the next pass.
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Drives a built controller until shutdown.
pub async fn drive<K: Reconciler>(
    c: Controller<K>,
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    c.graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %error_chain(&e), "controller event");
            }
        })
        .await;
}

/// Completes when `shutdown` turns true (or its sender is gone).
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Starts one controller per kind. Returns the caches (live on every replica) and a future
/// that drives the controllers until `shutdown` turns true.
pub fn run_all(
    ctx: Arc<Context>,
    shutdown: watch::Receiver<bool>,
) -> (Caches, impl std::future::Future<Output = ()>) {
    use crate::api::{BackupPolicy, Certificate, Deployment, Domain, Environment};
    let changes = Changes::default();
    let env = controller::<Environment>(&ctx, &changes, |c| super::environment::wire(c, &ctx));
    let dep = controller::<Deployment>(&ctx, &changes, |c| super::deployment::wire(c, &ctx));
    let dom = controller::<Domain>(&ctx, &changes, |c| super::domain::wire(c, &ctx));
    let cert = controller::<Certificate>(&ctx, &changes, |c| super::certificate::wire(c, &ctx));
    let bp = controller::<BackupPolicy>(&ctx, &changes, |c| super::backup_policy::wire(c, &ctx));
    let caches = Caches {
        environments: env.store(),
        deployments: dep.store(),
        domains: dom.store(),
        certificates: cert.store(),
        backup_policies: bp.store(),
        changes,
    };
    let run = async move {
        tokio::join!(
            drive(env, ctx.clone(), stopped(shutdown.clone())),
            drive(dep, ctx.clone(), stopped(shutdown.clone())),
            drive(dom, ctx.clone(), stopped(shutdown.clone())),
            drive(cert, ctx.clone(), stopped(shutdown.clone())),
            drive(bp, ctx.clone(), stopped(shutdown)),
        );
    };
    (caches, run)
}
