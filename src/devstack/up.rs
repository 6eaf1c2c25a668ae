//! `berth up`: the whole local stack in one command — control plane, Postgres, PowerDNS, an S3
//! server, the provider sandbox (serving the example's accounts), CRDs, the controller, and the
//! Vocilia example estate pointed at all of them — then the endpoints to look at.

use std::{process::Command, time::Duration};

use anyhow::{Context as _, bail};

use super::{
    ControlPlane, Postgres, PowerDns, S3Server,
    estate::{LocalEndpoints, localize},
};
use crate::{
    run::{ControllerArgs, UpArgs},
    sandbox::{Fixtures, Ports, Sandbox, SandboxConfig},
};

/// Starts everything and runs until Ctrl-C (or, with `--check`, until every example object has
/// a status).
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    println!(
        "berth up: starting kube-apiserver + etcd, Postgres, PowerDNS, an S3 server and the provider sandbox on loopback…"
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
    let sandbox = Sandbox::start(SandboxConfig {
        ports: Ports {
            vercel: 4001,
            cloudflare: 4002,
            supabase: 4003,
            railway: 4004,
            apps: 4005,
        },
        fixtures: Fixtures::vocilia(),
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

    let (tx, rx) = tokio::sync::watch::channel(false);
    let controller_args = ControllerArgs {
        listen: args.listen,
        database_url: Some(postgres.url("berth")),
        lease_namespace: "berth-system".into(),
        identity: Some("berth-up".into()),
        resync_seconds: 300,
        watch_namespace: None,
        // Deployment URLs are the sandbox's: its apps server answers for every one of them.
        health_check_via: Some(sandbox.urls().apps.clone()),
        alert_receivers_secret: None,
        alert_interval_seconds: 30,
        log_json: false,
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
            powerdns: Some((powerdns.api_url.clone(), powerdns.api_key.clone())),
            database_url: Some(postgres.url("vocilia")),
            s3: Some((
                s3.endpoint.clone(),
                s3.access_key.clone(),
                s3.secret_key.clone(),
            )),
        },
    );
    let stream: String = docs
        .iter()
        .map(|d| crate::yaml::to_string(d).map(|y| format!("---\n{y}")))
        .collect::<Result<_, _>>()?;
    kubectl_stdin(&plane, &["apply", "-f", "-"], &stream).context("applying the example estate")?;
    let base = format!("http://{}", args.listen);
    println!(
        "\nberth is running.\n  kubeconfig:   export KUBECONFIG={kc}\n  resources:    kubectl get berth -A\n  health:       {base}/health/detailed\n  database:     {base}/health/database\n  metrics:      {base}/metrics\n  admin API:    {base}/api/admin/deployment/status (Authorization: Bearer <token from the kubeconfig>)\n  postgres:     {pg}\n  powerdns:     API {pdns}, DNS {dns} (dig @{dns_ip} -p {dns_port} api.vocilia.com)\n  sandbox:      Vercel {v}, Railway {r}/graphql/v2, Supabase {sb}, Cloudflare {cf}, apps {apps}\n",
        kc = plane.kubeconfig.display(),
        pg = postgres.url("berth"),
        pdns = powerdns.api_url,
        dns = powerdns.dns,
        dns_ip = powerdns.dns.ip(),
        dns_port = powerdns.dns.port(),
        v = urls.vercel,
        r = urls.railway,
        sb = urls.supabase,
        cf = urls.cloudflare,
        apps = urls.apps,
    );

    if args.check {
        let counted = wait_for_status(&client, Duration::from_secs(60)).await?;
        println!("all {counted} example objects have status");
        let synced = wait_for_environments(&client, Duration::from_secs(60)).await?;
        println!("all {synced} Environments are Ready (variables synced to the sandbox):");
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

/// Waits until every Environment says Ready; returns how many.
async fn wait_for_environments(client: &kube::Client, timeout: Duration) -> anyhow::Result<usize> {
    let api: kube::Api<crate::api::Environment> = kube::Api::all(client.clone());
    let start = std::time::Instant::now();
    loop {
        let list = api.list(&Default::default()).await?;
        let not_ready: Vec<String> = list
            .items
            .iter()
            .filter(|e| {
                !e.status.as_ref().is_some_and(|s| {
                    crate::controllers::conditions::find(&s.common.conditions, "Ready")
                        .is_some_and(|c| c.status == "True")
                })
            })
            .map(|e| {
                let why = e
                    .status
                    .as_ref()
                    .and_then(|s| {
                        crate::controllers::conditions::find(&s.common.conditions, "Ready")
                    })
                    .map(|c| c.message.clone())
                    .unwrap_or_default();
                format!("{}: {why}", kube::ResourceExt::name_any(e))
            })
            .collect();
        if not_ready.is_empty() && !list.items.is_empty() {
            return Ok(list.items.len());
        }
        if start.elapsed() > timeout {
            bail!(
                "Environments not Ready after {timeout:?}: {}",
                not_ready.join("; ")
            );
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
