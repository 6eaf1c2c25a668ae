//! Vercel project environment variables behind [`Variables`]: listed decrypted (sensitive
//! values never come back), written in one batched `upsert=true` call, deleted per entry.
//!
//! A batch answers 201 even when some items failed; those come back in `failed[]` and
//! become one error naming the keys (never the values).

use std::collections::HashSet;

use super::{PROVIDER, VercelClient, segment};
use crate::providers::{
    Error, Result,
    http::Call,
    models::vercel::{
        EnvCreateResponse, EnvFailure, EnvList, EnvTarget, EnvType, EnvUpsertItem, EnvVar,
    },
    variables::{DesiredVariable, RemoteVariable, VarKind, VarTarget, Variables},
};

/// A guard against a cursor that never ends.
const MAX_PAGES: usize = 50;

#[async_trait::async_trait]
impl Variables for VercelClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn list(&self, service: &str) -> Result<Vec<RemoteVariable>> {
        let path = format!("/v10/projects/{}/env", segment(service));
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut until: Option<i64> = None;
        for _ in 0..MAX_PAGES {
            let mut call = Call::get("list variables", path.clone()).query("decrypt", "true");
            if let Some(until) = until {
                call = call.query("until", until.to_string());
            }
            let page: EnvList = self.fetch(call).await?;
            let before = out.len();
            for env in page.envs {
                // Entries without an id cannot repeat across pages in a way we could tell.
                if env.id.as_ref().is_none_or(|id| seen.insert(id.clone())) {
                    out.push(remote_variable(env));
                }
            }
            match page.pagination.and_then(|p| p.next) {
                Some(next) if out.len() > before && until != Some(next) => until = Some(next),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn upsert(&self, service: &str, variables: &[DesiredVariable]) -> Result<()> {
        if variables.is_empty() {
            return Ok(());
        }
        let items: Vec<EnvUpsertItem> = variables.iter().map(upsert_item).collect();
        // `upsert=true` makes the batch declarative: repeating it after a lost answer is
        // harmless, so the HTTP layer may retry it.
        let call = Call::post(
            "upsert variables",
            format!("/v10/projects/{}/env", segment(service)),
        )
        .query("upsert", "true")
        .idempotent(true)
        .json_from(PROVIDER, &items)?;
        let answer: EnvCreateResponse = self.fetch(call).await?;
        if answer.failed.is_empty() {
            tracing::debug!(
                project = service,
                count = variables.len(),
                "upserted variables"
            );
            return Ok(());
        }
        Err(rejected(&answer.failed, variables))
    }

    async fn delete(&self, service: &str, variables: &[RemoteVariable]) -> Result<()> {
        for variable in variables {
            let id = variable.id.as_deref().ok_or_else(|| Error::Request {
                provider: PROVIDER,
                operation: "delete variable",
                detail: format!(
                    "{} has no Vercel id; delete entries as listed",
                    variable.name
                ),
            })?;
            let path = format!("/v9/projects/{}/env/{}", segment(service), segment(id));
            match self.send(Call::delete("delete variable", path)).await {
                Ok(_) => {
                    tracing::debug!(project = service, key = %variable.name, "deleted variable")
                }
                Err(Error::NotFound { .. }) => {
                    tracing::debug!(project = service, key = %variable.name, "variable already gone");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn remote_variable(env: EnvVar) -> RemoteVariable {
    let kind = match env.kind {
        EnvType::Plain | EnvType::System => VarKind::Plain,
        EnvType::Encrypted => VarKind::Encrypted,
        // Legacy secrets and types this build does not know are not readable as values.
        EnvType::Sensitive | EnvType::Secret | EnvType::Unknown(_) => VarKind::Sensitive,
    };
    let value = match kind {
        VarKind::Plain => env.value,
        // Without `decrypted: true` the value is ciphertext, not the variable's value.
        VarKind::Encrypted if env.decrypted == Some(true) => env.value,
        VarKind::Encrypted | VarKind::Sensitive => None,
    };
    let mut targets: Vec<VarTarget> = env
        .target
        .iter()
        .filter_map(|t| match t {
            EnvTarget::Production => Some(VarTarget::Production),
            EnvTarget::Preview => Some(VarTarget::Preview),
            EnvTarget::Development => Some(VarTarget::Development),
            EnvTarget::Unknown(_) => None,
        })
        .collect();
    targets.sort_unstable();
    RemoteVariable {
        id: env.id,
        name: env.key,
        value,
        kind,
        targets,
        comment: env.comment.filter(|c| !c.is_empty()),
    }
}

fn upsert_item(v: &DesiredVariable) -> EnvUpsertItem {
    EnvUpsertItem {
        key: v.name.clone(),
        value: v.value.clone(),
        kind: match v.kind {
            VarKind::Plain => EnvType::Plain,
            VarKind::Encrypted => EnvType::Encrypted,
            VarKind::Sensitive => EnvType::Sensitive,
        },
        target: v
            .targets
            .iter()
            .map(|t| match t {
                VarTarget::Production => EnvTarget::Production,
                VarTarget::Preview => EnvTarget::Preview,
                VarTarget::Development => EnvTarget::Development,
            })
            .collect(),
        git_branch: None,
        comment: v.comment.clone(),
        custom_environment_ids: Vec::new(),
    }
}

/// One error for the failed items of a batch: their keys and Vercel's reasons, with every
/// value that was sent scrubbed from the reasons. Only conflicts make it a `Conflict`.
fn rejected(failed: &[EnvFailure], sent: &[DesiredVariable]) -> Error {
    let scrub = |text: &str| sent.iter().fold(text.to_owned(), |t, v| v.value.scrub(&t));
    let reasons: Vec<String> = failed
        .iter()
        .map(|f| {
            let e = &f.error;
            let key = e
                .key
                .as_deref()
                .or(e.env_var_key.as_deref())
                .unwrap_or("(no key)");
            format!("{key} ({}: {})", e.code, scrub(&e.message))
        })
        .collect();
    let message = format!(
        "{} of {} variables rejected: {}",
        failed.len(),
        sent.len(),
        reasons.join("; ")
    );
    let conflicts = failed.iter().all(|f| {
        matches!(
            f.error.code.as_str(),
            "ENV_CONFLICT" | "existing_key_and_target"
        )
    });
    if conflicts {
        Error::Conflict {
            provider: PROVIDER,
            operation: "upsert variables",
            message,
        }
    } else {
        // The batch answered 201; 400 is what each item would have got on its own.
        Error::Invalid {
            provider: PROVIDER,
            operation: "upsert variables",
            status: 400,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::http::Secret;

    // Sensitive and undecrypted values are never taken for the variable's value.
    #[test]
    fn only_readable_values_are_returned() {
        let read = |v: serde_json::Value| remote_variable(serde_json::from_value(v).unwrap());
        let sensitive = read(
            json!({"id": "1", "key": "K", "value": "", "type": "sensitive",
                                    "target": ["production", "preview"]}),
        );
        assert_eq!(sensitive.value, None);
        assert_eq!(
            sensitive.targets,
            [VarTarget::Production, VarTarget::Preview]
        );
        let cipher = read(json!({"key": "K", "value": "enc_x", "type": "encrypted",
                                 "target": "production", "decrypted": false}));
        assert_eq!(cipher.value, None);
        let clear = read(json!({"key": "K", "value": "v", "type": "encrypted",
                                "target": ["development"], "decrypted": true, "comment": "owner=berth"}));
        assert_eq!(clear.value, Some(Secret::new("v")));
        assert_eq!(clear.comment.as_deref(), Some("owner=berth"));
    }

    // A failed batch names the keys and never a value, even one Vercel echoed back.
    #[test]
    fn failed_items_name_keys_not_values() {
        let failed: Vec<EnvFailure> = serde_json::from_value(json!([
            {"error": {"code": "invalid_sensitive_target", "key": "TOKEN",
                       "message": "bad value s3cr3t-value for development"}}
        ]))
        .unwrap();
        let sent = [DesiredVariable {
            name: "TOKEN".into(),
            value: Secret::new("s3cr3t-value"),
            kind: VarKind::Sensitive,
            targets: vec![VarTarget::Development],
            comment: None,
        }];
        let e = rejected(&failed, &sent);
        let text = e.to_string();
        assert!(
            text.contains("TOKEN") && text.contains("invalid_sensitive_target"),
            "{text}"
        );
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(e.is_permanent());
    }
}
