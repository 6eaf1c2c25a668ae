//! Environment reconciler: resolve every variable, connect to the bound providers, and for
//! each target list what the platform holds, plan (pure, see [`sync_plan`]) and write only
//! the difference. Ownership, drift and write-only values are explained in [`sync_plan`].
//!
//! ```text
//! resolve Secrets/ConfigMaps ──► desired per target ──► list ──► plan ──► upsert (one batch)
//!        (missing → Blocked)                                        └──► delete owned leftovers
//! ```

pub(crate) mod desired;
pub(crate) mod sync_plan;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use kube::{ResourceExt, runtime::Controller};

pub(crate) use desired::Target;

use super::{
    Context, Error, Outcome, Reconciler, SyncResult, Verdict,
    connect::{Connections, Credentials},
    deps::{self, Dependencies},
    runtime::publish,
};
use crate::{
    api::{
        Environment,
        common::ManagementPolicy,
        environment::{EnvironmentSpec, EnvironmentStatus, TargetSyncStatus},
    },
    providers::{self, http::Secret},
};

/// berth's ownership marker, written as the comment of the entries it creates where the
/// platform keeps comments (Vercel).
pub const OWNER_MARKER: &str = "managed-by: berth";

impl Reconciler for Environment {
    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let mut deps = ctx.dependencies(obj.as_ref());
        let credentials = Credentials::resolve(&obj.spec.providers, &mut deps).await?;
        let values = resolve_values(&obj.spec, &mut deps).await?;
        let missing = deps.missing();
        let status = obj.status.clone().unwrap_or_default();
        if !missing.is_empty() {
            return Ok(Outcome::of(
                status,
                Verdict::blocked(deps::waiting_for(&missing)),
            ));
        }
        let connections = match Connections::new(&ctx.providers, &obj.spec.providers, &credentials)
        {
            Ok(c) => c,
            Err(e) => return Ok(Outcome::provider_failed(status, &e)),
        };
        if let Err(e) = connections.verify().await {
            return Ok(Outcome::provider_failed(status, &e));
        }
        let sync = Sync {
            spec: &obj.spec,
            connections: &connections,
            observe_only: obj.spec.management_policy == ManagementPolicy::Observe,
        };
        let outcome = sync.run(status, &values).await;
        if let Some(note) = drift_note(&outcome.status, obj.spec.drift_policy) {
            publish(
                &ctx,
                obj.as_ref(),
                kube::runtime::events::EventType::Warning,
                "Drifted",
                &note,
            )
            .await;
        }
        Ok(outcome)
    }

    async fn cleanup(obj: Arc<Self>, ctx: Arc<Context>) -> Result<(), Error> {
        if obj.spec.deletion_policy == crate::api::common::DeletionPolicy::Orphan {
            return Ok(());
        }
        let Some(status) = &obj.status else {
            return Ok(());
        };
        let mut deps = ctx.dependencies(obj.as_ref());
        let credentials = Credentials::resolve(&obj.spec.providers, &mut deps).await?;
        let connections = Connections::new(&ctx.providers, &obj.spec.providers, &credentials)?;
        for synced in &status.targets {
            let Some(target) = Target::parse(&synced.target) else {
                continue;
            };
            let Ok((client, _)) = connections.variables(&target) else {
                continue;
            };
            let remote = client.list(target.service()).await?;
            let owned: Vec<_> = remote
                .into_iter()
                .filter(|r| {
                    synced.owned.contains(&r.name) || r.comment.as_deref() == Some(OWNER_MARKER)
                })
                .collect();
            client.delete(target.service(), &owned).await?;
            tracing::info!(environment = %obj.name_any(), target = %synced.target, deleted = owned.len(), "deleted owned variables");
        }
        Ok(())
    }
}

/// "changed outside berth: railway:svc/A (restored)", when any target drifted; said in the
/// Ready message and in the `Drifted` Event.
fn drift_note(
    status: &EnvironmentStatus,
    policy: crate::api::environment::DriftPolicy,
) -> Option<String> {
    let drifted: Vec<String> = status
        .targets
        .iter()
        .flat_map(|t| t.drifted.iter().map(move |n| format!("{}/{n}", t.target)))
        .collect();
    (!drifted.is_empty()).then(|| {
        let done = match policy {
            crate::api::environment::DriftPolicy::Correct => "restored",
            crate::api::environment::DriftPolicy::Report => "reported only",
        };
        format!("changed outside berth: {} ({done})", drifted.join(", "))
    })
}

