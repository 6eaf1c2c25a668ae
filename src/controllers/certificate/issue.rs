//! The ACME side of a reconcile: read the pair in the Secret, [`plan`](super::plan) the next
//! step, and act on it — hold, wait out a failure, or move the order forward with
//! [`acme::Issuer`] — then write the new pair (whole), clean up the challenge records and
//! record the outcome in status.

use std::{net::SocketAddr, time::Duration};

use chrono::{DateTime, Utc};
use kube::{ResourceExt, runtime::events::EventType};

use super::{
    Done, ORDER_POLL,
    acme::{self, AcmeError, Progress, Stash, StashError},
    plan::{self, Issuance, Step},
    secrets::{Secrets, Stored},
    x509::{self, CertInfo},
};
use crate::{
    api::{
        Certificate, Environment,
        certificate::{AcmeIssuer, CertificateStatus, PrivateKey},
    },
    controllers::{
        Context, Error, conditions::reasons, connect::Connections, runtime::error_chain, status,
    },
};

/// How long one reconcile may wait on the CA before it hands the order to the next one.
const ORDER_BUDGET: Duration = Duration::from_secs(5);

/// One ACME reconcile.
pub(super) struct Acme<'a> {
    pub ctx: &'a Context,
    pub obj: &'a Certificate,
    pub acme: &'a AcmeIssuer,
    pub env: &'a Environment,
    pub connections: &'a Connections,
    pub ca_bundle: Option<&'a str>,
}

