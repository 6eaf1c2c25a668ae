//! `berth up`: the whole local stack in one command — control plane, Postgres, CRDs, the
//! controller, and the Vocilia example estate — then the endpoints to look at.

use std::{process::Command, time::Duration};

use anyhow::{Context as _, bail};

use super::{ControlPlane, Postgres};
use crate::run::{ControllerArgs, UpArgs};

/// Starts everything and runs until Ctrl-C (or, with `--check`, until every example object has
/// a status).
pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    println!("berth up: starting kube-apiserver + etcd and Postgres on loopback…");
    let (plane, postgres) = tokio::join!(ControlPlane::start(), Postgres::start());
    let plane = plane.context("starting the control plane")?;
    let postgres = postgres.context("starting Postgres")?;
    let client = plane.client().await?;
    crate::crdgen::install(&client, Duration::from_secs(60)).await?;
    create_database(&postgres, "berth").await?;
    kubectl(&plane, &["create", "namespace", "berth-system"])?;

    let (tx, rx) = tokio::sync::watch::channel(false);
    let controller_args = ControllerArgs {
        listen: args.listen,
        database_url: Some(postgres.url("berth")),
        lease_namespace: "berth-system".into(),
        identity: Some("berth-up".into()),
        resync_seconds: 300,
        watch_namespace: None,
        health_check_via: None,
        log_json: false,
    };
    let controller = tokio::spawn(crate::run::serve(client.clone(), controller_args, rx));

    kubectl(&plane, &["apply", "-k", &args.example.to_string_lossy()])
        .context("applying the example estate")?;
    let base = format!("http://{}", args.listen);
    println!(
        "\nberth is running.\n  kubeconfig:   export KUBECONFIG={kc}\n  resources:    kubectl get berth -A\n  health:       {base}/health/detailed\n  database:     {base}/health/database\n  metrics:      {base}/metrics\n  postgres:     {pg}\n",
        kc = plane.kubeconfig.display(),
        pg = postgres.url("berth"),
    );

    if args.check {
        let counted = wait_for_status(&client, Duration::from_secs(60)).await?;
        println!("all {counted} example objects have status:");
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
