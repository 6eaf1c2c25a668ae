//! The shared provider HTTP layer against a tiny axum server on 127.0.0.1:0 that misbehaves
//! on cue: retries, Retry-After, the budget, the circuit, decoding and redaction.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Router,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{get, post},
};
use berth::providers::{
    Class, Error, Limiter,
    http::{
        Auth, BudgetConfig, Call, CircuitConfig, CircuitState, HttpConfig, HttpMetrics,
        ProviderHttp, RetryConfig, Secret,
    },
};

const TOKEN: &str = "tok_live_9d8c7b6a5f4e3d2c";

/// Serves `router` on a free loopback port; returns its base URL.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Fast policy for tests: short backoff, roomy budget, a circuit that needs 10 failures.
fn config(base: &str) -> HttpConfig {
    let mut c = HttpConfig::new("Testprov", base, Auth::Bearer(Secret::new(TOKEN)));
    c.timeout = Duration::from_secs(5);
    c.retry = RetryConfig {
        max_attempts: 4,
        base: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    };
    c.budget = BudgetConfig {
        per_second: 1000.0,
        burst: 1000,
        max_wait: Duration::from_secs(5),
    };
    c.circuit = CircuitConfig {
        failure_threshold: 10,
        cool_down: Duration::from_secs(30),
    };
    c
}

fn client(c: HttpConfig) -> (ProviderHttp, Arc<HttpMetrics>) {
    let metrics = Arc::new(HttpMetrics::default());
    (ProviderHttp::new(c, metrics.clone()).unwrap(), metrics)
}

/// A handler that answers `first` for the first `n` hits, then 200 `{"ok":true}`.
fn flaky(
    hits: Arc<AtomicUsize>,
    n: usize,
    first: StatusCode,
) -> impl Fn() -> std::future::Ready<axum::response::Response> + Clone {
    move || {
        let hit = hits.fetch_add(1, Ordering::SeqCst);
        std::future::ready(if hit < n {
            (first, "{\"message\":\"try later\"}").into_response()
        } else {
            (StatusCode::OK, "{\"ok\":true}").into_response()
        })
    }
}

// 503 twice then 200: an idempotent GET is retried and succeeds on the third attempt.
#[tokio::test]
async fn provider_http_retries_an_idempotent_get_after_two_503s() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = serve(Router::new().route(
        "/x",
        get(flaky(hits.clone(), 2, StatusCode::SERVICE_UNAVAILABLE)),
    ))
    .await;
    let (http, metrics) = client(config(&base));
    let v: serde_json::Value = http.json(Call::get("read x", "/x")).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(metrics.retries("testprov", "read x"), 2);
    assert_eq!(metrics.requests("testprov", "read x", "server_error"), 2);
    assert_eq!(metrics.requests("testprov", "read x", "ok"), 1);
}

// The same misbehaviour on a non-idempotent POST is reported, not retried.
#[tokio::test]
async fn provider_http_does_not_retry_a_non_idempotent_post() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = serve(Router::new().route(
        "/x",
        post(flaky(hits.clone(), 2, StatusCode::SERVICE_UNAVAILABLE)),
    ))
    .await;
    let (http, metrics) = client(config(&base));
    let err = http.send(Call::post("create x", "/x")).await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    assert_eq!(err.class(), Class::Transient);
    assert!(err.to_string().contains("try later"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(metrics.retries("testprov", "create x"), 0);
}

// 429 with `Retry-After: 1` makes the client wait about a second, then succeed.
#[tokio::test]
async fn provider_http_honours_retry_after_on_429() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let handler = move || {
        let hit = h.fetch_add(1, Ordering::SeqCst);
        async move {
            if hit == 0 {
                (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "{}").into_response()
            } else {
                (StatusCode::OK, "{}").into_response()
            }
        }
    };
    let base = serve(Router::new().route("/x", get(handler))).await;
    let (http, metrics) = client(config(&base));
    let started = Instant::now();
    http.send(Call::get("read x", "/x")).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(metrics.throttled_count("testprov", "retry_after"), 1);
}

