//! The pure heart of the Environment reconciler: for one target, what to write and delete
//! so the platform holds the declared variables, and what to report.
//!
//! Ownership: berth deletes a variable only if it owned it — its name is in the target's
//! `owned` list in status, or (Vercel) the entry carries berth's comment marker. Everything
//! else the platform holds is reported as unmanaged and left alone. A declared variable that
//! already exists by hand is taken over (declaring it is the instruction to adopt).
//!
//! Drift: a value that differs while the declaration is unchanged since the last sync (same
//! target hash) was changed outside berth: it is listed as drifted, and rewritten only under
//! `driftPolicy: Correct`. A difference after a declaration change is just the change.
//! Write-only (sensitive) values cannot be read back: they are rewritten when the
//! declaration changes, and their drift cannot be seen.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::{
    api::environment::DriftPolicy,
    providers::variables::{DesiredVariable, RemoteVariable, VarKind},
};

/// What one target needs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TargetPlan {
    /// To create or overwrite, in one batch.
    pub upserts: Vec<DesiredVariable>,
    /// Owned entries no longer declared.
    pub deletes: Vec<RemoteVariable>,
    /// Names whose platform value was changed outside berth (sorted).
    pub drifted: Vec<String>,
    /// Names at the platform that berth neither declares nor owns (sorted).
    pub unmanaged: Vec<String>,
    /// Names berth owns once the plan is applied (sorted).
    pub owned: Vec<String>,
    /// The declaration's fingerprint, recorded in status after a successful sync.
    pub hash: String,
}

impl TargetPlan {
    /// Whether applying the plan makes no provider call.
    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty()
    }
}

/// What the last successful sync of this target recorded.
#[derive(Debug, Default, Clone, Copy)]
pub struct Previous<'a> {
    pub hash: Option<&'a str>,
    pub owned: &'a [String],
}

/// Plans one target. `key` keys the fingerprint (the target's credential, so the hash in
/// status cannot be used to guess values); `marker` is berth's ownership comment.
#[must_use]
pub fn plan(
    desired: &[DesiredVariable],
    remote: &[RemoteVariable],
    previous: Previous<'_>,
    policy: DriftPolicy,
    key: &[u8],
    marker: &str,
) -> TargetPlan {
    let hash = fingerprint(desired, key);
    let declaration_unchanged = previous.hash == Some(hash.as_str());
    let declared: BTreeSet<&str> = desired.iter().map(|d| d.name.as_str()).collect();
    let owns = |r: &RemoteVariable| {
        previous.owned.contains(&r.name) || r.comment.as_deref() == Some(marker)
    };

    let mut plan = TargetPlan {
        hash,
        owned: declared.iter().map(|n| (*n).to_owned()).collect(),
        ..TargetPlan::default()
    };
    for d in desired {
        let found = remote
            .iter()
            .find(|r| r.name == d.name && r.targets == d.targets);
        match found {
            None => plan.upserts.push(d.clone()),
            Some(r) => match same_value(d, r) {
                Some(true) => {}
                // Unreadable: trust the last sync unless the declaration moved on.
                None if declaration_unchanged => {}
                None => plan.upserts.push(d.clone()),
                Some(false) if !declaration_unchanged => plan.upserts.push(d.clone()),
                Some(false) => {
                    plan.drifted.push(d.name.clone());
                    if policy == DriftPolicy::Correct {
                        plan.upserts.push(d.clone());
                    }
                }
            },
        }
    }
    for r in remote {
        let still_declared = desired
            .iter()
            .any(|d| d.name == r.name && d.targets == r.targets);
        if still_declared {
            continue;
        }
        if owns(r) {
            plan.deletes.push(r.clone());
        } else if !declared.contains(r.name.as_str()) {
            plan.unmanaged.push(r.name.clone());
        }
    }
    plan.drifted.sort();
    plan.drifted.dedup();
    plan.unmanaged.sort();
    plan.unmanaged.dedup();
    plan
}

/// `Some(equal)` when the platform revealed the value, `None` when it cannot be compared.
fn same_value(d: &DesiredVariable, r: &RemoteVariable) -> Option<bool> {
    let kind_matches =
        d.kind == r.kind || (d.kind != VarKind::Sensitive && r.kind != VarKind::Sensitive);
    if !kind_matches {
        return Some(false);
    }
    r.value.as_ref().map(|v| v.expose() == d.value.expose())
}

