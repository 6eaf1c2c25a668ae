//! `GET /api/admin/openapi.json`: the OpenAPI 3.1 document of the whole admin API, served
//! without authentication (it describes, it grants nothing). A unit test below fails when a
//! route registered in `admin/mod.rs` is missing from it, so it cannot fall behind the code;
//! the integration tests fuzz every GET endpoint from its parameters here.

use std::sync::LazyLock;

use axum::{http::header::CONTENT_TYPE, response::IntoResponse};
use serde_json::{Value, json};

/// The document, built and serialised once.
static DOCUMENT: LazyLock<bytes::Bytes> = LazyLock::new(|| bytes::Bytes::from(build().to_string()));

/// The handler.
pub async fn document() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT.clone())
}

/// The OpenAPI document.
#[must_use]
pub fn build() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "berth admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Read models and audited actions of the berth operator. Every call except this document needs a Kubernetes bearer token (TokenReview) and the RBAC permission each operation names (SubjectAccessReview). Errors are always `{\"error\": {status, reason, message}}`.",
        },
        "servers": [{"url": "/api/admin"}],
        "security": [{"kubernetesToken": []}],
        "paths": {
            "/deployment/status": {"get": {
                "operationId": "deploymentStatus",
                "summary": "Every Environment with its Deployments, Domains and Certificates, from the controllers' caches",
                "description": "RBAC: `list deployments.berth.dev` per namespace; namespaces the caller may not list are left out and counted in `hiddenNamespaces`.",
                "parameters": [
                    query("namespace", "Only this namespace (403 without `list deployments.berth.dev` in it).", json!({"type": "string"})),
                    query("limit", "About how many objects a page holds: whole environments are added until it has at least this many deployments, domains and certificates (an empty environment counts as one).", json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})),
                    query("cursor", "The `nextCursor` of the previous page.", json!({"type": "string"})),
                ],
                "responses": responses(200, "One page of the estate.", "EstateStatus", &[400, 401, 403]),
            }},
            "/deployment/rollback": {"post": {
                "operationId": "deploymentRollback",
                "summary": "Roll a Deployment back to its previous (or a named) good release",
                "description": "RBAC: `create deployments/rollback.berth.dev` on the Deployment. Audited (`deployment.rollback`).",
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("RollbackRequest")}}},
                "responses": merge(
                    responses(200, "Rolled back.", "RollbackAnswer", &[400, 401, 403, 404, 409, 503]),
                    json!({"202": {"description": "Requested; the leader has not finished within 30 s.", "content": {"application/json": {"schema": schema_ref("RollbackAnswer")}}}}),
                ),
            }},
            "/monitoring/backups": {"get": {
                "operationId": "listBackups",
                "summary": "Backups and their newest verification, newest first",
                "description": "RBAC: `list backuppolicies.berth.dev` in `namespace`, or cluster-wide without it.",
                "parameters": [
                    query("namespace", "Only this namespace.", json!({"type": "string"})),
                    query("policy", "Only this BackupPolicy (needs namespace).", json!({"type": "string"})),
                    query("from", "Started at or after (RFC 3339).", json!({"type": "string", "format": "date-time"})),
                    query("to", "Started before (RFC 3339).", json!({"type": "string", "format": "date-time"})),
                    query("outcome", "Run outcome.", json!({"type": "string", "enum": ["running", "complete", "failed", "pruned"]})),
                    query("limit", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 50})),
                    query("after", "The `next` of the previous page.", json!({"type": "string"})),
                ],
                "responses": responses(200, "One page.", "BackupsPage", &[400, 401, 403, 503]),
            }},
            "/monitoring/uptime": {"get": {
                "operationId": "uptime",
                "summary": "Uptime per probe target over a window, from the probe rollups",
                "description": MONITORING_RBAC,
                "parameters": monitoring_parameters(),
                "responses": responses(200, "One page.", "UptimePage", &[400, 401, 403, 503]),
            }},
            "/monitoring/performance": {"get": {
                "operationId": "performance",
                "summary": "Latency percentiles per probe target over a window, from the probe rollups",
                "description": MONITORING_RBAC,
                "parameters": monitoring_parameters(),
                "responses": responses(200, "One page.", "PerformancePage", &[400, 401, 403, 503]),
            }},
            "/alerts": {"get": {
                "operationId": "listAlerts",
                "summary": "Alerts, newest first",
                "description": "RBAC: `list deployments.berth.dev` in the alert's namespace (cluster-wide for provider alerts, which have none). Without `namespace`, the namespaces the caller may list.",
                "parameters": [
                    query("state", "Only alerts in this state.", json!({"type": "string", "enum": ["firing", "acknowledged", "resolved"]})),
                    query("namespace", "Only this namespace (403 without the permission there).", json!({"type": "string", "minLength": 1})),
                    query("limit", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 100})),
                    query("cursor", "The `nextCursor` of the previous page (opaque).", json!({"type": "string"})),
                ],
                "responses": responses(200, "One page.", "AlertsPage", &[400, 401, 403, 503]),
            }},
            "/alerts/{id}/ack": {"post": {
                "operationId": "acknowledgeAlert",
                "summary": "Acknowledge a firing alert",
                "description": "RBAC: `patch deployments.berth.dev` in the alert's namespace. Audited (`alert.acknowledge`) before the change. Acknowledging an acknowledged alert keeps the first acknowledgement.",
                "parameters": [{"name": "id", "in": "path", "required": true, "description": "The alert's id.", "schema": {"type": "integer", "minimum": 1}}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": {"comment": {"type": "string", "description": "Kept in the audit log."}},
                }}}},
                "responses": responses(200, "The alert, acknowledged.", "Alert", &[400, 401, 403, 404, 409, 503]),
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI 3.1 document.", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {
            "securitySchemes": {"kubernetesToken": {
                "type": "http", "scheme": "bearer",
                "description": "A Kubernetes token (`kubectl create token …`, or a kubeconfig's), checked by TokenReview.",
            }},
            "schemas": schemas(),
        },
    })
}

