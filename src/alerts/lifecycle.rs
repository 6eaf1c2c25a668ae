//! The alert life cycle in the `alerts` table: firing → acknowledged → resolved.
//!
//! A finding fires a new alert unless one for the same rule and resource is open (the
//! `alerts_open_dedup` index makes that a single `INSERT … ON CONFLICT`); an open alert whose
//! rule was evaluated and no longer holds is resolved. Acknowledging keeps an alert open (it
//! still resolves when its cause clears) and stops nothing but the attention.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Error, Finding, Resource, Result};
use crate::store::Store;

/// Where an alert stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Acknowledged,
    Resolved,
}

impl AlertState {
    /// Every state, in life-cycle order.
    pub const ALL: [Self; 3] = [Self::Firing, Self::Acknowledged, Self::Resolved];

    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    /// The state stored as `name`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// One alert as stored, and as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub severity: String,
    pub state: String,
    pub fired_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub message: String,
}

impl Alert {
    /// The resource it is about.
    #[must_use]
    pub fn resource(&self) -> Resource {
        Resource {
            namespace: self.namespace.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
        }
    }
}

/// The columns of [`Alert`], for every query that returns alerts.
pub const COLUMNS: &str = "id, rule, resource_namespace AS namespace, resource_kind AS kind, \
    resource_name AS name, severity, state, fired_at, acknowledged_at, acknowledged_by, \
    resolved_at, message";

/// What one pass changed.
#[derive(Debug, Default)]
pub struct Transitions {
    /// Alerts that fired in this pass (new rows).
    pub fired: Vec<Alert>,
    /// Alerts resolved in this pass.
    pub resolved: Vec<Alert>,
}

/// Fires, updates and resolves alerts so the open ones match `findings`.
///
/// Only alerts of `evaluated` rules are resolved: a rule whose inputs could not be read this
/// pass keeps its alerts as they are. With `scope` (a namespace-scoped install) only that
/// namespace's alerts, and the namespace-less provider alerts, are resolved.
pub async fn apply(
    store: &Store,
    findings: &[Finding],
    evaluated: &[&str],
    scope: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Transitions> {
    // One finding per rule and resource, or the upsert would touch a row twice.
    let unique: BTreeMap<(&str, &Resource), &Finding> = findings
        .iter()
        .map(|f| ((f.rule, &f.resource), f))
        .collect();
    let mut cols: [Vec<&str>; 6] = Default::default();
    for f in unique.values() {
        cols[0].push(f.rule);
        cols[1].push(&f.resource.namespace);
        cols[2].push(&f.resource.kind);
        cols[3].push(&f.resource.name);
        cols[4].push(f.severity.as_str());
        cols[5].push(&f.message);
    }
    let mut tx = store
        .pool()
        .begin()
        .await
        .map_err(Error::store("begin the alert transaction"))?;
    // Inserted rows are new alerts; an open one is updated only when its words changed.
    let upserted: Vec<(bool, Alert)> = sqlx::query_as::<_, FiredRow>(sqlx::AssertSqlSafe(format!(
        "INSERT INTO alerts AS a (rule, resource_namespace, resource_kind, resource_name, \
                               severity, message, fired_at) \
         SELECT r, ns, k, n, sev, msg, $7 \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) \
              AS f(r, ns, k, n, sev, msg) \
         ON CONFLICT (rule, resource_namespace, resource_kind, resource_name) \
              WHERE state <> 'resolved' \
         DO UPDATE SET severity = EXCLUDED.severity, message = EXCLUDED.message \
              WHERE (a.severity, a.message) IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.message) \
         RETURNING (xmax = 0) AS inserted, {COLUMNS}"
    )))
    .bind(&cols[0])
    .bind(&cols[1])
    .bind(&cols[2])
    .bind(&cols[3])
    .bind(&cols[4])
    .bind(&cols[5])
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(Error::store("fire alerts"))?
    .into_iter()
    .map(|r| (r.inserted, r.alert))
    .collect();
    let resolved: Vec<Alert> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts a SET state = 'resolved', resolved_at = greatest($1, a.fired_at) \
         WHERE a.state <> 'resolved' AND a.rule = ANY($2) \
           AND ($3::text IS NULL OR a.resource_namespace IN ($3, '')) \
           AND NOT EXISTS ( \
             SELECT 1 FROM unnest($4::text[], $5::text[], $6::text[], $7::text[]) AS f(r, ns, k, n) \
             WHERE f.r = a.rule AND f.ns = a.resource_namespace AND f.k = a.resource_kind \
               AND f.n = a.resource_name) \
         RETURNING {COLUMNS}"
    )))
    .bind(now)
    .bind(evaluated)
    .bind(scope)
    .bind(&cols[0])
    .bind(&cols[1])
    .bind(&cols[2])
    .bind(&cols[3])
    .fetch_all(&mut *tx)
    .await
    .map_err(Error::store("resolve alerts"))?;
    tx.commit()
        .await
        .map_err(Error::store("commit the alert transaction"))?;
    Ok(Transitions {
        fired: upserted
            .into_iter()
            .filter_map(|(inserted, a)| inserted.then_some(a))
            .collect(),
        resolved,
    })
}

