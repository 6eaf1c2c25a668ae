//! Observe (I/O): one real HTTP health probe of a release, as `spec.healthCheck` describes
//! it: `GET {url}{path}` within `timeout`, healthy when the status is `expectedStatus` and the
//! answer came within `latencyBudget`. The request and the verdict are monitoring's
//! ([`crate::monitoring::probe`]), so a release is judged as its uptime will be. One probe a
//! reconcile; the consecutive counts live in status (see `plan::verify`), so no reconcile
//! worker waits out a whole series.

use std::sync::OnceLock;

use super::plan::ProbeResult;
use crate::{
    api::deployment::HealthCheck,
    monitoring::{self, ErrorKind, Expect, Sample, Target},
};

/// Where probes go. `via` sends them to one base URL instead, with the deployment's host as
/// the first path segment: how the berth sandbox's apps server is reached, whose hostnames
/// exist in no DNS.
#[derive(Clone, Debug, Default)]
pub struct Prober {
    pub via: Option<String>,
}

/// How release checks introduce themselves (uptime probes say `berth-probe/`).
const USER_AGENT: &str = concat!("berth-health-check/", env!("CARGO_PKG_VERSION"));

/// The process's one HTTP prober (its TLS set-up is made once).
fn http() -> Result<&'static monitoring::probe::Prober, String> {
    static PROBER: OnceLock<Result<monitoring::probe::Prober, String>> = OnceLock::new();
    PROBER
        .get_or_init(|| {
            monitoring::probe::Prober::new()
                .map(|p| p.introduced_as(USER_AGENT))
                .map_err(|e| {
                    format!(
                        "cannot probe: {}",
                        crate::controllers::runtime::error_chain(&e)
                    )
                })
        })
        .as_ref()
        .map_err(Clone::clone)
}

impl Prober {
    /// The URL a probe of `url` (with or without a scheme) at `path` requests.
    #[must_use]
    pub fn target(&self, url: &str, path: &str) -> String {
        let url = url.trim_end_matches('/');
        match &self.via {
            Some(via) => {
                let host = url
                    .split_once("://")
                    .map_or(url, |(_, rest)| rest)
                    .split('/')
                    .next()
                    .unwrap_or_default();
                format!("{}/{host}{path}", via.trim_end_matches('/'))
            }
            None if url.contains("://") => format!("{url}{path}"),
            None => format!("https://{url}{path}"),
        }
    }

    /// Probes `url` once.
    pub async fn probe(&self, url: &str, hc: &HealthCheck) -> ProbeResult {
        let target =
            monitoring::targets::health_check(String::new(), self.target(url, &hc.path), hc);
        match http() {
            Ok(http) => {
                let sample = http.probe(&target).await;
                ProbeResult {
                    healthy: sample.ok,
                    summary: summary(&sample, &target),
                }
            }
            Err(summary) => ProbeResult {
                healthy: false,
                summary,
            },
        }
    }
}

/// The verdict on one probe in words, for status and Events (pure).
fn summary(sample: &Sample, target: &Target) -> String {
    let took = format!("{:.0}ms", sample.latency_ms);
    match (sample.status_code, sample.error_kind) {
        (Some(code), Some(ErrorKind::Status)) => {
            let expected = match target.expect {
                Expect::Status(status) => status.to_string(),
                Expect::BelowFourHundred => "below 400".into(),
            };
            format!("{code} in {took}, expected {expected}")
        }
        (Some(code), Some(ErrorKind::Latency)) => format!(
            "{code} in {took}, over the latency budget of {}ms",
            target.latency_budget.as_millis()
        ),
        (Some(code), _) if sample.ok => format!("{code} in {took}"),
        (_, Some(ErrorKind::Timeout)) => {
            format!("no answer within {}ms", target.timeout.as_millis())
        }
        (_, kind) => format!(
            "request failed: {}",
            kind.map_or("no answer", ErrorKind::describe)
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use axum::{Router, http::StatusCode, routing::get};

    use super::*;

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn check(yaml: &str) -> HealthCheck {
        crate::yaml::from_str(yaml).unwrap()
    }

    // Protects: a real answer with the expected status within budget is healthy; a wrong
    // status, a slow answer, a hung server and a closed port are each unhealthy and say why.
    #[tokio::test]
    async fn probes_judge_status_latency_and_timeouts_on_a_real_server() {
        let base = serve(
            Router::new()
                .route("/health", get(|| async { "ok" }))
                .route("/broken", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        "late"
                    }),
                )
                .route(
                    "/hang",
                    get(|| async {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        "never"
                    }),
                ),
        )
        .await;
        let p = Prober::default();

        let ok = p.probe(&base, &check("path: /health\n")).await;
        assert!(ok.healthy, "{ok:?}");
        assert!(ok.summary.starts_with("200 in "), "{ok:?}");

        let broken = p.probe(&base, &check("path: /broken\n")).await;
        assert!(!broken.healthy);
        assert!(
            broken.summary.contains("503") && broken.summary.contains("expected 200"),
            "{broken:?}"
        );

        let slow = p
            .probe(&base, &check("path: /slow\nlatencyBudget: 100ms\n"))
            .await;
        assert!(!slow.healthy);
        assert!(
            slow.summary.contains("over the latency budget of 100ms"),
            "{slow:?}"
        );

        let started = Instant::now();
        let hung = p
            .probe(&base, &check("path: /hang\ntimeout: 200ms\n"))
            .await;
        assert!(!hung.healthy);
        assert_eq!(hung.summary, "no answer within 200ms");
        assert!(started.elapsed() < Duration::from_secs(5));

        let closed = p.probe("http://127.0.0.1:1", &check("{}\n")).await;
        assert!(!closed.healthy);
        assert!(closed.summary.starts_with("request failed"), "{closed:?}");

        let redirect = serve(Router::new().route(
            "/health",
            get(|| async { axum::response::Redirect::temporary("/elsewhere") }),
        ))
        .await;
        let expected_redirect = p.probe(&redirect, &check("expectedStatus: 307\n")).await;
        assert!(expected_redirect.healthy, "{expected_redirect:?}");
    }

    // Protects: deployment URLs come with or without a scheme, and `via` reaches them through
    // one base URL with the host as the first path segment (the sandbox apps server's form).
    #[test]
    fn targets_are_built_from_bare_hosts_urls_and_via() {
        let direct = Prober::default();
        assert_eq!(
            direct.target("web-abc.vercel.app", "/health"),
            "https://web-abc.vercel.app/health"
        );
        assert_eq!(
            direct.target("http://127.0.0.1:9/", "/h"),
            "http://127.0.0.1:9/h"
        );
        let via = Prober {
            via: Some("http://127.0.0.1:4005/".into()),
        };
        assert_eq!(
            via.target("https://api-prod.up.railway.app", "/health"),
            "http://127.0.0.1:4005/api-prod.up.railway.app/health"
        );
        assert_eq!(
            via.target("web-abc.vercel.app", "/"),
            "http://127.0.0.1:4005/web-abc.vercel.app/"
        );
    }
}