/// Every declared variable's value, by name; missing sources are noted in `deps`.
pub(crate) async fn resolve_values(
    spec: &EnvironmentSpec,
    deps: &mut Dependencies,
) -> Result<BTreeMap<String, Secret>, Error> {
    let mut values = BTreeMap::new();
    for v in &spec.variables {
        let value = match (&v.value, &v.value_from) {
            (Some(literal), _) => Some(Secret::new(literal.clone())),
            (None, Some(from)) => match (&from.secret_key_ref, &from.config_map_key_ref) {
                (Some(r), _) => deps.secret_key(r).await?,
                (None, Some(r)) => deps.config_map_key(r).await?.map(Secret::new),
                (None, None) => None,
            },
            (None, None) => None,
        };
        if let Some(value) = value {
            values.insert(v.name.clone(), value);
        }
    }
    Ok(values)
}

/// One pass over every target.
struct Sync<'a> {
    spec: &'a EnvironmentSpec,
    connections: &'a Connections,
    observe_only: bool,
}

impl Sync<'_> {
    async fn run(
        &self,
        mut status: EnvironmentStatus,
        values: &BTreeMap<String, Secret>,
    ) -> Outcome<EnvironmentStatus> {
        let desired = desired::by_target(self.spec, values, OWNER_MARKER);
        let targets = visited(&desired, &status);

        let mut unmanaged = Vec::new();
        let mut pending_changes = Vec::new();
        for target in targets {
            let want = desired.get(&target).map_or(&[][..], Vec::as_slice);
            match self.target(&target, want, &mut status).await {
                Ok(report) => {
                    unmanaged.extend(
                        report
                            .unmanaged
                            .iter()
                            .map(|n| format!("{}/{n}", target.label())),
                    );
                    pending_changes.extend(report.pending);
                }
                Err(Failure::Spec(message)) => {
                    return Outcome::of(
                        status,
                        Verdict::stalled(super::conditions::reasons::INVALID_SPEC, message),
                    );
                }
                Err(Failure::Provider(e)) => return Outcome::provider_failed(status, &e),
            }
        }
        status.unmanaged_variables = unmanaged;
        let drifted: usize = status.targets.iter().map(|t| t.drifted.len()).sum();
        status.drift_count = Some(i32::try_from(drifted).unwrap_or(i32::MAX));
        let verdict = self.verdict(&status, &pending_changes);
        Outcome::of(status, (verdict, SyncResult::Succeeded))
    }

    fn verdict(&self, status: &EnvironmentStatus, pending: &[String]) -> Verdict {
        let synced = status.targets.len();
        if self.observe_only && !pending.is_empty() {
            return Verdict::Stalled {
                reason: "ObserveOnly",
                message: format!(
                    "managementPolicy is Observe: {} would change ({}); berth changed nothing",
                    pending.len(),
                    pending.join(", ")
                ),
            };
        }
        let mut message = format!("{synced} target(s) in sync");
        if let Some(note) = drift_note(status, self.spec.drift_policy) {
            message.push_str("; ");
            message.push_str(&note);
        }
        if !status.unmanaged_variables.is_empty() {
            message.push_str(&format!(
                "; not managed by berth (left alone): {}",
                status.unmanaged_variables.join(", ")
            ));
        }
        Verdict::Ready { message }
    }

    /// Lists, plans and (unless observing) applies one target, updating its status entry.
    async fn target(
        &self,
        target: &Target,
        want: &[providers::variables::DesiredVariable],
        status: &mut EnvironmentStatus,
    ) -> Result<TargetReport, Failure> {
        let label = target.label();
        let before = status.targets.iter().find(|t| t.target == label).cloned();
        let Observed { client, plan, .. } = observe_target(
            self.connections,
            target,
            want,
            before.as_ref(),
            self.spec.drift_policy,
        )
        .await?;
        let mut pending: Vec<String> = plan
            .upserts
            .iter()
            .map(|u| format!("{label}/{} (write)", u.name))
            .chain(
                plan.deletes
                    .iter()
                    .map(|d| format!("{label}/{} (delete)", d.name)),
            )
            .collect();
        let mut entry = before.unwrap_or_else(|| TargetSyncStatus {
            target: label.clone(),
            ..TargetSyncStatus::default()
        });
        entry.drifted.clone_from(&plan.drifted);
        if !self.observe_only {
            if !plan.is_noop() {
                // Writes first: a failed delete leaves a variable too many, never one too few.
                client.upsert(target.service(), &plan.upserts).await?;
                client.delete(target.service(), &plan.deletes).await?;
                tracing::info!(target = %label, written = plan.upserts.len(), deleted = plan.deletes.len(), "variables synced");
            }
            // Stamped only when something was written: a status that changes on every pass
            // would re-trigger the controller on its own write, forever.
            if !plan.is_noop() || entry.last_sync_time.is_none() {
                entry.last_sync_time = Some(chrono::Utc::now().to_rfc3339());
            }
            entry.hash = Some(plan.hash);
            entry.owned = plan.owned;
            pending.clear();
        }
        status.targets.retain(|t| t.target != label);
        // A target that is neither declared nor holding owned variables is forgotten.
        if !want.is_empty() || !entry.owned.is_empty() {
            status.targets.push(entry);
            status.targets.sort_by(|a, b| a.target.cmp(&b.target));
        }
        Ok(TargetReport {
            unmanaged: plan.unmanaged,
            pending,
        })
    }
}

