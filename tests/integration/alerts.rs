//! Alerts against a real Postgres and a real API server: burn-rate alerts over a simulated
//! clock, webhook receivers (real HTTP servers in the test) in both formats with a retry, the
//! alerts admin API behind TokenReview/SubjectAccessReview with its audit log, the `spec.slo`
//! admission rules, and malformed queries generated from the OpenAPI document.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use berth::{
    alerts::{
        AlertMetrics, Evaluator, Snapshot,
        evaluate::{Config, SecretName},
        notify::RetryPolicy,
        slo,
    },
    api::Deployment,
    store::Store,
};
use chrono::{DateTime, TimeDelta, Utc};
use k8s_openapi::api::core::v1::Event;
use kube::{
    Api,
    api::ListParams,
    runtime::events::{Recorder, Reporter},
};
use proptest::{prelude::*, strategy::ValueTree as _, test_runner::TestRunner};
use serde_json::{Value, json};

use crate::support::{self, ControllerProcess, apply, kubectl};

/// What a test receiver was sent: every body it accepted, and how many requests came.
#[derive(Default)]
struct Inbox {
    accepted: Vec<Value>,
    requests: usize,
    /// Requests still to answer with 500.
    fail_next: usize,
}

type Shared = Arc<Mutex<Inbox>>;

async fn receive(State(inbox): State<Shared>, Json(body): Json<Value>) -> StatusCode {
    let mut inbox = inbox.lock().unwrap();
    inbox.requests += 1;
    if inbox.fail_next > 0 {
        inbox.fail_next -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    inbox.accepted.push(body);
    StatusCode::OK
}

/// A webhook receiver on loopback; returns its URL and inbox.
async fn receiver(fail_first: usize) -> (String, Shared) {
    let inbox: Shared = Arc::new(Mutex::new(Inbox {
        fail_next: fail_first,
        ..Inbox::default()
    }));
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, inbox)
}

async fn migrated_store(prefix: &str) -> (Store, String) {
    let url = support::database(prefix).await;
    let store = Store::connect_lazy(&url, 4).unwrap();
    store.migrate().await.unwrap();
    (store, url)
}

/// Minute rows from `start` for `minutes`, two probes a minute (all fast), both failing in
/// `[outage_from, outage_to)`, and the hour rows that add them up — what the rollup job writes.
async fn seed_rollups(
    store: &Store,
    target: &str,
    start: DateTime<Utc>,
    minutes: i64,
    outage: (DateTime<Utc>, DateTime<Utc>),
) {
    sqlx::query(
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
                                    latency_histogram, latency_sum_ms, latency_min_ms, latency_max_ms) \
         SELECT $1, 'minute', t, 2, CASE WHEN t >= $4 AND t < $5 THEN 2 ELSE 0 END, \
                '{0,0,0,2,0,0,0,0,0,0,0}', 150, 70, 80 \
         FROM generate_series($2::timestamptz, $2::timestamptz + ($3 - 1) * interval '1 minute', \
                              interval '1 minute') AS t",
    )
    .bind(target)
    .bind(start)
    .bind(minutes)
    .bind(outage.0)
    .bind(outage.1)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
                                    latency_histogram, latency_sum_ms) \
         SELECT target, 'hour', date_trunc('hour', bucket_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', \
                sum(count), sum(failures), ARRAY[0, 0, 0, sum(count), 0, 0, 0, 0, 0, 0, 0], \
                sum(latency_sum_ms) \
         FROM probe_rollups WHERE target = $1 AND resolution = 'minute' GROUP BY 1, 3",
    )
    .bind(target)
    .execute(store.pool())
    .await
    .unwrap();
}

