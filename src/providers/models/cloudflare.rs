//! Cloudflare API v4 (`api.cloudflare.com/client/v4`): the `{success, errors, messages, result,
//! result_info}` envelope, zones and DNS records (with `comment`, `tags`, `proxied`, `ttl`).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::decode::{Body, DecodeError, Provider, Rejection};
use super::{RecordType, null_as_default};

/// Error codes Cloudflare uses for rate limiting.
pub const RATE_LIMIT_CODES: &[i64] = &[10429, 10100, 10300];
/// "Authentication error".
pub const AUTHENTICATION_ERROR: i64 = 10000;
/// "Record already exists." (an identical record).
pub const RECORD_ALREADY_EXISTS: i64 = 81057;
/// "An A, AAAA, or CNAME record with that host already exists."
pub const HOST_CONFLICT: i64 = 81053;

/// The v4 envelope.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope<T> {
    /// Check this even on HTTP 200.
    pub success: bool,
    /// Errors.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<ApiMessage>,
    /// Informational messages (objects or strings).
    #[serde(default, deserialize_with = "null_as_default")]
    pub messages: Vec<Value>,
    /// The payload.
    #[serde(default = "none")]
    pub result: Option<T>,
    /// Paging, on lists.
    #[serde(default)]
    pub result_info: Option<ResultInfo>,
}

fn none<T>() -> Option<T> {
    None
}

/// One entry of `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApiMessage {
    /// The code (`81057`, `10000`, …).
    #[serde(default)]
    pub code: i64,
    /// The text.
    #[serde(default)]
    pub message: String,
    /// A docs link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    /// Nested causes.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub error_chain: Vec<ApiMessage>,
}

/// `result_info` of lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct ResultInfo {
    /// 1-based page.
    #[serde(default)]
    pub page: u64,
    /// Page size.
    #[serde(default)]
    pub per_page: u64,
    /// Items in this page.
    #[serde(default)]
    pub count: u64,
    /// Items in all pages.
    #[serde(default)]
    pub total_count: u64,
    /// Pages.
    #[serde(default)]
    pub total_pages: u64,
}

impl ResultInfo {
    /// Another page follows this one.
    #[must_use]
    pub fn has_more(&self) -> bool {
        self.page < self.total_pages
    }
}

/// Decodes the envelope: `success: false` or a non-2xx status becomes
/// [`DecodeError::Rejected`] with the envelope's `errors`.
///
/// # Errors
/// A typed [`DecodeError`] for empty, non-JSON, mis-shaped or error responses.
pub fn decode_envelope<T: DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> Result<Envelope<T>, DecodeError> {
    let body = Body::new(Provider::Cloudflare, status, body);
    let value = match body.json::<Envelope<T>>() {
        Ok(value) => value,
        Err(_) if !body.is_success() => return Err(body.unexpected_status()),
        Err(e) => return Err(e),
    };
    let envelope: Envelope<Value> = match body.typed(value) {
        Ok(envelope) => envelope,
        Err(_) if !body.is_success() => return Err(body.unexpected_status()),
        Err(e) => return Err(e),
    };
    if !envelope.success || !body.is_success() {
        return Err(body.rejected(Rejection::Cloudflare(envelope.errors)));
    }
    let result = match envelope.result {
        None | Some(Value::Null) => None,
        Some(result) => Some(body.typed(result)?),
    };
    Ok(Envelope {
        success: envelope.success,
        errors: envelope.errors,
        messages: envelope.messages,
        result,
        result_info: envelope.result_info,
    })
}

/// [`decode_envelope`], returning only `result` ([`DecodeError::Missing`] when `null`).
///
/// # Errors
/// As [`decode_envelope`], plus a missing `result`.
pub fn decode<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, DecodeError> {
    decode_envelope::<T>(status, body)?
        .result
        .ok_or_else(|| Body::new(Provider::Cloudflare, status, body).missing::<T>())
}

string_enum! {
    /// A zone's `status`.
    pub enum ZoneStatus {
        Initializing = "initializing",
        Pending = "pending",
        Active = "active",
        Moved = "moved",
    }
}

/// A zone (`GET /zones?name=…`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Zone {
    /// The zone id.
    pub id: String,
    /// The domain.
    pub name: String,
    /// Status.
    pub status: ZoneStatus,
    /// Paused (DNS only).
    #[serde(default)]
    pub paused: Option<bool>,
    /// `full`, `partial`, `secondary` (kept as text).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Cloudflare's nameservers for it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name_servers: Vec<String>,
    /// The owning account.
    #[serde(default)]
    pub account: Option<ZoneAccount>,
    /// Creation.
    #[serde(default)]
    pub created_on: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub modified_on: Option<DateTime<Utc>>,
}

/// A zone's account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ZoneAccount {
    /// Account id.
    #[serde(default)]
    pub id: String,
    /// Account name.
    #[serde(default)]
    pub name: String,
}

/// A DNS record.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DnsRecord {
    /// The record id.
    pub id: String,
    /// The zone id.
    #[serde(default)]
    pub zone_id: Option<String>,
    /// The zone name.
    #[serde(default)]
    pub zone_name: Option<String>,
    /// FQDN, punycode.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// Content (structured types may use `data` instead).
    #[serde(default)]
    pub content: String,
    /// TTL seconds; `1` = automatic.
    #[serde(default = "auto_ttl")]
    pub ttl: u32,
    /// Proxied through Cloudflare (A/AAAA/CNAME).
    #[serde(default)]
    pub proxied: bool,
    /// Can be proxied.
    #[serde(default)]
    pub proxiable: Option<bool>,
    /// Locked.
    #[serde(default)]
    pub locked: Option<bool>,
    /// Comment (berth's ownership marker).
    #[serde(default)]
    pub comment: Option<String>,
    /// Tags (`name:value`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// MX/SRV/URI priority.
    #[serde(default)]
    pub priority: Option<u16>,
    /// Structured data (SRV, CAA, …).
    #[serde(default)]
    pub data: Option<Value>,
    /// Provider metadata.
    #[serde(default)]
    pub meta: Option<Value>,
    /// Creation.
    #[serde(default)]
    pub created_on: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub modified_on: Option<DateTime<Utc>>,
}

/// TTL `1`: automatic.
pub const AUTO_TTL: u32 = 1;

fn auto_ttl() -> u32 {
    AUTO_TTL
}

/// The body of record create (`POST`) and overwrite (`PUT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DnsRecordRequest {
    /// Name (`@` for the apex).
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: RecordType,
    /// Content.
    pub content: String,
    /// TTL seconds; [`AUTO_TTL`] = automatic.
    pub ttl: u32,
    /// Proxied (A/AAAA/CNAME only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxied: Option<bool>,
    /// Comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// MX/SRV/URI priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
}

/// `result` of a delete.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeletedRecord {
    /// The deleted record's id.
    pub id: String,
}

/// The body of `PATCH /zones/{zone_id}/dns_records/{id}`: only the fields to change, so
/// what berth does not manage (`proxied`, `tags`) stays as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DnsRecordPatch {
    /// New content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// New TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
    /// New comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// New MX/SRV/URI priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
}

/// The body of `POST /zones` (answer: the new [`Zone`], `pending` until its nameservers are
/// delegated to Cloudflare).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateZoneRequest {
    /// The domain.
    pub name: String,
    /// The account that will own the zone.
    pub account: AccountRef,
    /// `full` (Cloudflare is authoritative) or `partial` (CNAME set-up).
    #[serde(rename = "type")]
    pub kind: String,
}

/// An account by id, as request bodies name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    /// Account id.
    pub id: String,
}
