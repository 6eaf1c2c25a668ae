//! The Railway client against the in-process sandbox over real HTTP: deployments through
//! their states, rollback, variables, custom domains with DNS, and how auth errors and
//! injected faults reach the caller.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use berth::{
    providers::{
        Class, Error,
        custom_domains::{CustomDomains, PlatformCertificate, PlatformDomain},
        deploys::{DeployState, Deploys, ProviderDeployment, Revision},
        dns::RecordType,
        http::{BudgetConfig, CircuitConfig, HttpMetrics, ProviderHttp, RetryConfig, Secret},
        railway::{PROVIDER, RailwayClient},
        variables::{DesiredVariable, VarKind, Variables},
    },
    sandbox::{
        BuildFault, DnsRecord, FaultConfig, Sandbox, SandboxConfig, SandboxHandle, Server, Steps,
    },
};
use serde_json::Value;

const ACCOUNT: &str = "Railway project app (secret berth/railway-token)";

async fn start(seed: u64) -> SandboxHandle {
    Sandbox::start(SandboxConfig {
        seed,
        steps: Steps {
            queue: Duration::from_millis(10),
            build: Duration::from_millis(40),
            deploy: Duration::from_millis(40),
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// The fixture project's ids, from the sandbox's admin state.
struct Ids {
    project: String,
    environment: String,
    api: String,
    worker: String,
}

async fn ids(sb: &SandboxHandle) -> Ids {
    let state: Value = reqwest::get(format!("{}/_sandbox/state", sb.railway_url()))
        .await
        .expect("state")
        .json()
        .await
        .expect("state JSON");
    let state = &state["state"];
    let named = |list: &str, name: &str| {
        state[list]
            .as_array()
            .expect("list")
            .iter()
            .find(|x| x["name"] == name)
            .and_then(|x| x["id"].as_str())
            .expect("fixture")
            .to_owned()
    };
    Ids {
        project: state["projects"][0]["id"].as_str().expect("project").into(),
        environment: named("environments", "production"),
        api: named("services", "api"),
        worker: named("services", "worker"),
    }
}

/// A client with fast retries, a roomy budget and metrics of its own.
fn client_with(
    sb: &SandboxHandle,
    ids: &Ids,
    token: &str,
    attempts: u32,
) -> (RailwayClient, Arc<HttpMetrics>) {
    let endpoint = format!("{}/graphql/v2", sb.railway_url());
    let mut config = RailwayClient::config(&endpoint, Secret::new(token), ACCOUNT);
    config.retry = RetryConfig {
        max_attempts: attempts,
        base: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
    };
    config.budget = BudgetConfig {
        per_second: 1000.0,
        burst: 1000,
        max_wait: Duration::from_secs(2),
    };
    config.circuit = CircuitConfig {
        failure_threshold: 50,
        cool_down: Duration::from_secs(30),
    };
    let metrics = Arc::new(HttpMetrics::default());
    let http = ProviderHttp::new(config, metrics.clone()).expect("http");
    (
        RailwayClient::new(http, &ids.project, &ids.environment),
        metrics,
    )
}

fn client(sb: &SandboxHandle, ids: &Ids) -> (RailwayClient, Arc<HttpMetrics>) {
    client_with(sb, ids, &sb.tokens().railway, 4)
}

fn commit(n: u8) -> Revision {
    Revision {
        repo: "sandbox/api".into(),
        git_ref: Some("main".into()),
        commit: Some(format!("{n:02x}").repeat(20)),
    }
}

/// Polls until the deployment settles; returns every state seen, in order, and the last read.
async fn settle(
    railway: &RailwayClient,
    service: &str,
    id: &str,
) -> (Vec<DeployState>, ProviderDeployment) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen: Vec<DeployState> = Vec::new();
    loop {
        let d = railway.deployment(service, id).await.expect("read");
        if seen.last() != Some(&d.state) {
            seen.push(d.state.clone());
        }
        if d.state.is_terminal() {
            return (seen, d);
        }
        assert!(Instant::now() < deadline, "never settled: {seen:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// A deploy of a commit is one non-retried call whose id can be followed through building and
// deploying until it serves, carrying the commit and its URL.
#[tokio::test]
async fn railway_deploy_follows_a_commit_through_building_and_deploying_to_ready() {
    let sb = start(31).await;
    let ids = ids(&sb).await;
    let (railway, metrics) = client(&sb, &ids);

    let started = railway.deploy(&ids.api, &commit(1)).await.unwrap();
    assert_eq!(started.state, DeployState::Queued);
    assert_eq!(started.commit, commit(1).commit);
    assert_eq!(metrics.sent("railway", "deploy"), 1);

    let (seen, done) = settle(&railway, &ids.api, &started.id).await;
    assert!(
        seen.contains(&DeployState::Building) && seen.contains(&DeployState::Deploying),
        "{seen:?}"
    );
    assert_eq!(done.state, DeployState::Ready);
    assert!(done.live);
    assert_eq!(done.commit, commit(1).commit);
    assert!(
        done.url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        "{done:?}"
    );
    assert!(done.created_at.is_some());
    assert_eq!(done.message, None);

    // Another service's id is not this service's deployment.
    let other = railway.deployment(&ids.worker, &started.id).await;
    assert!(matches!(other, Err(Error::NotFound { .. })), "{other:?}");
}

// A build that fails ends Failed, with the build log's own words as the message.
#[tokio::test]
async fn railway_failed_build_ends_failed_with_the_build_message() {
    let sb = start(32).await;
    let ids = ids(&sb).await;
    let (railway, _) = client(&sb, &ids);
    sb.faults(Server::Railway)
        .expect("faults")
        .set(FaultConfig {
            build: BuildFault::Fail,
            ..FaultConfig::default()
        });

    let started = railway.deploy(&ids.api, &commit(2)).await.unwrap();
    let (seen, done) = settle(&railway, &ids.api, &started.id).await;
    assert_eq!(done.state, DeployState::Failed, "{seen:?}");
    assert!(!done.live);
    let message = done.message.expect("a failure message");
    assert!(
        message.starts_with("build failed: Build failed:"),
        "{message}"
    );
}

// Rolling back makes the earlier commit serve again (Railway redeploys it as a new
// deployment); the list is newest first and honours the limit; rolling back to what is
// already live changes nothing.
#[tokio::test]
async fn railway_rollback_makes_the_earlier_deployment_live_and_lists_newest_first() {
    let sb = start(33).await;
    let ids = ids(&sb).await;
    let (railway, metrics) = client(&sb, &ids);

    let first = railway.deploy(&ids.api, &commit(1)).await.unwrap();
    settle(&railway, &ids.api, &first.id).await;
    let second = railway.deploy(&ids.api, &commit(2)).await.unwrap();
    let (_, second_done) = settle(&railway, &ids.api, &second.id).await;
    assert!(second_done.live);
    let first_now = railway.deployment(&ids.api, &first.id).await.unwrap();
    assert_eq!(
        first_now.state,
        DeployState::Stopped,
        "replaced by the second"
    );
    assert!(!first_now.live);

    let back = railway.rollback(&ids.api, &first.id).await.unwrap();
    assert_ne!(
        back.id, first.id,
        "Railway rolls back with a new deployment"
    );
    assert_eq!(back.commit, commit(1).commit);
    let (_, back_done) = settle(&railway, &ids.api, &back.id).await;
    assert_eq!(back_done.state, DeployState::Ready);
    assert!(back_done.live);
    let second_now = railway.deployment(&ids.api, &second.id).await.unwrap();
    assert!(!second_now.live, "the bad release no longer serves");

    let list = railway.deployments(&ids.api, 10).await.unwrap();
    let order: Vec<&str> = list.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(order, [&back.id, &second.id, &first.id]);
    assert_eq!(
        list.iter().filter(|d| d.live).count(),
        1,
        "one live deployment"
    );
    assert_eq!(railway.deployments(&ids.api, 2).await.unwrap().len(), 2);
    assert!(
        railway
            .deployments(&ids.worker, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let again = railway.rollback(&ids.api, &back.id).await.unwrap();
    assert_eq!(again.id, back.id, "already live");
    assert_eq!(metrics.sent("railway", "roll back"), 1);
}

fn desired(name: &str, value: &str) -> DesiredVariable {
    DesiredVariable {
        name: name.into(),
        value: Secret::new(value),
        kind: VarKind::Encrypted,
        targets: Vec::new(),
        comment: None,
    }
}

// A batch of variables is one call; they read back as written (references unrendered);
// repeating the batch or a delete is harmless; an empty batch sends nothing.
#[tokio::test]
async fn railway_variables_upsert_in_one_call_list_back_and_delete_idempotently() {
    let sb = start(34).await;
    let ids = ids(&sb).await;
    let (railway, metrics) = client(&sb, &ids);
    let batch = [
        desired("DATABASE_URL", "postgres://app:s3cr3t@db/app"),
        desired("LOG_LEVEL", "info"),
        desired("PUBLIC_URL", "https://${{RAILWAY_HOST}}/"),
    ];

    railway.upsert(&ids.api, &batch).await.unwrap();
    assert_eq!(metrics.sent("railway", "upsert variables"), 1, "one call");
    let listed = railway.list(&ids.api).await.unwrap();
    let pairs: Vec<(&str, &str)> = listed
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_ref().map_or("", |s| s.expose())))
        .collect();
    assert_eq!(
        pairs,
        [
            ("DATABASE_URL", "postgres://app:s3cr3t@db/app"),
            ("LOG_LEVEL", "info"),
            ("PUBLIC_URL", "https://${{RAILWAY_HOST}}/"),
        ]
    );
    assert!(
        listed
            .iter()
            .all(|v| v.kind == VarKind::Encrypted && v.targets.is_empty() && v.id.is_none())
    );
    assert!(
        railway.list(&ids.worker).await.unwrap().is_empty(),
        "per service"
    );

    railway.upsert(&ids.api, &batch).await.unwrap();
    assert_eq!(
        railway.list(&ids.api).await.unwrap(),
        listed,
        "repeat is harmless"
    );
    railway.upsert(&ids.api, &[]).await.unwrap();
    assert_eq!(
        metrics.sent("railway", "upsert variables"),
        2,
        "empty batch sends nothing"
    );

    let doomed: Vec<_> = listed
        .iter()
        .filter(|v| v.name != "LOG_LEVEL")
        .cloned()
        .collect();
    railway.delete(&ids.api, &doomed).await.unwrap();
    let left: Vec<String> = railway
        .list(&ids.api)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(left, ["LOG_LEVEL"]);
    railway.delete(&ids.api, &doomed).await.unwrap();
    assert_eq!(metrics.sent("railway", "delete variable"), 4);
}

fn declare(sb: &SandboxHandle, domain: &PlatformDomain) {
    sb.declare_dns(domain.required_records.iter().map(|r| DnsRecord {
        kind: r.rtype.to_string(),
        name: r.name.clone(),
        value: r.value.clone(),
    }));
}

// Attaching returns the records Railway needs (routing CNAME, ownership TXT); the domain
// verifies and gets its certificate once they exist in DNS; attaching twice is one create;
// the hostname cannot go to a second service; detaching twice is fine.
#[tokio::test]
async fn railway_custom_domain_attach_lists_records_verifies_with_dns_and_detaches() {
    let sb = start(35).await;
    let ids = ids(&sb).await;
    let (railway, metrics) = client(&sb, &ids);

    let attached = railway.attach(&ids.api, "API.example.com.").await.unwrap();
    assert_eq!(attached.hostname, "api.example.com");
    assert!(!attached.verified);
    assert_eq!(attached.certificate, PlatformCertificate::Pending);
    let routing = attached
        .required_records
        .iter()
        .find(|r| !r.verification)
        .expect("routing record");
    assert_eq!(routing.name, "api.example.com.");
    assert_eq!(routing.rtype, RecordType::Cname);
    assert!(routing.value.ends_with(".up.railway.app"), "{routing:?}");
    let ownership = attached
        .required_records
        .iter()
        .find(|r| r.verification)
        .expect("ownership record");
    assert_eq!(ownership.rtype, RecordType::Txt);
    assert_eq!(ownership.name, "_railway-verify.api.example.com.");

    let again = railway.attach(&ids.api, "api.example.com").await.unwrap();
    assert_eq!(again.id, attached.id);
    assert_eq!(metrics.sent("railway", "attach custom domain"), 1);
    let elsewhere = railway.attach(&ids.worker, "api.example.com").await;
    assert!(
        matches!(elsewhere, Err(Error::Conflict { .. })),
        "{elsewhere:?}"
    );

    assert!(
        !railway
            .verify(&ids.api, "api.example.com")
            .await
            .unwrap()
            .verified
    );
    declare(&sb, &attached);
    let verified = railway.verify(&ids.api, "api.example.com").await.unwrap();
    assert!(verified.verified, "{verified:?}");
    assert_eq!(verified.certificate, PlatformCertificate::Issued);
    assert!(
        verified.required_records.iter().all(|r| !r.verification),
        "ownership proven: {verified:?}"
    );
    assert_eq!(
        railway.domain(&ids.api, "api.example.com").await.unwrap(),
        Some(verified)
    );

    assert!(railway.detach(&ids.api, "api.example.com").await.unwrap());
    assert!(!railway.detach(&ids.api, "api.example.com").await.unwrap());
    assert_eq!(
        railway.domain(&ids.api, "api.example.com").await.unwrap(),
        None
    );
    let gone = railway.verify(&ids.api, "api.example.com").await;
    assert!(matches!(gone, Err(Error::NotFound { .. })), "{gone:?}");
}

// A wrong token is rejected once, never retried, with a message naming Railway and the
// account and never the token.
#[tokio::test]
async fn railway_wrong_token_is_rejected_after_one_attempt_naming_the_account() {
    let sb = start(36).await;
    let ids = ids(&sb).await;
    let token = "railway-wrong-token-5f4e3d2c1b";
    let (railway, metrics) = client_with(&sb, &ids, token, 4);

    let err = railway.deployments(&ids.api, 5).await.unwrap_err();
    assert!(matches!(err, Error::CredentialsRejected { .. }), "{err:?}");
    assert_eq!(err.class(), Class::Permanent);
    let message = err.to_string();
    assert!(message.contains(PROVIDER), "{message}");
    assert!(message.contains(ACCOUNT), "{message}");
    assert!(!message.contains(token), "{message}");
    assert!(!format!("{err:?}").contains(token));
    assert_eq!(metrics.sent("railway", "list deployments"), 1);
    assert_eq!(metrics.retries("railway", "list deployments"), 0);
}

// Reads ride out 429 bursts (honouring Retry-After) and random 5xx answers by retrying.
#[tokio::test]
async fn railway_reads_survive_injected_429_and_5xx() {
    let sb = start(37).await;
    let ids = ids(&sb).await;
    let (railway, metrics) = client_with(&sb, &ids, &sb.tokens().railway, 8);
    let faults = sb.faults(Server::Railway).expect("faults");

    faults.burst_429(2, 0);
    assert!(railway.deployments(&ids.api, 5).await.unwrap().is_empty());
    assert_eq!(metrics.retries("railway", "list deployments"), 2);
    assert_eq!(
        metrics.requests("railway", "list deployments", "rate_limited"),
        2
    );

    faults.set(FaultConfig {
        error_rate: 0.5,
        error_status: Some(502),
        ..FaultConfig::default()
    });
    for _ in 0..8 {
        railway.list(&ids.api).await.unwrap();
    }
    let failed = metrics.requests("railway", "list variables", "server_error");
    assert!(failed > 0, "faults were injected");
    assert_eq!(metrics.retries("railway", "list variables"), failed);
}

// A deploy answered with a 5xx is not sent again: it may have started a deployment.
#[tokio::test]
async fn railway_mutation_is_not_retried_after_a_5xx() {
    let sb = start(38).await;
    let ids = ids(&sb).await;
    let (railway, metrics) = client(&sb, &ids);
    let faults = sb.faults(Server::Railway).expect("faults");
    faults.set(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });

    let err = railway.deploy(&ids.api, &commit(3)).await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    assert_eq!(err.class(), Class::Transient);
    assert_eq!(metrics.sent("railway", "deploy"), 1);
    assert_eq!(metrics.retries("railway", "deploy"), 0);

    faults.clear();
    assert!(railway.deployments(&ids.api, 5).await.unwrap().is_empty());
}