// Protects: the burn-rate windows read each row once into segments (slo::read_windows), and
// every window adds up exactly what reading its own rows does: minute rows for windows up to
// 6 h, whole hour rows plus the current hour's minutes beyond; rows at or after `now` and
// windows without rows left out; at times on, just after and within an hour.
#[tokio::test]
async fn burn_rate_windows_add_up_exactly_their_own_rows() {
    let (store, _) = migrated_store("alerts_windows").await;
    let base = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    // Varied rows: minutes over the last 8 h, hours over the last 5 days, some in the future;
    // a second target with only old hour rows.
    sqlx::query(
        "INSERT INTO probe_rollups (target, resolution, bucket_start, count, failures, \
                                    latency_histogram, latency_sum_ms) \
         SELECT 'a', 'minute', t, 3 + (extract(epoch FROM t)::bigint / 60) % 7, \
                (extract(epoch FROM t)::bigint / 60) % 3, \
                ARRAY[(extract(epoch FROM t)::bigint / 60) % 5, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1], 10 \
         FROM generate_series($1::timestamptz - interval '8 hours', $1::timestamptz + interval '2 hours', \
                              interval '1 minute') AS t \
         UNION ALL \
         SELECT tg, 'hour', t, 100 + (extract(epoch FROM t)::bigint / 3600) % 11, \
                (extract(epoch FROM t)::bigint / 3600) % 4, \
                ARRAY[0, 0, (extract(epoch FROM t)::bigint / 3600) % 9, 50, 0, 0, 0, 0, 0, 3, 0], 10 \
         FROM generate_series($1::timestamptz - interval '5 days', $1::timestamptz + interval '2 hours', \
                              interval '1 hour') AS t, \
              unnest(ARRAY['a', 'b']) AS tg \
         WHERE tg = 'a' OR t < $1::timestamptz - interval '2 days'",
    )
    .bind(base)
    .execute(store.pool())
    .await
    .unwrap();
    let targets = vec!["a".to_owned(), "b".to_owned(), "none".to_owned()];
    for offset in [0, 1, 37 * 60 + 13, 59 * 60 + 59] {
        let now = base + TimeDelta::seconds(offset);
        let got = slo::read_windows(&store, &targets, now).await.unwrap();
        let this_hour = base + TimeDelta::hours(offset / 3600);
        for target in &targets {
            for w in berth::alerts::burn_rate::WINDOWS {
                let span = TimeDelta::from_std(w).unwrap();
                let (hours, minutes_from) = if w <= Duration::from_secs(6 * 3600) {
                    (None, now - span)
                } else {
                    let from = this_hour - span;
                    (Some(from), this_hour)
                };
                let want: (i64, i64, Vec<i64>) = sqlx::query_as(
                    "SELECT count(*), coalesce(sum(count), 0)::bigint, ARRAY[ \
                        coalesce(sum(latency_histogram[1]), 0)::bigint, \
                        coalesce(sum(latency_histogram[3]), 0)::bigint, \
                        coalesce(sum(latency_histogram[11]), 0)::bigint, \
                        coalesce(sum(failures), 0)::bigint] \
                     FROM probe_rollups WHERE target = $1 AND ( \
                       (resolution = 'minute' AND bucket_start >= $2 AND bucket_start < $3) \
                       OR (resolution = 'hour' AND bucket_start >= $4 AND bucket_start < $5))",
                )
                .bind(target)
                .bind(minutes_from)
                .bind(now)
                .bind(hours.unwrap_or(now))
                .bind(if hours.is_some() { this_hour } else { now })
                .fetch_one(store.pool())
                .await
                .unwrap();
                let c = got.get(target).and_then(|t| t.get(&w));
                if want.0 == 0 {
                    assert!(c.is_none(), "{target} {w:?} at {now}: no rows, no window");
                    continue;
                }
                let c = c.unwrap_or_else(|| panic!("{target} {w:?} at {now}: missing"));
                assert_eq!(
                    (
                        c.count,
                        vec![c.histogram[0], c.histogram[2], c.histogram[10], c.failures]
                    ),
                    (want.1, want.2),
                    "{target} {w:?} at {now}"
                );
            }
        }
    }
}

fn bodies_about(inbox: &Shared, rule: &str, slack: bool) -> Vec<String> {
    let inbox = inbox.lock().unwrap();
    inbox
        .accepted
        .iter()
        .filter_map(|b| {
            if slack {
                let text = b["text"].as_str()?;
                text.contains(rule).then(|| {
                    if text.contains("[RESOLVED]") {
                        "resolved"
                    } else {
                        "firing"
                    }
                    .to_string()
                })
            } else {
                (b["alert"]["rule"] == rule).then(|| b["event"].as_str().unwrap().to_string())
            }
        })
        .collect()
}

