//! The Vercel client against the in-process sandbox: deployments through their states,
//! promote as rollback, team scoping, batched env vars, domains through verification, and
//! the HTTP policy (one attempt on rejected credentials, retried reads, unretried deploys).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use berth::{
    providers::{
        Class, Error,
        custom_domains::{CustomDomains, PlatformCertificate},
        deploys::{DeployState, Deploys, ProviderDeployment, Revision},
        dns::RecordType,
        http::{
            BudgetConfig, CircuitConfig, HttpConfig, HttpMetrics, ProviderHttp, RetryConfig, Secret,
        },
        variables::{DesiredVariable, VarKind, VarTarget, Variables},
        vercel::VercelClient,
    },
    sandbox::{
        BuildFault, DnsRecord, FaultConfig, Fixtures, Sandbox, SandboxConfig, SandboxHandle,
        Server, Steps, VERCEL_TEAM_ID,
    },
};

const PROJECT: &str = "web";

async fn start() -> SandboxHandle {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Sandbox::start(SandboxConfig {
        seed: 7,
        steps: Steps {
            queue: Duration::from_millis(20),
            build: Duration::from_millis(60),
            deploy: Duration::from_millis(60),
        },
        fixtures: Fixtures {
            vercel_projects: vec![PROJECT.into(), "docs".into()],
            ..Fixtures::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// Test policy: quick retries, a budget that never throttles, a circuit that stays closed.
fn config(sb: &SandboxHandle, token: &str, team: Option<&str>) -> HttpConfig {
    let mut c = VercelClient::config(sb.vercel_url(), Secret::new(token), team);
    c.retry = RetryConfig {
        max_attempts: 8,
        base: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(5),
    };
    c.budget = BudgetConfig {
        per_second: 1000.0,
        burst: 1000,
        max_wait: Duration::from_secs(5),
    };
    c.circuit = CircuitConfig {
        failure_threshold: 50,
        cool_down: Duration::from_secs(30),
    };
    c
}

fn client_as(
    sb: &SandboxHandle,
    token: &str,
    team: Option<&str>,
) -> (VercelClient, Arc<HttpMetrics>) {
    let metrics = Arc::new(HttpMetrics::default());
    let http = ProviderHttp::new(config(sb, token, team), metrics.clone()).expect("http");
    (VercelClient::new(http, team.map(Into::into)), metrics)
}

/// A client of the sandbox's team with its accepted token.
fn client(sb: &SandboxHandle) -> (VercelClient, Arc<HttpMetrics>) {
    client_as(sb, &sb.tokens().vercel, Some(VERCEL_TEAM_ID))
}

fn revision(sha: &str) -> Revision {
    Revision {
        repo: "acme/web".into(),
        git_ref: Some("main".into()),
        commit: Some(sha.into()),
    }
}

/// Reads the deployment until it is terminal; returns each state seen, in order.
async fn follow(v: &VercelClient, id: &str) -> (Vec<DeployState>, ProviderDeployment) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen: Vec<DeployState> = Vec::new();
    loop {
        let d = v.deployment(PROJECT, id).await.expect("read deployment");
        if seen.last() != Some(&d.state) {
            seen.push(d.state.clone());
        }
        if d.state.is_terminal() {
            return (seen, d);
        }
        assert!(Instant::now() < deadline, "stuck; states {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn deploy_ready(v: &VercelClient, sha: &str) -> ProviderDeployment {
    let started = v.deploy(PROJECT, &revision(sha)).await.expect("deploy");
    let (_, done) = follow(v, &started.id).await;
    assert_eq!(done.state, DeployState::Ready, "{done:?}");
    done
}

// A commit is deployed to production and followed QUEUED → BUILDING → READY; only then is it
// live, and the list shows it first with its commit.
#[tokio::test]
async fn vercel_deploy_is_followed_from_queued_to_ready_and_goes_live() {
    let sb = start().await;
    let (v, metrics) = client(&sb);
    let started = v.deploy(PROJECT, &revision("a1b2c3")).await.unwrap();
    assert_eq!(started.state, DeployState::Queued);
    assert!(!started.live);
    assert_eq!(started.commit.as_deref(), Some("a1b2c3"));
    assert!(started.id.starts_with("dpl_"), "{started:?}");

    let (seen, done) = follow(&v, &started.id).await;
    assert_eq!(seen.first(), Some(&DeployState::Queued), "{seen:?}");
    assert!(seen.contains(&DeployState::Building), "{seen:?}");
    assert_eq!(seen.last(), Some(&DeployState::Ready), "{seen:?}");
    assert!(done.live, "a READY production build is live: {done:?}");
    assert!(
        done.url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    );
    assert!(done.created_at.is_some());
    assert_eq!(metrics.sent("vercel", "create deployment"), 1);

    let listed = v.deployments(PROJECT, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, started.id);
    assert_eq!(listed[0].commit.as_deref(), Some("a1b2c3"));
    assert!(listed[0].live);
}

// A build that fails ends Failed with Vercel's own words, and is not live.
#[tokio::test]
async fn vercel_build_fault_ends_failed_with_the_build_message() {
    let sb = start().await;
    let (v, _) = client(&sb);
    sb.faults(Server::Vercel)
        .unwrap()
        .update(|c| c.build = BuildFault::Fail);
    let started = v.deploy(PROJECT, &revision("badbad")).await.unwrap();
    let (seen, done) = follow(&v, &started.id).await;
    assert_eq!(done.state, DeployState::Failed, "{seen:?}");
    assert!(!done.live);
    let message = done.message.unwrap_or_default();
    assert!(message.contains("exited with 1"), "{message}");
}

// Rolling back promotes the earlier build: it is live again, the newer one is not, and no
// deployment was created for it.
#[tokio::test]
async fn vercel_rollback_makes_the_earlier_deployment_live_without_a_rebuild() {
    let sb = start().await;
    let (v, metrics) = client(&sb);
    let first = deploy_ready(&v, "1111111").await;
    let second = deploy_ready(&v, "2222222").await;
    assert!(second.live);
    let ids: Vec<(String, bool)> = v
        .deployments(PROJECT, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.live))
        .collect();
    assert_eq!(
        ids,
        [(second.id.clone(), true), (first.id.clone(), false)],
        "newest first, only the newest live"
    );

    let back = v.rollback(PROJECT, &first.id).await.unwrap();
    assert_eq!(back.id, first.id);
    assert!(back.live, "{back:?}");
    assert_eq!(back.commit.as_deref(), Some("1111111"));
    assert!(!v.deployment(PROJECT, &second.id).await.unwrap().live);
    let after = v.deployments(PROJECT, 10).await.unwrap();
    assert_eq!(after.len(), 2, "no rebuild: {after:?}");
    assert_eq!(metrics.sent("vercel", "create deployment"), 2);
    assert_eq!(v.deployments(PROJECT, 1).await.unwrap().len(), 1, "limit");

    let missing = v.rollback(PROJECT, "dpl_missing").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing}");
}

// Every call carries the team; a team the token cannot reach is refused as rejected
// credentials naming that team, once, while the token's own scopes work.
#[tokio::test]
async fn vercel_calls_are_scoped_to_the_clients_team() {
    let sb = start().await;
    let token = sb.tokens().vercel.clone();
    let (team, _) = client(&sb);
    assert!(team.deployments(PROJECT, 5).await.unwrap().is_empty());
    let (personal, _) = client_as(&sb, &token, None);
    assert!(personal.list(PROJECT).await.unwrap().is_empty());

    let (other, metrics) = client_as(&sb, &token, Some("team_other"));
    let e = other.deployments(PROJECT, 5).await.unwrap_err();
    assert!(
        matches!(e, Error::CredentialsRejected { status: 403, .. }),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "failed to get project: credentials rejected by Vercel for team team_other (HTTP 403)"
    );
    assert_eq!(metrics.sent("vercel", "get project"), 1);
    let e = other.deploy(PROJECT, &revision("abc")).await.unwrap_err();
    assert!(matches!(e, Error::CredentialsRejected { .. }), "{e}");
    assert!(
        no_deployments(&team).await,
        "the refused deploy created nothing"
    );
}

async fn no_deployments(v: &VercelClient) -> bool {
    v.deployments(PROJECT, 5).await.unwrap().is_empty()
}

/// A listed variable as the test compares it: name, value, kind, targets, comment.
type Row<'a> = (
    &'a str,
    Option<&'a str>,
    VarKind,
    &'a [VarTarget],
    Option<&'a str>,
);

fn var(name: &str, value: &str, kind: VarKind, targets: &[VarTarget]) -> DesiredVariable {
    DesiredVariable {
        name: name.into(),
        value: Secret::new(value),
        kind,
        targets: targets.to_vec(),
        comment: Some("managed-by=berth".into()),
    }
}

// Several variables go out in ONE request; listing shows kinds, targets and comments;
// sensitive values never come back; repeating is harmless; delete tolerates "already gone".
#[tokio::test]
async fn vercel_env_upsert_is_one_request_and_sensitive_values_stay_unreadable() {
    let sb = start().await;
    let (v, metrics) = client(&sb);
    let desired = [
        var(
            "API_URL",
            "https://api.example.com",
            VarKind::Plain,
            &[VarTarget::Preview, VarTarget::Production],
        ),
        var(
            "DB_URL",
            "postgres://u:pw@db/x",
            VarKind::Encrypted,
            &[VarTarget::Production],
        ),
        var(
            "SIGNING_KEY",
            "sk_live_0123456789",
            VarKind::Sensitive,
            &[VarTarget::Production],
        ),
    ];
    v.upsert(PROJECT, &desired).await.unwrap();
    assert_eq!(metrics.sent("vercel", "upsert variables"), 1, "one batch");
    v.upsert(PROJECT, &[]).await.unwrap();
    assert_eq!(
        metrics.sent("vercel", "upsert variables"),
        1,
        "empty: no call"
    );

    let mut listed = v.list(PROJECT).await.unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let shown: Vec<Row<'_>> = listed
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.value.as_ref().map(Secret::expose),
                r.kind,
                r.targets.as_slice(),
                r.comment.as_deref(),
            )
        })
        .collect();
    let c = Some("managed-by=berth");
    assert_eq!(
        shown,
        [
            (
                "API_URL",
                Some("https://api.example.com"),
                VarKind::Plain,
                &[VarTarget::Production, VarTarget::Preview][..],
                c
            ),
            (
                "DB_URL",
                Some("postgres://u:pw@db/x"),
                VarKind::Encrypted,
                &[VarTarget::Production][..],
                c
            ),
            (
                "SIGNING_KEY",
                None,
                VarKind::Sensitive,
                &[VarTarget::Production][..],
                c
            ),
        ]
    );

    // Same batch with one value changed: overwritten in place, nothing duplicated.
    let mut again = desired.clone();
    again[0].value = Secret::new("https://api2.example.com");
    v.upsert(PROJECT, &again).await.unwrap();
    let relisted = v.list(PROJECT).await.unwrap();
    assert_eq!(relisted.len(), 3, "{relisted:?}");
    let api = relisted.iter().find(|r| r.name == "API_URL").unwrap();
    assert_eq!(
        api.value.as_ref().map(Secret::expose),
        Some("https://api2.example.com")
    );

    let gone: Vec<_> = relisted
        .iter()
        .filter(|r| r.name != "DB_URL")
        .cloned()
        .collect();
    v.delete(PROJECT, &gone).await.unwrap();
    v.delete(PROJECT, &gone).await.unwrap();
    let left = v.list(PROJECT).await.unwrap();
    assert_eq!(
        left.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["DB_URL"]
    );

    // A batch Vercel refuses part of names the key, never the value.
    let refused = [var(
        "DEV_SECRET",
        "dev-only-secret-value",
        VarKind::Sensitive,
        &[VarTarget::Development],
    )];
    let e = v.upsert(PROJECT, &refused).await.unwrap_err();
    let text = e.to_string();
    assert!(e.is_permanent(), "{text}");
    assert!(text.contains("DEV_SECRET"), "{text}");
    assert!(!text.contains("dev-only-secret-value"), "{text}");
}

