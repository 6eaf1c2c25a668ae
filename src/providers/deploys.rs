//! The hosting-deploys capability: what the Deployment reconciler needs from a platform that
//! builds and runs a service (a Railway service instance, a Vercel project).
//!
//! A client is bound to one account and scope (a Railway project environment, a Vercel
//! team); `service` names the service inside it (a Railway service id, a Vercel project id
//! or name).

use super::Result;

/// The source revision to deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// `owner/name` of the Git repository.
    pub repo: String,
    /// Branch or tag; the platform resolves it when `commit` is absent.
    pub git_ref: Option<String>,
    /// A full commit SHA.
    pub commit: Option<String>,
}

/// Where a provider deployment is in its life, in the platform-neutral words the
/// Deployment's status uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeployState {
    /// Accepted, not yet building.
    Queued,
    Building,
    /// Built, being rolled out.
    Deploying,
    /// Running and serving.
    Ready,
    /// The build or the rollout failed.
    Failed,
    /// Cancelled by someone, or replaced before it finished.
    Canceled,
    /// Was ready once, now removed or superseded (a crashed or sleeping service is still
    /// its live deployment: Failed and Ready respectively).
    Stopped,
    /// A state this build does not know; the text is the provider's.
    Unknown(String),
}

impl DeployState {
    /// Whether the platform will not move the deployment any further on its own.
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Ready | Self::Failed | Self::Canceled | Self::Stopped
        )
    }
}

/// One deployment as the platform sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderDeployment {
    /// The platform's id (what a rollback or a status read needs).
    pub id: String,
    pub state: DeployState,
    /// Where the deployment itself answers (`https://…`), when it has a URL.
    pub url: Option<String>,
    /// The commit it was built from, when the platform reports it.
    pub commit: Option<String>,
    /// Creation time as RFC 3339.
    pub created_at: Option<String>,
    /// Whether it is the one serving the service's production traffic right now.
    pub live: bool,
    /// The platform's own words on a failure ("Build failed: …"), for the condition message.
    pub message: Option<String>,
}

/// Starting, reading and rolling back deployments.
#[async_trait::async_trait]
pub trait Deploys: Send + Sync {
    /// The provider's display name.
    fn provider(&self) -> &'static str;

    /// Starts a deployment of `revision`. Not idempotent: callers record the returned id
    /// before waiting, and look for an existing deployment of the commit
    /// ([`Deploys::deployments`]) before calling again.
    async fn deploy(&self, service: &str, revision: &Revision) -> Result<ProviderDeployment>;

    /// One deployment; an unknown id is [`crate::providers::Error::NotFound`].
    async fn deployment(&self, service: &str, id: &str) -> Result<ProviderDeployment>;

    /// The service's most recent deployments, newest first, at most `limit`.
    async fn deployments(&self, service: &str, limit: usize) -> Result<Vec<ProviderDeployment>>;

    /// Makes the earlier deployment `id` live again the fastest way the platform allows
    /// (Vercel: promote without a rebuild; Railway: roll back to it). Returns the deployment
    /// now serving.
    async fn rollback(&self, service: &str, id: &str) -> Result<ProviderDeployment>;
}