// A wait longer than the client is willing to sleep comes back as RateLimited with the wait.
#[tokio::test]
async fn provider_http_returns_long_provider_waits_to_the_caller() {
    let handler = || async {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("x-ratelimit-reset", "300")],
            "{}",
        )
            .into_response()
    };
    let base = serve(Router::new().route("/x", get(handler))).await;
    let (http, _) = client(config(&base));
    let err = http.send(Call::get("read x", "/x")).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { limiter: Limiter::Provider, retry_after: Some(d), .. } if d == Duration::from_secs(300)),
        "{err:?}"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));
}

// 100 concurrent requests through clones sharing a budget of burst 20 at 50/s take at least
// (100 - 20) / 50 = 1.6 s: the server never sees more than the budget allows.
#[tokio::test]
async fn provider_http_budget_spaces_a_storm_of_requests() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = serve(Router::new().route("/x", get(flaky(hits.clone(), 0, StatusCode::OK)))).await;
    let mut c = config(&base);
    c.budget = BudgetConfig {
        per_second: 50.0,
        burst: 20,
        max_wait: Duration::from_secs(10),
    };
    let (http, metrics) = client(c);
    let started = Instant::now();
    let calls = (0..100).map(|_| {
        let http = http.clone();
        async move {
            http.send(Call::get("read x", "/x"))
                .await
                .map(|_| Instant::now())
        }
    });
    let done: Vec<Instant> = futures::future::join_all(calls)
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1550) && elapsed < Duration::from_secs(4),
        "{elapsed:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 100);
    let in_first_half_second = done
        .iter()
        .filter(|t| t.duration_since(started) < Duration::from_millis(500))
        .count();
    assert!(
        in_first_half_second <= 20 + 25 + 2,
        "{in_first_half_second} done within 0.5 s"
    );
    assert!(metrics.throttled_count("testprov", "budget") >= 79);
}

// A caller that would wait past the budget's deadline gets a transient RateLimited at once.
#[tokio::test]
async fn provider_http_budget_refuses_past_its_deadline() {
    let hits = Arc::new(AtomicUsize::new(0));
    let base = serve(Router::new().route("/x", get(flaky(hits.clone(), 0, StatusCode::OK)))).await;
    let mut c = config(&base);
    c.budget = BudgetConfig {
        per_second: 1.0,
        burst: 1,
        max_wait: Duration::from_millis(100),
    };
    let (http, _) = client(c);
    http.send(Call::get("read x", "/x")).await.unwrap();
    let err = http.send(Call::get("read x", "/x")).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                limiter: Limiter::Budget,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Transient);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

// Three failures open the circuit; calls then fail fast without reaching the server; after
// the cool-down one probe goes through and, succeeding, closes it again.
#[tokio::test]
async fn provider_http_circuit_opens_fails_fast_then_half_opens() {
    let hits = Arc::new(AtomicUsize::new(0));
    let healthy = Arc::new(AtomicBool::new(false));
    let (h, ok) = (hits.clone(), healthy.clone());
    let handler = move || {
        h.fetch_add(1, Ordering::SeqCst);
        let status = if ok.load(Ordering::SeqCst) {
            StatusCode::OK
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        async move { (status, "{}").into_response() }
    };
    let base = serve(Router::new().route("/x", get(handler))).await;
    let mut c = config(&base);
    c.retry.max_attempts = 1;
    c.circuit = CircuitConfig {
        failure_threshold: 3,
        cool_down: Duration::from_millis(300),
    };
    let (http, _) = client(c);
    for _ in 0..3 {
        let err = http.send(Call::get("read x", "/x")).await.unwrap_err();
        assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    }
    assert_eq!(http.circuit().state, CircuitState::Open);
    let started = Instant::now();
    let err = http.send(Call::get("read x", "/x")).await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(50), "fails fast");
    assert_eq!(err.class(), Class::Transient);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "not sent");
    let health = serde_json::to_value(http.circuit()).unwrap();
    assert_eq!(health["state"], "open");
    assert_eq!(health["consecutiveFailures"], 3);

    // A failed probe re-opens it.
    tokio::time::sleep(Duration::from_millis(350)).await;
    http.send(Call::get("read x", "/x")).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 4, "one probe");
    assert_eq!(http.circuit().state, CircuitState::Open);

    // A good probe closes it.
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(350)).await;
    http.send(Call::get("read x", "/x")).await.unwrap();
    assert_eq!(http.circuit().state, CircuitState::Closed);
}

