//! The DNS-records capability: what the Domain and Certificate reconcilers need from a DNS
//! provider, free of any provider's wire format.
//!
//! Conventions every implementation keeps:
//! - Names are absolute; a trailing dot is optional on input and always present on output
//!   (see [`fqdn`]).
//! - Record values are what a person would write: addresses for A/AAAA, host names for
//!   CNAME/NS (trailing dot optional), the bare text for TXT (no quotes; the client quotes
//!   and escapes as its API needs), zone-file syntax for the rest.
//! - A record set's `comment` is berth's ownership marker; providers store it beside the set.

pub mod cloudflare;
pub mod lookup;
pub mod powerdns;
pub mod txt;

use super::Result;

pub use super::models::RecordType;

/// All records of one (name, type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSet {
    pub name: String,
    pub rtype: RecordType,
    pub ttl: u32,
    pub records: Vec<String>,
    /// berth's ownership marker, stored with the set.
    pub comment: Option<String>,
}

/// One change in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Make (name, type) hold exactly these records (and comment, when given; `None` leaves
    /// an existing comment as it is).
    Replace(RecordSet),
    /// Remove every record of (name, type); absent is fine.
    Delete { name: String, rtype: RecordType },
}

/// What [`DnsRecords::ensure_zone`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ensured {
    Created,
    Existed,
}

/// Reading and changing the records of a zone at a DNS provider.
#[async_trait::async_trait]
pub trait DnsRecords: Send + Sync {
    /// The provider's display name.
    fn provider(&self) -> &'static str;

    /// Makes sure `zone` exists; "already exists" is success.
    async fn ensure_zone(&self, zone: &str) -> Result<Ensured>;

    /// Every record set of `zone`; an unknown zone is [`crate::providers::Error::NotFound`].
    async fn list_records(&self, zone: &str) -> Result<Vec<RecordSet>>;

    /// Applies `changes` to `zone` in as few calls as the provider allows, atomically where
    /// it can. Repeating a batch is harmless. An empty batch makes no call.
    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<()>;
}

/// `name` lower-cased with exactly one trailing dot.
#[must_use]
pub fn fqdn(name: &str) -> String {
    format!(
        "{}.",
        name.trim().trim_end_matches('.').to_ascii_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical_and_types_round_trip() {
        assert_eq!(fqdn("WWW.Example.test"), "www.example.test.");
        assert_eq!(fqdn("example.test."), "example.test.");
        for t in [
            "A", "aaaa", "CNAME", "TXT", "MX", "NS", "SRV", "CAA", "SOA", "HTTPS",
        ] {
            assert_eq!(RecordType::parse(t).as_str(), t.to_ascii_uppercase());
        }
    }
}
