use super::*;

fn spec(yaml: &str) -> DomainSpec {
    crate::yaml::from_str(yaml).unwrap()
}
fn env(yaml: &str) -> EnvironmentSpec {
    crate::yaml::from_str(yaml).unwrap()
}
const PDNS_ENV: &str = "providers: {dns: {zone: vocilia.com, powerdns: {url: 'http://p', apiKeySecretRef: {name: k, key: k}}}}\n";

// Protects: a hostname outside the zone is a permanent spec error naming the field.
#[test]
fn hostname_outside_zone_stalls() {
    let s = spec(
        "hostname: api.other.com\nenvironmentRef: {name: production}\ntarget: {records: [{type: A, values: [192.0.2.1]}]}\n",
    );
    let Err((Verdict::Stalled { reason, message }, _)) = setup(&s, &env(PDNS_ENV), None) else {
        panic!("not stalled")
    };
    assert_eq!(reason, reasons::INVALID_SPEC);
    assert!(message.starts_with("spec.hostname"), "{message}");
}

// Protects: a deploymentRef targets the Deployment's service; the Environment must bind its
// platform, and the message says which field.
#[test]
fn deployment_ref_targets_its_service_and_needs_the_binding() {
    let s = spec(
        "hostname: app.vocilia.com\nenvironmentRef: {name: production}\ntarget: {deploymentRef: {name: web}}\n",
    );
    let d: DeploymentSpec = crate::yaml::from_str("environmentRef: {name: production}\nservice: {vercel: {project: customer}}\nsource: {repo: vocilia/web, ref: main}\n").unwrap();
    let Err((Verdict::Blocked { message }, _)) = setup(&s, &env(PDNS_ENV), Some(&d)) else {
        panic!("not blocked")
    };
    assert!(message.contains("spec.providers.vercel"), "{message}");
    let with_vercel = env(
        "providers:\n  dns: {zone: vocilia.com, powerdns: {url: 'http://p', apiKeySecretRef: {name: k, key: k}}}\n  vercel: {tokenSecretRef: {name: v, key: token}}\n",
    );
    let ok = setup(&s, &with_vercel, Some(&d)).unwrap();
    assert_eq!(
        ok.target,
        Target::Platform(d.service.clone()),
        "the Deployment's service is the target"
    );
    assert!(
        ok.zone_key
            .starts_with("powerdns http://p localhost vocilia.com.")
    );
}

// Protects: a Domain without a DNS binding waits for it rather than failing.
#[test]
fn environment_without_dns_blocks() {
    let s = spec(
        "hostname: api.vocilia.com\nenvironmentRef: {name: production}\ntarget: {records: [{type: A, values: [192.0.2.1]}]}\n",
    );
    assert!(matches!(
        setup(&s, &env("providers: {}\n"), None),
        Err((Verdict::Blocked { .. }, _))
    ));
}
