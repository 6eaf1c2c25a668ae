//! ACME (RFC 8555) with DNS-01 through the zone's DNS provider, as steps that resume from
//! status: each reconcile calls [`Issuer::advance`] with the pending order's URL (if any),
//! which moves the order as far as it can within a short budget and says where it stopped.
//!
//! ```text
//! new order ──► (URL stashed in status) ──► TXT records ──► propagated? ──► challenges ready
//!     ──► poll ready ──► next key (stashed in a Secret) ──► finalize ──► poll ──► chain
//! ```
//! Nothing here blocks for long: a validation or finalization that takes longer than the
//! budget returns [`Progress::Pending`] and the next reconcile picks it up by URL.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeStatus,
    ChallengeType, Identifier, NewAccount, NewOrder, Order, OrderStatus, Problem, RetryPolicy,
};

use super::x509;
use crate::{
    api::certificate::{KeyAlgorithm, PrivateKey},
    providers::{
        self,
        dns::{Change, DnsRecords, RecordSet, RecordType, fqdn, lookup::Lookup},
    },
};

/// The comment on challenge TXT records berth writes; cleanup removes only these.
pub const CHALLENGE_MARKER: &str = "managed-by: berth (acme challenge)";

/// TTL of challenge records: short, they live for seconds.
const CHALLENGE_TTL: u32 = 60;

