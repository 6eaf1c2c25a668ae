//! Variables per (environment, service): reads render `${{…}}` references unless
//! `unrendered: true`; writes (`variableUpsert`, `variableCollectionUpsert` with `replace`,
//! `variableDelete`) redeploy the affected services unless `skipDeploys`.

use std::collections::BTreeMap;

use async_graphql::{Context, InputObject, Object};
use serde::{Deserialize, Serialize};

use super::{
    GqlResult,
    auth::{check_scope, need},
    state::Inner,
};
use crate::sandbox::faults::lock;

/// `EnvironmentVariables`: a JSON object of name → value.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EnvironmentVariables(BTreeMap<String, String>);
async_graphql::scalar!(EnvironmentVariables, "EnvironmentVariables");

#[derive(InputObject)]
pub struct VariableUpsertInput {
    project_id: String,
    environment_id: String,
    service_id: Option<String>,
    name: String,
    value: String,
    #[graphql(default = false)]
    skip_deploys: bool,
}

#[derive(InputObject)]
pub struct VariableCollectionUpsertInput {
    project_id: String,
    environment_id: String,
    service_id: Option<String>,
    variables: EnvironmentVariables,
    #[graphql(default = false)]
    replace: bool,
    #[graphql(default = false)]
    skip_deploys: bool,
}

#[derive(InputObject)]
pub struct VariableDeleteInput {
    project_id: String,
    environment_id: String,
    service_id: Option<String>,
    name: String,
}
/// Replace `${{NAME}}`, `${{shared.NAME}}` and `${{service.NAME}}` references.
fn render(inner: &Inner, env: &str, service: Option<&str>, value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let reference = after[..end].trim();
        let (scope, name) = match reference.split_once('.') {
            Some(("shared", n)) => (None, n),
            Some((svc, n)) => (
                inner
                    .services
                    .iter()
                    .find(|s| s.name == svc)
                    .map(|s| s.id.as_str()),
                n,
            ),
            None => (service, reference),
        };
        let key = (env.to_string(), scope.map(str::to_string));
        if let Some(v) = inner.variables.get(&key).and_then(|m| m.get(name)) {
            out.push_str(v);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `variables` and `variablesForServiceDeployment`.
#[derive(Default)]
pub struct VariableQueries;

#[Object]
impl VariableQueries {
    async fn variables(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        environment_id: String,
        service_id: Option<String>,
        unrendered: Option<bool>,
    ) -> GqlResult<EnvironmentVariables> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        if !inner
            .environments
            .iter()
            .any(|e| e.id == environment_id && e.project_id == project_id)
        {
            return Err("Environment not found".into());
        }
        let vars = inner
            .variables
            .get(&(environment_id.clone(), service_id.clone()))
            .cloned()
            .unwrap_or_default();
        if unrendered == Some(true) {
            return Ok(EnvironmentVariables(vars));
        }
        Ok(EnvironmentVariables(
            vars.into_iter()
                .map(|(k, v)| {
                    let r = render(&inner, &environment_id, service_id.as_deref(), &v);
                    (k, r)
                })
                .collect(),
        ))
    }

    async fn variables_for_service_deployment(
        &self,
        ctx: &Context<'_>,
        project_id: String,
        environment_id: String,
        service_id: String,
    ) -> GqlResult<EnvironmentVariables> {
        let s = need(ctx)?;
        let inner = lock(&s.inner);
        if !inner
            .environments
            .iter()
            .any(|e| e.id == environment_id && e.project_id == project_id)
        {
            return Err("Environment not found".into());
        }
        let mut out = BTreeMap::new();
        for scope in [None, Some(service_id.clone())] {
            if let Some(m) = inner.variables.get(&(environment_id.clone(), scope)) {
                for (k, v) in m {
                    out.insert(
                        k.clone(),
                        render(&inner, &environment_id, Some(&service_id), v),
                    );
                }
            }
        }
        Ok(EnvironmentVariables(out))
    }
}

/// The variable writes.
#[derive(Default)]
pub struct VariableMutations;

#[Object]
impl VariableMutations {
    async fn variable_upsert(
        &self,
        ctx: &Context<'_>,
        input: VariableUpsertInput,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        check_scope(
            &s,
            &input.project_id,
            &input.environment_id,
            input.service_id.as_deref(),
        )?;
        {
            let mut inner = lock(&s.inner);
            count_write(
                &mut inner,
                &input.environment_id,
                input.service_id.as_deref(),
                &input.name,
            );
            inner
                .variables
                .entry((input.environment_id.clone(), input.service_id.clone()))
                .or_default()
                .insert(input.name, input.value);
        }
        if !input.skip_deploys {
            s.redeploy_after_variables(&input.environment_id, input.service_id.as_deref());
        }
        Ok(true)
    }

    async fn variable_collection_upsert(
        &self,
        ctx: &Context<'_>,
        input: VariableCollectionUpsertInput,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        check_scope(
            &s,
            &input.project_id,
            &input.environment_id,
            input.service_id.as_deref(),
        )?;
        {
            let mut inner = lock(&s.inner);
            for name in input.variables.0.keys() {
                count_write(
                    &mut inner,
                    &input.environment_id,
                    input.service_id.as_deref(),
                    name,
                );
            }
            let vars = inner
                .variables
                .entry((input.environment_id.clone(), input.service_id.clone()))
                .or_default();
            if input.replace {
                vars.clear();
            }
            vars.extend(input.variables.0);
        }
        if !input.skip_deploys {
            s.redeploy_after_variables(&input.environment_id, input.service_id.as_deref());
        }
        Ok(true)
    }

    async fn variable_delete(
        &self,
        ctx: &Context<'_>,
        input: VariableDeleteInput,
    ) -> GqlResult<bool> {
        let s = need(ctx)?;
        check_scope(
            &s,
            &input.project_id,
            &input.environment_id,
            input.service_id.as_deref(),
        )?;
        let removed = lock(&s.inner)
            .variables
            .get_mut(&(input.environment_id.clone(), input.service_id.clone()))
            .and_then(|m| m.remove(&input.name));
        if removed.is_none() {
            return Err(format!("Variable {} not found", input.name).into());
        }
        s.redeploy_after_variables(&input.environment_id, input.service_id.as_deref());
        Ok(true)
    }
}

fn count_write(inner: &mut Inner, env: &str, service: Option<&str>, name: &str) {
    let key = format!("{env}/{}/{name}", service.unwrap_or("-"));
    *inner.variable_writes.entry(key).or_default() += 1;
}
