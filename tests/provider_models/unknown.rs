//! Values providers add later decode to `Unknown(value)` instead of failing, and every known
//! value round-trips through its wire spelling.

use berth::providers::models::{RecordType, cloudflare, powerdns, railway, supabase, vercel};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Every known value serialises to its wire string and parses back; a new value is Unknown.
fn check_enum<T>(known: &[T], as_str: fn(&T) -> &str, unknown: fn(&T) -> Option<&str>)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    for value in known {
        let wire = serde_json::to_string(value).unwrap();
        assert_eq!(wire, format!("\"{}\"", as_str(value)));
        assert_eq!(&serde_json::from_str::<T>(&wire).unwrap(), value);
        assert_eq!(unknown(value), None);
    }
    let new: T = serde_json::from_str("\"SOMETHING_NEW_2027\"").unwrap();
    assert_eq!(unknown(&new), Some("SOMETHING_NEW_2027"));
    assert_eq!(
        serde_json::to_string(&new).unwrap(),
        "\"SOMETHING_NEW_2027\""
    );
    // Not a string: a typed error, not a panic.
    assert!(serde_json::from_str::<T>("42").is_err());
}

macro_rules! check {
    ($($ty:ty),+ $(,)?) => {$(
        check_enum::<$ty>(<$ty>::KNOWN, |v| v.as_str(), |v| (!v.is_known()).then(|| v.as_str()));
    )+};
}

#[test]
fn every_enum_accepts_new_values() {
    check!(
        RecordType,
        railway::DeploymentStatus,
        railway::DeploymentInstanceStatus,
        railway::SyncStatus,
        railway::DnsRecordType,
        railway::DnsRecordStatus,
        railway::DnsRecordPurpose,
        railway::CertificateStatus,
        railway::CertificateStatusDetailed,
        railway::CertificateErrorType,
        railway::CdnProvider,
        vercel::ReadyState,
        vercel::ReadySubstate,
        vercel::DeploymentTarget,
        vercel::ChecksState,
        vercel::ChecksConclusion,
        vercel::GitSourceType,
        vercel::EnvType,
        vercel::EnvTarget,
        supabase::ProjectStatus,
        supabase::HealthService,
        supabase::HealthStatus,
        supabase::BackupStatus,
        supabase::RestorePointStatus,
        cloudflare::ZoneStatus,
        powerdns::ZoneKind,
        powerdns::ChangeType,
    );
}

#[test]
fn exact_enum_counts_match_the_reference() {
    assert_eq!(railway::DeploymentStatus::KNOWN.len(), 13);
    assert_eq!(railway::DeploymentInstanceStatus::KNOWN.len(), 10);
    assert_eq!(supabase::ProjectStatus::KNOWN.len(), 15);
    assert_eq!(
        supabase::ProjectStatus::from_wire("UNKNOWN"),
        supabase::ProjectStatus::StatusUnknown
    );
    assert_eq!(vercel::ReadyState::KNOWN.len(), 8);
}

#[test]
fn bodies_with_new_values_still_decode() {
    let body = br#"{"data":{"deployment":{"id":"d1","status":"HIBERNATING","instances":[{"status":"MIGRATING"}]}}}"#;
    let data: railway::DeploymentData = railway::decode(200, body).unwrap();
    assert_eq!(
        data.deployment.status,
        railway::DeploymentStatus::Unknown("HIBERNATING".into())
    );
    assert!(!data.deployment.status.is_in_progress());
    assert_eq!(
        data.deployment.instances[0].status,
        railway::DeploymentInstanceStatus::Unknown("MIGRATING".into())
    );

    let body = br#"{"id":"dpl_1","readyState":"ARCHIVED","readySubstate":"CANARY","target":"env_custom123","gitSource":{"type":"sourcehut","ref":"main"}}"#;
    let deployment: vercel::Deployment = vercel::decode(200, body).unwrap();
    assert_eq!(
        deployment.ready_state,
        vercel::ReadyState::Unknown("ARCHIVED".into())
    );
    assert_eq!(
        deployment.ready_substate,
        Some(vercel::ReadySubstate::Unknown("CANARY".into()))
    );
    assert_eq!(
        deployment.target,
        Some(vercel::DeploymentTarget::Unknown("env_custom123".into()))
    );
    assert_eq!(
        deployment.git_source.unwrap().kind,
        vercel::GitSourceType::Unknown("sourcehut".into())
    );

    let body = br#"{"envs":[{"key":"K","type":"shared","target":["production","qa"]}]}"#;
    let envs: vercel::EnvList = vercel::decode(200, body).unwrap();
    assert_eq!(envs.envs[0].kind, vercel::EnvType::Unknown("shared".into()));
    assert_eq!(
        envs.envs[0].target[1],
        vercel::EnvTarget::Unknown("qa".into())
    );

    let body = br#"[{"name":"edge_functions","status":"DEGRADED"}]"#;
    let health: Vec<supabase::ServiceHealth> = supabase::decode(200, body).unwrap();
    assert_eq!(
        health[0].name,
        supabase::HealthService::Unknown("edge_functions".into())
    );
    assert_eq!(
        health[0].status,
        supabase::HealthStatus::Unknown("DEGRADED".into())
    );

    let body = br#"{"success":true,"errors":[],"messages":[],"result":{"id":"r1","name":"x.example.com","type":"OPENPGPKEY","content":"abc","ttl":1}}"#;
    let record: cloudflare::DnsRecord = cloudflare::decode(200, body).unwrap();
    assert_eq!(record.kind, RecordType::Unknown("OPENPGPKEY".into()));

    let body = br#"{"id":"z.","name":"z.","kind":"Catalog","rrsets":[{"name":"z.","type":"ZONEMD","records":[]}]}"#;
    let zone: powerdns::Zone = powerdns::decode(200, body).unwrap();
    assert_eq!(zone.kind, powerdns::ZoneKind::Unknown("Catalog".into()));
    assert_eq!(zone.rrsets[0].kind, RecordType::Unknown("ZONEMD".into()));
}

#[test]
fn nulls_where_lists_are_expected_decode_as_empty() {
    let body = br#"{"success":true,"errors":null,"messages":null,"result":{"id":"r1","name":"a.example.com","type":"A","content":"192.0.2.1","tags":null,"proxied":false,"ttl":1}}"#;
    let record: cloudflare::DnsRecord = cloudflare::decode(200, body).unwrap();
    assert!(record.tags.is_empty());
    let body = br#"{"id":"dpl_1","readyState":"READY","alias":null,"meta":null}"#;
    let deployment: vercel::Deployment = vercel::decode(200, body).unwrap();
    assert!(deployment.alias.is_empty() && deployment.meta.is_empty());
}