/// Errors of the ACME steps.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The ACME server answered with a problem document.
    #[error("{}", describe(.0))]
    Problem(Problem),
    /// The ACME server could not be reached or answered in a way the client could not read.
    #[error("failed to talk to the ACME server {server}")]
    Transport {
        server: String,
        #[source]
        source: instant_acme::Error,
    },
    /// The CA bundle in `caBundleSecretRef` holds no usable certificate.
    #[error("spec.issuer.acme.caBundleSecretRef holds no usable PEM certificate")]
    CaBundle,
    /// The stored account credentials could not be read.
    #[error("failed to read the stored ACME account credentials")]
    Credentials(#[source] serde_json::Error),
    /// The server offered no DNS-01 challenge for a name.
    #[error("the ACME server offers no dns-01 challenge for {0}")]
    NoDns01(String),
    /// Writing or removing challenge records failed.
    #[error("failed to write challenge records")]
    Dns(#[source] providers::Error),
    /// Making the next private key or its CSR failed.
    #[error("failed to generate the private key or CSR")]
    Key(#[source] rcgen::Error),
    /// Storing the order URL or the next key in Kubernetes failed.
    #[error("failed to store {what}")]
    Stash {
        what: &'static str,
        #[source]
        source: StashError,
    },
}

impl AcmeError {
    fn transport(server: &str) -> impl FnOnce(instant_acme::Error) -> Self + '_ {
        move |source| match source {
            instant_acme::Error::Api(p) => Self::Problem(p),
            source => Self::Transport {
                server: server.to_owned(),
                source,
            },
        }
    }
}

/// A problem document in one line: type, detail and sub-problems.
#[must_use]
pub fn describe(p: &Problem) -> String {
    let mut out = p
        .r#type
        .clone()
        .unwrap_or_else(|| "ACME problem".to_owned());
    if let Some(detail) = &p.detail {
        out.push_str(": ");
        out.push_str(detail);
    }
    for sub in &p.subproblems {
        out.push_str("; ");
        out.push_str(&sub.to_string());
    }
    out
}

/// Where the order stands after [`Issuer::advance`].
#[derive(Debug)]
pub enum Progress {
    /// Still under way; look again soon.
    Pending { url: String, detail: String },
    /// Issued: the PEM chain (leaf first) and the PEM key it was issued for.
    Issued { chain_pem: String, key_pem: String },
    /// The order is invalid; `problem` is the server's word on why.
    Failed { problem: String },
}

/// Why the [`Stash`] could not keep something.
pub type StashError = Box<dyn std::error::Error + Send + Sync>;

/// What the steps need kept in Kubernetes between reconciles.
#[async_trait::async_trait]
pub trait Stash: Send + Sync {
    /// Records a new order's URL (before anything waits on it).
    async fn order_created(&self, url: &str) -> Result<(), StashError>;
    /// The private key (PEM) for the order's certificate, made and stored on first use so a
    /// finalization that outlives this reconcile can still be completed.
    async fn next_key(&self, params: &PrivateKey) -> Result<String, StashError>;
}

/// An ACME account on one server.
pub struct Client {
    pub account: Account,
    pub server: String,
}

impl Client {
    /// Restores the account from `stored` credentials (JSON) when they belong to `server`,
    /// otherwise creates one. Returns the new credentials to store when it created one.
    pub async fn connect(
        server: &str,
        email: &str,
        ca_bundle: Option<&str>,
        stored: Option<&str>,
    ) -> Result<(Self, Option<String>), AcmeError> {
        let builder = builder(ca_bundle, server)?;
        if let Some(json) = stored {
            let credentials: AccountCredentials =
                serde_json::from_str(json).map_err(AcmeError::Credentials)?;
            let account = builder
                .from_credentials(credentials)
                .await
                .map_err(AcmeError::transport(server))?;
            return Ok((
                Self {
                    account,
                    server: server.to_owned(),
                },
                None,
            ));
        }
        let contact = format!("mailto:{email}");
        let (account, credentials) = builder
            .create(
                &NewAccount {
                    contact: &[&contact],
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                server.to_owned(),
                None,
            )
            .await
            .map_err(AcmeError::transport(server))?;
        let json = serde_json::to_string(&credentials).map_err(AcmeError::Credentials)?;
        tracing::info!(server, account = account.id(), "created ACME account");
        Ok((
            Self {
                account,
                server: server.to_owned(),
            },
            Some(json),
        ))
    }
}

/// An account builder trusting `ca_bundle` only (a private or test CA), or the platform's
/// roots when there is none.
fn builder(ca_bundle: Option<&str>, server: &str) -> Result<AccountBuilder, AcmeError> {
    let Some(pem) = ca_bundle else {
        return Account::builder().map_err(AcmeError::transport(server));
    };
    let mut roots = rustls::RootCertStore::empty();
    for der in x509::chain_der(pem) {
        roots.add(der).map_err(|_| AcmeError::CaBundle)?;
    }
    if roots.is_empty() {
        return Err(AcmeError::CaBundle);
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|_| AcmeError::CaBundle)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, instant_acme::BodyWrapper<bytes::Bytes>>(connector);
    Ok(Account::builder_with_http(Box::new(client)))
}

/// One certificate's order, moved forward by [`Issuer::advance`].
pub struct Issuer<'a> {
    pub client: &'a Client,
    pub dns: &'a dyn DnsRecords,
    pub zone: &'a str,
    /// Name servers that must answer the challenge records before the CA is told to look.
    pub nameservers: &'a [SocketAddr],
    pub names: &'a [String],
    pub key: &'a PrivateKey,
    /// How long one call may wait on the CA.
    pub budget: Duration,
}

impl Issuer<'_> {
    /// Moves the order at `pending` (or a new one) as far as the budget allows.
    pub async fn advance(
        &self,
        pending: Option<&str>,
        stash: &dyn Stash,
    ) -> Result<Progress, AcmeError> {
        let server = self.client.server.as_str();
        let deadline = Instant::now() + self.budget;
        let mut order = match pending {
            Some(url) => self
                .client
                .account
                .order(url.to_owned())
                .await
                .map_err(AcmeError::transport(server))?,
            None => {
                let ids: Vec<Identifier> = self
                    .names
                    .iter()
                    .map(|n| Identifier::Dns(n.clone()))
                    .collect();
                let order = self
                    .client
                    .account
                    .new_order(&NewOrder::new(&ids))
                    .await
                    .map_err(AcmeError::transport(server))?;
                stash
                    .order_created(order.url())
                    .await
                    .map_err(|source| AcmeError::Stash {
                        what: "the pending order URL",
                        source,
                    })?;
                tracing::info!(order = order.url(), names = ?self.names, "created ACME order");
                order
            }
        };
        let url = order.url().to_owned();
        let pending = |detail: &str| Progress::Pending {
            url: url.clone(),
            detail: detail.to_owned(),
        };
        loop {
            let status = order.state().status;
            match status {
                OrderStatus::Pending => {
                    if let Some(wait) = self.answer_challenges(&mut order).await? {
                        return Ok(pending(&wait));
                    }
                    match order.poll_ready(&retries(deadline)).await {
                        Ok(OrderStatus::Invalid) => {}
                        Ok(_) => continue,
                        Err(instant_acme::Error::Timeout(_)) => {
                            return Ok(pending("the CA is validating the DNS-01 challenges"));
                        }
                        Err(e) => return Err(AcmeError::transport(server)(e)),
                    }
                }
                OrderStatus::Ready => {
                    let key = self.key(stash).await?;
                    let csr = csr(self.names, &key)?;
                    order
                        .finalize_csr(&csr)
                        .await
                        .map_err(AcmeError::transport(server))?;
                    continue;
                }
                OrderStatus::Processing => match order.poll_certificate(&retries(deadline)).await {
                    Ok(chain_pem) => {
                        let key_pem = self.key(stash).await?;
                        return Ok(Progress::Issued { chain_pem, key_pem });
                    }
                    Err(instant_acme::Error::Timeout(_)) => {
                        return Ok(pending("the CA is issuing the certificate"));
                    }
                    Err(e) => return Err(AcmeError::transport(server)(e)),
                },
                OrderStatus::Valid => {
                    let chain_pem = order
                        .certificate()
                        .await
                        .map_err(AcmeError::transport(server))?
                        .ok_or_else(|| {
                            AcmeError::transport(server)(instant_acme::Error::Str(
                                "no certificate in a valid order",
                            ))
                        })?;
                    let key_pem = self.key(stash).await?;
                    return Ok(Progress::Issued { chain_pem, key_pem });
                }
                OrderStatus::Invalid => {}
            }
            return Ok(Progress::Failed {
                problem: problem_of(&mut order).await,
            });
        }
    }

    async fn key(&self, stash: &dyn Stash) -> Result<String, AcmeError> {
        stash
            .next_key(self.key)
            .await
            .map_err(|source| AcmeError::Stash {
                what: "the next private key",
                source,
            })
    }

    /// Publishes every pending DNS-01 value (all values of one name in one TXT set, since a
    /// name and its wildcard share `_acme-challenge.<name>`), waits for the name servers to
    /// answer them, then tells the CA to look. Returns what it still waits for, if anything.
    async fn answer_challenges(&self, order: &mut Order) -> Result<Option<String>, AcmeError> {
        let server = self.client.server.as_str();
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(AcmeError::transport(server))?;
            if authz.status != AuthorizationStatus::Pending {
                continue;
            }
            let name = authz.identifier().to_string();
            let challenge = authz
                .challenge(ChallengeType::Dns01)
                .ok_or_else(|| AcmeError::NoDns01(name.clone()))?;
            values
                .entry(challenge_name(&name))
                .or_default()
                .push(challenge.key_authorization().dns_value());
        }
        if values.is_empty() {
            return Ok(None);
        }
        let changes: Vec<Change> = values
            .iter()
            .map(|(name, records)| {
                Change::Replace(RecordSet {
                    name: name.clone(),
                    rtype: RecordType::Txt,
                    ttl: CHALLENGE_TTL,
                    records: records.clone(),
                    comment: Some(CHALLENGE_MARKER.into()),
                })
            })
            .collect();
        self.dns
            .apply(self.zone, &changes)
            .await
            .map_err(AcmeError::Dns)?;
        if let Some(missing) = self.unpropagated(&values).await {
            return Ok(Some(format!(
                "waiting for the name servers to answer {missing}"
            )));
        }
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(AcmeError::transport(server))?;
            if authz.status != AuthorizationStatus::Pending {
                continue;
            }
            let name = authz.identifier().to_string();
            let mut challenge = authz
                .challenge(ChallengeType::Dns01)
                .ok_or_else(|| AcmeError::NoDns01(name.clone()))?;
            if challenge.status == ChallengeStatus::Pending {
                challenge
                    .set_ready()
                    .await
                    .map_err(AcmeError::transport(server))?;
            }
        }
        Ok(None)
    }

    /// The first challenge name a name server does not answer with every value yet.
    async fn unpropagated(&self, values: &BTreeMap<String, Vec<String>>) -> Option<String> {
        for server in self.nameservers {
            let Ok(lookup) = Lookup::new(*server) else {
                return Some(format!("(no resolver for {server})"));
            };
            for (name, want) in values {
                let have = lookup.txt(name).await.unwrap_or_default();
                if !want.iter().all(|w| have.contains(w)) {
                    return Some(format!("{name} at {server}"));
                }
            }
        }
        None
    }
}

