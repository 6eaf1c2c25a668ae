//! Fixture loading and the table of every decoder the property tests feed.

use std::path::PathBuf;

use berth::providers::models::{DecodeError, cloudflare, powerdns, railway, supabase, vercel};

/// A decoder under test, reduced to "did it decode".
pub type Decoder = fn(u16, &[u8]) -> Result<(), DecodeError>;

fn entry(name: &'static str, decoder: Decoder) -> (&'static str, Decoder) {
    (name, decoder)
}

fn unit<T>(result: Result<T, DecodeError>) -> Result<(), DecodeError> {
    result.map(|_| ())
}

/// Every decoder entry point, with every response type the clients use.
pub fn decoders() -> Vec<(&'static str, Decoder)> {
    vec![
        entry("railway deployments", |s, b| {
            unit(railway::decode::<railway::DeploymentsData>(s, b))
        }),
        entry("railway deployment", |s, b| {
            unit(railway::decode::<railway::DeploymentData>(s, b))
        }),
        entry("railway deployV2", |s, b| {
            unit(railway::decode::<railway::DeployV2Data>(s, b))
        }),
        entry("railway variables", |s, b| {
            unit(railway::decode_variables(s, b))
        }),
        entry("railway customDomain", |s, b| {
            unit(railway::decode::<railway::CustomDomainData>(s, b))
        }),
        entry("railway customDomainCreate", |s, b| {
            unit(railway::decode::<railway::CustomDomainCreateData>(s, b))
        }),
        entry("railway serviceInstance", |s, b| {
            unit(railway::decode::<railway::ServiceInstanceData>(s, b))
        }),
        entry("vercel deployment", |s, b| {
            unit(vercel::decode::<vercel::Deployment>(s, b))
        }),
        entry("vercel deployment list", |s, b| {
            unit(vercel::decode::<vercel::DeploymentList>(s, b))
        }),
        entry("vercel env list", |s, b| {
            unit(vercel::decode::<vercel::EnvList>(s, b))
        }),
        entry("vercel env create", |s, b| {
            unit(vercel::decode::<vercel::EnvCreateResponse>(s, b))
        }),
        entry("vercel domain", |s, b| {
            unit(vercel::decode::<vercel::ProjectDomain>(s, b))
        }),
        entry("vercel domain list", |s, b| {
            unit(vercel::decode::<vercel::ProjectDomainList>(s, b))
        }),
        entry("vercel domain config", |s, b| {
            unit(vercel::decode::<vercel::DomainConfig>(s, b))
        }),
        entry("supabase project", |s, b| {
            unit(supabase::decode::<supabase::Project>(s, b))
        }),
        entry("supabase health", |s, b| {
            unit(supabase::decode::<Vec<supabase::ServiceHealth>>(s, b))
        }),
        entry("supabase backups", |s, b| {
            unit(supabase::decode::<supabase::Backups>(s, b))
        }),
        entry("supabase restore point", |s, b| {
            unit(supabase::decode::<supabase::RestorePoint>(s, b))
        }),
        entry("cloudflare zones", |s, b| {
            unit(cloudflare::decode_envelope::<Vec<cloudflare::Zone>>(s, b))
        }),
        entry("cloudflare records", |s, b| {
            unit(cloudflare::decode_envelope::<Vec<cloudflare::DnsRecord>>(
                s, b,
            ))
        }),
        entry("cloudflare record", |s, b| {
            unit(cloudflare::decode::<cloudflare::DnsRecord>(s, b))
        }),
        entry("cloudflare deleted", |s, b| {
            unit(cloudflare::decode::<cloudflare::DeletedRecord>(s, b))
        }),
        entry("powerdns zones", |s, b| {
            unit(powerdns::decode::<Vec<powerdns::Zone>>(s, b))
        }),
        entry("powerdns zone", |s, b| {
            unit(powerdns::decode::<powerdns::Zone>(s, b))
        }),
    ]
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers")
}

/// One fixture's bytes.
pub fn fixture(provider: &str, name: &str) -> Vec<u8> {
    let path = root().join(provider).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every fixture, as (`provider/name`, bytes), sorted; read once.
pub fn all_fixtures() -> &'static [(String, Vec<u8>)] {
    static ALL: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    ALL.get_or_init(read_fixtures)
}

fn read_fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for provider in ["railway", "vercel", "supabase", "cloudflare", "powerdns"] {
        let dir = root().join(provider);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json"))
            .collect();
        names.sort();
        for name in names {
            let bytes = fixture(provider, &name);
            out.push((format!("{provider}/{name}"), bytes));
        }
    }
    out
}

/// Checks what every error must satisfy: bounded message, status kept, excerpt short.
pub fn check_error(error: &DecodeError, status: u16) {
    assert_eq!(error.status(), status, "{error}");
    let text = error.to_string();
    assert!(!text.is_empty());
    // Excerpts are ≤ 200 chars (+ "…"), rejections ≤ 3 × 200 chars of provider messages.
    assert!(
        text.chars().count() < 1200,
        "error message too long: {text}"
    );
}
