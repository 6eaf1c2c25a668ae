//! [`Variables`] on Railway: a service's variables in this environment. Reads ask for the
//! unrendered values, so `${{Postgres.DATABASE_URL}}` reads back as written and does not look
//! like drift; a batch is one `variableCollectionUpsert` (`replace: false`: variables berth
//! does not manage stay); deletes are one `variableDelete` each.

use std::collections::BTreeMap;

use super::{PROVIDER, RailwayClient, input, vars};
use crate::providers::{
    Error, Result,
    models::railway::{VariableCollectionUpsertInput, VariableDeleteInput, decode_variables},
    variables::{DesiredVariable, RemoteVariable, VarKind, Variables},
};

const LIST: &str = "query variables($projectId: String!, $environmentId: String!, $serviceId: String) { variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId, unrendered: true) }";
const UPSERT: &str = "mutation upsertVariables($input: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $input) }";
const DELETE: &str =
    "mutation deleteVariable($input: VariableDeleteInput!) { variableDelete(input: $input) }";

#[async_trait::async_trait]
impl Variables for RailwayClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn list(&self, service: &str) -> Result<Vec<RemoteVariable>> {
        let variables = vars([
            ("projectId", self.project_id.as_str().into()),
            ("environmentId", self.environment_id.as_str().into()),
            ("serviceId", service.into()),
        ]);
        // Values are secrets: `decode_variables` keeps them out of error excerpts.
        let data = self
            .send("list variables", LIST, variables, true)
            .await?
            .decode(decode_variables)?;
        Ok(data
            .variables
            .into_iter()
            .map(|(name, value)| RemoteVariable {
                id: None,
                name,
                value: Some(value),
                // Railway stores every value encrypted and returns it to the token.
                kind: VarKind::Encrypted,
                targets: Vec::new(),
                comment: None,
            })
            .collect())
    }

    async fn upsert(&self, service: &str, variables: &[DesiredVariable]) -> Result<()> {
        if variables.is_empty() {
            return Ok(());
        }
        let operation = "upsert variables";
        let body = VariableCollectionUpsertInput {
            project_id: self.project_id.clone(),
            environment_id: self.environment_id.clone(),
            service_id: Some(service.to_owned()),
            variables: variables
                .iter()
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect::<BTreeMap<_, _>>(),
            replace: false,
            skip_deploys: self.skip_deploys,
        };
        // Declarative (the same names get the same values), so a retry is harmless.
        self.mutate_ok(
            operation,
            UPSERT,
            vars([("input", input(operation, &body)?)]),
            true,
        )
        .await?;
        tracing::info!(
            service,
            count = variables.len(),
            "upserted Railway variables"
        );
        Ok(())
    }

    async fn delete(&self, service: &str, variables: &[RemoteVariable]) -> Result<()> {
        let operation = "delete variable";
        for variable in variables {
            let body = VariableDeleteInput {
                project_id: self.project_id.clone(),
                environment_id: self.environment_id.clone(),
                service_id: Some(service.to_owned()),
                name: variable.name.clone(),
            };
            let variables = vars([("input", input(operation, &body)?)]);
            match self.mutate_ok(operation, DELETE, variables, true).await {
                Ok(()) => {
                    tracing::info!(service, name = %variable.name, "deleted Railway variable")
                }
                Err(Error::NotFound { .. }) => {
                    tracing::debug!(service, name = %variable.name, "Railway variable already gone");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
