//! Every recorded body decodes into its type, and the decoded values are the fixture's.

use berth::providers::models::{
    DecodeError, Provider, RecordType, Rejection, cloudflare, powerdns, railway, supabase, vercel,
};

use crate::support::{all_fixtures, check_error, decoders, fixture};

fn ok<T>(result: Result<T, DecodeError>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn rejected<T: std::fmt::Debug>(result: Result<T, DecodeError>, status: u16) -> Rejection {
    let error = result.expect_err("an error fixture must not decode");
    check_error(&error, status);
    match error {
        DecodeError::Rejected { rejection, .. } => *rejection,
        other => panic!("expected Rejected, got {other}"),
    }
}

#[test]
fn railway_deployments_list() {
    let data: railway::DeploymentsData = ok(railway::decode(
        200,
        &fixture("railway", "deployments.json"),
    ));
    let nodes: Vec<_> = data.deployments.nodes().collect();
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0].id, "8d4c2a61-5a3e-4f43-9d7b-2f0c1e6b9a10");
    assert_eq!(nodes[0].status, railway::DeploymentStatus::Success);
    assert_eq!(
        nodes[0].url.as_deref(),
        Some("vocilia-api-production.up.railway.app")
    );
    assert_eq!(nodes[0].can_redeploy, Some(true));
    assert_eq!(
        nodes[0]
            .meta
            .as_ref()
            .and_then(|m| m.get("branch"))
            .and_then(|b| b.as_str()),
        Some("main")
    );
    assert_eq!(
        nodes[0].created_at.map(|t| t.to_rfc3339()),
        Some("2026-08-14T09:12:31.482+00:00".to_owned())
    );
    assert_eq!(nodes[1].status, railway::DeploymentStatus::Failed);
    assert_eq!(nodes[1].url, None);
    assert_eq!(nodes[1].can_rollback, Some(true));
    let page = data.deployments.page_info.unwrap();
    assert!(page.has_next_page);
    assert_eq!(page.end_cursor.as_deref(), Some("Y3Vyc29yOjI="));
    assert_eq!(
        data.deployments.edges[1].cursor.as_deref(),
        Some("Y3Vyc29yOjI=")
    );
}

#[test]
fn railway_single_deployment_deploy_and_variables() {
    let data: railway::DeploymentData =
        ok(railway::decode(200, &fixture("railway", "deployment.json")));
    assert_eq!(data.deployment.status, railway::DeploymentStatus::Building);
    assert!(data.deployment.status.is_in_progress());
    assert!(data.deployment.instances.is_empty());

    let v2: railway::DeployV2Data = ok(railway::decode(200, &fixture("railway", "deploy_v2.json")));
    assert_eq!(
        v2.service_instance_deploy_v2,
        "c7b6a5f4-e3d2-4c1b-a0f9-e8d7c6b5a4f3"
    );

    let vars = ok(railway::decode_variables(
        200,
        &fixture("railway", "variables.json"),
    ));
    assert_eq!(vars.variables.len(), 4);
    assert_eq!(vars.variables["PORT"].expose(), "8080");
    assert!(
        vars.variables["DATABASE_URL"]
            .expose()
            .starts_with("postgresql://postgres.abcdefghijklmnopqrst:")
    );
    // Debug output never shows the values.
    assert!(!format!("{vars:?}").contains("example-password"));
}

