//! Grandfather-father-son retention as a pure function: given the complete backups of a policy
//! and the rules, which to keep and which to prune. The controller applies it after each
//! successful backup; called on its own it is the dry run.
//!
//! Rules, each counted over the backups newest first (as restic's `forget` does):
//! - `keepLast`: the newest N backups;
//! - `keepDaily` / `keepWeekly` / `keepMonthly`: the newest backup of each of the N most recent
//!   days / ISO weeks / months that have a backup, read in the policy's time zone.
//!
//! A backup kept by any rule is kept. The newest backup and any `protect`ed one (the newest
//! verified backup) are always kept, whatever the rules say. The plan says which rules keep
//! each kept backup, so a dry run can explain itself.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike as _, Utc};
use chrono_tz::Tz;

/// The counts of each rule (from `spec.retention`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    pub last: usize,
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

impl From<&crate::api::backup_policy::Retention> for Rules {
    fn from(r: &crate::api::backup_policy::Retention) -> Self {
        let n = |v: i32| usize::try_from(v).unwrap_or(0);
        Self {
            last: n(r.keep_last),
            daily: n(r.keep_daily),
            weekly: n(r.keep_weekly),
            monthly: n(r.keep_monthly),
        }
    }
}

/// The most any rule may count (the CRD schema's maximum).
pub const MAX_KEEP: i32 = 1000;

/// A `spec.retention` the admission rules would refuse; the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRetention {
    #[error("spec.retention.{field}: {value} is outside 0–{MAX_KEEP}")]
    OutOfRange { field: &'static str, value: i32 },
    #[error(
        "spec.retention: keeps no backup (keepLast, keepDaily, keepWeekly and keepMonthly are all 0)"
    )]
    KeepsNothing,
}

impl Rules {
    /// The rules of `r`, checked as admission checks them (each count in 0–[`MAX_KEEP`], at
    /// least one above 0), for specs that never passed admission (`berth plan` over files).
    pub fn validated(r: &crate::api::backup_policy::Retention) -> Result<Self, InvalidRetention> {
        let fields = [
            ("keepLast", r.keep_last),
            ("keepDaily", r.keep_daily),
            ("keepWeekly", r.keep_weekly),
            ("keepMonthly", r.keep_monthly),
        ];
        if let Some((field, value)) = fields.iter().find(|(_, v)| !(0..=MAX_KEEP).contains(v)) {
            return Err(InvalidRetention::OutOfRange {
                field,
                value: *value,
            });
        }
        if fields.iter().all(|(_, v)| *v == 0) {
            return Err(InvalidRetention::KeepsNothing);
        }
        Ok(Self::from(r))
    }
}

/// Why a backup is kept: a `spec.retention` rule (named as its field) or a safety rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Keep {
    KeepLast,
    KeepDaily,
    KeepWeekly,
    KeepMonthly,
    /// The newest backup, kept even with `keepLast: 0`.
    Newest,
    /// A `protect`ed backup: the newest verified one.
    NewestVerified,
}

impl std::fmt::Display for Keep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::KeepLast => "keepLast",
            Self::KeepDaily => "keepDaily",
            Self::KeepWeekly => "keepWeekly",
            Self::KeepMonthly => "keepMonthly",
            Self::Newest => "newest",
            Self::NewestVerified => "newest verified",
        })
    }
}

/// One complete backup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    /// When the backup was taken (its start: the moment the data is from).
    pub time: DateTime<Utc>,
}

/// The verdict on every item: each id is in exactly one of the two lists, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub keep: Vec<String>,
    pub prune: Vec<String>,
    /// For each kept id, the rules that keep it (in [`Keep`] order).
    pub kept_by: BTreeMap<String, Vec<Keep>>,
}

/// Maps a local time to its calendar bucket (a day, an ISO week, a month).
type Bucket = fn(DateTime<Tz>) -> (i32, u32);

