//! What `berth plan` found, as a value (serialised for `-o json`) and as text. Only names are
//! reported, never values: a variable from a Secret or marked sensitive is flagged
//! `sensitive` so a reader knows its value is not shown anywhere (not even in a diff).
//! BackupPolicies show what retention would prune, backup by backup.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::backup::retention::Keep;

/// The whole plan.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub environments: Vec<EnvironmentPlan>,
    pub deployments: Vec<DeploymentPlan>,
    pub backup_policies: Vec<BackupPolicyPlan>,
    pub summary: Summary,
}

/// Counts over the plan; `changes` is what decides the exit code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub deploy: usize,
    /// Backups retention would prune (delete the file or object of) if it ran now.
    pub prune: usize,
    /// Objects the plan could not be made for (missing Secrets, rejected credentials, …).
    pub errors: usize,
}

impl Summary {
    /// Writes berth would make: at providers, and deletions of backups.
    #[must_use]
    pub fn changes(&self) -> usize {
        self.create + self.update + self.delete + self.deploy + self.prune
    }
}

/// One Environment.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentPlan {
    pub namespace: String,
    pub name: String,
    /// Why nothing would be written even where values differ (`suspend`, `Observe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applied: Option<String>,
    /// Why no plan could be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub targets: Vec<TargetChanges>,
}

/// One target of an Environment (`railway:<service>`, `vercel:<project>`).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetChanges {
    pub target: String,
    pub create: Vec<VariableChange>,
    pub update: Vec<VariableChange>,
    pub delete: Vec<VariableChange>,
    /// Changed outside berth since its last sync.
    pub drifted: Vec<String>,
    /// Whether drift is rewritten (`driftPolicy: Correct`) or only reported.
    pub drift_corrected: bool,
    /// At the platform, neither declared nor owned by berth: left alone.
    pub unmanaged: Vec<String>,
}

impl TargetChanges {
    fn writes(&self) -> usize {
        self.create.len() + self.update.len() + self.delete.len()
    }
}

/// A variable berth would write or delete: its name, never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableChange {
    pub name: String,
    /// Vercel targets of the entry (empty on Railway).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    pub sensitive: bool,
}

/// One Deployment.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentPlan {
    pub namespace: String,
    pub name: String,
    /// `vercel:<project>` or `railway:<service id>`.
    pub service: String,
    /// The declared revision (commit, or ref without one).
    pub revision: String,
    /// What berth would do.
    pub action: DeployAction,
    /// Why, in words.
    pub message: String,
    /// The deployment serving at the provider now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveDeployment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What berth would do about a Deployment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DeployAction {
    /// Start a provider deployment of the declared revision.
    Deploy,
    /// Nothing: the declared revision is live.
    #[default]
    None,
    /// Nothing new: a release of the declared revision is already in flight.
    InFlight,
    /// Nothing: the revision failed and was rolled back; it is held until the spec changes.
    Held,
    /// Nothing: suspended.
    Suspended,
}

/// The provider's live deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveDeployment {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// One BackupPolicy: what retention would keep and prune if it ran now.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicyPlan {
    pub namespace: String,
    pub name: String,
    /// Why retention does not run even where it would prune (`suspend`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applied: Option<String>,
    /// Why retention is not shown (no history database given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_shown: Option<String>,
    /// Why no plan could be made (an invalid retention spec, an unreadable catalogue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Complete backups retention keeps, newest first.
    pub keep: Vec<BackupEntry>,
    /// Complete backups retention would prune, newest first.
    pub prune: Vec<BackupEntry>,
}

/// A complete backup in the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupEntry {
    pub id: String,
    /// When it was taken (the moment its data is from).
    pub started_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// `file://…` or `s3://…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The rules that keep it (empty for a backup to prune).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_by: Vec<Keep>,
}

impl Report {
    /// Fills in the summary from the entries.
    pub fn tally(&mut self) {
        let mut s = Summary::default();
        for e in &self.environments {
            s.errors += usize::from(e.error.is_some());
            if e.not_applied.is_some() {
                continue;
            }
            for t in &e.targets {
                s.create += t.create.len();
                s.update += t.update.len();
                s.delete += t.delete.len();
            }
        }
        for d in &self.deployments {
            s.errors += usize::from(d.error.is_some());
            s.deploy += usize::from(d.action == DeployAction::Deploy);
        }
        for b in &self.backup_policies {
            s.errors += usize::from(b.error.is_some());
            if b.not_applied.is_none() {
                s.prune += b.prune.len();
            }
        }
        self.summary = s;
    }