#[test]
fn railway_custom_domain_status() {
    let data: railway::CustomDomainData = ok(railway::decode(
        200,
        &fixture("railway", "custom_domain.json"),
    ));
    let domain = data.custom_domain;
    assert_eq!(domain.domain, "api.vocilia.com");
    assert_eq!(domain.target_port, Some(8080));
    assert_eq!(domain.sync_status, Some(railway::SyncStatus::Active));
    let status = domain.status.unwrap();
    assert!(!status.verified);
    assert!(!status.dns_ready());
    assert_eq!(
        status.verification_dns_host.as_deref(),
        Some("_railway-verify.api")
    );
    assert_eq!(
        status.verification_token.as_deref(),
        Some("railway-verify=6f1d9c2e8a7b4c3d")
    );
    assert_eq!(status.dns_records.len(), 2);
    let route = &status.dns_records[0];
    assert_eq!(route.record_type, railway::DnsRecordType::Cname);
    assert_eq!(route.hostlabel, "api");
    assert_eq!(route.required_value, "k3j9x2pq.up.railway.app");
    assert_eq!(route.current_value, "");
    assert_eq!(route.status, railway::DnsRecordStatus::RequiresUpdate);
    assert_eq!(route.purpose, Some(railway::DnsRecordPurpose::TrafficRoute));
    assert_eq!(
        status.dns_records[1].purpose,
        Some(railway::DnsRecordPurpose::AcmeDns01Challenge)
    );
    assert_eq!(
        status.dns_records[1].status,
        railway::DnsRecordStatus::Propagated
    );
    assert_eq!(
        status.certificate_status,
        Some(railway::CertificateStatus::ValidatingOwnership)
    );
    assert_eq!(
        status.certificate_status_detailed,
        Some(railway::CertificateStatusDetailed::PresentingChallenges)
    );
    assert_eq!(status.certificate_error_type, None);
    assert_eq!(status.certificate_retryable, Some(false));
    assert_eq!(status.cdn_provider, Some(railway::CdnProvider::Unspecified));
}

#[test]
fn railway_service_instance() {
    let data: railway::ServiceInstanceData = ok(railway::decode(
        200,
        &fixture("railway", "service_instance.json"),
    ));
    let instance = data.service_instance;
    assert_eq!(instance.service_name.as_deref(), Some("api"));
    assert_eq!(
        instance.source.unwrap().repo.as_deref(),
        Some("vocilia/api")
    );
    let latest = instance.latest_deployment.unwrap();
    assert_eq!(latest.id, "8d4c2a61-5a3e-4f43-9d7b-2f0c1e6b9a10");
    assert_eq!(latest.status, railway::DeploymentStatus::Success);
    assert_eq!(instance.active_deployments.len(), 1);
    let domains = instance.domains.unwrap();
    assert_eq!(
        domains.service_domains[0].domain,
        "vocilia-api-production.up.railway.app"
    );
    assert_eq!(domains.custom_domains[0].domain, "api.vocilia.com");
    assert_eq!(domains.custom_domains[0].status, None);
}

#[test]
fn railway_errors() {
    let r = rejected(
        railway::decode::<railway::DeploymentsData>(
            200,
            &fixture("railway", "error_not_authorized.json"),
        ),
        200,
    );
    assert!(r.is_auth_rejected());
    assert!(!r.is_rate_limited());
    let Rejection::Railway(errors) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(errors[0].message, "Not Authorized");
    assert_eq!(
        errors[0].path,
        vec![railway::PathSegment::Field("deployments".into())]
    );
    assert_eq!(errors[0].locations[0].column, 42);

    let r = rejected(
        railway::decode::<serde_json::Value>(200, &fixture("railway", "error_two_factor.json")),
        200,
    );
    let Rejection::Railway(errors) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(errors[0].message, "Two Factor Authentication Required");
    assert_eq!(errors[0].extensions["workspaceName"], "Vocilia");
    assert_eq!(errors[0].path[2], railway::PathSegment::Index(0));

    let error = railway::decode::<railway::DeploymentData>(
        429,
        &fixture("railway", "error_rate_limited.json"),
    )
    .unwrap_err();
    assert!(error.is_rate_limited());
    assert!(!error.is_auth_rejected());
    assert_eq!(error.provider(), Provider::Railway);
    assert!(error.to_string().contains("Rate limit exceeded"), "{error}");
}

