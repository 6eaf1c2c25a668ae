//! PowerDNS Authoritative over its HTTP API (`/api/v1`, `X-API-Key`).
//!
//! A batch of changes is one `PATCH` of the zone (PowerDNS applies it as one transaction);
//! that PATCH is declarative per (name, type), so the HTTP layer may retry it. Creating a
//! zone is a `POST` (not retried) whose 409 means "already exists". Names go out canonical,
//! with a trailing dot; TXT values are quoted and escaped here and unquoted on the way back;
//! berth's ownership marker is the rrset's comment (account `berth`).

use std::sync::Arc;

use reqwest::Method;

use super::{
    Change, DnsRecords, Ensured, RecordSet, RecordType, fqdn,
    txt::{quote_txt, unquote_txt},
};
use crate::providers::{
    Error, Result,
    http::{Auth, Call, HttpConfig, HttpMetrics, ProviderHttp, Secret},
    models::powerdns::{
        Comment, CreateZoneRequest, PatchZoneRequest, Record, RrSet, RrSetChange, Zone, ZoneKind,
    },
};

/// The provider's display name, used in errors and (lower-cased) in metrics.
pub const PROVIDER: &str = "PowerDNS";

/// The account written on berth's rrset comments.
const COMMENT_ACCOUNT: &str = "berth";

/// A PowerDNS Authoritative server.
#[derive(Clone, Debug)]
pub struct PowerDns {
    http: ProviderHttp,
    server_id: String,
    nameservers: Vec<String>,
}

impl PowerDns {
    /// A client over an existing HTTP layer; new zones get `nameservers` (may be empty).
    #[must_use]
    pub fn new(http: ProviderHttp, nameservers: Vec<String>) -> Self {
        Self {
            http,
            server_id: "localhost".into(),
            nameservers: nameservers.iter().map(|n| fqdn(n)).collect(),
        }
    }

    /// Addresses server `id` in the API paths (the binding's `serverId`; `localhost` almost
    /// always).
    #[must_use]
    pub fn with_server_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.server_id);
        self
    }

    /// A client for the API at `api_url` (e.g. `http://127.0.0.1:8081`) with default policy.
    pub fn connect(api_url: &str, api_key: Secret, metrics: Arc<HttpMetrics>) -> Result<Self> {
        let config = HttpConfig::new(PROVIDER, api_url, Auth::ApiKey(api_key));
        Ok(Self::new(ProviderHttp::new(config, metrics)?, Vec::new()))
    }

    /// The HTTP layer (for its circuit state and metrics).
    #[must_use]
    pub fn http(&self) -> &ProviderHttp {
        &self.http
    }

    /// Deletes `zone`; an absent zone is success. Returns whether there was one to delete.
    pub async fn ensure_zone_absent(&self, zone: &str) -> Result<bool> {
        let call = Call::delete("delete zone", self.zone_path(zone));
        match self.http.send(call).await {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads the server object: proves the API key works and the server id exists.
    pub async fn check_access(&self) -> Result<()> {
        let call = Call::get(
            "read the server",
            format!("/api/v1/servers/{}", self.server_id),
        );
        self.http.send(call).await.map(|_| ())
    }

    fn zones_path(&self) -> String {
        format!("/api/v1/servers/{}/zones", self.server_id)
    }

    fn zone_path(&self, zone: &str) -> String {
        format!("{}/{}", self.zones_path(), fqdn(zone))
    }
}

#[async_trait::async_trait]
impl DnsRecords for PowerDns {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn ensure_zone(&self, zone: &str) -> Result<Ensured> {
        let body = CreateZoneRequest {
            name: fqdn(zone),
            kind: ZoneKind::Native,
            nameservers: self.nameservers.clone(),
            masters: Vec::new(),
            soa_edit_api: None,
            rrsets: Vec::new(),
            account: None,
            dnssec: None,
            api_rectify: None,
        };
        let call = Call::post("create zone", self.zones_path())
            .query("rrsets", "false")
            .json_from(PROVIDER, &body)?;
        match self.http.send(call).await {
            Ok(_) => {
                tracing::info!(zone, "created zone");
                Ok(Ensured::Created)
            }
            Err(Error::Conflict { .. }) => {
                tracing::debug!(zone, "zone already exists");
                Ok(Ensured::Existed)
            }
            Err(e) => Err(e),
        }
    }

    async fn list_records(&self, zone: &str) -> Result<Vec<RecordSet>> {
        let zone: Zone = self
            .http
            .json(Call::get("get zone", self.zone_path(zone)))
            .await?;
        Ok(zone.rrsets.into_iter().map(record_set).collect())
    }

    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let body = PatchZoneRequest {
            rrsets: changes.iter().map(wire_change).collect(),
        };
        // REPLACE/DELETE are declarative per (name, type): repeating the PATCH is harmless.
        let call = Call::new(Method::PATCH, "patch rrsets", self.zone_path(zone), true)
            .json_from(PROVIDER, &body)?;
        self.http.send(call).await?;
        Ok(())
    }
}

