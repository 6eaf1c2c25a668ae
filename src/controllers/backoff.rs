//! Per-object retry backoff. kube-runtime requeues failures at whatever `error_policy` returns
//! but keeps no per-object history, so a flapping object and a healthy one would be retried
//! alike. This keeps a failure count per object UID, grows the delay exponentially with jitter,
//! and forgets the object on its next success.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use rand::Rng as _;

/// Failure counts by object UID.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Delays start at `base` and double up to `max`.
    #[must_use]
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure of `uid` and returns how long to wait before the next try:
    /// `base * 2^(n-1)`, capped at `max`, with ±20 % jitter so a burst of failing objects
    /// does not retry in lock step.
    pub fn next_delay(&self, uid: &str) -> Duration {
        let n = {
            let mut map = self
                .failures
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = map.entry(uid.to_string()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let exp = self.base.saturating_mul(1u32 << (n - 1).min(16));
        let capped = exp.min(self.max);
        let jitter = rand::rng().random_range(0.8..1.2);
        capped.mul_f64(jitter).min(self.max)
    }

    /// Forgets `uid` after a success.
    pub fn reset(&self, uid: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(uid);
    }

    /// Number of objects currently backing off.
    #[must_use]
    pub fn len(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether no object is backing off.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: retries grow per object and reset on success, independently for each object.
    #[test]
    fn delays_grow_per_object_and_reset_on_success() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let d1 = b.next_delay("a");
        let d2 = b.next_delay("a");
        let d3 = b.next_delay("a");
        assert!(
            d1 >= Duration::from_millis(800) && d1 <= Duration::from_millis(1200),
            "{d1:?}"
        );
        assert!(
            d2 >= Duration::from_millis(1600) && d2 <= Duration::from_millis(2400),
            "{d2:?}"
        );
        assert!(
            d3 >= Duration::from_millis(3200) && d3 <= Duration::from_millis(4800),
            "{d3:?}"
        );
        let other = b.next_delay("b");
        assert!(
            other <= Duration::from_millis(1200),
            "another object starts from the base: {other:?}"
        );
        b.reset("a");
        assert!(b.next_delay("a") <= Duration::from_millis(1200));
    }

    // Protects: the delay never exceeds the cap however many failures pile up.
    #[test]
    fn delay_is_capped() {
        let b = Backoff::new(Duration::from_secs(5), Duration::from_secs(300));
        for _ in 0..40 {
            assert!(b.next_delay("x") <= Duration::from_secs(300));
        }
    }
}