#[test]
fn vercel_deployments() {
    let created: vercel::Deployment = ok(vercel::decode(
        200,
        &fixture("vercel", "deployment_create.json"),
    ));
    assert_eq!(created.id, "dpl_6pjvZsVxiW8bS1dNq3Hs2EoW4KfA");
    assert_eq!(created.ready_state, vercel::ReadyState::Queued);
    assert!(!created.ready_state.is_terminal());
    assert_eq!(created.target, Some(vercel::DeploymentTarget::Production));
    assert_eq!(
        created.alias_assigned,
        Some(vercel::AliasAssigned::Flag(false))
    );
    assert!(!created.is_aliased());
    let git = created.git_source.unwrap();
    assert_eq!(git.kind, vercel::GitSourceType::Github);
    assert_eq!(git.repo_id, Some(vercel::IdValue::Number(712_345_678)));
    assert_eq!(git.git_ref.as_deref(), Some("main"));
    assert_eq!(created.meta["githubRepo"], "web");

    let ready: vercel::Deployment = ok(vercel::decode(
        200,
        &fixture("vercel", "deployment_ready.json"),
    ));
    assert_eq!(ready.ready_state, vercel::ReadyState::Ready);
    assert_eq!(ready.ready_substate, Some(vercel::ReadySubstate::Promoted));
    assert_eq!(ready.alias.len(), 3);
    assert!(ready.is_aliased());
    assert_eq!(ready.ready, Some(1_786_957_388_114));
    assert_eq!(
        ready.checks_conclusion,
        Some(vercel::ChecksConclusion::Succeeded)
    );
    assert_eq!(
        ready.git_source.unwrap().repo_id,
        Some(vercel::IdValue::Text("712345678".into()))
    );

    let failed: vercel::Deployment = ok(vercel::decode(
        200,
        &fixture("vercel", "deployment_error.json"),
    ));
    assert_eq!(failed.ready_state, vercel::ReadyState::Error);
    assert!(failed.ready_state.is_terminal());
    assert_eq!(failed.target, None);
    assert_eq!(failed.error_code.as_deref(), Some("BUILD_FAILED"));
    assert_eq!(failed.error_step.as_deref(), Some("build"));

    let list: vercel::DeploymentList = ok(vercel::decode(
        200,
        &fixture("vercel", "deployments_list.json"),
    ));
    assert_eq!(list.pagination.count, 2);
    assert_eq!(list.pagination.next, Some(1_786_870_805_003));
    assert_eq!(list.deployments[0].uid, "dpl_6pjvZsVxiW8bS1dNq3Hs2EoW4KfA");
    assert_eq!(
        list.deployments[0].ready_state(),
        Some(&vercel::ReadyState::Ready)
    );
    assert_eq!(list.deployments[0].is_rollback_candidate, Some(true));
    assert_eq!(
        list.deployments[0]
            .creator
            .as_ref()
            .unwrap()
            .username
            .as_deref(),
        Some("vocilia-bot")
    );
    assert_eq!(list.deployments[1].state, Some(vercel::ReadyState::Error));
    assert_eq!(list.deployments[1].target, None);
}

#[test]
fn vercel_env_vars() {
    let list: vercel::EnvList = ok(vercel::decode(200, &fixture("vercel", "env_list.json")));
    let kinds: Vec<_> = list.envs.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            vercel::EnvType::Plain,
            vercel::EnvType::Encrypted,
            vercel::EnvType::Sensitive,
            vercel::EnvType::Secret,
            vercel::EnvType::System,
        ]
    );
    assert_eq!(
        list.envs[0].target,
        vec![vercel::EnvTarget::Production, vercel::EnvTarget::Preview]
    );
    assert_eq!(
        list.envs[0].value.as_ref().unwrap().expose(),
        "https://api.vocilia.com"
    );
    assert_eq!(list.envs[0].comment.as_deref(), Some("managed-by: berth"));
    // `target` as a bare string.
    assert_eq!(list.envs[3].target, vec![vercel::EnvTarget::Development]);
    assert_eq!(list.envs[4].system, Some(true));
    assert!(!format!("{list:?}").contains("sec_4LsFg8kJ1mQw7ZcV"));
    assert_eq!(list.pagination.unwrap().next, None);

    let created: vercel::EnvCreateResponse =
        ok(vercel::decode(201, &fixture("vercel", "env_create.json")));
    assert_eq!(created.created.len(), 1);
    assert_eq!(created.created[0].key, "NEXT_PUBLIC_API_URL");
    assert_eq!(created.failed.len(), 1);
    let failure = &created.failed[0].error;
    assert_eq!(failure.code, "ENV_CONFLICT");
    assert_eq!(failure.env_var_key.as_deref(), Some("SESSION_SECRET"));
    assert_eq!(failure.extra["target"][0], "production");
}

