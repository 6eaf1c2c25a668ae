//! Vercel production deployments behind [`Deploys`]: create from a GitHub commit, read, list
//! newest first, and roll back by promoting an earlier deployment (no rebuild).
//!
//! Which deployment is live is the project's `targets.production`, read only when it can
//! matter (a `READY` deployment): an old production deployment stays `READY` after it is
//! replaced, and its aliases are not a reliable witness.

use chrono::DateTime;

use super::{PROVIDER, VercelClient, segment};
use crate::providers::{
    Error, Result,
    deploys::{DeployState, Deploys, ProviderDeployment, Revision},
    http::Call,
    models::vercel::{
        CreateDeploymentRequest, Deployment, DeploymentList, DeploymentListItem, DeploymentTarget,
        GitSource, Meta, ReadyState,
    },
};

/// The most deployments Vercel returns in one page.
const PAGE_LIMIT: usize = 100;

#[async_trait::async_trait]
impl Deploys for VercelClient {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    async fn deploy(&self, service: &str, revision: &Revision) -> Result<ProviderDeployment> {
        let body = create_request(service, revision)?;
        // Not idempotent: a lost answer may still have started a build (see the trait).
        let call =
            Call::post("create deployment", "/v13/deployments").json_from(PROVIDER, &body)?;
        let created: Deployment = self.fetch(call).await?;
        tracing::info!(project = service, deployment = %created.id, "created deployment");
        Ok(from_deployment(created, None))
    }

    async fn deployment(&self, service: &str, id: &str) -> Result<ProviderDeployment> {
        let path = format!("/v13/deployments/{}", segment(id));
        let found: Deployment = self.fetch(Call::get("get deployment", path)).await?;
        let live = if found.ready_state == ReadyState::Ready {
            self.project(service)
                .await?
                .production_id()
                .map(str::to_owned)
        } else {
            None
        };
        Ok(from_deployment(found, live.as_deref()))
    }

