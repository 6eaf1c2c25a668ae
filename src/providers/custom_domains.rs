//! The custom-domains capability: attaching a hostname to a service at its platform and
//! reading what the platform needs in DNS before it serves it.

use super::{Result, dns::RecordType};

/// A DNS record the platform asks for (to route traffic or to prove ownership).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequiredRecord {
    /// Absolute name, trailing dot (see [`super::dns::fqdn`]).
    pub name: String,
    pub rtype: RecordType,
    /// As a person would write it (see the conventions in [`super::dns`]).
    pub value: String,
    /// Whether the record proves ownership (TXT) rather than routes traffic.
    pub verification: bool,
}

/// The platform's certificate for the hostname, in neutral words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformCertificate {
    /// Not requested yet (usually: waiting for DNS).
    None,
    Pending,
    Issued,
    Failed(String),
}

/// A hostname attached to a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformDomain {
    /// The platform's id, when it has one.
    pub id: Option<String>,
    /// Lower-case, no trailing dot.
    pub hostname: String,
    /// Whether the platform considers the hostname verified and routed.
    pub verified: bool,
    /// What the platform wants in DNS; empty once nothing more is needed.
    pub required_records: Vec<RequiredRecord>,
    pub certificate: PlatformCertificate,
}

/// Attaching, reading, verifying and detaching custom domains.
#[async_trait::async_trait]
pub trait CustomDomains: Send + Sync {
    /// The provider's display name.
    fn provider(&self) -> &'static str;

    /// Attaches `hostname` to `service`; already attached to it is success (the existing
    /// domain is returned). Attached to another service is
    /// [`crate::providers::Error::Conflict`].
    async fn attach(&self, service: &str, hostname: &str) -> Result<PlatformDomain>;

    /// The domain if `hostname` is attached to `service`.
    async fn domain(&self, service: &str, hostname: &str) -> Result<Option<PlatformDomain>>;

    /// Asks the platform to check the DNS records now (where it has such a call) and
    /// returns what it found.
    async fn verify(&self, service: &str, hostname: &str) -> Result<PlatformDomain>;

    /// Detaches `hostname`; returns whether it was attached.
    async fn detach(&self, service: &str, hostname: &str) -> Result<bool>;
}