#[test]
fn vercel_domains() {
    let pending: vercel::ProjectDomain = ok(vercel::decode(
        200,
        &fixture("vercel", "domain_unverified.json"),
    ));
    assert!(!pending.verified);
    assert_eq!(pending.apex_name, "vocilia.com");
    assert_eq!(pending.verification.len(), 1);
    assert_eq!(pending.verification[0].kind, "TXT");
    assert_eq!(pending.verification[0].domain, "_vercel.vocilia.com");
    assert!(
        pending.verification[0]
            .value
            .starts_with("vc-domain-verify=vocilia.com,")
    );

    let done: vercel::ProjectDomain = ok(vercel::decode(
        200,
        &fixture("vercel", "domain_verified.json"),
    ));
    assert!(done.verified);
    assert!(done.verification.is_empty());
    assert_eq!(done.redirect.as_deref(), Some("vocilia.com"));
    assert_eq!(done.redirect_status_code, Some(308));
}

#[test]
fn vercel_errors() {
    let error =
        vercel::decode::<vercel::EnvList>(429, &fixture("vercel", "error_rate_limited.json"))
            .unwrap_err();
    check_error(&error, 429);
    assert!(error.is_rate_limited());
    let Some(Rejection::Vercel(e)) = error.rejection() else {
        panic!("{error}")
    };
    assert_eq!(e.code, "rate_limited");
    assert_eq!(
        e.name.as_deref(),
        Some("api-projects-environment-variable-delete")
    );
    let limit = e.limit.unwrap();
    assert_eq!(limit.total, Some(60));
    assert_eq!(limit.remaining, Some(0));
    assert_eq!(limit.reset, Some(1_786_957_739));
    assert_eq!(limit.reset_ms, Some(1_786_957_739_004));

    let r = rejected(
        vercel::decode::<vercel::Deployment>(403, &fixture("vercel", "error_forbidden.json")),
        403,
    );
    assert!(r.is_auth_rejected());
    let Rejection::Vercel(e) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(e.extra["invalidToken"], true);

    // The error shape wins even on a 200, and whatever the expected type.
    let r = rejected(
        vercel::decode::<vercel::Deployment>(200, &fixture("vercel", "error_not_found.json")),
        200,
    );
    assert_eq!(r.to_string(), "not_found: Deployment was not found.");
}

#[test]
fn supabase_project_and_health() {
    let project: supabase::Project =
        ok(supabase::decode(200, &fixture("supabase", "project.json")));
    assert_eq!(project.project_ref, "qzvxkplmnbtrwyhgfdsa");
    assert_eq!(project.status, supabase::ProjectStatus::ActiveHealthy);
    assert_eq!(project.region, "eu-central-1");
    assert_eq!(
        project.database.unwrap().host,
        "db.qzvxkplmnbtrwyhgfdsa.supabase.co"
    );

    let restoring: supabase::Project = ok(supabase::decode(
        200,
        &fixture("supabase", "project_restoring.json"),
    ));
    assert_eq!(restoring.status, supabase::ProjectStatus::Restoring);
    assert_eq!(restoring.database, None);

    let health: Vec<supabase::ServiceHealth> =
        ok(supabase::decode(200, &fixture("supabase", "health.json")));
    assert_eq!(health.len(), 6);
    assert_eq!(health[0].name, supabase::HealthService::Auth);
    assert_eq!(
        health[0].info.as_ref().unwrap().name.as_deref(),
        Some("GoTrue")
    );
    assert_eq!(health[3].info.as_ref().unwrap().connected_cluster, Some(3));
    assert_eq!(
        health[4].info.as_ref().unwrap().db_schema.as_deref(),
        Some("public,graphql_public")
    );
    assert_eq!(health[5].name, supabase::HealthService::Storage);
    assert_eq!(health[5].status, supabase::HealthStatus::Unhealthy);
    assert_eq!(health[5].error.as_deref(), Some("timeout after 5000ms"));
}

