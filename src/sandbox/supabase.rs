//! The Supabase Management API simulator: projects and their `status`, service health, the
//! database backups list and point-in-time (or physical backup) restore requests, which move
//! the project through `RESTORING` to `ACTIVE_HEALTHY` (or `RESTORE_FAILED` under a build fault).
//!
//! Errors are `{"message": …}`; `X-RateLimit-Reset` is seconds until the window resets.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State as AxState},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{
    Common, Phase, Snapshot, World, assemble,
    faults::{Dialect, Faults, RateInfo, bearer, lock, x_ratelimit},
};

#[derive(Clone, Debug)]
struct Backup {
    id: u64,
    status: &'static str,
    inserted_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
struct Project {
    reference: String,
    name: String,
    region: &'static str,
    created_at: DateTime<Utc>,
    status: &'static str,
    pitr_enabled: bool,
    backups: Vec<Backup>,
    restores: Vec<Value>,
}

/// The simulator's state.
pub struct State {
    common: Common,
    inner: Mutex<Vec<Project>>,
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl State {
    pub(crate) fn new(common: Common, fixtures: &[crate::sandbox::Fixture]) -> Self {
        let now = Utc::now();
        let projects = fixtures
            .iter()
            .enumerate()
            .map(|(n, f)| Project {
                reference: f
                    .id
                    .clone()
                    .unwrap_or_else(|| common.random(b"abcdefghijklmnopqrstuvwxyz", 20)),
                name: f.name.clone(),
                region: "us-east-1",
                created_at: now - ChronoDuration::days(30),
                status: "ACTIVE_HEALTHY",
                pitr_enabled: true,
                backups: (0..7u64)
                    .map(|d| Backup {
                        id: (n as u64 + 1) * 1000 + d + 1,
                        status: "COMPLETED",
                        inserted_at: now - ChronoDuration::days(7 - i64::try_from(d).unwrap_or(0)),
                    })
                    .collect(),
                restores: Vec::new(),
            })
            .collect();
        Self {
            common,
            inner: Mutex::new(projects),
        }
    }

    fn set_status(&self, reference: &str, status: &'static str) {
        if let Some(p) = lock(&self.inner)
            .iter_mut()
            .find(|p| p.reference == reference)
        {
            p.status = status;
        }
    }
}

fn project_json(p: &Project) -> Value {
    json!({
        "id": p.reference,
        "ref": p.reference,
        "organization_id": "sandbox-org",
        "organization_slug": "sandbox-org",
        "name": p.name,
        "region": p.region,
        "created_at": iso(p.created_at),
        "status": p.status,
        "database": {
            "host": format!("db.{}.supabase.co", p.reference),
            "version": "15.8.1.085",
            "postgres_engine": "15",
            "release_channel": "ga",
        },
    })
}

impl Snapshot for State {
    fn snapshot(&self) -> Value {
        let inner = lock(&self.inner);
        json!({
            "projects": inner.iter().map(|p| {
                let mut v = project_json(p);
                if let Some(m) = v.as_object_mut() {
                    m.insert("restores".into(), p.restores.clone().into());
                }
                v
            }).collect::<Vec<_>>(),
        })
    }
}

fn msg(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"message": message}))).into_response()
}

struct SupabaseDialect {
    token: String,
}

impl Dialect for SupabaseDialect {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        bearer(headers) == Some(self.token.as_str())
    }
    fn unauthorized(&self, _: &HeaderMap) -> Response {
        msg(StatusCode::UNAUTHORIZED, "Unauthorized")
    }
    fn server_error(&self, status: StatusCode) -> Response {
        msg(status, "Internal Server Error")
    }
    fn rate_limited(&self, _: &RateInfo) -> Response {
        msg(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests, please try again later.",
        )
    }
    fn rate_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        x_ratelimit(headers, info, info.reset_in);
    }
}

type Shared = Arc<State>;

