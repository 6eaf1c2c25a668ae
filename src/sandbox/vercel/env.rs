//! Vercel project environment variables: list (decrypted on request; sensitive values never
//! come back), get, create one or an array (`upsert=true` overwrites; per-item failures come
//! back in `failed[]`), edit and delete.

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State as AxState},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Q, Shared,
    auth::{body_json, err, err_with},
    ms,
    projects::find_project,
};
use crate::sandbox::faults::lock;

#[derive(Clone, Debug)]
pub(super) struct Env {
    pub(super) id: String,
    pub(super) key: String,
    pub(super) value: String,
    pub(super) ciphertext: String,
    pub(super) kind: String,
    pub(super) target: Vec<String>,
    pub(super) git_branch: Option<String>,
    pub(super) comment: Option<String>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

const TARGETS: &[&str] = &["production", "preview", "development"];
const ENV_TYPES: &[&str] = &["system", "encrypted", "plain", "sensitive"];

fn env_json(e: &Env, decrypt: bool) -> Value {
    let (value, decrypted) = match e.kind.as_str() {
        "sensitive" => (String::new(), false),
        "encrypted" if !decrypt => (e.ciphertext.clone(), false),
        "encrypted" => (e.value.clone(), true),
        _ => (e.value.clone(), false),
    };
    json!({
        "id": e.id,
        "key": e.key,
        "value": value,
        "type": e.kind,
        "target": e.target,
        "gitBranch": e.git_branch,
        "comment": e.comment,
        "configurationId": null,
        "createdAt": e.created_at,
        "updatedAt": e.updated_at,
        "createdBy": "sandbox-user",
        "updatedBy": "sandbox-user",
        "decrypted": decrypted,
        "system": e.kind == "system",
    })
}

/// An entry for the admin state: the value only as its sha256 (hex).
pub(super) fn admin_json(e: &Env) -> Value {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(e.value.as_bytes());
    json!({
        "key": e.key,
        "type": e.kind,
        "target": e.target,
        "comment": e.comment,
        "updatedAt": e.updated_at,
        "valueSha256": hex::encode(digest),
    })
}

pub(super) async fn list_env(
    AxState(s): AxState<Shared>,
    Path(project): Path<String>,
    Query(q): Q,
) -> Response {
    let inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let decrypt = q.get("decrypt").is_some_and(|d| d == "true" || d == "1");
    let envs: Vec<Value> = inner
        .envs
        .get(&pid)
        .map(|v| {
            v.iter()
                .filter(|e| {
                    q.get("gitBranch")
                        .is_none_or(|b| e.git_branch.as_deref() == Some(b.as_str()))
                })
                .map(|e| env_json(e, decrypt))
                .collect()
        })
        .unwrap_or_default();
    Json(json!({"envs": envs, "pagination": {"count": envs.len(), "next": null, "prev": null}}))
        .into_response()
}

fn env_missing() -> Response {
    err(
        StatusCode::NOT_FOUND,
        "not_found",
        "Environment Variable not found",
    )
}

pub(super) async fn get_env(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    match inner
        .envs
        .get(&pid)
        .and_then(|v| v.iter().find(|e| e.id == id))
    {
        Some(e) => Json(env_json(e, true)).into_response(),
        None => env_missing(),
    }
}

/// One valid env item.
struct EnvItem {
    key: String,
    value: String,
    kind: String,
    target: Vec<String>,
    git_branch: Option<String>,
    comment: Option<String>,
}

/// Check one env item; `Err` is the `error` object of a `failed[]` entry.
fn check_env(item: &Value) -> Result<EnvItem, Value> {
    let fail = |code: &str, message: &str, key: Option<&str>| json!({"code": code, "message": message, "key": key});
    let key = item.get("key").and_then(Value::as_str);
    let Some(key) = key.filter(|k| {
        !k.is_empty()
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with(|c: char| c.is_ascii_digit())
    }) else {
        return Err(fail(
            "invalid_key",
            "The key must contain only letters, digits and underscores and must not start with a digit.",
            key,
        ));
    };
    let Some(value) = item.get("value").and_then(Value::as_str) else {
        return Err(fail(
            "invalid_value",
            "`value` must be a string.",
            Some(key),
        ));
    };
    let kind = item
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("encrypted");
    if !ENV_TYPES.contains(&kind) {
        return Err(fail(
            "invalid_type",
            "`type` must be one of system, encrypted, plain, sensitive.",
            Some(key),
        ));
    }
    let target: Vec<String> = item
        .get("target")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if target.is_empty() || target.iter().any(|t| !TARGETS.contains(&t.as_str())) {
        return Err(fail(
            "invalid_target",
            "`target` must be a non-empty subset of production, preview, development.",
            Some(key),
        ));
    }
    if kind == "sensitive" && target.iter().any(|t| t == "development") {
        return Err(fail(
            "invalid_sensitive_target",
            "Sensitive Environment Variables cannot be created in the Development environment.",
            Some(key),
        ));
    }
    let git_branch = item
        .get("gitBranch")
        .and_then(Value::as_str)
        .map(str::to_string);
    if git_branch.is_some() && target != ["preview"] {
        return Err(fail(
            "git_branch_requires_preview",
            "`gitBranch` is only allowed with target [\"preview\"].",
            Some(key),
        ));
    }
    let comment = item
        .get("comment")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(EnvItem {
        key: key.to_string(),
        value: value.to_string(),
        kind: kind.to_string(),
        target,
        git_branch,
        comment,
    })
}

pub(super) async fn create_env(
    AxState(s): AxState<Shared>,
    Path(project): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let upsert = q.get("upsert").is_some_and(|u| u == "true" || u == "1");
    let (items, single) = match v {
        Value::Array(a) => (a, false),
        obj @ Value::Object(_) => (vec![obj], true),
        _ => {
            return err(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Invalid request: body must be an object or an array.",
            );
        }
    };
    let ids: Vec<(String, String)> = items
        .iter()
        .map(|_| (s.common.id(""), format!("enc_{}", s.common.hex(48))))
        .collect();
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let envs = inner.envs.entry(pid).or_default();
    let mut created = Vec::new();
    let mut failed = Vec::new();
    for (item, (id, cipher)) in items.iter().zip(ids) {
        let EnvItem {
            key,
            value,
            kind,
            target,
            git_branch,
            comment,
        } = match check_env(item) {
            Ok(x) => x,
            Err(e) => {
                failed.push(json!({"error": e}));
                continue;
            }
        };
        let now = ms();
        let clash = envs.iter().position(|e| {
            e.key == key
                && e.git_branch == git_branch
                && e.target.iter().any(|t| target.contains(t))
        });
        match clash {
            Some(i) if upsert => {
                let e = &mut envs[i];
                e.value = value;
                e.kind = kind;
                e.target = target;
                e.comment = comment;
                e.updated_at = now;
                created.push(env_json(e, false));
            }
            Some(i) => failed.push(json!({"error": {
                "code": "ENV_CONFLICT",
                "message": format!("A variable with the name `{key}` already exists for the target {} on branch {}", envs[i].target.join(","), git_branch.as_deref().unwrap_or("")),
                "key": key,
                "envVarId": envs[i].id,
                "envVarKey": key,
                "target": envs[i].target,
                "gitBranch": git_branch,
            }})),
            None => {
                let e = Env {
                    id,
                    key,
                    value,
                    ciphertext: cipher,
                    kind,
                    target,
                    git_branch,
                    comment,
                    created_at: now,
                    updated_at: now,
                };
                created.push(env_json(&e, false));
                envs.push(e);
            }
        }
    }
    if single {
        if let Some(f) = failed.first() {
            let e = f.get("error").cloned().unwrap_or(Value::Null);
            let code = e
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("bad_request");
            let message = e.get("message").and_then(Value::as_str).unwrap_or("");
            let extra = e.as_object().cloned().unwrap_or_default();
            return err_with(StatusCode::BAD_REQUEST, code, message, extra);
        }
        let one = created.into_iter().next().unwrap_or(Value::Null);
        return (
            StatusCode::CREATED,
            Json(json!({"created": one, "failed": []})),
        )
            .into_response();
    }
    (
        StatusCode::CREATED,
        Json(json!({"created": created, "failed": failed})),
    )
        .into_response()
}

pub(super) async fn edit_env(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = match body_json(&body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let Some(e) = inner
        .envs
        .get_mut(&pid)
        .and_then(|v| v.iter_mut().find(|e| e.id == id))
    else {
        return env_missing();
    };
    let mut merged = env_json(e, true);
    if e.kind == "sensitive"
        && let Some(m) = merged.as_object_mut()
    {
        m.insert("value".into(), e.value.clone().into());
    }
    if let (Some(m), Some(patch)) = (merged.as_object_mut(), v.as_object()) {
        for k in ["key", "value", "type", "target", "gitBranch", "comment"] {
            if let Some(x) = patch.get(k) {
                m.insert(k.into(), x.clone());
            }
        }
    }
    let EnvItem {
        key,
        value,
        kind,
        target,
        git_branch,
        comment,
    } = match check_env(&merged) {
        Ok(x) => x,
        Err(x) => {
            let code = x
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("bad_request");
            let message = x.get("message").and_then(Value::as_str).unwrap_or("");
            return err(StatusCode::BAD_REQUEST, code, message);
        }
    };
    e.key = key;
    e.value = value;
    e.kind = kind;
    e.target = target;
    e.git_branch = git_branch;
    e.comment = comment;
    e.updated_at = ms();
    Json(env_json(e, true)).into_response()
}

pub(super) async fn delete_env(
    AxState(s): AxState<Shared>,
    Path((project, id)): Path<(String, String)>,
) -> Response {
    let mut inner = lock(&s.inner);
    let pid = match find_project(&inner, &project) {
        Ok(p) => p.id.clone(),
        Err(e) => return e,
    };
    let Some(v) = inner.envs.get_mut(&pid) else {
        return env_missing();
    };
    match v.iter().position(|e| e.id == id) {
        Some(i) => Json(env_json(&v.remove(i), false)).into_response(),
        None => env_missing(),
    }
}
