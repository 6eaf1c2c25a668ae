//! The SLO rules of Deployments: their objectives (from `spec.slo` or the defaults), the probe
//! counts of every burn-rate window read from `probe_rollups` in one query, and the findings.
//!
//! Windows up to 6 hours add up minute rows; longer ones add up the whole hours before the
//! current one from hour rows plus the current hour's minute rows, so a window is exact to the
//! minute at its end and may reach back up to an hour further at its start. Rows at or after
//! `now` are ignored (the simulated clock of tests, and clock skew).

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use kube::ResourceExt;

use super::{
    Error, Finding, Resource, Result, Severity,
    burn_rate::{self, Burning, Counts, Sli, Tier, WINDOWS},
};
use crate::{
    api::{Deployment, common::parse_duration, deployment::DeploymentSpec},
    store::Store,
};

/// Availability burning its budget within hours.
pub const AVAILABILITY_PAGE: &str = "slo-availability-page";
/// Availability burning its budget within days.
pub const AVAILABILITY_TICKET: &str = "slo-availability-ticket";
/// Latency burning its budget within hours.
pub const LATENCY_PAGE: &str = "slo-latency-page";
/// Latency burning its budget within days.
pub const LATENCY_TICKET: &str = "slo-latency-ticket";
/// Every rule of this module.
pub const RULES: [&str; 4] = [
    AVAILABILITY_PAGE,
    AVAILABILITY_TICKET,
    LATENCY_PAGE,
    LATENCY_TICKET,
];

/// The latency objective is a p95: 5 % of probes may be slower.
const LATENCY_BUDGET: f64 = 0.05;
/// Longest window served from minute rows.
const MINUTE_ROWS_UP_TO: Duration = Duration::from_secs(6 * 3600);

/// A Deployment's objectives, as numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objectives {
    /// `1 − uptimeTarget/100`.
    pub availability_budget: f64,
    pub latency_threshold_ms: f64,
    pub window: Duration,
}

impl Objectives {
    /// From `spec.slo`; a value admission let through but that cannot be read takes its default.
    #[must_use]
    pub fn of(spec: &DeploymentSpec) -> Self {
        let slo = spec.slo.clone().unwrap_or_default();
        let target = parse_target(&slo.uptime_target).unwrap_or(99.5);
        let latency = parse_duration(&slo.latency_p95).unwrap_or(Duration::from_secs(2));
        let window = parse_days(&slo.window).unwrap_or(Duration::from_secs(30 * 86_400));
        Self {
            availability_budget: 1.0 - target / 100.0,
            latency_threshold_ms: latency.as_secs_f64() * 1000.0,
            window,
        }
    }
}

fn parse_target(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|t| *t > 0.0 && *t < 100.0)
}

fn parse_days(text: &str) -> Option<Duration> {
    let days: u64 = text.strip_suffix('d')?.parse().ok()?;
    (days > 0).then(|| Duration::from_secs(days * 86_400))
}

/// The probe target of a Deployment, as the probes name it.
#[must_use]
pub fn target(namespace: &str, name: &str) -> String {
    format!("{namespace}/Deployment/{name}")
}

/// Counts per window, per target.
pub type WindowCounts = HashMap<String, HashMap<Duration, Counts>>;

