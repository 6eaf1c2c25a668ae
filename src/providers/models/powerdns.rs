//! The PowerDNS Authoritative HTTP API (`/api/v1/servers/localhost/zones`): zones, rrsets with
//! records and comments, the rrset PATCH (`REPLACE` / `DELETE`) and the `{"error"}` body.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::decode::{Body, DecodeError, Provider, Rejection};
use super::{RecordType, null_as_default};

/// The error body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PdnsError {
    /// The message (`Not Found`, `Name is out of zone`, …).
    pub error: String,
    /// More messages, sometimes.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub errors: Vec<String>,
}

/// Decodes a PowerDNS response; on a non-2xx status the `{"error"}` body becomes
/// [`DecodeError::Rejected`] (anything else [`DecodeError::UnexpectedStatus`]). 204 answers
/// have no body: do not decode them.
///
/// # Errors
/// A typed [`DecodeError`] for empty, non-JSON, mis-shaped or error responses.
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, DecodeError> {
    let body = Body::new(Provider::PowerDns, status, body);
    if !body.is_success() {
        return Err(body.error(Rejection::PowerDns));
    }
    let value = body.json::<T>()?;
    body.typed(value)
}

string_enum! {
    /// A zone's `kind`.
    pub enum ZoneKind {
        Native = "Native",
        Master = "Master",
        Slave = "Slave",
        Producer = "Producer",
        Consumer = "Consumer",
    }
}

string_enum! {
    /// An rrset `changetype` (only these two are documented).
    pub enum ChangeType {
        Replace = "REPLACE",
        Delete = "DELETE",
    }
}

/// A zone (list entries have no `rrsets`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Zone {
    /// Opaque id (in practice the name with its trailing dot).
    pub id: String,
    /// Canonical name, trailing dot.
    pub name: String,
    /// Kind.
    pub kind: ZoneKind,
    /// API URL of the zone.
    #[serde(default)]
    pub url: Option<String>,
    /// SOA serial.
    #[serde(default)]
    pub serial: Option<u64>,
    /// Last notified serial.
    #[serde(default)]
    pub notified_serial: Option<u64>,
    /// Serial after edits.
    #[serde(default)]
    pub edited_serial: Option<u64>,
    /// Primaries (for secondaries).
    #[serde(default, deserialize_with = "null_as_default")]
    pub masters: Vec<String>,
    /// DNSSEC signed.
    #[serde(default)]
    pub dnssec: Option<bool>,
    /// NSEC3 parameters.
    #[serde(default)]
    pub nsec3param: Option<String>,
    /// Narrow NSEC3.
    #[serde(default)]
    pub nsec3narrow: Option<bool>,
    /// Pre-signed.
    #[serde(default)]
    pub presigned: Option<bool>,
    /// SOA-EDIT.
    #[serde(default)]
    pub soa_edit: Option<String>,
    /// SOA-EDIT-API.
    #[serde(default)]
    pub soa_edit_api: Option<String>,
    /// Rectify after API edits.
    #[serde(default)]
    pub api_rectify: Option<bool>,
    /// Account.
    #[serde(default)]
    pub account: Option<String>,
    /// Catalog zone.
    #[serde(default)]
    pub catalog: Option<String>,
    /// Last check, epoch seconds.
    #[serde(default)]
    pub last_check: Option<i64>,
    /// The rrsets (absent in lists and with `rrsets=false`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub rrsets: Vec<RrSet>,
}

/// An rrset as read back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RrSet {
    /// Owner name, trailing dot.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// TTL.
    #[serde(default)]
    pub ttl: Option<u32>,
    /// The records.
    #[serde(default, deserialize_with = "null_as_default")]
    pub records: Vec<Record>,
    /// The comments.
    #[serde(default, deserialize_with = "null_as_default")]
    pub comments: Vec<Comment>,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Zone-file canonical content (hostnames with trailing dot, TXT quoted).
    pub content: String,
    /// Disabled.
    #[serde(default)]
    pub disabled: bool,
}

/// One comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// The text.
    pub content: String,
    /// Who wrote it.
    #[serde(default)]
    pub account: String,
    /// When, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<i64>,
}

/// One rrset of a PATCH: `REPLACE` sends `records` even when empty; `DELETE` sends neither.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrSetChange {
    /// Owner name, trailing dot.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// `REPLACE` or `DELETE`.
    pub changetype: ChangeType,
    /// TTL (`REPLACE` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// New records (`REPLACE` only; empty deletes them all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<Record>>,
    /// New comments (`REPLACE` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<Vec<Comment>>,
}

impl RrSetChange {
    /// Replaces every record of (name, type).
    #[must_use]
    pub fn replace(name: &str, kind: RecordType, ttl: u32, records: Vec<Record>) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            changetype: ChangeType::Replace,
            ttl: Some(ttl),
            records: Some(records),
            comments: None,
        }
    }

    /// Deletes every record and comment of (name, type).
    #[must_use]
    pub fn delete(name: &str, kind: RecordType) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            changetype: ChangeType::Delete,
            ttl: None,
            records: None,
            comments: None,
        }
    }
}

/// The body of `PATCH .../zones/{zone_id}` (one transaction; answer 204).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchZoneRequest {
    /// The changes; each (name, type) at most once.
    pub rrsets: Vec<RrSetChange>,
}

/// The body of `POST .../zones` (answer 201 + [`Zone`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateZoneRequest {
    /// Canonical name, trailing dot.
    pub name: String,
    /// Kind.
    pub kind: ZoneKind,
    /// Nameservers (required for non-`Slave` zones; may be empty with NS rrsets).
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Primaries (for `Slave`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masters: Vec<String>,
    /// SOA-EDIT-API (`DEFAULT`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soa_edit_api: Option<String>,
    /// Initial rrsets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rrsets: Vec<RrSetChange>,
    /// Account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Sign with DNSSEC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnssec: Option<bool>,
    /// Rectify after API edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_rectify: Option<bool>,
}