    /// `terraform plan -detailed-exitcode`: 0 nothing to do, 2 changes pending, 1 an object
    /// could not be planned.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        if self.summary.errors > 0 {
            1
        } else if self.summary.changes() > 0 {
            2
        } else {
            0
        }
    }

    /// The report for people.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        for e in &self.environments {
            let _ = writeln!(out, "Environment {}/{}", e.namespace, e.name);
            if let Some(error) = &e.error {
                let _ = writeln!(out, "  error: {error}");
                continue;
            }
            if let Some(why) = &e.not_applied {
                let _ = writeln!(out, "  nothing is written: {why}");
            }
            for t in &e.targets {
                target_text(&mut out, t);
            }
        }
        for d in &self.deployments {
            let _ = writeln!(out, "Deployment {}/{} ({})", d.namespace, d.name, d.service);
            if let Some(error) = &d.error {
                let _ = writeln!(out, "  error: {error}");
                continue;
            }
            let mark = if d.action == DeployAction::Deploy {
                "+"
            } else {
                "="
            };
            let _ = writeln!(out, "  {mark} {}", d.message);
            if let Some(live) = &d.live {
                let _ = writeln!(
                    out,
                    "    live now: {} ({})",
                    live.commit.as_deref().unwrap_or("commit unknown"),
                    live.id
                );
            }
        }
        for b in &self.backup_policies {
            backup_policy_text(&mut out, b);
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\nPlan: {} variable(s) to create, {} to update, {} to delete; {} deployment(s) to start{}.{}",
            s.create,
            s.update,
            s.delete,
            s.deploy,
            if self.backup_policies.is_empty() {
                String::new()
            } else {
                format!("; {} backup(s) to prune", s.prune)
            },
            if s.errors > 0 {
                format!(" {} object(s) could not be planned.", s.errors)
            } else {
                String::new()
            }
        );
        out
    }
}

fn backup_policy_text(out: &mut String, b: &BackupPolicyPlan) {
    let _ = writeln!(out, "BackupPolicy {}/{}", b.namespace, b.name);
    if let Some(error) = &b.error {
        let _ = writeln!(out, "  error: {error}");
        return;
    }
    if let Some(why) = &b.not_shown {
        let _ = writeln!(out, "  {why}");
        return;
    }
    if let Some(why) = &b.not_applied {
        let _ = writeln!(out, "  nothing is pruned: {why}");
    }
    let _ = writeln!(
        out,
        "  retention: kept {}, would prune {}",
        b.keep.len(),
        b.prune.len()
    );
    for p in &b.prune {
        let _ = writeln!(
            out,
            "    - {}  taken {}  {}  {}",
            p.id,
            time(p.started_at),
            p.size_bytes.map_or_else(|| "size unknown".into(), size),
            p.location.as_deref().unwrap_or("location unknown")
        );
    }
    for k in &b.keep {
        let rules: Vec<String> = k.kept_by.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "    = {}  taken {}  kept by {}",
            k.id,
            time(k.started_at),
            rules.join(", ")
        );
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Bytes in binary units, one decimal (`1.5 MiB`); plain bytes under 1 KiB.
fn size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    #[allow(clippy::cast_precision_loss)] // a display value
    let mut value = bytes as f64;
    if value < 1024.0 {
        return format!("{bytes} B");
    }
    let mut unit = UNITS[0];
    for u in UNITS {
        value /= 1024.0;
        unit = u;
        if value < 1024.0 {
            break;
        }
    }
    format!("{value:.1} {unit}")
}

