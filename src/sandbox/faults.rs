//! Fault injection shared by every simulator: added latency, a 5xx error rate, 429 bursts,
//! build fates, and each provider's rate-limit window and headers.
//!
//! Every server owns one [`Faults`]. It is changed at run time through Rust
//! ([`Faults::set`], [`Faults::burst_429`]) or over HTTP (`POST /_sandbox/faults` with a
//! [`FaultConfig`] body; `DELETE` clears). Random choices come from a [`StdRng`] seeded from the
//! sandbox seed and the server's name, so the same seed and the same request sequence give the
//! same faults.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    middleware::Next,
    response::Response,
};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

/// What happens to builds started while this is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildFault {
    /// Builds succeed (unless `build_failure_rate` says otherwise).
    #[default]
    None,
    /// Builds fail at the end of the build step.
    Fail,
    /// Builds never leave the building state.
    Hang,
}

/// The faults in force on one server. Every field defaults to "no fault".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Added to every request (milliseconds).
    pub latency_ms: u64,
    /// A further random 0..=jitter milliseconds (seeded).
    pub latency_jitter_ms: u64,
    /// Probability (0..=1) that a request fails with `error_status` in the provider's shape.
    pub error_rate: f64,
    /// Status of injected errors; 500 when unset. 429 answers as a rate limit, with
    /// `Retry-After: retry_after_secs` (a 429 storm).
    pub error_status: Option<u16>,
    /// The next N requests are answered 429 with `Retry-After`.
    pub rate_limit_burst: u32,
    /// `Retry-After` seconds on injected 429s; 1 when unset.
    pub retry_after_secs: Option<u64>,
    /// Enforce the provider's documented request window (429 once exhausted).
    pub enforce_rate_limit: bool,
    /// Fate of builds (and Supabase restores) started from now on.
    pub build: BuildFault,
    /// Probability (0..=1) that a new build fails (seeded), when `build` is `none`.
    pub build_failure_rate: f64,
    /// Custom domains never verify, whatever records exist.
    pub domains_never_verify: bool,
    /// Supabase: these services report `UNHEALTHY`.
    pub unhealthy_services: Vec<String>,
    /// The accepted token is refused as if its owner had revoked it: every API request gets
    /// the provider's answer to a bad token.
    pub token_revoked: bool,
}

/// How a deployment (or restore) started now will end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Reaches the provider's success state.
    Succeed,
    /// Fails at the end of the build step.
    Fail,
    /// Stays in the build step forever.
    Hang,
}

/// A provider's documented request window.
#[derive(Clone, Copy, Debug)]
pub struct RateWindow {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length.
    pub window: Duration,
}

/// The numbers behind a response's rate-limit headers.
#[derive(Clone, Copy, Debug)]
pub struct RateInfo {
    /// Requests allowed per window.
    pub limit: u32,
    /// Requests left in this window.
    pub remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub reset_in: u64,
    /// Unix time (s) at which it resets.
    pub reset_at: u64,
    /// Window length in seconds.
    pub window: u64,
    /// `Retry-After` for a 429.
    pub retry_after: u64,
}

struct Inner {
    config: FaultConfig,
    rng: StdRng,
    window_start: Instant,
    used: u32,
    injected: u64,
    requests: RequestTally,
}

/// How many API requests a server received (admin routes excluded), split into reads and
/// writes, with the most recent writes named (`POST /v10/projects/web/env`, `mutation
/// variableCollectionUpsert`). Tests assert on it that a dry run wrote nothing, and the
/// benchmarks count the calls of a steady state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestTally {
    pub reads: u64,
    pub writes: u64,
    /// The last [`WRITE_LOG`] writes, oldest first.
    pub recent_writes: std::collections::VecDeque<String>,
}

/// How many writes [`RequestTally::recent_writes`] keeps.
pub const WRITE_LOG: usize = 200;

/// One server's fault switchboard.
pub struct Faults {
    name: &'static str,
    window: RateWindow,
    inner: Mutex<Inner>,
}