#[test]
fn supabase_backups() {
    let backups: supabase::Backups =
        ok(supabase::decode(200, &fixture("supabase", "backups.json")));
    assert!(backups.pitr_enabled);
    assert_eq!(backups.backups.len(), 3);
    assert_eq!(backups.backups[0].id, 48_213_377);
    assert_eq!(backups.backups[0].status, supabase::BackupStatus::Completed);
    assert_eq!(backups.backups[2].status, supabase::BackupStatus::Failed);
    assert_eq!(backups.pitr_window(), Some((1_786_143_612, 1_786_960_000)));

    let plain: supabase::Backups = ok(supabase::decode(
        200,
        &fixture("supabase", "backups_no_pitr.json"),
    ));
    assert!(!plain.pitr_enabled);
    assert!(!plain.backups[0].is_physical_backup);
    assert_eq!(plain.pitr_window(), None);

    let point: supabase::RestorePoint = ok(supabase::decode(
        201,
        &fixture("supabase", "restore_point.json"),
    ));
    assert_eq!(point.name, "pre-migration-42");
    assert_eq!(point.status, supabase::RestorePointStatus::Pending);
}

#[test]
fn supabase_errors() {
    let r = rejected(
        supabase::decode::<supabase::Project>(404, &fixture("supabase", "error_not_found.json")),
        404,
    );
    assert_eq!(r.to_string(), "Project not found");
    let error =
        supabase::decode::<supabase::Backups>(429, &fixture("supabase", "error_rate_limited.json"))
            .unwrap_err();
    assert!(error.is_rate_limited());
    let error =
        supabase::decode::<supabase::Backups>(401, &fixture("supabase", "error_unauthorized.json"))
            .unwrap_err();
    assert!(error.is_auth_rejected());
    assert!(error.to_string().contains("Unauthorized"), "{error}");
}

