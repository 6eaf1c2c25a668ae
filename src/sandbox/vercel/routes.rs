//! The Vercel simulator's routes: every path and method the client side of berth uses, in
//! Vercel's versions, behind the team-scope check, the fault/auth guard and the admin API.

use std::sync::Arc;

use axum::{
    Router,
    http::StatusCode,
    routing::{get, patch, post},
};

use super::{
    Shared,
    auth::{VercelDialect, err, team_scope},
    deployments::{
        cancel_deployment, create_deployment, delete_deployment, get_deployment, list_deployments,
    },
    domains::{
        add_domain, domain_config, get_domain, list_domains, remove_domain, update_domain,
        verify_domain,
    },
    env::{create_env, delete_env, edit_env, get_env, list_env},
    projects::{create_project, get_project, promote, rollback},
};
use crate::sandbox::{World, assemble, faults::Faults};

pub(crate) fn router(
    state: Shared,
    token: &str,
    faults: Arc<Faults>,
    world: &Arc<World>,
) -> Router {
    let api = Router::new()
        .route("/v13/deployments", post(create_deployment))
        .route(
            "/v13/deployments/{id}",
            get(get_deployment).delete(delete_deployment),
        )
        .route("/v6/deployments", get(list_deployments))
        .route("/v7/deployments", get(list_deployments))
        .route("/v12/deployments/{id}/cancel", patch(cancel_deployment))
        .route("/v10/projects/{project}/promote/{id}", post(promote))
        .route("/v1/projects/{project}/rollback/{id}", post(rollback))
        .route("/v11/projects", post(create_project))
        .route("/v9/projects/{project}", get(get_project))
        .route(
            "/v10/projects/{project}/env",
            get(list_env).post(create_env),
        )
        .route("/v1/projects/{project}/env/{id}", get(get_env))
        .route(
            "/v9/projects/{project}/env/{id}",
            patch(edit_env).delete(delete_env),
        )
        .route("/v10/projects/{project}/domains", post(add_domain))
        .route("/v9/projects/{project}/domains", get(list_domains))
        .route(
            "/v9/projects/{project}/domains/{domain}",
            get(get_domain).patch(update_domain).delete(remove_domain),
        )
        .route(
            "/v9/projects/{project}/domains/{domain}/verify",
            post(verify_domain),
        )
        .route("/v6/domains/{domain}/config", get(domain_config))
        .fallback(|| async {
            err(
                StatusCode::NOT_FOUND,
                "not_found",
                "The requested endpoint was not found",
            )
        })
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            team_scope,
        ));
    assemble(
        api,
        Arc::new(VercelDialect {
            token: token.to_string(),
        }),
        faults,
        world,
        state,
    )
}
