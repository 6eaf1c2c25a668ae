//! Cloudflare DNS over API v4 (`/client/v4`, `Authorization: Bearer`).
//!
//! Cloudflare keeps single records, not record sets: [`DnsRecords::list_records`] groups
//! them by (name, type), and [`DnsRecords::apply`] reads the records at the names it changes
//! and [`plan`]s the fewest record calls that make each (name, type) hold exactly what was
//! asked. An unchanged record costs nothing, a changed value reuses an existing record with a
//! `PATCH`, and only the rest is created or deleted. The batch endpoint is not used: its
//! semantics are unverified in the API reference and the sandbox does not serve it.
//!
//! Every answer goes through the `{success, errors, result}` envelope decoder, so a
//! `success: false` on HTTP 200 becomes the same typed error as an HTTP error status. A
//! create is retried like an idempotent call: repeating it can only produce Cloudflare's
//! "Record already exists." (81057), which counts as done. berth's ownership marker is each
//! record's `comment`; `proxied` and `tags` are never touched.
//!
//! Zones: [`DnsRecords::ensure_zone`] finds the zone by name and creates it (`POST /zones`)
//! only when the client knows the account that should own it; without an account id a
//! missing zone is a [`Error::NotFound`] saying so, since a zone must be delegated to
//! Cloudflare by a person anyway.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use reqwest::Method;

use super::{
    Change, DnsRecords, Ensured, RecordSet, RecordType, fqdn,
    txt::{quote_txt, unquote_txt},
};
use crate::providers::{
    Error, Result,
    http::{Auth, Call, HttpConfig, HttpMetrics, ProviderHttp, Secret},
    models::cloudflare::{
        self as wire, AUTO_TTL, AccountRef, CreateZoneRequest, DeletedRecord, DnsRecord,
        DnsRecordPatch, DnsRecordRequest, Envelope, Zone,
    },
};

/// The provider's display name, used in errors and (lower-cased) in metrics.
pub const PROVIDER: &str = "Cloudflare";

/// The public API's base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.cloudflare.com/client/v4";

/// Records asked for per list page: most zones fit in one call (Cloudflare allows far more).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// A guard against an API that keeps saying "more pages".
const MAX_PAGES: u64 = 10_000;

/// The Cloudflare zones reachable with one API token.
#[derive(Clone, Debug)]
pub struct Cloudflare {
    http: ProviderHttp,
    account_id: Option<String>,
    page_size: u32,
    // Zone name → id: ids never change, and a reconcile resolves the same zone repeatedly.
    zone_ids: Arc<Mutex<HashMap<String, String>>>,
}

impl Cloudflare {
    /// A client over an existing HTTP layer; `account_id` lets [`DnsRecords::ensure_zone`]
    /// create missing zones in that account.
    #[must_use]
    pub fn new(http: ProviderHttp, account_id: Option<String>) -> Self {
        Self {
            http,
            account_id,
            page_size: DEFAULT_PAGE_SIZE,
            zone_ids: Arc::default(),
        }
    }

    /// The HTTP configuration for `token` at `api_url` (default [`DEFAULT_ENDPOINT`]), naming
    /// the account in errors when known.
    #[must_use]
    pub fn config(api_url: Option<&str>, token: Secret, account_id: Option<&str>) -> HttpConfig {
        let mut config = HttpConfig::new(
            PROVIDER,
            api_url.unwrap_or(DEFAULT_ENDPOINT),
            Auth::Bearer(token),
        );
        config.account = account_id.map(|a| format!("account {a}"));
        config
    }

    /// A client for `api_url` with default policy.
    pub fn connect(
        api_url: Option<&str>,
        token: Secret,
        account_id: Option<String>,
        metrics: Arc<HttpMetrics>,
    ) -> Result<Self> {
        let config = Self::config(api_url, token, account_id.as_deref());
        Ok(Self::new(ProviderHttp::new(config, metrics)?, account_id))
    }

    /// Asks for `per_page` records per list call (Cloudflare accepts 5 and more).
    #[must_use]
    pub fn with_page_size(mut self, per_page: u32) -> Self {
        self.page_size = per_page.max(5);
        self
    }

    /// The HTTP layer (for its circuit state and metrics).
    #[must_use]
    pub fn http(&self) -> &ProviderHttp {
        &self.http
    }

