//! Who is calling and what they may do, decided by the Kubernetes API server: the bearer
//! token goes through a TokenReview, each permission through a SubjectAccessReview. So the
//! admin API is governed by the same RBAC as `kubectl`, and a token from `kubectl create
//! token` or a kubeconfig works unchanged.
//!
//! Both answers are cached briefly (keyed by a hash of the token, never the token), so a
//! dashboard polling the API costs the API server a review every few seconds, not one per
//! request. Revoking a token or a role takes effect within [`CACHE_TTL`].

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, header::AUTHORIZATION};
use k8s_openapi::api::{
    authentication::v1::{TokenReview, TokenReviewSpec},
    authorization::v1::{
        NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
    },
};
use kube::{Api, Client, api::PostParams};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// How long a review's answer is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// Entries kept per cache before it is cleared; bounds memory under a flood of bad tokens.
const CACHE_MAX: usize = 10_000;

/// An authenticated caller, as the API server named them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Caller {
    pub user: String,
    pub uid: Option<String>,
    pub groups: Vec<String>,
}

/// A permission, in the API server's terms.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A verb on a `berth.dev` resource (subresource, namespace and name optional).
    Resource {
        verb: &'static str,
        resource: &'static str,
        subresource: Option<&'static str>,
        namespace: Option<String>,
        name: Option<String>,
    },
    /// A verb on a non-resource URL (`nonResourceURLs` in a ClusterRole).
    Path { verb: &'static str, path: String },
}

impl Access {
    /// `verb` on `resource` (in `berth.dev`) in `namespace`.
    #[must_use]
    pub fn resource(verb: &'static str, resource: &'static str, namespace: &str) -> Self {
        Self::Resource {
            verb,
            resource,
            subresource: None,
            namespace: Some(namespace.to_owned()),
            name: None,
        }
    }

    /// How a denial reads: "create deployments/rollback \"api\" in namespace \"vocilia\"".
    fn describe(&self) -> String {
        match self {
            Self::Resource {
                verb,
                resource,
                subresource,
                namespace,
                name,
            } => {
                let mut s = format!("{verb} {resource}");
                if let Some(sub) = subresource {
                    s.push('/');
                    s.push_str(sub);
                }
                s.push_str(".berth.dev");
                if let Some(n) = name {
                    s.push_str(&format!(" {n:?}"));
                }
                match namespace {
                    Some(ns) => s.push_str(&format!(" in namespace {ns:?}")),
                    None => s.push_str(" at cluster scope"),
                }
                s
            }
            Self::Path { verb, path } => format!("{verb} {path}"),
        }
    }
}

/// Reviews tokens and permissions against the API server, with short-lived caches.
#[derive(Clone)]
pub struct Gate {
    client: Client,
    tokens: Arc<TtlCache<[u8; 32], Option<Caller>>>,
    permissions: Arc<TtlCache<(Caller, Access), bool>>,
}

impl Gate {
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self {
            client,
            tokens: Arc::default(),
            permissions: Arc::default(),
        }
    }

    /// The caller behind the request's bearer token.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = bearer(headers).ok_or_else(|| {
            ApiError::Unauthenticated(
                "missing bearer token: send `Authorization: Bearer <token>` with a Kubernetes token"
                    .into(),
            )
        })?;
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let caller = match self.tokens.get(&key) {
            Some(cached) => cached,
            None => {
                let reviewed = self.review_token(token).await?;
                self.tokens.put(key, reviewed.clone());
                reviewed
            }
        };
        caller.ok_or_else(|| {
            ApiError::Unauthenticated("the Kubernetes API server did not accept the token".into())
        })
    }

    /// Whether `caller` may do `access`.
    pub async fn allowed(&self, caller: &Caller, access: &Access) -> Result<bool, ApiError> {
        let key = (caller.clone(), access.clone());
        if let Some(allowed) = self.permissions.get(&key) {
            return Ok(allowed);
        }
        let allowed = self.review_access(caller, access).await?;
        self.permissions.put(key, allowed);
        Ok(allowed)
    }

    /// [`Gate::allowed`], as a 403 naming the missing permission.
    pub async fn require(&self, caller: &Caller, access: &Access) -> Result<(), ApiError> {
        if self.allowed(caller, access).await? {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "user {:?} may not {}",
                caller.user,
                access.describe()
            )))
        }
    }

    async fn review_token(&self, token: &str) -> Result<Option<Caller>, ApiError> {
        let review = TokenReview {
            spec: TokenReviewSpec {
                token: token.to_owned(),
                audiences: None,
            },
            ..TokenReview::default()
        };
        let api: Api<TokenReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| unavailable("review the token", &e))?;
        let status = answer.status.unwrap_or_default();
        if status.authenticated != Some(true) {
            return Ok(None);
        }
        let user = status.user.unwrap_or_default();
        Ok(user.username.map(|name| Caller {
            user: name,
            uid: user.uid,
            groups: user.groups.unwrap_or_default(),
        }))
    }

    async fn review_access(&self, caller: &Caller, access: &Access) -> Result<bool, ApiError> {
        let (resource_attributes, non_resource_attributes) = match access {
            Access::Resource {
                verb,
                resource,
                subresource,
                namespace,
                name,
            } => (
                Some(ResourceAttributes {
                    group: Some(crate::api::GROUP.into()),
                    resource: Some((*resource).into()),
                    subresource: subresource.map(Into::into),
                    verb: Some((*verb).into()),
                    namespace: namespace.clone(),
                    name: name.clone(),
                    ..ResourceAttributes::default()
                }),
                None,
            ),
            Access::Path { verb, path } => (
                None,
                Some(NonResourceAttributes {
                    path: Some(path.clone()),
                    verb: Some((*verb).into()),
                }),
            ),
        };
        let review = SubjectAccessReview {
            spec: SubjectAccessReviewSpec {
                user: Some(caller.user.clone()),
                uid: caller.uid.clone(),
                groups: Some(caller.groups.clone()),
                resource_attributes,
                non_resource_attributes,
                ..SubjectAccessReviewSpec::default()
            },
            ..SubjectAccessReview::default()
        };
        let api: Api<SubjectAccessReview> = Api::all(self.client.clone());
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| unavailable("review the permission", &e))?;
        Ok(answer.status.is_some_and(|s| s.allowed))
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

// The API server's message, not the token: kube errors never carry request bodies.
pub(super) fn unavailable(what: &str, e: &kube::Error) -> ApiError {
    tracing::warn!(error = %e, "admin API could not {what}");
    ApiError::Unavailable(format!(
        "could not {what} with the Kubernetes API server; try again"
    ))
}

/// A small map whose entries expire after [`CACHE_TTL`].
struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V> Default for TtlCache<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= CACHE_MAX {
            entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_bearer_headers_yield_a_token() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert_eq!(bearer(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&with("Basic abc")), None);
        assert_eq!(bearer(&with("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn denials_name_the_permission() {
        let a = Access::Resource {
            verb: "create",
            resource: "deployments",
            subresource: Some("rollback"),
            namespace: Some("vocilia".into()),
            name: Some("api".into()),
        };
        assert_eq!(
            a.describe(),
            "create deployments/rollback.berth.dev \"api\" in namespace \"vocilia\""
        );
    }
}
