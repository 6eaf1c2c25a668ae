//! The one HTTP layer every provider client uses: auth, per-attempt timeouts, retries with
//! jittered backoff, the provider's wait headers, a request budget, a circuit breaker and
//! metrics. Policy lives here and nowhere else; clients only say what to call and whether it
//! is idempotent.
//!
//! One [`ProviderHttp`] exists per provider instance (say, one Vercel team); its clones share
//! the budget, the circuit and the metrics.

mod budget;
mod call;
mod circuit;
mod metrics;
mod retry;
mod secret;

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

pub use budget::{BudgetConfig, TokenBucket};
use call::classify;
pub use call::{Call, Response};
pub use circuit::{Circuit, CircuitConfig, CircuitSnapshot, CircuitState, Verdict};
pub use metrics::{HttpMetrics, OUTCOMES};
use reqwest::{
    Url,
    header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue},
};
pub use retry::{MIN_HINTED_WAIT, RetryConfig, backoff, hinted_wait, overload_wait};
pub use secret::Secret;
use serde::de::DeserializeOwned;

use super::error::{Error, Limiter, Result};

/// How a client proves who it is.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credentials (tests, public endpoints).
    None,
    /// `Authorization: Bearer <token>` (Railway, Vercel, Supabase, Cloudflare).
    Bearer(Secret),
    /// `X-API-Key: <key>` (PowerDNS).
    ApiKey(Secret),
}

/// Everything a [`ProviderHttp`] needs; [`HttpConfig::new`] fills in sane defaults.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Display name used in errors ("PowerDNS"); lower-cased, the `provider` metric label.
    pub provider: &'static str,
    /// Base URL; call paths are appended to it.
    pub base_url: String,
    pub auth: Auth,
    /// Whose credentials these are ("team team_abc"), named when the provider rejects them.
    pub account: Option<String>,
    /// Per attempt, from connecting to the last byte of the body.
    pub timeout: Duration,
    pub retry: RetryConfig,
    pub budget: BudgetConfig,
    pub circuit: CircuitConfig,
}

impl HttpConfig {
    /// Defaults: 15 s per attempt, 4 attempts, 10 requests/s with a burst of 20, circuit
    /// opening after 5 consecutive failures for 30 s.
    #[must_use]
    pub fn new(provider: &'static str, base_url: impl Into<String>, auth: Auth) -> Self {
        Self {
            provider,
            base_url: base_url.into(),
            auth,
            account: None,
            timeout: Duration::from_secs(15),
            retry: RetryConfig::default(),
            budget: BudgetConfig::default(),
            circuit: CircuitConfig::default(),
        }
    }
}

/// The shared HTTP layer of one provider instance. Cheap to clone; clones share the budget,
/// the circuit and the metrics.
#[derive(Clone)]
pub struct ProviderHttp {
    inner: Arc<Inner>,
}

struct Inner {
    provider: &'static str,
    label: String,
    base: Url,
    auth: Option<(HeaderName, HeaderValue)>,
    secret: Option<Secret>,
    account: Option<String>,
    client: reqwest::Client,
    timeout: Duration,
    retry: RetryConfig,
    budget_wait: Duration,
    budget: Mutex<TokenBucket>,
    circuit: Mutex<Circuit>,
    /// Answers that rejected the credential, by any call (shared with every [`Response`], as
    /// a GraphQL error in a 200 can say it too).
    rejections: Arc<AtomicU64>,
    metrics: Arc<HttpMetrics>,
}

impl std::fmt::Debug for ProviderHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderHttp")
            .field("provider", &self.inner.provider)
            .field("base", &self.inner.base.as_str())
            .field("secret", &self.inner.secret)
            .finish_non_exhaustive()
    }
}

