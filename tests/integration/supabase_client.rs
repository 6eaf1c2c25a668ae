//! The Supabase client against the in-process sandbox: project status and database health,
//! the platform's backups with the PITR window, restore requests, and typed errors.

use std::{sync::Arc, time::Duration};

use berth::{
    providers::{
        Error,
        http::{BudgetConfig, HttpMetrics, ProviderHttp, RetryConfig, Secret},
        models::supabase::ProjectStatus,
        platform_backups::DatabaseBackups,
        supabase::{PROVIDER, Supabase},
    },
    sandbox::{FaultConfig, Sandbox, SandboxConfig, SandboxHandle, Server, Steps},
};

use crate::support::{self, eventually};

async fn sandbox() -> SandboxHandle {
    Sandbox::start(SandboxConfig {
        steps: Steps {
            queue: Duration::from_millis(20),
            build: Duration::from_millis(100),
            deploy: Duration::from_millis(100),
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

fn client(sb: &SandboxHandle, token: &str, reference: &str) -> (Supabase, Arc<HttpMetrics>) {
    let metrics = Arc::new(HttpMetrics::default());
    let mut config = Supabase::config(Some(sb.supabase_url()), Secret::new(token), reference);
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
    (Supabase::new(http, reference), metrics)
}

// A healthy project reads healthy; an unhealthy database service says so in its own words.
#[tokio::test]
async fn supabase_health_reports_project_status_and_the_database_service() {
    let sb = sandbox().await;
    let reference = support::supabase_project_ref(&sb).await;
    let (supabase, _) = client(&sb, &sb.tokens().supabase, &reference);
    let health = supabase.health().await.unwrap();
    assert_eq!(health.status, "ACTIVE_HEALTHY");
    assert!(health.healthy);
    assert_eq!(health.message, None);
    assert_eq!(supabase.provider(), PROVIDER);

    sb.faults(Server::Supabase).unwrap().set(FaultConfig {
        unhealthy_services: vec!["db".into()],
        ..FaultConfig::default()
    });
    let health = supabase.health().await.unwrap();
    assert!(!health.healthy);
    assert_eq!(health.message.as_deref(), Some("db is UNHEALTHY"));
}

// Backups list with their status and kind, and a PITR window that ends about now.
#[tokio::test]
async fn supabase_backups_come_with_the_pitr_window() {
    let sb = sandbox().await;
    let reference = support::supabase_project_ref(&sb).await;
    let (supabase, _) = client(&sb, &sb.tokens().supabase, &reference);
    let listed = supabase.backups().await.unwrap();
    assert_eq!(listed.backups.len(), 7);
    assert!(
        listed
            .backups
            .iter()
            .all(|b| b.status == "COMPLETED" && b.physical)
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(&listed.backups[0].taken_at).is_ok(),
        "{}",
        listed.backups[0].taken_at
    );
    let (earliest, latest) = listed.pitr_window.expect("PITR is enabled");
    let now = chrono::Utc::now().timestamp();
    assert!(earliest < latest);
    assert!((now - latest).abs() < 60, "{latest} vs {now}");
    assert!(now - earliest >= 6 * 86_400, "a week of backups");
}

// A restore inside the window puts the project into RESTORING (and back to healthy); a
// second request meanwhile is a conflict, not a second restore; a time outside the window
// is invalid and sends nothing.
#[tokio::test]
async fn supabase_restore_request_puts_the_project_into_restoring() {
    let sb = sandbox().await;
    let reference = support::supabase_project_ref(&sb).await;
    let (supabase, metrics) = client(&sb, &sb.tokens().supabase, &reference);
    let (earliest, latest) = supabase.backups().await.unwrap().pitr_window.unwrap();

    let err = supabase.restore_to(earliest - 3600).await.unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("outside the point-in-time window"));
    assert_eq!(metrics.sent("supabase", "restore to a point in time"), 0);

    supabase.restore_to((earliest + latest) / 2).await.unwrap();
    assert_eq!(
        supabase.project().await.unwrap().status,
        ProjectStatus::Restoring
    );
    assert_eq!(supabase.health().await.unwrap().status, "RESTORING");
    let err = supabase.restore_to(latest).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains("RESTORING"), "{err}");
    assert_eq!(metrics.sent("supabase", "restore to a point in time"), 1);

    eventually(Duration::from_secs(10), "the restore to finish", || async {
        (supabase.project().await.ok()?.status == ProjectStatus::ActiveHealthy).then_some(())
    })
    .await;
}

// Unknown project: not found; wrong token: credentials rejected after one attempt, naming
// Supabase and the project but never the token; 429 bursts on reads are waited out.
#[tokio::test]
async fn supabase_errors_are_typed() {
    let sb = sandbox().await;
    let reference = support::supabase_project_ref(&sb).await;
    let (missing, _) = client(&sb, &sb.tokens().supabase, "zzzzzzzzzzzzzzzzzzzz");
    let err = missing.project().await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("Project not found"), "{err}");

    let wrong = "sbp_wrong0000000000000000000000000000000";
    let (rejected, metrics) = client(&sb, wrong, &reference);
    let err = rejected.backups().await.unwrap_err();
    assert!(
        matches!(err, Error::CredentialsRejected { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.is_permanent());
    let text = err.to_string();
    assert!(text.contains("credentials rejected by Supabase"), "{text}");
    assert!(text.contains(&format!("project {reference}")), "{text}");
    assert_eq!(metrics.sent("supabase", "list backups"), 1);
    let shown = format!("{err} {err:?} {rejected:?}");
    assert!(!shown.contains(wrong), "{shown}");

    let (supabase, metrics) = client(&sb, &sb.tokens().supabase, &reference);
    sb.faults(Server::Supabase).unwrap().burst_429(2, 1);
    assert!(supabase.backups().await.unwrap().pitr_window.is_some());
    assert_eq!(
        metrics.requests("supabase", "list backups", "rate_limited"),
        2
    );
}
