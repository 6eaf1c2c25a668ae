//! The README's main job: `berth up` brings up its own control plane, Postgres, PowerDNS,
//! Pebble, S3 server and provider sandbox, installs the CRDs, runs the controller and applies
//! the Vocilia example pointed at them; `--check` exits once every example object is Ready, a
//! requested backup has been taken and verified by restore, and the monitoring API reports
//! probes of every Deployment.

use std::process::Command;

// Protects: a new user's first command works end to end: every example object becomes Ready
// against the local stack (variables synced, releases live, domains verified through PowerDNS,
// the ACME certificate issued by Pebble), and a backup on request is taken and verified.
#[test]
fn berth_up_brings_the_example_estate_up() {
    let port = berth::devstack::free_port().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["up", "--check", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("berth up runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "berth up --check failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("all 17 example objects have status"),
        "{stdout}"
    );
    assert!(
        stdout.contains("all 17 example objects are Ready"),
        "the example converges against the local stack: {stdout}"
    );
    assert!(
        stdout.contains("taken on request") && stdout.contains("verified by restore"),
        "{stdout}"
    );
    // Every Deployment is probed and healthy: no false alarm on a new user's first run.
    assert!(stdout.contains("uptime over the last hour"), "{stdout}");
    for deployment in [
        "admin",
        "backend",
        "business",
        "customer",
        "staging-backend",
        "staging-customer",
    ] {
        assert!(
            stdout.contains(&format!("vocilia/Deployment/{deployment}: 100.0% of")),
            "{deployment} probed and up:\n{stdout}"
        );
    }
    assert!(!stdout.contains("alert notification:"), "{stdout}");
    assert!(
        stdout.contains(&format!("http://127.0.0.1:{port}/health/detailed")),
        "{stdout}"
    );
    for row in [
        "environment.berth.dev/production",
        "deployment.berth.dev/backend",
        "domain.berth.dev/api.vocilia.com",
        "backuppolicy.berth.dev/vocilia-db",
    ] {
        assert!(
            stdout.contains(row),
            "kubectl get berth lists {row}:\n{stdout}"
        );
    }
}