impl ProviderHttp {
    /// A client for one provider instance, reporting into `metrics`.
    pub fn new(config: HttpConfig, metrics: Arc<HttpMetrics>) -> Result<Self> {
        let provider = config.provider;
        let invalid = |detail: String| Error::Request {
            provider,
            operation: "configure the client",
            detail,
        };
        let base = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|e| invalid(format!("base URL: {e}")))?;
        let (auth, secret) = match config.auth {
            Auth::None => (None, None),
            Auth::Bearer(s) => (
                Some((
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {}", s.expose()),
                )),
                Some(s),
            ),
            Auth::ApiKey(s) => (
                Some((HeaderName::from_static("x-api-key"), s.expose().to_owned())),
                Some(s),
            ),
        };
        let auth = match auth {
            None => None,
            Some((name, value)) => {
                // Sensitive values are masked in the Debug output of requests and headers.
                let mut value = HeaderValue::from_str(&value)
                    .map_err(|_| invalid("the credential is not a valid header value".into()))?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let client = reqwest::Client::builder()
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let metrics_label = provider.to_lowercase();
        metrics.circuit_state(&metrics_label, CircuitState::Closed.gauge());
        Ok(Self {
            inner: Arc::new(Inner {
                provider,
                label: metrics_label,
                base,
                auth,
                secret,
                account: config.account,
                client,
                timeout: config.timeout,
                retry: config.retry,
                budget_wait: config.budget.max_wait,
                budget: Mutex::new(TokenBucket::new(config.budget, Instant::now())),
                circuit: Mutex::new(Circuit::new(config.circuit)),
                rejections: Arc::new(AtomicU64::new(0)),
                metrics,
            }),
        })
    }

    /// The provider's display name.
    #[must_use]
    pub fn provider(&self) -> &'static str {
        self.inner.provider
    }

    /// The metrics this client reports into.
    #[must_use]
    pub fn metrics(&self) -> &Arc<HttpMetrics> {
        &self.inner.metrics
    }

    /// Whether `other` is a clone of this client, sharing its budget and circuit.
    #[must_use]
    pub fn shares_state_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// How many answers so far rejected this instance's credential (401/403, or the
    /// provider's auth error in a body). A cached proof that the credential works is stale
    /// once this moves (see [`crate::providers::Pool::verify_access`]).
    #[must_use]
    pub fn rejections(&self) -> u64 {
        self.inner.rejections.load(Ordering::Relaxed)
    }

    /// The circuit's state, for `/health/detailed`.
    #[must_use]
    pub fn circuit(&self) -> CircuitSnapshot {
        lock(&self.inner.circuit).snapshot(Instant::now())
    }

