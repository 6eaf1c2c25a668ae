//! The pure heart of the Domain reconciler: from the record sets a Domain wants and the
//! zone as listed, the edits to submit, the conflicts to report and each record's state.
//!
//! Ownership lives in the zone, on each record set's comment: `managed-by=berth owners=`
//! followed by the Domains (`namespace/name`) that put values there. A set without that
//! comment is foreign: berth never changes or deletes it, and a Domain that needs other
//! values there reports a conflict naming it. A set berth owns for another Domain is a
//! conflict too, except TXT sets, which several Domains share (Vercel's `_vercel.<apex>`
//! challenge holds one value per domain): each Domain adds and removes only its own values.
//!
//! An [`Edit`] is a Domain's wish for one set relative to what it held before, so edits of
//! many Domains can be merged into one write against the zone as it is at write time (see
//! `zone.rs`); [`ZoneState::apply`] is the one place that merge happens, and the plan uses
//! the same function to simulate its own edits.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::IpAddr,
};

use crate::{
    api::domain::{RecordSpec, RecordStatus},
    providers::{
        custom_domains::RequiredRecord,
        dns::{Change, RecordSet, RecordType, fqdn},
    },
};

/// Start of berth's ownership comment; the owners follow, comma separated.
pub const MARKER: &str = "managed-by=berth owners=";

/// Record states written to status.
pub mod states {
    pub const PRESENT: &str = "Present";
    pub const PENDING: &str = "Pending";
    pub const CONFLICT: &str = "Conflict";
    pub const OUTSIDE_ZONE: &str = "OutsideZone";
}

/// One record set a Domain wants: absolute name, values in canonical form (sorted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredSet {
    pub name: String,
    pub rtype: RecordType,
    pub values: Vec<String>,
    /// Asked for by the platform to prove ownership.
    pub verification: bool,
}

/// One owner's wish for one record set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// `namespace/name` of the Domain.
    pub owner: String,
    pub name: String,
    pub rtype: RecordType,
    pub ttl: u32,
    /// The owner's values from now on; empty releases the set.
    pub values: Vec<String>,
    /// The owner's values before (taken out of a shared set when no longer wanted).
    pub previous: Vec<String>,
}

/// A record set in the way, described for a condition message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict(pub String);

type Key = (String, String);

fn key(name: &str, rtype: &RecordType) -> Key {
    (fqdn(name), rtype.as_str().to_owned())
}

/// `value` in the form berth compares and writes: canonical addresses, absolute host names.
#[must_use]
pub fn canonical(rtype: &RecordType, value: &str) -> String {
    match rtype {
        RecordType::A | RecordType::Aaaa => value
            .trim()
            .parse::<IpAddr>()
            .map_or_else(|_| value.trim().to_owned(), |ip| ip.to_string()),
        t if t.holds_hostname() => fqdn(value),
        RecordType::Txt => value.to_owned(),
        _ => value.trim().to_owned(),
    }
}

fn canonical_all<'a>(
    rtype: &RecordType,
    values: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    let set: BTreeSet<String> = values.into_iter().map(|v| canonical(rtype, v)).collect();
    set.into_iter().collect()
}

