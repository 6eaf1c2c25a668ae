//! The Argo CD health script `manifests/argocd/health.lua` and kstatus (the library behind Flux
//! health checks and `kpt live status`) read berth's status the same way.
//!
//! The Lua script runs in a real `lua5.4` over status objects of every kind built here; the same
//! objects go through `tests/kstatus`, a small Go program around `sigs.k8s.io/cli-utils`'
//! `status.Compute`, built once per run. The ConfigMap patch that installs the script in Argo CD,
//! once per kind, is checked to embed `health.lua` byte for byte under every kind's key.

// Test helpers panic on purpose; clippy's allow-*-in-tests covers only `#[test]` functions.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use serde_json::{Value, json};

const KINDS: [&str; 5] = [
    "BackupPolicy",
    "Certificate",
    "Deployment",
    "Domain",
    "Environment",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn argocd_dir() -> PathBuf {
    repo().join("manifests/argocd")
}

/// The one health script, for every kind: Argo CD installs it once per kind.
fn script_path() -> PathBuf {
    argocd_dir().join("health.lua")
}

fn script() -> String {
    std::fs::read_to_string(script_path()).expect("manifests/argocd/health.lua exists")
}

// ---------------------------------------------------------------------------------------------
// JSON → Lua, and running a script the way Argo CD does: a global `obj`, the script as a chunk
// that returns `{status=…, message=…}`.

/// A Lua string literal: `"`, `\` and control bytes escaped, three-digit decimal escapes so that a
/// following digit cannot join the escape.
fn lua_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\{:03}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Lua table constructor for a JSON value (`null` becomes `nil`, as in Argo's conversion).
fn lua_literal(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => lua_string(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(lua_literal).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("[{}] = {}", lua_string(k), lua_literal(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn lua_binary() -> String {
    std::env::var("LUA").unwrap_or_else(|_| "lua5.4".into())
}

/// Runs the health script on `obj`, as Argo CD runs it under `obj`'s kind; returns (status,
/// message).
pub(crate) fn argo_health(obj: &Value) -> (String, String) {
    let kind = obj["kind"].as_str().expect("kind");
    let path = script_path();
    let driver = format!(
        "obj = {}\nlocal chunk = assert(loadfile({}))\nlocal r = chunk()\nprint(r.status .. \"\\t\" .. (r.message or \"\"))\n",
        lua_literal(obj),
        lua_string(path.to_str().expect("utf-8 path")),
    );
    let mut child = Command::new(lua_binary())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lua5.4 runs (Debian package lua5.4)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(driver.as_bytes())
        .expect("write driver");
    let out = child.wait_with_output().expect("lua output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{kind} script failed: {}\n{driver}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.trim_end_matches('\n');
    let (status, message) = line
        .split_once('\t')
        .unwrap_or_else(|| panic!("unexpected output {line:?}"));
    (status.to_string(), message.to_string())
}

// ---------------------------------------------------------------------------------------------
// kstatus, built once per run.

fn kstatus_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kstatus");
        let go = std::env::var_os("GO").unwrap_or_else(|| "go".into());
        let result = Command::new(go)
            .args(["build", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(repo().join("tests/kstatus"))
            .env("GOFLAGS", "-mod=mod -buildvcs=false")
            .env("GOTOOLCHAIN", "local")
            .output()
            .expect("go runs");
        assert!(
            result.status.success(),
            "go build tests/kstatus: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        out
    })
}

/// kstatus' verdict for each object, by name: (status, message).
pub(crate) fn kstatus(objects: &[Value]) -> BTreeMap<String, (String, String)> {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let mut child = Command::new(kstatus_binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kstatus runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(list.to_string().as_bytes())
        .expect("write list");
    let out = child.wait_with_output().expect("kstatus output");
    assert!(
        out.status.success(),
        "kstatus: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let verdicts: BTreeMap<String, (String, String)> = text
        .lines()
        .map(|line| {
            let (object, rest) = line.split_once(' ').expect("<kind>/<name> <status> …");
            let (status, message) = rest.split_once(' ').unwrap_or((rest, ""));
            let name = object.split_once('/').expect("kind/name").1;
            (name.to_string(), (status.to_string(), message.to_string()))
        })
        .collect();
    assert_eq!(
        verdicts.len(),
        objects.len(),
        "one line per object:\n{text}"
    );
    verdicts
}

// ---------------------------------------------------------------------------------------------
// Objects in the states berth's controllers write.

fn condition(ctype: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-03-01T10:00:00Z",
        "observedGeneration": 2,
    })
}

fn object(kind: &str, name: &str, generation: i64, status: Option<Value>) -> Value {
    let mut o = json!({
        "apiVersion": "berth.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "vocilia", "generation": generation},
        "spec": {"suspend": false},
    });
    if let Some(s) = status {
        o["status"] = s;
    }
    o
}

const STALLED_MESSAGE: &str =
    "railway: the token in Secret vocilia/railway-token was rejected (401 Unauthorized)";
const READY_MESSAGE: &str = "live and healthy";

/// The generic cases every kind shares, each with the Argo CD verdict and kstatus' verdict.
struct Case {
    name: &'static str,
    object: Value,
    argo: (&'static str, Option<String>),
    kstatus: &'static str,
}

fn generic_cases(kind: &str) -> Vec<Case> {
    let k = kind.to_lowercase();
    let ready = || {
        json!({
            "observedGeneration": 2,
            "conditions": [
                condition("Ready", "True", "Ready", READY_MESSAGE),
                condition("Synced", "True", "Synced", "provider calls succeeded"),
                condition("Reconciling", "False", "Reconciled", ""),
                condition("Stalled", "False", "Reconciled", ""),
            ],
        })
    };
    let mut suspended = object(kind, &format!("{k}-suspended"), 2, Some(ready()));
    suspended["spec"]["suspend"] = json!(true);
    vec![
        // Before berth has written anything. kstatus knows nothing about a status-less custom
        // resource and calls it Current: that is why berth writes status first (DESIGN rule 1).
        Case {
            name: "no status",
            object: object(kind, &format!("{k}-new"), 1, None),
            argo: ("Progressing", None),
            kstatus: "Current",
        },
        // Rule 1's first write: observedGeneration, Reconciling=True, Ready=Unknown.
        Case {
            name: "first status write",
            object: object(
                kind,
                &format!("{k}-first"),
                2,
                Some(json!({
                    "observedGeneration": 2,
                    "conditions": [
                        condition("Ready", "Unknown", "Reconciling", "reconcile in progress"),
                        condition("Reconciling", "True", "Progressing", "reconcile in progress"),
                    ],
                })),
            ),
            argo: ("Progressing", Some("reconcile in progress".into())),
            kstatus: "InProgress",
        },
        // The spec changed and berth has not caught up: the old Ready=True is not news.
        Case {
            name: "stale observedGeneration",
            object: object(kind, &format!("{k}-stale"), 3, Some(ready())),
            argo: (
                "Progressing",
                Some(
                    "Waiting for berth to observe generation 3 (status is for generation 2)".into(),
                ),
            ),
            kstatus: "InProgress",
        },
        Case {
            name: "stalled on a rejected credential",
            object: object(
                kind,
                &format!("{k}-stalled"),
                2,
                Some(json!({
                    "observedGeneration": 2,
                    "conditions": [
                        condition("Ready", "False", "ProviderNotConnected", STALLED_MESSAGE),
                        condition("Synced", "False", "ProviderNotConnected", STALLED_MESSAGE),
                        condition("Reconciling", "False", "ProviderNotConnected", ""),
                        condition("Stalled", "True", "ProviderNotConnected", STALLED_MESSAGE),
                    ],
                })),
            ),
            argo: ("Degraded", Some(STALLED_MESSAGE.into())),
            kstatus: "Failed",
        },
        Case {
            name: "ready and current",
            object: object(kind, &format!("{k}-ready"), 2, Some(ready())),
            argo: ("Healthy", Some(READY_MESSAGE.into())),
            kstatus: "Current",
        },
        // kstatus has no notion of suspension: a suspended object is as current as its status.
        Case {
            name: "suspended",
            object: suspended,
            argo: ("Suspended", None),
            kstatus: "Current",
        },
        // Ready=False without Stalled: Argo shows it broken, kstatus still waits for it.
        Case {
            name: "not ready, not stalled",
            object: object(
                kind,
                &format!("{k}-notready"),
                2,
                Some(json!({
                    "observedGeneration": 2,
                    "conditions": [
                        condition("Ready", "False", "DependencyNotReady", "waiting for Environment production"),
                        condition("Reconciling", "False", "Waiting", ""),
                    ],
                })),
            ),
            argo: (
                "Degraded",
                Some("waiting for Environment production".into()),
            ),
            kstatus: "InProgress",
        },
    ]
}

// Protects: for every kind, the Argo CD health script reads kstatus-style status as documented
// (no status and stale generations are Progressing, Stalled is Degraded with its message, Ready
// is Healthy, spec.suspend is Suspended).
#[test]
fn health_scripts_read_generic_status_for_every_kind() {
    let mut failures = Vec::new();
    for kind in KINDS {
        for case in generic_cases(kind) {
            let (status, message) = argo_health(&case.object);
            let (want_status, want_message) = &case.argo;
            let message_ok = want_message.as_ref().is_none_or(|m| *m == message);
            if status != *want_status || !message_ok || message.is_empty() {
                failures.push(format!(
                    "{kind} / {}: got {status} {message:?}, want {want_status} {want_message:?}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// Protects: the status berth writes means the same to kstatus (Flux, kpt) as to the Argo CD
// scripts, and the places where kstatus' rules differ are known.
#[test]
fn kstatus_reads_the_same_cases_by_its_own_rules() {
    let mut objects = Vec::new();
    let mut expected = BTreeMap::new();
    for kind in KINDS {
        for case in generic_cases(kind) {
            let name = case.object["metadata"]["name"]
                .as_str()
                .expect("name")
                .to_string();
            expected.insert(name, (kind, case.name, case.kstatus));
            objects.push(case.object);
        }
    }
    let verdicts = kstatus(&objects);
    let mut failures = Vec::new();
    for (name, (kind, case, want)) in &expected {
        let (got, message) = &verdicts[name];
        if got != want {
            failures.push(format!(
                "{kind} / {case}: kstatus says {got} ({message}), want {want}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A Stalled message reaches kstatus users unchanged, as it reaches Argo CD users.
    let (_, message) = &verdicts["deployment-stalled"];
    assert_eq!(message, STALLED_MESSAGE);
}

fn deployment(name: &str, status: Value) -> Value {
    object("Deployment", name, 2, Some(status))
}

fn held_status(with_stalled: bool) -> Value {
    let mut conditions = vec![
        condition(
            "Ready",
            "False",
            "RolledBack",
            "health check failed; rolled back",
        ),
        condition("Reconciling", "False", "Held", ""),
    ];
    if with_stalled {
        conditions.push(condition(
            "Stalled",
            "True",
            "RolledBack",
            "release 0badc0de failed its health check",
        ));
    }
    json!({
        "observedGeneration": 2,
        "phase": "Held",
        "heldRevision": "0badc0de",
        "current": {"revision": "600dcafe", "state": "SUCCESS"},
        "lastRollback": {
            "fromRevision": "0badc0de",
            "toRevision": "600dcafe",
            "reason": "HealthCheckFailed",
            "time": "2026-03-01T10:00:00Z",
        },
        "conditions": conditions,
    })
}

// Protects: a rolled-back Deployment shows Degraded in Argo CD and names both the revision it
// holds back and the one to revert Git to (DESIGN rule 7), whether or not Stalled is set.
#[test]
fn held_deployment_is_degraded_and_names_the_held_revision() {
    for with_stalled in [true, false] {
        let (status, message) = argo_health(&deployment("backend-held", held_status(with_stalled)));
        assert_eq!(status, "Degraded", "with Stalled={with_stalled}: {message}");
        assert!(
            message.contains("0badc0de"),
            "names the held revision: {message}"
        );
        assert!(
            message.contains("revert Git to 600dcafe"),
            "says which revision to revert to: {message}"
        );
    }
    // kstatus: Held with Stalled=True is Failed; without Stalled only Ready=False, so InProgress.
    let verdicts = kstatus(&[
        deployment("held-stalled", held_status(true)),
        deployment("held-plain", held_status(false)),
    ]);
    assert_eq!(verdicts["held-stalled"].0, "Failed");
    assert_eq!(verdicts["held-plain"].0, "InProgress");
    // A new spec (generation 3) releases the hold: Argo waits for berth instead of staying Degraded.
    let mut changed = deployment("backend-changed", held_status(true));
    changed["metadata"]["generation"] = json!(3);
    assert_eq!(argo_health(&changed).0, "Progressing");
}

// Protects: a release in flight is Progressing with the phase and revision, and a release that
// failed without a rollback is Degraded, even when the controller has not set Stalled.
#[test]
fn deployment_phases_map_to_argo_health() {
    for (phase, verb) in [
        ("Building", "Building"),
        ("Deploying", "Deploying"),
        ("Verifying", "Verifying health of"),
    ] {
        let (status, message) = argo_health(&deployment(
            "rollout",
            json!({
                "observedGeneration": 2,
                "phase": phase,
                "pending": {"revision": "1234abcd"},
                "conditions": [condition("Ready", "False", "Releasing", "release in progress")],
            }),
        ));
        assert_eq!(status, "Progressing", "{phase}: {message}");
        assert_eq!(message, format!("{verb} revision 1234abcd"));
    }
    let (status, message) = argo_health(&deployment(
        "failed",
        json!({
            "observedGeneration": 2,
            "phase": "Failed",
            "conditions": [condition("Ready", "False", "BuildFailed", "build of 1234abcd failed")],
        }),
    ));
    assert_eq!(
        (status.as_str(), message.as_str()),
        ("Degraded", "build of 1234abcd failed")
    );
    // A rollback under way is on its way back to a good release, not broken: Progressing,
    // with berth's message, or with what the record says when there is no message yet.
    let rolling = json!({
        "observedGeneration": 2,
        "phase": "RollingBack",
        "rollingBack": {"fromRevision": "0badc0de", "toRevision": "600dc0de", "reason": "HealthCheckFailed"},
        "conditions": [condition("Ready", "False", "RollingBack", "rolling back to revision 600dc0de")],
    });
    let (status, message) = argo_health(&deployment("rolling-back", rolling.clone()));
    assert_eq!(
        (status.as_str(), message.as_str()),
        ("Progressing", "rolling back to revision 600dc0de")
    );
    let mut bare = rolling;
    bare["conditions"] = json!([]);
    let (status, message) = argo_health(&deployment("rolling-back", bare));
    assert_eq!(
        (status.as_str(), message.as_str()),
        (
            "Progressing",
            "Rolling back revision 0badc0de to 600dc0de (HealthCheckFailed)"
        )
    );
    // A Stalled build (say, the progress deadline passed) is Degraded, not "Building".
    let (status, _) = argo_health(&deployment(
        "deadline",
        json!({
            "observedGeneration": 2,
            "phase": "Building",
            "conditions": [condition("Stalled", "True", "ProgressDeadlineExceeded", "build took longer than 15m")],
        }),
    ));
    assert_eq!(status, "Degraded");
}

// Protects: the kind-specific readings of Domain, Certificate, BackupPolicy and Environment.
#[test]
fn kind_specific_health_readings() {
    // A Domain waiting for DNS is on its way, not broken.
    let mut domain = object(
        "Domain",
        "api.vocilia.com",
        2,
        Some(json!({
            "observedGeneration": 2,
            "conditions": [condition("Ready", "False", "PropagationPending", "not yet propagated")],
            "propagation": {"state": "Pending", "message": "ns2.vocilia.com still answers NXDOMAIN"},
        })),
    );
    domain["spec"]["hostname"] = json!("api.vocilia.com");
    let (status, message) = argo_health(&domain);
    assert_eq!(status, "Progressing");
    assert_eq!(
        message,
        "Waiting for DNS propagation of api.vocilia.com: ns2.vocilia.com still answers NXDOMAIN"
    );

    // A Certificate endpoint serving something else is Degraded even while Ready says True.
    let cert = |served_matches: bool| {
        object(
            "Certificate",
            "api.vocilia.com",
            2,
            Some(json!({
                "observedGeneration": 2,
                "notAfter": "2026-06-01T00:00:00Z",
                "served": {"matches": served_matches, "serialNumber": "0a1b", "notAfter": "2026-03-05T00:00:00Z"},
                "conditions": [condition("Ready", "True", "Issued", "certificate issued")],
            })),
        )
    };
    assert_eq!(
        argo_health(&cert(true)),
        (
            "Healthy".to_string(),
            "certificate issued (expires 2026-06-01T00:00:00Z)".to_string()
        )
    );
    let (status, message) = argo_health(&cert(false));
    assert_eq!(status, "Degraded");
    assert!(message.contains("serial 0a1b"), "{message}");

    // A backup whose restore failed is not a backup.
    let (status, message) = argo_health(&object(
        "BackupPolicy",
        "vocilia-db",
        2,
        Some(json!({
            "observedGeneration": 2,
            "lastVerification": {"backupId": "20260301T030000Z", "time": "2026-03-01T04:30:00Z", "passed": false, "failedChecks": ["stores-not-empty", "migrations-applied"]},
            "conditions": [condition("Ready", "True", "BackedUp", "last backup 2026-03-01T03:00:05Z")],
        })),
    ));
    assert_eq!(status, "Degraded");
    assert_eq!(
        message,
        "Restore verification of backup 20260301T030000Z failed: stores-not-empty, migrations-applied"
    );

    // Drift left in place by driftPolicy: Report is visible on a healthy Environment.
    let mut env = object(
        "Environment",
        "staging",
        2,
        Some(json!({
            "observedGeneration": 2,
            "driftCount": 2,
            "conditions": [condition("Ready", "True", "Synced", "all targets in sync")],
        })),
    );
    env["spec"]["driftPolicy"] = json!("Report");
    assert_eq!(
        argo_health(&env),
        (
            "Healthy".to_string(),
            "2 variable(s) differ from the declared values (driftPolicy: Report)".to_string()
        )
    );
}

// Protects: the Lua helper quotes strings so that status text cannot break out of a literal.
#[test]
fn lua_literal_quotes_hostile_strings() {
    let hostile = "a\"b\\c\nd\u{1}9 ]] end print('x') --";
    let mut o = object("Domain", "quoted", 2, None);
    o["spec"]["suspend"] = json!(true);
    o["metadata"]["annotations"] = json!({"note": hostile});
    let driver = format!(
        "local t = {}\nio.write(t.metadata.annotations.note)",
        lua_literal(&o)
    );
    let out = Command::new(lua_binary())
        .args(["-e", &driver])
        .output()
        .expect("lua runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).expect("utf-8"), hostile);
}

// Protects: the status fields the scripts read survive the API server's schema (nothing pruned),
// so Argo CD and kstatus see a stored Held Deployment the way the cases above build it.
#[tokio::test]
async fn a_stored_held_deployment_reads_the_same_after_the_api_server() {
    let client = crate::support::client().await;
    let ns = crate::support::namespace(&client, "health_stored").await;
    let manifest = r"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: backend
spec:
  environmentRef: {name: production}
  service:
    railway: {serviceId: 9f8e7d6c-5b4a-4321-8fed-cba987654321}
  source: {repo: vocilia/vocilia-backend, commit: 0badc0de}
";
    let (ok, _, err) = crate::support::kubectl(&["apply", "-n", &ns, "-f", "-"], Some(manifest));
    assert!(ok, "apply: {err}");
    let mut status = held_status(true);
    // The object was just created: generation 1.
    status["observedGeneration"] = json!(1);
    let patch = json!({ "status": status }).to_string();
    let (ok, _, err) = crate::support::kubectl(
        &[
            "patch",
            "-n",
            &ns,
            "deployments.berth.dev/backend",
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ],
        None,
    );
    assert!(ok, "patch status: {err}");
    let (ok, out, err) = crate::support::kubectl(
        &[
            "get",
            "-n",
            &ns,
            "deployments.berth.dev/backend",
            "-o",
            "json",
        ],
        None,
    );
    assert!(ok, "get: {err}");
    let stored: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        stored["status"]["heldRevision"], "0badc0de",
        "status kept: {stored}"
    );
    let (status, message) = argo_health(&stored);
    assert_eq!(status, "Degraded", "{message}");
    assert!(
        message.contains("0badc0de") && message.contains("600dcafe"),
        "{message}"
    );
    assert_eq!(kstatus(&[stored])["backend"].0, "Failed");
}

// ---------------------------------------------------------------------------------------------
// Installing the script: the argocd-cm patch embeds health.lua verbatim, once per kind.

const PATCH_HEADER: &str = "\
# Installs berth's Argo CD health check. Argo CD looks a script up by group and kind, so this
# patch has one `resource.customizations.health.<group>_<Kind>` key per berth kind, and every
# key holds the same script, health.lua beside this file, byte for byte (it branches on
# obj.kind). Install with
#
#   kubectl -n argocd patch configmap argocd-cm --type merge --patch-file manifests/argocd/argocd-cm-patch.yaml
#
# or, in a kustomization that installs Argo CD, list this file under `patches:`.
#
# Generated: do not edit the script here. Edit health.lua and run
#   BERTH_BLESS=1 cargo test --test integration health_scripts
# which rewrites this file; the same test fails if the two ever differ.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
";

fn health_key(kind: &str) -> String {
    format!("resource.customizations.health.berth.dev_{kind}")
}

fn render_patch() -> String {
    let script = script();
    let mut out = String::from(PATCH_HEADER);
    for kind in KINDS {
        out.push_str(&format!("  {}: |\n", health_key(kind)));
        for line in script.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The kinds the checked-in CRDs in `crds/` define, sorted.
fn crd_kinds() -> Vec<String> {
    let mut kinds: Vec<String> = std::fs::read_dir(repo().join("crds"))
        .expect("crds/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read CRD");
            let crd: Value = serde_yaml::from_str(&text).expect("CRD is YAML");
            assert_eq!(crd["spec"]["group"], "berth.dev", "{}", p.display());
            crd["spec"]["names"]["kind"]
                .as_str()
                .expect("spec.names.kind")
                .to_string()
        })
        .collect();
    kinds.sort();
    kinds
}

// Protects: the patch users apply installs exactly the script the tests above exercise, under
// every kind's key.
#[test]
fn argocd_cm_patch_embeds_the_script_byte_for_byte() {
    let path = argocd_dir().join("argocd-cm-patch.yaml");
    let rendered = render_patch();
    if std::env::var_os("BERTH_BLESS").is_some() {
        std::fs::write(&path, &rendered).expect("write patch");
    }
    let on_disk = std::fs::read_to_string(&path).expect("argocd-cm-patch.yaml exists");
    assert!(
        on_disk == rendered,
        "manifests/argocd/argocd-cm-patch.yaml differs from health.lua: run `BERTH_BLESS=1 cargo test --test integration health_scripts`"
    );
}

// Protects: every kind in crds/ gets the health script in Argo CD, and the patch has no stray
// key: what a YAML parser reads back under each kind's key is health.lua, exactly.
#[test]
fn argocd_cm_patch_has_the_script_for_every_crd_kind() {
    let kinds = crd_kinds();
    assert_eq!(
        kinds,
        KINDS.map(String::from).to_vec(),
        "the cases above cover every kind"
    );
    let path = argocd_dir().join("argocd-cm-patch.yaml");
    let on_disk = std::fs::read_to_string(&path).expect("argocd-cm-patch.yaml exists");
    let cm: Value = serde_yaml::from_str(&on_disk).expect("patch is YAML");
    let data = cm["data"].as_object().expect("data");
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    let want: Vec<String> = kinds.iter().map(|k| health_key(k)).collect();
    assert_eq!(
        keys,
        want.iter().collect::<Vec<_>>(),
        "one key per CRD kind"
    );
    let script = script();
    for key in &want {
        let embedded = data[key].as_str().expect("script is a string");
        assert!(embedded == script, "{key} differs from health.lua");
    }
}
