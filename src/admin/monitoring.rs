//! `GET /api/admin/monitoring/uptime` and `GET /api/admin/monitoring/performance`: each
//! target's uptime or latency over a window, from the rollups (see
//! [`crate::monitoring::report`]). Targets are those probed now (from the caches) and those
//! with history in the window, limited to the namespaces where the caller may
//! `list deployments.berth.dev` (and `list domains.berth.dev` for Domain rows); paginated by
//! target name with an opaque cursor.

use std::collections::{BTreeMap, BTreeSet};

use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{
    AdminState,
    answers::{Rights, Scope},
    auth::Access,
    encoding::Encoding,
    error::ApiError,
};
use crate::monitoring::{
    report::{self, Summary},
    split_target, targets,
};

/// Query parameters of both endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringQuery {
    pub namespace: Option<String>,
    /// `Deployment` or `Domain`.
    pub kind: Option<String>,
    /// Needs `namespace`.
    pub name: Option<String>,
    /// `1h`, `24h`, `7d` or `30d` (default `24h`); not with `from`/`to`.
    pub window: Option<String>,
    /// RFC 3339; with `to`.
    pub from: Option<String>,
    /// RFC 3339; with `from`.
    pub to: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A validated request.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub namespace: Option<String>,
    pub kind: Option<&'static str>,
    pub name: Option<String>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub limit: usize,
    /// Targets after this one.
    pub after: Option<String>,
}

const MAX_SPAN: TimeDelta = TimeDelta::days(400);

/// Checks the parameters (pure); a bad one is a 400 naming it.
pub fn parse(q: MonitoringQuery, now: DateTime<Utc>) -> Result<Request, ApiError> {
    let bad = |m: String| Err(ApiError::BadRequest(m));
    if q.name.is_some() && q.namespace.is_none() {
        return bad("name needs namespace".into());
    }
    let kind = match q.kind.as_deref() {
        None => None,
        Some("Deployment") => Some("Deployment"),
        Some("Domain") => Some("Domain"),
        Some(other) => return bad(format!("kind must be Deployment or Domain, not {other:?}")),
    };
    let (from, to) = match (q.window.as_deref(), q.from.as_deref(), q.to.as_deref()) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return bad("window cannot be combined with from/to".into());
        }
        (_, Some(_), None) | (_, None, Some(_)) => {
            return bad("from and to go together".into());
        }
        (window, None, None) => {
            let span = match window.unwrap_or("24h") {
                "1h" => TimeDelta::hours(1),
                "24h" => TimeDelta::hours(24),
                "7d" => TimeDelta::days(7),
                "30d" => TimeDelta::days(30),
                other => return bad(format!("window must be 1h, 24h, 7d or 30d, not {other:?}")),
            };
            (now - span, now)
        }
        (None, Some(from), Some(to)) => {
            let time = |name: &str, v: &str| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| {
                        ApiError::BadRequest(format!("{name} must be an RFC 3339 time, not {v:?}"))
                    })
            };
            let (from, to) = (time("from", from)?, time("to", to)?);
            if from >= to {
                return bad("from must be before to".into());
            }
            if to - from > MAX_SPAN {
                return bad("from and to may be at most 400 days apart".into());
            }
            (from, to)
        }
    };
    let limit = match q.limit.as_deref() {
        None => 100,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => return bad(format!("limit must be between 1 and 500, not {l:?}")),
        },
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|t| split_target(t).is_some())
                .ok_or_else(|| {
                    ApiError::BadRequest("cursor is not a nextCursor from a previous page".into())
                })?,
        ),
    };
    Ok(Request {
        namespace: q.namespace,
        kind,
        name: q.name,
        from,
        to,
        limit,
        after,
    })
}

/// One page of either report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// One target's row in either report: which target, how many samples, and the report's
/// own figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item<F> {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub target: String,
    pub samples: i64,
    #[serde(flatten)]
    pub figures: F,
}

impl<F> Item<F> {
    fn of(s: Summary, figures: fn(&Summary) -> F) -> Self {
        let (namespace, kind, name) = split_target(&s.target).unwrap_or(("", "", &s.target));
        let (namespace, kind, name) = (namespace.into(), kind.into(), name.into());
        Self {
            namespace,
            kind,
            name,
            samples: s.samples,
            figures: figures(&s),
            target: s.target,
        }
    }
}