const MONITORING_RBAC: &str = "RBAC: `list deployments.berth.dev` in the namespace (and `list domains.berth.dev` for Domain rows); cluster-wide without `namespace`.";

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn monitoring_parameters() -> Vec<Value> {
    vec![
        query(
            "namespace",
            "Only this namespace.",
            json!({"type": "string"}),
        ),
        query(
            "kind",
            "Only this kind of target.",
            json!({"type": "string", "enum": ["Deployment", "Domain"]}),
        ),
        query(
            "name",
            "Only this object (needs namespace).",
            json!({"type": "string"}),
        ),
        query(
            "window",
            "The window up to now; not with from/to.",
            json!({"type": "string", "enum": ["1h", "24h", "7d", "30d"], "default": "24h"}),
        ),
        query(
            "from",
            "Start (RFC 3339), with `to`; before `to`, at most 400 days apart.",
            json!({"type": "string", "format": "date-time"}),
        ),
        query(
            "to",
            "End (RFC 3339), with `from`.",
            json!({"type": "string", "format": "date-time"}),
        ),
        query(
            "limit",
            "Page size.",
            json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 100}),
        ),
        query(
            "cursor",
            "The `nextCursor` of the previous page (opaque).",
            json!({"type": "string"}),
        ),
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A success response and the listed error responses, all JSON.
fn responses(ok: u16, description: &str, schema: &str, errors: &[u16]) -> Value {
    let mut out = serde_json::Map::new();
    out.insert(
        ok.to_string(),
        json!({"description": description, "content": {"application/json": {"schema": schema_ref(schema)}}}),
    );
    for code in errors {
        let what = match code {
            400 => "A malformed parameter or body; the message names it.",
            401 => "No bearer token, or one the API server does not accept.",
            403 => "The caller lacks the RBAC permission; the message names it.",
            404 => "No such object.",
            409 => "The object's state does not allow it.",
            _ => "A dependency (API server, database, audit log) is unavailable; retry.",
        };
        out.insert(
            code.to_string(),
            json!({"description": what, "content": {"application/json": {"schema": schema_ref("Error")}}}),
        );
    }
    Value::Object(out)
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn page(item: Value, cursor: &str) -> Value {
    json!({"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": item},
        cursor: nullable("string"),
    }})
}