/// A keyed sha256 over the declaration: names, kinds, targets and values, in name order.
#[must_use]
pub fn fingerprint(desired: &[DesiredVariable], key: &[u8]) -> String {
    let mut sorted: Vec<&DesiredVariable> = desired.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.targets).cmp(&(&b.name, &b.targets)));
    let mut h = Sha256::new();
    h.update((key.len() as u64).to_be_bytes());
    h.update(key);
    for d in sorted {
        for part in [d.name.as_bytes(), d.value.expose().as_bytes()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.update(format!("{:?}{:?}", d.kind, d.targets).as_bytes());
    }
    let digest = h.finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{http::Secret, variables::VarTarget};

    const KEY: &[u8] = b"token";
    const MARK: &str = "managed-by=berth";

    fn want(name: &str, value: &str) -> DesiredVariable {
        DesiredVariable {
            name: name.into(),
            value: Secret::new(value),
            kind: VarKind::Encrypted,
            targets: Vec::new(),
            comment: Some(MARK.into()),
        }
    }

    fn have(name: &str, value: Option<&str>) -> RemoteVariable {
        RemoteVariable {
            id: None,
            name: name.into(),
            value: value.map(Secret::new),
            kind: VarKind::Encrypted,
            targets: Vec::new(),
            comment: None,
        }
    }

    fn names(vars: &[DesiredVariable]) -> Vec<&str> {
        vars.iter().map(|v| v.name.as_str()).collect()
    }

    // Protects: a first sync writes every declared variable once, in one batch, and owns them.
    #[test]
    fn first_sync_writes_all_declared() {
        let p = plan(
            &[want("A", "1"), want("B", "2")],
            &[have("HAND", Some("x"))],
            Previous::default(),
            DriftPolicy::Correct,
            KEY,
            MARK,
        );
        assert_eq!(names(&p.upserts), ["A", "B"]);
        assert!(p.deletes.is_empty());
        assert_eq!(p.unmanaged, ["HAND"]);
        assert_eq!(p.owned, ["A", "B"]);
    }

    // Protects: a resync that finds everything in place makes no call.
    #[test]
    fn in_sync_is_a_noop() {
        let desired = [want("A", "1")];
        let hash = fingerprint(&desired, KEY);
        let owned = vec!["A".to_string()];
        let p = plan(
            &desired,
            &[have("A", Some("1"))],
            Previous {
                hash: Some(&hash),
                owned: &owned,
            },
            DriftPolicy::Correct,
            KEY,
            MARK,
        );
        assert!(p.is_noop(), "{p:?}");
        assert!(p.drifted.is_empty());
    }

    // Protects: a value changed by hand is drift: reported under both policies, rewritten
    // only under Correct; a changed declaration is not drift.
    #[test]
    fn drift_is_reported_and_corrected_only_when_asked() {
        let desired = [want("A", "1")];
        let hash = fingerprint(&desired, KEY);
        let owned = vec!["A".to_string()];
        let prev = Previous {
            hash: Some(&hash),
            owned: &owned,
        };
        let remote = [have("A", Some("changed by hand"))];
        let correct = plan(&desired, &remote, prev, DriftPolicy::Correct, KEY, MARK);
        assert_eq!(correct.drifted, ["A"]);
        assert_eq!(names(&correct.upserts), ["A"]);
        let report = plan(&desired, &remote, prev, DriftPolicy::Report, KEY, MARK);
        assert_eq!(report.drifted, ["A"]);
        assert!(report.is_noop());

        let changed = [want("A", "2")];
        let p = plan(
            &changed,
            &[have("A", Some("1"))],
            prev,
            DriftPolicy::Report,
            KEY,
            MARK,
        );
        assert!(p.drifted.is_empty());
        assert_eq!(names(&p.upserts), ["A"]);
    }

    // Protects: only owned variables are deleted; a hand-made one is reported, never touched.
    #[test]
    fn deletes_only_what_berth_owns() {
        let owned = vec!["OLD".to_string()];
        let mut marked = have("MARKED", Some("m"));
        marked.comment = Some(MARK.into());
        let p = plan(
            &[want("A", "1")],
            &[
                have("A", Some("1")),
                have("OLD", Some("o")),
                marked,
                have("HAND", Some("h")),
            ],
            Previous {
                hash: None,
                owned: &owned,
            },
            DriftPolicy::Correct,
            KEY,
            MARK,
        );
        let deleted: Vec<_> = p.deletes.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(deleted, ["OLD", "MARKED"]);
        assert_eq!(p.unmanaged, ["HAND"]);
    }

    // Protects: write-only values are rewritten when the declaration changes and left alone
    // otherwise (their drift cannot be seen, and rewriting every resync would churn).
    #[test]
    fn sensitive_values_follow_the_declaration() {
        let mut d = want("S", "secret");
        d.kind = VarKind::Sensitive;
        let mut r = have("S", None);
        r.kind = VarKind::Sensitive;
        let desired = [d];
        let hash = fingerprint(&desired, KEY);
        let owned = vec!["S".to_string()];
        let same = plan(
            &desired,
            std::slice::from_ref(&r),
            Previous {
                hash: Some(&hash),
                owned: &owned,
            },
            DriftPolicy::Correct,
            KEY,
            MARK,
        );
        assert!(same.is_noop());
        let moved = plan(
            &desired,
            &[r],
            Previous {
                hash: Some("older"),
                owned: &owned,
            },
            DriftPolicy::Correct,
            KEY,
            MARK,
        );
        assert_eq!(names(&moved.upserts), ["S"]);
    }

    // Protects: Vercel entries are per target set: an owned entry for targets no longer
    // declared is replaced, not left beside the new one.
    #[test]
    fn vercel_entries_match_by_target_set() {
        let mut d = want("URL", "u");
        d.targets = vec![VarTarget::Production, VarTarget::Preview];
        let mut old = have("URL", Some("u"));
        old.targets = vec![VarTarget::Production];
        old.comment = Some(MARK.into());
        let p = plan(
            &[d],
            &[old],
            Previous::default(),
            DriftPolicy::Correct,
            KEY,
            MARK,
        );
        assert_eq!(names(&p.upserts), ["URL"]);
        assert_eq!(p.deletes.len(), 1);
    }

    // Protects: the fingerprint changes with any value and with the key, and never contains a value.
    #[test]
    fn fingerprint_is_keyed_and_value_sensitive() {
        let a = fingerprint(&[want("A", "1")], KEY);
        assert_ne!(a, fingerprint(&[want("A", "2")], KEY));
        assert_ne!(a, fingerprint(&[want("A", "1")], b"other"));
        assert_eq!(a, fingerprint(&[want("A", "1")], KEY));
        assert_eq!(a.len(), 64);
    }
}