#[test]
fn cloudflare_zones_and_records() {
    let zones = ok(cloudflare::decode_envelope::<Vec<cloudflare::Zone>>(
        200,
        &fixture("cloudflare", "zones.json"),
    ));
    let zone = &zones.result.as_ref().unwrap()[0];
    assert_eq!(zone.id, "023e105f4ecef8ad9ca31a8372d0c353");
    assert_eq!(zone.status, cloudflare::ZoneStatus::Active);
    assert_eq!(
        zone.name_servers,
        vec!["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]
    );
    assert_eq!(zone.account.as_ref().unwrap().name, "Vocilia");
    assert!(!zones.result_info.unwrap().has_more());

    let list = ok(cloudflare::decode_envelope::<Vec<cloudflare::DnsRecord>>(
        200,
        &fixture("cloudflare", "dns_records.json"),
    ));
    let info = list.result_info.unwrap();
    assert_eq!(
        (
            info.page,
            info.per_page,
            info.count,
            info.total_count,
            info.total_pages
        ),
        (1, 3, 3, 7, 3)
    );
    assert!(info.has_more());
    let records = list.result.unwrap();
    assert_eq!(records[0].kind, RecordType::Cname);
    assert_eq!(records[0].content, "k3j9x2pq.up.railway.app");
    assert!(!records[0].proxied);
    assert_eq!(records[0].ttl, cloudflare::AUTO_TTL);
    assert_eq!(
        records[0].comment.as_deref(),
        Some("managed-by: berth; owner: vocilia/production")
    );
    assert_eq!(records[0].tags, vec!["berth:managed", "env:production"]);
    assert!(records[1].proxied);
    assert_eq!(records[1].comment, None);
    assert_eq!(records[2].kind, RecordType::Mx);
    assert_eq!(records[2].priority, Some(10));
    assert_eq!(records[2].ttl, 3600);

    let created: cloudflare::DnsRecord = ok(cloudflare::decode(
        200,
        &fixture("cloudflare", "dns_record_created.json"),
    ));
    assert_eq!(created.kind, RecordType::Txt);
    assert_eq!(created.name, "_vercel.vocilia.com");
    assert_eq!(created.ttl, 300);
    assert_eq!(created.tags, vec!["berth:managed"]);

    let deleted: cloudflare::DeletedRecord = ok(cloudflare::decode(
        200,
        &fixture("cloudflare", "dns_record_deleted.json"),
    ));
    assert_eq!(deleted.id, "e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6");
}

#[test]
fn cloudflare_errors() {
    let codes = |r: &Rejection| match r {
        Rejection::Cloudflare(errors) => errors.iter().map(|e| e.code).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let r = rejected(
        cloudflare::decode::<cloudflare::DnsRecord>(
            400,
            &fixture("cloudflare", "error_already_exists.json"),
        ),
        400,
    );
    assert_eq!(codes(&r), vec![cloudflare::RECORD_ALREADY_EXISTS]);
    assert_eq!(r.to_string(), "81057: Record already exists.");
    let r = rejected(
        cloudflare::decode::<cloudflare::DnsRecord>(
            400,
            &fixture("cloudflare", "error_host_conflict.json"),
        ),
        400,
    );
    assert_eq!(codes(&r), vec![cloudflare::HOST_CONFLICT]);
    // Rate limiting is recognised from the code even with a 200 status.
    let r = rejected(
        cloudflare::decode::<cloudflare::DnsRecord>(
            200,
            &fixture("cloudflare", "error_rate_limited.json"),
        ),
        200,
    );
    assert!(r.is_rate_limited());
    let error = cloudflare::decode::<cloudflare::DnsRecord>(
        429,
        &fixture("cloudflare", "error_rate_limited.json"),
    )
    .unwrap_err();
    assert!(error.is_rate_limited());
    let r = rejected(
        cloudflare::decode::<cloudflare::DnsRecord>(403, &fixture("cloudflare", "error_auth.json")),
        403,
    );
    assert!(r.is_auth_rejected());
}

#[test]
fn powerdns_zones() {
    let zones: Vec<powerdns::Zone> = ok(powerdns::decode(200, &fixture("powerdns", "zones.json")));
    assert_eq!(zones.len(), 2);
    assert_eq!(zones[0].id, "vocilia.com.");
    assert_eq!(zones[0].kind, powerdns::ZoneKind::Native);
    assert_eq!(zones[1].kind, powerdns::ZoneKind::Master);
    assert!(zones[0].rrsets.is_empty());

    let zone: powerdns::Zone = ok(powerdns::decode(200, &fixture("powerdns", "zone.json")));
    assert_eq!(zone.serial, Some(2_026_081_403));
    assert_eq!(zone.soa_edit_api.as_deref(), Some("DEFAULT"));
    assert_eq!(zone.rrsets.len(), 5);
    let cname = zone
        .rrsets
        .iter()
        .find(|r| r.kind == RecordType::Cname)
        .unwrap();
    assert_eq!(cname.name, "api.vocilia.com.");
    assert_eq!(cname.ttl, Some(300));
    assert_eq!(cname.records[0].content, "k3j9x2pq.up.railway.app.");
    assert_eq!(cname.comments[0].account, "berth");
    assert_eq!(cname.comments[0].modified_at, Some(1_786_957_800));
    let txt = zone
        .rrsets
        .iter()
        .find(|r| r.kind == RecordType::Txt)
        .unwrap();
    assert_eq!(
        txt.records[0].content,
        "\"vc-domain-verify=vocilia.com,8c1b2d3e4f5a6b7c8d9e\""
    );
    let a = zone
        .rrsets
        .iter()
        .find(|r| r.kind == RecordType::A)
        .unwrap();
    assert!(a.records[0].disabled);
    assert_eq!(
        zone.rrsets
            .iter()
            .filter(|r| r.kind == RecordType::Ns)
            .count(),
        1
    );

    let created: powerdns::Zone = ok(powerdns::decode(
        201,
        &fixture("powerdns", "zone_created.json"),
    ));
    assert_eq!(created.name, "example.org.");
    assert_eq!(created.rrsets[0].kind, RecordType::Soa);
}

#[test]
fn powerdns_errors() {
    let r = rejected(
        powerdns::decode::<powerdns::Zone>(404, &fixture("powerdns", "error_not_found.json")),
        404,
    );
    assert_eq!(r.to_string(), "Not Found");
    let r = rejected(
        powerdns::decode::<powerdns::Zone>(409, &fixture("powerdns", "error_conflict.json")),
        409,
    );
    assert_eq!(r.to_string(), "Domain 'example.org.' already exists");
    let r = rejected(
        powerdns::decode::<powerdns::Zone>(422, &fixture("powerdns", "error_cname_conflict.json")),
        422,
    );
    assert!(r.to_string().contains("Conflicts with pre-existing RRset"));
    let r = rejected(
        powerdns::decode::<powerdns::Zone>(422, &fixture("powerdns", "error_not_canonical.json")),
        422,
    );
    let Rejection::PowerDns(e) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(e.errors, vec!["Not in expected format"]);
    assert!(!r.is_rate_limited());
}

/// Which decoder and status each fixture is for, and whether it is an error body.
fn expectations() -> Vec<(&'static str, &'static str, u16, bool)> {
    vec![
        (
            "railway/custom_domain.json",
            "railway customDomain",
            200,
            true,
        ),
        ("railway/deploy_v2.json", "railway deployV2", 200, true),
        ("railway/deployment.json", "railway deployment", 200, true),
        ("railway/deployments.json", "railway deployments", 200, true),
        (
            "railway/error_not_authorized.json",
            "railway deployments",
            200,
            false,
        ),
        (
            "railway/error_rate_limited.json",
            "railway deployments",
            429,
            false,
        ),
        (
            "railway/error_two_factor.json",
            "railway serviceInstance",
            200,
            false,
        ),
        (
            "railway/service_instance.json",
            "railway serviceInstance",
            200,
            true,
        ),
        ("railway/variables.json", "railway variables", 200, true),
        (
            "vercel/deployment_create.json",
            "vercel deployment",
            200,
            true,
        ),
        (
            "vercel/deployment_error.json",
            "vercel deployment",
            200,
            true,
        ),
        (
            "vercel/deployment_ready.json",
            "vercel deployment",
            200,
            true,
        ),
        (
            "vercel/deployments_list.json",
            "vercel deployment list",
            200,
            true,
        ),
        ("vercel/domain_unverified.json", "vercel domain", 200, true),
        ("vercel/domain_verified.json", "vercel domain", 200, true),
        ("vercel/env_create.json", "vercel env create", 201, true),
        ("vercel/env_list.json", "vercel env list", 200, true),
        (
            "vercel/error_forbidden.json",
            "vercel deployment",
            403,
            false,
        ),
        (
            "vercel/error_not_found.json",
            "vercel deployment",
            404,
            false,
        ),
        (
            "vercel/error_rate_limited.json",
            "vercel env list",
            429,
            false,
        ),
        ("supabase/backups.json", "supabase backups", 200, true),
        (
            "supabase/backups_no_pitr.json",
            "supabase backups",
            200,
            true,
        ),
        (
            "supabase/error_not_found.json",
            "supabase project",
            404,
            false,
        ),
        (
            "supabase/error_rate_limited.json",
            "supabase backups",
            429,
            false,
        ),
        (
            "supabase/error_unauthorized.json",
            "supabase health",
            401,
            false,
        ),
        ("supabase/health.json", "supabase health", 200, true),
        ("supabase/project.json", "supabase project", 200, true),
        (
            "supabase/project_restoring.json",
            "supabase project",
            200,
            true,
        ),
        (
            "supabase/restore_point.json",
            "supabase restore point",
            201,
            true,
        ),
        (
            "cloudflare/dns_record_created.json",
            "cloudflare record",
            200,
            true,
        ),
        (
            "cloudflare/dns_record_deleted.json",
            "cloudflare deleted",
            200,
            true,
        ),
        (
            "cloudflare/dns_records.json",
            "cloudflare records",
            200,
            true,
        ),
        (
            "cloudflare/error_already_exists.json",
            "cloudflare record",
            400,
            false,
        ),
        ("cloudflare/error_auth.json", "cloudflare zones", 403, false),
        (
            "cloudflare/error_host_conflict.json",
            "cloudflare record",
            400,
            false,
        ),
        (
            "cloudflare/error_rate_limited.json",
            "cloudflare records",
            429,
            false,
        ),
        ("cloudflare/zones.json", "cloudflare zones", 200, true),
        (
            "powerdns/error_cname_conflict.json",
            "powerdns zone",
            422,
            false,
        ),
        ("powerdns/error_conflict.json", "powerdns zone", 409, false),
        (
            "powerdns/error_not_canonical.json",
            "powerdns zone",
            422,
            false,
        ),
        ("powerdns/error_not_found.json", "powerdns zone", 404, false),
        ("powerdns/zone.json", "powerdns zone", 200, true),
        ("powerdns/zone_created.json", "powerdns zone", 201, true),
        ("powerdns/zones.json", "powerdns zones", 200, true),
    ]
}

/// Every fixture file has an expectation, decodes (or is rejected) as expected, and every
/// strict prefix of it is a typed error from the same decoder.
#[test]
fn every_fixture_is_covered_and_every_truncation_fails_cleanly() {
    let decoders = decoders();
    let table = expectations();
    for (name, bytes) in all_fixtures() {
        let (_, decoder_name, status, success) = table
            .iter()
            .find(|(file, ..)| *file == name.as_str())
            .unwrap_or_else(|| panic!("fixture {name} has no expectation"));
        let decode = decoders.iter().find(|(n, _)| n == decoder_name).unwrap().1;
        match decode(*status, bytes) {
            Ok(()) => assert!(success, "{name} decoded but is an error body"),
            Err(DecodeError::Rejected { .. }) if !success => {}
            Err(e) => panic!("{name}: {e}"),
        }
        let trimmed = bytes.trim_ascii_end();
        for len in 0..trimmed.len() {
            let error = decode(*status, &trimmed[..len]).expect_err("a strict prefix is not JSON");
            check_error(&error, *status);
        }
    }
    for (file, ..) in &table {
        assert!(
            all_fixtures()
                .iter()
                .any(|(name, _)| name.as_str() == *file),
            "{file} is missing"
        );
    }
}

#[test]
fn error_excerpts_never_show_secret_values() {
    let vars = fixture("railway", "variables.json");
    let vars = vars.trim_ascii_end();
    let envs = fixture("vercel", "env_list.json");
    let envs = envs.trim_ascii_end();
    for len in 1..vars.len() {
        let error = railway::decode_variables(200, &vars[..len]).unwrap_err();
        assert!(!error.to_string().contains("example-password"), "{error}");
    }
    for len in 1..envs.len() {
        let error = vercel::decode::<vercel::EnvList>(200, &envs[..len]).unwrap_err();
        let text = error.to_string();
        assert!(
            !text.contains("sec_4LsFg8kJ1mQw7ZcV") && !text.contains("eyJ2Ijoi"),
            "{text}"
        );
    }
    // A shape error elsewhere does not show the secret either.
    let error = vercel::decode::<vercel::EnvVar>(
        200,
        br#"{"key":"K","type":"plain","value":"hunter2","target":5}"#,
    )
    .unwrap_err();
    assert!(matches!(error, DecodeError::Shape { .. }), "{error}");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}
