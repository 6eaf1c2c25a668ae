//! The per-provider circuit breaker: after `failure_threshold` consecutive transient failures
//! the circuit opens and calls fail fast; after `cool_down` one probe is let through
//! (half-open); its success closes the circuit, its failure opens it again.
//!
//! ```text
//!   closed ──N failures──► open ──cool-down──► half-open ──probe ok──► closed
//!                           ▲                      │
//!                           └─────probe fails──────┘
//! ```

use std::time::{Duration, Instant};

/// Thresholds of a circuit.
#[derive(Clone, Copy, Debug)]
pub struct CircuitConfig {
    /// Consecutive transient failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before a probe.
    pub cool_down: Duration,
}

impl Default for CircuitConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The state names reported in `/health/detailed` and the metrics gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    /// The gauge value: 0 closed, 1 half-open, 2 open.
    #[must_use]
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

/// A point-in-time view for health reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitSnapshot {
    pub state: CircuitState,
    pub consecutive_failures: u32,
    /// While open: milliseconds until a probe is allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
}

/// How an attempt ended, as far as the provider's health goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The provider answered (any 2xx, and 4xx other than 429: it is up, we were wrong).
    Healthy,
    /// 5xx, time-out or transport error.
    Failing,
    /// 429: the provider is up but busy; says nothing about health.
    Neutral,
}

#[derive(Debug)]
enum Phase {
    Closed,
    Open { until: Instant },
    // `probe_since` bounds a probe whose future was dropped: after a cool-down another may go.
    HalfOpen { probe_since: Instant },
}

/// The breaker; pure, with the time passed in.
#[derive(Debug)]
pub struct Circuit {
    config: CircuitConfig,
    phase: Phase,
    failures: u32,
}

impl Circuit {
    #[must_use]
    pub fn new(config: CircuitConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed,
            failures: 0,
        }
    }

    /// Whether a call may go now; `Err` carries how long until one may.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.phase {
            Phase::Closed => Ok(()),
            Phase::Open { until } if now >= until => {
                self.phase = Phase::HalfOpen { probe_since: now };
                Ok(())
            }
            Phase::Open { until } => Err(until - now),
            Phase::HalfOpen { probe_since } => {
                let next = probe_since + self.config.cool_down;
                if now >= next {
                    self.phase = Phase::HalfOpen { probe_since: now };
                    Ok(())
                } else {
                    Err(next - now)
                }
            }
        }
    }

    /// Records the outcome of an admitted call.
    pub fn record(&mut self, now: Instant, verdict: Verdict) {
        match verdict {
            Verdict::Healthy => {
                self.failures = 0;
                self.phase = Phase::Closed;
            }
            Verdict::Failing => {
                self.failures = self.failures.saturating_add(1);
                let trips = match self.phase {
                    Phase::Closed => self.failures >= self.config.failure_threshold,
                    Phase::HalfOpen { .. } | Phase::Open { .. } => true,
                };
                if trips {
                    self.phase = Phase::Open {
                        until: now + self.config.cool_down,
                    };
                }
            }
            Verdict::Neutral => {
                // A busy probe proves nothing: let the next call probe again at once.
                if let Phase::HalfOpen { .. } = self.phase {
                    self.phase = Phase::Open { until: now };
                }
            }
        }
    }

    /// The state as reported.
    #[must_use]
    pub fn snapshot(&self, now: Instant) -> CircuitSnapshot {
        let (state, retry_in) = match self.phase {
            Phase::Closed => (CircuitState::Closed, None),
            Phase::Open { until } => (
                CircuitState::Open,
                Some(until.saturating_duration_since(now)),
            ),
            Phase::HalfOpen { .. } => (CircuitState::HalfOpen, None),
        };
        CircuitSnapshot {
            state,
            consecutive_failures: self.failures,
            retry_in_ms: retry_in.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuit() -> Circuit {
        Circuit::new(CircuitConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(10),
        })
    }

    // closed → open after N failures → half-open after the cool-down with one probe → closed.
    #[test]
    fn opens_after_n_failures_and_closes_after_a_good_probe() {
        let t0 = Instant::now();
        let mut c = circuit();
        for _ in 0..2 {
            c.admit(t0).unwrap();
            c.record(t0, Verdict::Failing);
        }
        assert_eq!(c.snapshot(t0).state, CircuitState::Closed);
        c.record(t0, Verdict::Failing);
        assert_eq!(c.snapshot(t0).state, CircuitState::Open);
        assert_eq!(
            c.admit(t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );

        let t1 = t0 + Duration::from_secs(10);
        assert!(c.admit(t1).is_ok(), "the probe goes");
        assert_eq!(c.snapshot(t1).state, CircuitState::HalfOpen);
        assert!(c.admit(t1).is_err(), "only one probe at a time");
        c.record(t1, Verdict::Healthy);
        assert_eq!(c.snapshot(t1).state, CircuitState::Closed);
        assert_eq!(c.snapshot(t1).consecutive_failures, 0);
    }

    // A failed probe re-opens for a full cool-down; a success in between resets the count.
    #[test]
    fn failed_probe_reopens_and_success_resets_the_count() {
        let t0 = Instant::now();
        let mut c = circuit();
        c.record(t0, Verdict::Failing);
        c.record(t0, Verdict::Failing);
        c.record(t0, Verdict::Healthy);
        c.record(t0, Verdict::Failing);
        assert_eq!(c.snapshot(t0).state, CircuitState::Closed);
        c.record(t0, Verdict::Failing);
        c.record(t0, Verdict::Failing);
        let t1 = t0 + Duration::from_secs(10);
        c.admit(t1).unwrap();
        c.record(t1, Verdict::Failing);
        assert_eq!(
            c.admit(t1 + Duration::from_secs(1)),
            Err(Duration::from_secs(9))
        );
    }

    // 429s neither trip the circuit nor count as health.
    #[test]
    fn rate_limits_are_neutral() {
        let t0 = Instant::now();
        let mut c = circuit();
        for _ in 0..10 {
            c.record(t0, Verdict::Neutral);
        }
        assert_eq!(c.snapshot(t0).state, CircuitState::Closed);
    }
}