/// Every target a pass visits: the declared ones, and those synced before but no longer
/// declared (their owned variables are removed).
pub(crate) fn visited(
    desired: &BTreeMap<Target, Vec<providers::variables::DesiredVariable>>,
    status: &EnvironmentStatus,
) -> BTreeSet<Target> {
    let mut targets: BTreeSet<Target> = desired.keys().cloned().collect();
    targets.extend(
        status
            .targets
            .iter()
            .filter_map(|t| Target::parse(&t.target)),
    );
    targets
}

/// One target as listed and planned.
pub(crate) struct Observed<'a> {
    /// The client that listed it (and writes the plan).
    pub client: &'a dyn providers::variables::Variables,
    /// What the platform holds.
    pub remote: Vec<providers::variables::RemoteVariable>,
    pub plan: sync_plan::TargetPlan,
}

/// Observe (one list call) and plan (pure) one target, against what its last sync recorded.
/// The reconciler applies the plan; `berth plan` only prints it.
pub(crate) async fn observe_target<'a>(
    connections: &'a Connections,
    target: &Target,
    want: &[providers::variables::DesiredVariable],
    before: Option<&TargetSyncStatus>,
    policy: crate::api::environment::DriftPolicy,
) -> Result<Observed<'a>, Failure> {
    let (client, key) = connections.variables(target).map_err(Failure::Spec)?;
    let previous = sync_plan::Previous {
        hash: before.and_then(|b| b.hash.as_deref()),
        owned: before.map_or(&[][..], |b| b.owned.as_slice()),
    };
    let remote = client.list(target.service()).await?;
    let plan = sync_plan::plan(want, &remote, previous, policy, key, OWNER_MARKER);
    Ok(Observed {
        client,
        remote,
        plan,
    })
}

struct TargetReport {
    unmanaged: Vec<String>,
    /// Changes not made (observe-only).
    pending: Vec<String>,
}

pub(crate) enum Failure {
    /// A target the bindings cannot reach (a Railway service without `providers.railway`).
    Spec(String),
    Provider(providers::Error),
}

impl From<providers::Error> for Failure {
    fn from(e: providers::Error) -> Self {
        Self::Provider(e)
    }
}

fn secret_refs(spec: &EnvironmentSpec) -> impl Iterator<Item = &crate::api::common::SecretKeyRef> {
    let p = &spec.providers;
    let dns = p.dns.as_ref();
    p.railway
        .as_ref()
        .map(|r| &r.token_secret_ref)
        .into_iter()
        .chain(p.vercel.as_ref().map(|v| &v.token_secret_ref))
        .chain(p.supabase.as_ref().map(|s| &s.token_secret_ref))
        .chain(
            dns.and_then(|d| d.powerdns.as_ref())
                .map(|d| &d.api_key_secret_ref),
        )
        .chain(
            dns.and_then(|d| d.cloudflare.as_ref())
                .map(|d| &d.token_secret_ref),
        )
        .chain(
            spec.variables
                .iter()
                .filter_map(|v| v.value_from.as_ref()?.secret_key_ref.as_ref()),
        )
}

/// Dependency watches: Secrets and ConfigMaps the environment reads.
pub(super) fn wire(c: Controller<Environment>, ctx: &Context) -> Controller<Environment> {
    let c = deps::watch_refs(c, deps::secrets(ctx), |env: &Environment, name| {
        secret_refs(&env.spec).any(|r| r.name == name)
    });
    deps::watch_refs(c, deps::config_maps(ctx), |env: &Environment, name| {
        env.spec.variables.iter().any(|v| {
            v.value_from
                .as_ref()
                .and_then(|f| f.config_map_key_ref.as_ref())
                .is_some_and(|r| r.name == name)
        })
    })
}
