//! When each target is probed (pure). A target runs at a fixed offset inside its interval,
//! taken from a stable hash of its name, on a grid anchored at the Unix epoch: so probes are
//! spread over the interval instead of firing together, and a restarted or new leader keeps
//! every target's rhythm.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};

use super::Target;

/// A stable (FNV-1a) hash: unlike `std`'s hasher it stays the same across builds and replicas.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX).max(1)
}

/// Where in each `interval` the target `name` is probed: in `[0, interval)`.
#[must_use]
pub fn offset(name: &str, interval: Duration) -> Duration {
    let period = u64::try_from(micros(interval)).unwrap_or(1);
    Duration::from_micros(fnv1a(name) % period)
}

/// The first probe time of `name` strictly after `after`.
#[must_use]
pub fn next_due(name: &str, interval: Duration, after: DateTime<Utc>) -> DateTime<Utc> {
    let period = micros(interval);
    let off = micros(offset(name, interval)).min(period - 1);
    let t = after.timestamp_micros();
    // The slot k·period + off just after t.
    let k = (t - off).div_euclid(period) + 1;
    DateTime::from_timestamp_micros(k * period + off).unwrap_or(after)
}

/// The targets and when each is due next.
#[derive(Debug, Default)]
pub struct Schedule {
    due: HashMap<String, (Target, DateTime<Utc>)>,
}

impl Schedule {
    /// Replaces the target set: new targets get their next slot, gone ones are dropped, a
    /// changed interval re-slots the target; unchanged ones keep their time.
    pub fn sync(&mut self, targets: Vec<Target>, now: DateTime<Utc>) {
        let mut next = HashMap::with_capacity(targets.len());
        for t in targets {
            let when = match self.due.remove(&t.name) {
                Some((old, when)) if old.interval == t.interval => when,
                _ => next_due(&t.name, t.interval, now),
            };
            next.insert(t.name.clone(), (t, when));
        }
        self.due = next;
    }

    /// The targets due at `now`, each moved on to its next slot after `now` (a slot missed
    /// while not leading is skipped, not made up in a burst).
    pub fn take_due(&mut self, now: DateTime<Utc>) -> Vec<Target> {
        let mut out = Vec::new();
        for (target, when) in self.due.values_mut() {
            if *when <= now {
                out.push(target.clone());
                *when = next_due(&target.name, target.interval, now);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// The earliest due time, if any target is scheduled.
    #[must_use]
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.due.values().map(|(_, when)| *when).min()
    }

    /// How many targets are scheduled.
    #[must_use]
    pub fn len(&self) -> usize {
        self.due.len()
    }

    /// Whether nothing is scheduled.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use chrono::TimeDelta;
    use proptest::prelude::*;

    use super::*;
    use crate::monitoring::Expect;

    fn target(name: &str, interval: Duration) -> Target {
        Target {
            name: name.into(),
            url: "http://x/".into(),
            expect: Expect::Status(200),
            timeout: Duration::from_secs(1),
            latency_budget: Duration::from_secs(1),
            interval,
        }
    }

    const VOCILIA: [&str; 8] = [
        "vocilia/Deployment/api",
        "vocilia/Deployment/customer",
        "vocilia/Deployment/business",
        "vocilia/Deployment/admin",
        "vocilia/Domain/api-vocilia-com",
        "vocilia/Domain/admin-vocilia-com",
        "vocilia/Domain/business-vocilia-com",
        "vocilia/Domain/app-vocilia-com",
    ];

    // Protects: the estate's probes are spread over the interval: every offset is distinct
    // and inside it, and the same name always gets the same offset.
    #[test]
    fn offsets_are_distinct_stable_and_inside_the_interval() {
        let interval = Duration::from_secs(30);
        let offsets: Vec<Duration> = VOCILIA.iter().map(|n| offset(n, interval)).collect();
        assert!(offsets.iter().all(|o| *o < interval), "{offsets:?}");
        assert_eq!(
            offsets.iter().collect::<HashSet<_>>().len(),
            VOCILIA.len(),
            "{offsets:?}"
        );
        assert_eq!(offset(VOCILIA[0], interval), offsets[0]);
        // Spread, not bunched: they cover most of the interval.
        let span = *offsets.iter().max().unwrap() - *offsets.iter().min().unwrap();
        assert!(span > interval / 2, "{offsets:?}");
    }

    proptest! {
        // Protects: the next slot is after `after`, within one interval, at the target's offset.
        #[test]
        fn next_due_lands_on_the_offset_within_one_interval(
            name in "[a-z/]{1,30}", secs in 1u64..3600, at in 0i64..4_000_000_000_000_000,
        ) {
            let interval = Duration::from_secs(secs);
            let after = DateTime::from_timestamp_micros(at).unwrap();
            let due = next_due(&name, interval, after);
            prop_assert!(due > after);
            prop_assert!(due - after <= TimeDelta::from_std(interval).unwrap());
            let period = i64::try_from(interval.as_micros()).unwrap();
            let off = i64::try_from(offset(&name, interval).as_micros()).unwrap();
            prop_assert_eq!(due.timestamp_micros().rem_euclid(period), off);
        }
    }

    // Protects: a target fires once a slot, at most once however late the loop wakes, and
    // targets that left the caches stop being probed.
    #[test]
    fn schedule_fires_each_target_once_a_slot() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut s = Schedule::default();
        let one = Duration::from_secs(1);
        s.sync(vec![target("a", one), target("b", one)], now);
        assert_eq!(s.len(), 2);
        assert!(s.take_due(now).is_empty(), "nothing is due before its slot");
        let later = now + TimeDelta::seconds(1);
        assert_eq!(s.take_due(later).len(), 2);
        assert!(s.take_due(later).is_empty());
        // Ten seconds late: each fires once, not ten times.
        let late = later + TimeDelta::seconds(10);
        assert_eq!(s.take_due(late).len(), 2);
        s.sync(vec![target("b", one)], late);
        let names: Vec<String> = s
            .take_due(late + TimeDelta::seconds(2))
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, vec!["b".to_string()]);
        assert!(s.next_wake().is_some_and(|w| w > late));
    }
}
