//! Who is calling and what they may do, decided by the Kubernetes API server: the bearer
//! token goes through a TokenReview, each permission through a SubjectAccessReview. So the
//! admin API is governed by the same RBAC as `kubectl`, and a token from `kubectl create
//! token` or a kubeconfig works unchanged.
//!
//! Both answers are cached briefly (keyed by a hash of the token, never the token; see
//! [`super::reviews`]), so a dashboard polling the API costs the API server a review every few
//! seconds, not one per request. Revoking a token or a role takes effect within [`CACHE_TTL`].

use std::sync::Arc;

use axum::http::{HeaderMap, header::AUTHORIZATION};
use futures::FutureExt as _;
use k8s_openapi::api::{
    authentication::v1::{TokenReview, TokenReviewSpec},
    authorization::v1::{
        NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
    },
};
use kube::{Api, Client, api::PostParams};
use sha2::{Digest, Sha256};

pub use super::reviews::CACHE_TTL;
use super::{error::ApiError, reviews::Reviews};

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
    tokens: Arc<Reviews<[u8; 32], Option<Arc<Caller>>>>,
    permissions: Arc<Reviews<(Arc<Caller>, Access), bool>>,
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
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Arc<Caller>, ApiError> {
        let token = bearer(headers).ok_or_else(|| {
            ApiError::Unauthenticated(
                "missing bearer token: send `Authorization: Bearer <token>` with a Kubernetes token"
                    .into(),
            )
        })?;
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let caller = self
            .tokens
            .get(&key, || {
                review_token(self.client.clone(), token.to_owned()).boxed()
            })
            .await?;
        caller.ok_or_else(|| {
            ApiError::Unauthenticated("the Kubernetes API server did not accept the token".into())
        })
    }

    /// Whether `caller` may do `access`.
    pub async fn allowed(&self, caller: &Arc<Caller>, access: &Access) -> Result<bool, ApiError> {
        let key = (caller.clone(), access.clone());
        self.permissions
            .get(&key, || {
                review_access(self.client.clone(), caller.clone(), access.clone()).boxed()
            })
            .await
    }

    /// [`Gate::allowed`], as a 403 naming the missing permission.
    pub async fn require(&self, caller: &Arc<Caller>, access: &Access) -> Result<(), ApiError> {
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
}

// Owned arguments: reviews run on their own task (see `Reviews::get`).
async fn review_token(client: Client, token: String) -> Result<Option<Arc<Caller>>, ApiError> {
    let review = TokenReview {
        spec: TokenReviewSpec {
            token,
            audiences: None,
        },
        ..TokenReview::default()
    };
    let api: Api<TokenReview> = Api::all(client);
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| unavailable("review the token", &e))?;
    let status = answer.status.unwrap_or_default();
    if status.authenticated != Some(true) {
        return Ok(None);
    }
    let user = status.user.unwrap_or_default();
    Ok(user.username.map(|name| {
        Arc::new(Caller {
            user: name,
            uid: user.uid,
            groups: user.groups.unwrap_or_default(),
        })
    }))
}

async fn review_access(
    client: Client,
    caller: Arc<Caller>,
    access: Access,
) -> Result<bool, ApiError> {
    let (resource_attributes, non_resource_attributes) = match &access {
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
    let api: Api<SubjectAccessReview> = Api::all(client);
    let answer = api
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| unavailable("review the permission", &e))?;
    Ok(answer.status.is_some_and(|s| s.allowed))
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
