//! Request types survive serialise → deserialise unchanged (property tests), and serialise to
//! the providers' field names.

use std::collections::BTreeMap;

use berth::providers::models::{
    RecordType, Secret, cloudflare, powerdns, railway, supabase, vercel,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

pub const CASES: u32 = 256;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(&back, value, "{text}");
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_./:=@ -]{0,24}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn secret() -> impl Strategy<Value = Secret> {
    any::<String>().prop_map(Secret::new)
}

/// A known value, or an unknown one that cannot collide with a known spelling.
fn enum_of<T: Clone + std::fmt::Debug + 'static>(
    known: &'static [T],
    unknown: fn(String) -> T,
) -> impl Strategy<Value = T> {
    prop_oneof![
        proptest::sample::select(known),
        "[a-z]{1,10}".prop_map(move |s| unknown(format!("new-{s}"))),
    ]
}

fn record_type() -> impl Strategy<Value = RecordType> {
    enum_of(RecordType::KNOWN, RecordType::Unknown)
}

fn simple_map() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::btree_map(
        text(),
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            text().prop_map(Value::from),
            Just(Value::Null),
        ],
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn railway_requests(
        (query, vars, op) in (text(), simple_map(), opt_text()),
        (project, env, service, name) in (text(), text(), opt_text(), text()),
        (value, skip, replace) in (secret(), any::<bool>(), any::<bool>()),
        map in proptest::collection::btree_map(text(), secret(), 0..5),
        port in proptest::option::of(any::<u16>()),
        statuses in proptest::collection::vec(enum_of(railway::DeploymentStatus::KNOWN, railway::DeploymentStatus::Unknown), 0..4),
        deleted in proptest::option::of(any::<bool>()),
    ) {
        round_trip(&railway::GraphqlRequest { query, variables: vars, operation_name: op });
        round_trip(&railway::VariableUpsertInput {
            project_id: project.clone(), environment_id: env.clone(), service_id: service.clone(),
            name: name.clone(), value, skip_deploys: skip,
        });
        round_trip(&railway::VariableCollectionUpsertInput {
            project_id: project.clone(), environment_id: env.clone(), service_id: service.clone(),
            variables: map, replace, skip_deploys: skip,
        });
        round_trip(&railway::VariableDeleteInput {
            project_id: project.clone(), environment_id: env.clone(), service_id: service.clone(), name: name.clone(),
        });
        round_trip(&railway::CustomDomainCreateInput {
            project_id: project.clone(), environment_id: env.clone(), service_id: name.clone(), domain: name, target_port: port,
        });
        round_trip(&railway::DeploymentListInput {
            project_id: Some(project), environment_id: Some(env), service_id: service, include_deleted: deleted,
            status: Some(railway::DeploymentStatusInput { in_: statuses.clone(), not_in: statuses }),
        });
    }

    #[test]
    fn vercel_requests(
        (name, project, org, repo, git_ref, sha) in (text(), opt_text(), text(), text(), text(), opt_text()),
        (target, meta, settings) in (
            proptest::option::of(enum_of(vercel::DeploymentTarget::KNOWN, vercel::DeploymentTarget::Unknown)),
            proptest::collection::btree_map(text(), text(), 0..4),
            proptest::option::of(simple_map()),
        ),
        (key, value, kind, targets) in (
            text(),
            secret(),
            enum_of(vercel::EnvType::KNOWN, vercel::EnvType::Unknown),
            proptest::collection::vec(enum_of(vercel::EnvTarget::KNOWN, vercel::EnvTarget::Unknown), 0..3),
        ),
        (branch, comment, custom) in (opt_text(), opt_text(), proptest::collection::vec(text(), 0..2)),
        (redirect_code, numeric_repo, repo_id) in (
            proptest::option::of(prop_oneof![Just(301u16), Just(302), Just(307), Just(308)]),
            any::<bool>(),
            any::<i64>(),
        ),
    ) {
        let mut git = vercel::GitSource::github(&org, &repo, &git_ref);
        git.sha = sha;
        if numeric_repo {
            git.repo_id = Some(vercel::IdValue::Number(repo_id));
        }
        round_trip(&vercel::CreateDeploymentRequest {
            name: name.clone(), project, target, deployment_id: None, with_latest_commit: Some(numeric_repo),
            custom_environment_slug_or_id: None, meta, git_source: Some(git), project_settings: settings,
        });
        round_trip(&vercel::EnvUpsertItem {
            key: key.clone(), value: value.clone(), kind: kind.clone(), target: targets.clone(),
            git_branch: branch.clone(), comment: comment.clone(), custom_environment_ids: custom.clone(),
        });
        round_trip(&vercel::EnvPatchRequest {
            key: Some(key), value: Some(value), kind: Some(kind), target: Some(targets),
            git_branch: branch.clone(), comment, custom_environment_ids: Some(custom),
        });
        round_trip(&vercel::EnvPatchRequest::default());
        round_trip(&vercel::AddDomainRequest {
            name, git_branch: branch, custom_environment_id: None, redirect: None, redirect_status_code: redirect_code,
        });
    }

    #[test]
    fn supabase_requests(t in any::<i64>(), id in any::<i64>(), name in text()) {
        round_trip(&supabase::RestorePitrRequest { recovery_time_target_unix: t });
        round_trip(&supabase::RestoreRequest { id });
        round_trip(&supabase::RestorePointRequest { name });
    }

    #[test]
    fn dns_requests(
        (name, kind, content, ttl) in (text(), record_type(), text(), any::<u32>()),
        (proxied, comment, tags, priority) in (
            proptest::option::of(any::<bool>()),
            opt_text(),
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(any::<u16>()),
        ),
        contents in proptest::collection::vec((text(), any::<bool>()), 0..3),
        (delete, zone_kind) in (any::<bool>(), enum_of(powerdns::ZoneKind::KNOWN, powerdns::ZoneKind::Unknown)),
        nameservers in proptest::collection::vec(text(), 0..3),
    ) {
        round_trip(&cloudflare::DnsRecordRequest {
            name: name.clone(), kind: kind.clone(), content, ttl, proxied, comment, tags, priority,
        });
        let records: Vec<powerdns::Record> = contents
            .into_iter()
            .map(|(content, disabled)| powerdns::Record { content, disabled })
            .collect();
        let change = if delete {
            powerdns::RrSetChange::delete(&name, kind)
        } else {
            powerdns::RrSetChange::replace(&name, kind, ttl, records)
        };
        round_trip(&powerdns::PatchZoneRequest { rrsets: vec![change.clone()] });
        round_trip(&powerdns::CreateZoneRequest {
            name, kind: zone_kind, nameservers, masters: Vec::new(), soa_edit_api: Some("DEFAULT".into()),
            rrsets: vec![change], account: None, dnssec: Some(false), api_rectify: None,
        });
    }
}

