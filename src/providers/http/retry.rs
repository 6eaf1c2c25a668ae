//! Retry timing: jittered exponential backoff, and reading a provider's "wait this long"
//! headers. Pure functions; the caller passes the clock and the randomness.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// How a client retries (see [`super::ProviderHttp`] for *what* is retried).
#[derive(Clone, Copy, Debug)]
pub struct RetryConfig {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry, doubled for each further one.
    pub base: Duration,
    /// Ceiling of the computed backoff.
    pub max_backoff: Duration,
    /// The longest wait a provider may ask for (`Retry-After`, reset headers) that we sleep
    /// through; a longer one is returned to the caller as `RateLimited` with the wait.
    pub max_retry_after: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// A provider's wait shorter than this is raised to it (Vercel can say "try again in -70 ms").
pub const MIN_HINTED_WAIT: Duration = Duration::from_millis(100);

/// "Equal jitter" backoff before retry number `retry` (1-based): half of `base·2^(retry-1)`
/// (capped at `max`) plus a random share of the other half, `unit` being uniform in [0, 1).
/// The fixed half keeps retries from collapsing to zero; the random half spreads a herd.
#[must_use]
pub fn backoff(retry: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let factor = 2f64.powi(
        i32::try_from(retry.saturating_sub(1))
            .unwrap_or(i32::MAX)
            .min(30),
    );
    let full = (base.as_secs_f64() * factor).min(max.as_secs_f64());
    Duration::from_secs_f64(full / 2.0 + full / 2.0 * unit.clamp(0.0, 1.0))
}

/// The wait a response asks for, in order of precedence: `Retry-After` (seconds or an HTTP
/// date), `Ratelimit: …;t=<s>` / `RateLimit: …reset=<s>` (Cloudflare, IETF draft), then
/// `X-RateLimit-Reset` read as epoch seconds or milliseconds when it looks like a timestamp
/// (Vercel) and as seconds-to-go otherwise (Supabase). Raised to [`MIN_HINTED_WAIT`].
#[must_use]
pub fn hinted_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let wait = header("retry-after")
        .and_then(|v| retry_after(v, now))
        .or_else(|| header("ratelimit").and_then(ratelimit_reset))
        .or_else(|| header("x-ratelimit-reset").and_then(|v| reset(v, now)))?;
    Some(wait.max(MIN_HINTED_WAIT))
}

/// The wait a 503 asks for: `Retry-After` only. Rate-limit headers describe the request
/// quota, not the outage, and Railway sends `X-RateLimit-Reset` on every answer; read on a
/// 503 it would park the call for the rest of the quota window.
#[must_use]
pub fn overload_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    Some(retry_after(value, now)?.max(MIN_HINTED_WAIT))
}

fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    // NaN would panic in `from_secs_f64`; it is no number of seconds anyway.
    if let Some(secs) = value.parse::<f64>().ok().filter(|s| !s.is_nan()) {
        return Some(Duration::from_secs_f64(secs.clamp(0.0, 1e9)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn ratelimit_reset(value: &str) -> Option<Duration> {
    value
        .split([';', ','])
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| matches!(k.trim(), "t" | "reset"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn reset(value: &str, now: SystemTime) -> Option<Duration> {
    let n = value.parse::<u64>().ok()?;
    let epoch = |d: Duration| {
        (SystemTime::UNIX_EPOCH + d)
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
    };
    Some(match n {
        n if n >= 1_000_000_000_000 => epoch(Duration::from_millis(n)),
        n if n >= 1_000_000_000 => epoch(Duration::from_secs(n)),
        n => Duration::from_secs(n),
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_static(k),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    // Backoff doubles, is capped, and its jitter stays within [half, full].
    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        assert_eq!(backoff(1, base, max, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(1, base, max, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(3, base, max, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(30, base, max, 1.0), max);
        assert_eq!(
            backoff(u32::MAX, base, max, 0.5),
            Duration::from_millis(750)
        );
    }

    // Each provider's way of saying "wait" is understood, in precedence order.
    #[test]
    fn reads_every_providers_wait_header() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let read = |pairs: &[(&'static str, &str)]| hinted_wait(&headers(pairs), now);
        assert_eq!(read(&[("retry-after", "7")]), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            read(&[("retry-after", &date)]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            read(&[("ratelimit", "\"default\";r=0;t=42")]),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            read(&[("x-ratelimit-reset", "1700000012")]),
            Some(Duration::from_secs(12)),
            "Vercel: epoch seconds"
        );
        assert_eq!(
            read(&[("x-ratelimit-reset", "1700000002500")]),
            Some(Duration::from_millis(2500)),
            "epoch milliseconds"
        );
        assert_eq!(
            read(&[("x-ratelimit-reset", "35")]),
            Some(Duration::from_secs(35)),
            "Supabase: seconds to go"
        );
        assert_eq!(
            read(&[("retry-after", "3"), ("x-ratelimit-reset", "99")]),
            Some(Duration::from_secs(3)),
            "Retry-After wins"
        );
        assert_eq!(
            read(&[("x-ratelimit-reset", "1600000000")]),
            Some(MIN_HINTED_WAIT),
            "past"
        );
        assert_eq!(read(&[("retry-after", "soon")]), None);
        assert_eq!(read(&[("retry-after", "NaN")]), None);
        assert_eq!(read(&[("retry-after", "-5")]), Some(MIN_HINTED_WAIT));
        assert_eq!(read(&[]), None);

        let quota = headers(&[("x-ratelimit-reset", "1700003600")]);
        assert_eq!(
            overload_wait(&quota, now),
            None,
            "a 503 ignores the quota window"
        );
        let both = headers(&[("retry-after", "2"), ("x-ratelimit-reset", "1700003600")]);
        assert_eq!(overload_wait(&both, now), Some(Duration::from_secs(2)));
    }
}
