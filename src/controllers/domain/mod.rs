//! Domain reconciler: attach the hostname at its platform, keep the records it needs in the
//! zone's DNS provider, and watch the platform verify it and the name servers serve it.
//!
//! ```text
//! resolve Environment, Deployment, Secrets ──► platform: read, attach if missing
//!        (missing → Blocked)                        │ required records (or spec.target.records)
//!                                                   ▼
//!   zone snapshot (shared) ──► plan (pure, plan.rs) ──► edits ──► zone write turn (zone.rs,
//!                                │ conflicts → Stalled            one batch for many Domains)
//!                                ▼
//!   verify at the platform, query the name servers (checks.rs; both with backoff)
//! ```
//! Ownership, sharing and conflicts are explained in [`plan`]. `managementPolicy: Observe`
//! reads and plans, and reports what it would change; `suspend` never gets here.

mod checks;
pub mod plan;
pub mod zone;

use std::{net::SocketAddr, sync::Arc, sync::LazyLock, time::Duration};

use chrono::Utc;
use kube::{ResourceExt, runtime::Controller};

pub use self::{
    plan::{DesiredSet, Plan, ZoneState},
    zone::Zones,
};
use super::{
    Context, Error, Outcome, Reconciler, SyncResult, Verdict,
    conditions::reasons,
    connect::{Connections, Credentials},
    deps,
};
use crate::{
    api::{
        Deployment, Domain, Environment,
        common::{DeletionPolicy, ManagementPolicy},
        deployment::{DeploymentSpec, ServiceRef},
        domain::{DomainSpec, DomainStatus, RecordSpec},
        environment::{DnsBinding, EnvironmentSpec},
    },
    providers::{
        custom_domains::{CustomDomains, PlatformDomain},
        dns::{DnsRecords, RecordType, fqdn},
    },
};

/// Condition reasons of this kind.
pub mod domain_reasons {
    /// A record berth does not own (or owns for another Domain) is in the way.
    pub const RECORD_CONFLICT: &str = "RecordConflict";
    /// The platform asks for a record outside the environment's zone.
    pub const RECORD_OUTSIDE_ZONE: &str = "RecordOutsideZone";
    /// `managementPolicy: Observe` and something would change.
    pub const OBSERVE_ONLY: &str = "ObserveOnly";
    /// The records are in place; the platform has not verified the domain yet.
    pub const VERIFICATION_PENDING: &str = "VerificationPending";
    /// The zone's name servers do not answer the records yet.
    pub const PROPAGATION_PENDING: &str = "PropagationPending";
}
use domain_reasons as r;

/// The zones this process writes to (one write queue per zone, shared by every reconcile).
static ZONES: LazyLock<Zones> = LazyLock::new(Zones::default);

impl Reconciler for Domain {
    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let status = obj.status.clone().unwrap_or_default();
        let (setup, connections) = match connect(&obj, &ctx).await? {
            Ok(found) => found,
            Err(verdict) => return Ok(Outcome::of(status, verdict)),
        };
        let Some(dns) = connections.dns() else {
            return Ok(Outcome::of(
                status,
                Verdict::blocked("waiting for the DNS provider's credentials".into()),
            ));
        };
        let platform = match &setup.target {
            Target::Records(_) => None,
            Target::Platform(service) => match connections.custom_domains(service) {
                Ok(p) => Some(p),
                Err(message) => {
                    return Ok(Outcome::of(
                        status,
                        Verdict::blocked(format!(
                            "waiting for Environment {}: {message}",
                            obj.spec.environment_ref.name
                        )),
                    ));
                }
            },
        };
        let owner = owner(&obj);
        let input = setup.input(&obj, &owner);
        Ok(converge(&input, dns, platform, &ZONES, status).await)
    }

    async fn cleanup(obj: Arc<Self>, ctx: Arc<Context>) -> Result<(), Error> {
        let spec = &obj.spec;
        if spec.deletion_policy == DeletionPolicy::Orphan
            || spec.management_policy == ManagementPolicy::Observe
            || spec.suspend
        {
            return Ok(());
        }
        let (setup, connections) = match connect(&obj, &ctx).await? {
            Ok(found) => found,
            Err((verdict, _)) => {
                // Without the Environment or its credentials nothing can be reached; holding
                // the object forever would not bring them back.
                tracing::warn!(domain = %obj.name_any(), ?verdict, "cannot clean up: providers unreachable; records and platform domain left as they are");
                return Ok(());
            }
        };
        if let Target::Platform(service) = &setup.target
            && let Ok((platform, id)) = connections.custom_domains(service)
        {
            platform.detach(id, &spec.hostname).await?;
        }
        if let Some(dns) = connections.dns() {
            let previous = obj
                .status
                .as_ref()
                .map_or(&[][..], |s| s.records.as_slice());
            let owner = owner(&obj);
            release_all(&setup.input(&obj, &owner), dns, previous).await?;
        }
        Ok(())
    }
}

