//! Who is calling (account token, project token or nobody) and the checks every resolver
//! makes before touching state. Railway checks per field: an unauthorised request still gets
//! HTTP 200, with `Not Authorized` on each root field.

use std::sync::Arc;

use async_graphql::Context;
use axum::http::HeaderMap;

use super::{GqlResult, State};
use crate::sandbox::{
    Tokens,
    faults::{bearer, lock},
};

#[derive(Clone, Debug)]
pub(super) enum Auth {
    Account,
    Project,
    None,
}

impl Auth {
    /// The caller a request's headers prove.
    pub(super) fn of(headers: &HeaderMap, tokens: &Tokens) -> Self {
        let project_token = headers
            .get("project-access-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        if bearer(headers) == Some(tokens.railway.as_str()) {
            Self::Account
        } else if project_token == Some(tokens.railway_project.as_str()) {
            Self::Project
        } else {
            Self::None
        }
    }
}

/// The state, for an authorised caller.
pub(super) fn need(ctx: &Context<'_>) -> GqlResult<Arc<State>> {
    match ctx.data::<Auth>()? {
        Auth::None => Err("Not Authorized".into()),
        Auth::Account | Auth::Project => Ok(ctx.data::<Arc<State>>()?.clone()),
    }
}

/// The environment belongs to the project, and the service (when given) too.
pub(super) fn check_scope(
    s: &State,
    project: &str,
    env: &str,
    service: Option<&str>,
) -> GqlResult<()> {
    let inner = lock(&s.inner);
    if !inner
        .environments
        .iter()
        .any(|e| e.id == env && e.project_id == project)
    {
        return Err("Environment not found".into());
    }
    if let Some(svc) = service
        && !inner
            .services
            .iter()
            .any(|x| x.id == svc && x.project_id == project)
    {
        return Err("Service not found".into());
    }
    Ok(())
}