/// The decision for one request.
pub(crate) enum Verdict {
    Pass(RateInfo),
    Limited(RateInfo),
    Fail(StatusCode, RateInfo),
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn salt(name: &str) -> u64 {
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Faults {
    /// A switchboard for server `name`, seeded from `seed`.
    pub fn new(name: &'static str, seed: u64, window: RateWindow) -> Self {
        Self {
            name,
            window,
            inner: Mutex::new(Inner {
                config: FaultConfig::default(),
                rng: StdRng::seed_from_u64(seed ^ salt(name)),
                window_start: Instant::now(),
                used: 0,
                injected: 0,
                requests: RequestTally::default(),
            }),
        }
    }

    /// The server this belongs to.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The faults now in force.
    pub fn get(&self) -> FaultConfig {
        lock(&self.inner).config.clone()
    }

    /// Replace the faults in force.
    pub fn set(&self, config: FaultConfig) {
        lock(&self.inner).config = config;
    }

    /// Change the faults in force in place.
    pub fn update(&self, f: impl FnOnce(&mut FaultConfig)) {
        f(&mut lock(&self.inner).config);
    }

    /// Remove every fault.
    pub fn clear(&self) {
        self.set(FaultConfig::default());
    }

    /// Answer the next `n` requests with 429 and `Retry-After: retry_after_secs`.
    pub fn burst_429(&self, n: u32, retry_after_secs: u64) {
        self.update(|c| {
            c.rate_limit_burst = n;
            c.retry_after_secs = Some(retry_after_secs);
        });
    }

    /// How many faults (latency excluded) were injected so far.
    pub fn injected(&self) -> u64 {
        lock(&self.inner).injected
    }

    /// The API requests received so far.
    pub fn requests(&self) -> RequestTally {
        lock(&self.inner).requests.clone()
    }

    /// Counts one request; `write` names it when it is a write.
    fn count(&self, write: Option<String>) {
        let mut inner = lock(&self.inner);
        let tally = &mut inner.requests;
        match write {
            None => tally.reads += 1,
            Some(name) => {
                tally.writes += 1;
                if tally.recent_writes.len() == WRITE_LOG {
                    tally.recent_writes.pop_front();
                }
                tally.recent_writes.push_back(name);
            }
        }
    }

    /// The fate of a build started now (consumes randomness only when a rate is set).
    pub fn build_fate(&self) -> Fate {
        let mut inner = lock(&self.inner);
        match inner.config.build {
            BuildFault::Fail => Fate::Fail,
            BuildFault::Hang => Fate::Hang,
            BuildFault::None => {
                let rate = inner.config.build_failure_rate;
                if rate > 0.0 && inner.rng.random_bool(rate.clamp(0.0, 1.0)) {
                    Fate::Fail
                } else {
                    Fate::Succeed
                }
            }
        }
    }

    /// Whether custom domains are blocked from verifying.
    pub fn domains_never_verify(&self) -> bool {
        lock(&self.inner).config.domains_never_verify
    }

    /// Whether the accepted token is refused as revoked.
    pub fn token_revoked(&self) -> bool {
        lock(&self.inner).config.token_revoked
    }

    /// Decide one request's fate; returns the delay to apply first.
    pub(crate) fn judge(&self) -> (Duration, Verdict) {
        let mut inner = lock(&self.inner);
        let now = Instant::now();
        if now.duration_since(inner.window_start) >= self.window.window {
            inner.window_start = now;
            inner.used = 0;
        }
        let elapsed = now.duration_since(inner.window_start);
        let reset_in = self.window.window.saturating_sub(elapsed).as_secs().max(1);
        let c = &inner.config;
        let jitter = c.latency_jitter_ms;
        let latency = c.latency_ms;
        let retry_after = c.retry_after_secs.unwrap_or(1);
        let error_rate = c.error_rate.clamp(0.0, 1.0);
        let status = c
            .error_status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let enforce = c.enforce_rate_limit;
        let extra = if jitter > 0 {
            inner.rng.random_range(0..=jitter)
        } else {
            0
        };
        let delay = Duration::from_millis(latency + extra);
        let over = inner.used >= self.window.limit;
        if !over {
            inner.used += 1;
        }
        let mut info = RateInfo {
            limit: self.window.limit,
            remaining: self.window.limit.saturating_sub(inner.used),
            reset_in,
            reset_at: unix_now() + reset_in,
            window: self.window.window.as_secs(),
            retry_after,
        };
        if inner.config.rate_limit_burst > 0 {
            inner.config.rate_limit_burst -= 1;
            inner.injected += 1;
            info.remaining = 0;
            return (delay, Verdict::Limited(info));
        }
        if enforce && over {
            inner.injected += 1;
            info.retry_after = reset_in;
            return (delay, Verdict::Limited(info));
        }
        if error_rate > 0.0 && inner.rng.random_bool(error_rate) {
            inner.injected += 1;
            // An injected 429 is a rate limit like any other: the provider's shape, Retry-After.
            if status == StatusCode::TOO_MANY_REQUESTS {
                info.remaining = 0;
                return (delay, Verdict::Limited(info));
            }
            return (delay, Verdict::Fail(status, info));
        }
        (delay, Verdict::Pass(info))
    }
}

/// How one provider speaks: its auth check, error shapes and rate-limit headers.
pub trait Dialect: Send + Sync + 'static {
    /// Whether the request carries an accepted token (providers that check in-handler say yes).
    fn authorized(&self, headers: &HeaderMap) -> bool;
    /// The provider's answer to a missing or wrong token.
    fn unauthorized(&self, headers: &HeaderMap) -> Response;
    /// An injected server error in the provider's shape.
    fn server_error(&self, status: StatusCode) -> Response;
    /// A 429 in the provider's shape (headers are added by the caller).
    fn rate_limited(&self, info: &RateInfo) -> Response;
    /// Add the provider's rate-limit headers.
    fn rate_headers(&self, info: &RateInfo, headers: &mut HeaderMap);
}

/// The middleware state: a dialect and its switchboard.
#[derive(Clone)]
pub struct Guard {
    pub(crate) dialect: Arc<dyn Dialect>,
    pub(crate) faults: Arc<Faults>,
}

/// Apply faults, rate limits and auth before the handler, rate-limit headers after it.
/// `/_sandbox/*` (the admin API) is exempt.
pub(crate) async fn guard(State(g): State<Guard>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sandbox/") {
        return next.run(req).await;
    }
    let (req, write) = classify(req).await;
    g.faults.count(write);
    let (delay, verdict) = g.faults.judge();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (mut resp, info, retry) = match verdict {
        Verdict::Limited(info) => (g.dialect.rate_limited(&info), info, true),
        Verdict::Fail(status, info) => (g.dialect.server_error(status), info, false),
        Verdict::Pass(info) => {
            if !g.faults.token_revoked() && g.dialect.authorized(req.headers()) {
                (next.run(req).await, info, false)
            } else {
                (g.dialect.unauthorized(req.headers()), info, false)
            }
        }
    };
    g.dialect.rate_headers(&info, resp.headers_mut());
    if retry {
        *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(
            "retry-after",
            axum::http::HeaderValue::from(info.retry_after),
        );
    }
    resp
}