    async fn deployments(&self, service: &str, limit: usize) -> Result<Vec<ProviderDeployment>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let project = self.project(service).await?;
        let live = project.production_id();
        let mut out = Vec::new();
        let mut until: Option<i64> = None;
        loop {
            let page = (limit - out.len()).min(PAGE_LIMIT);
            let mut call = Call::get("list deployments", "/v6/deployments")
                .query("projectId", project.id.clone())
                .query("target", "production")
                .query("limit", page.to_string());
            if let Some(until) = until {
                call = call.query("until", until.to_string());
            }
            let list: DeploymentList = self.fetch(call).await?;
            let got = list.deployments.len();
            out.extend(
                list.deployments
                    .into_iter()
                    .map(|item| from_list_item(item, live)),
            );
            match list.pagination.next {
                // A page that brings nothing, or the same cursor again, ends the walk.
                Some(next) if out.len() < limit && got > 0 && until != Some(next) => {
                    until = Some(next);
                }
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn rollback(&self, service: &str, id: &str) -> Result<ProviderDeployment> {
        // Promote points production at an existing build without rebuilding it, and leaves
        // auto-assignment on (Vercel's rollback endpoint would pause it until a promote).
        let path = format!("/v10/projects/{}/promote/{}", segment(service), segment(id));
        let answer = self.send(Call::post("promote deployment", path)).await?;
        // 201: done; 202: the alias job is still running, and the read below says so.
        tracing::info!(
            project = service,
            deployment = id,
            status = answer.status,
            "promoted deployment"
        );
        self.deployment(service, id).await
    }
}

/// The create body: a production build of a GitHub commit.
fn create_request(service: &str, revision: &Revision) -> Result<CreateDeploymentRequest> {
    let invalid = |detail: &str| Error::Request {
        provider: PROVIDER,
        operation: "create deployment",
        detail: detail.to_owned(),
    };
    let (org, repo) = revision
        .repo
        .split_once('/')
        .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
        .ok_or_else(|| invalid("the repository must be written owner/name"))?;
    // Vercel's GitHub source needs a branch or tag even when a commit pins the build.
    let git_ref = revision
        .git_ref
        .as_deref()
        .ok_or_else(|| invalid("Vercel needs the branch or tag of the revision (gitSource.ref)"))?;
    let mut git_source = GitSource::github(org, repo, git_ref);
    git_source.sha.clone_from(&revision.commit);
    Ok(CreateDeploymentRequest {
        name: service.to_owned(),
        project: Some(service.to_owned()),
        target: Some(DeploymentTarget::Production),
        deployment_id: None,
        with_latest_commit: None,
        custom_environment_slug_or_id: None,
        meta: std::collections::BTreeMap::new(),
        git_source: Some(git_source),
        project_settings: None,
    })
}

/// A deployment read with `GET`/`POST /v13/deployments`; `live` is production's id.
fn from_deployment(d: Deployment, live: Option<&str>) -> ProviderDeployment {
    let state = deploy_state(&d.ready_state);
    let commit = d
        .git_source
        .as_ref()
        .and_then(|g| g.sha.clone())
        .or_else(|| meta_commit(&d.meta));
    let message = d
        .error_message
        .or_else(|| d.alias_error.map(|e| e.message))
        .or_else(|| {
            (state == DeployState::Failed)
                .then_some(d.ready_state_reason)
                .flatten()
        })
        .filter(|m| !m.is_empty());
    ProviderDeployment {
        live: state == DeployState::Ready && live == Some(d.id.as_str()),
        id: d.id,
        state,
        url: https(&d.url),
        commit,
        created_at: d.created_at.and_then(rfc3339),
        message,
    }
}

/// A deployment as `GET /v6/deployments` lists it (no error text, commit only in `meta`).
fn from_list_item(d: DeploymentListItem, live: Option<&str>) -> ProviderDeployment {
    let state = d
        .ready_state()
        .map_or_else(|| DeployState::Unknown(String::new()), deploy_state);
    ProviderDeployment {
        live: state == DeployState::Ready && live == Some(d.uid.as_str()),
        commit: meta_commit(&d.meta),
        url: https(&d.url),
        created_at: d.created_at.or(d.created).and_then(rfc3339),
        id: d.uid,
        state,
        message: None,
    }
}

/// Vercel's `readyState` in the Deployment status' words. `INITIALIZING` follows the build
/// (the rollout); `BLOCKED` (checks or protection refused it) is a failure.
fn deploy_state(state: &ReadyState) -> DeployState {
    match state {
        ReadyState::Queued => DeployState::Queued,
        ReadyState::Building => DeployState::Building,
        ReadyState::Initializing => DeployState::Deploying,
        ReadyState::Ready => DeployState::Ready,
        ReadyState::Error | ReadyState::Blocked => DeployState::Failed,
        ReadyState::Canceled => DeployState::Canceled,
        ReadyState::Deleted => DeployState::Stopped,
        ReadyState::Unknown(other) => DeployState::Unknown(other.clone()),
    }
}

/// The commit Vercel records in `meta` for Git deployments.
fn meta_commit(meta: &Meta) -> Option<String> {
    ["githubCommitSha", "gitlabCommitSha", "bitbucketCommitSha"]
        .iter()
        .find_map(|k| meta.get(*k)?.as_str().map(str::to_owned))
}

fn https(url: &str) -> Option<String> {
    match url {
        "" => None,
        u if u.starts_with("https://") || u.starts_with("http://") => Some(u.to_owned()),
        u => Some(format!("https://{u}")),
    }
}

fn rfc3339(epoch_ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(epoch_ms).map(|t| t.to_rfc3339())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn revision(repo: &str, git_ref: Option<&str>) -> Revision {
        Revision {
            repo: repo.into(),
            git_ref: git_ref.map(Into::into),
            commit: Some("0123abcd".into()),
        }
    }

    // The create body is a production build of the GitHub commit, pinned by sha.
    #[test]
    fn deploy_body_is_a_production_github_build() {
        let body = create_request("web", &revision("acme/web", Some("main"))).unwrap();
        let wire = serde_json::to_value(&body).unwrap();
        assert_eq!(
            wire,
            json!({"name": "web", "project": "web", "target": "production",
                   "gitSource": {"type": "github", "org": "acme", "repo": "web",
                                 "ref": "main", "sha": "0123abcd"}})
        );
        for bad in [
            revision("acme", Some("main")),
            revision("a/b/c", Some("main")),
            revision("acme/web", None),
        ] {
            let e = create_request("web", &bad).unwrap_err();
            assert!(e.is_permanent(), "{e}");
        }
    }

    // Every readyState lands on a neutral state; only the live production build is live.
    #[test]
    fn ready_states_map_and_only_production_is_live() {
        let d: Deployment = serde_json::from_value(json!({
            "id": "dpl_1", "url": "web-1.vercel.app", "readyState": "ERROR",
            "errorMessage": "Command \"npm run build\" exited with 1",
            "createdAt": 1_700_000_000_000_i64,
            "gitSource": {"type": "github", "ref": "main", "sha": "abc"}
        }))
        .unwrap();
        let p = from_deployment(d, Some("dpl_1"));
        assert_eq!(p.state, DeployState::Failed);
        assert!(!p.live, "a failed build is never live");
        assert_eq!(p.url.as_deref(), Some("https://web-1.vercel.app"));
        assert_eq!(p.commit.as_deref(), Some("abc"));
        assert!(p.message.unwrap().contains("exited with 1"));
        assert_eq!(p.created_at.as_deref(), Some("2023-11-14T22:13:20+00:00"));
        for (wire, state) in [
            ("QUEUED", DeployState::Queued),
            ("BUILDING", DeployState::Building),
            ("INITIALIZING", DeployState::Deploying),
            ("READY", DeployState::Ready),
            ("CANCELED", DeployState::Canceled),
            ("BLOCKED", DeployState::Failed),
            (
                "SOMETHING_NEW",
                DeployState::Unknown("SOMETHING_NEW".into()),
            ),
        ] {
            assert_eq!(deploy_state(&ReadyState::from_wire(wire)), state, "{wire}");
        }
    }
}