/// What the hostname points at.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Explicit records at the hostname.
    Records(Vec<RecordSpec>),
    /// A service at its platform (Railway service, Vercel project).
    Platform(ServiceRef),
}

/// What a Domain resolved to before any provider call (pure, see [`setup`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Setup {
    pub zone: String,
    /// Identifies the DNS provider instance and zone, so that Domains of any Environment
    /// writing to one zone share its write queue.
    pub zone_key: String,
    pub nameservers: Vec<String>,
    pub target: Target,
}

impl Setup {
    fn input<'a>(&'a self, obj: &'a Domain, owner: &'a str) -> Input<'a> {
        Input {
            owner,
            hostname: &obj.spec.hostname,
            zone: &self.zone,
            zone_key: &self.zone_key,
            ttl: u32::try_from(obj.spec.ttl).unwrap_or(300),
            records: match &self.target {
                Target::Records(r) => Some(r.as_slice()),
                Target::Platform(_) => None,
            },
            nameservers: &self.nameservers,
            observe_only: obj.spec.management_policy == ManagementPolicy::Observe,
        }
    }
}

/// The owner id written on record sets: `namespace/name`.
#[must_use]
pub fn owner(obj: &Domain) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// The zone, its provider instance and the target, or why the Domain cannot proceed (pure).
pub fn setup(
    spec: &DomainSpec,
    env: &EnvironmentSpec,
    deployment: Option<&DeploymentSpec>,
) -> Result<Setup, (Verdict, SyncResult)> {
    let Some(dns) = env.providers.dns.as_ref() else {
        return Err(Verdict::blocked(format!(
            "waiting for Environment {} to bind spec.providers.dns",
            spec.environment_ref.name
        )));
    };
    if !plan::in_zone(&spec.hostname, &dns.zone) {
        return Err(Verdict::stalled(
            reasons::INVALID_SPEC,
            format!(
                "spec.hostname {} is outside zone {} of Environment {}",
                spec.hostname, dns.zone, spec.environment_ref.name
            ),
        ));
    }
    let t = &spec.target;
    let target = match (&t.records, &t.deployment_ref, deployment) {
        (Some(records), _, _) => Target::Records(records.clone()),
        (None, Some(_), Some(d)) => Target::Platform(d.service.clone()),
        (None, Some(r), None) => {
            return Err(Verdict::blocked(format!(
                "waiting for Deployment {}",
                r.name
            )));
        }
        (None, None, _) => Target::Platform(ServiceRef {
            railway: t.railway.clone(),
            vercel: t.vercel.clone(),
        }),
    };
    if let Target::Platform(service) = &target {
        let (bound, field) = match (&service.railway, &service.vercel) {
            (Some(_), _) => (env.providers.railway.is_some(), "railway"),
            (None, Some(_)) => (env.providers.vercel.is_some(), "vercel"),
            (None, None) => {
                return Err(Verdict::stalled(
                    reasons::INVALID_SPEC,
                    "spec.target names no platform and no records".into(),
                ));
            }
        };
        if !bound {
            return Err(Verdict::blocked(format!(
                "waiting for Environment {} to bind spec.providers.{field} (spec.target needs it)",
                spec.environment_ref.name
            )));
        }
    }
    Ok(Setup {
        zone: dns.zone.clone(),
        zone_key: zone_key(dns),
        nameservers: dns.nameservers.clone(),
        target,
    })
}