    /// The id of `zone`, or `None` when the token sees no such zone.
    async fn zone_id(&self, zone: &str) -> Result<Option<String>> {
        let name = bare(zone);
        if let Some(id) = lock(&self.zone_ids).get(&name) {
            return Ok(Some(id.clone()));
        }
        let call = Call::get("find zone", "/zones").query("name", name.clone());
        let zones: Vec<Zone> = self.http.send(call).await?.decode(wire::decode)?;
        let id = zones
            .into_iter()
            .find(|z| z.name.eq_ignore_ascii_case(&name))
            .map(|z| z.id);
        if let Some(id) = &id {
            lock(&self.zone_ids).insert(name, id.clone());
        }
        Ok(id)
    }

    async fn existing_zone(&self, zone: &str, operation: &'static str) -> Result<String> {
        self.zone_id(zone).await?.ok_or_else(|| Error::NotFound {
            provider: PROVIDER,
            operation,
            message: format!("no zone {} for this token", bare(zone)),
        })
    }

    /// Every record of the zone, or of one name in it, page by page.
    async fn records(&self, zone_id: &str, name: Option<&str>) -> Result<Vec<DnsRecord>> {
        let mut out = Vec::new();
        let mut page: u64 = 1;
        loop {
            let mut call = Call::get("list dns records", records_path(zone_id))
                .query("page", page.to_string())
                .query("per_page", self.page_size.to_string());
            if let Some(name) = name {
                call = call.query("name", bare(name));
            }
            let envelope: Envelope<Vec<DnsRecord>> =
                self.http.send(call).await?.decode(wire::decode_envelope)?;
            let items = envelope.result.unwrap_or_default();
            let got = items.len();
            out.extend(items);
            match envelope.result_info {
                Some(info) if info.has_more() && got > 0 && page < MAX_PAGES => page += 1,
                _ => return Ok(out),
            }
        }
    }