fn schemas() -> Value {
    let timestamp = json!({"type": "string", "format": "date-time"});
    let nullable_time = json!({"type": ["string", "null"], "format": "date-time"});
    let window = |items: Value| {
        json!({"type": "object", "required": ["from", "to", "items", "nextCursor"], "properties": {
            "from": {"type": "string", "format": "date-time", "description": "The start of the window covered: as asked, or back to its hour when older than the kept minute rollups."},
            "to": {"type": "string", "format": "date-time", "description": "The end of the window covered: as asked, or forward to its hour when older than the kept minute rollups."},
            "items": {"type": "array", "items": items},
            "nextCursor": nullable("string"),
        }})
    };
    let target = json!({
        "namespace": {"type": "string"}, "kind": {"type": "string", "enum": ["Deployment", "Domain"]},
        "name": {"type": "string"}, "target": {"type": "string", "description": "`<namespace>/<Kind>/<name>`"},
        "samples": {"type": "integer"},
    });
    let with = |extra: Value| {
        let mut props = target.clone();
        if let (Some(p), Value::Object(e)) = (props.as_object_mut(), extra) {
            p.extend(e);
        }
        json!({"type": "object", "properties": props})
    };
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["status", "reason", "message"], "properties": {
                "status": {"type": "integer"},
                "reason": {"type": "string", "enum": ["Unauthorized", "Forbidden", "BadRequest", "NotFound", "Conflict", "ServiceUnavailable", "InternalError"]},
                "message": {"type": "string"},
            }}}},
        "EstateStatus": {"type": "object", "required": ["environments", "hiddenNamespaces", "nextCursor"], "properties": {
            "environments": {"type": "array", "items": {"type": "object", "description": "An Environment with `namespace`, `name`, `health`, `deployments`, `domains` and `certificates`."}},
            "hiddenNamespaces": {"type": "integer"},
            "nextCursor": nullable("string"),
        }},
        "RollbackRequest": {"type": "object", "required": ["namespace", "deployment"], "additionalProperties": false, "properties": {
            "namespace": {"type": "string"}, "deployment": {"type": "string"},
            "revision": {"type": "string", "description": "A good release's revision; default: the one before the live one."},
            "reason": {"type": "string"},
        }},
        "RollbackAnswer": {"type": "object", "properties": {
            "requestId": {"type": "string"}, "namespace": {"type": "string"}, "deployment": {"type": "string"},
            "state": {"type": "string", "enum": ["Accepted", "Done", "Rejected"]},
            "rollback": {"type": ["object", "null"]}, "phase": nullable("string"),
            "heldRevision": nullable("string"), "message": {"type": "string"},
        }},
        "BackupsPage": page(json!({"type": "object", "description": "A backup with `id`, `namespace`, `policy`, times, size, sha256, location, status, trigger and verification."}), "next"),
        "UptimePage": window(with(json!({"failures": {"type": "integer"}, "uptimePercent": nullable("number")}))),
        "PerformancePage": window(with(json!({
            "p50Ms": nullable("number"), "p95Ms": nullable("number"), "p99Ms": nullable("number"), "meanMs": nullable("number"),
        }))),
        "Alert": {"type": "object", "required": ["id", "rule", "namespace", "kind", "name", "severity", "state", "firedAt", "message"], "properties": {
            "id": {"type": "integer"},
            "rule": {"type": "string", "description": "e.g. `slo-availability-page`, `certificate-expiring`, `backup-stale`, `deployment-rolled-back`, `provider-circuit-open`."},
            "namespace": {"type": "string", "description": "Empty for provider alerts."},
            "kind": {"type": "string"}, "name": {"type": "string"},
            "severity": {"type": "string", "enum": ["info", "warning", "critical"]},
            "state": {"type": "string", "enum": ["firing", "acknowledged", "resolved"]},
            "firedAt": timestamp, "acknowledgedAt": nullable_time, "acknowledgedBy": nullable("string"),
            "resolvedAt": nullable_time, "message": {"type": "string"},
        }},
        "AlertsPage": page(schema_ref("Alert"), "nextCursor"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: the document cannot rot: every route registered in admin/mod.rs is in it, with
    // the same method.
    #[test]
    fn every_registered_route_is_documented() {
        let source = include_str!("mod.rs");
        let doc = build();
        let mut routes = 0;
        for line in source.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix(".route(\"") else {
                continue;
            };
            let (path, rest) = rest.split_once('"').unwrap();
            let method = rest.trim_start_matches(", ").split('(').next().unwrap();
            routes += 1;
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is registered in admin/mod.rs but not in the OpenAPI document"
            );
        }
        assert!(
            routes >= 6,
            "found only {routes} routes; did the registration style change?"
        );
    }

    // Protects: every reference resolves, and the document says it is OpenAPI 3.1.
    #[test]
    fn references_resolve() {
        let doc = build();
        assert_eq!(doc["openapi"], "3.1.0");
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap();
            assert!(doc["components"]["schemas"][name].is_object(), "{name}");
        }
    }
}
