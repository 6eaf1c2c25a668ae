//! BackupPolicy reconciler. Until the backup engine lands, it resolves the connection Secret,
//! the S3 credentials and the Supabase Environment, then says honestly that it takes no backups.

use std::sync::Arc;

use kube::runtime::Controller;

use super::{Context, Error, Outcome, Reconciler, SyncResult, Verdict, conditions::reasons, deps};
use crate::api::{BackupPolicy, Environment, backup_policy::BackupPolicySpec};

impl Reconciler for BackupPolicy {
    async fn reconcile(obj: Arc<Self>, ctx: Arc<Context>) -> Result<Outcome<Self::Status>, Error> {
        let mut deps = ctx.dependencies(obj.as_ref());
        deps.secret_key(&obj.spec.database.connection_secret_ref)
            .await?;
        if let Some(s3) = &obj.spec.destination.s3 {
            deps.secret(&s3.credentials_secret_name).await?;
        }
        if let Some(env) = &obj.spec.database.supabase_environment_ref {
            deps.object::<Environment>(&env.name).await?;
        }
        Ok(Outcome::of(
            obj.status.clone().unwrap_or_default(),
            plan(&obj.spec, &deps.missing()),
        ))
    }
}

/// Plan (pure).
fn plan(spec: &BackupPolicySpec, missing: &[String]) -> (Verdict, SyncResult) {
    if !missing.is_empty() {
        return Verdict::blocked(deps::waiting_for(missing));
    }
    Verdict::stalled(
        reasons::PROVIDER_NOT_CONNECTED,
        format!(
            "this berth build has no backup engine yet: no backup was taken on schedule {:?}",
            spec.schedule
        ),
    )
}

/// Dependency watches: the connection and credentials Secrets, and the Supabase Environment.
pub(super) fn wire(c: Controller<BackupPolicy>, ctx: &Context) -> Controller<BackupPolicy> {
    let c = deps::watch_refs(
        c,
        ctx.watch_api::<Environment>(),
        |b: &BackupPolicy, env| {
            b.spec
                .database
                .supabase_environment_ref
                .as_ref()
                .is_some_and(|r| r.name == env)
        },
    );
    deps::watch_refs(c, deps::secrets(ctx), |b: &BackupPolicy, name| {
        b.spec.database.connection_secret_ref.name == name
            || b.spec
                .destination
                .s3
                .as_ref()
                .is_some_and(|s| s.credentials_secret_name == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: a missing connection Secret is named, and nothing claims a backup was taken.
    #[test]
    fn missing_connection_secret_blocks() {
        let spec: BackupPolicySpec =
            crate::yaml::from_str("database: {connectionSecretRef: {name: db, key: uri}}\nschedule: '0 3 * * *'\ndestination: {filesystem: {path: /backups}}\n").unwrap();
        let (v, _) = plan(&spec, &["Secret shop/db".into()]);
        assert_eq!(
            v,
            Verdict::Blocked {
                message: "waiting for Secret shop/db".into()
            }
        );
        let (v, _) = plan(&spec, &[]);
        assert!(matches!(
            v,
            Verdict::Stalled {
                reason: reasons::PROVIDER_NOT_CONNECTED,
                ..
            }
        ));
    }
}