fn target_text(out: &mut String, t: &TargetChanges) {
    if t.writes() == 0 && t.drifted.is_empty() && t.unmanaged.is_empty() {
        let _ = writeln!(out, "  {}: no changes", t.target);
        return;
    }
    let _ = writeln!(out, "  {}", t.target);
    for (mark, list) in [("+", &t.create), ("~", &t.update), ("-", &t.delete)] {
        for v in list {
            let mut line = format!("    {mark} {}", v.name);
            if !v.targets.is_empty() {
                let _ = write!(line, " [{}]", v.targets.join(", "));
            }
            if v.sensitive {
                line.push_str(" (sensitive)");
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if !t.drifted.is_empty() {
        let what = if t.drift_corrected {
            "restored by this plan"
        } else {
            "reported only, driftPolicy: Report"
        };
        let _ = writeln!(
            out,
            "    ! changed outside berth: {} ({what})",
            t.drifted.join(", ")
        );
    }
    if !t.unmanaged.is_empty() {
        let _ = writeln!(
            out,
            "    ? not managed by berth (left alone): {}",
            t.unmanaged.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, sensitive: bool) -> VariableChange {
        VariableChange {
            name: name.into(),
            targets: Vec::new(),
            sensitive,
        }
    }

    // Protects: the exit code follows terraform's -detailed-exitcode, and an Environment
    // that would write nothing (Observe, suspended) does not count as a change.
    #[test]
    fn exit_codes() {
        let mut r = Report::default();
        r.tally();
        assert_eq!(r.exit_code(), 0);
        r.environments.push(EnvironmentPlan {
            name: "observe".into(),
            not_applied: Some("managementPolicy is Observe".into()),
            targets: vec![TargetChanges {
                target: "vercel:web".into(),
                create: vec![var("A", false)],
                ..TargetChanges::default()
            }],
            ..EnvironmentPlan::default()
        });
        r.tally();
        assert_eq!(r.exit_code(), 0);
        r.deployments.push(DeploymentPlan {
            action: DeployAction::Deploy,
            ..DeploymentPlan::default()
        });
        r.tally();
        assert_eq!((r.summary.deploy, r.exit_code()), (1, 2));
        r.environments[0].error = Some("waiting for Secret x/y".into());
        r.tally();
        assert_eq!(r.exit_code(), 1);
    }

    // Protects: a policy's backups to prune count as changes (exit 2) unless it is suspended;
    // one that could not be planned exits 1; one shown without a database changes nothing.
    // The text lists each backup to prune with its time, size and location, and why each
    // kept one is kept.
    #[test]
    fn backup_policies_count_and_print() {
        use chrono::TimeZone as _;
        let at = |d| Utc.with_ymd_and_hms(2026, 3, d, 3, 0, 0).unwrap();
        let mut r = Report {
            backup_policies: vec![BackupPolicyPlan {
                namespace: "shop".into(),
                name: "orders".into(),
                not_shown: Some("retention not shown: no database".into()),
                ..BackupPolicyPlan::default()
            }],
            ..Report::default()
        };
        r.tally();
        assert_eq!(r.exit_code(), 0);
        assert!(r.text().contains("  retention not shown: no database\n"));
        assert!(
            r.text()
                .contains("0 deployment(s) to start; 0 backup(s) to prune.")
        );

        r.backup_policies[0] = BackupPolicyPlan {
            namespace: "shop".into(),
            name: "orders".into(),
            keep: vec![BackupEntry {
                id: "b2".into(),
                started_at: at(2),
                size_bytes: Some(10),
                location: None,
                kept_by: vec![Keep::KeepLast, Keep::KeepDaily],
            }],
            prune: vec![BackupEntry {
                id: "b1".into(),
                started_at: at(1),
                size_bytes: Some(3 * 1024 * 1024 / 2),
                location: Some("file:///b/b1.dump".into()),
                kept_by: Vec::new(),
            }],
            ..BackupPolicyPlan::default()
        };
        r.tally();
        assert_eq!((r.summary.prune, r.exit_code()), (1, 2));
        let text = r.text();
        assert!(
            text.contains("BackupPolicy shop/orders\n  retention: kept 1, would prune 1\n"),
            "{text}"
        );
        assert!(
            text.contains("    - b1  taken 2026-03-01T03:00:00Z  1.5 MiB  file:///b/b1.dump\n"),
            "{text}"
        );
        assert!(
            text.contains("    = b2  taken 2026-03-02T03:00:00Z  kept by keepLast, keepDaily\n"),
            "{text}"
        );
        assert!(text.contains("; 1 backup(s) to prune."), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["backupPolicies"][0]["keep"][0]["keptBy"],
            serde_json::json!(["keepLast", "keepDaily"])
        );
        assert_eq!(
            json["backupPolicies"][0]["prune"][0]["startedAt"],
            "2026-03-01T03:00:00Z"
        );
        assert_eq!(json["summary"]["prune"], 1);

        r.backup_policies[0].not_applied = Some("suspend is true".into());
        r.tally();
        assert_eq!((r.summary.prune, r.exit_code()), (0, 0));
        r.backup_policies[0].error = Some("spec.retention.keepDaily: -1 is outside 0–1000".into());
        r.tally();
        assert_eq!(r.exit_code(), 1);
        assert!(r.text().contains("  error: spec.retention.keepDaily: -1"));
    }

    // Protects: the text names variables and marks sensitive ones, and says what drift does.
    #[test]
    fn text_marks_sensitive_and_drift() {
        let mut r = Report {
            environments: vec![EnvironmentPlan {
                namespace: "shop".into(),
                name: "prod".into(),
                targets: vec![TargetChanges {
                    target: "railway:api".into(),
                    create: vec![var("DATABASE_URL", true)],
                    update: vec![var("API_URL", false)],
                    drifted: vec!["API_URL".into()],
                    drift_corrected: true,
                    unmanaged: vec!["HAND".into()],
                    ..TargetChanges::default()
                }],
                ..EnvironmentPlan::default()
            }],
            ..Report::default()
        };
        r.tally();
        let text = r.text();
        assert!(text.contains("+ DATABASE_URL (sensitive)"), "{text}");
        assert!(text.contains("~ API_URL\n"), "{text}");
        assert!(
            text.contains("changed outside berth: API_URL (restored"),
            "{text}"
        );
        assert!(text.contains("left alone): HAND"), "{text}");
        assert!(
            text.contains("1 variable(s) to create, 1 to update"),
            "{text}"
        );
    }
}
