//! The provider pool: one [`ProviderHttp`] per provider instance for the whole process.
//!
//! Reconcilers build a client per Environment binding on every reconcile, but a provider's
//! rate limit and health belong to the account, not to the reconcile: the budget, the
//! circuit and the metrics must be shared. [`Pool::http`] hands out the same `ProviderHttp`
//! for the same (provider, base URL, account, credential) and a new one when the credential
//! changes (the old one is dropped with its state). The credential enters the key only as a
//! hash keyed per process, and never appears in `Debug` or logs.
//!
//! A cached instance keeps the policy (timeouts, retries, budget, circuit) it was created
//! with; a new credential, or [`Pool::forget`], creates it again with the current policy.
//! One account has one current credential: two Environments binding the same account with
//! different tokens replace each other's instance.
//!
//! A successful access check is remembered per instance for [`VERIFIED_FOR`]
//! ([`Pool::verify_access`]): every Environment of one account, on every resync, would
//! otherwise spend a request proving again what the last one proved. Any answer rejecting the
//! credential, on any call, forgets it at once.

use std::{
    collections::HashMap,
    future::Future,
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use reqwest::Url;
use serde::Serialize;

use super::{
    Result,
    http::{Auth, BudgetConfig, CircuitSnapshot, HttpConfig, HttpMetrics, ProviderHttp},
};

/// Which provider instance a client talks to.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Instance {
    provider: &'static str,
    base_url: String,
    account: Option<String>,
}

/// How long a successful access check of a credential is trusted. Revocation is still seen
/// at once: the next call to the provider is rejected, and that forgets the check.
pub const VERIFIED_FOR: Duration = Duration::from_secs(5 * 60);

struct Entry {
    // A keyed hash of the credential, never the credential.
    credential: u64,
    http: ProviderHttp,
    /// Passed checks by what they proved beyond the account (Railway: the environment id).
    verified: HashMap<String, Verified>,
}

/// A passed access check: when, and the instance's rejection count just before it.
#[derive(Clone, Copy)]
struct Verified {
    at: Instant,
    rejections: u64,
}

impl Verified {
    fn holds(self, http: &ProviderHttp, now: Instant) -> bool {
        now.saturating_duration_since(self.at) < VERIFIED_FOR
            && http.rejections() == self.rejections
    }
}

struct Inner {
    metrics: Arc<HttpMetrics>,
    /// Replaces each client's default budget (an operator's setting for its accounts).
    budget: Option<BudgetConfig>,
    hasher: RandomState,
    entries: Mutex<HashMap<Instance, Entry>>,
}

/// The process-wide cache of provider HTTP layers. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Named as in health reports: a base URL may carry user-info.
        let instances: Vec<String> = self
            .circuits()
            .into_iter()
            .map(|c| format!("{} {}", c.provider, c.instance))
            .collect();
        f.debug_struct("Pool")
            .field("instances", &instances)
            .finish_non_exhaustive()
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new(Arc::new(HttpMetrics::default()))
    }
}

/// One provider instance's circuit, as `/health/detailed` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderCircuit {
    /// The provider's display name.
    pub provider: &'static str,
    /// Whose account (`team team_abc`) when known, else the API endpoint.
    pub instance: String,
    /// The circuit's state.
    #[serde(flatten)]
    pub circuit: CircuitSnapshot,
}

