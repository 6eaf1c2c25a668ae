//! The Domain reconciler in a controller process against a real PowerDNS serving the zone
//! and the in-process sandbox for Vercel and Railway. The sandbox resolves through the same
//! PowerDNS (`SandboxConfig::dns_server`), so a platform verifies a domain only once berth's
//! records are really served; every record check below is a real DNS query.

use std::{collections::BTreeSet, time::Duration};

use berth::{
    devstack::PowerDns as Server,
    providers::{
        dns::{Change, DnsRecords, RecordSet, RecordType, lookup::Lookup, powerdns::PowerDns},
        http::{HttpMetrics, Secret},
    },
    sandbox::{Fixture, Fixtures, Sandbox, SandboxConfig, SandboxHandle, VERCEL_TEAM_ID},
};

use crate::support::{self, ControllerProcess, apply, condition, eventually, get_json};

struct World {
    pdns: Server,
    sandbox: SandboxHandle,
    zone: String,
}

async fn world() -> World {
    let pdns = Server::start().await.expect("pdns_server starts");
    let sandbox = Sandbox::start(SandboxConfig {
        fixtures: Fixtures {
            vercel_projects: vec!["web".into()],
            railway_project: Fixture::with_id("app", "p-1"),
            railway_environments: vec![Fixture::with_id("production", "e-1")],
            railway_services: vec![Fixture::with_id("api", "s-1")],
            ..Fixtures::default()
        },
        dns_server: Some(pdns.dns),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    // Two labels, so the platforms' idea of the apex is the zone itself.
    let zone = format!("d{:08x}.test", rand::random::<u32>());
    admin_client(&pdns).ensure_zone(&zone).await.expect("zone");
    World {
        pdns,
        sandbox,
        zone,
    }
}

/// A record made by hand in the zone, as berth finds them in real zones: no ownership marker.
async fn foreign_record(w: &World, name: &str, rtype: RecordType, value: &str) {
    let record = RecordSet {
        name: name.into(),
        rtype,
        ttl: 60,
        records: vec![value.into()],
        comment: None,
    };
    admin_client(&w.pdns)
        .apply(&w.zone, &[Change::Replace(record)])
        .await
        .unwrap();
}

fn admin_client(pdns: &Server) -> PowerDns {
    PowerDns::connect(
        &pdns.api_url,
        Secret::new(pdns.api_key.clone()),
        std::sync::Arc::new(HttpMetrics::default()),
    )
    .expect("client")
}

fn environment(w: &World) -> String {
    format!(
        r#"
apiVersion: v1
kind: Secret
metadata: {{name: tokens}}
stringData: {{pdns: "{key}", vercel: "{vercel_token}", railway: "{railway_token}"}}
---
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata: {{name: production}}
spec:
  providers:
    railway: {{projectId: p-1, environmentId: e-1, tokenSecretRef: {{name: tokens, key: railway}}, endpoint: "{railway}/graphql/v2"}}
    vercel: {{teamId: {team}, tokenSecretRef: {{name: tokens, key: vercel}}, endpoint: "{vercel}"}}
    dns:
      zone: {zone}
      nameservers: ["{ns}"]
      powerdns: {{url: "{api}", apiKeySecretRef: {{name: tokens, key: pdns}}}}
"#,
        key = w.pdns.api_key,
        vercel_token = w.sandbox.tokens().vercel,
        railway_token = w.sandbox.tokens().railway,
        railway = w.sandbox.railway_url(),
        vercel = w.sandbox.vercel_url(),
        team = VERCEL_TEAM_ID,
        zone = w.zone,
        ns = w.pdns.dns,
        api = w.pdns.api_url,
    )
}

fn domain(name: &str, host: &str, target: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Domain\nmetadata: {{name: {name}}}\nspec: {{hostname: {host}, environmentRef: {{name: production}}, ttl: 60, target: {target}}}\n"
    )
}

async fn ready(ns: &str, name: &str, c: &ControllerProcess) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let d = get_json(ns, &format!("domain/{name}"));
        if let Some(d) = d.as_ref().filter(|d| {
            condition(d, "Ready").is_some_and(|c| c["status"] == "True")
                && d["status"]["observedGeneration"] == d["metadata"]["generation"]
        }) {
            return d.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Domain {name} not Ready after 60 s: {d:#?}\ncontroller log:\n{}",
            c.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn set_of(v: Vec<String>) -> BTreeSet<String> {
    v.into_iter().collect()
}

// Protects the whole life of platform and explicit Domains: a Vercel- and a Railway-targeted
// Domain and one with explicit records converge to Ready with the records answerable by
// real DNS; a resync makes no write; deleting them detaches the platform domains and
// removes berth's records only, leaving a foreign record in the zone alone.
#[tokio::test]
async fn platform_and_explicit_domains_converge_resync_without_writes_and_clean_up() {
    let client = support::client().await;
    let ns = support::namespace(&client, "domains").await;
    let w = world().await;
    let z = &w.zone;
    foreign_record(&w, &format!("legacy.{z}"), RecordType::Txt, "hand-made").await;

    let controller = ControllerProcess::start(&ns, None);
    apply(&ns, &environment(&w));
    apply(
        &ns,
        &domain("app", &format!("app.{z}"), "{vercel: {project: web}}"),
    );
    apply(
        &ns,
        &domain("api", &format!("api.{z}"), "{railway: {serviceId: s-1}}"),
    );
    apply(
        &ns,
        &domain(
            "www",
            &format!("www.{z}"),
            "{records: [{type: A, values: [192.0.2.10, 192.0.2.11]}, {type: TXT, values: ['hello world']}]}",
        ),
    );
    let app = ready(&ns, "app", &controller).await;
    let api = ready(&ns, "api", &controller).await;
    let www = ready(&ns, "www", &controller).await;
    for d in [&app, &api] {
        assert_eq!(d["status"]["verification"]["state"], "True", "{d:#}");
    }
    for d in [&app, &api, &www] {
        assert_eq!(d["status"]["propagation"]["state"], "True", "{d:#}");
    }

    // Real DNS answers from the zone's server.
    let dns = Lookup::new(w.pdns.dns).unwrap();
    assert_eq!(
        dns.cname(&format!("app.{z}")).await.unwrap(),
        ["cname.vercel-dns.com."]
    );
    assert!(
        dns.txt(&format!("_vercel.{z}"))
            .await
            .unwrap()
            .iter()
            .any(|t| !t.is_empty()),
        "Vercel's ownership TXT is served"
    );
    let railway_target = dns.cname(&format!("api.{z}")).await.unwrap();
    assert_eq!(railway_target.len(), 1);
    assert!(
        railway_target[0].ends_with(".up.railway.app."),
        "{railway_target:?}"
    );
    assert_eq!(
        dns.txt(&format!("_railway-verify.api.{z}"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        set_of(
            dns.a(&format!("www.{z}"))
                .await
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect()
        ),
        set_of(vec!["192.0.2.10".into(), "192.0.2.11".into()])
    );
    assert_eq!(dns.txt(&format!("www.{z}")).await.unwrap(), ["hello world"]);

    // A resync of all three makes no write anywhere.
    let writes = [
        ("powerdns", "patch rrsets"),
        ("vercel", "attach domain"),
        ("vercel", "verify domain"),
        ("railway", "attach custom domain"),
    ];
    let mut before = Vec::new();
    for (p, o) in writes {
        before.push(controller.provider_requests(p, o).await);
    }
    assert!(before[0] >= 1, "records were written with rrset PATCHes");
    let stamp = format!("resync-{}", rand::random::<u32>());
    for name in ["app", "api", "www"] {
        let (ok, _, err) = support::kubectl(
            &[
                "annotate",
                "-n",
                &ns,
                &format!("domain/{name}"),
                "--overwrite",
                &format!("berth.dev/reconcile-requested={stamp}"),
            ],
            None,
        );
        assert!(ok, "{err}");
    }
    for name in ["app", "api", "www"] {
        eventually(Duration::from_secs(30), "resync handled", || async {
            get_json(&ns, &format!("domain/{name}"))
                .filter(|d| d["status"]["lastHandledReconcileAt"] == stamp.as_str())
        })
        .await;
    }
    for ((p, o), b) in writes.iter().zip(&before) {
        assert_eq!(
            controller.provider_requests(p, o).await,
            *b,
            "{p} {o} after a resync\n{}",
            controller.log()
        );
    }

    // Deleting detaches at the platforms and removes berth's records only.
    // Not `--wait`: kubectl would block this thread, and with it the sandbox serving the
    // controller's detach calls.
    let (ok, _, err) = support::kubectl(
        &[
            "delete",
            "-n",
            &ns,
            "domain/app",
            "domain/api",
            "domain/www",
            "--wait=false",
        ],
        None,
    );
    assert!(ok, "{err}");
    for name in ["app", "api", "www"] {
        let start = std::time::Instant::now();
        while get_json(&ns, &format!("domain/{name}")).is_some() {
            if start.elapsed() > Duration::from_secs(30) {
                let (_, metrics) = controller.get("/metrics").await.unwrap_or_default();
                let calls: Vec<&str> = metrics
                    .lines()
                    .filter(|l| l.starts_with("berth_provider_requests_total"))
                    .collect();
                panic!(
                    "Domain {name} not finalised after 30 s\ncalls:\n{}\nlog:\n{}",
                    calls.join("\n"),
                    controller.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for (name, rtype) in [
        (format!("app.{z}"), "CNAME"),
        (format!("_vercel.{z}"), "TXT"),
        (format!("api.{z}"), "CNAME"),
        (format!("_railway-verify.api.{z}"), "TXT"),
        (format!("www.{z}"), "TXT"),
    ] {
        let answer = match rtype {
            "CNAME" => dns.cname(&name).await.unwrap(),
            _ => dns.txt(&name).await.unwrap(),
        };
        assert!(answer.is_empty(), "{name} {rtype} still answers {answer:?}");
    }
    assert!(dns.a(&format!("www.{z}")).await.unwrap().is_empty());
    assert_eq!(
        dns.txt(&format!("legacy.{z}")).await.unwrap(),
        ["hand-made"],
        "foreign record stays"
    );
    let state = |url: &str| format!("{url}/_sandbox/state");
    let vercel: serde_json::Value = reqwest::get(state(w.sandbox.vercel_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        vercel["state"]["domains"].as_array().map(Vec::len),
        Some(0),
        "{vercel:#}"
    );
    let railway: serde_json::Value = reqwest::get(state(w.sandbox.railway_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        railway["state"]["customDomains"].as_array().map(Vec::len),
        Some(0),
        "{railway:#}"
    );
}

// Protects: a record berth does not own is never changed and is named in a Stalled
// condition; `managementPolicy: Observe` reports what it would write and writes nothing.
#[tokio::test]
async fn foreign_records_stall_by_name_and_observe_writes_nothing() {
    let client = support::client().await;
    let ns = support::namespace(&client, "domain-conflict").await;
    let w = world().await;
    let z = &w.zone;
    foreign_record(&w, &format!("shop.{z}"), RecordType::A, "198.51.100.7").await;
    let controller = ControllerProcess::start(&ns, None);
    apply(&ns, &environment(&w));
    apply(
        &ns,
        &domain(
            "shop",
            &format!("shop.{z}"),
            "{records: [{type: A, values: [192.0.2.1]}]}",
        ),
    );
    apply(
        &ns,
        &format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Domain\nmetadata: {{name: blog}}\nspec: {{hostname: blog.{z}, environmentRef: {{name: production}}, managementPolicy: Observe, target: {{records: [{{type: A, values: [192.0.2.2]}}]}}}}\n"
        ),
    );
    let stalled = |name: &'static str, reason: &'static str| {
        let ns = ns.clone();
        async move {
            eventually(Duration::from_secs(30), "Stalled", || async {
                get_json(&ns, &format!("domain/{name}")).filter(|d| {
                    condition(d, "Stalled")
                        .is_some_and(|c| c["status"] == "True" && c["reason"] == reason)
                })
            })
            .await
        }
    };
    let shop = stalled("shop", "RecordConflict").await;
    let message = condition(&shop, "Stalled").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(&format!(
            "shop.{z}. A [198.51.100.7] is not managed by berth"
        )),
        "{message}\n{}",
        controller.log()
    );
    assert_eq!(shop["status"]["records"][0]["state"], "Conflict");
    let blog = stalled("blog", "ObserveOnly").await;
    let message = condition(&blog, "Stalled").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains(&format!("blog.{z}. A")), "{message}");

    let dns = Lookup::new(w.pdns.dns).unwrap();
    assert_eq!(
        dns.a(&format!("shop.{z}"))
            .await
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["198.51.100.7"],
        "the foreign record is untouched"
    );
    assert!(
        dns.a(&format!("blog.{z}")).await.unwrap().is_empty(),
        "Observe wrote nothing"
    );
    assert_eq!(
        controller
            .provider_requests("powerdns", "patch rrsets")
            .await,
        0
    );
    let set = admin_client(&w.pdns)
        .list_records(z)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.name == format!("shop.{z}.") && s.rtype == RecordType::A)
        .unwrap();
    assert_eq!(set.comment, None, "not even marked");
}