fn zone_key(dns: &DnsBinding) -> String {
    match (&dns.powerdns, &dns.cloudflare) {
        (Some(p), _) => format!("powerdns {} {} {}", p.url, p.server_id, fqdn(&dns.zone)),
        (None, Some(c)) => format!(
            "cloudflare {} {}",
            c.endpoint.as_deref().unwrap_or_default(),
            fqdn(&dns.zone)
        ),
        (None, None) => fqdn(&dns.zone),
    }
}

/// Reads the Environment, the Deployment and the credentials, and connects; `Err` is the
/// verdict when something is missing.
async fn connect(
    obj: &Domain,
    ctx: &Context,
) -> Result<Result<(Setup, Connections), (Verdict, SyncResult)>, Error> {
    let spec = &obj.spec;
    let mut deps = ctx.dependencies(obj);
    let env = deps
        .object::<Environment>(&spec.environment_ref.name)
        .await?;
    let deployment = match &spec.target.deployment_ref {
        Some(d) => deps.object::<Deployment>(&d.name).await?,
        None => None,
    };
    let credentials = match &env {
        Some(env) => Credentials::resolve(&env.spec.providers, &mut deps).await?,
        None => Credentials::default(),
    };
    let missing = deps.missing();
    let Some(env) = env.filter(|_| missing.is_empty()) else {
        return Ok(Err(Verdict::blocked(deps::waiting_for(&missing))));
    };
    let setup = match setup(spec, &env.spec, deployment.as_ref().map(|d| &d.spec)) {
        Ok(s) => s,
        Err(verdict) => return Ok(Err(verdict)),
    };
    match Connections::new(&ctx.providers, &env.spec.providers, &credentials) {
        Ok(c) => Ok(Ok((setup, c))),
        Err(e) => Ok(Err(Verdict::provider_failed(&e))),
    }
}

/// Everything [`converge`] needs to know about one Domain.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// `namespace/name`, written on the record sets.
    pub owner: &'a str,
    pub hostname: &'a str,
    pub zone: &'a str,
    pub zone_key: &'a str,
    pub ttl: u32,
    /// Explicit records; `None` for a platform target.
    pub records: Option<&'a [RecordSpec]>,
    /// Name servers to query (`ip:port` or host names); empty: the zone's NS records.
    pub nameservers: &'a [String],
    pub observe_only: bool,
}