impl Pool {
    /// An empty pool whose clients report into `metrics`.
    #[must_use]
    pub fn new(metrics: Arc<HttpMetrics>) -> Self {
        Self {
            inner: Arc::new(Inner {
                metrics,
                budget: None,
                hasher: RandomState::new(),
                entries: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The same (empty) pool, giving every client `budget` instead of its own default.
    #[must_use]
    pub fn with_budget(self, budget: BudgetConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                metrics: self.inner.metrics.clone(),
                budget: Some(budget),
                hasher: RandomState::new(),
                entries: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The metrics every pooled client reports into (register them at `/metrics`).
    #[must_use]
    pub fn metrics(&self) -> &Arc<HttpMetrics> {
        &self.inner.metrics
    }

    /// The shared HTTP layer for `config`'s provider instance: the cached one when provider,
    /// base URL, account and credential match, else a new one that replaces any instance of
    /// the same account with another credential.
    pub fn http(&self, mut config: HttpConfig) -> Result<ProviderHttp> {
        if let Some(budget) = self.inner.budget {
            config.budget = budget;
        }
        let instance = Instance {
            provider: config.provider,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            account: config.account.clone(),
        };
        let credential = self.fingerprint(&config.auth);
        let mut entries = lock(&self.inner.entries);
        if let Some(entry) = entries.get(&instance)
            && entry.credential == credential
        {
            return Ok(entry.http.clone());
        }
        let http = ProviderHttp::new(config, self.inner.metrics.clone())?;
        let replaced = entries.insert(
            instance.clone(),
            Entry {
                credential,
                http: http.clone(),
                verified: HashMap::new(),
            },
        );
        if replaced.is_some() {
            tracing::info!(provider = instance.provider, account = ?instance.account, "credentials changed; new provider client");
        }
        Ok(http)
    }

    /// Runs `check` — a cheap read proving `http`'s credential is accepted, and `scope` (ids
    /// below the account the check also proves, or `""`) exists — unless one passed within
    /// [`VERIFIED_FOR`] and no call over `http` has seen the credential rejected since. Only
    /// success is remembered: a failed check is asked again next time.
    pub async fn verify_access<T>(
        &self,
        http: &ProviderHttp,
        scope: &str,
        check: impl Future<Output = Result<T>>,
    ) -> Result<()> {
        let now = Instant::now();
        if self.verified(http, scope, now) {
            return Ok(());
        }
        // Counted before the check: a rejection seen by another call meanwhile wins.
        let rejections = http.rejections();
        check.await?;
        self.mark_verified(
            http,
            scope,
            Verified {
                at: now,
                rejections,
            },
        );
        Ok(())
    }

    fn verified(&self, http: &ProviderHttp, scope: &str, now: Instant) -> bool {
        lock(&self.inner.entries)
            .values()
            .find(|e| e.http.shares_state_with(http))
            .and_then(|e| e.verified.get(scope).copied())
            .is_some_and(|v| v.holds(http, now))
    }

    fn mark_verified(&self, http: &ProviderHttp, scope: &str, verified: Verified) {
        // An instance no longer pooled (its credential was replaced meanwhile) is not marked.
        if let Some(entry) = lock(&self.inner.entries)
            .values_mut()
            .find(|e| e.http.shares_state_with(http))
        {
            // Stale scopes go with any later one: the map stays as small as what is in use.
            entry.verified.retain(|_, v| v.holds(http, verified.at));
            entry.verified.insert(scope.to_owned(), verified);
        }
    }

    /// Drops every instance of `provider` (say, when its binding is removed).
    pub fn forget(&self, provider: &str) {
        lock(&self.inner.entries).retain(|i, _| i.provider != provider);
    }

    /// Every instance's circuit, sorted by provider and instance.
    #[must_use]
    pub fn circuits(&self) -> Vec<ProviderCircuit> {
        let entries = lock(&self.inner.entries);
        let mut out: Vec<ProviderCircuit> = entries
            .iter()
            .map(|(i, e)| ProviderCircuit {
                provider: i.provider,
                instance: i.account.clone().unwrap_or_else(|| endpoint(&i.base_url)),
                circuit: e.http.circuit(),
            })
            .collect();
        out.sort_by(|a, b| (a.provider, &a.instance).cmp(&(b.provider, &b.instance)));
        out
    }

    fn fingerprint(&self, auth: &Auth) -> u64 {
        let (kind, secret) = match auth {
            Auth::None => (0u8, ""),
            Auth::Bearer(s) => (1, s.expose()),
            Auth::ApiKey(s) => (2, s.expose()),
        };
        self.inner.hasher.hash_one((kind, secret))
    }
}

/// A base URL fit for a health report: no user-info, no query.
fn endpoint(base_url: &str) -> String {
    match Url::parse(base_url) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A map of handles, consistent after any panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::http::{CircuitState, Secret};

    fn config(token: &str, account: Option<&str>) -> HttpConfig {
        let mut c = HttpConfig::new(
            "Vercel",
            "https://api.vercel.test/",
            Auth::Bearer(Secret::new(token)),
        );
        c.account = account.map(Into::into);
        c
    }

    // One instance per (provider, URL, account, credential); a new token replaces it.
    #[test]
    fn same_binding_shares_a_client_and_a_new_token_replaces_it() {
        let pool = Pool::default();
        let a = pool.http(config("tok_aaaaaaaa", Some("team t1"))).unwrap();
        let b = pool.http(config("tok_aaaaaaaa", Some("team t1"))).unwrap();
        assert!(a.shares_state_with(&b));
        assert_eq!(pool.circuits().len(), 1);
        let _other = pool.http(config("tok_aaaaaaaa", Some("team t2"))).unwrap();
        assert_eq!(pool.circuits().len(), 2);
        let rotated = pool.http(config("tok_bbbbbbbb", Some("team t1"))).unwrap();
        assert!(!rotated.shares_state_with(&a));
        assert_eq!(
            pool.circuits().len(),
            2,
            "the old credential's entry is gone"
        );
        let shown = format!("{pool:?}");
        assert!(!shown.contains("tok_"), "{shown}");
        assert!(shown.contains("team t1"), "{shown}");
        pool.forget("Vercel");
        assert!(pool.circuits().is_empty());
    }

    // A passed check is trusted for VERIFIED_FOR and not after; a rejection since forgets it.
    #[test]
    fn a_verification_holds_for_a_while_and_until_a_rejection() {
        let pool = Pool::default();
        let http = pool.http(config("tok_aaaaaaaa", Some("team t1"))).unwrap();
        let t0 = Instant::now();
        let fresh = Verified {
            at: t0,
            rejections: http.rejections(),
        };
        assert!(fresh.holds(&http, t0 + VERIFIED_FOR - Duration::from_secs(1)));
        assert!(!fresh.holds(&http, t0 + VERIFIED_FOR));
        let before_a_rejection = Verified {
            at: t0,
            rejections: http.rejections().wrapping_sub(1),
        };
        assert!(!before_a_rejection.holds(&http, t0));
    }

    // One check per instance while it holds; a failed check is not remembered; a rotated
    // credential is checked again.
    #[tokio::test]
    async fn verify_access_checks_once_and_remembers_only_success() {
        let pool = Pool::default();
        let http = pool.http(config("tok_aaaaaaaa", Some("team t1"))).unwrap();
        let checks = std::sync::atomic::AtomicU32::new(0);
        let check = |ok: bool| {
            let checks = &checks;
            async move {
                checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if ok {
                    Ok(())
                } else {
                    Err(crate::providers::Error::CredentialsRejected {
                        provider: "Vercel",
                        operation: "check access",
                        account: None,
                        status: 401,
                    })
                }
            }
        };
        let count = || checks.load(std::sync::atomic::Ordering::Relaxed);
        assert!(pool.verify_access(&http, "", check(false)).await.is_err());
        assert!(pool.verify_access(&http, "", check(true)).await.is_ok());
        assert_eq!(count(), 2, "a failed check is asked again");
        let same = pool.http(config("tok_aaaaaaaa", Some("team t1"))).unwrap();
        pool.verify_access(&same, "", check(true)).await.unwrap();
        pool.verify_access(&http, "", check(true)).await.unwrap();
        assert_eq!(count(), 2, "remembered for the instance");
        pool.verify_access(&http, "e-2", check(true)).await.unwrap();
        assert_eq!(count(), 3, "another scope is checked on its own");
        let rotated = pool.http(config("tok_bbbbbbbb", Some("team t1"))).unwrap();
        pool.verify_access(&rotated, "", check(true)).await.unwrap();
        assert_eq!(count(), 4, "a new credential is checked");
    }

    // Health reports name the account, or the endpoint without user-info.
    #[test]
    fn instances_are_named_without_credentials() {
        let pool = Pool::default();
        let mut c = config("tok_aaaaaaaa", None);
        c.base_url = "https://user:pw@api.vercel.test/v1?x=1".into();
        pool.http(c).unwrap();
        let circuits = pool.circuits();
        assert_eq!(circuits[0].instance, "https://api.vercel.test/v1");
        assert_eq!(circuits[0].circuit.state, CircuitState::Closed);
    }
}
