//! Webhook notifications: receivers from a Secret, a Slack-compatible or a generic JSON payload,
//! retries with backoff, and a delivery record per alert, receiver and event
//! (`alert_notifications`) so each receiver hears once that an alert fired and once that it
//! resolved.
//!
//! The receivers Secret has one key per receiver (the key is its name) whose value is JSON or
//! YAML: `{"url": "https://hooks.slack.com/…", "format": "slack"}` (`format`: `slack` or
//! `json`, default `json`). URLs are credentials (a Slack webhook URL is its own token): they
//! are held as [`Secret`] and appear in no log, error or record, only receiver names do.
//!
//! What is owed to a receiver: `firing` for every open alert it has not been told about, and
//! `resolved` for every alert resolved within [`RESOLVED_HORIZON`] that it was told (or tried
//! to be told) fired. A receiver added later hears about the alerts open at that time. A send
//! that fails after its retries is tried again in later passes, backing off up to an hour.
//! Delivery is at least once: a crash between a receiver's 2xx and the record repeats it.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Error, Result,
    lifecycle::{Alert, COLUMNS},
    metrics::AlertMetrics,
};
use crate::{providers::http::Secret, store::Store};

/// How long after resolving an alert its resolve notification is still owed.
pub const RESOLVED_HORIZON: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// Sends in flight at once.
const CONCURRENCY: usize = 8;
/// Alerts handled per receiver and pass; the rest wait for the next pass.
const BATCH: i64 = 200;

/// A payload format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{"text": …, "blocks": […]}`, accepted by Slack incoming webhooks and the many
    /// services that copy them (Mattermost, Rocket.Chat, Discord's `/slack` endpoint).
    Slack,
    /// `{"event", "alert": {…}, "summary"}` with every field of the alert.
    #[default]
    Json,
}

/// One webhook receiver.
pub struct Receiver {
    pub name: String,
    pub url: Secret,
    pub format: Format,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiverSpec {
    url: String,
    #[serde(default)]
    format: Format,
}

/// The receivers in a Secret's data, sorted by name, and a message per unusable key (naming the
/// key, never quoting its value).
#[must_use]
pub fn parse_receivers(data: &BTreeMap<String, Vec<u8>>) -> (Vec<Receiver>, Vec<String>) {
    let mut receivers = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in data {
        let spec = std::str::from_utf8(value)
            .ok()
            .and_then(|text| serde_yaml::from_str::<ReceiverSpec>(text).ok());
        let Some(spec) = spec else {
            problems.push(format!(
                "receiver {name:?}: expected {{url, format: slack|json}} as JSON or YAML"
            ));
            continue;
        };
        match url::Url::parse(&spec.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => receivers.push(Receiver {
                name: name.clone(),
                url: Secret::new(spec.url),
                format: spec.format,
            }),
            _ => problems.push(format!("receiver {name:?}: url must be an http(s) URL")),
        }
    }
    (receivers, problems)
}

/// Which notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Firing,
    Resolved,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// The body sent to a receiver.
#[must_use]
pub fn payload(format: Format, event: Event, alert: &Alert) -> Value {
    let resource = alert.resource();
    let summary = match event {
        Event::Firing => format!(
            "[FIRING {}] {} on {resource}: {}",
            alert.severity, alert.rule, alert.message
        ),
        // The stored message is the last evaluation that fired, not the one that cleared it.
        Event::Resolved => format!(
            "[RESOLVED] {} on {resource}; last seen firing: {}",
            alert.rule, alert.message
        ),
    };
    match format {
        Format::Json => json!({
            "version": "1",
            "event": event.as_str(),
            "summary": summary,
            "alert": alert,
        }),
        Format::Slack => {
            let icon = match event {
                Event::Firing if alert.severity == "critical" => ":rotating_light:",
                Event::Firing => ":warning:",
                Event::Resolved => ":white_check_mark:",
            };
            json!({
                "text": format!("{icon} {summary}"),
                "blocks": [{
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": format!(
                        "{icon} *{}* `{}` on `{resource}`\n{}\nalert {} · fired {}",
                        event.as_str().to_uppercase(), alert.rule, alert.message, alert.id,
                        alert.fired_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    )},
                }],
            })
        }
    }
}

/// How sends are retried within one pass.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts per send, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubles after each.
    pub backoff: Duration,
    /// Per-attempt time-out.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Sends what is owed to the receivers.
pub struct Notifier {
    http: reqwest::Client,
    retry: RetryPolicy,
}

/// What one delivery pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub failed: usize,
}

struct Owed {
    alert: Alert,
    firing_sent: bool,
    attempts: i32,
    last_attempt: Option<DateTime<Utc>>,
}

impl Notifier {
    /// A notifier with `retry`.
    pub fn new(retry: RetryPolicy) -> Result<Self, reqwest::Error> {
        Ok(Self {
            // No redirects: a webhook that moves is a configuration error, not a hop to follow.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(retry.timeout)
                .build()?,
            retry,
        })
    }

