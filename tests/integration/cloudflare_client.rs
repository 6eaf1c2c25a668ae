//! The Cloudflare DNS client against the in-process sandbox: records across pages, ownership
//! comments, the fewest record calls, foreign records left alone, TXT quoting, zones, and
//! the failures a reconciler must tell apart (rejected token, 429 bursts).

use std::{sync::Arc, time::Duration};

use berth::{
    providers::{
        Class, Error,
        dns::{
            Change, DnsRecords, Ensured, RecordSet, RecordType,
            cloudflare::{Cloudflare, PROVIDER},
        },
        http::{BudgetConfig, HttpMetrics, ProviderHttp, RetryConfig, Secret},
    },
    sandbox::{Sandbox, SandboxConfig, SandboxHandle, Server},
};
use serde_json::{Value, json};

const ZONE: &str = "example.com";
const WRITES: [&str; 3] = [
    "create dns record",
    "update dns record",
    "delete dns record",
];

async fn sandbox() -> SandboxHandle {
    Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts")
}

/// A client with metrics of its own and small pages, so listings span several pages.
fn client(
    sb: &SandboxHandle,
    token: &str,
    account: Option<&str>,
) -> (Cloudflare, Arc<HttpMetrics>) {
    let metrics = Arc::new(HttpMetrics::default());
    let mut config = Cloudflare::config(Some(sb.cloudflare_url()), Secret::new(token), account);
    config.retry = RetryConfig {
        base: Duration::from_millis(10),
        ..RetryConfig::default()
    };
    config.budget = BudgetConfig {
        per_second: 1000.0,
        burst: 1000,
        ..BudgetConfig::default()
    };
    let http = ProviderHttp::new(config, metrics.clone()).expect("client");
    let client = Cloudflare::new(http, account.map(Into::into)).with_page_size(5);
    (client, metrics)
}

fn writes(metrics: &HttpMetrics) -> u64 {
    WRITES.iter().map(|op| metrics.sent("cloudflare", op)).sum()
}

fn set(name: &str, rtype: RecordType, values: &[&str], comment: Option<&str>) -> RecordSet {
    RecordSet {
        name: format!("{name}.{ZONE}."),
        rtype,
        ttl: 300,
        records: values.iter().map(|v| (*v).to_owned()).collect(),
        comment: comment.map(Into::into),
    }
}

/// Raw API access, as a person or another tool would change the zone.
struct Raw<'a> {
    sb: &'a SandboxHandle,
    http: reqwest::Client,
}

impl<'a> Raw<'a> {
    fn new(sb: &'a SandboxHandle) -> Self {
        Self {
            sb,
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.sb.cloudflare_url()))
            .bearer_auth(&self.sb.tokens().cloudflare);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    async fn zone_id(&self) -> String {
        let zones = self
            .call(reqwest::Method::GET, &format!("/zones?name={ZONE}"), None)
            .await;
        zones["result"][0]["id"].as_str().unwrap().to_owned()
    }

    async fn records(&self) -> Vec<Value> {
        let zone = self.zone_id().await;
        let all = self
            .call(
                reqwest::Method::GET,
                &format!("/zones/{zone}/dns_records?per_page=1000"),
                None,
            )
            .await;
        all["result"].as_array().unwrap().clone()
    }

    async fn create(&self, record: Value) -> Value {
        let zone = self.zone_id().await;
        let created = self
            .call(
                reqwest::Method::POST,
                &format!("/zones/{zone}/dns_records"),
                Some(record),
            )
            .await;
        assert_eq!(created["success"], true, "{created}");
        created["result"].clone()
    }
}

