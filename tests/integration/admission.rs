//! Admission: what the API server itself rejects, before berth ever sees an object.
//!
//! Every case is a manifest a user could plausibly write, applied with `kubectl apply` against
//! the real kube-apiserver with the checked-in CRDs. A rejection only counts when kubectl's
//! error names the offending field and says what is wrong with it.

use std::time::Duration;

use crate::support;

/// One invalid manifest: a name for the report, the YAML, the field path the API server must
/// attribute the error to, and substrings saying what is wrong.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// What kubectl prints after the field path of a server-side validation error.
const ERROR_TYPES: [&str; 6] = [
    "Invalid value",
    "Required value",
    "Unsupported value",
    "Duplicate value",
    "Too long",
    "Too many",
];

/// Text that must never reach a user: CEL evaluation failures instead of a validation message.
const NEVER: [&str; 3] = [
    "type conversion error",
    "no such overload",
    "evaluating rule",
];

/// Whether kubectl's error is attributed to `path` (not merely mentioned in a message).
fn names_field(stderr: &str, path: &str) -> bool {
    ERROR_TYPES
        .iter()
        .any(|t| stderr.contains(&format!("{path}: {t}")))
        || stderr.contains(&format!("unknown field \"{path}\""))
}

const KINDS: [&str; 5] = [
    "Domain",
    "Certificate",
    "Deployment",
    "Environment",
    "BackupPolicy",
];

