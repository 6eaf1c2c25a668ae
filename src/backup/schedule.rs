//! Cron schedules read in a time zone: the next run after a time, the run that is due now
//! (including one missed while the controller was down, if still inside the starting deadline),
//! and the nominal period used to judge a backup stale.
//!
//! Pure: every function takes `now` as an argument.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::{
    Cron,
    parser::{CronParser, Seconds, Year},
};

/// A schedule could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The cron expression is malformed.
    #[error("invalid cron expression {expr:?}: {detail}")]
    Cron { expr: String, detail: String },
    /// The time zone is not an IANA name.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// A Go-style duration is malformed.
    #[error("invalid duration {0:?}")]
    Duration(String),
}

/// A parsed cron expression and the zone it is read in.
#[derive(Clone, Debug)]
pub struct Schedule {
    cron: Cron,
    tz: Tz,
}

impl Schedule {
    /// Parses a five-field expression (or `@daily` and friends) read in IANA zone `tz`.
    pub fn parse(expr: &str, tz: &str) -> Result<Self, Error> {
        // Seconds and years are refused, as the CRD pattern does: five fields, minutes first.
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(expr)
            .map_err(|e| Error::Cron {
                expr: expr.to_string(),
                detail: e.to_string(),
            })?;
        let tz: Tz = tz.parse().map_err(|_| Error::TimeZone(tz.to_string()))?;
        Ok(Self { cron, tz })
    }

    /// The time zone.
    #[must_use]
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The first run strictly after `t`.
    #[must_use]
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The last run at or before `t`.
    #[must_use]
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_previous_occurrence(&t.with_timezone(&self.tz), true)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The gap between the two runs around `t`: how often this schedule nominally runs there.
    #[must_use]
    pub fn period_at(&self, t: DateTime<Utc>) -> Option<Duration> {
        let next = self.next_after(t)?;
        let after = self.next_after(next)?;
        (after - next).to_std().ok()
    }

    /// Which run is due at `now`, given when the last run (of any outcome) started and when the
    /// policy appeared. The newest scheduled time not yet run is due if it is no older than
    /// `deadline`; older ones were missed for good (as a Kubernetes CronJob's
    /// `startingDeadlineSeconds`), so a controller that was down runs once, not once per miss.
    #[must_use]
    pub fn due(
        &self,
        now: DateTime<Utc>,
        last_started: Option<DateTime<Utc>>,
        created: DateTime<Utc>,
        deadline: Duration,
    ) -> Due {
        let Some(scheduled) = self.last_at_or_before(now) else {
            return Due::NotYet;
        };
        let since = last_started.map_or(created, |l| l.max(created));
        if scheduled <= since {
            return Due::NotYet;
        }
        let late = (now - scheduled).to_std().unwrap_or_default();
        if late <= deadline {
            Due::Now { scheduled }
        } else {
            Due::Missed { scheduled }
        }
    }
}

/// Whether a run is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// The run scheduled at `scheduled` should start now.
    Now { scheduled: DateTime<Utc> },
    /// The run at `scheduled` was missed and is past its starting deadline.
    Missed { scheduled: DateTime<Utc> },
    /// Nothing is due.
    NotYet,
}

/// Parses a Go-style duration (`90s`, `15m`, `1h30m`, `1.5h`, `250ms`), as every spec
/// duration is ([`crate::api::common::parse_duration`]); an error names the text.
pub fn parse_duration(s: &str) -> Result<Duration, Error> {
    crate::api::common::parse_duration(s.trim()).ok_or_else(|| Error::Duration(s.to_string()))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    // Protects: a schedule is read in its time zone, across a DST change (03:00 Stockholm is
    // 01:00 UTC in summer and 02:00 UTC in winter).
    #[test]
    fn next_run_follows_the_time_zone_across_dst() {
        let s = Schedule::parse("0 3 * * *", "Europe/Stockholm").unwrap();
        assert_eq!(
            s.next_after(utc(2026, 3, 28, 12, 0)),
            Some(utc(2026, 3, 29, 1, 0))
        );
        assert_eq!(
            s.next_after(utc(2026, 3, 27, 12, 0)),
            Some(utc(2026, 3, 28, 2, 0))
        );
        let daily = Schedule::parse("@daily", "UTC").unwrap();
        assert_eq!(
            daily.next_after(utc(2026, 1, 1, 0, 0)),
            Some(utc(2026, 1, 2, 0, 0))
        );
    }

    // Protects: typos and bad zones are refused with a message, seconds fields included.
    #[test]
    fn invalid_schedules_are_refused() {
        assert!(matches!(
            Schedule::parse("61 * * * *", "UTC"),
            Err(Error::Cron { .. })
        ));
        assert!(Schedule::parse("0 0 3 * * *", "UTC").is_err());
        assert_eq!(
            Schedule::parse("0 3 * * *", "Mars/Olympus").unwrap_err(),
            Error::TimeZone("Mars/Olympus".into())
        );
    }

    // Protects: the due rule: run once for the newest missed time inside the deadline, never
    // for a time before the policy existed or already run, and skip one past its deadline.
    #[test]
    fn due_runs_a_missed_run_once_inside_the_deadline() {
        let s = Schedule::parse("0 3 * * *", "UTC").unwrap();
        let hour = Duration::from_secs(3600);
        let created = utc(2026, 1, 1, 0, 0);
        // Controller down over 03:00, back at 03:40: run now.
        assert_eq!(
            s.due(
                utc(2026, 1, 5, 3, 40),
                Some(utc(2026, 1, 4, 3, 0)),
                created,
                hour
            ),
            Due::Now {
                scheduled: utc(2026, 1, 5, 3, 0)
            }
        );
        // Back at 05:00: too late, wait for tomorrow.
        assert_eq!(
            s.due(
                utc(2026, 1, 5, 5, 0),
                Some(utc(2026, 1, 4, 3, 0)),
                created,
                hour
            ),
            Due::Missed {
                scheduled: utc(2026, 1, 5, 3, 0)
            }
        );
        // Already ran today.
        assert_eq!(
            s.due(
                utc(2026, 1, 5, 3, 40),
                Some(utc(2026, 1, 5, 3, 0)),
                created,
                hour
            ),
            Due::NotYet
        );
        // A policy created after today's run time does not run until tomorrow.
        assert_eq!(
            s.due(utc(2026, 1, 5, 3, 40), None, utc(2026, 1, 5, 3, 30), hour),
            Due::NotYet
        );
    }

    // Protects: the period judged for staleness is the schedule's real spacing.
    #[test]
    fn period_is_the_gap_between_runs() {
        let s = Schedule::parse("*/15 * * * *", "UTC").unwrap();
        assert_eq!(
            s.period_at(utc(2026, 1, 1, 0, 7)),
            Some(Duration::from_secs(900))
        );
        let w = Schedule::parse("30 4 * * 0", "UTC").unwrap();
        assert_eq!(
            w.period_at(utc(2026, 1, 1, 0, 0)),
            Some(Duration::from_secs(7 * 86400))
        );
    }

    // Protects: Go durations as the CRD accepts them.
    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45m"), Ok(Duration::from_secs(2700)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("10 days").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5").is_err());
    }
}
