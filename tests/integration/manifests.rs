//! The shipped manifests: the install kustomization (namespace, RBAC, the controller Deployment)
//! and the Vocilia example estate pass the real API server's admission (`--dry-run=server`:
//! schemas, CEL rules, Pod Security), the RBAC grants what the controller needs and nothing
//! else, and the example's references all resolve.

// Test helpers panic on purpose; clippy's allow-*-in-tests covers only `#[test]` functions.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::OnceLock,
};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::support;

fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every document of a multi-document YAML stream, as JSON.
fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn kubectl_ok(args: &[&str], stdin: Option<&str>) -> String {
    let (ok, out, err) = support::kubectl(args, stdin);
    assert!(ok, "kubectl {}: {err}", args.join(" "));
    out
}

/// The `resources:` of a kustomization.yaml, and the YAML files beside it that are not listed.
fn kustomization_resources(dir: &Path) -> Vec<String> {
    let k: Value = serde_yaml::from_str(
        &std::fs::read_to_string(dir.join("kustomization.yaml")).expect("kustomization.yaml"),
    )
    .expect("kustomization is YAML");
    k["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("resource path").to_string())
        .collect()
}

fn yaml_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect()
}

/// Namespaced objects cannot be dry-run into a namespace that does not exist, so the namespaces
/// the manifests declare are created for real, once per run (apply is idempotent, but two
/// concurrent first applies would race on the create).
fn ensure_namespace(file: &Path) {
    static DONE: OnceLock<std::sync::Mutex<BTreeSet<PathBuf>>> = OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    let mut done = done.lock().expect("lock");
    if done.insert(file.to_path_buf()) {
        kubectl_ok(&["apply", "-f", path_str(file)], None);
    }
}

// ---------------------------------------------------------------------------------------------
// install/

// Protects: `kubectl apply -k manifests/` is accepted by a real API server, and installs every
// file in install/ (none forgotten in the kustomization).
#[test]
fn install_kustomization_passes_server_dry_run() {
    let root = manifests();
    let listed: BTreeSet<String> = kustomization_resources(&root)
        .into_iter()
        .map(|r| {
            r.strip_prefix("install/")
                .expect("resources under install/")
                .to_string()
        })
        .collect();
    assert_eq!(listed, yaml_files(&root.join("install")));
    ensure_namespace(&root.join("install/namespace.yaml"));

    let out = kubectl_ok(
        &[
            "apply",
            "-k",
            path_str(&root),
            "--dry-run=server",
            "-o",
            "name",
        ],
        None,
    );
    let names: BTreeSet<&str> = out.lines().collect();
    let want: BTreeSet<&str> = [
        "namespace/berth-system",
        "serviceaccount/berth",
        "clusterrole.rbac.authorization.k8s.io/berth",
        "clusterrolebinding.rbac.authorization.k8s.io/berth",
        "role.rbac.authorization.k8s.io/berth-leader-election",
        "rolebinding.rbac.authorization.k8s.io/berth-leader-election",
        "deployment.apps/berth",
        "poddisruptionbudget.policy/berth",
        "service/berth",
    ]
    .into();
    assert_eq!(names, want);

    // The CRDs are installed from crds/, never by the kustomization.
    let rendered = kubectl_ok(&["kustomize", path_str(&root)], None);
    assert!(
        documents(&rendered)
            .iter()
            .all(|d| d["kind"] != "CustomResourceDefinition"),
        "the kustomization must not carry CRDs"
    );

    // Each file on its own, too.
    for file in yaml_files(&root.join("install")) {
        let path = root.join("install").join(&file);
        kubectl_ok(&["apply", "--dry-run=server", "-f", path_str(&path)], None);
    }
}

fn controller_deployment() -> Value {
    let text =
        std::fs::read_to_string(manifests().join("install/deployment.yaml")).expect("deployment");
    serde_yaml::from_str(&text).expect("deployment YAML")
}