const INVALID: &[Case] = &[
    // ---------------------------------------------------------------- Domain
    (
        "domain without a target",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: no-target
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
"#,
        "spec.target",
        &["Required value"],
    ),
    (
        "domain with a deploymentRef and records",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: two-targets
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
    records:
    - type: A
      values: ["203.0.113.10"]
"#,
        "spec.target",
        &["set exactly one of deploymentRef, railway, vercel or records"],
    ),
    (
        "domain with an empty target",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: empty-target
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target: {}
"#,
        "spec.target",
        &["set exactly one of deploymentRef, railway, vercel or records"],
    ),
    (
        "hostname in upper case",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: upper-case
spec:
  hostname: API.Vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
"#,
        "spec.hostname",
        &["API.Vocilia.com", "should match"],
    ),
    (
        "hostname with a trailing dot",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: trailing-dot
spec:
  hostname: api.vocilia.com.
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
"#,
        "spec.hostname",
        &["should match"],
    ),
    (
        "hostname with an underscore",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: underscore
spec:
  hostname: my_api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
"#,
        "spec.hostname",
        &["should match"],
    ),
    (
        "hostname with a 64-character label",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: long-label
spec:
  hostname: this-label-is-sixty-four-characters-long-which-is-one-too-many-x.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
"#,
        "spec.hostname",
        &["should match"],
    ),
    (
        "ttl quoted as a string",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: ttl-string
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
  ttl: "300"
"#,
        "spec.ttl",
        &["must be of type integer"],
    ),
    (
        "ttl with a fraction",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: ttl-fraction
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
  ttl: 300.5
"#,
        "spec.ttl",
        &["must be of type int32"],
    ),
    (
        "suspend quoted as a string",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: suspend-string
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
  suspend: "true"
"#,
        "spec.suspend",
        &["must be of type boolean"],
    ),
    (
        "ttl below a minute",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: ttl-low
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
  ttl: 30
"#,
        "spec.ttl",
        &["greater than or equal to 60"],
    ),
    (
        "deletionPolicy Destroy",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: destroy
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
  deletionPolicy: Destroy
"#,
        "spec.deletionPolicy",
        &["Unsupported value: \"Destroy\"", "\"Orphan\""],
    ),
    (
        "CNAME with two values",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: cname-two
spec:
  hostname: www.vocilia.com
  environmentRef:
    name: production
  target:
    records:
    - type: CNAME
      values:
      - cname.vercel-dns.com
      - alias.vercel-dns.com
"#,
        "spec.target.records[0]",
        &["a CNAME takes exactly one value"],
    ),
    (
        "A record with an IPv6 address",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: a-ipv6
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    records:
    - type: A
      values: ["2001:db8::10"]
"#,
        "spec.target.records[0]",
        &["an A record takes IPv4 addresses"],
    ),
    (
        "A record with an octet over 255",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: a-octet
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    records:
    - type: A
      values: ["203.0.113.256"]
"#,
        "spec.target.records[0]",
        &["an A record takes IPv4 addresses"],
    ),
    (
        "misspelt field deletePolicy",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: typo
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
  deletePolicy: Orphan
"#,
        "spec.deletePolicy",
        &["unknown field"],
    ),
    (
        "domain with an empty records list",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: no-records
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    records: []
"#,
        "spec.target.records",
        &["should have at least 1 items"],
    ),
    // ----------------------------------------------------------- Certificate
    (
        "certificate without dnsNames",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: no-names
spec:
  environmentRef:
    name: production
  issuer:
    platform:
      provider: Vercel
"#,
        "spec.dnsNames",
        &["Required value"],
    ),
    (
        "certificate with an empty dnsNames list",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: empty-names
spec:
  environmentRef:
    name: production
  dnsNames: []
  issuer:
    platform:
      provider: Vercel
"#,
        "spec.dnsNames",
        &["should have at least 1 items"],
    ),
    (
        "certificate with acme and platform issuers",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: two-issuers
spec:
  environmentRef:
    name: production
  dnsNames: [api.vocilia.com]
  secretName: api-tls
  issuer:
    acme:
      server: https://acme-v02.api.letsencrypt.org/directory
      email: ops@vocilia.com
    platform:
      provider: Railway
"#,
        "spec.issuer",
        &["set exactly one of acme or platform"],
    ),
    (
        "ACME server over plain http",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: acme-http
spec:
  environmentRef:
    name: production
  dnsNames: [api.vocilia.com]
  secretName: api-tls
  issuer:
    acme:
      server: http://acme-v02.api.letsencrypt.org/directory
      email: ops@vocilia.com
"#,
        "spec.issuer.acme.server",
        &["must be an https:// URL"],
    ),
    (
        "acme issuer without secretName",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: acme-no-secret
spec:
  environmentRef:
    name: production
  dnsNames: [api.vocilia.com]
  issuer:
    acme:
      server: https://acme-v02.api.letsencrypt.org/directory
      email: ops@vocilia.com
"#,
        "spec.secretName",
        &["is required with an acme issuer"],
    ),
    (
        "dnsName in upper case",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: upper-name
spec:
  environmentRef:
    name: production
  dnsNames: [Api.Vocilia.com]
  issuer:
    platform:
      provider: Vercel
"#,
        "spec.dnsNames[0]",
        &["should match"],
    ),
    (
        "the same dnsName twice",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: dup-names
spec:
  environmentRef:
    name: production
  dnsNames:
  - vocilia.com
  - www.vocilia.com
  - vocilia.com
  issuer:
    platform:
      provider: Vercel
"#,
        "spec.dnsNames[2]",
        &["Duplicate value", "vocilia.com"],
    ),
    (
        "renewBefore written as 10 days",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: renew-days
spec:
  environmentRef:
    name: production
  dnsNames: [api.vocilia.com]
  secretName: api-tls
  renewBefore: 10 days
  issuer:
    acme:
      server: https://acme-v02.api.letsencrypt.org/directory
      email: ops@vocilia.com
"#,
        "spec.renewBefore",
        &["should match"],
    ),
    (
        "renewBefore of 90 days",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: renew-90d
spec:
  environmentRef:
    name: production
  dnsNames: [api.vocilia.com]
  secretName: api-tls
  renewBefore: 2160h
  issuer:
    acme:
      server: https://acme-v02.api.letsencrypt.org/directory
      email: ops@vocilia.com
"#,
        "spec.renewBefore",
        &["shorter than 90 days"],
    ),
    (
        "RSA key of 256 bits",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: rsa-256
spec:
  environmentRef:
    name: production
  dnsNames: [api.vocilia.com]
  secretName: api-tls
  privateKey:
    algorithm: RSA
    size: 256
  issuer:
    acme:
      server: https://acme-v02.api.letsencrypt.org/directory
      email: ops@vocilia.com
"#,
        "spec.privateKey.size",
        &["RSA takes 2048, 3072 or 4096"],
    ),
    (
        "platform issuer Netlify",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: netlify
spec:
  environmentRef:
    name: production
  dnsNames: [www.vocilia.com]
  issuer:
    platform:
      provider: Netlify
"#,
        "spec.issuer.platform.provider",
        &["Unsupported value: \"Netlify\""],
    ),
    // ------------------------------------------------------------ Deployment
    (
        "deployment without a source",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: no-source
spec:
  environmentRef:
    name: production
  service:
    railway:
      serviceId: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
"#,
        "spec.source",
        &["Required value"],
    ),
    (
        "deployment of a Railway service and a Vercel project",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: two-services
spec:
  environmentRef:
    name: production
  service:
    railway:
      serviceId: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
    vercel:
      project: web
  source:
    repo: vocilia/api
    ref: main
"#,
        "spec.service",
        &["set exactly one of railway or vercel"],
    ),
    (
        "source with neither commit nor ref",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: no-revision
spec:
  environmentRef:
    name: production
  service:
    vercel:
      project: web
  source:
    repo: vocilia/web
"#,
        "spec.source",
        &["set commit or ref"],
    ),
    (
        "Vercel source pinned to a commit without its branch",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: vercel-commit-only
spec:
  environmentRef:
    name: production
  service:
    vercel:
      project: web
  source:
    repo: vocilia/web
    commit: 8b1e4d7a2c5f9e0b3d6a8c1f4e7b0d2a5c8e1f3b
"#,
        "spec.source",
        &["Vercel deployment needs ref"],
    ),
    (
        "commit that is not a hex SHA",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: commit-tag
spec:
  environmentRef:
    name: production
  service:
    vercel:
      project: web
  source:
    repo: vocilia/web
    commit: v1.4.2
"#,
        "spec.source.commit",
        &["should match"],
    ),
    (
        "progressDeadline of 30s",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: deadline-short
spec:
  environmentRef:
    name: production
  service:
    vercel:
      project: web
  source:
    repo: vocilia/web
    ref: main
  progressDeadline: 30s
"#,
        "spec.progressDeadline",
        &["must be between 1m and 6h"],
    ),
    (
        "revisionHistoryLimit spelt out",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: history-ten
spec:
  environmentRef:
    name: production
  service:
    vercel:
      project: web
  source:
    repo: vocilia/web
    ref: main
  revisionHistoryLimit: ten
"#,
        "spec.revisionHistoryLimit",
        &["must be of type integer"],
    ),
    (
        "health check timeout longer than its interval",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: slow-check
spec:
  environmentRef:
    name: production
  service:
    railway:
      serviceId: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
  source:
    repo: vocilia/api
    ref: main
  healthCheck:
    path: /healthz
    interval: 10s
    timeout: 30s
"#,
        "spec.healthCheck.timeout",
        &["must not exceed spec.healthCheck.interval"],
    ),
    (
        "health check path without a leading slash",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: relative-path
spec:
  environmentRef:
    name: production
  service:
    railway:
      serviceId: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
  source:
    repo: vocilia/api
    ref: main
  healthCheck:
    path: healthz
"#,
        "spec.healthCheck.path",
        &["should match"],
    ),
    (
        "health check interval in words",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: interval-words
spec:
  environmentRef:
    name: production
  service:
    railway:
      serviceId: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
  source:
    repo: vocilia/api
    ref: main
  healthCheck:
    interval: 30 seconds
"#,
        "spec.healthCheck.interval",
        &["should match"],
    ),
    (
        "progressDeadline written as 15 minutes",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: deadline-words
spec:
  environmentRef:
    name: production
  service:
    railway:
      serviceId: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
  source:
    repo: vocilia/api
    ref: main
  progressDeadline: 15 minutes
"#,
        "spec.progressDeadline",
        &["should match"],
    ),
    // ----------------------------------------------------------- Environment
    (
        "environment without providers",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: no-providers
spec:
  driftPolicy: Report
"#,
        "spec.providers",
        &["Required value"],
    ),
    (
        "variable with both value and valueFrom",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: value-and-from
spec:
  providers:
    vercel:
      tokenSecretRef:
        name: vercel
        key: token
  variables:
  - name: NEXT_PUBLIC_API_URL
    value: https://api.vocilia.com
    valueFrom:
      configMapKeyRef:
        name: web-config
        key: apiUrl
    targets:
    - vercelProject: web
"#,
        "spec.variables[0]",
        &["set exactly one of value or valueFrom"],
    ),
    (
        "valueFrom with a Secret and a ConfigMap",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: two-sources
spec:
  providers:
    vercel:
      tokenSecretRef:
        name: vercel
        key: token
  variables:
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: db
        key: url
      configMapKeyRef:
        name: db
        key: url
    targets:
    - vercelProject: web
"#,
        "spec.variables[0].valueFrom",
        &["set exactly one of secretKeyRef or configMapKeyRef"],
    ),
    (
        "railwayService target without a Railway binding",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: no-railway
spec:
  providers:
    vercel:
      tokenSecretRef:
        name: vercel
        key: token
  variables:
  - name: LOG_LEVEL
    value: info
    targets:
    - railwayService: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
"#,
        "spec.providers",
        &["railwayService needs spec.providers.railway"],
    ),
    (
        "the same variable twice",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: dup-vars
spec:
  providers:
    vercel:
      tokenSecretRef:
        name: vercel
        key: token
  variables:
  - name: LOG_LEVEL
    value: info
    targets:
    - vercelProject: web
  - name: LOG_LEVEL
    value: debug
    targets:
    - vercelProject: web
"#,
        "spec.variables[1]",
        &["Duplicate value", "LOG_LEVEL"],
    ),
    (
        "variable with an empty targets list",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: no-targets
spec:
  providers:
    vercel:
      tokenSecretRef:
        name: vercel
        key: token
  variables:
  - name: LOG_LEVEL
    value: info
    targets: []
"#,
        "spec.variables[0].targets",
        &["should have at least 1 items"],
    ),
    (
        "variable name with a dash",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: dash-name
spec:
  providers:
    vercel:
      tokenSecretRef:
        name: vercel
        key: token
  variables:
  - name: LOG-LEVEL
    value: info
    targets:
    - vercelProject: web
"#,
        "spec.variables[0].name",
        &["should match"],
    ),
    (
        "driftPolicy fix",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: drift-fix
spec:
  providers: {}
  driftPolicy: fix
"#,
        "spec.driftPolicy",
        &["Unsupported value: \"fix\"", "\"Correct\", \"Report\""],
    ),
    (
        "DNS zone served by PowerDNS and Cloudflare",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: two-dns
spec:
  providers:
    dns:
      zone: vocilia.com
      powerdns:
        url: http://pdns.dns.svc:8081
        apiKeySecretRef:
          name: pdns
          key: apiKey
      cloudflare:
        tokenSecretRef:
          name: cloudflare
          key: token
"#,
        "spec.providers.dns",
        &["set exactly one of powerdns or cloudflare"],
    ),
    (
        "resyncInterval of 10s",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: resync-fast
spec:
  providers: {}
  resyncInterval: 10s
"#,
        "spec.resyncInterval",
        &["must be at least 30s"],
    ),
    (
        "variable with neither value nor valueFrom",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: no-value
spec:
  providers:
    vercel:
      tokenSecretRef:
        name: vercel
        key: token
  variables:
  - name: LOG_LEVEL
    targets:
    - vercelProject: web
"#,
        "spec.variables[0]",
        &["set exactly one of value or valueFrom"],
    ),
    (
        "vercelTargets on a Railway target",
        r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: railway-preview
spec:
  providers:
    railway:
      projectId: 5a1d2c3b-0000-4000-8000-00000000000a
      environmentId: 5a1d2c3b-0000-4000-8000-00000000000b
      tokenSecretRef:
        name: railway
        key: token
  variables:
  - name: LOG_LEVEL
    value: info
    targets:
    - railwayService: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
      vercelTargets: [preview]
"#,
        "spec.variables[0].targets[0]",
        &["vercelTargets only applies to vercelProject"],
    ),
    // ---------------------------------------------------------- BackupPolicy
    (
        "backup policy without a schedule",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: no-schedule
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  destination:
    filesystem:
      path: /backups
"#,
        "spec.schedule",
        &["Required value"],
    ),
    (
        "backup policy without a destination",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: no-destination
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
"#,
        "spec.destination",
        &["Required value"],
    ),
    (
        "filesystem and s3 destinations",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: two-destinations
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
  destination:
    filesystem:
      path: /backups
    s3:
      bucket: vocilia-backups
      credentialsSecretName: s3-creds
"#,
        "spec.destination",
        &["set exactly one of filesystem or s3"],
    ),
    (
        "schedule in words",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: cron-words
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: every day
  destination:
    filesystem:
      path: /backups
"#,
        "spec.schedule",
        &["should match"],
    ),
    (
        "schedule with four fields",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: cron-four
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * *"
  destination:
    filesystem:
      path: /backups
"#,
        "spec.schedule",
        &["should match"],
    ),
    (
        "schedule with six fields (seconds)",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: cron-six
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 0 3 * * *"
  destination:
    filesystem:
      path: /backups
"#,
        "spec.schedule",
        &["should match"],
    ),
    (
        "verification schedule @nightly",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: verify-nightly
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "@daily"
  destination:
    filesystem:
      path: /backups
  verification:
    schedule: "@nightly"
"#,
        "spec.verification.schedule",
        &["should match"],
    ),
    (
        "time zone as a UTC offset",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: tz-offset
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
  timeZone: UTC+2
  destination:
    filesystem:
      path: /backups
"#,
        "spec.timeZone",
        &["should match"],
    ),
    (
        "time zone with a space",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: tz-space
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
  timeZone: Europe/New York
  destination:
    filesystem:
      path: /backups
"#,
        "spec.timeZone",
        &["should match"],
    ),
    (
        "retention that keeps nothing",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: keep-nothing
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
  destination:
    filesystem:
      path: /backups
  retention:
    keepLast: 0
    keepDaily: 0
    keepWeekly: 0
    keepMonthly: 0
"#,
        "spec.retention",
        &["must keep at least one backup"],
    ),
    (
        "relative filesystem path",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: relative-dir
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
  destination:
    filesystem:
      path: backups/
"#,
        "spec.destination.filesystem.path",
        &["should match"],
    ),
    (
        "backup deletionPolicy Destroy",
        r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: destroy
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
  destination:
    filesystem:
      path: /backups
  deletionPolicy: Destroy
"#,
        "spec.deletionPolicy",
        &["Unsupported value: \"Destroy\""],
    ),
];

