//! `berth up`: the whole local stack in one command — control plane, Postgres, PowerDNS, Pebble
//! (ACME), an S3 server, the provider sandbox (serving the example's accounts), CRDs, the
//! controller, and the Vocilia example estate pointed at all of them — then the endpoints to
//! look at.

use std::{process::Command, time::Duration};

use anyhow::{Context as _, bail};

use super::{
    ControlPlane, Pebble, PebbleConfig, Postgres, PowerDns, S3Server,
    alert_inbox::AlertInbox,
    estate::{LocalAcme, LocalDns, LocalEndpoints, localize},
};
use crate::{
    run::{ControllerArgs, UpArgs},
    sandbox::{Fixtures, Ports, Sandbox, SandboxConfig},
};

/// Starts everything and runs until Ctrl-C (or, with `--check`, until every example object has
/// a status).
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    println!(
        "berth up: starting kube-apiserver + etcd, Postgres, PowerDNS, Pebble, an S3 server and the provider sandbox on loopback…"
    );
    let (plane, postgres, powerdns, s3) = tokio::join!(
        ControlPlane::start(),
        Postgres::start(),
        PowerDns::start(),
        S3Server::start()
    );
    let plane = plane.context("starting the control plane")?;
    let postgres = postgres.context("starting Postgres")?;
    let powerdns = powerdns.context("starting PowerDNS (pdns_server; see scripts/prereqs)")?;
    let s3 = s3.context("starting the S3 server (s3s-fs; see scripts/prereqs)")?;
    s3.create_bucket(EXAMPLE_BUCKET)?;
    // Pebble validates DNS-01 challenges by asking the local PowerDNS, as Let's Encrypt would
    // ask the zone's public name servers.
    let pebble = Pebble::start(PebbleConfig::new(powerdns.dns))
        .await
        .context("starting Pebble (see scripts/prereqs)")?;
    let sandbox = Sandbox::start(SandboxConfig {
        ports: Ports {
            vercel: 4001,
            cloudflare: 4002,
            supabase: 4003,
            railway: 4004,
            apps: 4005,
        },
        fixtures: Fixtures::vocilia(),
        // The platforms verify a custom domain by looking its records up, here in PowerDNS.
        dns_server: Some(powerdns.dns),
        ..SandboxConfig::default()
    })
    .await
    .context(
        "starting the provider sandbox on ports 4001-4005 (is another `berth sandbox` running?)",
    )?;
    let client = plane.client().await?;
    crate::crdgen::install(&client, Duration::from_secs(60)).await?;
    create_database(&postgres, "berth").await?;
    create_database(&postgres, "vocilia").await?;
    seed_example_database(&postgres).await?;
    kubectl(&plane, &["create", "namespace", "berth-system"])?;
    let inbox = AlertInbox::start()
        .await
        .context("starting the alert inbox")?;
    kubectl_stdin(
        &plane,
        &["apply", "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {ALERT_RECEIVERS}, namespace: berth-system}}\nstringData:\n  berth-up: '{{\"url\": \"{}\", \"format\": \"json\"}}'\n",
            inbox.url
        ),
    )
    .context("creating the alert receivers Secret")?;

    let (tx, rx) = tokio::sync::watch::channel(false);
    let controller_args = ControllerArgs {
        listen: args.listen,
        database: crate::store::DatabaseArgs {
            database_url: Some(postgres.url("berth")),
        },
        lease_namespace: "berth-system".into(),
        identity: Some("berth-up".into()),
        resync_seconds: 300,
        watch_namespace: None,
        // Deployment URLs are the sandbox's: its apps server answers for every one of them.
        health_check_via: Some(sandbox.urls().apps.clone()),
        // Alert notifications are printed here (see `AlertInbox`).
        alert_receivers_secret: Some(format!("berth-system/{ALERT_RECEIVERS}")),
        alert_interval_seconds: 30,
        log_json: false,
        provider_rate: None,
        concurrency: crate::controllers::DEFAULT_CONCURRENCY,
        monitoring: crate::monitoring::job::Args::default(),
    };
    let controller = tokio::spawn(crate::run::serve(client.clone(), controller_args, rx));

    let (ok, rendered) = kubectl_output(&plane, &["kustomize", &args.example.to_string_lossy()])?;
    if !ok {
        bail!("rendering the example estate failed:\n{rendered}");
    }
    let mut docs: Vec<serde_json::Value> = crate::yaml::documents(&rendered)?;
    let urls = sandbox.urls();
    localize(
        &mut docs,
        &LocalEndpoints {
            railway: format!("{}/graphql/v2", urls.railway),
            vercel: urls.vercel.clone(),
            supabase: urls.supabase.clone(),
            cloudflare: urls.cloudflare.clone(),
            powerdns: Some(LocalDns {
                api_url: powerdns.api_url.clone(),
                api_key: powerdns.api_key.clone(),
                dns: powerdns.dns,
            }),
            acme: Some(LocalAcme {
                directory: pebble.directory.clone(),
                tls_ca_pem: pebble.tls_ca_pem.clone(),
            }),
            database_url: Some(postgres.url("vocilia")),
            s3: Some((
                s3.endpoint.clone(),
                s3.access_key.clone(),
                s3.secret_key.clone(),
            )),
        },
    );
    create_zones(&docs, &powerdns).await?;
    let stream: String = docs
        .iter()
        .map(|d| crate::yaml::to_string(d).map(|y| format!("---\n{y}")))
        .collect::<Result<_, _>>()?;
    kubectl_stdin(&plane, &["apply", "-f", "-"], &stream).context("applying the example estate")?;
    let base = format!("http://{}", args.listen);
    println!(
        "\nberth is running.\n  kubeconfig:   export KUBECONFIG={kc}\n  resources:    kubectl get berth -A\n  health:       {base}/health/detailed\n  database:     {base}/health/database\n  metrics:      {base}/metrics\n  admin API:    {base}/api/admin/deployment/status (Authorization: Bearer <token from the kubeconfig>)\n  monitoring:   {base}/api/admin/monitoring/uptime?window=1h, {base}/api/admin/alerts (alert notifications print here)\n  an outage:    curl -X POST {apps}/_sandbox/faults -H 'content-type: application/json' -d '{{\"error_rate\": 1}}'  (curl -X DELETE {apps}/_sandbox/faults ends it)\n  postgres:     {pg}\n  powerdns:     API {pdns}, DNS {dns} (dig @{dns_ip} -p {dns_port} api.vocilia.com)\n  acme:         Pebble {acme}\n  sandbox:      Vercel {v}, Railway {r}/graphql/v2, Supabase {sb}, Cloudflare {cf}, apps {apps}\n",
        kc = plane.kubeconfig.display(),
        pg = postgres.url("berth"),
        pdns = powerdns.api_url,
        dns = powerdns.dns,
        dns_ip = powerdns.dns.ip(),
        dns_port = powerdns.dns.port(),
        acme = pebble.directory,
        v = urls.vercel,
        r = urls.railway,
        sb = urls.supabase,
        cf = urls.cloudflare,
        apps = urls.apps,
    );

    if args.check {
        let counted = wait_for_status(&client, Duration::from_secs(60)).await?;
        println!("all {counted} example objects have status");
        let ready = wait_for_ready(&client, Duration::from_secs(180)).await?;
        println!(
            "all {ready} example objects are Ready (variables synced, releases live, domains verified, certificates issued):"
        );
        let (backup, verification) = backup_now(&plane, &client, Duration::from_secs(120)).await?;
        println!("{backup}\n{verification}");
        let uptime = wait_for_uptime(&base, &plane.admin().token, Duration::from_secs(240)).await?;
        println!("uptime over the last hour, from the probes:\n{uptime}");
        let (_, out) = kubectl_output(&plane, &["get", "berth", "-A"])?;
        println!("{out}");
        let _ = tx.send(true);
        controller.await??;
        return Ok(());
    }
    println!("Ctrl-C stops everything and deletes the stack's data.");
    tokio::signal::ctrl_c().await?;
    let _ = tx.send(true);
    controller.await??;
    Ok(())
}