pub(crate) fn router(
    state: Shared,
    token: &str,
    faults: Arc<Faults>,
    world: &Arc<World>,
) -> Router {
    let api = Router::new()
        .route("/v1/projects", get(list_projects))
        .route("/v1/projects/{reference}", get(get_project))
        .route("/v1/projects/{reference}/health", get(health))
        .route("/v1/projects/{reference}/database/backups", get(backups))
        .route(
            "/v1/projects/{reference}/database/backups/restore-pitr",
            post(restore_pitr),
        )
        .route(
            "/v1/projects/{reference}/database/backups/restore",
            post(restore_backup),
        )
        .fallback(|| async { msg(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(state.clone());
    assemble(
        api,
        Arc::new(SupabaseDialect {
            token: token.to_string(),
        }),
        faults,
        world,
        state,
    )
}

fn not_found() -> Response {
    msg(StatusCode::NOT_FOUND, "Project not found")
}

async fn list_projects(AxState(s): AxState<Shared>) -> Response {
    let inner = lock(&s.inner);
    Json(inner.iter().map(project_json).collect::<Vec<_>>()).into_response()
}

async fn get_project(AxState(s): AxState<Shared>, Path(reference): Path<String>) -> Response {
    let inner = lock(&s.inner);
    match inner.iter().find(|p| p.reference == reference) {
        Some(p) => Json(project_json(p)).into_response(),
        None => not_found(),
    }
}

const SERVICES: &[&str] = &[
    "auth",
    "db",
    "db_postgres_user",
    "pooler",
    "realtime",
    "rest",
    "storage",
    "pg_bouncer",
];

async fn health(
    AxState(s): AxState<Shared>,
    Path(reference): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let services: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "services" || k == "services[]")
        .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    if services.is_empty() {
        return msg(
            StatusCode::BAD_REQUEST,
            "querystring must have required property 'services'",
        );
    }
    if let Some(bad) = services.iter().find(|x| !SERVICES.contains(&x.as_str())) {
        return msg(
            StatusCode::BAD_REQUEST,
            &format!(
                "querystring/services must be equal to one of the allowed values ({}), got {bad}",
                SERVICES.join(", ")
            ),
        );
    }
    if let Some((_, t)) = q.iter().find(|(k, _)| k == "timeout_ms")
        && t.parse::<u32>().ok().is_none_or(|t| t > 10_000)
    {
        return msg(
            StatusCode::BAD_REQUEST,
            "querystring/timeout_ms must be <= 10000",
        );
    }
    let status = match lock(&s.inner).iter().find(|p| p.reference == reference) {
        Some(p) => p.status,
        None => return not_found(),
    };
    let unhealthy = s.common.faults.get().unhealthy_services;
    let out: Vec<Value> = services
        .iter()
        .map(|name| {
            let st = if unhealthy.contains(name) {
                "UNHEALTHY"
            } else {
                match status {
                    "ACTIVE_HEALTHY" => "ACTIVE_HEALTHY",
                    "COMING_UP" | "RESTORING" | "RESTARTING" | "UPGRADING" | "RESIZING" => {
                        "COMING_UP"
                    }
                    _ => "UNHEALTHY",
                }
            };
            let healthy = st == "ACTIVE_HEALTHY";
            let mut v = json!({"name": name, "healthy": healthy, "status": st});
            if let Some(m) = v.as_object_mut() {
                let info = match name.as_str() {
                    "auth" => Some(json!({"name": "GoTrue", "version": "v2.170.0", "description": "GoTrue is a user registration and authentication API"})),
                    "realtime" => Some(json!({"healthy": healthy, "db_connected": healthy, "replication_connected": healthy, "connected_cluster": 1})),
                    "rest" => Some(json!({"db_schema": "public,graphql_public"})),
                    _ => None,
                };
                if let Some(info) = info {
                    m.insert("info".into(), info);
                }
                if !healthy {
                    m.insert("error".into(), format!("{name} is {st}").into());
                }
            }
            v
        })
        .collect();
    Json(out).into_response()
}

fn window(p: &Project) -> (i64, i64) {
    let earliest = p
        .backups
        .iter()
        .map(|b| b.inserted_at.timestamp())
        .min()
        .unwrap_or_else(|| p.created_at.timestamp());
    (earliest, Utc::now().timestamp())
}

async fn backups(AxState(s): AxState<Shared>, Path(reference): Path<String>) -> Response {
    let inner = lock(&s.inner);
    let Some(p) = inner.iter().find(|p| p.reference == reference) else {
        return not_found();
    };
    let (earliest, latest) = window(p);
    Json(json!({
        "region": p.region,
        "walg_enabled": true,
        "pitr_enabled": p.pitr_enabled,
        "backups": p.backups.iter().map(|b| json!({
            "id": b.id,
            "is_physical_backup": true,
            "status": b.status,
            "inserted_at": iso(b.inserted_at),
        })).collect::<Vec<_>>(),
        "physical_backup_data": {
            "earliest_physical_backup_date_unix": earliest,
            "latest_physical_backup_date_unix": latest,
        },
    }))
    .into_response()
}

fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| msg(StatusCode::BAD_REQUEST, "Invalid request body"))
}