// Protects: the workbook's multi-window burn rates over a simulated clock. A 30-minute total
// outage of a service probed twice a minute pages once 5 failed minutes make the 1h window burn
// ≥ 14.4x (T+5m), opens a ticket once the day burns ≥ 3x (T+22m), keeps one alert per rule
// and resource while it lasts (no second page), and resolves the page when the 30m window of
// the 6h pair is clean again (T+60m) while the ticket stays. Each webhook receiver (Slack and
// JSON format) gets exactly one firing and one resolve payload for the page, the JSON one
// despite answering 500 to its first request; Events land on the Deployment; the gauge counts.
#[tokio::test]
async fn burn_rate_alert_fires_and_resolves_on_a_simulated_clock() {
    let client = support::client().await;
    let ns = support::namespace(&client, "alerts-burn").await;
    let (store, _) = migrated_store("alerts_burn").await;
    apply(
        &ns,
        "apiVersion: berth.dev/v1alpha1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  environmentRef: {name: production}\n  service: {railway: {serviceId: svc-api}}\n  source: {repo: vocilia/api, commit: abcdef1}\n",
    );
    let dep = Api::<Deployment>::namespaced(client.clone(), &ns)
        .get("api")
        .await
        .unwrap();
    let snapshot = Snapshot {
        deployments: vec![Arc::new(dep)],
        ..Snapshot::default()
    };

    let (slack_url, slack) = receiver(0).await;
    let (json_url, json_inbox) = receiver(1).await;
    apply(
        &ns,
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: alert-receivers}}\nstringData:\n  ops-slack: '{{\"url\": \"{slack_url}\", \"format\": \"slack\"}}'\n  audit-json: |\n    url: {json_url}\n    format: json\n"
        ),
    );

    let t0: DateTime<Utc> = "2025-03-03T10:00:00Z".parse().unwrap();
    let minute = TimeDelta::minutes(1);
    let target = slo::target(&ns, "api");
    seed_rollups(
        &store,
        &target,
        t0 - TimeDelta::hours(80),
        80 * 60 + 8 * 60,
        (t0, t0 + minute * 30),
    )
    .await;

    let metrics = Arc::new(AlertMetrics::default());
    let evaluator = Evaluator::new(
        store.clone(),
        client.clone(),
        Recorder::new(client.clone(), Reporter::from("berth-test")),
        metrics.clone(),
        Config {
            receivers: Some(SecretName {
                namespace: ns.clone(),
                name: "alert-receivers".into(),
            }),
            scope: Some(ns.clone()),
            retry: RetryPolicy {
                attempts: 3,
                backoff: Duration::from_millis(20),
                timeout: Duration::from_secs(5),
            },
            ..Config::default()
        },
    )
    .unwrap();

    let (mut page_fired, mut page_resolved, mut ticket_fired) = (None, None, None);
    for step in -3..=70 {
        let now = t0 + minute * step;
        let report = evaluator.pass(&snapshot, now).await.unwrap();
        assert!(
            report.problems.is_empty(),
            "at T{step:+}m: {:?}",
            report.problems
        );
        for a in &report.fired {
            match a.rule.as_str() {
                slo::AVAILABILITY_PAGE => {
                    assert!(page_fired.is_none(), "paged twice (again at T{step:+}m)");
                    page_fired = Some(step);
                }
                slo::AVAILABILITY_TICKET => ticket_fired = Some(step),
                other => panic!("unexpected alert {other} at T{step:+}m"),
            }
            assert_eq!(a.fired_at, now);
        }
        for a in &report.resolved {
            assert_eq!(
                a.rule,
                slo::AVAILABILITY_PAGE,
                "only the page resolves by T+70m"
            );
            page_resolved = Some(step);
            assert_eq!(a.resolved_at, Some(now));
        }
    }
    assert_eq!(page_fired, Some(5), "page after 5 failed minutes");
    assert_eq!(ticket_fired, Some(22), "ticket once the day burns 3x");
    assert_eq!(
        page_resolved,
        Some(60),
        "page resolves when the 30m window is clean"
    );

    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT rule, state, severity FROM alerts ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (
                slo::AVAILABILITY_PAGE.into(),
                "resolved".into(),
                "critical".into()
            ),
            (
                slo::AVAILABILITY_TICKET.into(),
                "firing".into(),
                "warning".into()
            ),
        ]
    );

    // Exactly one firing and one resolve per receiver for the page, one firing for the ticket.
    for (inbox, slack_format) in [(&slack, true), (&json_inbox, false)] {
        assert_eq!(
            bodies_about(inbox, slo::AVAILABILITY_PAGE, slack_format),
            ["firing", "resolved"]
        );
        assert_eq!(
            bodies_about(inbox, slo::AVAILABILITY_TICKET, slack_format),
            ["firing"]
        );
    }
    let json_requests = json_inbox.lock().unwrap().requests;
    assert_eq!(
        json_requests, 4,
        "three payloads plus the one retried after a 500"
    );
    let first = json_inbox.lock().unwrap().accepted[0].clone();
    assert_eq!(first["alert"]["namespace"], ns.as_str());
    assert_eq!(first["alert"]["kind"], "Deployment");
    assert_eq!(first["alert"]["firedAt"], "2025-03-03T10:05:00Z");
    let delivered: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM alert_notifications WHERE delivered_at IS NOT NULL",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(delivered, 6);

    // Events on the Deployment (the recorder folds repeats of a reason into one series).
    let events = Api::<Event>::namespaced(client.clone(), &ns)
        .list(&ListParams::default())
        .await
        .unwrap();
    let reasons: Vec<&str> = events
        .items
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("api"))
        .filter(|e| e.involved_object.uid.is_some())
        .filter_map(|e| e.reason.as_deref())
        .collect();
    assert!(reasons.contains(&"AlertFiring"), "{reasons:?}");
    assert!(reasons.contains(&"AlertResolved"), "{reasons:?}");

    // The gauge: one ticket firing, no page.
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(
        text.contains("berth_alerts{rule=\"slo-availability-ticket\",state=\"firing\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("berth_alerts{rule=\"slo-availability-page\",state=\"firing\"} 0"),
        "{text}"
    );
}