/// The owners named by a comment; `None` when the set is not berth's.
#[must_use]
pub fn owners(comment: Option<&str>) -> Option<BTreeSet<String>> {
    let rest = comment?.strip_prefix(MARKER)?;
    Some(
        rest.split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// The comment naming `owners`.
#[must_use]
pub fn marker(owners: &BTreeSet<String>) -> String {
    format!(
        "{MARKER}{}",
        owners
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// TXT sets hold independent values (one challenge per domain); other types are one
/// Domain's alone.
fn shared(rtype: &RecordType) -> bool {
    *rtype == RecordType::Txt
}

fn describe(set: &RecordSet) -> String {
    let who = match owners(set.comment.as_deref()) {
        None => "not managed by berth".to_owned(),
        Some(o) => format!(
            "managed by berth for Domain {}",
            o.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        ),
    };
    format!(
        "{} {} [{}] is {who}",
        set.name,
        set.rtype,
        set.records.join(", ")
    )
}

/// A zone's record sets with values in canonical form, keyed by (name, type).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneState {
    sets: BTreeMap<Key, RecordSet>,
}

impl ZoneState {
    /// The zone as listed.
    #[must_use]
    pub fn new(listed: Vec<RecordSet>) -> Self {
        let sets = listed
            .into_iter()
            .map(|mut s| {
                s.name = fqdn(&s.name);
                s.records = canonical_all(&s.rtype, &s.records);
                (key(&s.name, &s.rtype), s)
            })
            .collect();
        Self { sets }
    }

    /// The set at (`name`, `rtype`).
    #[must_use]
    pub fn get(&self, name: &str, rtype: &RecordType) -> Option<&RecordSet> {
        self.sets.get(&key(name, rtype))
    }

    /// Every set.
    pub fn sets(&self) -> impl Iterator<Item = &RecordSet> {
        self.sets.values()
    }

    /// Sets of other types at `name` that cannot stand beside a set of `rtype` (a CNAME
    /// stands alone at its name).
    fn exclusive_neighbours<'a>(
        &'a self,
        name: &'a str,
        rtype: &'a RecordType,
    ) -> impl Iterator<Item = &'a RecordSet> {
        let name = fqdn(name);
        self.sets.values().filter(move |s| {
            s.name == name
                && s.rtype != *rtype
                && (*rtype == RecordType::Cname || s.rtype == RecordType::Cname)
        })
    }

    /// Merges `edit` into the zone, or says which foreign set is in its way.
    pub fn apply(&mut self, edit: &Edit) -> Result<(), Conflict> {
        let k = key(&edit.name, &edit.rtype);
        let wants = !edit.values.is_empty();
        let values = canonical_all(&edit.rtype, &edit.values);
        if wants
            && let Some(other) = self
                .exclusive_neighbours(&edit.name, &edit.rtype)
                .find(|s| !owners(s.comment.as_deref()).is_some_and(|o| o.contains(&edit.owner)))
        {
            return Err(Conflict(format!(
                "{}; a CNAME cannot share its name",
                describe(other)
            )));
        }
        let Some(current) = self.sets.get(&k) else {
            if wants {
                self.sets.insert(
                    k,
                    RecordSet {
                        name: fqdn(&edit.name),
                        rtype: edit.rtype.clone(),
                        ttl: edit.ttl,
                        records: values,
                        comment: Some(marker(&BTreeSet::from([edit.owner.clone()]))),
                    },
                );
            }
            return Ok(());
        };
        let Some(mut owners) = owners(current.comment.as_deref()) else {
            // Foreign: fine while it already says what we want, never touched.
            return if !wants || current.records == values {
                Ok(())
            } else {
                Err(Conflict(describe(current)))
            };
        };
        let mine = owners.contains(&edit.owner);
        let shared = shared(&edit.rtype);
        if !mine && !wants {
            return Ok(());
        }
        if !mine && !shared && !owners.is_empty() {
            return Err(Conflict(describe(current)));
        }
        let records = if shared {
            let dropped = canonical_all(&edit.rtype, &edit.previous);
            let kept = current
                .records
                .iter()
                .filter(|v| !dropped.contains(v) || values.contains(v));
            canonical_all(&edit.rtype, kept.chain(values.iter()))
        } else if wants {
            values
        } else {
            current.records.clone()
        };
        if wants {
            owners.insert(edit.owner.clone());
        } else {
            owners.remove(&edit.owner);
        }
        if owners.is_empty() || records.is_empty() {
            self.sets.remove(&k);
        } else {
            let ttl = if wants { edit.ttl } else { current.ttl };
            let comment = Some(marker(&owners));
            if let Some(set) = self.sets.get_mut(&k) {
                set.records = records;
                set.ttl = ttl;
                set.comment = comment;
            }
        }
        Ok(())
    }

    /// The changes that turn `before` into this state: deletions first (a CNAME replacing an
    /// A record needs its name free), then replacements.
    #[must_use]
    pub fn changes_since(&self, before: &Self) -> Vec<Change> {
        let deletes = before
            .sets
            .iter()
            .filter(|(k, _)| !self.sets.contains_key(*k))
            .map(|(_, s)| Change::Delete {
                name: s.name.clone(),
                rtype: s.rtype.clone(),
            });
        let replaces = self
            .sets
            .iter()
            .filter(|(k, s)| before.sets.get(*k) != Some(*s))
            .map(|(_, s)| Change::Replace(s.clone()));
        deletes.chain(replaces).collect()
    }
}

/// The sets a Domain with explicit records wants: all at its hostname, one set a type.
#[must_use]
pub fn explicit(hostname: &str, records: &[RecordSpec]) -> Vec<DesiredSet> {
    let mut by_type: BTreeMap<&str, (RecordType, Vec<String>)> = BTreeMap::new();
    for r in records {
        let rtype = RecordType::parse(record_type_name(r));
        let entry = by_type
            .entry(record_type_name(r))
            .or_insert_with(|| (rtype, Vec::new()));
        entry.1.extend(r.values.iter().cloned());
    }
    by_type
        .into_values()
        .map(|(rtype, values)| DesiredSet {
            name: fqdn(hostname),
            values: canonical_all(&rtype, &values),
            rtype,
            verification: false,
        })
        .collect()
}

fn record_type_name(r: &RecordSpec) -> &'static str {
    use crate::api::domain::RecordType as T;
    match r.record_type {
        T::A => "A",
        T::AAAA => "AAAA",
        T::CNAME => "CNAME",
        T::TXT => "TXT",
        T::CAA => "CAA",
    }
}