/// Start a restore of `reference`: checks done by the caller, then the status machine.
fn start_restore(s: &Shared, reference: String, record: Value) -> Response {
    let fate = s.common.faults.build_fate();
    {
        let mut inner = lock(&s.inner);
        let Some(p) = inner.iter_mut().find(|p| p.reference == reference) else {
            return not_found();
        };
        if p.status != "ACTIVE_HEALTHY" {
            return msg(
                StatusCode::BAD_REQUEST,
                &format!(
                    "Project is {}; a restore needs an ACTIVE_HEALTHY project.",
                    p.status
                ),
            );
        }
        p.status = "RESTORING";
        p.restores.push(record);
    }
    let state = s.clone();
    s.common.pipeline(fate, move |phase| {
        match phase {
            Phase::Failed => state.set_status(&reference, "RESTORE_FAILED"),
            Phase::Ready => state.set_status(&reference, "ACTIVE_HEALTHY"),
            Phase::Building | Phase::Deploying => {}
        }
        true
    });
    (StatusCode::CREATED, "").into_response()
}

async fn restore_pitr(
    AxState(s): AxState<Shared>,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let Some(target) = v
        .get("recovery_time_target_unix")
        .and_then(Value::as_i64)
        .filter(|t| *t >= 0)
    else {
        return msg(
            StatusCode::BAD_REQUEST,
            "body/recovery_time_target_unix must be an integer >= 0",
        );
    };
    {
        let inner = lock(&s.inner);
        let Some(p) = inner.iter().find(|p| p.reference == reference) else {
            return not_found();
        };
        if !p.pitr_enabled {
            return msg(
                StatusCode::BAD_REQUEST,
                "Point in time recovery is not enabled for this project",
            );
        }
        let (earliest, latest) = window(p);
        if target < earliest || target > latest {
            return msg(
                StatusCode::BAD_REQUEST,
                &format!("recovery_time_target_unix must be between {earliest} and {latest}"),
            );
        }
    }
    start_restore(
        &s,
        reference,
        json!({"kind": "pitr", "recovery_time_target_unix": target}),
    )
}

async fn restore_backup(
    AxState(s): AxState<Shared>,
    Path(reference): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let Some(id) = v.get("id").and_then(Value::as_u64) else {
        return msg(
            StatusCode::BAD_REQUEST,
            "body must have required property 'id'",
        );
    };
    {
        let inner = lock(&s.inner);
        let Some(p) = inner.iter().find(|p| p.reference == reference) else {
            return not_found();
        };
        if !p
            .backups
            .iter()
            .any(|b| b.id == id && b.status == "COMPLETED")
        {
            return msg(StatusCode::NOT_FOUND, "Backup not found");
        }
    }
    start_restore(&s, reference, json!({"kind": "backup", "id": id}))
}