// Protects: the alerts API's authentication and RBAC (list needs `list deployments` in the
// alert's namespace, ack needs `patch deployments`), its answers (401/403/404/409/400),
// pagination, that an acknowledgement moves the state and names the caller, and that every
// acknowledgement attempt is in the audit log.
#[tokio::test]
async fn alerts_api_is_authorised_paginated_and_ack_is_audited() {
    let client = support::client().await;
    let ns = support::namespace(&client, "alerts-api").await;
    let (store, url) = migrated_store("alerts_api").await;
    // Rules the evaluator does not know, so its passes leave these rows alone.
    for (rule, namespace, state) in [
        ("external-check", ns.as_str(), "firing"),
        ("external-check-2", ns.as_str(), "firing"),
        ("external-old", ns.as_str(), "resolved"),
        ("external-check", "somewhere-else", "firing"),
    ] {
        sqlx::query(
            "INSERT INTO alerts (rule, resource_namespace, resource_kind, resource_name, severity, \
                                 state, resolved_at, message) \
             VALUES ($1, $2, 'Deployment', 'api', 'warning', $3, \
                     CASE WHEN $3 = 'resolved' THEN now() END, 'checked')",
        )
        .bind(rule)
        .bind(namespace)
        .bind(state)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let ids: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, rule, resource_namespace FROM alerts ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let (firing, resolved, elsewhere) = (ids[0].0, ids[2].0, ids[3].0);

    let roles = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: viewer, namespace: {ns}}}\nrules:\n- {{apiGroups: [berth.dev], resources: [deployments], verbs: [get, list]}}\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: operator, namespace: {ns}}}\nrules:\n- {{apiGroups: [berth.dev], resources: [deployments], verbs: [get, list, patch]}}\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: alice-views, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: viewer}}\nsubjects: [{{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}}]\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: carol-operates, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: operator}}\nsubjects: [{{kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}}]\n"
    );
    let (ok, _, err) = kubectl(&["apply", "-f", "-"], Some(&roles));
    assert!(ok, "{err}");

    let c = ControllerProcess::start(&ns, Some(url));
    c.wait_ready().await;
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let (alice, bob, carol) = (
        support::token("alice"),
        support::token("bob"),
        support::token("carol"),
    );

    let (s, body) = c.api(get.clone(), "/api/admin/alerts", None, None).await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(body["error"]["reason"], "Unauthorized");

    // Bob may list nothing: an empty page without a namespace, 403 naming it with one.
    let (s, body) = c
        .api(get.clone(), "/api/admin/alerts", Some(&bob), None)
        .await;
    assert_eq!(
        (s.as_u16(), body["items"].as_array().unwrap().len()),
        (200, 0),
        "{body}"
    );
    let (s, body) = c
        .api(
            get.clone(),
            &format!("/api/admin/alerts?namespace={ns}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("list deployments.berth.dev")
    );

    // Alice sees her namespace's three, newest first, never the other namespace's.
    let (s, body) = c
        .api(get.clone(), "/api/admin/alerts", Some(&alice), None)
        .await;
    assert_eq!(s, 200, "{body}");
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{body}");
    assert!(items.iter().all(|a| a["namespace"] == ns.as_str()));
    assert!(items.iter().all(|a| a["id"] != elsewhere));
    assert_eq!(items[0]["id"], resolved);
    assert_eq!(body["nextCursor"], Value::Null);
    let (_, body) = c
        .api(
            get.clone(),
            "/api/admin/alerts?state=firing&limit=1",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    let next = body["nextCursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let (_, body) = c
        .api(
            get.clone(),
            &format!("/api/admin/alerts?state=firing&limit=1&cursor={next}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(body["items"][0]["id"], firing, "{body}");
    assert_eq!(body["nextCursor"], Value::Null);
    let (s, body) = c
        .api(
            get.clone(),
            "/api/admin/alerts?state=open",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("state"));

    // Acknowledging: alice may only look; carol may patch.
    let ack = |id: &str| format!("/api/admin/alerts/{id}/ack");
    let (s, body) = c
        .api(post.clone(), &ack(&firing.to_string()), Some(&alice), None)
        .await;
    assert_eq!(s, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("patch deployments.berth.dev")
    );
    let (s, _) = c
        .api(post.clone(), &ack("999999"), Some(&carol), None)
        .await;
    assert_eq!(s, 404);
    let (s, body) = c.api(post.clone(), &ack("abc"), Some(&carol), None).await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = c
        .api(
            post.clone(),
            &ack(&resolved.to_string()),
            Some(&carol),
            None,
        )
        .await;
    assert_eq!(s, 409, "{body}");
    let (s, body) = c
        .api(
            post.clone(),
            &ack(&firing.to_string()),
            Some(&carol),
            Some(json!({"comment": "looking into it"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["state"], "acknowledged");
    assert_eq!(body["acknowledgedBy"], "carol");
    assert!(body["acknowledgedAt"].is_string());
    let (s, body) = c
        .api(
            post.clone(),
            &ack(&firing.to_string()),
            Some(&carol),
            Some(json!({"note": "x"})),
        )
        .await;
    assert_eq!(s, 400, "unknown body field: {body}");

    let audit: Vec<(String, String, String, Value)> = sqlx::query_as(
        "SELECT actor, target, outcome, detail FROM audit_log WHERE action = 'alert.acknowledge' ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let outcomes: Vec<(&str, &str)> = audit
        .iter()
        .map(|(actor, _, outcome, _)| (actor.as_str(), outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [("carol", "refused"), ("carol", "acknowledged")]);
    assert!(
        audit[1].1.starts_with(&format!("alert/{firing} ")),
        "{:?}",
        audit[1]
    );
    assert_eq!(audit[1].3["comment"], "looking into it");
}

/// The namespaces of the alerts a listing returned, and whether `rule` is among them.
fn listed(body: &Value) -> (std::collections::BTreeSet<String>, Vec<String>) {
    let items = body["items"].as_array().expect("a page");
    (
        items
            .iter()
            .map(|a| a["namespace"].as_str().unwrap().to_owned())
            .collect(),
        items
            .iter()
            .map(|a| a["rule"].as_str().unwrap().to_owned())
            .collect(),
    )
}

// Protects: the shared answer cache never serves one caller's answer to a caller with fewer
// rights (or more), even when both ask at the same moment; a new alert shows within about
// a second (the cache's lifetime); a revoked permission stops being served within the
// review cache's 10 s.
#[tokio::test]
async fn shared_answers_follow_rights_and_stay_fresh() {
    let client = support::client().await;
    let ns1 = support::namespace(&client, "answers-a").await;
    let ns2 = support::namespace(&client, "answers-b").await;
    let (store, url) = migrated_store("alerts_answers").await;
    let insert = |rule: &'static str, namespace: String| {
        let store = store.clone();
        async move {
            sqlx::query(
                "INSERT INTO alerts (rule, resource_namespace, resource_kind, resource_name, \
                                     severity, state, message) \
                 VALUES ($1, $2, 'Deployment', 'api', 'warning', 'firing', 'checked')",
            )
            .bind(rule)
            .bind(namespace)
            .execute(store.pool())
            .await
            .unwrap();
        }
    };
    insert("external-a", ns1.clone()).await;
    insert("external-b", ns2.clone()).await;
    let role = |ns: &str, user: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: viewer-{user}, namespace: {ns}}}\nrules:\n- {{apiGroups: [berth.dev], resources: [deployments], verbs: [list]}}\n---\n\
apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {user}-views, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: viewer-{user}}}\nsubjects: [{{kind: User, name: {user}, apiGroup: rbac.authorization.k8s.io}}]\n"
        )
    };
    // Alice may list both namespaces, bob only the first.
    let roles = [role(&ns1, "alice"), role(&ns2, "alice"), role(&ns1, "bob")].join("---\n");
    let (ok, _, err) = kubectl(&["apply", "-f", "-"], Some(&roles));
    assert!(ok, "{err}");

    let c = ControllerProcess::start(&ns1, Some(url));
    c.wait_ready().await;
    let (alice, bob) = (support::token("alice"), support::token("bob"));
    async fn list(c: &ControllerProcess, t: &str) -> (u16, Value) {
        let (status, body) = c.api_get("/api/admin/alerts", Some(t)).await;
        (status.as_u16(), body)
    }
    let both: std::collections::BTreeSet<String> = [ns1.clone(), ns2.clone()].into();
    let first: std::collections::BTreeSet<String> = [ns1.clone()].into();

    // At the same moment, in both orders: everyone gets exactly their own rights' answer.
    for _ in 0..2 {
        let answers = futures::future::join_all((0..40).map(|i| {
            let (who, t) = if i % 2 == 0 {
                ("alice", &alice)
            } else {
                ("bob", &bob)
            };
            let fut = list(&c, t);
            async move { (who, fut.await) }
        }))
        .await;
        for (who, (status, body)) in answers {
            assert_eq!(status, 200, "{who}: {body}");
            let want = if who == "alice" { &both } else { &first };
            assert_eq!(&listed(&body).0, want, "{who}: {body}");
        }
        let (_, body) = list(&c, &bob).await;
        assert_eq!(listed(&body).0, first, "bob after alice: {body}");
        let (_, body) = list(&c, &alice).await;
        assert_eq!(listed(&body).0, both, "alice after bob: {body}");
    }

    // A new alert is listed within about a second.
    insert("external-new", ns1.clone()).await;
    let inserted = std::time::Instant::now();
    support::eventually(Duration::from_secs(5), "the new alert listed", || {
        let fut = list(&c, &bob);
        async move {
            listed(&fut.await.1)
                .1
                .contains(&"external-new".to_owned())
                .then_some(())
        }
    })
    .await;
    let stale = inserted.elapsed();
    assert!(
        stale < Duration::from_millis(1600),
        "listed after {stale:?}"
    );

    // Bob loses his role: his answers stop including the namespace once his cached review
    // expires, while alice's (shared among her equals) are unchanged.
    let (ok, _, err) = kubectl(&["delete", "rolebinding", "bob-views", "-n", &ns1], None);
    assert!(ok, "{err}");
    support::eventually(Duration::from_secs(15), "bob's access revoked", || {
        let fut = list(&c, &bob);
        async move { listed(&fut.await.1).0.is_empty().then_some(()) }
    })
    .await;
    let (_, body) = list(&c, &alice).await;
    assert_eq!(listed(&body).0, both, "{body}");
}

// Protects: `spec.slo` is checked at admission with the field named in the message.
#[tokio::test]
async fn slo_fields_are_validated_at_admission() {
    let client = support::client().await;
    let ns = support::namespace(&client, "alerts-slo").await;
    let dep = |slo: &str| {
        format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Deployment\nmetadata: {{name: api}}\nspec:\n  environmentRef: {{name: production}}\n  service: {{railway: {{serviceId: svc}}}}\n  source: {{repo: a/b, commit: abcdef1}}\n  slo: {slo}\n"
        )
    };
    for (slo, field) in [
        ("{uptimeTarget: \"100\"}", "spec.slo.uptimeTarget"),
        ("{uptimeTarget: \"12.5\"}", "spec.slo.uptimeTarget"),
        ("{latencyP95: 2 seconds}", "spec.slo.latencyP95"),
        ("{latencyP95: 5m}", "spec.slo.latencyP95"),
        ("{window: 3d}", "spec.slo.window"),
        ("{window: 30}", "spec.slo.window"),
    ] {
        let (ok, _, err) = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&dep(slo)));
        assert!(!ok, "{slo} was accepted");
        assert!(err.contains(field), "{slo}: {err}");
    }
    apply(
        &ns,
        &dep("{uptimeTarget: \"99.95\", latencyP95: 800ms, window: 28d}"),
    );
}