fn wire_change(change: &Change) -> RrSetChange {
    match change {
        Change::Replace(set) => {
            let records = set
                .records
                .iter()
                .map(|r| Record {
                    content: encode(&set.rtype, r),
                    disabled: false,
                })
                .collect();
            let mut rrset =
                RrSetChange::replace(&fqdn(&set.name), set.rtype.clone(), set.ttl, records);
            rrset.comments = set.comment.as_ref().map(|c| {
                vec![Comment {
                    content: c.clone(),
                    account: COMMENT_ACCOUNT.into(),
                    modified_at: None,
                }]
            });
            rrset
        }
        Change::Delete { name, rtype } => RrSetChange::delete(&fqdn(name), rtype.clone()),
    }
}

/// A value as PowerDNS wants it in zone-file form.
fn encode(rtype: &RecordType, value: &str) -> String {
    match rtype {
        RecordType::Txt => quote_txt(value),
        t if t.holds_hostname() => fqdn(value),
        _ => value.to_owned(),
    }
}

/// An rrset as the DNS capability sees it: enabled records only, TXT unquoted, berth's comment.
fn record_set(rrset: RrSet) -> RecordSet {
    let records = rrset
        .records
        .into_iter()
        .filter(|r| !r.disabled)
        .map(|r| match rrset.kind {
            RecordType::Txt => unquote_txt(&r.content),
            _ => r.content,
        })
        .collect();
    RecordSet {
        name: rrset.name,
        rtype: rrset.kind,
        ttl: rrset.ttl.unwrap_or(0),
        records,
        comment: rrset.comments.into_iter().next().map(|c| c.content),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn wire(change: &Change) -> serde_json::Value {
        serde_json::to_value(wire_change(change)).unwrap()
    }

    // One PATCH body: canonical names, quoted TXT, dotted CNAME, comments only when given.
    #[test]
    fn changes_become_powerdns_rrsets() {
        let replace = wire(&Change::Replace(RecordSet {
            name: "Www.Example.test".into(),
            rtype: RecordType::Cname,
            ttl: 60,
            records: vec!["target.example.net".into()],
            comment: Some("owner=berth".into()),
        }));
        assert_eq!(
            replace,
            json!({"name": "www.example.test.", "type": "CNAME", "ttl": 60, "changetype": "REPLACE",
                   "records": [{"content": "target.example.net.", "disabled": false}],
                   "comments": [{"content": "owner=berth", "account": "berth"}]})
        );
        let txt = wire(&Change::Replace(RecordSet {
            name: "t.example.test.".into(),
            rtype: RecordType::Txt,
            ttl: 60,
            records: vec!["hello".into()],
            comment: None,
        }));
        assert_eq!(txt["records"][0]["content"], "\"hello\"");
        assert!(txt.get("comments").is_none());
        let delete = wire(&Change::Delete {
            name: "t.example.test".into(),
            rtype: RecordType::Txt,
        });
        assert_eq!(
            delete,
            json!({"name": "t.example.test.", "type": "TXT", "changetype": "DELETE"})
        );
    }
}