/// Reads the counts of every window in [`WINDOWS`] for `targets` as of `now`.
pub async fn read_windows(
    store: &Store,
    targets: &[String],
    now: DateTime<Utc>,
) -> Result<WindowCounts> {
    if targets.is_empty() {
        return Ok(HashMap::new());
    }
    let this_hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
    let (mut secs, mut hour_from, mut hour_to, mut minute_from) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for w in WINDOWS {
        let span = TimeDelta::from_std(w).unwrap_or(TimeDelta::MAX);
        secs.push(i64::try_from(w.as_secs()).unwrap_or(i64::MAX));
        if w <= MINUTE_ROWS_UP_TO {
            hour_from.push(now);
            hour_to.push(now);
            minute_from.push(now - span);
        } else {
            let start = (now - span)
                .duration_trunc(TimeDelta::hours(1))
                .unwrap_or(now - span);
            hour_from.push(start);
            hour_to.push(this_hour);
            minute_from.push(this_hour);
        }
    }
    let histogram: Vec<String> = (1..=11)
        .map(|i| format!("coalesce(sum(r.latency_histogram[{i}]), 0)::bigint"))
        .collect();
    let sql = format!(
        "SELECT r.target, w.secs, sum(r.count)::bigint, sum(r.failures)::bigint, ARRAY[{}] \
         FROM unnest($2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[]) \
              AS w(secs, hour_from, hour_to, minute_from) \
         JOIN probe_rollups r ON r.target = ANY($6) AND ( \
              (r.resolution = 'hour' AND r.bucket_start >= w.hour_from AND r.bucket_start < w.hour_to) \
           OR (r.resolution = 'minute' AND r.bucket_start >= w.minute_from AND r.bucket_start < $1)) \
         GROUP BY r.target, w.secs",
        histogram.join(", ")
    );
    let rows: Vec<(String, i64, i64, i64, Vec<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(&secs)
        .bind(&hour_from)
        .bind(&hour_to)
        .bind(&minute_from)
        .bind(targets)
        .fetch_all(store.pool())
        .await
        .map_err(Error::store(
            "read the probe rollups of the burn-rate windows",
        ))?;
    let mut out: WindowCounts = HashMap::new();
    for (target, secs, count, failures, hist) in rows {
        let mut histogram = [0i64; 11];
        for (slot, v) in histogram.iter_mut().zip(hist) {
            *slot = v;
        }
        let window = Duration::from_secs(u64::try_from(secs).unwrap_or(0));
        out.entry(target).or_default().insert(
            window,
            Counts {
                count,
                failures,
                histogram,
            },
        );
    }
    Ok(out)
}

/// The SLO findings of `deployments` from their window counts.
#[must_use]
pub fn findings(deployments: &[std::sync::Arc<Deployment>], counts: &WindowCounts) -> Vec<Finding> {
    let empty = HashMap::new();
    let mut out = Vec::new();
    for d in deployments {
        let (ns, name) = (d.namespace().unwrap_or_default(), d.name_any());
        let windows = counts.get(&target(&ns, &name)).unwrap_or(&empty);
        let objectives = Objectives::of(&d.spec);
        let lookup = |w: Duration| windows.get(&w).cloned();
        let resource = Resource::object(&ns, "Deployment", &name);
        let availability = Sli::Availability;
        let latency = Sli::Latency {
            threshold_ms: objectives.latency_threshold_ms,
        };
        for (rule, sli, budget, tier) in [
            (
                AVAILABILITY_PAGE,
                availability,
                objectives.availability_budget,
                Tier::Page,
            ),
            (
                AVAILABILITY_TICKET,
                availability,
                objectives.availability_budget,
                Tier::Ticket,
            ),
            (LATENCY_PAGE, latency, LATENCY_BUDGET, Tier::Page),
            (LATENCY_TICKET, latency, LATENCY_BUDGET, Tier::Ticket),
        ] {
            if let Some(b) = burn_rate::evaluate(tier, sli, budget, objectives.window, lookup) {
                out.push(Finding {
                    rule,
                    resource: resource.clone(),
                    severity: match tier {
                        Tier::Page => Severity::Critical,
                        Tier::Ticket => Severity::Warning,
                    },
                    message: message(&sli, &objectives, &b),
                });
            }
        }
    }
    out
}

fn message(sli: &Sli, o: &Objectives, b: &Burning) -> String {
    let what = match sli {
        Sli::Availability => format!(
            "availability SLO ({}% over {})",
            trim(100.0 * (1.0 - o.availability_budget)),
            burn_rate::short_duration(o.window)
        ),
        Sli::Latency { threshold_ms } => format!(
            "latency SLO (p95 under {}ms over {})",
            trim(*threshold_ms),
            burn_rate::short_duration(o.window)
        ),
    };
    format!(
        "{what}: error budget burning at {:.1}x over {} and {:.1}x over {} (threshold {}x)",
        b.long_rate,
        burn_rate::short_duration(b.pair.long),
        b.short_rate,
        burn_rate::short_duration(b.pair.short),
        trim(b.threshold),
    )
}

/// `99.5`, `14.4`, `2000`: a number without float noise.
fn trim(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(slo: &str) -> DeploymentSpec {
        serde_yaml::from_str(&format!(
            "environmentRef: {{name: prod}}\nservice: {{vercel: {{project: web}}}}\nsource: {{repo: a/b, commit: abcdef1}}\n{slo}"
        ))
        .unwrap()
    }

    // Protects: no spec.slo means 99.5 % and 2 s over 30 days; a declared one is read as written.
    #[test]
    fn objectives_default_and_parse() {
        let d = Objectives::of(&spec(""));
        assert!((d.availability_budget - 0.005).abs() < 1e-12);
        assert!((d.latency_threshold_ms - 2000.0).abs() < 1e-9);
        assert_eq!(d.window, Duration::from_secs(30 * 86_400));
        let s = Objectives::of(&spec(
            "slo: {uptimeTarget: \"99.95\", latencyP95: 750ms, window: 7d}",
        ));
        assert!((s.availability_budget - 0.0005).abs() < 1e-12);
        assert!((s.latency_threshold_ms - 750.0).abs() < 1e-9);
        assert_eq!(s.window, Duration::from_secs(7 * 86_400));
    }

    #[test]
    fn numbers_print_without_noise() {
        assert_eq!(trim(99.5), "99.5");
        assert_eq!(trim(14.400_000_000_000_002), "14.4");
        assert_eq!(trim(2000.0), "2000");
    }
}