/// Values that break parsers: empty, NUL, bad UTF-8, bad escapes, out-of-range numbers and
/// dates, path tricks.
const NASTY: [&str; 12] = [
    "",
    "%00",
    "a%00b",
    "%FF%FE",
    "%ZZ",
    "-1",
    "0",
    "99999999999999999999999",
    "2030-13-45T99:00:00Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "a%2Fb%2F..",
];

/// Malformed values for a query parameter.
fn malformed() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(NASTY.to_vec()).prop_map(String::from),
        "[a-z0-9-]{1,70}",
        "\\PC{0,40}".prop_map(|s| percent_encoding::utf8_percent_encode(
            &s,
            percent_encoding::NON_ALPHANUMERIC
        )
        .to_string()),
        proptest::collection::vec(any::<u8>(), 0..20)
            .prop_map(|b| b.iter().map(|c| format!("%{c:02X}")).collect()),
    ]
}

// Protects: no malformed query makes an admin GET endpoint fail with a 5xx: every documented
// parameter, and some undocumented ones, get generated garbage, against the real server with
// a database and an all-powerful token (so every request gets past RBAC to the parsing).
#[tokio::test]
async fn malformed_queries_never_get_a_5xx() {
    let client = support::client().await;
    let ns = support::namespace(&client, "alerts-fuzz").await;
    let (_, url) = migrated_store("alerts_fuzz").await;
    let c = ControllerProcess::start(&ns, Some(url));
    c.wait_ready().await;
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}/api/admin", c.port);
    let doc: Value = http
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = support::token("admin");
    // Deterministic, so a failure replays.
    let mut runner = TestRunner::deterministic();
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let mut names: Vec<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        names.push("unknown".into());
        // Every parameter with every nasty value once, then random combinations.
        let mut queries: Vec<String> = names
            .iter()
            .flat_map(|n| NASTY.iter().map(move |v| format!("{n}={v}")))
            .collect();
        let case =
            proptest::collection::vec((proptest::sample::select(names.clone()), malformed()), 0..5);
        for _ in 0..48 {
            let pairs = case.new_tree(&mut runner).unwrap().current();
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            queries.push(query.join("&"));
        }
        for query in queries {
            let full = format!("{base}{path}?{query}");
            let resp = http.get(&full).bearer_auth(&admin).send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            assert!(status < 500, "GET {full} answered {status}: {text}");
            assert!(
                serde_json::from_str::<Value>(&text).is_ok(),
                "GET {full} answered {status} without JSON: {text}"
            );
            tried += 1;
        }
    }
    assert!(
        tried >= 48 * 4,
        "only {tried} requests: endpoints missing from the document?"
    );
}