/// Creates the zones the example's Environments manage in the local PowerDNS: berth manages
/// records in a zone, never the zone itself (its delegation is the owner's business).
async fn create_zones(docs: &[serde_json::Value], powerdns: &PowerDns) -> anyhow::Result<()> {
    use crate::providers::{
        dns::{DnsRecords as _, powerdns::PowerDns as Client},
        http::{HttpMetrics, Secret},
    };
    let client = Client::connect(
        &powerdns.api_url,
        Secret::new(powerdns.api_key.clone()),
        std::sync::Arc::new(HttpMetrics::default()),
    )?;
    for doc in docs.iter().filter(|d| d["kind"] == "Environment") {
        let dns = &doc["spec"]["providers"]["dns"];
        if let (Some(zone), true) = (dns["zone"].as_str(), dns["powerdns"].is_object()) {
            client
                .ensure_zone(zone)
                .await
                .with_context(|| format!("creating zone {zone} in the local PowerDNS"))?;
        }
    }
    Ok(())
}

/// The Secret naming `berth up`'s alert receiver.
const ALERT_RECEIVERS: &str = "berth-alert-receivers";

/// The bucket the example's BackupPolicy writes to.
const EXAMPLE_BUCKET: &str = "vocilia-backups";

/// The tables the example BackupPolicy's verification checks look for, with a few rows, so
/// its backups of the local database verify as they would against the real one.
async fn seed_example_database(pg: &Postgres) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&pg.url("vocilia")).await?;
    for statement in [
        "CREATE TABLE stores (id serial PRIMARY KEY, name text NOT NULL)",
        "CREATE TABLE feedback (id serial PRIMARY KEY, store_id int REFERENCES stores, body text)",
        "CREATE SCHEMA supabase_migrations",
        "CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY)",
        "INSERT INTO stores (name) SELECT 'store ' || n FROM generate_series(1, 50) n",
        "INSERT INTO feedback (store_id, body) SELECT 1 + n % 50, 'feedback ' || n FROM generate_series(1, 500) n",
        "INSERT INTO supabase_migrations.schema_migrations VALUES ('20260101000000')",
    ] {
        sqlx::query(statement).execute(&mut conn).await?;
    }
    Ok(())
}