// Protects: the controller's pods meet the `restricted` Pod Security Standard that berth-system
// enforces (a Deployment is admitted either way; its pods would not be), and the check bites.
#[test]
fn controller_pod_passes_the_restricted_pod_security_standard() {
    ensure_namespace(&manifests().join("install/namespace.yaml"));
    let deployment = controller_deployment();
    let pod = |spec: &Value| {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "berth-pss-check", "namespace": "berth-system"},
            "spec": spec,
        })
        .to_string()
    };
    let spec = deployment["spec"]["template"]["spec"].clone();
    let (ok, _, err) =
        support::kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(&pod(&spec)));
    assert!(ok, "the controller pod is rejected: {err}");

    let mut weakened = spec;
    weakened["containers"][0]["securityContext"]
        .as_object_mut()
        .expect("container securityContext")
        .remove("capabilities");
    let (ok, _, err) = support::kubectl(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&pod(&weakened)),
    );
    assert!(!ok, "a pod keeping its capabilities must be rejected");
    assert!(err.contains("restricted"), "{err}");
}

// Protects: the Deployment has the shape the operator relies on (HA, probes, identity, limits).
#[test]
fn controller_deployment_has_the_documented_shape() {
    let d = controller_deployment();
    assert_eq!(d["spec"]["replicas"], 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "berth");
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "ghcr.io/berth-dev/berth:0.1.0");
    assert_eq!(c["args"], json!(["controller"]));
    assert_eq!(
        c["ports"],
        json!([{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(c["startupProbe"].is_object());
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}})
    );
    let env: BTreeMap<&str, &Value> = c["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| (e["name"].as_str().expect("name"), e))
        .collect();
    assert_eq!(
        env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(
        env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert_eq!(
        env["BERTH_DATABASE_URL"]["valueFrom"]["secretKeyRef"],
        json!({"name": "berth-database", "key": "url", "optional": true})
    );
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsUser"], 65532);
    // A read-only root needs a writable /tmp.
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "tmp", "mountPath": "/tmp"}])
    );
    assert_eq!(pod["volumes"], json!([{"name": "tmp", "emptyDir": {}}]));
}