    /// Sends every owed notification to `receivers` and records each outcome.
    pub async fn deliver(
        &self,
        store: &Store,
        receivers: &[Receiver],
        metrics: &AlertMetrics,
        now: DateTime<Utc>,
    ) -> Result<Delivered> {
        let mut work = Vec::new();
        for r in receivers {
            for owed in owed(store, &r.name, now).await? {
                if due(&owed, now) {
                    work.push((r, owed));
                }
            }
        }
        // Built up front: a stream combinator's closure over borrowed data is not `Send`
        // enough for tokio::spawn (a higher-ranked lifetime limitation of rustc).
        let sends: Vec<_> = work
            .into_iter()
            .map(|(r, owed)| self.settle(store, r, owed, metrics, now))
            .collect();
        let outcomes: Vec<Result<(usize, usize)>> = futures::stream::iter(sends)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut total = Delivered::default();
        for o in outcomes {
            let (sent, failed) = o?;
            total.sent += sent;
            total.failed += failed;
        }
        Ok(total)
    }

    /// Sends `firing` (unless already sent) and then, for a resolved alert, `resolved`.
    async fn settle(
        &self,
        store: &Store,
        r: &Receiver,
        owed: Owed,
        metrics: &AlertMetrics,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize)> {
        let mut events = Vec::new();
        if !owed.firing_sent {
            events.push(Event::Firing);
        }
        if owed.alert.state == "resolved" {
            events.push(Event::Resolved);
        }
        let (mut sent, mut failed) = (0, 0);
        for event in events {
            let (attempts, outcome) = self.send(r, &payload(r.format, event, &owed.alert)).await;
            record(
                store,
                owed.alert.id,
                &r.name,
                event,
                attempts,
                &outcome,
                now,
            )
            .await?;
            metrics.notification(&r.name, event.as_str(), outcome.is_ok());
            match outcome {
                Ok(()) => sent += 1,
                Err(why) => {
                    tracing::warn!(receiver = %r.name, alert = owed.alert.id, event = event.as_str(), error = %why, "alert notification not delivered");
                    failed += 1;
                    // Never `resolved` before `firing` got through.
                    break;
                }
            }
        }
        Ok((sent, failed))
    }

    /// POSTs `body`, retrying 5xx, 429, time-outs and transport errors with doubling waits.
    /// Returns the attempts made and, on failure, why (without the URL).
    async fn send(&self, r: &Receiver, body: &Value) -> (i32, Result<(), String>) {
        let mut wait = self.retry.backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.http.post(r.url.expose()).json(body).send().await;
            let (retryable, why) = match result {
                Ok(resp) if resp.status().is_success() => return (attempt, Ok(())),
                Ok(resp) => {
                    let s = resp.status();
                    (
                        s.is_server_error() || s.as_u16() == 429,
                        format!("answered {s}"),
                    )
                }
                // The URL is a credential: drop it from the error before it is shown anywhere.
                Err(e) => (true, e.without_url().to_string()),
            };
            let out_of_attempts = u32::try_from(attempt).unwrap_or(u32::MAX) >= self.retry.attempts;
            if !retryable || out_of_attempts {
                return (attempt, Err(why));
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
}

/// Whether an owed notification that failed before has waited long enough: 30 s, doubling with
/// each failed attempt so far, at most an hour.
fn due(owed: &Owed, now: DateTime<Utc>) -> bool {
    let Some(last) = owed.last_attempt else {
        return true;
    };
    let passes = u32::try_from(owed.attempts.max(1)).unwrap_or(1).min(7);
    let wait =
        chrono::TimeDelta::seconds(30 * 2i64.pow(passes - 1)).min(chrono::TimeDelta::hours(1));
    now - last >= wait
}

#[derive(sqlx::FromRow)]
struct OwedRow {
    #[sqlx(flatten)]
    alert: Alert,
    firing_sent: bool,
    attempts: i32,
    last_attempt: Option<DateTime<Utc>>,
}

/// What `receiver` is owed, oldest alert first.
async fn owed(store: &Store, receiver: &str, now: DateTime<Utc>) -> Result<Vec<Owed>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("a.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<OwedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {cols}, f.delivered_at IS NOT NULL AS firing_sent, \
                coalesce(CASE WHEN f.delivered_at IS NULL THEN f.attempts ELSE r.attempts END, 0) AS attempts, \
                CASE WHEN f.delivered_at IS NULL THEN f.last_attempt_at ELSE r.last_attempt_at END AS last_attempt \
         FROM alerts a \
         LEFT JOIN alert_notifications f ON f.alert_id = a.id AND f.receiver = $1 AND f.event = 'firing' \
         LEFT JOIN alert_notifications r ON r.alert_id = a.id AND r.receiver = $1 AND r.event = 'resolved' \
         WHERE (a.state <> 'resolved' AND f.delivered_at IS NULL) \
            OR (a.state = 'resolved' AND a.resolved_at >= $2 AND f.alert_id IS NOT NULL \
                AND r.delivered_at IS NULL) \
         ORDER BY a.id LIMIT $3"
    )))
    .bind(receiver)
    .bind(now - RESOLVED_HORIZON)
    .bind(BATCH)
    .fetch_all(store.pool())
    .await
    .map_err(Error::store("read the notifications owed"))?;
    Ok(rows
        .into_iter()
        .map(|r| Owed {
            alert: r.alert,
            firing_sent: r.firing_sent,
            attempts: r.attempts,
            last_attempt: r.last_attempt,
        })
        .collect())
}

