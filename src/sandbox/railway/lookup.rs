//! Lookups: the caller (`me`, `projectToken`), projects with their environments and
//! services, and service instances with their latest and active deployments and domains.

use async_graphql::{Context, Object};

use super::{
    GqlResult,
    auth::{Auth, need},
    deployments::{DepRow, DeploymentStatus, deployment},
    domains::domains_of,
    schema::{
        Environment, Project, ProjectEnvironmentsConnection, ProjectServicesConnection,
        ProjectToken, QueryEnvironmentsConnection, QueryProjectsConnection, Service,
        ServiceInstance, ServiceSource, User, dt,
    },
    state::{Inner, ProjectRow},
};
use crate::sandbox::faults::lock;

/// Who is calling, and what the project holds.
#[derive(Default)]
pub struct LookupQueries;

#[Object]
impl LookupQueries {
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<User> {
        need(ctx)?;
        match ctx.data::<Auth>()? {
            Auth::Account => Ok(User {
                id: "sandbox-user".into(),
                email: "sandbox@example.com".into(),
                name: Some("Sandbox".into()),
            }),
            _ => Err("Not Authorized".into()),
        }
    }

    async fn project_token(&self, ctx: &Context<'_>) -> GqlResult<ProjectToken> {
        let s = need(ctx)?;
        if !matches!(ctx.data::<Auth>()?, Auth::Project) {
            return Err("Project Token not found".into());
        }
        let inner = lock(&s.inner);
        let p = inner.projects.first().ok_or("Project Token not found")?;
        let e = inner
            .environments
            .iter()
            .find(|e| e.project_id == p.id)
            .ok_or("Project Token not found")?;
        Ok(ProjectToken {
            project_id: p.id.clone(),
            environment_id: e.id.clone(),
        })
    }

    async fn project(&self, ctx: &Context<'_>, id: String) -> GqlResult<Project> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let p = inner
            .projects
            .iter()
            .find(|p| p.id == id)
            .ok_or("Project not found")?;
        Ok(project(&inner, p))
    }

    async fn projects(
        &self,
        ctx: &Context<'_>,
        workspace_id: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<QueryProjectsConnection> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let nodes = inner
            .projects
            .iter()
            .filter(|p| workspace_id.as_ref().is_none_or(|w| &p.workspace_id == w))
            .map(|p| project(&inner, p))
            .collect();
        Ok(QueryProjectsConnection::page(nodes, first, after))
    }

    async fn environments(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<QueryEnvironmentsConnection> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let nodes = inner
            .environments
            .iter()
            .filter(|e| e.project_id == project_id)
            .cloned()
            .collect();
        Ok(QueryEnvironmentsConnection::page(nodes, first, after))
    }

    async fn environment(
        &self,
        ctx: &Context<'_>,
        id: String,
        project_id: Option<String>,
    ) -> GqlResult<Environment> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        inner
            .environments
            .iter()
            .find(|e| e.id == id && project_id.as_ref().is_none_or(|p| &e.project_id == p))
            .cloned()
            .ok_or_else(|| "Environment not found".into())
    }

    async fn service(&self, ctx: &Context<'_>, id: String) -> GqlResult<Service> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        inner
            .services
            .iter()
            .find(|x| x.id == id)
            .cloned()
            .ok_or_else(|| "Service not found".into())
    }

    async fn service_instance(
        &self,
        ctx: &Context<'_>,
        environment_id: String,
        service_id: String,
    ) -> GqlResult<ServiceInstance> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        let svc = inner
            .services
            .iter()
            .find(|x| x.id == service_id)
            .ok_or("ServiceInstance not found")?;
        if !inner.environments.iter().any(|e| e.id == environment_id) {
            return Err("ServiceInstance not found".into());
        }
        let deps: Vec<&DepRow> = inner
            .deployments
            .iter()
            .filter(|d| d.env_id == environment_id && d.service_id == service_id)
            .collect();
        Ok(ServiceInstance {
            id: format!("{environment_id}:{service_id}"),
            service_id: svc.id.clone(),
            service_name: svc.name.clone(),
            environment_id: environment_id.clone(),
            source: Some(ServiceSource {
                repo: Some(format!("sandbox/{}", svc.name)),
                image: None,
            }),
            latest_deployment: deps.last().map(|d| deployment(&inner, d)),
            active_deployments: deps
                .iter()
                .filter(|d| d.status == DeploymentStatus::Success)
                .map(|d| deployment(&inner, d))
                .collect(),
            domains: domains_of(&s, &inner, &environment_id, &service_id),
        })
    }
}

fn project(inner: &Inner, p: &ProjectRow) -> Project {
    Project {
        id: p.id.clone(),
        name: p.name.clone(),
        workspace_id: Some(p.workspace_id.clone()),
        created_at: dt(p.created_at),
        environments: ProjectEnvironmentsConnection::page(
            inner
                .environments
                .iter()
                .filter(|e| e.project_id == p.id)
                .cloned()
                .collect(),
            None,
            None,
        ),
        services: ProjectServicesConnection::page(
            inner
                .services
                .iter()
                .filter(|s| s.project_id == p.id)
                .cloned()
                .collect(),
            None,
            None,
        ),
    }
}