// A domain starts unverified with its TXT challenge and CNAME; once both exist in DNS,
// verify says verified; it can then be detached, and detaching twice is fine.
#[tokio::test]
async fn vercel_domain_verifies_once_its_records_exist_and_detaches() {
    let sb = start().await;
    let (v, _) = client(&sb);
    let host = "App.Example.com.";
    let attached = v.attach(PROJECT, host).await.unwrap();
    assert_eq!(attached.hostname, "app.example.com");
    assert!(!attached.verified);
    assert_eq!(attached.certificate, PlatformCertificate::None);
    let txt = attached
        .required_records
        .iter()
        .find(|r| r.verification)
        .expect("TXT challenge")
        .clone();
    assert_eq!(
        (txt.name.as_str(), &txt.rtype),
        ("_vercel.example.com.", &RecordType::Txt)
    );
    let cname = attached
        .required_records
        .iter()
        .find(|r| !r.verification)
        .expect("routing record")
        .clone();
    assert_eq!(cname.name, "app.example.com.");
    assert_eq!(cname.rtype, RecordType::Cname);

    let twice = v.attach(PROJECT, host).await.unwrap();
    assert_eq!(
        twice.hostname, attached.hostname,
        "already ours: returned, not an error"
    );
    let taken = v.attach("docs", host).await.unwrap_err();
    assert!(matches!(taken, Error::Conflict { .. }), "{taken}");

    let unverified = v.verify(PROJECT, host).await.unwrap();
    assert!(!unverified.verified, "no records yet");

    sb.declare_dns([
        DnsRecord {
            kind: "TXT".into(),
            name: txt.name.clone(),
            value: txt.value.clone(),
        },
        DnsRecord {
            kind: "CNAME".into(),
            name: cname.name.clone(),
            value: cname.value.clone(),
        },
    ]);
    let verified = v.verify(PROJECT, host).await.unwrap();
    assert!(verified.verified, "{verified:?}");
    assert_eq!(verified.certificate, PlatformCertificate::Issued);
    assert!(
        verified.required_records.iter().all(|r| !r.verification),
        "no challenge once verified: {verified:?}"
    );
    assert!(v.domain(PROJECT, host).await.unwrap().unwrap().verified);

    assert!(v.detach(PROJECT, host).await.unwrap());
    assert!(!v.detach(PROJECT, host).await.unwrap());
    assert_eq!(v.domain(PROJECT, host).await.unwrap(), None);
}

