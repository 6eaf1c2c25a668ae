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

/// Where each window of [`WINDOWS`] starts reading minute and hour rows as of `now`: minute
/// rows from `minute_from` to `now`, hour rows from `hour_from` to the current hour (`None`
/// for windows read from minute rows only).
struct Spans {
    now: DateTime<Utc>,
    this_hour: DateTime<Utc>,
    /// Per window: (window, minute_from, hour_from).
    windows: Vec<(Duration, DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// The distinct `minute_from` and `hour_from` values, ascending: the bounds of the
    /// disjoint segments each row is read into once.
    minute_bounds: Vec<DateTime<Utc>>,
    hour_bounds: Vec<DateTime<Utc>>,
}

impl Spans {
    fn at(now: DateTime<Utc>) -> Self {
        let this_hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
        let windows: Vec<_> = WINDOWS
            .iter()
            .map(|&w| {
                let span = TimeDelta::from_std(w).unwrap_or(TimeDelta::MAX);
                if w <= MINUTE_ROWS_UP_TO {
                    (w, now - span, None)
                } else {
                    let start = (now - span)
                        .duration_trunc(TimeDelta::hours(1))
                        .unwrap_or(now - span);
                    (w, this_hour, Some(start))
                }
            })
            .collect();
        let sorted = |mut v: Vec<DateTime<Utc>>| {
            v.sort_unstable();
            v.dedup();
            v
        };
        Self {
            now,
            this_hour,
            minute_bounds: sorted(windows.iter().map(|w| w.1).collect()),
            hour_bounds: sorted(windows.iter().filter_map(|w| w.2).collect()),
            windows,
        }
    }
}

/// Reads the counts of every window in [`WINDOWS`] for `targets` as of `now`.
///
/// The windows overlap (the 6 h one holds the 2 h one, which holds the 1 h one...), so rather
/// than reading the rows of each window (every recent minute row several times over, and for
/// 1,000 targets seconds of database time per evaluation pass), each row is read once into
/// the disjoint segment between two consecutive window starts, and a window adds up the
/// segments from its start on.
pub async fn read_windows(
    store: &Store,
    targets: &[String],
    now: DateTime<Utc>,
) -> Result<WindowCounts> {
    if targets.is_empty() {
        return Ok(HashMap::new());
    }
    let spans = Spans::at(now);
    let histogram: Vec<String> = (1..=11)
        .map(|i| format!("coalesce(sum(r.latency_histogram[{i}]), 0)::bigint"))
        .collect();
    // width_bucket: how many of the (ascending) bounds are at or before the bucket start, so
    // segment i (1-based) starts at bounds[i].
    let sql = format!(
        "SELECT r.target, r.resolution = 'hour', \
                width_bucket(r.bucket_start, CASE WHEN r.resolution = 'hour' THEN $3 ELSE $2 END), \
                sum(r.count)::bigint, sum(r.failures)::bigint, ARRAY[{}] \
         FROM probe_rollups r \
         WHERE r.target = ANY($5) AND ( \
              (r.resolution = 'minute' AND r.bucket_start >= $2[1] AND r.bucket_start < $1) \
           OR (r.resolution = 'hour' AND r.bucket_start >= $3[1] AND r.bucket_start < $4)) \
         GROUP BY 1, 2, 3",
        histogram.join(", ")
    );
    let rows: Vec<(String, bool, i32, i64, i64, Vec<i64>)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(spans.now)
            .bind(&spans.minute_bounds)
            .bind(&spans.hour_bounds)
            .bind(spans.this_hour)
            .bind(targets)
            .fetch_all(store.pool())
            .await
            .map_err(Error::store(
                "read the probe rollups of the burn-rate windows",
            ))?;
    // Per target, the segments read: (hourly, segment) to counts.
    let mut segments: HashMap<String, HashMap<(bool, usize), Counts>> = HashMap::new();
    for (target, hourly, segment, count, failures, hist) in rows {
        let mut histogram = [0i64; 11];
        for (slot, v) in histogram.iter_mut().zip(hist) {
            *slot = v;
        }
        let segment = usize::try_from(segment).unwrap_or(0);
        segments.entry(target).or_default().insert(
            (hourly, segment),
            Counts {
                count,
                failures,
                histogram,
            },
        );
    }
    Ok(segments
        .into_iter()
        .map(|(target, segments)| (target, spans.windows_of(&segments)))
        .collect())
}

impl Spans {
    /// The windows of one target from its segments; a window none of whose segments has rows
    /// is left out, as when it was read on its own.
    fn windows_of(&self, segments: &HashMap<(bool, usize), Counts>) -> HashMap<Duration, Counts> {
        // The 1-based segment a bound starts.
        let first = |bounds: &[DateTime<Utc>], from: DateTime<Utc>| {
            bounds.partition_point(|b| *b < from) + 1
        };
        let mut out = HashMap::new();
        for &(window, minute_from, hour_from) in &self.windows {
            let minute_first = first(&self.minute_bounds, minute_from);
            let hour_first = hour_from.map(|h| first(&self.hour_bounds, h));
            let mut total: Option<Counts> = None;
            for (&(hourly, segment), c) in segments {
                let within = if hourly {
                    hour_first.is_some_and(|f| segment >= f)
                } else {
                    segment >= minute_first
                };
                if within {
                    let t = total.get_or_insert_with(Counts::default);
                    t.count += c.count;
                    t.failures += c.failures;
                    for (a, b) in t.histogram.iter_mut().zip(c.histogram) {
                        *a += b;
                    }
                }
            }
            if let Some(t) = total {
                out.insert(window, t);
            }
        }
        out
    }
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