// A time-out is transient, and an idempotent call is tried again.
#[tokio::test]
async fn provider_http_times_out_and_retries_idempotent_calls() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let handler = move || {
        h.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "{}"
        }
    };
    let base = serve(Router::new().route("/x", get(handler))).await;
    let mut c = config(&base);
    c.timeout = Duration::from_millis(200);
    c.retry.max_attempts = 2;
    let (http, metrics) = client(c);
    let err = http.send(Call::get("read x", "/x")).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(err.class(), Class::Transient);
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(metrics.requests("testprov", "read x", "timeout"), 2);
}

// A truncated body is a typed Decode error quoting the start of the body, never a panic.
#[tokio::test]
async fn provider_http_malformed_json_is_a_decode_error_with_an_excerpt() {
    let base = serve(Router::new().route("/x", get(|| async { "{\"zones\": [1, 2" }))).await;
    let (http, _) = client(config(&base));
    let err = http
        .json::<serde_json::Value>(Call::get("list zones", "/x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.is_permanent());
    assert!(err.to_string().contains("{\"zones\": [1, 2"), "{err}");
    assert!(
        err.to_string()
            .starts_with("failed to decode the answer of Testprov to list zones"),
        "{err}"
    );
}

// The bearer token reaches the server but never an error's Display or Debug, even when the
// provider echoes it back; a 401 is CredentialsRejected after one call.
#[tokio::test]
async fn provider_http_token_never_appears_in_errors() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let handler = move |headers: HeaderMap| {
        h.fetch_add(1, Ordering::SeqCst);
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        async move {
            let body = format!("{{\"error\": {{\"message\": \"bad request from {auth}\"}}}}");
            if auth == format!("Bearer {TOKEN}") {
                (StatusCode::UNPROCESSABLE_ENTITY, body).into_response()
            } else {
                (StatusCode::UNAUTHORIZED, body).into_response()
            }
        }
    };
    let echo = || async { format!("{{\"token\": \"{TOKEN}\"") };
    let base = serve(
        Router::new()
            .route("/x", get(handler))
            .route("/echo", get(echo)),
    )
    .await;
    let (http, metrics) = client(config(&base));

    let invalid = http.send(Call::get("read x", "/x")).await.unwrap_err();
    assert!(
        matches!(invalid, Error::Invalid { status: 422, .. }),
        "{invalid:?}"
    );
    let decode = http
        .json::<serde_json::Value>(Call::get("read echo", "/echo"))
        .await
        .unwrap_err();
    assert!(matches!(decode, Error::Decode { .. }), "{decode:?}");

    let mut wrong = config(&base);
    wrong.auth = Auth::Bearer(Secret::new("tok_wrong_0000000000"));
    let (bad, _) = client(wrong);
    let rejected = bad.send(Call::get("read x", "/x")).await.unwrap_err();
    assert!(
        matches!(rejected, Error::CredentialsRejected { status: 401, .. }),
        "{rejected:?}"
    );
    assert_eq!(
        rejected.to_string(),
        "failed to read x: credentials rejected by Testprov (HTTP 401)"
    );

    for shown in [
        format!("{invalid} {invalid:?}"),
        format!("{decode} {decode:?}"),
        format!("{rejected} {rejected:?} {http:?} {bad:?}"),
    ] {
        assert!(
            !shown.contains(TOKEN) && !shown.contains("tok_wrong"),
            "{shown}"
        );
    }
    assert!(invalid.to_string().contains("<redacted>"), "{invalid}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "422 and 401 are not retried"
    );
    assert_eq!(metrics.retries("testprov", "read x"), 0);
}