async fn create_database(pg: &Postgres, name: &'static str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&pg.url("postgres")).await?;
    // `name` is a compile-time constant of ours, never user input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    Ok(())
}

fn kubectl(plane: &ControlPlane, args: &[&str]) -> anyhow::Result<()> {
    let (ok, out) = kubectl_output(plane, args)?;
    if !ok {
        bail!("kubectl {} failed:\n{out}", args.join(" "));
    }
    Ok(())
}

fn kubectl_stdin(plane: &ControlPlane, args: &[&str], stdin: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut child = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", plane.kubeconfig.display()))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running kubectl (is it installed?)")?;
    child
        .stdin
        .take()
        .context("kubectl stdin")?
        .write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "kubectl {} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn kubectl_output(plane: &ControlPlane, args: &[&str]) -> anyhow::Result<(bool, String)> {
    let out = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", plane.kubeconfig.display()))
        .args(args)
        .output()
        .context("running kubectl (is it installed?)")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// Waits until every berth object says Ready; returns how many.
async fn wait_for_ready(client: &kube::Client, timeout: Duration) -> anyhow::Result<usize> {
    let start = std::time::Instant::now();
    loop {
        let c = super::census(client, None).await?;
        if c.not_ready.is_empty() && c.total > 0 {
            return Ok(c.total);
        }
        if start.elapsed() > timeout {
            bail!(
                "not Ready after {timeout:?}:\n  {}",
                c.not_ready.join("\n  ")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the monitoring API reports probes of every Deployment (each is probed once it
/// is Ready; reports read the minute rollups); returns one line per Deployment.
async fn wait_for_uptime(base: &str, token: &str, timeout: Duration) -> anyhow::Result<String> {
    let url = format!("{base}/api/admin/monitoring/uptime?kind=Deployment&window=1h");
    let http = reqwest::Client::new();
    let start = std::time::Instant::now();
    loop {
        let answer: serde_json::Value = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let items = answer["items"].as_array().cloned().unwrap_or_default();
        let probed: Vec<_> = items
            .iter()
            .filter(|i| i["samples"].as_u64().is_some_and(|n| n > 0))
            .collect();
        if !items.is_empty() && probed.len() == items.len() {
            return Ok(probed
                .iter()
                .map(|i| {
                    format!(
                        "  {}: {}% of {} probes",
                        i["target"].as_str().unwrap_or("?"),
                        i["uptimePercent"],
                        i["samples"]
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"));
        }
        if start.elapsed() > timeout {
            bail!("the uptime report still lacks probes after {timeout:?}: {answer}");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Asks every BackupPolicy for a backup now (the reconcile-now annotation) and waits until one
/// is taken and verified by restore; returns what happened, in words.
async fn backup_now(
    plane: &ControlPlane,
    client: &kube::Client,
    timeout: Duration,
) -> anyhow::Result<(String, String)> {
    let asked_at = chrono::Utc::now();
    let requested = asked_at.to_rfc3339();
    kubectl(
        plane,
        &[
            "annotate",
            "backuppolicies.berth.dev",
            "--all",
            "--all-namespaces",
            "--overwrite",
            &format!(
                "{}={requested}",
                crate::api::common::RECONCILE_REQUESTED_ANNOTATION
            ),
        ],
    )?;
    let api: kube::Api<crate::api::BackupPolicy> = kube::Api::all(client.clone());
    let start = std::time::Instant::now();
    loop {
        for policy in api.list(&Default::default()).await?.items {
            let Some(s) = &policy.status else { continue };
            let taken = s.last_backup.as_ref().filter(|b| {
                b.started_at
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .is_some_and(|t| t >= asked_at - chrono::Duration::seconds(1))
            });
            let proved = s
                .last_verification
                .as_ref()
                .filter(|v| taken.is_some_and(|b| b.id == v.backup_id) && v.passed);
            if let (Some(b), Some(v)) = (taken, proved) {
                let name = kube::ResourceExt::name_any(&policy);
                return Ok((
                    format!(
                        "BackupPolicy {name}: backup {} taken on request ({} bytes, sha256 {}) at {}",
                        b.id,
                        b.size_bytes.unwrap_or_default(),
                        b.sha256.as_deref().unwrap_or("?"),
                        b.location.as_deref().unwrap_or("?"),
                    ),
                    format!(
                        "BackupPolicy {name}: verified by restore in {} ms",
                        v.duration_ms.unwrap_or_default()
                    ),
                ));
            }
        }
        if start.elapsed() > timeout {
            bail!("no backup taken and verified {timeout:?} after requesting one");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until every berth object has `observedGeneration` in its status; returns how many.
async fn wait_for_status(client: &kube::Client, timeout: Duration) -> anyhow::Result<usize> {
    let start = std::time::Instant::now();
    loop {
        let c = super::census(client, None).await?;
        if c.without_status.is_empty() && c.total > 0 {
            return Ok(c.total);
        }
        if start.elapsed() > timeout {
            bail!(
                "objects without status after {timeout:?}: {}",
                c.without_status.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
