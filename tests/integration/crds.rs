//! The CRDs install on a real API server and match what is checked in.

use crate::support;

// Protects: `crds/` is what `berth crds` prints; a stale checked-in file fails the build.
#[test]
fn checked_in_crds_match_the_rust_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("crds/ exists")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    let on_disk: String = names
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read"))
        .collect();
    let generated = berth::crdgen::render_all().expect("render");
    assert!(
        on_disk == generated,
        "crds/ is stale: run `cargo run -- crds --write crds/`"
    );
    let files = berth::crdgen::files().expect("files");
    assert_eq!(
        names.len(),
        files.len(),
        "crds/ has a file per kind and nothing else"
    );
}

// Protects: every kind is served, with the `berth` category so `kubectl get berth` lists them all.
#[tokio::test]
async fn kubectl_get_berth_lists_every_kind() {
    let client = support::client().await;
    let ns = support::namespace(&client, "get_berth").await;
    let (ok, out, err) = support::kubectl(
        &["api-resources", "--api-group=berth.dev", "-o", "name"],
        None,
    );
    assert!(ok, "{err}");
    for kind in [
        "backuppolicies",
        "certificates",
        "deployments",
        "domains",
        "environments",
    ] {
        assert!(
            out.contains(&format!("{kind}.berth.dev")),
            "{kind} missing from:\n{out}"
        );
    }
    let (ok, _out, err) = support::kubectl(&["get", "berth", "-n", &ns], None);
    assert!(ok, "kubectl get berth: {err}");
    // The aggregated OpenAPI document picks new CRDs up a few seconds after they are established.
    let out = support::eventually(
        std::time::Duration::from_secs(30),
        "kubectl explain",
        || async {
            let (ok, out, _) = support::kubectl(&["explain", "domains.spec.hostname"], None);
            ok.then_some(out)
        },
    )
    .await;
    assert!(
        out.contains("Fully qualified hostname"),
        "explain shows field docs:\n{out}"
    );
}
