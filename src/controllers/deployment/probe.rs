//! Observe (I/O): one real HTTP health probe of a release, as `spec.healthCheck` describes
//! it: `GET {url}{path}` within `timeout`, healthy when the status is `expectedStatus` and the
//! answer came within `latencyBudget`. Redirects are not followed, so a redirect can be the
//! expected status. One probe a reconcile; the consecutive counts live in status (see
//! `plan::verify`), so no reconcile worker waits out a whole series.

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use super::plan::ProbeResult;
use crate::api::{common::parse_duration, deployment::HealthCheck};

/// Where probes go. `via` sends them to one base URL instead, with the deployment's host as
/// the first path segment: how the berth sandbox's apps server is reached, whose hostnames
/// exist in no DNS.
#[derive(Clone, Debug, Default)]
pub struct Prober {
    pub via: Option<String>,
}

fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("berth-health-check/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
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
        let timeout = parse_duration(&hc.timeout).unwrap_or(Duration::from_secs(5));
        let budget = parse_duration(&hc.latency_budget).unwrap_or(Duration::from_secs(2));
        let target = self.target(url, &hc.path);
        let client = match client() {
            Ok(c) => c,
            Err(summary) => {
                return ProbeResult {
                    healthy: false,
                    summary,
                };
            }
        };
        let started = Instant::now();
        let answer = client.get(&target).timeout(timeout).send().await;
        let took = started.elapsed();
        judge(
            answer.map(|r| r.status().as_u16()),
            took,
            hc.expected_status,
            budget,
            timeout,
        )
    }
}

/// Pure verdict on one answer.
fn judge(
    answer: Result<u16, reqwest::Error>,
    took: Duration,
    expected: i32,
    budget: Duration,
    timeout: Duration,
) -> ProbeResult {
    let ms = took.as_millis();
    match answer {
        Ok(status) if i32::from(status) != expected => ProbeResult {
            healthy: false,
            summary: format!("{status} in {ms}ms, expected {expected}"),
        },
        Ok(status) if took > budget => ProbeResult {
            healthy: false,
            summary: format!(
                "{status} in {ms}ms, over the latency budget of {}ms",
                budget.as_millis()
            ),
        },
        Ok(status) => ProbeResult {
            healthy: true,
            summary: format!("{status} in {ms}ms"),
        },
        Err(e) if e.is_timeout() => ProbeResult {
            healthy: false,
            summary: format!("no answer within {}ms", timeout.as_millis()),
        },
        Err(e) => ProbeResult {
            healthy: false,
            summary: format!(
                "request failed: {}",
                crate::controllers::runtime::error_chain(&e)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
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