/// The uptime report's figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Uptime {
    pub failures: i64,
    pub uptime_percent: Option<f64>,
}

/// The performance report's figures.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub mean_ms: Option<f64>,
}

type QueryResult = Result<Query<MonitoringQuery>, axum::extract::rejection::QueryRejection>;

/// `GET /monitoring/uptime`.
pub async fn uptime(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: QueryResult,
) -> Result<Response, ApiError> {
    report(state, &headers, query, "uptime", |s| Uptime {
        failures: s.failures,
        uptime_percent: s.uptime_percent(),
    })
    .await
}

/// `GET /monitoring/performance`.
pub async fn performance(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: QueryResult,
) -> Result<Response, ApiError> {
    report(state, &headers, query, "performance", |s| Latency {
        p50_ms: s.quantile_ms(0.50),
        p95_ms: s.quantile_ms(0.95),
        p99_ms: s.quantile_ms(0.99),
        mean_ms: s.mean_ms(),
    })
    .await
}

/// One page of summaries, each shown with its `figures`, through the shared answers.
async fn report<F: Serialize + Send + 'static>(
    state: AdminState,
    headers: &HeaderMap,
    query: QueryResult,
    endpoint: &'static str,
    figures: fn(&Summary) -> F,
) -> Result<Response, ApiError> {
    let (req, rights, question) = admit(&state, headers, query).await?;
    let answers = state.answers.clone();
    answers
        .answer(
            endpoint,
            question,
            Encoding::accepted(headers),
            rights,
            move |scope| async move {
                Ok(summaries(&state, &scope, req)
                    .await?
                    .map(|s| Item::of(s, figures)))
            },
        )
        .await
}

