//! The variables capability: a service's environment variables at its platform, as the
//! Environment reconciler diffs and writes them.
//!
//! Railway keeps one value per (service, name). Vercel keeps a value per (project, name,
//! set of targets): the same name may appear once for production and once for preview.
//! Both shapes are a list of [`RemoteVariable`] here; `targets` is empty on Railway.

use super::{Result, http::Secret};

/// Where a Vercel value applies. Railway has no targets (the client is bound to one
/// environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VarTarget {
    Production,
    Preview,
    Development,
}

/// How the platform stores a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// Readable back in plain text.
    Plain,
    /// Stored encrypted, readable back by the token (Vercel `encrypted`, every Railway value).
    Encrypted,
    /// Write-only: the platform never returns the value again (Vercel `sensitive`).
    Sensitive,
}

/// A variable as the platform holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteVariable {
    /// The platform's id of the entry (Vercel), used to change or delete it.
    pub id: Option<String>,
    pub name: String,
    /// `None` when the platform does not reveal it (sensitive values).
    pub value: Option<Secret>,
    pub kind: VarKind,
    /// Sorted; empty on Railway.
    pub targets: Vec<VarTarget>,
    /// The entry's comment (Vercel), where berth writes its ownership marker.
    pub comment: Option<String>,
}

/// A value berth wants a service to have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredVariable {
    pub name: String,
    pub value: Secret,
    pub kind: VarKind,
    /// Sorted; ignored on Railway.
    pub targets: Vec<VarTarget>,
    /// Ownership marker, written where the platform keeps comments.
    pub comment: Option<String>,
}

/// Reading and writing a service's variables.
#[async_trait::async_trait]
pub trait Variables: Send + Sync {
    /// The provider's display name.
    fn provider(&self) -> &'static str;

    /// Every variable of `service`, values decrypted where the platform allows.
    async fn list(&self, service: &str) -> Result<Vec<RemoteVariable>>;

    /// Creates or overwrites `variables` in as few calls as the platform allows (Railway's
    /// collection upsert, Vercel's batched `upsert=true`). Repeating it is harmless. An
    /// empty slice makes no call.
    async fn upsert(&self, service: &str, variables: &[DesiredVariable]) -> Result<()>;

    /// Deletes the given entries (as listed); an entry already gone is fine.
    async fn delete(&self, service: &str, variables: &[RemoteVariable]) -> Result<()>;
}