/// Decides which backups to keep.
#[must_use]
pub fn plan(rules: Rules, items: &[Item], protect: &[&str], tz: Tz) -> Plan {
    let mut sorted: Vec<&Item> = items.iter().collect();
    // Newest first; ties broken by id so the result does not depend on input order.
    sorted.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| b.id.cmp(&a.id)));

    // Each item's reasons to be kept; none means pruned.
    let mut keep: Vec<Vec<Keep>> = vec![Vec::new(); sorted.len()];
    for (i, _) in sorted.iter().enumerate().take(rules.last.max(1)) {
        keep[i].push(if i < rules.last {
            Keep::KeepLast
        } else {
            Keep::Newest
        });
    }
    let buckets: [(Keep, usize, Bucket); 3] = [
        (Keep::KeepDaily, rules.daily, |t| (t.year(), t.ordinal())),
        (Keep::KeepWeekly, rules.weekly, |t| {
            let w = t.iso_week();
            (w.year(), w.week())
        }),
        (Keep::KeepMonthly, rules.monthly, |t| (t.year(), t.month())),
    ];
    for (rule, count, bucket_of) in buckets {
        let mut seen = BTreeSet::new();
        for (i, item) in sorted.iter().enumerate() {
            if seen.len() >= count {
                break;
            }
            // The first item met in a bucket is its newest.
            if seen.insert(bucket_of(item.time.with_timezone(&tz))) {
                keep[i].push(rule);
            }
        }
    }
    for (i, item) in sorted.iter().enumerate() {
        if protect.contains(&item.id.as_str()) {
            keep[i].push(Keep::NewestVerified);
        }
    }

    let mut out = Plan::default();
    for (item, mut why) in sorted.into_iter().zip(keep) {
        if why.is_empty() {
            out.prune.push(item.id.clone());
        } else {
            why.sort();
            out.keep.push(item.id.clone());
            out.kept_by.insert(item.id.clone(), why);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDate, TimeZone as _};
    use proptest::prelude::*;

    use super::*;

    const STOCKHOLM: Tz = chrono_tz::Europe::Stockholm;

    fn at_local(date: NaiveDate, hour: u32) -> DateTime<Utc> {
        STOCKHOLM
            .from_local_datetime(&date.and_hms_opt(hour, 0, 0).unwrap())
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn id_of(date: NaiveDate) -> String {
        date.format("%Y-%m-%d").to_string()
    }

    fn rules(last: usize, daily: usize, weekly: usize, monthly: usize) -> Rules {
        Rules {
            last,
            daily,
            weekly,
            monthly,
        }
    }

    // Protects: a year of nightly backups pruned after each night (as the controller does)
    // keeps exactly the GFS set: the last 7 nights, the Sunday of the 4 newest ISO weeks, and the
    // last day of the 6 newest months; and pruning nightly ends where pruning once would.
    #[test]
    fn a_year_of_nightly_backups_keeps_the_gfs_set() {
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let r = rules(3, 7, 4, 6);
        let mut kept: Vec<Item> = Vec::new();
        let mut all: Vec<Item> = Vec::new();
        let mut last_day = start;
        for day in 0..400 {
            let date = start + Duration::days(day);
            let item = Item {
                id: id_of(date),
                time: at_local(date, 3),
            };
            all.push(item.clone());
            kept.push(item);
            let p = plan(r, &kept, &[], STOCKHOLM);
            kept.retain(|i| p.keep.contains(&i.id));
            last_day = date;
        }
        // 2026-02-04 is a Wednesday.
        assert_eq!(last_day, NaiveDate::from_ymd_opt(2026, 2, 4).unwrap());
        let d = |y, m, dd| id_of(NaiveDate::from_ymd_opt(y, m, dd).unwrap());
        let mut expected: Vec<String> = (0..7)
            .map(|i| id_of(last_day - Duration::days(i)))
            .collect();
        // Weekly: this week's newest (today, already kept) and the Sundays of the 3 before.
        expected.extend([d(2026, 2, 1), d(2026, 1, 25), d(2026, 1, 18)]);
        // Monthly: this month's newest (today) and the last days of the 5 before.
        expected.extend([
            d(2026, 1, 31),
            d(2025, 12, 31),
            d(2025, 11, 30),
            d(2025, 10, 31),
            d(2025, 9, 30),
        ]);
        expected.sort();
        expected.dedup();
        let mut got: Vec<String> = kept.iter().map(|i| i.id.clone()).collect();
        got.sort();
        assert_eq!(got, expected);

        let once = plan(r, &all, &[], STOCKHOLM);
        let mut once_kept = once.keep.clone();
        once_kept.sort();
        assert_eq!(
            once_kept, expected,
            "pruning once ends where nightly pruning ends"
        );
        assert_eq!(once.keep.len() + once.prune.len(), all.len());
    }

    // Protects: several backups a day: keepDaily keeps the newest of each day, not the first.
    #[test]
    fn daily_keeps_the_newest_of_each_day() {
        let day = NaiveDate::from_ymd_opt(2026, 5, 10).unwrap();
        let items: Vec<Item> = [(day, 1), (day, 9), (day, 17), (day.succ_opt().unwrap(), 1)]
            .iter()
            .map(|(d, h)| Item {
                id: format!("{}T{h:02}", id_of(*d)),
                time: at_local(*d, *h),
            })
            .collect();
        let p = plan(rules(1, 2, 0, 0), &items, &[], STOCKHOLM);
        assert_eq!(p.keep, vec!["2026-05-11T01", "2026-05-10T17"]);
        assert_eq!(p.prune, vec!["2026-05-10T09", "2026-05-10T01"]);
    }

    // Protects: days are the policy's local days: 22:30 UTC on 9 May is 10 May in Stockholm.
    #[test]
    fn days_are_local_to_the_policy_time_zone() {
        let items = vec![
            Item {
                id: "late".into(),
                time: Utc.with_ymd_and_hms(2026, 5, 9, 22, 30, 0).unwrap(),
            },
            Item {
                id: "early".into(),
                time: Utc.with_ymd_and_hms(2026, 5, 9, 21, 30, 0).unwrap(),
            },
        ];
        let p = plan(rules(1, 2, 0, 0), &items, &[], chrono_tz::UTC);
        assert_eq!(p.prune, vec!["early"], "both are on 9 May in UTC");
        let p = plan(rules(1, 2, 0, 0), &items, &[], STOCKHOLM);
        assert!(p.prune.is_empty(), "in Stockholm they are on 9 and 10 May");
    }

    // Protects: the newest verified backup survives however old it is.
    #[test]
    fn protected_backup_is_kept() {
        let items: Vec<Item> = (0..10)
            .map(|i| Item {
                id: format!("b{i}"),
                time: Utc.with_ymd_and_hms(2026, 1, 1, i, 0, 0).unwrap(),
            })
            .collect();
        let p = plan(rules(2, 0, 0, 0), &items, &["b0"], chrono_tz::UTC);
        assert_eq!(p.keep, vec!["b9", "b8", "b0"]);
        assert_eq!(p.kept_by["b0"], vec![Keep::NewestVerified]);
    }

    // Protects: each kept backup names every rule that keeps it, so `berth plan` can say why;
    // with keepLast 0 the newest is kept as the newest, not by a rule that says 0.
    #[test]
    fn kept_backups_name_their_rules() {
        // 2026-05-03 is a Sunday: the 3rd ends one ISO week, the 4th and 5th start the next.
        let items: Vec<Item> = [3, 4, 5]
            .iter()
            .map(|d| {
                let date = NaiveDate::from_ymd_opt(2026, 5, *d).unwrap();
                Item {
                    id: id_of(date),
                    time: at_local(date, 3),
                }
            })
            .collect();
        let p = plan(rules(0, 1, 2, 0), &items, &[], STOCKHOLM);
        assert_eq!(p.keep, vec!["2026-05-05", "2026-05-03"]);
        assert_eq!(p.prune, vec!["2026-05-04"]);
        assert_eq!(
            p.kept_by["2026-05-05"],
            vec![Keep::KeepDaily, Keep::KeepWeekly, Keep::Newest]
        );
        assert_eq!(p.kept_by["2026-05-03"], vec![Keep::KeepWeekly]);
        assert_eq!(p.kept_by.len(), p.keep.len());
    }

    // Protects: a retention spec admission would refuse is refused with the field named,
    // for files `berth plan` reads that never met admission.
    #[test]
    fn invalid_retention_names_the_field() {
        use crate::api::backup_policy::Retention;
        let r = |keep_last, keep_daily, keep_weekly, keep_monthly| Retention {
            keep_last,
            keep_daily,
            keep_weekly,
            keep_monthly,
        };
        let err = Rules::validated(&r(3, -1, 4, 6)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.retention.keepDaily: -1 is outside 0–1000"
        );
        let err = Rules::validated(&r(3, 7, 4, 1001)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("spec.retention.keepMonthly: 1001")
        );
        assert_eq!(
            Rules::validated(&r(0, 0, 0, 0)),
            Err(InvalidRetention::KeepsNothing)
        );
        assert_eq!(Rules::validated(&r(0, 0, 1, 0)), Ok(rules(0, 0, 1, 0)));
    }

    proptest! {
        // Protects: for any backups and rules: the newest is kept, every id lands in exactly
        // one list, no more are kept than the rules allow, and each kept one has a rule for it.
        #[test]
        fn keep_sets_obey_the_counts(
            hours in proptest::collection::vec(0i64..24 * 500, 0..120),
            last in 0usize..5, daily in 0usize..10, weekly in 0usize..6, monthly in 0usize..6,
        ) {
            let items: Vec<Item> = hours.iter().enumerate().map(|(i, h)| Item {
                id: format!("b{i}"),
                time: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::hours(*h),
            }).collect();
            let r = rules(last, daily, weekly, monthly);
            let p = plan(r, &items, &[], chrono_tz::UTC);
            prop_assert_eq!(p.keep.len() + p.prune.len(), items.len());
            let all: BTreeSet<&String> = p.keep.iter().chain(&p.prune).collect();
            prop_assert_eq!(all.len(), items.len());
            if let Some(newest) = items.iter().max_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id))) {
                prop_assert!(p.keep.contains(&newest.id));
            }
            prop_assert!(p.keep.len() <= last.max(1) + daily + weekly + monthly);
            let by_id = |id: &str| items.iter().find(|i| i.id == id).unwrap().time;
            let days: BTreeSet<_> = p.keep.iter().map(|id| by_id(id).date_naive()).collect();
            prop_assert!(p.keep.len() <= last.max(1) + days.len());
            for id in &p.keep {
                let t = by_id(id);
                let newer = items.iter().filter(|i| (i.time, &i.id) > (t, id)).count();
                let newest_of_day = !items.iter().any(|i| i.time.date_naive() == t.date_naive() && (i.time, &i.id) > (t, id));
                let newest_of_week = !items.iter().any(|i| i.time.iso_week() == t.iso_week() && (i.time, &i.id) > (t, id));
                let newest_of_month = !items.iter().any(|i| (i.time.year(), i.time.month()) == (t.year(), t.month()) && (i.time, &i.id) > (t, id));
                prop_assert!(newer < last.max(1) || newest_of_day || newest_of_week || newest_of_month,
                    "{} kept without a rule", id);
            }
        }
    }
}