// 13 records over 3+ pages are all listed with their comments; applying the same changes
// again sends no write at all, only the reads that compare.
#[tokio::test]
async fn cloudflare_records_span_pages_keep_comments_and_a_repeated_apply_writes_nothing() {
    let sb = sandbox().await;
    let (cf, metrics) = client(&sb, &sb.tokens().cloudflare, None);
    let marker = "managed-by=berth; owner=default/api";
    let mut changes: Vec<Change> = (0..10)
        .map(|i| {
            Change::Replace(set(
                &format!("h{i}"),
                RecordType::A,
                &[&format!("192.0.2.{}", i + 1)],
                Some(marker),
            ))
        })
        .collect();
    changes.push(Change::Replace(set(
        "multi",
        RecordType::A,
        &["198.51.100.1", "198.51.100.2", "198.51.100.3"],
        Some(marker),
    )));
    cf.apply(ZONE, &changes).await.unwrap();
    assert_eq!(metrics.sent("cloudflare", "create dns record"), 13);

    let listed_before = metrics.sent("cloudflare", "list dns records");
    let sets = cf.list_records(ZONE).await.unwrap();
    assert!(
        metrics.sent("cloudflare", "list dns records") - listed_before >= 3,
        "13 records at 5 a page take 3 pages"
    );
    assert_eq!(sets.len(), 11);
    let multi = sets
        .iter()
        .find(|s| s.name == format!("multi.{ZONE}."))
        .unwrap();
    let mut values = multi.records.clone();
    values.sort();
    assert_eq!(values, ["198.51.100.1", "198.51.100.2", "198.51.100.3"]);
    assert_eq!(multi.ttl, 300);
    assert!(
        sets.iter().all(|s| s.comment.as_deref() == Some(marker)),
        "{sets:?}"
    );

    let before = writes(&metrics);
    cf.apply(ZONE, &changes).await.unwrap();
    assert_eq!(writes(&metrics), before, "a repeated apply makes no write");
    cf.apply(ZONE, &[]).await.unwrap();

    // Changing one value of three costs one update; no comment given keeps the marker.
    let before = writes(&metrics);
    cf.apply(
        ZONE,
        &[Change::Replace(set(
            "multi",
            RecordType::A,
            &["198.51.100.1", "198.51.100.2", "198.51.100.9"],
            None,
        ))],
    )
    .await
    .unwrap();
    assert_eq!(writes(&metrics) - before, 1);
    assert_eq!(metrics.sent("cloudflare", "update dns record"), 1);
    let sets = cf.list_records(ZONE).await.unwrap();
    let multi = sets
        .iter()
        .find(|s| s.name == format!("multi.{ZONE}."))
        .unwrap();
    assert!(multi.records.contains(&"198.51.100.9".to_owned()));
    assert_eq!(multi.comment.as_deref(), Some(marker));

    // Deleting a set removes each record; deleting it again is fine and costs no write.
    let delete = Change::Delete {
        name: format!("multi.{ZONE}"),
        rtype: RecordType::A,
    };
    cf.apply(ZONE, std::slice::from_ref(&delete)).await.unwrap();
    assert_eq!(metrics.sent("cloudflare", "delete dns record"), 3);
    cf.apply(ZONE, &[delete]).await.unwrap();
    assert_eq!(metrics.sent("cloudflare", "delete dns record"), 3);
    assert_eq!(cf.list_records(ZONE).await.unwrap().len(), 10);
}

// Records berth was not asked about — other names, or another type at the same name — keep
// their id, content and comment through replace and delete at that name.
#[tokio::test]
async fn cloudflare_foreign_records_are_untouched() {
    let sb = sandbox().await;
    let raw = Raw::new(&sb);
    let mx = raw
        .create(json!({"type": "MX", "name": "www", "content": "mail.example.net", "priority": 10, "comment": "team mail"}))
        .await;
    let other = raw
        .create(json!({"type": "A", "name": "legacy", "content": "203.0.113.5", "proxied": true}))
        .await;
    let (cf, _) = client(&sb, &sb.tokens().cloudflare, None);
    cf.apply(
        ZONE,
        &[
            Change::Replace(set("www", RecordType::A, &["192.0.2.80"], Some("berth"))),
            Change::Delete {
                name: format!("www.{ZONE}"),
                rtype: RecordType::Txt,
            },
        ],
    )
    .await
    .unwrap();
    cf.apply(
        ZONE,
        &[Change::Replace(set(
            "www",
            RecordType::A,
            &["192.0.2.81"],
            Some("berth"),
        ))],
    )
    .await
    .unwrap();

    let records = raw.records().await;
    assert_eq!(records.len(), 3, "{records:#?}");
    for foreign in [&mx, &other] {
        let now = records.iter().find(|r| r["id"] == foreign["id"]).unwrap();
        assert_eq!(now, foreign, "untouched");
    }
    let sets = cf.list_records(ZONE).await.unwrap();
    let mx_set = sets.iter().find(|s| s.rtype == RecordType::Mx).unwrap();
    assert_eq!(mx_set.records, ["10 mail.example.net."]);
    assert_eq!(mx_set.comment.as_deref(), Some("team mail"));
}

// TXT text with quotes and spaces goes out as a quoted character-string, reads back as the
// same text, and compares equal on the next apply (no rewrite).
#[tokio::test]
async fn cloudflare_txt_with_quotes_and_spaces_round_trips() {
    let sb = sandbox().await;
    let (cf, metrics) = client(&sb, &sb.tokens().cloudflare, None);
    let text = r#"token with "quotes" and  spaces \ backslash"#;
    let change = Change::Replace(set("_acme-challenge", RecordType::Txt, &[text], None));
    cf.apply(ZONE, std::slice::from_ref(&change)).await.unwrap();
    let sets = cf.list_records(ZONE).await.unwrap();
    assert_eq!(sets[0].records, [text]);
    assert_eq!(sets[0].name, format!("_acme-challenge.{ZONE}."));
    let stored = Raw::new(&sb).records().await;
    assert_eq!(
        stored[0]["content"],
        r#""token with \"quotes\" and  spaces \\ backslash""#
    );
    let before = writes(&metrics);
    cf.apply(ZONE, &[change]).await.unwrap();
    assert_eq!(writes(&metrics), before);

    // A CNAME replaces an A at one name: the A goes first, so Cloudflare accepts the CNAME.
    cf.apply(
        ZONE,
        &[Change::Replace(set(
            "w",
            RecordType::A,
            &["192.0.2.1"],
            None,
        ))],
    )
    .await
    .unwrap();
    cf.apply(
        ZONE,
        &[
            Change::Replace(set("w", RecordType::Cname, &["target.example.net"], None)),
            Change::Delete {
                name: format!("w.{ZONE}"),
                rtype: RecordType::A,
            },
        ],
    )
    .await
    .unwrap();
    let sets = cf.list_records(ZONE).await.unwrap();
    let w: Vec<&RecordSet> = sets
        .iter()
        .filter(|s| s.name == format!("w.{ZONE}."))
        .collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].rtype, RecordType::Cname);
    assert_eq!(w[0].records, ["target.example.net."]);
}