#[test]
fn requests_use_the_providers_field_names() {
    let mut variables = BTreeMap::new();
    variables.insert("PORT".to_owned(), Secret::from("8080"));
    let input = railway::VariableCollectionUpsertInput {
        project_id: "p".into(),
        environment_id: "e".into(),
        service_id: None,
        variables,
        replace: false,
        skip_deploys: true,
    };
    assert_eq!(
        serde_json::to_value(&input).unwrap(),
        json!({"projectId":"p","environmentId":"e","variables":{"PORT":"8080"},"replace":false,"skipDeploys":true})
    );
    let status = railway::DeploymentStatusInput {
        in_: vec![railway::DeploymentStatus::Success],
        not_in: vec![],
    };
    assert_eq!(
        serde_json::to_value(&status).unwrap(),
        json!({"in":["SUCCESS"]})
    );

    let item = vercel::EnvUpsertItem {
        key: "K".into(),
        value: "v".into(),
        kind: vercel::EnvType::Sensitive,
        target: vec![vercel::EnvTarget::Production],
        git_branch: None,
        comment: Some("managed-by: berth".into()),
        custom_environment_ids: vec![],
    };
    assert_eq!(
        serde_json::to_value(&item).unwrap(),
        json!({"key":"K","value":"v","type":"sensitive","target":["production"],"comment":"managed-by: berth"})
    );
    assert!(!format!("{item:?}").contains("\"v\""));

    let git = vercel::GitSource::github("vocilia", "web", "main");
    assert_eq!(
        serde_json::to_value(&git).unwrap(),
        json!({"type":"github","org":"vocilia","repo":"web","ref":"main"})
    );

    let delete = powerdns::RrSetChange::delete("www.example.org.", RecordType::A);
    assert_eq!(
        serde_json::to_value(&delete).unwrap(),
        json!({"name":"www.example.org.","type":"A","changetype":"DELETE"})
    );
    let clear = powerdns::RrSetChange::replace("www.example.org.", RecordType::A, 300, vec![]);
    assert_eq!(
        serde_json::to_value(&clear).unwrap(),
        json!({"name":"www.example.org.","type":"A","changetype":"REPLACE","ttl":300,"records":[]})
    );
    let zone = powerdns::CreateZoneRequest {
        name: "example.org.".into(),
        kind: powerdns::ZoneKind::Native,
        nameservers: vec![],
        masters: vec![],
        soa_edit_api: None,
        rrsets: vec![],
        account: None,
        dnssec: None,
        api_rectify: None,
    };
    assert_eq!(
        serde_json::to_value(&zone).unwrap(),
        json!({"name":"example.org.","kind":"Native","nameservers":[]})
    );
    assert_eq!(
        serde_json::to_value(supabase::RestorePitrRequest {
            recovery_time_target_unix: 1_786_950_000
        })
        .unwrap(),
        json!({"recovery_time_target_unix":1_786_950_000})
    );
}
