//! The Cloudflare API v4 simulator: zones and DNS records (CRUD, filters, `comment`,
//! pagination with `result_info`), in the `{success, errors, messages, result}` envelope.
//!
//! Paths (base stands for `https://api.cloudflare.com/client/v4`): `GET|POST /zones`,
//! `GET /zones/{zone_id}`, `GET|POST /zones/{zone_id}/dns_records`,
//! `GET|PUT|PATCH|DELETE /zones/{zone_id}/dns_records/{id}`.

use std::{
    collections::HashMap,
    net::{Ipv4Addr, Ipv6Addr},
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State as AxState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{SecondsFormat, Utc};
use rand::{Rng, rngs::StdRng};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    Snapshot, World, assemble,
    faults::{Dialect, Faults, RateInfo, bearer, lock},
};

#[derive(Clone, Debug, Serialize)]
struct Zone {
    id: String,
    name: String,
    status: &'static str,
    paused: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    name_servers: Vec<String>,
    created_on: String,
    modified_on: String,
}

#[derive(Clone, Debug, Serialize)]
struct Record {
    id: String,
    zone_id: String,
    zone_name: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    content: String,
    ttl: u32,
    proxied: bool,
    proxiable: bool,
    locked: bool,
    comment: Option<String>,
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<u16>,
    meta: Value,
    created_on: String,
    modified_on: String,
}

#[derive(Default)]
struct Inner {
    zones: Vec<Zone>,
    records: Vec<Record>,
}

/// The simulator's state.
pub struct State {
    rng: Mutex<StdRng>,
    inner: Mutex<Inner>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl State {
    pub(crate) fn new(rng: Mutex<StdRng>, zones: &[String]) -> Self {
        let s = Self {
            rng,
            inner: Mutex::new(Inner::default()),
        };
        for name in zones {
            let zone = s.zone(name, "active");
            lock(&s.inner).zones.push(zone);
        }
        s
    }

    fn zone(&self, name: &str, status: &'static str) -> Zone {
        Zone {
            id: self.hex(),
            name: name.to_ascii_lowercase(),
            status,
            paused: false,
            kind: "full",
            name_servers: vec![
                "ada.ns.cloudflare.com".into(),
                "bob.ns.cloudflare.com".into(),
            ],
            created_on: now(),
            modified_on: now(),
        }
    }

    fn hex(&self) -> String {
        let mut rng = lock(&self.rng);
        (0..32)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect()
    }

    /// Whether any record satisfies `f(type, name, content)`.
    pub(crate) fn any_record(&self, mut f: impl FnMut(&str, &str, &str) -> bool) -> bool {
        lock(&self.inner)
            .records
            .iter()
            .any(|r| f(&r.kind, &r.name, &r.content))
    }
}

impl Snapshot for State {
    fn snapshot(&self) -> Value {
        let inner = lock(&self.inner);
        json!({"zones": inner.zones, "dns_records": inner.records})
    }
}

fn envelope_err(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(json!({
            "success": false,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": null,
        })),
    )
        .into_response()
}

fn ok(result: Value) -> Response {
    Json(json!({"success": true, "errors": [], "messages": [], "result": result})).into_response()
}

struct CfDialect {
    token: String,
}

impl Dialect for CfDialect {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        bearer(headers) == Some(self.token.as_str())
    }
    fn unauthorized(&self, _: &HeaderMap) -> Response {
        envelope_err(StatusCode::FORBIDDEN, 10000, "Authentication error")
    }
    fn server_error(&self, status: StatusCode) -> Response {
        envelope_err(status, 10001, "Internal server error")
    }
    fn rate_limited(&self, info: &RateInfo) -> Response {
        envelope_err(
            StatusCode::TOO_MANY_REQUESTS,
            10100,
            &format!(
                "More than {} requests per {} seconds reached. Please wait and consider throttling your request speed",
                info.limit, info.window
            ),
        )
    }
    fn rate_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        if let Ok(v) = format!("\"default\";r={};t={}", info.remaining, info.reset_in).parse() {
            headers.insert("ratelimit", v);
        }
        if let Ok(v) = format!("\"default\";q={};w={}", info.limit, info.window).parse() {
            headers.insert("ratelimit-policy", v);
        }
    }
}

type Shared = Arc<State>;
type Q = Query<HashMap<String, String>>;