/// A minimal valid manifest of each kind, with the defaults the API server must fill in
/// (JSON pointer into the stored object, expected value).
type Control = (
    &'static str,
    &'static str,
    &'static str,
    Vec<(&'static str, serde_json::Value)>,
);

fn controls() -> Vec<Control> {
    use serde_json::json;
    vec![
        (
            "domain",
            "api",
            r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: api
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
"#,
            vec![
                ("/spec/ttl", json!(300)),
                ("/spec/deletionPolicy", json!("Delete")),
                ("/spec/managementPolicy", json!("Manage")),
                ("/spec/suspend", json!(false)),
            ],
        ),
        (
            "certificate",
            "api",
            r#"
apiVersion: berth.dev/v1alpha1
kind: Certificate
metadata:
  name: api
spec:
  environmentRef:
    name: production
  dnsNames: [api.vocilia.com]
  secretName: api-tls
  renewBefore: 720h
  issuer:
    acme:
      server: https://acme-v02.api.letsencrypt.org/directory
      email: ops@vocilia.com
"#,
            vec![
                ("/spec/privateKey/algorithm", json!("ECDSA")),
                ("/spec/privateKey/size", json!(256)),
                ("/spec/deletionPolicy", json!("Delete")),
            ],
        ),
        (
            "deployment",
            "api",
            r#"
apiVersion: berth.dev/v1alpha1
kind: Deployment
metadata:
  name: api
spec:
  environmentRef:
    name: production
  service:
    railway:
      serviceId: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
  source:
    repo: vocilia/api
    commit: 3f2c1a9
"#,
            vec![
                ("/spec/healthCheck/path", json!("/health")),
                ("/spec/healthCheck/expectedStatus", json!(200)),
                ("/spec/healthCheck/interval", json!("30s")),
                ("/spec/healthCheck/failureThreshold", json!(3)),
                ("/spec/progressDeadline", json!("15m")),
                ("/spec/revisionHistoryLimit", json!(10)),
                ("/spec/rollback/automatic", json!(true)),
            ],
        ),
        (
            "environment",
            "production",
            r#"
apiVersion: berth.dev/v1alpha1
kind: Environment
metadata:
  name: production
spec:
  providers:
    railway:
      projectId: 5a1d2c3b-0000-4000-8000-00000000000a
      environmentId: 5a1d2c3b-0000-4000-8000-00000000000b
      tokenSecretRef:
        name: railway
        key: token
  variables:
  - name: DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: db
        key: url
    targets:
    - railwayService: 0b6e3c1a-4d2f-4e8a-9c1d-2f3e4a5b6c7d
"#,
            vec![
                ("/spec/driftPolicy", json!("Correct")),
                ("/spec/resyncInterval", json!("5m")),
                ("/spec/deletionPolicy", json!("Delete")),
                ("/spec/variables/0/sensitive", json!(false)),
            ],
        ),
        (
            "backuppolicy",
            "main-db",
            r#"
apiVersion: berth.dev/v1alpha1
kind: BackupPolicy
metadata:
  name: main-db
spec:
  database:
    connectionSecretRef:
      name: db
      key: url
  schedule: "0 3 * * *"
  destination:
    filesystem:
      path: /backups
"#,
            vec![
                ("/spec/timeZone", json!("UTC")),
                ("/spec/deletionPolicy", json!("Orphan")),
                ("/spec/startingDeadline", json!("1h")),
                ("/spec/retention/keepLast", json!(3)),
                ("/spec/retention/keepDaily", json!(7)),
                ("/spec/retention/keepWeekly", json!(4)),
                ("/spec/retention/keepMonthly", json!(6)),
            ],
        ),
    ]
}

/// kubectl learns about the CRDs through discovery; wait until it can address every kind.
async fn kubectl_knows_berth_kinds(ns: &str) {
    support::eventually(
        Duration::from_secs(30),
        "kubectl to discover the berth kinds",
        || async {
            let (ok, _, _) = support::kubectl(
                &[
                    "get",
                    "domains.berth.dev,certificates.berth.dev,deployments.berth.dev,environments.berth.dev,backuppolicies.berth.dev",
                    "-n",
                    ns,
                ],
                None,
            );
            ok.then_some(())
        },
    )
    .await;
}

fn apply(ns: &str, yaml: &str) -> (bool, String, String) {
    support::kubectl(&["apply", "-f", "-", "-n", ns], Some(yaml))
}

// Protects: the CRD schemas and CEL rules reject what users get wrong, and kubectl's error names
// the field and the problem, so a typo fails at `kubectl apply` / in GitOps sync, not later in a
// reconcile loop.
#[tokio::test]
async fn invalid_manifests_are_rejected_naming_the_field() {
    // The table itself: enough cases, unique names, every kind covered.
    assert!(INVALID.len() >= 20, "only {} cases", INVALID.len());
    let mut names: Vec<_> = INVALID.iter().map(|(name, ..)| *name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), INVALID.len(), "case names are unique");
    for kind in KINDS {
        assert!(
            INVALID
                .iter()
                .any(|(_, yaml, ..)| yaml.contains(&format!("\nkind: {kind}\n"))),
            "no invalid {kind} case"
        );
    }

    let client = support::client().await;
    let ns = support::namespace(&client, "admission_invalid").await;
    kubectl_knows_berth_kinds(&ns).await;

    let mut failures = Vec::new();
    for (name, yaml, path, what) in INVALID {
        let (ok, out, err) = apply(&ns, yaml);
        if ok {
            failures.push(format!("{name}: ACCEPTED\n    stdout: {}", out.trim()));
            continue;
        }
        let mut problems = Vec::new();
        if !names_field(&err, path) {
            problems.push(format!("no error at {path}"));
        }
        let missing: Vec<_> = what.iter().filter(|s| !err.contains(**s)).collect();
        if !missing.is_empty() {
            problems.push(format!("lacks {missing:?}"));
        }
        let leaked: Vec<_> = NEVER.iter().filter(|s| err.contains(**s)).collect();
        if !leaked.is_empty() {
            problems.push(format!("shows CEL internals {leaked:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{name}: {}\n    stderr: {}",
                problems.join("; "),
                err.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} invalid manifests were not rejected as expected:\n\n{}",
        failures.len(),
        INVALID.len(),
        failures.join("\n\n")
    );
}

// Protects: a minimal manifest of each kind is accepted (so the rejections above are about the
// one thing each case gets wrong, not a broken base) and the API server fills in the defaults
// the reconcilers rely on.
#[tokio::test]
async fn minimal_manifests_are_accepted_with_defaults() {
    let client = support::client().await;
    let ns = support::namespace(&client, "admission_controls").await;
    kubectl_knows_berth_kinds(&ns).await;

    let mut failures = Vec::new();
    for (kind, name, yaml, defaults) in controls() {
        let (ok, _, err) = apply(&ns, yaml);
        if !ok {
            failures.push(format!("{kind}: rejected: {}", err.trim()));
            continue;
        }
        let (ok, out, err) = support::kubectl(
            &[
                "get",
                &format!("{kind}.berth.dev"),
                name,
                "-n",
                &ns,
                "-o",
                "json",
            ],
            None,
        );
        if !ok {
            failures.push(format!("{kind}: get failed: {}", err.trim()));
            continue;
        }
        let stored: serde_json::Value = serde_json::from_str(&out).expect("kubectl prints JSON");
        for (pointer, want) in &defaults {
            let got = stored.pointer(pointer);
            if got != Some(want) {
                failures.push(format!("{kind}: {pointer} is {got:?}, want {want}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "positive controls failed:\n{}",
        failures.join("\n")
    );
}

// Protects: a Domain's hostname cannot be changed in place (the old records and platform
// attachment would be orphaned); other fields still can.
#[tokio::test]
async fn domain_hostname_is_immutable() {
    let client = support::client().await;
    let ns = support::namespace(&client, "admission_immutable").await;
    kubectl_knows_berth_kinds(&ns).await;

    let original = r#"
apiVersion: berth.dev/v1alpha1
kind: Domain
metadata:
  name: api
spec:
  hostname: api.vocilia.com
  environmentRef:
    name: production
  target:
    deploymentRef:
      name: api
"#;
    let (ok, _, err) = apply(&ns, original);
    assert!(ok, "the original Domain is accepted: {err}");

    let renamed = original.replace("api.vocilia.com", "app.vocilia.com");
    let (ok, out, err) = apply(&ns, &renamed);
    assert!(!ok, "changing the hostname was accepted: {out}");
    for expected in ["spec.hostname", "spec.hostname is immutable"] {
        assert!(err.contains(expected), "stderr lacks {expected:?}: {err}");
    }

    let retuned = original.replace("      name: api\n", "      name: api\n  ttl: 600\n");
    let (ok, _, err) = apply(&ns, &retuned);
    assert!(ok, "changing another field is still allowed: {err}");

    let (ok, out, err) = support::kubectl(
        &["get", "domains.berth.dev", "api", "-n", &ns, "-o", "json"],
        None,
    );
    assert!(ok, "{err}");
    let stored: serde_json::Value = serde_json::from_str(&out).expect("kubectl prints JSON");
    assert_eq!(
        stored.pointer("/spec/hostname"),
        Some(&serde_json::json!("api.vocilia.com"))
    );
    assert_eq!(stored.pointer("/spec/ttl"), Some(&serde_json::json!(600)));
}