// An existing zone is found; a missing one is created only when an account is configured,
// and otherwise is a permanent not-found that says why.
#[tokio::test]
async fn cloudflare_zones_are_found_or_created_with_an_account() {
    let sb = sandbox().await;
    let token = sb.tokens().cloudflare.clone();
    let (cf, metrics) = client(&sb, &token, None);
    assert_eq!(cf.ensure_zone(ZONE).await.unwrap(), Ensured::Existed);
    let err = cf.ensure_zone("new.example.org.").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.is_permanent());
    assert!(
        err.to_string().contains("no Cloudflare account id"),
        "{err}"
    );
    assert_eq!(metrics.sent("cloudflare", "create zone"), 0);
    let err = cf.list_records("new.example.org").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    let (cf, metrics) = client(&sb, &token, Some("acc_0123"));
    assert_eq!(
        cf.ensure_zone("new.example.org.").await.unwrap(),
        Ensured::Created
    );
    assert_eq!(
        cf.ensure_zone("new.example.org").await.unwrap(),
        Ensured::Existed
    );
    assert_eq!(metrics.sent("cloudflare", "create zone"), 1);
    cf.apply(
        "new.example.org",
        &[Change::Replace(RecordSet {
            name: "new.example.org".into(),
            rtype: RecordType::Txt,
            ttl: 0,
            records: vec!["apex".into()],
            comment: None,
        })],
    )
    .await
    .unwrap();
    let sets = cf.list_records("new.example.org").await.unwrap();
    assert_eq!(sets[0].name, "new.example.org.");
    assert_eq!(sets[0].ttl, 1, "TTL 0 asks for Cloudflare's automatic TTL");

    let outside = Change::Replace(RecordSet {
        name: "x.elsewhere.test.".into(),
        ..set("x", RecordType::A, &["192.0.2.1"], None)
    });
    let err = cf.apply(ZONE, &[outside]).await.unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert!(err.to_string().contains("outside zone"), "{err}");
}

// A wrong token is a permanent error after exactly one attempt, naming Cloudflare and the
// account, never the token.
#[tokio::test]
async fn cloudflare_wrong_token_is_rejected_after_one_attempt_without_the_token() {
    let sb = sandbox().await;
    let wrong = "cf-wrong-token-8e7d6c5b4a";
    let (cf, metrics) = client(&sb, wrong, Some("acc_0123"));
    let err = cf.list_records(ZONE).await.unwrap_err();
    assert!(
        matches!(err, Error::CredentialsRejected { status: 403, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Permanent);
    let text = err.to_string();
    assert!(
        text.contains("credentials rejected by Cloudflare"),
        "{text}"
    );
    assert!(text.contains("account acc_0123"), "{text}");
    assert_eq!(metrics.sent("cloudflare", "find zone"), 1);
    assert_eq!(metrics.retries("cloudflare", "find zone"), 0);
    let shown = format!("{err} {err:?} {cf:?}");
    assert!(!shown.contains(wrong), "{shown}");
    assert_eq!(cf.provider(), PROVIDER);
}

// Bursts of 429 with Retry-After are waited out: the calls succeed, the waits are counted.
#[tokio::test]
async fn cloudflare_survives_429_bursts() {
    let sb = sandbox().await;
    let (cf, metrics) = client(&sb, &sb.tokens().cloudflare, None);
    let faults = sb.faults(Server::Cloudflare).unwrap();
    faults.burst_429(2, 1);
    cf.apply(
        ZONE,
        &[Change::Replace(set(
            "api",
            RecordType::A,
            &["192.0.2.7"],
            None,
        ))],
    )
    .await
    .unwrap();
    assert_eq!(
        metrics.requests("cloudflare", "find zone", "rate_limited"),
        2
    );
    assert_eq!(metrics.throttled_count("cloudflare", "retry_after"), 2);
    faults.burst_429(1, 1);
    let sets = cf.list_records(ZONE).await.unwrap();
    assert_eq!(sets[0].records, ["192.0.2.7"]);
    assert_eq!(faults.injected(), 3);
}