pub(crate) fn router(
    state: Shared,
    token: &str,
    faults: Arc<Faults>,
    world: &Arc<World>,
) -> Router {
    let api = Router::new()
        .route("/zones", get(list_zones).post(create_zone))
        .route("/zones/{zone_id}", get(get_zone))
        .route(
            "/zones/{zone_id}/dns_records",
            get(list_records).post(create_record),
        )
        .route(
            "/zones/{zone_id}/dns_records/{id}",
            get(get_record)
                .put(put_record)
                .patch(patch_record)
                .delete(delete_record),
        )
        .fallback(|| async { envelope_err(StatusCode::NOT_FOUND, 7000, "No route for that URI") })
        .with_state(state.clone());
    assemble(
        api,
        Arc::new(CfDialect {
            token: token.to_string(),
        }),
        faults,
        world,
        state,
    )
}

fn page_args(
    q: &HashMap<String, String>,
    default: usize,
    min: usize,
    max: usize,
) -> Result<(usize, usize), Response> {
    let num = |k: &str, d: usize| -> Result<usize, Response> {
        q.get(k).map_or(Ok(d), |v| {
            v.parse().map_err(|_| {
                envelope_err(
                    StatusCode::BAD_REQUEST,
                    1004,
                    &format!("{k} must be a number"),
                )
            })
        })
    };
    let page = num("page", 1)?.max(1);
    let per_page = num("per_page", default)?.clamp(min, max);
    Ok((page, per_page))
}

fn paginate<T: Serialize>(items: Vec<T>, page: usize, per_page: usize) -> Response {
    let total = items.len();
    let slice: Vec<T> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Json(json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": slice,
        "result_info": {
            "page": page,
            "per_page": per_page,
            "count": slice.len(),
            "total_count": total,
            "total_pages": total.div_ceil(per_page).max(1),
        },
    }))
    .into_response()
}

async fn list_zones(AxState(s): AxState<Shared>, Query(q): Q) -> Response {
    let (page, per_page) = match page_args(&q, 20, 5, 50) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let zones: Vec<Zone> = lock(&s.inner)
        .zones
        .iter()
        .filter(|z| q.get("name").is_none_or(|n| z.name.eq_ignore_ascii_case(n)))
        .filter(|z| q.get("status").is_none_or(|st| z.status == st))
        .cloned()
        .collect();
    paginate(zones, page, per_page)
}

/// A new zone is `pending` until its nameservers are delegated (the sandbox never gets there;
/// records can be managed meanwhile). The 1061 duplicate code is as seen in the wild.
async fn create_zone(AxState(s): AxState<Shared>, body: Bytes) -> Response {
    let bad = |code: u32, m: &str| envelope_err(StatusCode::BAD_REQUEST, code, m);
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad(1001, "Request body is invalid.");
    };
    let Some(name) = v["name"].as_str().map(str::to_ascii_lowercase) else {
        return bad(1001, "name is required.");
    };
    if v["account"]["id"].as_str().is_none_or(str::is_empty) {
        return bad(1002, "account.id is required.");
    }
    let zone = s.zone(&name, "pending");
    let mut inner = lock(&s.inner);
    if inner.zones.iter().any(|z| z.name == name) {
        return bad(1061, &format!("{name} already exists"));
    }
    inner.zones.push(zone.clone());
    ok(json!(zone))
}

fn zone_missing(zone_id: &str) -> Response {
    envelope_err(
        StatusCode::NOT_FOUND,
        7003,
        &format!("Could not route to /zones/{zone_id}, perhaps your object identifier is invalid?"),
    )
}

async fn get_zone(AxState(s): AxState<Shared>, Path(zone_id): Path<String>) -> Response {
    let inner = lock(&s.inner);
    match inner.zones.iter().find(|z| z.id == zone_id) {
        Some(z) => ok(json!(z)),
        None => zone_missing(&zone_id),
    }
}

fn text_match(q: &HashMap<String, String>, field: &str, value: Option<&str>) -> Vec<bool> {
    let mut out = Vec::new();
    let v = value.unwrap_or("").to_ascii_lowercase();
    for (op, arg) in q.iter().filter_map(|(k, a)| {
        k.strip_prefix(field)
            .map(|rest| (rest.trim_start_matches('.'), a.to_ascii_lowercase()))
    }) {
        let hit = match op {
            "" | "exact" => value.is_some() && v == arg,
            "contains" => v.contains(&arg),
            "startswith" => v.starts_with(&arg),
            "endswith" => v.ends_with(&arg),
            "present" => value.is_some_and(|x| !x.is_empty()),
            "absent" => value.is_none_or(str::is_empty),
            _ => continue,
        };
        out.push(hit);
    }
    out
}