    /// Sends `call` and returns its 2xx answer, or a typed error.
    ///
    /// # What is retried
    /// Only calls marked idempotent, and only after a **429**, a **5xx**, a **time-out** or a
    /// **transport error** (connect, reset, truncated body), up to `retry.max_attempts`
    /// attempts in all. Nothing else is retried: not 401/403 (credentials rejected), not other
    /// 4xx, not undecodable bodies, and never a non-idempotent call (a POST that may have
    /// created something is the caller's to look up before trying again).
    ///
    /// Before a retry the client sleeps for the provider's wait (`Retry-After`, `Ratelimit
    /// t=`, `X-RateLimit-Reset`) when the answer carries one, else a jittered exponential
    /// backoff. A provider wait longer than `retry.max_retry_after` is not slept through: the
    /// call fails with `RateLimited` carrying the wait. A 429's wait also holds the shared
    /// budget, pausing every clone. Every attempt, retries included, takes a budget token and
    /// passes the circuit breaker.
    pub async fn send(&self, call: Call) -> Result<Response> {
        let url = self.url(&call)?;
        let mut attempt: u32 = 1;
        loop {
            self.admit(&call)?;
            self.take_token(&call).await?;
            let started = Instant::now();
            let result = self.attempt(&call, &url).await;
            let (outcome, verdict) = match &result {
                Ok(r) => classify(r.status),
                Err(Error::Timeout { .. }) => ("timeout", Verdict::Failing),
                Err(_) => ("transport", Verdict::Failing),
            };
            let i = &self.inner;
            i.metrics.attempt(
                &i.label,
                call.operation,
                outcome,
                started.elapsed().as_secs_f64(),
            );
            self.record(verdict);
            let (error, hint) = match result {
                Ok(r) if (200..300).contains(&r.status) => return Ok(r),
                Ok(r) => {
                    let hint = match r.status {
                        429 => hinted_wait(&r.headers, SystemTime::now()),
                        503 => overload_wait(&r.headers, SystemTime::now()),
                        _ => None,
                    };
                    (r.error(hint), hint)
                }
                Err(e) => (e, None),
            };
            if matches!(error, Error::CredentialsRejected { .. }) {
                i.rejections.fetch_add(1, Ordering::Relaxed);
            }
            // A 429 speaks for the whole account: pause every clone, not just this call.
            if let (Some(wait), Error::RateLimited { .. }) = (hint, &error) {
                lock(&i.budget).hold_until(Instant::now() + wait);
            }
            let transient = error.class() == super::Class::Transient;
            if !call.idempotent || !transient || attempt >= i.retry.max_attempts {
                return Err(error);
            }
            let delay = match hint {
                // Too long to sleep in a reconcile: the caller requeues with the wait instead.
                Some(wait) if wait > i.retry.max_retry_after => return Err(error),
                Some(wait) => {
                    i.metrics.throttled(&i.label, "retry_after");
                    wait
                }
                None => backoff(
                    attempt,
                    i.retry.base,
                    i.retry.max_backoff,
                    rand::random::<f64>(),
                ),
            };
            i.metrics.retry(&i.label, call.operation);
            tracing::debug!(provider = i.provider, operation = call.operation, attempt, ?delay, error = %error, "retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// [`ProviderHttp::send`], then decode the body as JSON.
    pub async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.send(call).await?.json()
    }

    fn url(&self, call: &Call) -> Result<Url> {
        let base = self.inner.base.as_str().trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}{}", call.path)).map_err(|e| Error::Request {
            provider: self.inner.provider,
            operation: call.operation,
            detail: format!("URL: {e}"),
        })?;
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&call.query);
        }
        Ok(url)
    }

    fn admit(&self, call: &Call) -> Result<()> {
        let i = &self.inner;
        let mut circuit = lock(&i.circuit);
        let admitted = circuit.admit(Instant::now());
        i.metrics
            .circuit_state(&i.label, circuit.snapshot(Instant::now()).state.gauge());
        admitted.map_err(|retry_in| {
            i.metrics.throttled(&i.label, "circuit_open");
            Error::CircuitOpen {
                provider: i.provider,
                operation: call.operation,
                retry_in,
            }
        })
    }

    fn record(&self, verdict: Verdict) {
        let i = &self.inner;
        let mut circuit = lock(&i.circuit);
        let before = circuit.snapshot(Instant::now()).state;
        circuit.record(Instant::now(), verdict);
        let after = circuit.snapshot(Instant::now()).state;
        i.metrics.circuit_state(&i.label, after.gauge());
        if before != after {
            tracing::info!(
                provider = i.provider,
                ?before,
                ?after,
                "circuit changed state"
            );
        }
    }

    async fn take_token(&self, call: &Call) -> Result<()> {
        let i = &self.inner;
        let reserved = lock(&i.budget).reserve(Instant::now());
        match reserved {
            Ok(wait) if wait.is_zero() => Ok(()),
            Ok(wait) => {
                i.metrics.throttled(&i.label, "budget");
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Err(wait) => {
                i.metrics.throttled(&i.label, "budget_exhausted");
                tracing::debug!(provider = i.provider, ?wait, max = ?i.budget_wait, "budget exhausted");
                Err(Error::RateLimited {
                    provider: i.provider,
                    operation: call.operation,
                    limiter: Limiter::Budget,
                    retry_after: Some(wait),
                })
            }
        }
    }

    async fn attempt(&self, call: &Call, url: &Url) -> Result<Response> {
        let i = &self.inner;
        let mut req = i
            .client
            .request(call.method.clone(), url.clone())
            .timeout(i.timeout)
            .header(ACCEPT, "application/json");
        if let Some((name, value)) = &i.auth {
            req = req.header(name, value.clone());
        }
        if let Some(body) = &call.body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout {
                    provider: i.provider,
                    operation: call.operation,
                    after: i.timeout,
                }
            } else {
                // Without the URL: a base URL could carry user-info.
                Error::Transport {
                    provider: i.provider,
                    operation: call.operation,
                    source: Box::new(e.without_url()),
                }
            }
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(transport)?.to_vec();
        Ok(Response {
            status,
            headers,
            body,
            provider: i.provider,
            operation: call.operation,
            secret: i.secret.clone(),
            account: i.account.clone(),
            rejections: i.rejections.clone(),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded state is a few numbers, consistent after any panic; keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