/// The sets a platform asks for, plus the ownership proofs written before that the platform
/// no longer lists (it stops listing them once verified; removing them would invite a
/// failed re-check).
#[must_use]
pub fn from_platform(required: &[RequiredRecord], previous: &[RecordStatus]) -> Vec<DesiredSet> {
    let mut sets: BTreeMap<Key, DesiredSet> = BTreeMap::new();
    for r in required {
        let set = sets
            .entry(key(&r.name, &r.rtype))
            .or_insert_with(|| DesiredSet {
                name: fqdn(&r.name),
                rtype: r.rtype.clone(),
                values: Vec::new(),
                verification: r.verification,
            });
        set.values.push(canonical(&r.rtype, &r.value));
        set.values.sort();
        set.values.dedup();
    }
    for p in previous.iter().filter(|p| p.verification) {
        let rtype = RecordType::parse(&p.record_type);
        let k = key(&p.name, &rtype);
        let written = p.state == states::PRESENT || p.state == states::PENDING;
        if written && !sets.contains_key(&k) {
            sets.insert(
                k,
                DesiredSet {
                    name: fqdn(&p.name),
                    values: canonical_all(&rtype, &p.values),
                    rtype,
                    verification: true,
                },
            );
        }
    }
    sets.into_values().collect()
}

/// Whether `name` is the zone apex or below it.
#[must_use]
pub fn in_zone(name: &str, zone: &str) -> bool {
    let (name, zone) = (fqdn(name), fqdn(zone));
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// What one Domain needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// To submit (releases first).
    pub edits: Vec<Edit>,
    /// Each wanted set with its state, sorted by name and type.
    pub records: Vec<RecordStatus>,
    /// Foreign or other Domains' sets in the way.
    pub conflicts: Vec<String>,
    /// Wanted names outside the zone.
    pub outside_zone: Vec<String>,
}