#[derive(sqlx::FromRow)]
struct FiredRow {
    inserted: bool,
    #[sqlx(flatten)]
    alert: Alert,
}

/// A page of alerts, newest first.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Alert>,
    /// The id to continue below, when there is more.
    pub next: Option<i64>,
}

/// What to list.
#[derive(Debug, Default)]
pub struct Filter {
    pub state: Option<AlertState>,
    /// Only these namespaces (`""` is the provider alerts'); `None` is every namespace.
    pub namespaces: Option<Vec<String>>,
    pub limit: u32,
    /// Only alerts with a smaller id (keyset pagination).
    pub before: Option<i64>,
}

/// Lists alerts, newest first.
pub async fn list(store: &Store, filter: &Filter) -> Result<Page> {
    let limit = i64::from(filter.limit.max(1));
    let mut items: Vec<Alert> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts \
         WHERE ($1::text IS NULL OR state = $1) \
           AND ($2::text[] IS NULL OR resource_namespace = ANY($2)) \
           AND ($3::bigint IS NULL OR id < $3) \
         ORDER BY id DESC LIMIT $4"
    )))
    .bind(filter.state.map(AlertState::as_str))
    .bind(filter.namespaces.as_deref())
    .bind(filter.before)
    .bind(limit + 1)
    .fetch_all(store.pool())
    .await
    .map_err(Error::store("list alerts"))?;
    let more = items.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = if more {
        items.last().map(|a| a.id)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// The namespaces that have alerts (`""` for provider alerts).
pub async fn namespaces(store: &Store) -> Result<Vec<String>> {
    // A loose index scan over alerts_by_namespace: one index probe per namespace, however
    // long the history (plain DISTINCT reads every row).
    sqlx::query_scalar(
        "WITH RECURSIVE ns(n) AS ( \
           (SELECT resource_namespace FROM alerts ORDER BY resource_namespace LIMIT 1) \
           UNION ALL \
           SELECT (SELECT resource_namespace FROM alerts WHERE resource_namespace > ns.n \
                   ORDER BY resource_namespace LIMIT 1) \
           FROM ns WHERE ns.n IS NOT NULL) \
         SELECT n FROM ns WHERE n IS NOT NULL",
    )
    .fetch_all(store.pool())
    .await
    .map_err(Error::store("list the namespaces with alerts"))
}

/// One alert.
pub async fn get(store: &Store, id: i64) -> Result<Option<Alert>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(store.pool())
    .await
    .map_err(Error::store("read an alert"))
}

/// How an acknowledgement ended.
#[derive(Debug)]
pub enum Ack {
    /// Acknowledged now, or already before (the first acknowledgement is kept).
    Done(Alert),
    /// It resolved first.
    Resolved(Alert),
    NotFound,
}

/// Acknowledges a firing alert as `by`.
pub async fn acknowledge(store: &Store, id: i64, by: &str, now: DateTime<Utc>) -> Result<Ack> {
    let updated: Option<Alert> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE alerts SET state = 'acknowledged', acknowledged_at = greatest($2, fired_at), \
                acknowledged_by = $3 \
         WHERE id = $1 AND state = 'firing' RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(now)
    .bind(by)
    .fetch_optional(store.pool())
    .await
    .map_err(Error::store("acknowledge an alert"))?;
    if let Some(a) = updated {
        return Ok(Ack::Done(a));
    }
    Ok(match get(store, id).await? {
        None => Ack::NotFound,
        Some(a) if a.state == AlertState::Resolved.as_str() => Ack::Resolved(a),
        Some(a) => Ack::Done(a),
    })
}

/// Every open (firing or acknowledged) alert: for the gauges and the Deployments' conditions.
pub async fn open(store: &Store) -> Result<Vec<Alert>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM alerts WHERE state <> 'resolved'"
    )))
    .fetch_all(store.pool())
    .await
    .map_err(Error::store("list open alerts"))
}