// Protects: least privilege. The controller's ServiceAccount can do what DESIGN.md needs
// (status, finalizers, TLS Secrets, Events, TokenReview/SubjectAccessReview, its Lease) and
// cannot create or delete berth objects, touch workloads, or take Leases elsewhere.
#[test]
fn controller_service_account_has_exactly_the_rights_it_needs() {
    let install = manifests().join("install");
    ensure_namespace(&install.join("namespace.yaml"));
    for file in [
        "serviceaccount.yaml",
        "clusterrole.yaml",
        "clusterrolebinding.yaml",
        "leader-election-rbac.yaml",
    ] {
        kubectl_ok(&["apply", "-f", path_str(&install.join(file))], None);
    }
    let sa = "--as=system:serviceaccount:berth-system:berth";
    // (verb, resource, subresource, namespace, allowed)
    let cases: &[(&str, &str, &str, &str, bool)] = &[
        ("watch", "environments.berth.dev", "", "vocilia", true),
        ("patch", "deployments.berth.dev", "", "vocilia", true),
        ("update", "backuppolicies.berth.dev", "", "vocilia", true),
        ("patch", "domains.berth.dev", "status", "vocilia", true),
        (
            "update",
            "certificates.berth.dev",
            "status",
            "vocilia",
            true,
        ),
        (
            "update",
            "environments.berth.dev",
            "finalizers",
            "vocilia",
            true,
        ),
        ("create", "environments.berth.dev", "", "vocilia", false),
        ("delete", "certificates.berth.dev", "", "vocilia", false),
        (
            "deletecollection",
            "domains.berth.dev",
            "",
            "vocilia",
            false,
        ),
        ("create", "secrets", "", "vocilia", true),
        ("delete", "secrets", "", "vocilia", true),
        ("watch", "configmaps", "", "vocilia", true),
        ("create", "configmaps", "", "vocilia", false),
        ("create", "events.events.k8s.io", "", "vocilia", true),
        ("delete", "events.events.k8s.io", "", "vocilia", false),
        ("create", "events", "", "vocilia", false),
        ("create", "tokenreviews.authentication.k8s.io", "", "", true),
        (
            "create",
            "subjectaccessreviews.authorization.k8s.io",
            "",
            "",
            true,
        ),
        (
            "watch",
            "customresourcedefinitions.apiextensions.k8s.io",
            "",
            "",
            true,
        ),
        (
            "update",
            "customresourcedefinitions.apiextensions.k8s.io",
            "",
            "",
            false,
        ),
        (
            "create",
            "leases.coordination.k8s.io",
            "",
            "berth-system",
            true,
        ),
        (
            "update",
            "leases.coordination.k8s.io",
            "",
            "berth-system",
            true,
        ),
        (
            "delete",
            "leases.coordination.k8s.io",
            "",
            "berth-system",
            false,
        ),
        ("create", "leases.coordination.k8s.io", "", "default", false),
        ("list", "pods", "", "vocilia", false),
        ("create", "deployments.apps", "", "berth-system", false),
        (
            "create",
            "clusterrolebindings.rbac.authorization.k8s.io",
            "",
            "",
            false,
        ),
    ];
    let mut wrong = Vec::new();
    for &(verb, resource, sub, ns, allowed) in cases {
        let mut args = vec!["auth", "can-i", verb, resource, sa];
        let sub_arg = format!("--subresource={sub}");
        if !sub.is_empty() {
            args.push(&sub_arg);
        }
        let ns_arg = format!("--namespace={ns}");
        if ns.is_empty() {
            args.push("--all-namespaces");
        } else {
            args.push(&ns_arg);
        }
        // `can-i` exits 0 for yes and 1 for no; anything else would print an error.
        let (_, out, err) = support::kubectl(&args, None);
        let answer = out.trim();
        assert!(
            answer == "yes" || answer == "no",
            "can-i {args:?}: {out} {err}"
        );
        if (answer == "yes") != allowed {
            wrong.push(format!(
                "{verb} {resource}{} in {ns:?}: {answer}",
                if sub.is_empty() {
                    String::new()
                } else {
                    format!("/{sub}")
                }
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong rights:\n{}", wrong.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// examples/vocilia

fn vocilia() -> PathBuf {
    manifests().join("examples/vocilia")
}

fn rendered_vocilia() -> Vec<Value> {
    documents(&kubectl_ok(&["kustomize", path_str(&vocilia())], None))
}

// Protects: `kubectl apply -k manifests/examples/vocilia` is accepted as a whole by a real API
// server with the berth CRDs (schemas and CEL rules), and lists every file beside it.
#[test]
fn vocilia_kustomization_passes_server_dry_run() {
    let listed: BTreeSet<String> = kustomization_resources(&vocilia()).into_iter().collect();
    assert_eq!(listed, yaml_files(&vocilia()));
    ensure_namespace(&vocilia().join("namespace.yaml"));
    let out = kubectl_ok(
        &[
            "apply",
            "-k",
            path_str(&vocilia()),
            "--dry-run=server",
            "-o",
            "name",
        ],
        None,
    );
    let names: BTreeSet<&str> = out.lines().collect();
    for want in [
        "namespace/vocilia",
        "secret/railway-token",
        "secret/vercel-token",
        "secret/supabase-token",
        "secret/pdns-api-key",
        "secret/vocilia-db",
        "configmap/vocilia-config",
        "environment.berth.dev/production",
        "environment.berth.dev/staging",
        "deployment.berth.dev/backend",
        "deployment.berth.dev/customer",
        "deployment.berth.dev/business",
        "deployment.berth.dev/admin",
        "deployment.berth.dev/staging-backend",
        "deployment.berth.dev/staging-customer",
        "domain.berth.dev/api.vocilia.com",
        "domain.berth.dev/vocilia.com",
        "domain.berth.dev/admin.vocilia.com",
        "domain.berth.dev/business.vocilia.com",
        "certificate.berth.dev/api.vocilia.com",
        "certificate.berth.dev/vocilia.com",
        "certificate.berth.dev/admin.vocilia.com",
        "certificate.berth.dev/business.vocilia.com",
        "backuppolicy.berth.dev/vocilia-db",
    ] {
        assert!(names.contains(want), "{want} missing from:\n{out}");
    }
    assert_eq!(names.len(), rendered_vocilia().len(), "{out}");
}

// Protects: each example file is valid on its own in any namespace (users copy single files).
#[tokio::test]
async fn every_vocilia_file_passes_server_dry_run_in_a_fresh_namespace() {
    let client = support::client().await;
    let ns = support::namespace(&client, "vocilia_files").await;
    for file in yaml_files(&vocilia()) {
        if file == "namespace.yaml" {
            continue;
        }
        let path = vocilia().join(&file);
        let (ok, _, err) = support::kubectl(
            &[
                "apply",
                "--dry-run=server",
                "-n",
                &ns,
                "-f",
                path_str(&path),
            ],
            None,
        );
        assert!(ok, "{file}: {err}");
    }
}

// Protects: the dry-run above has teeth: the same estate with one schema violation is refused.
#[tokio::test]
async fn a_broken_vocilia_object_is_refused_by_the_dry_run() {
    let client = support::client().await;
    let ns = support::namespace(&client, "vocilia_broken").await;
    let mut env = rendered_vocilia()
        .into_iter()
        .find(|d| d["kind"] == "Environment" && d["metadata"]["name"] == "production")
        .expect("production Environment");
    env["metadata"]["namespace"] = json!(ns);
    // 19 characters: not a Supabase project ref.
    env["spec"]["providers"]["supabase"]["projectRef"] = json!("vocprod4k2m9x7q1z8w");
    let (ok, _, err) = support::kubectl(
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&env.to_string()),
    );
    assert!(!ok, "a 19-character projectRef must be refused");
    assert!(err.contains("projectRef"), "{err}");
}

/// The objects of one kind, by name.
fn by_name<'a>(docs: &'a [Value], kind: &str) -> BTreeMap<String, &'a Value> {
    docs.iter()
        .filter(|d| d["kind"] == kind)
        .map(|d| (d["metadata"]["name"].as_str().expect("name").to_string(), d))
        .collect()
}

/// Every `{name, key}` reference to a Secret or ConfigMap anywhere under `v`, with its JSON path.
fn key_refs(v: &Value, path: &str, out: &mut Vec<(String, &'static str, String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let here = format!("{path}.{k}");
                let kind = match k.as_str() {
                    "configMapKeyRef" => Some("ConfigMap"),
                    k if k.ends_with("SecretRef") || k == "secretKeyRef" => Some("Secret"),
                    _ => None,
                };
                if let Some(kind) = kind {
                    out.push((
                        here.clone(),
                        kind,
                        child["name"].as_str().expect("ref name").to_string(),
                        child["key"].as_str().expect("ref key").to_string(),
                    ));
                }
                key_refs(child, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                key_refs(item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn has_key(obj: &Value, key: &str) -> bool {
    ["data", "stringData"]
        .iter()
        .any(|field| obj[field].get(key).is_some())
}

// Protects: the example estate is coherent, so applying it yields objects that can become Ready:
// every Secret/ConfigMap key and berth reference resolves, hostnames lie in their zone,
// certificates name their domain, and variable targets are services the estate deploys.
#[test]
fn vocilia_references_resolve() {
    let docs = rendered_vocilia();
    let secrets = by_name(&docs, "Secret");
    let configmaps = by_name(&docs, "ConfigMap");
    let envs = by_name(&docs, "Environment");
    let deployments = by_name(&docs, "Deployment");
    let domains = by_name(&docs, "Domain");
    let mut broken = Vec::new();

    for d in &docs {
        let id = format!(
            "{}/{}",
            d["kind"].as_str().unwrap_or("?"),
            d["metadata"]["name"]
        );
        if d["kind"] != "Namespace" && d["metadata"]["namespace"] != "vocilia" {
            broken.push(format!("{id}: not in namespace vocilia"));
        }
        let mut refs = Vec::new();
        key_refs(&d["spec"], "spec", &mut refs);
        for (path, kind, name, key) in refs {
            let target = if kind == "Secret" {
                &secrets
            } else {
                &configmaps
            };
            if !target.get(&name).is_some_and(|o| has_key(o, &key)) {
                broken.push(format!("{id} {path}: no {kind} {name} with key {key}"));
            }
        }
        for (field, kind, pool) in [
            ("/spec/environmentRef/name", "Environment", &envs),
            (
                "/spec/database/supabaseEnvironmentRef/name",
                "Environment",
                &envs,
            ),
            (
                "/spec/target/deploymentRef/name",
                "Deployment",
                &deployments,
            ),
            ("/spec/domainRef/name", "Domain", &domains),
        ] {
            if let Some(name) = d.pointer(field).and_then(Value::as_str)
                && !pool.contains_key(name)
            {
                broken.push(format!("{id} {field}: no {kind} {name}"));
            }
        }
    }

    let zone = |env: &str| {
        envs[env]["spec"]["providers"]["dns"]["zone"]
            .as_str()
            .expect("zone")
            .to_string()
    };
    for (name, d) in &domains {
        let host = d["spec"]["hostname"].as_str().expect("hostname");
        let z = zone(d["spec"]["environmentRef"]["name"].as_str().expect("env"));
        if host != z && !host.ends_with(&format!(".{z}")) {
            broken.push(format!("Domain {name}: {host} is outside zone {z}"));
        }
    }
    for (name, c) in by_name(&docs, "Certificate") {
        let domain = c["spec"]["domainRef"]["name"].as_str().unwrap_or_default();
        let host = domains
            .get(domain)
            .map(|d| d["spec"]["hostname"].clone())
            .unwrap_or(Value::Null);
        if c["spec"]["dnsNames"][0] != host {
            broken.push(format!(
                "Certificate {name}: first dnsName is not its Domain's hostname"
            ));
        }
    }

    // Variable targets are services some Deployment of the same Environment deploys.
    for (env_name, env) in &envs {
        let deployed: BTreeSet<String> = deployments
            .values()
            .filter(|d| d["spec"]["environmentRef"]["name"] == env_name.as_str())
            .filter_map(|d| {
                d.pointer("/spec/service/railway/serviceId")
                    .or_else(|| d.pointer("/spec/service/vercel/project"))
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect();
        for var in env["spec"]["variables"].as_array().expect("variables") {
            for t in var["targets"].as_array().expect("targets") {
                let service = t["railwayService"]
                    .as_str()
                    .or_else(|| t["vercelProject"].as_str())
                    .expect("target");
                if !deployed.contains(service) {
                    broken.push(format!(
                        "Environment {env_name} variable {}: target {service} is not deployed there",
                        var["name"]
                    ));
                }
            }
        }
    }

    // The placeholders are labelled as such, so nobody mistakes them for credentials; the
    // provider tokens are the ones `berth sandbox` accepts by default.
    for (name, s) in &secrets {
        if s["metadata"]["labels"]["berth.dev/placeholder"] != "true" {
            broken.push(format!("Secret {name}: not labelled berth.dev/placeholder"));
        }
        for value in s["stringData"].as_object().expect("stringData").values() {
            if !value.as_str().is_some_and(|v| v.contains("sandbox")) {
                broken.push(format!(
                    "Secret {name}: a value is not a sandbox placeholder"
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