// A wrong token fails after exactly one attempt, naming Vercel and the team, never the token.
#[tokio::test]
async fn vercel_wrong_token_is_rejected_after_one_attempt_without_leaking_it() {
    let sb = start().await;
    let token = "wrong-token-0123456789abcdef";
    let (v, metrics) = client_as(&sb, token, Some(VERCEL_TEAM_ID));
    let e = v.list(PROJECT).await.unwrap_err();
    assert!(matches!(e, Error::CredentialsRejected { .. }), "{e}");
    assert_eq!(e.class(), Class::Permanent);
    let text = format!("{e} {e:?}");
    assert!(
        text.contains("Vercel") && text.contains("team team_sandbox"),
        "{text}"
    );
    assert!(!text.contains(token), "{text}");
    assert_eq!(metrics.sent("vercel", "list variables"), 1);
    assert_eq!(metrics.retries("vercel", "list variables"), 0);
}

// Reads ride out 429 bursts (honouring Retry-After) and injected 5xx.
#[tokio::test]
async fn vercel_reads_survive_429_bursts_and_server_errors() {
    let sb = start().await;
    let (v, metrics) = client(&sb);
    let faults = sb.faults(Server::Vercel).unwrap();
    faults.burst_429(2, 0);
    v.list(PROJECT).await.unwrap();
    assert_eq!(
        metrics.requests("vercel", "list variables", "rate_limited"),
        2
    );
    assert_eq!(metrics.requests("vercel", "list variables", "ok"), 1);

    faults.set(FaultConfig {
        error_rate: 0.5,
        ..FaultConfig::default()
    });
    for _ in 0..6 {
        v.deployments(PROJECT, 5).await.unwrap();
    }
    let failed = metrics.requests("vercel", "get project", "server_error")
        + metrics.requests("vercel", "list deployments", "server_error");
    assert!(failed >= 1, "the fault rate injected no 5xx at all");
}

// A deploy is not idempotent: after a 5xx it is not sent again, and nothing was created.
#[tokio::test]
async fn vercel_deploy_is_not_retried_after_a_server_error() {
    let sb = start().await;
    let (v, metrics) = client(&sb);
    let faults = sb.faults(Server::Vercel).unwrap();
    faults.set(FaultConfig {
        error_rate: 1.0,
        error_status: Some(503),
        ..FaultConfig::default()
    });
    let e = v.deploy(PROJECT, &revision("cafe01")).await.unwrap_err();
    assert!(matches!(e, Error::Server { status: 503, .. }), "{e}");
    assert_eq!(e.class(), Class::Transient);
    assert_eq!(metrics.sent("vercel", "create deployment"), 1);
    assert_eq!(metrics.retries("vercel", "create deployment"), 0);
    faults.clear();
    assert!(no_deployments(&v).await);
}
