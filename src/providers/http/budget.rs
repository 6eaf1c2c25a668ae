//! The per-provider request budget: a token bucket shared by every clone of a client, so a
//! storm of reconciles cannot send more than the provider allows.
//!
//! A caller *reserves* a token: the bucket may go negative, and the deficit is the caller's
//! wait. Reservations are therefore served in arrival order without polling. A reservation
//! whose wait would exceed the caller's deadline is refused and not taken. A provider's
//! `Retry-After` can also [`TokenBucket::hold_until`] a moment, pausing every caller.

use std::time::{Duration, Instant};

/// Rate and burst of a budget.
#[derive(Clone, Copy, Debug)]
pub struct BudgetConfig {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests that may go at once after a quiet period.
    pub burst: u32,
    /// The longest a request waits for a token before failing with `RateLimited`.
    pub max_wait: Duration,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            per_second: 10.0,
            burst: 20,
            max_wait: Duration::from_secs(30),
        }
    }
}

/// The bucket; pure, with the time passed in.
#[derive(Debug)]
pub struct TokenBucket {
    config: BudgetConfig,
    tokens: f64,
    last: Instant,
    held_until: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket at `now`.
    #[must_use]
    pub fn new(config: BudgetConfig, now: Instant) -> Self {
        Self {
            config,
            tokens: f64::from(config.burst.max(1)),
            last: now,
            held_until: None,
        }
    }

    /// Takes a token and returns how long to wait before using it, or refuses with the wait
    /// it would have needed when that exceeds `max_wait`.
    pub fn reserve(&mut self, now: Instant) -> Result<Duration, Duration> {
        // While held, a reservation is made as of the hold's end: every request reserved
        // during the hold goes out after it, so the tokens it would have earned meanwhile
        // may not add to the burst (else the rate doubles right after a Retry-After).
        let at = self.held_until.map_or(now, |t| t.max(now));
        self.refill(at);
        let rate = self.config.per_second.max(f64::MIN_POSITIVE);
        let held = at.saturating_duration_since(now);
        let deficit = 1.0 - self.tokens;
        let for_token = if deficit > 0.0 {
            Duration::from_secs_f64(deficit / rate)
        } else {
            Duration::ZERO
        };
        let wait = held + for_token;
        if wait > self.config.max_wait {
            return Err(wait);
        }
        self.tokens -= 1.0;
        Ok(wait)
    }

    /// Lets no reservation start before `until` (a provider's `Retry-After`).
    pub fn hold_until(&mut self, until: Instant) {
        self.held_until = Some(self.held_until.map_or(until, |t| t.max(until)));
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        let cap = f64::from(self.config.burst.max(1));
        self.tokens = (self.tokens + elapsed * self.config.per_second).min(cap);
        self.last = self.last.max(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(now: Instant) -> TokenBucket {
        TokenBucket::new(
            BudgetConfig {
                per_second: 10.0,
                burst: 2,
                max_wait: Duration::from_secs(1),
            },
            now,
        )
    }

    // The burst goes at once; after it, reservations queue 1/rate apart, in order.
    #[test]
    fn burst_then_queued_at_the_rate() {
        let t0 = Instant::now();
        let mut b = bucket(t0);
        assert_eq!(b.reserve(t0), Ok(Duration::ZERO));
        assert_eq!(b.reserve(t0), Ok(Duration::ZERO));
        let w3 = b.reserve(t0).unwrap();
        let w4 = b.reserve(t0).unwrap();
        assert!((w3.as_secs_f64() - 0.1).abs() < 1e-6, "{w3:?}");
        assert!((w4.as_secs_f64() - 0.2).abs() < 1e-6, "{w4:?}");
        // Refilled after a quiet second, capped at the burst.
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(b.reserve(t1), Ok(Duration::ZERO));
        assert_eq!(b.reserve(t1), Ok(Duration::ZERO));
        assert!(b.reserve(t1).unwrap() > Duration::ZERO);
    }

    // A caller that would wait past its deadline is refused and takes nothing.
    #[test]
    fn refuses_beyond_the_deadline_without_taking_a_token() {
        let t0 = Instant::now();
        let mut b = bucket(t0);
        for _ in 0..12 {
            b.reserve(t0).unwrap(); // 2 free + 10 queued = 1.0 s
        }
        let refused = b.reserve(t0).unwrap_err();
        assert!(refused > Duration::from_secs(1));
        assert!(b.reserve(t0).is_err(), "a refusal took no token");
    }

    // A provider's Retry-After pauses everyone sharing the budget.
    #[test]
    fn hold_pauses_every_reservation() {
        let t0 = Instant::now();
        let mut b = bucket(t0);
        b.hold_until(t0 + Duration::from_millis(500));
        assert_eq!(b.reserve(t0), Ok(Duration::from_millis(500)));
        let later = t0 + Duration::from_millis(600);
        assert_eq!(b.reserve(later), Ok(Duration::ZERO));
    }

    // Requests reserved during a hold go out when it ends, at most a burst of them; the
    // tokens the hold "earned" do not come on top, so the rate after it stays the budget's.
    #[test]
    fn a_hold_does_not_add_to_the_burst_after_it() {
        let t0 = Instant::now();
        let mut b = bucket(t0); // 10/s, burst 2
        b.hold_until(t0 + Duration::from_millis(500));
        let waits: Vec<u128> = (0..4).map(|_| b.reserve(t0).unwrap().as_millis()).collect();
        assert_eq!(waits, [500, 500, 600, 700]);
        // Half-way through the hold nothing new has accrued either.
        let mid = t0 + Duration::from_millis(250);
        assert_eq!(
            b.reserve(mid).unwrap().as_millis(),
            550,
            "after the queued ones"
        );
    }
}