/// One Domain, observe → plan → act: the reconcile without Kubernetes, so that benchmarks
/// and `berth plan` can drive it. `platform` is the custom-domains client and the service's
/// id there (`None` for explicit records).
pub async fn converge(
    input: &Input<'_>,
    dns: &dyn DnsRecords,
    platform: Option<(&dyn CustomDomains, &str)>,
    zones: &Zones,
    mut status: DomainStatus,
) -> Outcome<DomainStatus> {
    let now = Utc::now();

    // Observe the platform (attaching is the one write before the plan).
    let mut attached = None;
    if let Some((client, service)) = platform {
        let found = match client.domain(service, input.hostname).await {
            Ok(found) => found,
            Err(e) => return Outcome::provider_failed(status, &e),
        };
        attached = match (found, input.observe_only) {
            (Some(d), _) => Some(d),
            (None, true) => None,
            (None, false) => match client.attach(service, input.hostname).await {
                Ok(d) => Some(d),
                Err(e) => return Outcome::provider_failed(status, &e),
            },
        };
        status.platform_domain_id = attached.as_ref().and_then(|d| d.id.clone());
    }
    let desired = match (input.records, &attached) {
        (Some(records), _) => plan::explicit(input.hostname, records),
        (None, Some(d)) => plan::from_platform(&d.required_records, &status.records),
        (None, None) => Vec::new(),
    };

    // Plan against the zone; write (one batch with other Domains); plan again for status.
    let snapshot = match zones.snapshot(input.zone_key, dns, input.zone).await {
        Ok(s) => s,
        Err(e) => return Outcome::provider_failed(status, &e),
    };
    let wanted = plan::Wanted {
        owner: input.owner,
        zone: input.zone,
        ttl: input.ttl,
        desired: &desired,
        previous: &status.records,
    };
    let mut planned = plan::plan(wanted, &snapshot);
    let mut zone_now = snapshot;
    if !input.observe_only && !planned.is_noop() {
        match zones
            .submit(input.zone_key, dns, input.zone, planned.edits.clone())
            .await
        {
            Ok(written) => {
                planned = plan::plan(wanted, &written);
                zone_now = written;
            }
            Err(e) => return Outcome::provider_failed(status, &e),
        }
    }
    status.records.clone_from(&planned.records);

    // Verification at the platform, polled with backoff.
    if let (Some((client, service)), Some(mut domain)) = (platform, attached.clone()) {
        if !domain.verified && !input.observe_only && checks::due(status.verification.as_ref(), now)
        {
            domain = match client.verify(service, input.hostname).await {
                Ok(d) => d,
                Err(e) => return Outcome::provider_failed(status, &e),
            };
        }
        status.verification = Some(verification(
            &domain,
            status.verification.as_ref(),
            now,
            platform_name(client),
        ));
    }

    // Propagation: do the zone's name servers answer what was written?
    let written: Vec<&DesiredSet> = desired
        .iter()
        .filter(|d| {
            planned.records.iter().any(|r| {
                r.name == d.name
                    && r.record_type == d.rtype.as_str()
                    && r.state == plan::states::PRESENT
            })
        })
        .collect();
    if !written.is_empty() && planned.is_noop() {
        let due = status
            .propagation
            .as_ref()
            .is_none_or(|p| p.state == checks::TRUE || checks::due(Some(p), now));
        if due {
            let servers = nameservers(input.nameservers, &zone_now, input.zone).await;
            status.propagation = Some(if servers.is_empty() {
                checks::failed(
                    status.propagation.as_ref(),
                    "no name server to ask: set spec.providers.dns.nameservers of the Environment"
                        .into(),
                    now,
                )
            } else {
                match checks::propagation(&servers, &written).await {
                    Ok(None) => checks::passed(
                        status.propagation.as_ref(),
                        Some(format!(
                            "answered by {}",
                            servers
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                        now,
                    ),
                    Ok(Some(mismatch)) => {
                        checks::failed(status.propagation.as_ref(), mismatch, now)
                    }
                    Err(e) => checks::failed(
                        status.propagation.as_ref(),
                        super::runtime::error_chain(&e),
                        now,
                    ),
                }
            });
        }
    }

    let (verdict, requeue) = verdict(input, &planned, attached.as_ref(), &status);
    Outcome {
        requeue,
        ..Outcome::of(status, (verdict, SyncResult::Succeeded))
    }
}

fn platform_name(client: &dyn CustomDomains) -> &'static str {
    client.provider()
}

fn verification(
    domain: &PlatformDomain,
    last: Option<&crate::api::domain::CheckState>,
    now: chrono::DateTime<Utc>,
    provider: &str,
) -> crate::api::domain::CheckState {
    if domain.verified {
        checks::passed(last, Some(format!("verified by {provider}")), now)
    } else if last.is_some_and(|l| l.state == checks::PENDING && !checks::due(Some(l), now)) {
        // Not checked this time: keep the schedule.
        last.cloned().unwrap_or_default()
    } else {
        checks::failed(
            last,
            format!("{provider} has not verified {} yet", domain.hostname),
            now,
        )
    }
}

/// The verdict and when to look again.
fn verdict(
    input: &Input<'_>,
    planned: &Plan,
    attached: Option<&PlatformDomain>,
    status: &DomainStatus,
) -> (Verdict, Option<Duration>) {
    let now = Utc::now();
    if !planned.outside_zone.is_empty() {
        return (
            Verdict::Stalled {
                reason: r::RECORD_OUTSIDE_ZONE,
                message: format!(
                    "the platform asks for records outside zone {}: {}",
                    input.zone,
                    planned.outside_zone.join(", ")
                ),
            },
            None,
        );
    }
    if !planned.conflicts.is_empty() {
        return (
            Verdict::Stalled {
                reason: r::RECORD_CONFLICT,
                message: format!(
                    "records in the way, left alone: {}",
                    planned.conflicts.join("; ")
                ),
            },
            None,
        );
    }
    if input.observe_only {
        let mut would: Vec<String> = planned
            .edits
            .iter()
            .map(|e| format!("{} {}", e.name, e.rtype))
            .collect();
        if input.records.is_none() && attached.is_none() {
            would.insert(0, format!("attach {}", input.hostname));
        }
        if !would.is_empty() {
            return (
                Verdict::Stalled {
                    reason: r::OBSERVE_ONLY,
                    message: format!(
                        "managementPolicy is Observe: would change {}; berth changed nothing",
                        would.join(", ")
                    ),
                },
                None,
            );
        }
    }
    let pending = |c: Option<&crate::api::domain::CheckState>| {
        c.filter(|c| c.state != checks::TRUE).map(|c| {
            (
                c.message.clone().unwrap_or_default(),
                checks::until_due(c, now)
                    .unwrap_or(checks::FIRST_WAIT)
                    .max(Duration::from_secs(1)),
            )
        })
    };
    if attached.is_some()
        && let Some((message, wait)) = pending(status.verification.as_ref())
    {
        return (
            Verdict::Progressing {
                reason: r::VERIFICATION_PENDING,
                message,
            },
            Some(wait),
        );
    }
    if let Some((message, wait)) = pending(status.propagation.as_ref()) {
        return (
            Verdict::Progressing {
                reason: r::PROPAGATION_PENDING,
                message,
            },
            Some(wait),
        );
    }
    let target = attached.map_or_else(
        || "explicit records".to_owned(),
        |_| "its platform".to_owned(),
    );
    (
        Verdict::Ready {
            message: format!(
                "{} points at {target}: {} record set(s) served",
                input.hostname,
                status.records.len()
            ),
        },
        None,
    )
}

/// The name servers to ask: the binding's, else the zone's NS records (port 53).
async fn nameservers(configured: &[String], zone: &ZoneState, apex: &str) -> Vec<SocketAddr> {
    let names: Vec<String> = if configured.is_empty() {
        zone.get(apex, &RecordType::Ns)
            .map(|ns| {
                ns.records
                    .iter()
                    .map(|n| format!("{}:53", n.trim_end_matches('.')))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        configured
            .iter()
            .map(|n| {
                if n.parse::<SocketAddr>().is_ok()
                    || n.rsplit_once(':')
                        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    n.clone()
                } else {
                    format!("{n}:53")
                }
            })
            .collect()
    };
    let mut out = Vec::new();
    for name in names {
        match tokio::net::lookup_host(name.as_str()).await {
            Ok(addrs) => out.extend(addrs.take(1)),
            Err(e) => tracing::debug!(server = %name, error = %e, "cannot resolve a name server"),
        }
    }
    out
}

/// Removes this Domain from every set it owns in the zone (cleanup): one batch, written
/// directly rather than queued, so a failure reaches the finalizer as an error.
async fn release_all(
    input: &Input<'_>,
    dns: &dyn DnsRecords,
    previous: &[crate::api::domain::RecordStatus],
) -> Result<(), Error> {
    let before = ZoneState::new(dns.list_records(input.zone).await?);
    let wanted = plan::Wanted {
        owner: input.owner,
        zone: input.zone,
        ttl: input.ttl,
        desired: &[],
        previous,
    };
    let planned = plan::plan(wanted, &before);
    let mut after = before.clone();
    for edit in &planned.edits {
        // Releases never conflict.
        let _ = after.apply(edit);
    }
    let changes = after.changes_since(&before);
    dns.apply(input.zone, &changes).await?;
    tracing::info!(
        owner = input.owner,
        changes = changes.len(),
        "released owned record sets"
    );
    Ok(())
}

/// Dependency watches: the Environment and the target Deployment.
pub(super) fn wire(c: Controller<Domain>, ctx: &Context) -> Controller<Domain> {
    let c = deps::watch_refs(c, ctx.watch_api::<Environment>(), |d: &Domain, env| {
        d.spec.environment_ref.name == env
    });
    deps::watch_refs(c, ctx.watch_api::<Deployment>(), |d: &Domain, dep| {
        d.spec
            .target
            .deployment_ref
            .as_ref()
            .is_some_and(|r| r.name == dep)
    })
}

#[cfg(test)]
mod tests;