impl Plan {
    /// Whether the plan writes nothing.
    #[must_use]
    pub fn is_noop(&self) -> bool {
        self.edits.is_empty()
    }
}

/// What the plan needs to know about the Domain.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    /// `namespace/name`.
    pub owner: &'a str,
    pub zone: &'a str,
    pub ttl: u32,
    pub desired: &'a [DesiredSet],
    /// `status.records` of the last reconcile.
    pub previous: &'a [RecordStatus],
}

/// Plans one Domain against `zone` (pure).
#[must_use]
pub fn plan(w: Wanted<'_>, zone: &ZoneState) -> Plan {
    let mut sim = zone.clone();
    let mut out = Plan::default();
    let desired_keys: BTreeSet<Key> = w.desired.iter().map(|d| key(&d.name, &d.rtype)).collect();
    let previous_values = |k: &Key| {
        w.previous
            .iter()
            .find(|p| key(&p.name, &RecordType::parse(&p.record_type)) == *k)
            .map(|p| p.values.clone())
            .unwrap_or_default()
    };

    // Releases: sets this Domain held (by status, or by the zone's comments when status was
    // lost) that it no longer wants.
    let mut released: BTreeSet<Key> = BTreeSet::new();
    let held_in_zone = zone
        .sets()
        .filter(|s| owners(s.comment.as_deref()).is_some_and(|o| o.contains(w.owner)))
        .map(|s| (s.name.clone(), s.rtype.clone()));
    let held_in_status = w
        .previous
        .iter()
        .map(|p| (fqdn(&p.name), RecordType::parse(&p.record_type)));
    for (name, rtype) in held_in_status.chain(held_in_zone) {
        let k = key(&name, &rtype);
        if desired_keys.contains(&k) || !released.insert(k.clone()) {
            continue;
        }
        let edit = Edit {
            owner: w.owner.to_owned(),
            name,
            rtype,
            ttl: w.ttl,
            values: Vec::new(),
            previous: previous_values(&k),
        };
        let before = sim.clone();
        if sim.apply(&edit).is_ok() && sim != before {
            out.edits.push(edit);
        }
    }

    for d in w.desired {
        let k = key(&d.name, &d.rtype);
        let mut status = RecordStatus {
            name: d.name.clone(),
            record_type: d.rtype.as_str().to_owned(),
            values: d.values.clone(),
            state: String::new(),
            verification: d.verification,
            message: None,
        };
        if !in_zone(&d.name, w.zone) {
            status.state = states::OUTSIDE_ZONE.into();
            status.message = Some(format!("outside zone {}", fqdn(w.zone)));
            out.outside_zone.push(format!("{} {}", d.name, d.rtype));
            out.records.push(status);
            continue;
        }
        let edit = Edit {
            owner: w.owner.to_owned(),
            name: d.name.clone(),
            rtype: d.rtype.clone(),
            ttl: w.ttl,
            values: d.values.clone(),
            previous: previous_values(&k),
        };
        let before = sim.clone();
        match sim.apply(&edit) {
            Err(Conflict(message)) => {
                status.state = states::CONFLICT.into();
                out.conflicts.push(message.clone());
                status.message = Some(message);
            }
            Ok(()) if sim == before => {
                status.state = states::PRESENT.into();
                if let Some(set) = sim.get(&d.name, &d.rtype)
                    && owners(set.comment.as_deref()).is_none()
                {
                    status.message = Some("already present, not managed by berth".into());
                }
            }
            Ok(()) => {
                status.state = states::PENDING.into();
                out.edits.push(edit);
            }
        }
        out.records.push(status);
    }
    out.records
        .sort_by(|a, b| (&a.name, &a.record_type).cmp(&(&b.name, &b.record_type)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "shop/api";
    const OTHER: &str = "shop/admin";
    const ZONE: &str = "vocilia.com";

    fn set(name: &str, rtype: &str, values: &[&str], owners: &[&str]) -> RecordSet {
        RecordSet {
            name: fqdn(name),
            rtype: RecordType::parse(rtype),
            ttl: 300,
            records: values.iter().map(|v| (*v).to_owned()).collect(),
            comment: (!owners.is_empty())
                .then(|| marker(&owners.iter().map(|s| (*s).to_owned()).collect())),
        }
    }
    fn want(name: &str, rtype: &str, values: &[&str]) -> DesiredSet {
        let rtype = RecordType::parse(rtype);
        DesiredSet {
            name: fqdn(name),
            values: canonical_all(
                &rtype,
                &values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>(),
            ),
            rtype,
            verification: false,
        }
    }
    fn held(name: &str, rtype: &str, values: &[&str]) -> RecordStatus {
        RecordStatus {
            name: fqdn(name),
            record_type: rtype.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            state: states::PRESENT.into(),
            verification: false,
            message: None,
        }
    }
    fn run(
        zone: &[RecordSet],
        desired: &[DesiredSet],
        previous: &[RecordStatus],
    ) -> (Plan, ZoneState) {
        let state = ZoneState::new(zone.to_vec());
        let p = plan(
            Wanted {
                owner: ME,
                zone: ZONE,
                ttl: 300,
                desired,
                previous,
            },
            &state,
        );
        let mut after = state.clone();
        for e in &p.edits {
            after.apply(e).unwrap();
        }
        (p, after)
    }
    fn states_of(p: &Plan) -> Vec<(&str, &str, &str)> {
        p.records
            .iter()
            .map(|r| (r.name.as_str(), r.record_type.as_str(), r.state.as_str()))
            .collect()
    }

    // Protects: the ownership rules, one row a situation a user meets (written record sets,
    // states, conflicts).
    #[test]
    fn ownership_table() {
        struct Row {
            what: &'static str,
            zone: Vec<RecordSet>,
            desired: Vec<DesiredSet>,
            previous: Vec<RecordStatus>,
            state: &'static str,
            conflict: Option<&'static str>,
            after: Option<RecordSet>,
        }
        let rows = [
            Row {
                what: "a new record is written with berth's marker",
                zone: vec![],
                desired: vec![want("api.vocilia.com", "A", &["192.0.2.1"])],
                previous: vec![],
                state: states::PENDING,
                conflict: None,
                after: Some(set("api.vocilia.com", "A", &["192.0.2.1"], &[ME])),
            },
            Row {
                what: "an owned record that matches needs nothing",
                zone: vec![set("api.vocilia.com", "A", &["192.0.2.1"], &[ME])],
                desired: vec![want("api.vocilia.com", "A", &["192.0.2.1"])],
                previous: vec![held("api.vocilia.com", "A", &["192.0.2.1"])],
                state: states::PRESENT,
                conflict: None,
                after: Some(set("api.vocilia.com", "A", &["192.0.2.1"], &[ME])),
            },
            Row {
                what: "an owned record changed by hand is restored",
                zone: vec![set(
                    "api.vocilia.com",
                    "CNAME",
                    &["evil.example.net."],
                    &[ME],
                )],
                desired: vec![want("api.vocilia.com", "CNAME", &["k3j9.up.railway.app"])],
                previous: vec![],
                state: states::PENDING,
                conflict: None,
                after: Some(set(
                    "api.vocilia.com",
                    "CNAME",
                    &["k3j9.up.railway.app."],
                    &[ME],
                )),
            },
            Row {
                what: "a foreign record with other values is a conflict and stays",
                zone: vec![set("api.vocilia.com", "A", &["198.51.100.7"], &[])],
                desired: vec![want("api.vocilia.com", "A", &["192.0.2.1"])],
                previous: vec![],
                state: states::CONFLICT,
                conflict: Some("api.vocilia.com. A [198.51.100.7] is not managed by berth"),
                after: Some(set("api.vocilia.com", "A", &["198.51.100.7"], &[])),
            },
            Row {
                what: "a foreign record that already says it all is left as it is",
                zone: vec![set("api.vocilia.com", "A", &["192.0.2.1"], &[])],
                desired: vec![want("api.vocilia.com", "A", &["192.0.2.1"])],
                previous: vec![],
                state: states::PRESENT,
                conflict: None,
                after: Some(set("api.vocilia.com", "A", &["192.0.2.1"], &[])),
            },
            Row {
                what: "another Domain's record is a conflict naming it",
                zone: vec![set("api.vocilia.com", "A", &["192.0.2.9"], &[OTHER])],
                desired: vec![want("api.vocilia.com", "A", &["192.0.2.1"])],
                previous: vec![],
                state: states::CONFLICT,
                conflict: Some("managed by berth for Domain shop/admin"),
                after: Some(set("api.vocilia.com", "A", &["192.0.2.9"], &[OTHER])),
            },
            Row {
                what: "a shared TXT set gets our value beside another Domain's",
                zone: vec![set(
                    "_vercel.vocilia.com",
                    "TXT",
                    &["vc-domain-verify=admin"],
                    &[OTHER],
                )],
                desired: vec![want(
                    "_vercel.vocilia.com",
                    "TXT",
                    &["vc-domain-verify=api"],
                )],
                previous: vec![],
                state: states::PENDING,
                conflict: None,
                after: Some(set(
                    "_vercel.vocilia.com",
                    "TXT",
                    &["vc-domain-verify=admin", "vc-domain-verify=api"],
                    &[OTHER, ME],
                )),
            },
            Row {
                what: "a CNAME cannot join a foreign A record at its name",
                zone: vec![set("api.vocilia.com", "A", &["198.51.100.7"], &[])],
                desired: vec![want("api.vocilia.com", "CNAME", &["cname.vercel-dns.com"])],
                previous: vec![],
                state: states::CONFLICT,
                conflict: Some("a CNAME cannot share its name"),
                after: None,
            },
        ];
        for row in rows {
            let (p, after) = run(&row.zone, &row.desired, &row.previous);
            let d = &row.desired[0];
            assert_eq!(states_of(&p)[0].2, row.state, "{}", row.what);
            match row.conflict {
                Some(text) => assert!(
                    p.conflicts.iter().any(|c| c.contains(text)),
                    "{}: {:?}",
                    row.what,
                    p.conflicts
                ),
                None => assert!(p.conflicts.is_empty(), "{}: {:?}", row.what, p.conflicts),
            }
            assert_eq!(
                after.get(&d.name, &d.rtype).cloned(),
                row.after,
                "{}",
                row.what
            );
            if row.state == states::CONFLICT {
                assert_eq!(
                    after,
                    ZoneState::new(row.zone.clone()),
                    "{}: nothing changed",
                    row.what
                );
            }
        }
    }

    // Protects: a resync that finds the zone as planned writes nothing (no edits, no changes).
    #[test]
    fn second_pass_after_writing_is_a_noop() {
        let desired = [
            want("api.vocilia.com", "CNAME", &["k3j9.up.railway.app"]),
            want(
                "_railway-verify.api.vocilia.com",
                "TXT",
                &["railway-verify=6f1d"],
            ),
        ];
        let (first, after) = run(&[], &desired, &[]);
        assert_eq!(first.edits.len(), 2);
        let second = plan(
            Wanted {
                owner: ME,
                zone: ZONE,
                ttl: 300,
                desired: &desired,
                previous: &first.records,
            },
            &after,
        );
        assert!(second.is_noop(), "{:?}", second.edits);
        assert!(second.records.iter().all(|r| r.state == states::PRESENT));
    }

    // Protects: removing a Domain from a shared set takes only its own value out; the set
    // goes once its last owner leaves; foreign sets are never touched.
    #[test]
    fn release_takes_only_what_was_ours() {
        let zone = ZoneState::new(vec![
            set("_vercel.vocilia.com", "TXT", &["a", "b"], &[ME, OTHER]),
            set(
                "api.vocilia.com",
                "CNAME",
                &["cname.vercel-dns.com."],
                &[ME],
            ),
            set("www.vocilia.com", "A", &["192.0.2.80"], &[]),
        ]);
        let previous = [
            held("_vercel.vocilia.com", "TXT", &["a"]),
            held("api.vocilia.com", "CNAME", &["cname.vercel-dns.com"]),
            held("www.vocilia.com", "A", &["192.0.2.80"]),
        ];
        let p = plan(
            Wanted {
                owner: ME,
                zone: ZONE,
                ttl: 300,
                desired: &[],
                previous: &previous,
            },
            &zone,
        );
        let mut after = zone.clone();
        for e in &p.edits {
            after.apply(e).unwrap();
        }
        assert_eq!(
            after.get("_vercel.vocilia.com", &RecordType::Txt),
            Some(&set("_vercel.vocilia.com", "TXT", &["b"], &[OTHER]))
        );
        assert_eq!(after.get("api.vocilia.com", &RecordType::Cname), None);
        assert!(
            after.get("www.vocilia.com", &RecordType::A).is_some(),
            "foreign stays"
        );
        assert_eq!(
            after.changes_since(&zone),
            vec![
                Change::Delete {
                    name: "api.vocilia.com.".into(),
                    rtype: RecordType::Cname
                },
                Change::Replace(set("_vercel.vocilia.com", "TXT", &["b"], &[OTHER])),
            ]
        );
    }

    // Protects: switching an owned A record to a CNAME deletes the A in the same batch,
    // before the CNAME is written (PowerDNS refuses a CNAME beside other data).
    #[test]
    fn switching_type_deletes_the_old_set_first() {
        let zone = [set("app.vocilia.com", "A", &["192.0.2.1"], &[ME])];
        let (p, after) = run(
            &zone,
            &[want("app.vocilia.com", "CNAME", &["cname.vercel-dns.com"])],
            &[held("app.vocilia.com", "A", &["192.0.2.1"])],
        );
        assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
        let changes = after.changes_since(&ZoneState::new(zone.to_vec()));
        assert!(matches!(changes[0], Change::Delete { .. }), "{changes:?}");
        assert!(matches!(changes[1], Change::Replace(_)), "{changes:?}");
    }

    // Protects: ownership proofs stay once written (the platform stops listing them when
    // verified), and platform records outside the zone are reported, not written.
    #[test]
    fn platform_records_keep_written_proofs_and_report_foreign_zones() {
        let mut proof = held("_vercel.vocilia.com", "TXT", &["vc-domain-verify=x"]);
        proof.verification = true;
        let required = [RequiredRecord {
            name: "app.vocilia.com.".into(),
            rtype: RecordType::Cname,
            value: "cname.vercel-dns.com".into(),
            verification: false,
        }];
        let desired = from_platform(&required, &[proof]);
        assert_eq!(desired.len(), 2);
        assert!(
            desired
                .iter()
                .any(|d| d.verification && d.rtype == RecordType::Txt)
        );

        let outside = [want("_vercel.other.com", "TXT", &["x"])];
        let (p, _) = run(&[], &outside, &[]);
        assert_eq!(p.outside_zone, ["_vercel.other.com. TXT"]);
        assert!(p.edits.is_empty());
    }

    // Protects: the marker round-trips, and comments that are not berth's mean "foreign".
    #[test]
    fn marker_round_trip() {
        let o: BTreeSet<String> = [ME.to_owned(), OTHER.to_owned()].into();
        assert_eq!(owners(Some(&marker(&o))), Some(o));
        assert_eq!(owners(Some("added by hand")), None);
        assert_eq!(owners(None), None);
    }
}
