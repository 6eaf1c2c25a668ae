//! Polling the outside world with backoff: platform verification and propagation to the
//! zone's name servers. A check that has not passed yet records its attempts and the time of
//! the next one in status; the wait doubles from [`FIRST_WAIT`] up to [`MAX_WAIT`], so a
//! domain that takes hours to verify costs a few dozen checks, not a hot loop.

use std::{net::SocketAddr, time::Duration};

use chrono::{DateTime, Utc};

use super::plan::{DesiredSet, canonical};
use crate::{
    api::domain::CheckState,
    providers::dns::{
        RecordType,
        lookup::{Lookup, LookupError},
    },
};

/// Wait before the second check.
pub const FIRST_WAIT: Duration = Duration::from_secs(2);
/// Longest wait between checks.
pub const MAX_WAIT: Duration = Duration::from_secs(300);

/// State words of a check.
pub const TRUE: &str = "True";
pub const PENDING: &str = "Pending";

/// The wait after `failed` unsuccessful checks.
#[must_use]
pub fn wait(failed: u32) -> Duration {
    FIRST_WAIT
        .checked_mul(1 << failed.min(16))
        .map_or(MAX_WAIT, |d| d.min(MAX_WAIT))
}

/// Whether a check recorded as `last` is due at `now` (a passed check is always re-checked:
/// it is cheap and finds regressions).
#[must_use]
pub fn due(last: Option<&CheckState>, now: DateTime<Utc>) -> bool {
    last.and_then(|c| c.next_check_time.as_deref())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_none_or(|next| now >= next.with_timezone(&Utc))
}

/// How long until the check recorded as `c` is due.
#[must_use]
pub fn until_due(c: &CheckState, now: DateTime<Utc>) -> Option<Duration> {
    let next = DateTime::parse_from_rfc3339(c.next_check_time.as_deref()?).ok()?;
    (next.with_timezone(&Utc) - now).to_std().ok()
}

/// A passed check. One that passed before with the same message is kept as it was, so a
/// resync that finds everything in order writes no status (every status write is a watch
/// event that would reconcile the object again).
#[must_use]
pub fn passed(
    last: Option<&CheckState>,
    message: Option<String>,
    now: DateTime<Utc>,
) -> CheckState {
    if let Some(last) = last.filter(|l| l.state == TRUE && l.message == message) {
        return last.clone();
    }
    CheckState {
        state: TRUE.into(),
        message,
        last_check_time: Some(now.to_rfc3339()),
        attempts: None,
        next_check_time: None,
    }
}

/// One more failed check after `last`, with the next one scheduled.
#[must_use]
pub fn failed(last: Option<&CheckState>, message: String, now: DateTime<Utc>) -> CheckState {
    let before = last
        .filter(|c| c.state == PENDING)
        .and_then(|c| c.attempts)
        .unwrap_or(0);
    let attempts = before.saturating_add(1);
    let next = now
        + chrono::Duration::from_std(wait(u32::try_from(before).unwrap_or(0)))
            .unwrap_or_else(|_| chrono::Duration::seconds(300));
    CheckState {
        state: PENDING.into(),
        message: Some(message),
        last_check_time: Some(now.to_rfc3339()),
        attempts: Some(attempts),
        next_check_time: Some(next.to_rfc3339()),
    }
}

/// The first set a name server does not answer as written, described; `None` when every
/// server answers every set. Types the look-up cannot ask (CAA) are not checked.
pub async fn propagation(
    servers: &[SocketAddr],
    sets: &[&DesiredSet],
) -> Result<Option<String>, LookupError> {
    for server in servers {
        let lookup = Lookup::new(*server)?;
        for set in sets {
            let answer: Vec<String> = match set.rtype {
                RecordType::A => lookup
                    .a(&set.name)
                    .await?
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                RecordType::Aaaa => lookup
                    .aaaa(&set.name)
                    .await?
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                RecordType::Cname => lookup.cname(&set.name).await?,
                RecordType::Txt => lookup.txt(&set.name).await?,
                _ => continue,
            };
            let answer: Vec<String> = answer.iter().map(|v| canonical(&set.rtype, v)).collect();
            // A shared TXT set holds other Domains' values too: ours must be among them.
            let complete = set.values.iter().all(|v| answer.contains(v))
                && (set.rtype == RecordType::Txt || answer.len() == set.values.len());
            if !complete {
                return Ok(Some(format!(
                    "{server} answers {} {} with [{}], not [{}]",
                    set.name,
                    set.rtype,
                    answer.join(", "),
                    set.values.join(", ")
                )));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    // Protects: verification is polled with growing waits recorded in status, not in a hot loop.
    #[test]
    fn failed_checks_back_off_and_are_not_due_before_their_time() {
        let now = at("2025-01-01T00:00:00Z");
        let first = failed(None, "not yet".into(), now);
        assert_eq!(first.attempts, Some(1));
        assert_eq!(until_due(&first, now), Some(Duration::from_secs(2)));
        assert!(!due(Some(&first), now + chrono::Duration::seconds(1)));
        assert!(due(Some(&first), now + chrono::Duration::seconds(2)));
        let second = failed(Some(&first), "not yet".into(), now);
        assert_eq!(until_due(&second, now), Some(Duration::from_secs(4)));
        let mut many = second;
        for _ in 0..20 {
            many = failed(Some(&many), "not yet".into(), now);
        }
        assert_eq!(until_due(&many, now), Some(MAX_WAIT));
        // A pass resets the count: a later failure starts from the first wait again.
        let ok = passed(None, None, now);
        assert!(due(Some(&ok), now));
        let later = now + chrono::Duration::seconds(60);
        assert_eq!(
            passed(Some(&ok), None, later),
            ok,
            "an unchanged pass is not re-stamped"
        );
        assert_eq!(failed(Some(&ok), "x".into(), now).attempts, Some(1));
    }
}