impl Page<Summary> {
    fn map<T>(self, f: impl FnMut(Summary) -> T) -> Page<T> {
        Page {
            from: self.from,
            to: self.to,
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Validates, authenticates and checks the namespace permissions a query names: what
/// comes before the (shared) answer. The question is the query as parsed, so `window=24h`
/// asked twice within a second is one question.
async fn admit(
    state: &AdminState,
    headers: &HeaderMap,
    query: QueryResult,
) -> Result<(Request, Rights, String), ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let question = format!("{q:?}");
    let req = parse(q, Utc::now())?;
    let caller = state.gate.authenticate(headers).await?;
    if let Some(ns) = &req.namespace {
        state
            .gate
            .require(&caller, &Access::resource("list", "deployments", ns))
            .await?;
        if req.kind == Some("Domain") {
            state
                .gate
                .require(&caller, &Access::resource("list", "domains", ns))
                .await?;
        }
    }
    let rights = Rights {
        gate: state.gate.clone(),
        caller,
    };
    Ok((req, rights, question))
}

/// Reads one page of summaries, with the rows the caller may see.
async fn summaries(
    state: &AdminState,
    scope: &Scope<Rights>,
    req: Request,
) -> Result<Page<Summary>, ApiError> {
    let store = state.store.clone().ok_or_else(|| {
        ApiError::Unavailable("berth runs without a history database (--database-url)".into())
    })?;
    let unavailable = |e: crate::monitoring::Error| {
        tracing::warn!(error = %crate::controllers::runtime::error_chain(&e), "monitoring report failed");
        ApiError::Unavailable("the history database did not answer; try again".into())
    };

    // Edges older than the kept minute rollups are answered to the hour; the page says so.
    let (from, to) =
        report::answerable(req.from, req.to, state.retention.minutes_since(Utc::now()));
    // Candidates: probed now, or with history in the window; filtered by the query.
    let mut candidates: BTreeSet<String> =
        report::targets_with_data(store.pool(), req.namespace.as_deref(), from, to)
            .await
            .map_err(unavailable)?
            .into_iter()
            .collect();
    candidates.extend(
        targets::from_caches(&state.caches, None)
            .into_iter()
            .map(|t| t.name),
    );
    let wanted = |t: &str| {
        let Some((ns, kind, name)) = split_target(t) else {
            return false;
        };
        req.namespace.as_deref().is_none_or(|n| n == ns)
            && req.kind.is_none_or(|k| k == kind)
            && req.name.as_deref().is_none_or(|n| n == name)
            && req.after.as_deref().is_none_or(|a| t > a)
    };

    // Only what the caller may see, one review a namespace and kind (cached by the gate).
    let mut allowed: BTreeMap<(String, &'static str), bool> = BTreeMap::new();
    let mut page = Vec::with_capacity(req.limit + 1);
    for t in candidates.into_iter().filter(|t| wanted(t)) {
        let Some((ns, kind, _)) = split_target(&t) else {
            continue;
        };
        let mut may = true;
        for &resource in required(kind) {
            let key = (ns.to_owned(), resource);
            let ok = match allowed.get(&key) {
                Some(ok) => *ok,
                None => {
                    let ok = scope
                        .allowed(&Access::resource("list", resource, ns))
                        .await?;
                    allowed.insert(key, ok);
                    ok
                }
            };
            may &= ok;
        }
        if may {
            page.push(t);
            if page.len() > req.limit {
                break;
            }
        }
    }
    let next_cursor = if page.len() > req.limit {
        page.truncate(req.limit);
        page.last()
            .map(|t| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t))
    } else {
        None
    };

    let mut found: BTreeMap<String, Summary> = report::summarize(store.pool(), &page, from, to)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|s| (s.target.clone(), s))
        .collect();
    let items = page
        .into_iter()
        .map(|t| found.remove(&t).unwrap_or_else(|| Summary::empty(t)))
        .collect();
    Ok(Page {
        from,
        to,
        items,
        next_cursor,
    })
}

/// The resources a caller must be allowed to list to see a row of `kind`.
fn required(kind: &str) -> &'static [&'static str] {
    match kind {
        "Domain" => &["deployments", "domains"],
        _ => &["deployments"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-05-01T12:00:00Z".parse().unwrap()
    }

    fn q(pairs: &[(&str, &str)]) -> MonitoringQuery {
        let encoded = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        serde_urlencoded_like(&encoded)
    }

    fn serde_urlencoded_like(s: &str) -> MonitoringQuery {
        let uri: axum::http::Uri = format!("/x?{s}").parse().unwrap();
        Query::<MonitoringQuery>::try_from_uri(&uri).unwrap().0
    }

    fn bad(pairs: &[(&str, &str)]) -> String {
        match parse(q(pairs), now()) {
            Err(ApiError::BadRequest(m)) => m,
            other => panic!("expected 400 for {pairs:?}, got {other:?}"),
        }
    }

    // Protects: every malformed query is a 400 that names the parameter at fault.
    #[test]
    fn bad_queries_name_the_parameter() {
        assert!(bad(&[("name", "api")]).contains("namespace"));
        assert!(bad(&[("kind", "Pod")]).contains("kind"));
        assert!(bad(&[("window", "2h")]).contains("window"));
        assert!(bad(&[("window", "1h"), ("from", "2026-01-01T00:00:00Z")]).contains("window"));
        assert!(bad(&[("from", "2026-01-01T00:00:00Z")]).contains("from and to"));
        assert!(bad(&[("from", "yesterday"), ("to", "2026-01-01T00:00:00Z")]).contains("from"));
        assert!(
            bad(&[
                ("from", "2026-01-02T00:00:00Z"),
                ("to", "2026-01-01T00:00:00Z")
            ])
            .contains("before")
        );
        assert!(
            bad(&[
                ("from", "2024-01-01T00:00:00Z"),
                ("to", "2026-01-01T00:00:00Z")
            ])
            .contains("400 days")
        );
        assert!(bad(&[("limit", "0")]).contains("limit"));
        assert!(bad(&[("limit", "501")]).contains("limit"));
        assert!(bad(&[("limit", "many")]).contains("limit"));
        assert!(bad(&[("cursor", "!!")]).contains("cursor"));
    }

    // Protects: the defaults (24 h to now, 100 a page) and a cursor round trip.
    #[test]
    fn good_queries_parse_with_defaults() {
        let r = parse(MonitoringQuery::default(), now()).unwrap();
        assert_eq!(
            (r.from, r.to, r.limit),
            (now() - TimeDelta::hours(24), now(), 100)
        );
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("ns/Domain/a");
        let r = parse(
            q(&[
                ("namespace", "ns"),
                ("kind", "Domain"),
                ("window", "30d"),
                ("limit", "5"),
                ("cursor", &cursor),
            ]),
            now(),
        )
        .unwrap();
        assert_eq!(r.kind, Some("Domain"));
        assert_eq!(r.from, now() - TimeDelta::days(30));
        assert_eq!(r.after.as_deref(), Some("ns/Domain/a"));
        assert_eq!(r.limit, 5);
    }
}