impl Acme<'_> {
    pub async fn run(
        &self,
        mut status: CertificateStatus,
        now: DateTime<Utc>,
    ) -> Result<Done, Error> {
        let spec = &self.obj.spec;
        let Some(binding) = self.env.spec.providers.dns.as_ref() else {
            return Ok(Done::stalled(
                status,
                reasons::INVALID_SPEC,
                format!(
                    "Environment {} has no spec.providers.dns: DNS-01 needs the zone's DNS provider",
                    self.env.name_any()
                ),
            ));
        };
        let zone = binding.zone.as_str();
        if let Err(message) = plan::validate(spec, zone) {
            return Ok(Done::stalled(status, reasons::INVALID_SPEC, message));
        }
        let Some(secret_name) = spec.secret_name.as_deref() else {
            return Ok(Done::stalled(
                status,
                reasons::INVALID_SPEC,
                "spec.secretName is required with an acme issuer".into(),
            ));
        };
        let secrets = Secrets::new(self.ctx.client.clone(), self.obj);
        let read = |what: &str| {
            let what = format!("Secret {}/{what}", self.obj.namespace().unwrap_or_default());
            move |source| Error::Read { what, source }
        };
        let mut current = match secrets.tls(secret_name).await.map_err(read(secret_name))? {
            Stored::Foreign => {
                return Ok(Done::stalled(
                    status,
                    "SecretNotOwned",
                    format!(
                        "Secret {secret_name} exists and was not written by berth for this Certificate; berth will not overwrite it"
                    ),
                ));
            }
            Stored::Absent => None,
            Stored::Ours(pair) => pair,
        };

        // Plan (pure).
        let planned = plan::plan(&plan::Input {
            spec,
            pending_order: status.pending_order_url.as_deref(),
            last_failure: status.last_failure.as_ref(),
            current: current.as_ref(),
            now,
        });
        let mut events = Vec::new();
        let mut requeue = planned.wake;
        let (issuance, need) = match planned.step {
            Step::Hold => (Issuance::Idle, None),
            Step::Backoff { need, .. } => (
                Issuance::Failed(
                    status
                        .last_failure
                        .as_ref()
                        .map(|f| {
                            format!(
                                "{} (attempt {}; next try after the backoff)",
                                f.message, f.attempts
                            )
                        })
                        .unwrap_or_default(),
                ),
                Some(need),
            ),
            // A new order and one resumed from status go the same way; only a new one says
            // why it was needed.
            step @ (Step::Order(_) | Step::Resume(_)) => (
                self.order(
                    &secrets,
                    &mut status,
                    secret_name,
                    zone,
                    &mut current,
                    &mut events,
                    now,
                )
                .await?,
                match step {
                    Step::Order(need) => Some(need),
                    _ => None,
                },
            ),
        };
        match &issuance {
            Issuance::InProgress(_) => requeue = Some(ORDER_POLL),
            Issuance::Issued => requeue = None,
            Issuance::Failed(_) => {
                requeue = status
                    .last_failure
                    .as_ref()
                    .and_then(plan::retry_at)
                    .and_then(|t| (t - now).to_std().ok());
            }
            Issuance::Interrupted(_) | Issuance::Idle => {}
        }

        // Status (pure): what the Secret now holds.
        let renewal = current
            .as_ref()
            .map(|c| plan::renewal_time(c, spec.renew_before.as_deref()));
        if matches!(issuance, Issuance::Issued) {
            requeue = renewal.and_then(|r| (r - now).to_std().ok());
        }
        status.not_before = current.as_ref().map(|c| c.not_before.to_rfc3339());
        status.not_after = current.as_ref().map(|c| c.not_after.to_rfc3339());
        status.serial_number = current.as_ref().map(|c| c.serial.clone());
        status.issuer = current.as_ref().map(|c| c.issuer.clone());
        status.renewal_time = renewal.map(|r| r.to_rfc3339());
        let verdict = plan::acme_verdict(current.as_ref(), spec, &issuance, renewal, now);
        let mut done = Done::new(status, verdict);
        done.conditions
            .push(plan::issuing_condition(&issuance, need));
        done.check_endpoint = !matches!(issuance, Issuance::InProgress(_));
        done.expected = current;
        // Past the regular resync the runtime looks again anyway.
        done.requeue = requeue.filter(|r| *r < self.ctx.resync);
        done.events = events;
        Ok(done)
    }

    /// Moves the order forward and applies its outcome to the Secret and status.
    #[allow(clippy::too_many_arguments)]
    async fn order(
        &self,
        secrets: &Secrets,
        status: &mut CertificateStatus,
        secret_name: &str,
        zone: &str,
        current: &mut Option<CertInfo>,
        events: &mut Vec<(EventType, &'static str, String)>,
        now: DateTime<Utc>,
    ) -> Result<Issuance, Error> {
        let Some(dns) = self.connections.dns() else {
            return Ok(Issuance::Interrupted(format!(
                "Environment {} has no usable DNS provider binding",
                self.env.name_any()
            )));
        };
        let client = match self.account(secrets).await {
            Ok(c) => c,
            Err(AcmeError::Problem(p)) => {
                let message = format!(
                    "the ACME server refused the account: {}",
                    acme::describe(&p)
                );
                status.last_failure = Some(plan::failed(
                    status.last_failure.as_ref(),
                    message.clone(),
                    now,
                ));
                return Ok(Issuance::Failed(message));
            }
            Err(e) => return Ok(Issuance::Interrupted(error_chain(&e))),
        };
        let nameservers = self.nameservers().await;
        let issuer = acme::Issuer {
            client: &client,
            dns,
            zone,
            nameservers: &nameservers,
            names: &self.obj.spec.dns_names,
            key: &self.obj.spec.private_key,
            budget: ORDER_BUDGET,
        };
        let stash = OrderStash {
            ctx: self.ctx,
            obj: self.obj,
            status: status.clone(),
            secrets,
        };
        let progress = issuer
            .advance(status.pending_order_url.as_deref(), &stash)
            .await;
        let ended = |problem: String, status: &mut CertificateStatus| {
            status.pending_order_url = None;
            status.last_failure = Some(plan::failed(
                status.last_failure.as_ref(),
                problem.clone(),
                now,
            ));
            Issuance::Failed(problem)
        };
        let issuance = match progress {
            Ok(Progress::Pending { url, detail }) => {
                status.pending_order_url = Some(url);
                return Ok(Issuance::InProgress(detail));
            }
            Ok(Progress::Issued { chain_pem, key_pem }) => {
                match x509::leaf_of_pem(&chain_pem) {
                    Ok(leaf) if x509::key_matches(&leaf, &key_pem) => {
                        secrets
                            .write_tls(secret_name, &chain_pem, &key_pem)
                            .await
                            .map_err(|source| Error::Read {
                                what: format!("Secret {secret_name} (write)"),
                                source,
                            })?;
                        events.push((
                            EventType::Normal,
                            "Issued",
                            format!(
                                "certificate {} from {} written to Secret {secret_name}, valid until {}",
                                leaf.serial,
                                leaf.issuer,
                                leaf.not_after.to_rfc3339()
                            ),
                        ));
                        tracing::info!(certificate = %self.obj.name_any(), serial = %leaf.serial, "issued");
                        *current = Some(leaf);
                        status.pending_order_url = None;
                        status.last_failure = None;
                        Issuance::Issued
                    }
                    // The key of a finalization whose reconcile was lost: order afresh.
                    _ => ended(
                        "the issued certificate does not match the stored private key".into(),
                        status,
                    ),
                }
            }
            Ok(Progress::Failed { problem }) => {
                events.push((EventType::Warning, "OrderFailed", problem.clone()));
                ended(problem, status)
            }
            Err(AcmeError::Problem(p)) => {
                let problem = acme::describe(&p);
                events.push((EventType::Warning, "OrderFailed", problem.clone()));
                ended(problem, status)
            }
            Err(e) => return Ok(Issuance::Interrupted(error_chain(&e))),
        };
        // The order ended either way: its key and its challenge records go.
        if let Err(e) = secrets.drop_next_key().await {
            tracing::warn!(error = %e, "failed to delete the next-key Secret");
        }
        match acme::clean_up(dns, zone, &self.obj.spec.dns_names).await {
            Ok(n) => tracing::debug!(removed = n, "challenge records removed"),
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "failed to remove challenge records")
            }
        }
        Ok(issuance)
    }

    /// The account on the server, created and stored on first use.
    async fn account(&self, secrets: &Secrets) -> Result<acme::Client, AcmeError> {
        let name = self
            .acme
            .account_key_secret_name
            .clone()
            .unwrap_or_else(|| format!("{}-acme-account", self.obj.name_any()));
        let stash = |source: kube::Error| AcmeError::Stash {
            what: "the ACME account",
            source: Box::new(source),
        };
        let stored = secrets
            .account(&name, &self.acme.server)
            .await
            .map_err(stash)?;
        let (client, created) = acme::Client::connect(
            &self.acme.server,
            &self.acme.email,
            self.ca_bundle,
            stored.as_deref(),
        )
        .await?;
        let Some(created) = created else {
            return Ok(client);
        };
        let kept = secrets
            .store_account(&name, &self.acme.server, &created)
            .await
            .map_err(stash)?;
        if kept == created {
            return Ok(client);
        }
        // Another Certificate stored its account first: use that one.
        acme::Client::connect(
            &self.acme.server,
            &self.acme.email,
            self.ca_bundle,
            Some(&kept),
        )
        .await
        .map(|(c, _)| c)
    }

    /// The environment's name servers, for the propagation check (unresolvable ones skipped).
    async fn nameservers(&self) -> Vec<SocketAddr> {
        let mut out = Vec::new();
        let names = self
            .env
            .spec
            .providers
            .dns
            .as_ref()
            .map(|d| d.nameservers.as_slice())
            .unwrap_or_default();
        for ns in names {
            let with_port = if ns.contains(':') {
                ns.clone()
            } else {
                format!("{ns}:53")
            };
            match tokio::net::lookup_host(&with_port).await {
                Ok(mut addrs) => out.extend(addrs.next()),
                Err(e) => {
                    tracing::warn!(nameserver = %ns, error = %e, "cannot resolve name server")
                }
            }
        }
        out
    }
}

/// Keeps the order's URL in status and its key in a Secret.
struct OrderStash<'a> {
    ctx: &'a Context,
    obj: &'a Certificate,
    status: CertificateStatus,
    secrets: &'a Secrets,
}

#[async_trait::async_trait]
impl Stash for OrderStash<'_> {
    async fn order_created(&self, url: &str) -> Result<(), StashError> {
        let mut next = self.status.clone();
        next.pending_order_url = Some(url.to_owned());
        status::write(self.ctx, self.obj, &next).await?;
        Ok(())
    }

    async fn next_key(&self, params: &PrivateKey) -> Result<String, StashError> {
        Ok(self.secrets.next_key(params).await?)
    }
}
