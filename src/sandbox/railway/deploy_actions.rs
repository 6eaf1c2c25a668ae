//! The deployment mutations: deploy a service instance (`serviceInstanceDeployV2` returns the
//! id to poll), redeploy, roll back to an earlier successful deployment (a new deployment of
//! its source, marked `rollbackFrom` in `meta`), cancel and remove.

use async_graphql::{Context, Object};
use chrono::Utc;
use serde_json::json;

use super::{
    GqlResult,
    auth::need,
    deployments::{Deployment, DeploymentStatus, deployment},
};
use crate::sandbox::faults::lock;

/// Every mutation that starts, replaces or ends a deployment.
#[derive(Default)]
pub struct DeploymentMutations;

#[Object]
impl DeploymentMutations {
    async fn service_instance_deploy_v2(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
        commit_sha: Option<String>,
    ) -> GqlResult<String> {
        let s = need(ctx)?;
        s.deploy(
            &environment_id,
            &service_id,
            json!({"commitHash": commit_sha}),
        )
    }

    async fn service_instance_deploy(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
        commit_sha: Option<String>,
        latest_commit: Option<bool>,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        let _ = latest_commit;
        s.deploy(
            &environment_id,
            &service_id,
            json!({"commitHash": commit_sha}),
        )
        .map(|_| true)
    }

    async fn service_instance_redeploy(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        let meta = {
            let inner = lock(&s.inner);
            inner
                .deployments
                .iter()
                .rev()
                .find(|d| d.env_id == environment_id && d.service_id == service_id)
                .map(|d| d.meta.clone())
                .ok_or("No deployment found for this service instance")?
        };
        s.deploy(&environment_id, &service_id, meta).map(|_| true)
    }

    async fn deployment_redeploy(
        &self,
        ctx: &Context<'_>,
        id: String,
        use_previous_image_tag: Option<bool>,
    ) -> GqlResult<Deployment> {
        let s = need(ctx)?;
        let _ = use_previous_image_tag;
        let (env, svc, meta) = {
            let inner = lock(&s.inner);
            let d = inner
                .deployments
                .iter()
                .find(|d| d.id == id)
                .ok_or("Deployment not found")?;
            (d.env_id.clone(), d.service_id.clone(), d.meta.clone())
        };
        let new = s.deploy(&env, &svc, meta)?;
        let inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter()
            .find(|d| d.id == new)
            .ok_or("Deployment not found")?;
        Ok(deployment(&inner, d))
    }

    async fn deployment_rollback(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let (env, svc, meta) = {
            let inner = lock(&s.inner);
            let d = inner
                .deployments
                .iter()
                .find(|d| d.id == id)
                .ok_or("Deployment not found")?;
            if !deployment(&inner, d).can_rollback {
                return Err("Deployment cannot be rolled back".into());
            }
            let mut meta = d.meta.clone();
            if let Some(m) = meta.as_object_mut() {
                m.insert("rollbackFrom".into(), id.clone().into());
            }
            (d.env_id.clone(), d.service_id.clone(), meta)
        };
        s.deploy(&env, &svc, meta).map(|_| true)
    }

    async fn deployment_cancel(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let mut inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or("Deployment not found")?;
        if !matches!(
            d.status,
            DeploymentStatus::Queued
                | DeploymentStatus::Building
                | DeploymentStatus::Deploying
                | DeploymentStatus::Initializing
                | DeploymentStatus::Waiting
        ) {
            return Err("Deployment is not in progress".into());
        }
        d.status = DeploymentStatus::Removed;
        d.status_updated_at = Utc::now();
        Ok(true)
    }

    async fn deployment_remove(&self, ctx: &Context<'_>, id: String) -> GqlResult<bool> {
        let s = need(ctx)?;
        let mut inner = lock(&s.inner);
        let d = inner
            .deployments
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or("Deployment not found")?;
        d.status = DeploymentStatus::Removed;
        d.deleted = true;
        d.status_updated_at = Utc::now();
        Ok(true)
    }
}
