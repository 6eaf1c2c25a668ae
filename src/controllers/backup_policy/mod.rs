//! BackupPolicy reconciler: observe (Secrets, catalogue, runs in flight) → plan (pure: what is
//! due, status, verdict, alert, requeue at the next due time) → act (start a backup or a
//! verification in the background). The engine itself is [`crate::backup`].

mod cleanup;
mod observe;
pub mod plan;
pub mod platform;
mod runner;

use std::sync::Arc;

use chrono::Utc;
use kube::{
    Resource as _, ResourceExt as _,
    runtime::{Controller, reflector::ObjectRef},
};

pub use self::runner::Runner;
use self::{
    plan::{History, Observed, Start},
    runner::RunInputs,
};
use super::{Context, Error, Outcome, Reconciler, deps};
use crate::{
    api::{
        BackupPolicy, Environment, backup_policy::BackupPolicyStatus,
        common::RECONCILE_REQUESTED_ANNOTATION,
    },
    backup::{catalogue::PolicyKey, retention::Rules, schedule::parse_duration},
    controllers::runtime::error_chain,
};

impl Reconciler for BackupPolicy {
    const ALERT_CONDITIONS: &'static [&'static str] = &[plan::ALERTING];

    // Nothing is scheduled while suspended: a next run time would be a promise not kept.
    fn suspended_status(status: BackupPolicyStatus) -> BackupPolicyStatus {
        BackupPolicyStatus {
            next_backup_time: None,
            next_verification_time: None,
            ..status
        }
    }

    async fn cleanup(obj: Arc<Self>, ctx: Arc<Context>) -> Result<(), Error> {
        cleanup::cleanup(&obj, &ctx).await
    }

    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let namespace = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let previous = obj.status.clone().unwrap_or_default();

        // Observe (I/O): dependencies, Secret values, history, runs in flight.
        let mut deps = ctx.dependencies(obj.as_ref());
        deps.secret_key(&obj.spec.database.connection_secret_ref)
            .await?;
        if let Some(r) = obj
            .spec
            .verification
            .as_ref()
            .and_then(|v| v.scratch_connection_secret_ref.as_ref())
        {
            deps.secret_key(r).await?;
        }
        if let Some(s3) = &obj.spec.destination.s3 {
            deps.secret(&s3.credentials_secret_name).await?;
        }
        let env = match &obj.spec.database.supabase_environment_ref {
            Some(r) => deps.object::<Environment>(&r.name).await?,
            None => None,
        };
        let platform_source = match &env {
            Some(e) => Some(platform::source(e, &mut deps).await?),
            None => None,
        };
        let missing = deps.missing();
        let resolved = if missing.is_empty() {
            observe::resolve(&ctx.client, &obj, &namespace).await?
        } else {
            Ok(None)
        };
        let (resolved, invalid_secret) = match resolved {
            Ok(r) => (r, None),
            Err(message) => (None, Some(message)),
        };
        let runner = ctx.backups.clone();
        let history = match &runner {
            None => History::NoDatabase,
            Some(r) => {
                let target = resolved.as_ref().and_then(|res| res.target(&obj).ok());
                let key = PolicyKey {
                    namespace: &namespace,
                    policy: &name,
                };
                let read = async {
                    r.recover(&namespace, &name, target.as_ref()).await?;
                    r.catalogue().summary(key).await
                };
                match read.await {
                    Ok(s) => History::Read(Box::new(s)),
                    Err(e) => History::Unreadable(error_chain(&e)),
                }
            }
        };
        let request = obj
            .annotations()
            .get(RECONCILE_REQUESTED_ANNOTATION)
            .filter(|v| previous.common.last_handled_reconcile_at.as_ref() != Some(*v))
            .cloned();
        let now = Utc::now();
        let key = PolicyKey {
            namespace: &namespace,
            policy: &name,
        };
        let known = previous.platform_backups.as_ref();
        let platform = match platform_source {
            None => None,
            // Unchanged while the message is, so a bad reference does not rewrite status.
            Some(Err(message)) => Some(match known {
                Some(p) if p.error.as_deref() == Some(message.as_str()) => p.clone(),
                _ => platform::failed(None, "", message, now),
            }),
            Some(Ok(source))
                if missing.is_empty()
                    && platform::due(known, &source.project_ref, now, request.is_some()) =>
            {
                let catalogue = runner.as_ref().map(|r| r.catalogue());
                Some(platform::refresh(&ctx, &source, key, catalogue, known, now).await)
            }
            Some(Ok(_)) => known.cloned(),
        };
        let observed = Observed {
            now,
            created: obj
                .meta()
                .creation_timestamp
                .as_ref()
                .and_then(|t| chrono::DateTime::from_timestamp_micros(t.0.as_microsecond()))
                .unwrap_or_else(Utc::now),
            missing,
            invalid_secret,
            history,
            running: runner.as_ref().and_then(|r| r.running(&namespace, &name)),
            request,
            resync: ctx.resync,
            platform,
        };

        // Plan (pure).
        let mut p = plan::plan(&obj.spec, &previous, &observed);

        // Act (I/O): hand the run to a background task.
        if let (Some(start), Some(runner), Some(resolved)) = (p.start, &runner, &resolved) {
            let started = match resolved.target(&obj) {
                Err(message) => Err(message),
                Ok(target) => {
                    let inputs = RunInputs {
                        namespace: namespace.clone(),
                        name: name.clone(),
                        target,
                        source: resolved.source.clone(),
                        scratch: resolved.scratch.clone(),
                        rules: Rules::from(&obj.spec.retention),
                        tz: obj.spec.time_zone.parse().unwrap_or(chrono_tz::UTC),
                        checks: obj
                            .spec
                            .verification
                            .as_ref()
                            .map(|v| v.checks.clone())
                            .unwrap_or_default(),
                        verify_timeout: obj
                            .spec
                            .verification
                            .as_ref()
                            .and_then(|v| parse_duration(&v.timeout).ok())
                            .unwrap_or(std::time::Duration::from_secs(1800)),
                        restore_jobs: obj.spec.verification.as_ref().map_or(1, |v| v.restore_jobs),
                    };
                    let policy = ObjectRef::from_obj(obj.as_ref());
                    Ok(match start {
                        Start::Backup(trigger) => runner.start_backup(policy, inputs, trigger),
                        Start::Verification => runner.start_verification(policy, inputs),
                    })
                }
            };
            if let Err(message) = started {
                p.verdict = super::Verdict::Stalled {
                    reason: super::conditions::reasons::INVALID_SPEC,
                    message: message.clone(),
                };
                p.sync = super::SyncResult::NotAttempted { message };
            }
        }
        Ok(Outcome {
            verdict: p.verdict,
            sync: p.sync,
            status: p.status,
            requeue: p.requeue,
            conditions: p.alert.into_iter().collect(),
        })
    }
}

/// Dependency watches: the connection and credentials Secrets and the Supabase Environment;
/// and the end of each background run.
pub(super) fn wire(c: Controller<BackupPolicy>, ctx: &Context) -> Controller<BackupPolicy> {
    let c = deps::watch_refs(
        c,
        ctx.watch_api::<Environment>(),
        |b: &BackupPolicy, env| {
            b.spec
                .database
                .supabase_environment_ref
                .as_ref()
                .is_some_and(|r| r.name == env)
        },
    );
    let c = deps::watch_refs(c, deps::secrets(ctx), |b: &BackupPolicy, name| {
        b.spec.database.connection_secret_ref.name == name
            || b.spec
                .destination
                .s3
                .as_ref()
                .is_some_and(|s| s.credentials_secret_name == name)
            || b.spec
                .verification
                .as_ref()
                .and_then(|v| v.scratch_connection_secret_ref.as_ref())
                .is_some_and(|r| r.name == name)
    });
    match &ctx.backups {
        Some(runner) => c.reconcile_on(runner.completions()),
        None => c,
    }
}