async fn record(
    store: &Store,
    alert: i64,
    receiver: &str,
    event: Event,
    attempts: i32,
    outcome: &Result<(), String>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_notifications \
           (alert_id, receiver, event, attempts, last_attempt_at, delivered_at, last_error) \
         VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN $5 END, $7) \
         ON CONFLICT (alert_id, receiver, event) DO UPDATE SET \
           attempts = alert_notifications.attempts + EXCLUDED.attempts, \
           last_attempt_at = EXCLUDED.last_attempt_at, \
           delivered_at = coalesce(alert_notifications.delivered_at, EXCLUDED.delivered_at), \
           last_error = EXCLUDED.last_error",
    )
    .bind(alert)
    .bind(receiver)
    .bind(event.as_str())
    .bind(attempts)
    .bind(now)
    .bind(outcome.is_ok())
    .bind(outcome.as_ref().err())
    .execute(store.pool())
    .await
    .map_err(Error::store("record a notification"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> Alert {
        Alert {
            id: 7,
            rule: "slo-availability-page".into(),
            namespace: "shop".into(),
            kind: "Deployment".into(),
            name: "api".into(),
            severity: "critical".into(),
            state: "firing".into(),
            fired_at: "2030-06-01T12:00:00Z".parse().unwrap(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            message: "budget burning".into(),
        }
    }

    // Protects: receivers parse from JSON or YAML; bad ones are named without their value.
    #[test]
    fn receivers_parse_and_bad_ones_are_named_not_quoted() {
        let data: BTreeMap<String, Vec<u8>> = [
            (
                "ops".to_string(),
                br#"{"url": "https://hooks.test/T0/s3cret", "format": "slack"}"#.to_vec(),
            ),
            ("audit".to_string(), b"url: http://127.0.0.1:9/x\n".to_vec()),
            (
                "typo".to_string(),
                b"{\"url\": \"https://hooks.test/s3cret\", \"format\": \"slak\"}".to_vec(),
            ),
            (
                "ftp".to_string(),
                b"url: ftp://hooks.test/s3cret\n".to_vec(),
            ),
        ]
        .into();
        let (ok, bad) = parse_receivers(&data);
        let names: Vec<_> = ok.iter().map(|r| (r.name.as_str(), r.format)).collect();
        assert_eq!(names, [("audit", Format::Json), ("ops", Format::Slack)]);
        assert_eq!(bad.len(), 2);
        for text in bad.iter().chain([&format!("{ok:?}")]) {
            assert!(!text.contains("s3cret"), "{text}");
        }
    }

    // Protects: the two payload shapes: Slack's `text` (+ blocks) and the full JSON alert.
    #[test]
    fn payloads_have_the_documented_shapes() {
        let slack = payload(Format::Slack, Event::Firing, &alert());
        let text = slack["text"].as_str().unwrap();
        assert!(
            text.contains("[FIRING critical] slo-availability-page on shop/Deployment/api"),
            "{text}"
        );
        assert_eq!(slack["blocks"][0]["type"], "section");
        let json = payload(Format::Json, Event::Resolved, &alert());
        assert_eq!(json["event"], "resolved");
        assert_eq!(json["alert"]["id"], 7);
        assert_eq!(json["alert"]["firedAt"], "2030-06-01T12:00:00Z");
    }

    // Protects: a failing receiver is retried in later passes with growing waits, capped.
    #[test]
    fn failed_sends_back_off_between_passes() {
        let now: DateTime<Utc> = "2030-06-01T12:00:00Z".parse().unwrap();
        let owed = |attempts, ago: i64| Owed {
            alert: alert(),
            firing_sent: false,
            attempts,
            last_attempt: Some(now - chrono::TimeDelta::seconds(ago)),
        };
        assert!(due(
            &Owed {
                last_attempt: None,
                ..owed(0, 0)
            },
            now
        ));
        assert!(!due(&owed(1, 10), now));
        assert!(due(&owed(1, 30), now));
        assert!(!due(&owed(3, 100), now));
        assert!(due(&owed(3, 120), now));
        assert!(due(&owed(40, 3600), now));
    }
}