async fn list_records(
    AxState(s): AxState<Shared>,
    Path(zone_id): Path<String>,
    Query(q): Q,
) -> Response {
    let (page, per_page) = match page_args(&q, 100, 5, 5_000_000) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let inner = lock(&s.inner);
    if !inner.zones.iter().any(|z| z.id == zone_id) {
        return zone_missing(&zone_id);
    }
    let any = q.get("match").is_some_and(|m| m == "any");
    let mut records: Vec<Record> = inner
        .records
        .iter()
        .filter(|r| r.zone_id == zone_id)
        .filter(|r| {
            let mut checks = Vec::new();
            if let Some(t) = q.get("type") {
                checks.push(r.kind.eq_ignore_ascii_case(t));
            }
            if let Some(p) = q.get("proxied") {
                checks.push(p == if r.proxied { "true" } else { "false" });
            }
            checks.extend(text_match(&q, "name", Some(&r.name)));
            checks.extend(text_match(&q, "content", Some(&r.content)));
            checks.extend(text_match(&q, "comment", r.comment.as_deref()));
            if any && !checks.is_empty() {
                checks.iter().any(|c| *c)
            } else {
                checks.iter().all(|c| *c)
            }
        })
        .cloned()
        .collect();
    drop(inner);
    if let Some(order) = q.get("order") {
        let key = |r: &Record| -> String {
            match order.as_str() {
                "type" => r.kind.clone(),
                "name" => r.name.clone(),
                "content" => r.content.clone(),
                "ttl" => format!("{:010}", r.ttl),
                "proxied" => r.proxied.to_string(),
                _ => String::new(),
            }
        };
        records.sort_by_key(key);
        if q.get("direction").is_some_and(|d| d == "desc") {
            records.reverse();
        }
    }
    paginate(records, page, per_page)
}

async fn get_record(
    AxState(s): AxState<Shared>,
    Path((zone_id, id)): Path<(String, String)>,
) -> Response {
    let inner = lock(&s.inner);
    if !inner.zones.iter().any(|z| z.id == zone_id) {
        return zone_missing(&zone_id);
    }
    match inner
        .records
        .iter()
        .find(|r| r.zone_id == zone_id && r.id == id)
    {
        Some(r) => ok(json!(r)),
        None => record_missing(),
    }
}

fn record_missing() -> Response {
    envelope_err(StatusCode::NOT_FOUND, 81044, "Record does not exist.")
}

const TYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS",
    "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
];

/// The writable fields of a record, as sent.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    name: Option<String>,
    content: Option<String>,
    ttl: Option<u32>,
    proxied: Option<bool>,
    comment: Option<Option<String>>,
    tags: Option<Vec<String>>,
    priority: Option<u16>,
}

fn parse_fields(body: &Bytes) -> Result<Fields, Response> {
    let bad = |m: &str| envelope_err(StatusCode::BAD_REQUEST, 9207, m);
    let v: Value = serde_json::from_slice(body).map_err(|_| bad("Request body is invalid."))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad("Request body is invalid."))?;
    let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(Fields {
        kind: s("type").map(|t| t.to_ascii_uppercase()),
        name: s("name"),
        content: s("content"),
        ttl: obj
            .get("ttl")
            .and_then(Value::as_u64)
            .map(|t| u32::try_from(t).unwrap_or(u32::MAX)),
        proxied: obj.get("proxied").and_then(Value::as_bool),
        comment: obj
            .get("comment")
            .map(|c| c.as_str().map(str::to_string).filter(|c| !c.is_empty())),
        tags: obj.get("tags").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        }),
        priority: obj
            .get("priority")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok()),
    })
}

fn fqdn(name: &str, zone: &str) -> String {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    if n.is_empty() || n == "@" {
        zone.to_string()
    } else if n == zone || n.ends_with(&format!(".{zone}")) {
        n
    } else {
        format!("{n}.{zone}")
    }
}

fn validate(r: &Record) -> Result<(), Response> {
    let bad = |code: u32, m: &str| Err(envelope_err(StatusCode::BAD_REQUEST, code, m));
    if !TYPES.contains(&r.kind.as_str()) {
        return bad(9000, "DNS record type is invalid.");
    }
    if r.content.trim().is_empty() {
        return bad(9005, "Content for the record is invalid.");
    }
    if r.kind == "A" && r.content.parse::<Ipv4Addr>().is_err() {
        return bad(9005, "Content for A record must be a valid IPv4 address.");
    }
    if r.kind == "AAAA" && r.content.parse::<Ipv6Addr>().is_err() {
        return bad(
            9006,
            "Content for AAAA record must be a valid IPv6 address.",
        );
    }
    if r.ttl != 1 && !(60..=86400).contains(&r.ttl) {
        return bad(
            9021,
            "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.",
        );
    }
    if r.proxied && !r.proxiable {
        return bad(9004, "This record type cannot be proxied.");
    }
    Ok(())
}