/// Removes the challenge records berth wrote for `names` (only sets carrying its marker).
pub async fn clean_up(
    dns: &dyn DnsRecords,
    zone: &str,
    names: &[String],
) -> Result<usize, providers::Error> {
    let wanted: Vec<String> = names.iter().map(|n| fqdn(&challenge_name(n))).collect();
    let sets = dns.list_records(zone).await?;
    let changes: Vec<Change> = sets
        .into_iter()
        .filter(|s| {
            s.rtype == RecordType::Txt
                && s.comment.as_deref() == Some(CHALLENGE_MARKER)
                && wanted.contains(&fqdn(&s.name))
        })
        .map(|s| Change::Delete {
            name: s.name,
            rtype: RecordType::Txt,
        })
        .collect();
    dns.apply(zone, &changes).await?;
    Ok(changes.len())
}

/// `_acme-challenge.<name>`, the wildcard's `*.` dropped.
#[must_use]
pub fn challenge_name(name: &str) -> String {
    format!("_acme-challenge.{}", name.trim_start_matches("*."))
}

/// Polls until `deadline`, starting fast (Pebble validates in well under a second).
fn retries(deadline: Instant) -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(Duration::from_millis(100))
        .backoff(1.5)
        .timeout(deadline.saturating_duration_since(Instant::now()))
}