/// Whether a request writes, and its name if so. REST writes are any method but GET/HEAD; a
/// GraphQL request (Railway) writes when its document is a mutation, so its body is read
/// (and put back).
async fn classify(req: Request) -> (Request, Option<String>) {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        return (req, None);
    }
    if !path.ends_with("/graphql/v2") {
        return (req, Some(format!("{method} {path}")));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let query = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["query"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let write = query.trim_start().strip_prefix("mutation").map(|rest| {
        // The first field after the operation header: `mutation X($a: T) { field(…) … }`.
        let field = rest
            .split_once('{')
            .map(|(_, body)| body)
            .unwrap_or_default()
            .trim_start()
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .next()
            .unwrap_or_default();
        format!("mutation {field}")
    });
    (
        Request::from_parts(parts, axum::body::Body::from(bytes)),
        write,
    )
}

/// The `X-RateLimit-*` trio; `reset` is whatever the provider documents (epoch or seconds).
pub(crate) fn x_ratelimit(headers: &mut HeaderMap, info: &RateInfo, reset: u64) {
    headers.insert("x-ratelimit-limit", info.limit.into());
    headers.insert("x-ratelimit-remaining", info.remaining.into());
    headers.insert("x-ratelimit-reset", reset.into());
}

/// The bearer token of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sequence(seed: u64) -> Vec<bool> {
        let f = Faults::new(
            "t",
            seed,
            RateWindow {
                limit: 10,
                window: Duration::from_secs(60),
            },
        );
        f.update(|c| c.error_rate = 0.5);
        (0..64)
            .map(|_| matches!(f.judge().1, Verdict::Fail(..)))
            .collect()
    }

    #[test]
    fn same_seed_same_faults() {
        assert_eq!(sequence(7), sequence(7));
        assert_ne!(sequence(7), sequence(8));
    }

    #[test]
    fn burst_then_pass() {
        let f = Faults::new(
            "t",
            1,
            RateWindow {
                limit: 100,
                window: Duration::from_secs(60),
            },
        );
        f.burst_429(2, 3);
        assert!(matches!(f.judge().1, Verdict::Limited(i) if i.retry_after == 3));
        assert!(matches!(f.judge().1, Verdict::Limited(_)));
        assert!(matches!(f.judge().1, Verdict::Pass(_)));
        assert_eq!(f.injected(), 2);
    }

    #[test]
    fn injected_429s_are_rate_limits() {
        let f = Faults::new(
            "t",
            1,
            RateWindow {
                limit: 100,
                window: Duration::from_secs(60),
            },
        );
        f.update(|c| {
            c.error_rate = 1.0;
            c.error_status = Some(429);
            c.retry_after_secs = Some(2);
        });
        assert!(matches!(f.judge().1, Verdict::Limited(i) if i.retry_after == 2));
    }

    #[test]
    fn enforced_window() {
        let f = Faults::new(
            "t",
            1,
            RateWindow {
                limit: 2,
                window: Duration::from_secs(60),
            },
        );
        f.update(|c| c.enforce_rate_limit = true);
        assert!(matches!(f.judge().1, Verdict::Pass(i) if i.remaining == 1));
        assert!(matches!(f.judge().1, Verdict::Pass(i) if i.remaining == 0));
        assert!(matches!(f.judge().1, Verdict::Limited(_)));
    }
}