fn conflicts(records: &[Record], r: &Record) -> Result<(), Response> {
    let same_name = records
        .iter()
        .filter(|o| o.zone_id == r.zone_id && o.id != r.id && o.name == r.name);
    for o in same_name {
        if o.kind == r.kind && o.content == r.content {
            return Err(envelope_err(
                StatusCode::BAD_REQUEST,
                81057,
                "Record already exists.",
            ));
        }
        let address = |k: &str| matches!(k, "A" | "AAAA" | "CNAME");
        if (r.kind == "CNAME" && address(&o.kind)) || (o.kind == "CNAME" && address(&r.kind)) {
            return Err(envelope_err(
                StatusCode::BAD_REQUEST,
                81053,
                "An A, AAAA, or CNAME record with that host already exists.",
            ));
        }
    }
    Ok(())
}

fn apply(r: &mut Record, f: Fields, zone: &str) {
    if let Some(k) = f.kind {
        r.kind = k;
    }
    if let Some(n) = f.name {
        r.name = fqdn(&n, zone);
    }
    if let Some(c) = f.content {
        r.content = c;
    }
    if let Some(t) = f.ttl {
        r.ttl = t;
    }
    if let Some(p) = f.proxied {
        r.proxied = p;
    }
    if let Some(c) = f.comment {
        r.comment = c;
    }
    if let Some(t) = f.tags {
        r.tags = t;
    }
    if f.priority.is_some() {
        r.priority = f.priority;
    }
    r.proxiable = matches!(r.kind.as_str(), "A" | "AAAA" | "CNAME");
    r.modified_on = now();
}

enum Write {
    Create,
    Put(String),
    Patch(String),
}

fn write(s: &State, zone_id: &str, body: &Bytes, mode: Write) -> Response {
    let fields = match parse_fields(body) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let new_id = s.hex();
    let mut inner = lock(&s.inner);
    let Some(zone) = inner
        .zones
        .iter()
        .find(|z| z.id == zone_id)
        .map(|z| z.name.clone())
    else {
        return zone_missing(zone_id);
    };
    if !matches!(mode, Write::Patch(_)) {
        let missing = [
            ("type", fields.kind.is_none()),
            ("name", fields.name.is_none()),
            ("content", fields.content.is_none()),
        ];
        if let Some((field, _)) = missing.iter().find(|(_, m)| *m) {
            return envelope_err(
                StatusCode::BAD_REQUEST,
                match *field {
                    "type" => 9000,
                    "name" => 9007,
                    _ => 9005,
                },
                &format!("DNS record {field} is required."),
            );
        }
    }
    let (mut record, index) = match &mode {
        Write::Create => (
            Record {
                id: new_id,
                zone_id: zone_id.to_string(),
                zone_name: zone.clone(),
                name: String::new(),
                kind: String::new(),
                content: String::new(),
                ttl: 1,
                proxied: false,
                proxiable: false,
                locked: false,
                comment: None,
                tags: Vec::new(),
                priority: None,
                meta: json!({}),
                created_on: now(),
                modified_on: now(),
            },
            None,
        ),
        Write::Put(id) | Write::Patch(id) => {
            match inner
                .records
                .iter()
                .position(|r| r.zone_id == zone_id && r.id == *id)
            {
                Some(i) => {
                    let mut r = inner.records[i].clone();
                    if matches!(mode, Write::Put(_)) {
                        r.ttl = 1;
                        r.proxied = false;
                        r.comment = None;
                        r.tags = Vec::new();
                        r.priority = None;
                    }
                    (r, Some(i))
                }
                None => return record_missing(),
            }
        }
    };
    apply(&mut record, fields, &zone);
    if let Err(e) = validate(&record).and_then(|()| conflicts(&inner.records, &record)) {
        return e;
    }
    let out = json!(record);
    match index {
        Some(i) => inner.records[i] = record,
        None => inner.records.push(record),
    }
    ok(out)
}

async fn create_record(
    AxState(s): AxState<Shared>,
    Path(zone_id): Path<String>,
    body: Bytes,
) -> Response {
    write(&s, &zone_id, &body, Write::Create)
}

async fn put_record(
    AxState(s): AxState<Shared>,
    Path((zone_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    write(&s, &zone_id, &body, Write::Put(id))
}

async fn patch_record(
    AxState(s): AxState<Shared>,
    Path((zone_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    write(&s, &zone_id, &body, Write::Patch(id))
}

async fn delete_record(
    AxState(s): AxState<Shared>,
    Path((zone_id, id)): Path<(String, String)>,
) -> Response {
    let mut inner = lock(&s.inner);
    if !inner.zones.iter().any(|z| z.id == zone_id) {
        return zone_missing(&zone_id);
    }
    match inner
        .records
        .iter()
        .position(|r| r.zone_id == zone_id && r.id == id)
    {
        Some(i) => {
            inner.records.remove(i);
            ok(json!({"id": id}))
        }
        None => record_missing(),
    }
}