    async fn write(&self, zone_id: &str, write: Write) -> Result<()> {
        match write {
            Write::Delete { id } => {
                let call = Call::delete("delete dns record", record_path(zone_id, &id));
                match self.http.send(call).await {
                    Ok(r) => r.decode(wire::decode::<DeletedRecord>).map(drop),
                    // Gone already: what a repeated delete finds.
                    Err(Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Write::Patch { id, patch } => {
                let call = Call::new(
                    Method::PATCH,
                    "update dns record",
                    record_path(zone_id, &id),
                    true,
                )
                .json_from(PROVIDER, &patch)?;
                self.http
                    .send(call)
                    .await?
                    .decode(wire::decode::<DnsRecord>)
                    .map(drop)
            }
            Write::Create(request) => {
                let call = Call::post("create dns record", records_path(zone_id))
                    .idempotent(true)
                    .json_from(PROVIDER, &request)?;
                match self.http.send(call).await {
                    Ok(r) => r.decode(wire::decode::<DnsRecord>).map(drop),
                    Err(e) if is_identical_record(&e) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

#[async_trait::async_trait]
impl DnsRecords for Cloudflare {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn ensure_zone(&self, zone: &str) -> Result<Ensured> {
        if self.zone_id(zone).await?.is_some() {
            tracing::debug!(zone, "zone already exists");
            return Ok(Ensured::Existed);
        }
        let Some(account) = &self.account_id else {
            return Err(Error::NotFound {
                provider: PROVIDER,
                operation: "ensure zone",
                message: format!(
                    "zone {} does not exist and no Cloudflare account id is configured to create it",
                    bare(zone)
                ),
            });
        };
        let body = CreateZoneRequest {
            name: bare(zone),
            account: AccountRef {
                id: account.clone(),
            },
            kind: "full".into(),
        };
        let call = Call::post("create zone", "/zones").json_from(PROVIDER, &body)?;
        let created = match self.http.send(call).await {
            Ok(r) => r.decode(wire::decode::<Zone>),
            Err(e) => Err(e),
        };
        match created {
            Ok(z) => {
                tracing::info!(zone, "created zone");
                lock(&self.zone_ids).insert(bare(zone), z.id);
                Ok(Ensured::Created)
            }
            // Created meanwhile (by another reconcile, or a create whose answer was lost).
            Err(e) if already_exists(&e) => match self.zone_id(zone).await? {
                Some(_) => Ok(Ensured::Existed),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn list_records(&self, zone: &str) -> Result<Vec<RecordSet>> {
        let zone_id = self.existing_zone(zone, "list dns records").await?;
        Ok(record_sets(self.records(&zone_id, None).await?))
    }

    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut names: Vec<String> = changes.iter().map(|c| fqdn(change_key(c).0)).collect();
        // Cloudflare would append the zone to a foreign name: refuse instead of writing
        // `x.elsewhere.test.example.com`.
        if let Some(outside) = names.iter().find(|n| !in_zone(n, zone)) {
            return Err(Error::Request {
                provider: PROVIDER,
                operation: "apply dns changes",
                detail: format!("{outside} is outside zone {}", fqdn(zone)),
            });
        }
        let zone_id = self.existing_zone(zone, "apply dns changes").await?;
        names.sort();
        names.dedup();
        let mut existing = Vec::new();
        for name in &names {
            existing.extend(self.records(&zone_id, Some(name)).await?);
        }
        let writes = plan(&existing, changes);
        tracing::debug!(zone, writes = writes.len(), "applying dns changes");
        for write in writes {
            self.write(&zone_id, write).await?;
        }
        Ok(())
    }
}

/// One record call.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    Delete { id: String },
    Patch { id: String, patch: DnsRecordPatch },
    Create(DnsRecordRequest),
}

/// The record calls that make each changed (name, type) hold exactly what `changes` ask,
/// given the `existing` records at those names: deletes first (so a CNAME can replace an A),
/// then updates, then creates. Records that already match cost nothing; when the same
/// (name, type) is changed twice, the last change wins.
#[must_use]
pub fn plan(existing: &[DnsRecord], changes: &[Change]) -> Vec<Write> {
    let mut last: Vec<&Change> = Vec::new();
    for change in changes.iter().rev() {
        let key = key_of(change);
        if !last.iter().any(|c| key_of(c) == key) {
            last.push(change);
        }
    }
    last.reverse();
    let (mut deletes, mut patches, mut creates) = (Vec::new(), Vec::new(), Vec::new());
    for change in last {
        let (name, rtype) = key_of(change);
        let mut present: Vec<&DnsRecord> = existing
            .iter()
            .filter(|r| fqdn(&r.name) == name && r.kind == rtype)
            .collect();
        let Change::Replace(set) = change else {
            deletes.extend(present.iter().map(|r| Write::Delete { id: r.id.clone() }));
            continue;
        };
        let ttl = if set.ttl == 0 { AUTO_TTL } else { set.ttl };
        // New records join the set under its marker when the change gives none.
        let new_comment = set.comment.clone().or_else(|| common_comment(&present));
        let mut wanted: Vec<Value> = Vec::new();
        for v in set.records.iter().map(|r| Value::encode(&rtype, r)) {
            if !wanted.iter().any(|w| w.text == v.text) {
                wanted.push(v);
            }
        }
        // Keep records whose value is wanted; what is left over gets reused for new values.
        let mut missing = Vec::new();
        for value in wanted {
            match present.iter().position(|r| value_of(r) == value.text) {
                Some(i) => {
                    let record = present.remove(i);
                    let patch = touch_up(record, ttl, set.comment.as_ref());
                    if patch != DnsRecordPatch::default() {
                        patches.push(Write::Patch {
                            id: record.id.clone(),
                            patch,
                        });
                    }
                }
                None => missing.push(value),
            }
        }
        let mut spare = present.into_iter();
        for value in missing {
            match spare.next() {
                Some(record) => {
                    let mut patch = touch_up(record, ttl, set.comment.as_ref());
                    patch.content = Some(value.content);
                    patch.priority = value.priority;
                    patches.push(Write::Patch {
                        id: record.id.clone(),
                        patch,
                    });
                }
                None => creates.push(Write::Create(DnsRecordRequest {
                    name: bare(&name),
                    kind: rtype.clone(),
                    content: value.content,
                    ttl,
                    proxied: None,
                    comment: new_comment.clone(),
                    tags: Vec::new(),
                    priority: value.priority,
                })),
            }
        }
        deletes.extend(spare.map(|r| Write::Delete { id: r.id.clone() }));
    }
    deletes.into_iter().chain(patches).chain(creates).collect()
}

/// The TTL and comment changes `record` needs (an empty patch when none).
fn touch_up(record: &DnsRecord, ttl: u32, comment: Option<&String>) -> DnsRecordPatch {
    DnsRecordPatch {
        ttl: (record.ttl != ttl).then_some(ttl),
        comment: comment
            .filter(|c| record.comment.as_ref() != Some(*c))
            .cloned(),
        ..DnsRecordPatch::default()
    }
}

/// A value on the wire, and as the DNS capability spells it (`text`, compared for equality).
struct Value {
    content: String,
    priority: Option<u16>,
    text: String,
}

impl Value {
    fn encode(rtype: &RecordType, value: &str) -> Self {
        let (content, priority) = match rtype {
            RecordType::Txt => (quote_txt(value), None),
            t if t.holds_hostname() => (bare(value), None),
            RecordType::Mx => match value.split_once(char::is_whitespace) {
                Some((p, host)) if p.parse::<u16>().is_ok() => (bare(host), p.parse().ok()),
                _ => (value.trim().to_owned(), None),
            },
            _ => (value.trim().to_owned(), None),
        };
        let text = text_of(rtype, &content, priority);
        Self {
            content,
            priority,
            text,
        }
    }
}

/// A record's value as the DNS capability spells it: TXT unquoted, host names with a
/// trailing dot, MX as `<priority> <host>`.
fn text_of(rtype: &RecordType, content: &str, priority: Option<u16>) -> String {
    match rtype {
        RecordType::Txt => unquote_txt(content),
        t if t.holds_hostname() => fqdn(content),
        RecordType::Mx => format!("{} {}", priority.unwrap_or(0), fqdn(content)),
        _ => content.trim().to_owned(),
    }
}

fn value_of(record: &DnsRecord) -> String {
    text_of(&record.kind, &record.content, record.priority)
}

/// Records grouped into sets in listing order, each with its [`common_comment`].
fn record_sets(records: Vec<DnsRecord>) -> Vec<RecordSet> {
    let mut groups: Vec<Vec<DnsRecord>> = Vec::new();
    for r in records {
        match groups
            .iter_mut()
            .find(|g| fqdn(&g[0].name) == fqdn(&r.name) && g[0].kind == r.kind)
        {
            Some(group) => group.push(r),
            None => groups.push(vec![r]),
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let refs: Vec<&DnsRecord> = group.iter().collect();
            RecordSet {
                name: fqdn(&group[0].name),
                rtype: group[0].kind.clone(),
                ttl: group[0].ttl,
                records: group.iter().map(value_of).collect(),
                comment: common_comment(&refs),
            }
        })
        .collect()
}

/// The comment every record carries, if they agree: a set with a foreign record in it is
/// not wholly berth's.
fn common_comment(records: &[&DnsRecord]) -> Option<String> {
    let first = records.first()?.comment.clone()?;
    records
        .iter()
        .all(|r| r.comment.as_ref() == Some(&first))
        .then_some(first)
}

fn key_of(change: &Change) -> (String, RecordType) {
    let (name, rtype) = change_key(change);
    (fqdn(name), rtype.clone())
}

fn change_key(change: &Change) -> (&str, &RecordType) {
    match change {
        Change::Replace(set) => (&set.name, &set.rtype),
        Change::Delete { name, rtype } => (name, rtype),
    }
}

fn in_zone(name: &str, zone: &str) -> bool {
    let (name, zone) = (fqdn(name), fqdn(zone));
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// A name as Cloudflare writes it: lower case, no trailing dot.
fn bare(name: &str) -> String {
    fqdn(name).trim_end_matches('.').to_owned()
}

fn records_path(zone_id: &str) -> String {
    format!("/zones/{zone_id}/dns_records")
}

fn record_path(zone_id: &str, id: &str) -> String {
    format!("/zones/{zone_id}/dns_records/{id}")
}

/// Cloudflare's 81057 "Record already exists.": an identical record is there.
fn is_identical_record(e: &Error) -> bool {
    matches!(e, Error::Invalid { message, .. } | Error::Conflict { message, .. }
        if message.contains("Record already exists"))
}

fn already_exists(e: &Error) -> bool {
    matches!(e, Error::Invalid { message, .. } | Error::Conflict { message, .. }
        if message.contains("already exists"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A map of ids, consistent after any panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(id: &str, name: &str, kind: &str, content: &str, comment: Option<&str>) -> DnsRecord {
        serde_json::from_value(json!({
            "id": id, "name": name, "type": kind, "content": content, "ttl": 300,
            "comment": comment,
        }))
        .unwrap()
    }

    fn replace(name: &str, rtype: RecordType, records: &[&str], comment: Option<&str>) -> Change {
        Change::Replace(RecordSet {
            name: name.into(),
            rtype,
            ttl: 300,
            records: records.iter().map(|r| (*r).to_owned()).collect(),
            comment: comment.map(Into::into),
        })
    }

    // Unchanged records cost no call; a changed value reuses a record; extras go.
    #[test]
    fn plan_makes_the_fewest_record_calls() {
        let existing = [
            record("1", "www.example.test", "A", "192.0.2.1", Some("berth")),
            record("2", "www.example.test", "A", "192.0.2.2", Some("berth")),
            record("3", "www.example.test", "A", "192.0.2.3", Some("berth")),
            record("4", "mail.example.test", "A", "192.0.2.9", None),
        ];
        let same = replace(
            "WWW.example.test.",
            RecordType::A,
            &["192.0.2.2", "192.0.2.1", "192.0.2.3"],
            Some("berth"),
        );
        assert_eq!(plan(&existing, &[same]), vec![], "nothing to do");

        let changed = replace(
            "www.example.test",
            RecordType::A,
            &["192.0.2.1", "192.0.2.7"],
            Some("berth"),
        );
        let writes = plan(&existing, &[changed]);
        assert_eq!(
            writes,
            vec![
                Write::Delete { id: "3".into() },
                Write::Patch {
                    id: "2".into(),
                    patch: DnsRecordPatch {
                        content: Some("192.0.2.7".into()),
                        ..DnsRecordPatch::default()
                    }
                },
            ]
        );
        let delete = Change::Delete {
            name: "mail.example.test".into(),
            rtype: RecordType::A,
        };
        assert_eq!(
            plan(&existing, &[delete]),
            vec![Write::Delete { id: "4".into() }]
        );
    }

    // A comment given is written to every record; none given leaves comments alone.
    #[test]
    fn comments_mark_ownership_only_when_given() {
        let existing = [record("1", "a.example.test", "A", "192.0.2.1", None)];
        let writes = plan(
            &existing,
            &[replace(
                "a.example.test",
                RecordType::A,
                &["192.0.2.1"],
                Some("owner=berth"),
            )],
        );
        assert_eq!(
            writes,
            vec![Write::Patch {
                id: "1".into(),
                patch: DnsRecordPatch {
                    comment: Some("owner=berth".into()),
                    ..DnsRecordPatch::default()
                }
            }]
        );
        let untouched = plan(
            &existing,
            &[replace(
                "a.example.test",
                RecordType::A,
                &["192.0.2.1"],
                None,
            )],
        );
        assert!(untouched.is_empty());
    }

    // TXT goes out quoted and compares unquoted; CNAME compares with or without the dot.
    #[test]
    fn values_are_compared_as_the_capability_spells_them() {
        let existing = [
            record("1", "t.example.test", "TXT", "\"say \\\"hi\\\"\"", None),
            record("2", "c.example.test", "CNAME", "target.example.net", None),
            record("3", "u.example.test", "TXT", "unquoted text", None),
        ];
        let changes = [
            replace("t.example.test", RecordType::Txt, &["say \"hi\""], None),
            replace(
                "c.example.test",
                RecordType::Cname,
                &["Target.example.net."],
                None,
            ),
            replace("u.example.test", RecordType::Txt, &["unquoted text"], None),
        ];
        assert!(plan(&existing, &changes).is_empty());
        let writes = plan(
            &[],
            &[replace("x.example.test", RecordType::Txt, &["a b"], None)],
        );
        let Write::Create(request) = &writes[0] else {
            panic!("{writes:?}")
        };
        assert_eq!(request.content, "\"a b\"");
        assert_eq!(request.name, "x.example.test");
    }

    // A CNAME replacing an A at one name: the delete goes before the create.
    #[test]
    fn deletes_go_before_creates() {
        let existing = [record("1", "w.example.test", "A", "192.0.2.1", None)];
        let writes = plan(
            &existing,
            &[
                replace(
                    "w.example.test",
                    RecordType::Cname,
                    &["t.example.net"],
                    None,
                ),
                Change::Delete {
                    name: "w.example.test".into(),
                    rtype: RecordType::A,
                },
            ],
        );
        assert!(matches!(writes[0], Write::Delete { .. }), "{writes:?}");
        assert!(matches!(writes[1], Write::Create(_)), "{writes:?}");
    }

    // Sets group records; the comment is the set's only when every record carries it.
    #[test]
    fn records_group_into_sets() {
        let sets = record_sets(vec![
            record("1", "a.example.test", "A", "192.0.2.1", Some("berth")),
            record("2", "a.example.test", "A", "192.0.2.2", Some("berth")),
            record(
                "3",
                "b.example.test",
                "MX",
                "mail.example.test",
                Some("berth"),
            ),
            record("4", "b.example.test", "MX", "mx2.example.test", None),
        ]);
        assert_eq!(sets.len(), 2);
        assert_eq!(sets[0].name, "a.example.test.");
        assert_eq!(sets[0].records, vec!["192.0.2.1", "192.0.2.2"]);
        assert_eq!(sets[0].comment.as_deref(), Some("berth"));
        assert_eq!(sets[1].records[0], "0 mail.example.test.");
        assert_eq!(sets[1].comment, None, "a foreign record in the set");
    }
}
