//! A live estate at scale for the benches that need one: E Environments × V variables on
//! Vercel (a fifth from a Secret) and D Deployments, one sandbox project each, applied at once
//! and converged by a real controller against the sandbox.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use berth::{
    api::{Deployment, Environment, deployment::DeploymentPhase},
    sandbox::{Fixtures, Sandbox, SandboxConfig, SandboxHandle, Steps},
};
use futures::{StreamExt, TryStreamExt, stream};
use kube::{
    Api, Client,
    api::{ListParams, PostParams},
};
use serde_json::{Value, json};

/// What to apply.
pub struct Estate<'a> {
    pub namespace: &'a str,
    pub environments: usize,
    pub variables: usize,
    pub deployments: usize,
    /// Every Deployment's `spec.healthCheck`.
    pub health_check: Value,
}

/// Deployment `d`'s name, also its Vercel project's.
pub fn deployment_name(d: usize) -> String {
    format!("svc-{d:04}")
}

impl Estate<'_> {
    /// A sandbox holding every project the estate names.
    pub async fn sandbox(&self) -> anyhow::Result<SandboxHandle> {
        let mut projects: Vec<String> =
            (0..self.environments).map(|e| format!("env-{e}")).collect();
        projects.extend((0..self.deployments).map(deployment_name));
        Ok(Sandbox::start(SandboxConfig {
            seed: 7,
            steps: Steps {
                queue: Duration::from_millis(20),
                build: Duration::from_millis(200),
                deploy: Duration::from_millis(200),
            },
            fixtures: Fixtures {
                vercel_projects: projects,
                ..Fixtures::default()
            },
            ..SandboxConfig::default()
        })
        .await?)
    }

    /// Creates the Secrets, Environments and Deployments (namespace already there).
    pub async fn create(&self, client: &Client, sb: &SandboxHandle) -> anyhow::Result<()> {
        let ns = self.namespace;
        let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), ns);
        let shared: BTreeMap<String, String> = (0..self.variables)
            .map(|v| (format!("k{v}"), format!("secret-value-{v}")))
            .collect();
        for (name, data) in [
            (
                "vercel-token",
                BTreeMap::from([("token".to_string(), sb.tokens().vercel.clone())]),
            ),
            ("app-secrets", shared),
        ] {
            let s =
                serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))?;
            secrets.create(&PostParams::default(), &s).await?;
        }
        let environments = (0..self.environments).map(|e| {
            let variables: Vec<Value> = (0..self.variables)
                .map(|v| {
                    let target = json!([{"vercelProject": format!("env-{e}"), "vercelTargets": ["production", "preview"]}]);
                    if v % 5 == 0 {
                        json!({"name": format!("SECRET_{v}"), "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": format!("k{v}")}}, "targets": target})
                    } else {
                        json!({"name": format!("VAR_{v}"), "value": format!("value-{e}-{v}"), "targets": target})
                    }
                })
                .collect();
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "Environment", "metadata": {"name": format!("env-{e}")}, "spec": {
                "providers": {"vercel": {"teamId": berth::sandbox::VERCEL_TEAM_ID, "tokenSecretRef": {"name": "vercel-token", "key": "token"}, "endpoint": sb.vercel_url()}},
                "variables": variables}})
        });
        let deployments = (0..self.deployments).map(|d| {
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "Deployment", "metadata": {"name": deployment_name(d)}, "spec": {
                "environmentRef": {"name": format!("env-{}", d % self.environments.max(1))},
                "service": {"vercel": {"project": deployment_name(d)}},
                "source": {"repo": "vocilia/web", "ref": "main", "commit": format!("{:040x}", d + 1)},
                "healthCheck": self.health_check}})
        });
        create_all(
            Api::<Environment>::namespaced(client.clone(), ns),
            environments,
            16,
        )
        .await?;
        create_all(
            Api::<Deployment>::namespaced(client.clone(), ns),
            deployments,
            32,
        )
        .await
    }

    /// Waits until every Environment is Ready and every Deployment Live (at most 20 minutes),
    /// printing progress every 15 s and calling `tick` every half second; the time it took.
    pub async fn converge(
        &self,
        client: &Client,
        started: Instant,
        log: &std::path::Path,
        mut tick: impl FnMut(),
    ) -> anyhow::Result<Duration> {
        let (envs, deps) = (self.environments, self.deployments);
        let mut last_print = Instant::now();
        loop {
            tick();
            let (ready_envs, live) = self.progress(client).await?;
            if ready_envs == envs && live == deps {
                return Ok(started.elapsed());
            }
            if last_print.elapsed() > Duration::from_secs(15) {
                println!(
                    "  {:.0}s: {ready_envs}/{envs} Environments Ready, {live}/{deps} Deployments Live",
                    started.elapsed().as_secs_f64()
                );
                last_print = Instant::now();
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(1200),
                "not converged after 20 min: {ready_envs}/{envs} Environments, {live}/{deps} Deployments (log: {})",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// (Environments Ready, Deployments Live).
    async fn progress(&self, client: &Client) -> anyhow::Result<(usize, usize)> {
        let envs = Api::<Environment>::namespaced(client.clone(), self.namespace)
            .list(&ListParams::default())
            .await?;
        let ready = envs
            .items
            .iter()
            .filter(|e| {
                e.status
                    .as_ref()
                    .is_some_and(|s| super::is_ready(&s.common.conditions))
            })
            .count();
        let deps = Api::<Deployment>::namespaced(client.clone(), self.namespace)
            .list(&ListParams::default())
            .await?;
        let live = deps
            .items
            .iter()
            .filter(|d| {
                d.status
                    .as_ref()
                    .is_some_and(|s| s.phase == Some(DeploymentPhase::Live))
            })
            .count();
        Ok((ready, live))
    }
}

/// Creates every object, `parallel` at a time.
async fn create_all<K>(
    api: Api<K>,
    bodies: impl Iterator<Item = Value>,
    parallel: usize,
) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    stream::iter(bodies)
        .map(|body| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &serde_json::from_value(body)?)
                    .await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(parallel)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}