/// The order's problem, or the first failed challenge's.
async fn problem_of(order: &mut Order) -> String {
    if let Some(p) = &order.state().error {
        return describe(p);
    }
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authz)) = authorizations.next().await {
        let name = authz.identifier().to_string();
        if let Ok(state) = authz.refresh().await
            && let Some(p) = state.challenges.iter().find_map(|c| c.error.as_ref())
        {
            return format!("{name}: {}", describe(p));
        }
    }
    "the order became invalid and the CA gave no reason".into()
}

/// A new private key of the kind `params` asks for, as PEM.
pub fn generate_key(params: &PrivateKey) -> Result<String, rcgen::Error> {
    let key = match (params.algorithm, params.size) {
        (KeyAlgorithm::RSA, bits) => rcgen::KeyPair::generate_rsa_for(
            &rcgen::PKCS_RSA_SHA256,
            match bits {
                3072 => rcgen::RsaKeySize::_3072,
                4096 => rcgen::RsaKeySize::_4096,
                _ => rcgen::RsaKeySize::_2048,
            },
        )?,
        (KeyAlgorithm::ECDSA, 384) => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)?,
        (KeyAlgorithm::ECDSA, _) => rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
    };
    Ok(key.serialize_pem())
}

/// A CSR (DER) for `names` signed with `key_pem`.
fn csr(names: &[String], key_pem: &str) -> Result<Vec<u8>, AcmeError> {
    let key = rcgen::KeyPair::from_pem(key_pem).map_err(AcmeError::Key)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(AcmeError::Key)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params.serialize_request(&key).map_err(AcmeError::Key)?;
    Ok(csr.der().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: a name and its wildcard answer at the same challenge name.
    #[test]
    fn wildcard_shares_the_challenge_name() {
        assert_eq!(
            challenge_name("*.example.test"),
            "_acme-challenge.example.test"
        );
        assert_eq!(
            challenge_name("example.test"),
            "_acme-challenge.example.test"
        );
    }

    // Protects: the key kind in spec.privateKey is the kind of key generated.
    #[test]
    fn keys_follow_the_spec() {
        let p384 = PrivateKey {
            algorithm: KeyAlgorithm::ECDSA,
            size: 384,
        };
        let pem = generate_key(&p384).unwrap();
        let der = csr(&["a.example.test".into()], &pem).unwrap();
        assert!(!der.is_empty());
        let key = rcgen::KeyPair::from_pem(&pem).unwrap();
        assert!(key.is_compatible(&rcgen::PKCS_ECDSA_P384_SHA384));
    }

    // Protects: the condition message carries the problem's type and detail.
    #[test]
    fn problems_read_as_one_line() {
        let p: Problem = serde_json::from_value(serde_json::json!({
            "type": "urn:ietf:params:acme:error:unauthorized",
            "detail": "No TXT record found",
            "status": 403
        }))
        .unwrap();
        assert_eq!(
            describe(&p),
            "urn:ietf:params:acme:error:unauthorized: No TXT record found"
        );
    }
}
