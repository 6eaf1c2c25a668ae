//! The provider sandbox driven over real HTTP with raw requests, as a client would send them.

use std::time::{Duration, Instant};

use berth::sandbox::{
    BuildFault, DnsRecord, FaultConfig, Fixtures, Sandbox, SandboxConfig, SandboxHandle, Server,
    Steps,
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

async fn start(seed: u64) -> SandboxHandle {
    Sandbox::start(SandboxConfig {
        seed,
        steps: Steps {
            queue: Duration::from_millis(20),
            build: Duration::from_millis(100),
            deploy: Duration::from_millis(100),
        },
        fixtures: Fixtures::default(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

async fn json_of(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, v)
}

struct Vercel<'a> {
    sb: &'a SandboxHandle,
    c: Client,
}

impl Vercel<'_> {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .c
            .request(method, format!("{}{path}", self.sb.vercel_url()))
            .bearer_auth(&self.sb.tokens().vercel);
        if let Some(b) = body {
            req = req.json(&b);
        }
        json_of(req.send().await.expect("request")).await
    }
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    /// Poll a deployment until `done` says so; returns every readyState seen, in order.
    async fn watch(&self, id: &str, done: impl Fn(&Value) -> bool) -> (Vec<String>, Value) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut seen: Vec<String> = Vec::new();
        loop {
            let (status, d) = self.get(&format!("/v13/deployments/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{d}");
            let state = d["readyState"].as_str().expect("readyState").to_string();
            if seen.last() != Some(&state) {
                seen.push(state);
            }
            if done(&d) {
                return (seen, d);
            }
            assert!(
                Instant::now() < deadline,
                "deployment stuck; states seen {seen:?}: {d}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    async fn deploy(&self, target: Option<&str>) -> String {
        let (status, d) = self
            .post(
                "/v13/deployments?forceNew=1",
                json!({"name": "web", "target": target, "gitSource": {"type": "github", "org": "acme", "repo": "web", "ref": "main"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{d}");
        assert_eq!(d["readyState"], "QUEUED");
        d["id"].as_str().expect("id").to_string()
    }
}

fn terminal(d: &Value) -> bool {
    matches!(
        d["readyState"].as_str(),
        Some("READY" | "ERROR" | "CANCELED")
    )
}

#[tokio::test]
async fn sandbox_auth_rejections_use_each_providers_shape() {
    let sb = start(1).await;
    let c = http();

    let (status, v) = json_of(
        c.get(format!("{}/v9/projects/web", sb.vercel_url()))
            .bearer_auth("wrong")
            .send()
            .await
            .expect("vercel"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "forbidden");
    assert_eq!(v["error"]["invalidToken"], true);
    assert!(v["error"]["message"].is_string());
    let (status, v) = json_of(
        c.get(format!("{}/v9/projects/web", sb.vercel_url()))
            .send()
            .await
            .expect("vercel"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["missingToken"], true);

    let (status, v) = json_of(
        c.get(format!("{}/zones", sb.cloudflare_url()))
            .bearer_auth("wrong")
            .send()
            .await
            .expect("cloudflare"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["success"], false);
    assert_eq!(v["errors"][0]["code"], 10000);
    assert_eq!(v["messages"], json!([]));
    assert_eq!(v["result"], Value::Null);

    let (status, v) = json_of(
        c.get(format!("{}/v1/projects", sb.supabase_url()))
            .send()
            .await
            .expect("supabase"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(v["message"].is_string());

    let (status, v) = json_of(
        c.post(format!("{}/graphql/v2", sb.railway_url()))
            .bearer_auth("wrong")
            .json(&json!({"query": "query { me { id } }"}))
            .send()
            .await
            .expect("railway"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["errors"][0]["message"], "Not Authorized");
    assert_eq!(v["errors"][0]["path"], json!(["me"]));

    // And the right tokens pass.
    let (status, _) = json_of(
        c.get(format!("{}/v1/projects", sb.supabase_url()))
            .bearer_auth(&sb.tokens().supabase)
            .send()
            .await
            .expect("supabase"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn sandbox_vercel_deployment_state_machine_and_faults() {
    let sb = start(2).await;
    let v = Vercel { sb: &sb, c: http() };

    let id = v.deploy(Some("production")).await;
    let (seen, d) = v.watch(&id, terminal).await;
    assert_eq!(d["readyState"], "READY", "{d}");
    assert_eq!(seen.first().map(String::as_str), Some("QUEUED"));
    assert!(seen.contains(&"BUILDING".to_string()), "{seen:?}");
    assert!(seen.contains(&"INITIALIZING".to_string()), "{seen:?}");
    assert_eq!(d["readySubstate"], "PROMOTED");
    assert_eq!(d["aliasAssigned"], true);
    assert!(
        d["alias"]
            .as_array()
            .expect("alias")
            .contains(&json!("web.vercel.app"))
    );

    sb.faults(Server::Vercel)
        .expect("faults")
        .update(|c| c.build = BuildFault::Fail);
    let id = v.deploy(Some("production")).await;
    let (_, d) = v.watch(&id, terminal).await;
    assert_eq!(d["readyState"], "ERROR", "{d}");
    assert_eq!(d["errorCode"], "BUILD_FAILED");

    // Over HTTP this time: builds hang.
    let resp = http()
        .post(format!("{}/_sandbox/faults", sb.vercel_url()))
        .json(&json!({"build": "hang"}))
        .send()
        .await
        .expect("admin");
    assert_eq!(resp.status(), StatusCode::OK);
    let id = v.deploy(None).await;
    v.watch(&id, |d| d["readyState"] == "BUILDING").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, d) = v.get(&format!("/v13/deployments/{id}")).await;
    assert_eq!(d["readyState"], "BUILDING", "a hung build stays BUILDING");

    let (status, d) = v
        .call(
            reqwest::Method::PATCH,
            &format!("/v12/deployments/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["readyState"], "CANCELED");

    let (status, list) = v.get("/v6/deployments?projectId=web&limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["deployments"].as_array().expect("list").len(), 2);
    assert!(list["deployments"][0]["uid"].is_string());
    assert!(list["pagination"]["next"].is_number(), "{list}");
}

#[tokio::test]
async fn sandbox_vercel_promote_and_rollback() {
    let sb = start(3).await;
    let v = Vercel { sb: &sb, c: http() };
    let first = v.deploy(Some("production")).await;
    v.watch(&first, terminal).await;
    let second = v.deploy(Some("production")).await;
    v.watch(&second, terminal).await;
    let (_, p) = v.get("/v9/projects/web").await;
    assert_eq!(p["targets"]["production"]["id"], json!(second));

    let (status, body) = v
        .post(&format!("/v1/projects/web/rollback/{first}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, p) = v.get("/v9/projects/web").await;
    assert_eq!(p["targets"]["production"]["id"], json!(first));
    assert_eq!(p["lastAliasRequest"]["type"], "rollback");
    assert_eq!(p["lastAliasRequest"]["jobStatus"], "succeeded");

    // After a rollback, new production deployments are staged, not promoted.
    let third = v.deploy(Some("production")).await;
    let (_, d) = v.watch(&third, terminal).await;
    assert_eq!(d["readySubstate"], "STAGED");
    let (_, p) = v.get("/v9/projects/web").await;
    assert_eq!(p["targets"]["production"]["id"], json!(first));

    let (status, _) = v
        .post(&format!("/v10/projects/web/promote/{third}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, p) = v.get("/v9/projects/web").await;
    assert_eq!(p["targets"]["production"]["id"], json!(third));
    assert_eq!(p["lastAliasRequest"]["fromDeploymentId"], json!(first));

    // A preview that never served production cannot be a rollback target.
    let preview = v.deploy(None).await;
    v.watch(&preview, terminal).await;
    let (status, e) = v
        .post(&format!("/v1/projects/web/rollback/{preview}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["code"].is_string());
}

#[tokio::test]
async fn sandbox_vercel_env_upsert_and_sensitive_values() {
    let sb = start(4).await;
    let v = Vercel { sb: &sb, c: http() };
    let (status, r) = v
        .post(
            "/v10/projects/web/env?upsert=true",
            json!([
                {"key": "PLAIN", "value": "p1", "type": "plain", "target": ["production"]},
                {"key": "SECRET", "value": "s3cr3t", "type": "sensitive", "target": ["production", "preview"]},
                {"key": "ENC", "value": "e1", "type": "encrypted", "target": ["production"]},
                {"key": "BAD KEY", "value": "x", "type": "plain", "target": ["production"]}
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["created"].as_array().expect("created").len(), 3);
    assert_eq!(r["failed"].as_array().expect("failed").len(), 1);

    // Upsert replaces; without upsert the same key conflicts.
    let (status, r) = v
        .post(
            "/v10/projects/web/env?upsert=true",
            json!({"key": "PLAIN", "value": "p2", "type": "plain", "target": ["production"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (status, r) = v
        .post(
            "/v10/projects/web/env",
            json!({"key": "PLAIN", "value": "p3", "type": "plain", "target": ["production"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert_eq!(r["error"]["code"], "ENV_CONFLICT");

    let (_, list) = v.get("/v10/projects/web/env?decrypt=true").await;
    let envs = list["envs"].as_array().expect("envs");
    let find = |k: &str| envs.iter().find(|e| e["key"] == k).expect(k).clone();
    assert_eq!(find("PLAIN")["value"], "p2");
    assert_eq!(find("ENC")["value"], "e1");
    let secret = find("SECRET");
    assert_eq!(secret["type"], "sensitive");
    assert_ne!(secret["value"], "s3cr3t");
    let id = secret["id"].as_str().expect("id");
    let (_, one) = v.get(&format!("/v1/projects/web/env/{id}")).await;
    assert_ne!(
        one["value"], "s3cr3t",
        "sensitive values are never returned"
    );
    let (_, snapshot) = json_of(
        http()
            .get(format!("{}/_sandbox/state", sb.vercel_url()))
            .send()
            .await
            .expect("state"),
    )
    .await;
    assert!(!snapshot.to_string().contains("s3cr3t"));

    let (_, raw) = v.get("/v10/projects/web/env").await;
    let enc = raw["envs"]
        .as_array()
        .expect("envs")
        .iter()
        .find(|e| e["key"] == "ENC")
        .expect("ENC")
        .clone();
    assert_ne!(enc["value"], "e1", "encrypted values need decrypt=true");

    let (status, _) = v
        .call(
            reqwest::Method::DELETE,
            &format!("/v9/projects/web/env/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, e) = v.get(&format!("/v1/projects/web/env/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(e["error"]["code"], "not_found");
}

#[tokio::test]
async fn sandbox_vercel_domain_verifies_once_its_txt_record_exists() {
    let sb = start(5).await;
    let v = Vercel { sb: &sb, c: http() };
    let (status, d) = v
        .post(
            "/v10/projects/web/domains",
            json!({"name": "www.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], false);
    let challenge = d["verification"][0].clone();
    assert_eq!(challenge["type"], "TXT");
    assert_eq!(challenge["domain"], "_vercel.example.com");

    let (status, e) = v
        .post("/v9/projects/web/domains/www.example.com/verify", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");

    // Create the TXT record through the Cloudflare simulator.
    let cf = http();
    let (_, zones) = json_of(
        cf.get(format!("{}/zones?name=example.com", sb.cloudflare_url()))
            .bearer_auth(&sb.tokens().cloudflare)
            .send()
            .await
            .expect("zones"),
    )
    .await;
    let zone = zones["result"][0]["id"].as_str().expect("zone id");
    let (status, r) = json_of(
        cf.post(format!("{}/zones/{zone}/dns_records", sb.cloudflare_url()))
            .bearer_auth(&sb.tokens().cloudflare)
            .json(&json!({"type": "TXT", "name": "_vercel", "content": challenge["value"]}))
            .send()
            .await
            .expect("create"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");

    let (status, d) = v
        .post("/v9/projects/web/domains/www.example.com/verify", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["verified"], true);
    assert!(
        d.get("verification").is_none(),
        "verification drops once verified"
    );

    // A domain that never verifies, even with its record declared.
    sb.faults(Server::Vercel)
        .expect("faults")
        .update(|c| c.domains_never_verify = true);
    let (_, d) = v
        .post(
            "/v10/projects/web/domains",
            json!({"name": "app.other.dev"}),
        )
        .await;
    sb.declare_dns([DnsRecord {
        kind: "TXT".into(),
        name: "_vercel.other.dev".into(),
        value: d["verification"][0]["value"]
            .as_str()
            .expect("value")
            .into(),
    }]);
    let (status, _) = v
        .post("/v9/projects/web/domains/app.other.dev/verify", json!({}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn cf_call(
    sb: &SandboxHandle,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http()
        .request(method, format!("{}{path}", sb.cloudflare_url()))
        .bearer_auth(&sb.tokens().cloudflare);
    if let Some(b) = body {
        req = req.json(&b);
    }
    json_of(req.send().await.expect("request")).await
}

#[tokio::test]
async fn sandbox_cloudflare_records_pagination_and_comments() {
    let sb = start(6).await;
    let (_, zones) = cf_call(&sb, reqwest::Method::GET, "/zones", None).await;
    let zone = zones["result"][0]["id"].as_str().expect("zone").to_string();
    let records = format!("/zones/{zone}/dns_records");
    for i in 0..12 {
        let comment = if i % 3 == 0 {
            Some("managed-by: berth")
        } else {
            None
        };
        let (status, r) = cf_call(
            &sb,
            reqwest::Method::POST,
            &records,
            Some(json!({"type": "A", "name": format!("h{i:02}"), "content": format!("192.0.2.{i}"), "ttl": 300, "comment": comment})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(r["success"], true);
        assert_eq!(r["result"]["name"], format!("h{i:02}.example.com"));
    }

    let mut seen = Vec::new();
    for page in 1..=3 {
        let (_, r) = cf_call(
            &sb,
            reqwest::Method::GET,
            &format!("{records}?per_page=5&page={page}&order=name"),
            None,
        )
        .await;
        let info = &r["result_info"];
        assert_eq!(info["page"], page);
        assert_eq!(info["per_page"], 5);
        assert_eq!(info["total_count"], 12);
        assert_eq!(info["total_pages"], 3);
        assert_eq!(info["count"], if page < 3 { 5 } else { 2 });
        for rec in r["result"].as_array().expect("result") {
            seen.push(rec["name"].as_str().expect("name").to_string());
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "pages are ordered and disjoint");
    assert_eq!(seen.len(), 12);

    let (_, r) = cf_call(
        &sb,
        reqwest::Method::GET,
        &format!("{records}?comment.contains=berth"),
        None,
    )
    .await;
    assert_eq!(r["result_info"]["total_count"], 4);
    assert_eq!(r["result"][0]["comment"], "managed-by: berth");

    // PATCH a comment in, then a conflicting create and an identical create.
    let id = r["result"][0]["id"].as_str().expect("id").to_string();
    let (status, p) = cf_call(
        &sb,
        reqwest::Method::PATCH,
        &format!("{records}/{id}"),
        Some(json!({"comment": "changed"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(p["result"]["comment"], "changed");
    assert_eq!(p["result"]["ttl"], 300, "PATCH keeps other fields");
    let (status, e) = cf_call(
        &sb,
        reqwest::Method::POST,
        &records,
        Some(json!({"type": "CNAME", "name": "h01", "content": "elsewhere.example.net"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(e["errors"][0]["code"], 81053);
    let (_, e) = cf_call(
        &sb,
        reqwest::Method::POST,
        &records,
        Some(json!({"type": "A", "name": "h01", "content": "192.0.2.1"})),
    )
    .await;
    assert_eq!(e["errors"][0]["code"], 81057);

    let (status, d) = cf_call(
        &sb,
        reqwest::Method::DELETE,
        &format!("{records}/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["result"]["id"], json!(id));
    let (status, e) = cf_call(&sb, reqwest::Method::GET, &format!("{records}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(e["success"], false);
}

async fn gql(sb: &SandboxHandle, query: &str, variables: Value) -> (StatusCode, Value) {
    json_of(
        http()
            .post(format!("{}/graphql/v2", sb.railway_url()))
            .bearer_auth(&sb.tokens().railway)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("graphql"),
    )
    .await
}

async fn railway_ids(sb: &SandboxHandle) -> (String, String, String) {
    let (status, v) = gql(
        sb,
        "query { projects { edges { node { id name environments { edges { node { id name } } } services { edges { node { id name } } } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(v.get("errors").is_none(), "{v}");
    let p = &v["data"]["projects"]["edges"][0]["node"];
    let env = p["environments"]["edges"]
        .as_array()
        .expect("envs")
        .iter()
        .find(|e| e["node"]["name"] == "production")
        .expect("production")["node"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let svc = p["services"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("svc")
        .to_string();
    (p["id"].as_str().expect("project").to_string(), env, svc)
}

async fn railway_status(sb: &SandboxHandle, id: &str) -> Value {
    let (_, v) = gql(
        sb,
        "query($id: String!) { deployment(id: $id) { id status canRollback staticUrl } }",
        json!({"id": id}),
    )
    .await;
    v["data"]["deployment"].clone()
}

async fn railway_wait(sb: &SandboxHandle, id: &str) -> (Vec<String>, Value) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let d = railway_status(sb, id).await;
        let s = d["status"].as_str().expect("status").to_string();
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if matches!(s.as_str(), "SUCCESS" | "FAILED" | "REMOVED") {
            return (seen, d);
        }
        assert!(Instant::now() < deadline, "stuck: {seen:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const DEPLOY: &str = "mutation($e: String!, $s: String!) { serviceInstanceDeployV2(environmentId: $e, serviceId: $s, commitSha: \"abc123\") }";

#[tokio::test]
async fn sandbox_railway_graphql_deploy_rollback_and_variables() {
    let sb = start(7).await;
    let (project, env, svc) = railway_ids(&sb).await;

    let (_, v) = gql(&sb, DEPLOY, json!({"e": env, "s": svc})).await;
    let first = v["data"]["serviceInstanceDeployV2"]
        .as_str()
        .expect("id")
        .to_string();
    let (seen, d) = railway_wait(&sb, &first).await;
    assert_eq!(d["status"], "SUCCESS", "{seen:?}");
    assert!(
        seen.contains(&"BUILDING".to_string()) && seen.contains(&"DEPLOYING".to_string()),
        "{seen:?}"
    );

    let (_, v) = gql(&sb, DEPLOY, json!({"e": env, "s": svc})).await;
    let second = v["data"]["serviceInstanceDeployV2"]
        .as_str()
        .expect("id")
        .to_string();
    railway_wait(&sb, &second).await;
    let d = railway_status(&sb, &first).await;
    assert_eq!(
        d["status"], "REMOVED",
        "the previous deployment is replaced"
    );
    assert_eq!(d["canRollback"], true);

    let (_, v) = gql(
        &sb,
        "mutation($id: String!) { deploymentRollback(id: $id) }",
        json!({"id": first}),
    )
    .await;
    assert_eq!(v["data"]["deploymentRollback"], true, "{v}");
    let (_, v) = gql(
        &sb,
        "query($e: String!, $s: String!) { serviceInstance(environmentId: $e, serviceId: $s) { latestDeployment { id status meta } } }",
        json!({"e": env, "s": svc}),
    )
    .await;
    let latest = v["data"]["serviceInstance"]["latestDeployment"].clone();
    assert_eq!(latest["meta"]["rollbackFrom"], json!(first), "{v}");

    // A failing build, with a fault set through the admin API.
    http()
        .post(format!("{}/_sandbox/faults", sb.railway_url()))
        .json(&json!({"build": "fail"}))
        .send()
        .await
        .expect("admin");
    let (_, v) = gql(&sb, DEPLOY, json!({"e": env, "s": svc})).await;
    let failed = v["data"]["serviceInstanceDeployV2"]
        .as_str()
        .expect("id")
        .to_string();
    let (_, d) = railway_wait(&sb, &failed).await;
    assert_eq!(d["status"], "FAILED");
    sb.faults(Server::Railway).expect("faults").clear();

    // Variables: upsert without a redeploy, read back, and enum filters in the list.
    let (_, v) = gql(
        &sb,
        "mutation($i: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $i) }",
        json!({"i": {"projectId": project, "environmentId": env, "serviceId": svc, "variables": {"A": "1", "B": "${{A}}-x"}, "skipDeploys": true}}),
    )
    .await;
    assert_eq!(v["data"]["variableCollectionUpsert"], true, "{v}");
    let (_, v) = gql(
        &sb,
        "query($p: String!, $e: String!, $s: String) { variables(projectId: $p, environmentId: $e, serviceId: $s) raw: variables(projectId: $p, environmentId: $e, serviceId: $s, unrendered: true) }",
        json!({"p": project, "e": env, "s": svc}),
    )
    .await;
    assert_eq!(v["data"]["variables"], json!({"A": "1", "B": "1-x"}), "{v}");
    assert_eq!(v["data"]["raw"]["B"], "${{A}}-x");
    let (_, v) = gql(
        &sb,
        "query($s: String!) { deployments(input: {serviceId: $s, status: {in: [FAILED]}}, first: 10) { edges { node { id status } } } }",
        json!({"s": svc}),
    )
    .await;
    let edges = v["data"]["deployments"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{v}");
    assert_eq!(edges[0]["node"]["id"], json!(failed));

    // Removed deployments leave the list unless includeDeleted is set.
    let (_, v) = gql(
        &sb,
        "mutation($id: String!) { deploymentRemove(id: $id) }",
        json!({"id": failed}),
    )
    .await;
    assert_eq!(v["data"]["deploymentRemove"], true, "{v}");
    let list = "query($s: String!, $d: Boolean) { deployments(input: {serviceId: $s, includeDeleted: $d}) { edges { node { id } } } }";
    let count = |v: &Value| {
        v["data"]["deployments"]["edges"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let (_, hidden) = gql(&sb, list, json!({"s": svc, "d": false})).await;
    let (_, all) = gql(&sb, list, json!({"s": svc, "d": true})).await;
    assert_eq!(count(&all), count(&hidden) + 1, "{hidden} vs {all}");
}

#[tokio::test]
async fn sandbox_railway_rejects_malformed_queries_with_graphql_errors() {
    let sb = start(8).await;
    let (status, v) = gql(&sb, "query { project(id: \"x\") { id ", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(v["errors"][0]["message"].is_string(), "{v}");
    assert!(
        v["errors"][0]["locations"].is_array(),
        "a parse error has a location: {v}"
    );

    let (_, v) = gql(
        &sb,
        "query { deployment(id: \"x\") { id nonsense } }",
        json!({}),
    )
    .await;
    let msg = v["errors"][0]["message"].as_str().expect("message");
    assert!(msg.contains("nonsense"), "{msg}");

    let (_, v) = gql(
        &sb,
        "query { deployments(input: {status: {in: [FINISHED]}}) { edges { node { id } } } }",
        json!({}),
    )
    .await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("FINISHED"),
        "{v}"
    );

    let (_, v) = gql(
        &sb,
        "query { deployment(id: \"missing\") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(v["errors"][0]["message"], "Deployment not found");
    assert_eq!(v["errors"][0]["path"], json!(["deployment"]));
}

#[tokio::test]
async fn sandbox_railway_custom_domain_verifies_with_records() {
    let sb = start(9).await;
    let (project, env, svc) = railway_ids(&sb).await;
    let (_, v) = gql(
        &sb,
        "mutation($i: CustomDomainCreateInput!) { customDomainCreate(input: $i) { id status { verified verificationDnsHost verificationToken certificateStatus dnsRecords { recordType hostlabel zone requiredValue status purpose } } } }",
        json!({"i": {"projectId": project, "environmentId": env, "serviceId": svc, "domain": "api.example.com", "targetPort": 8080}}),
    )
    .await;
    let d = &v["data"]["customDomainCreate"];
    assert_eq!(d["status"]["verified"], false, "{v}");
    assert_eq!(
        d["status"]["certificateStatus"],
        "CERTIFICATE_STATUS_TYPE_VALIDATING_OWNERSHIP"
    );
    let rec = &d["status"]["dnsRecords"][0];
    assert_eq!(rec["recordType"], "DNS_RECORD_TYPE_CNAME");
    assert_eq!(rec["hostlabel"], "api");
    assert_eq!(rec["status"], "DNS_RECORD_STATUS_REQUIRES_UPDATE");
    assert_eq!(rec["purpose"], "DNS_RECORD_PURPOSE_TRAFFIC_ROUTE");
    let id = d["id"].as_str().expect("id");

    sb.declare_dns([
        DnsRecord {
            kind: "CNAME".into(),
            name: "api.example.com".into(),
            value: rec["requiredValue"].as_str().expect("value").into(),
        },
        DnsRecord {
            kind: "TXT".into(),
            name: d["status"]["verificationDnsHost"]
                .as_str()
                .expect("host")
                .into(),
            value: d["status"]["verificationToken"]
                .as_str()
                .expect("token")
                .into(),
        },
    ]);
    let (_, v) = gql(
        &sb,
        "query($id: String!, $p: String!) { customDomain(id: $id, projectId: $p) { status { verified certificateStatus dnsRecords { status currentValue } } } }",
        json!({"id": id, "p": project}),
    )
    .await;
    let st = &v["data"]["customDomain"]["status"];
    assert_eq!(st["verified"], true, "{v}");
    assert_eq!(st["certificateStatus"], "CERTIFICATE_STATUS_TYPE_VALID");
    assert_eq!(
        st["dnsRecords"][0]["status"],
        "DNS_RECORD_STATUS_PROPAGATED"
    );
}

#[tokio::test]
async fn sandbox_supabase_health_backups_and_pitr_restore() {
    let sb = start(10).await;
    let c = http();
    let url = |p: &str| format!("{}{p}", sb.supabase_url());
    let token = sb.tokens().supabase.clone();
    let (_, projects) = json_of(
        c.get(url("/v1/projects"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list"),
    )
    .await;
    let reference = projects[0]["ref"].as_str().expect("ref").to_string();
    assert_eq!(reference.len(), 20);
    assert_eq!(projects[0]["status"], "ACTIVE_HEALTHY");

    let (status, e) = json_of(
        c.get(url(&format!("/v1/projects/{reference}/health")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("health"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "services is required: {e}");
    let (status, h) = json_of(
        c.get(url(&format!(
            "/v1/projects/{reference}/health?services=db&services=auth"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .expect("health"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.as_array().expect("array").len(), 2);
    assert_eq!(h[0]["status"], "ACTIVE_HEALTHY");
    assert_eq!(h[1]["info"]["name"], "GoTrue");

    let (_, b) = json_of(
        c.get(url(&format!("/v1/projects/{reference}/database/backups")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("backups"),
    )
    .await;
    assert_eq!(b["pitr_enabled"], true);
    assert!(!b["backups"].as_array().expect("backups").is_empty());
    let latest = b["physical_backup_data"]["latest_physical_backup_date_unix"]
        .as_i64()
        .expect("latest");

    let (status, _) = json_of(
        c.post(url(&format!(
            "/v1/projects/{reference}/database/backups/restore-pitr"
        )))
        .bearer_auth(&token)
        .json(&json!({"recovery_time_target_unix": latest - 60}))
        .send()
        .await
        .expect("restore"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, p) = json_of(
        c.get(url(&format!("/v1/projects/{reference}")))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(p["status"], "RESTORING");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, p) = json_of(
            c.get(url(&format!("/v1/projects/{reference}")))
                .bearer_auth(&token)
                .send()
                .await
                .expect("get"),
        )
        .await;
        if p["status"] == "ACTIVE_HEALTHY" {
            break;
        }
        assert!(Instant::now() < deadline, "restore never finished: {p}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, e) = json_of(
        c.get(url("/v1/projects/abcdefghijklmnopqrst"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("missing"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(e["message"], "Project not found");
}

#[tokio::test]
async fn sandbox_429_bursts_carry_retry_after_and_rate_limit_headers() {
    let sb = start(11).await;
    let c = http();

    // Normal responses carry the headers too.
    let ok = c
        .get(format!("{}/v9/projects/web", sb.vercel_url()))
        .bearer_auth(&sb.tokens().vercel)
        .send()
        .await
        .expect("vercel");
    assert_eq!(ok.status(), StatusCode::OK);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(ok.headers().contains_key(h), "missing {h}");
    }
    let ok = c
        .get(format!("{}/zones", sb.cloudflare_url()))
        .bearer_auth(&sb.tokens().cloudflare)
        .send()
        .await
        .expect("cloudflare");
    assert!(
        ok.headers()["ratelimit"]
            .to_str()
            .expect("ascii")
            .starts_with("\"default\";r=")
    );
    assert!(ok.headers().contains_key("ratelimit-policy"));

    for server in [
        Server::Vercel,
        Server::Cloudflare,
        Server::Supabase,
        Server::Railway,
    ] {
        sb.faults(server).expect("faults").burst_429(2, 7);
    }
    let send = |server: Server| {
        let c = c.clone();
        let (url, token) = match server {
            Server::Vercel => (
                format!("{}/v9/projects/web", sb.vercel_url()),
                sb.tokens().vercel.clone(),
            ),
            Server::Cloudflare => (
                format!("{}/zones", sb.cloudflare_url()),
                sb.tokens().cloudflare.clone(),
            ),
            Server::Supabase => (
                format!("{}/v1/projects", sb.supabase_url()),
                sb.tokens().supabase.clone(),
            ),
            _ => (
                format!("{}/graphql/v2", sb.railway_url()),
                sb.tokens().railway.clone(),
            ),
        };
        async move {
            let req = if server == Server::Railway {
                c.post(url).json(&json!({"query": "{ me { id } }"}))
            } else {
                c.get(url)
            };
            req.bearer_auth(token).send().await.expect("request")
        }
    };
    for server in [
        Server::Vercel,
        Server::Cloudflare,
        Server::Supabase,
        Server::Railway,
    ] {
        for _ in 0..2 {
            let r = send(server).await;
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{server:?}");
            assert_eq!(r.headers()["retry-after"], "7", "{server:?}");
            let h = r.headers().clone();
            let body: Value = r.json().await.expect("json body");
            match server {
                Server::Vercel => {
                    assert_eq!(body["error"]["code"], "rate_limited");
                    assert_eq!(body["error"]["limit"]["remaining"], 0);
                    assert_eq!(h["x-ratelimit-remaining"], "0");
                }
                Server::Cloudflare => {
                    assert_eq!(body["success"], false);
                    assert_eq!(body["errors"][0]["code"], 10100);
                }
                Server::Supabase => {
                    assert!(body["message"].is_string());
                    assert!(h.contains_key("x-ratelimit-reset"));
                }
                _ => assert!(body["errors"][0]["message"].is_string()),
            }
        }
        assert_eq!(
            send(server).await.status(),
            StatusCode::OK,
            "{server:?} recovers"
        );
    }
}

/// The status codes of 40 requests against a Cloudflare simulator with a 50% error rate.
async fn fault_sequence(seed: u64) -> Vec<u16> {
    let sb = start(seed).await;
    let c = http();
    let resp = c
        .post(format!("{}/_sandbox/faults", sb.cloudflare_url()))
        .json(&FaultConfig {
            error_rate: 0.5,
            error_status: Some(503),
            latency_jitter_ms: 2,
            ..FaultConfig::default()
        })
        .send()
        .await
        .expect("admin");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut out = Vec::new();
    for _ in 0..40 {
        let r = c
            .get(format!("{}/zones", sb.cloudflare_url()))
            .bearer_auth(&sb.tokens().cloudflare)
            .send()
            .await
            .expect("zones");
        let status = r.status().as_u16();
        if status == 503 {
            let body: Value = r.json().await.expect("json");
            assert_eq!(body["success"], false, "5xx in Cloudflare's shape");
        }
        out.push(status);
    }
    out
}

#[tokio::test]
async fn sandbox_same_seed_replays_the_same_faults() {
    let a = fault_sequence(42).await;
    let b = fault_sequence(42).await;
    let c = fault_sequence(43).await;
    assert!(a.contains(&503) && a.contains(&200), "{a:?}");
    assert_eq!(a, b, "same seed, same faults");
    assert_ne!(a, c, "another seed, other faults");
}

#[tokio::test]
async fn sandbox_apps_server_answers_health_and_fails_on_cue() {
    let sb = start(12).await;
    let v = Vercel { sb: &sb, c: http() };
    let id = v.deploy(Some("production")).await;
    let (_, d) = v.watch(&id, terminal).await;
    let host = d["url"].as_str().expect("url").to_string();

    // By Host header (reqwest resolves the hostname to the apps server)…
    let apps = sb.apps_addr().expect("apps addr");
    let c = Client::builder()
        .resolve(&host, apps)
        .resolve("web.vercel.app", apps)
        .build()
        .expect("client");
    let r = c
        .get(format!("http://{host}:{}/health", apps.port()))
        .send()
        .await
        .expect("health");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["deployment"], json!(id));
    assert_eq!(body["path"], "/health");
    let r = c
        .get(format!("http://web.vercel.app:{}/health", apps.port()))
        .send()
        .await
        .expect("alias");
    assert_eq!(r.status(), StatusCode::OK);

    // …or as the first path segment.
    let r = http()
        .get(format!("{}/{host}/health", sb.apps_url()))
        .send()
        .await
        .expect("path form");
    assert_eq!(r.status(), StatusCode::OK);
    let r = http()
        .get(format!("{}/nowhere.example/health", sb.apps_url()))
        .send()
        .await
        .expect("unknown");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Fail on cue, then slow on cue, then recover.
    sb.faults(Server::Apps).expect("faults").update(|f| {
        f.error_rate = 1.0;
        f.error_status = Some(502);
    });
    let r = http()
        .get(format!("{}/{host}/health", sb.apps_url()))
        .send()
        .await
        .expect("failing");
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    sb.faults(Server::Apps).expect("faults").set(FaultConfig {
        latency_ms: 300,
        ..FaultConfig::default()
    });
    let started = Instant::now();
    let r = http()
        .get(format!("{}/{host}/health", sb.apps_url()))
        .send()
        .await
        .expect("slow");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A deployment that is still building is not served yet.
    sb.faults(Server::Vercel)
        .expect("faults")
        .update(|c| c.build = BuildFault::Hang);
    let hung = v.deploy(None).await;
    let (_, d) = v.get(&format!("/v13/deployments/{hung}")).await;
    let r = http()
        .get(format!(
            "{}/{}/health",
            sb.apps_url(),
            d["url"].as_str().expect("url")
        ))
        .send()
        .await
        .expect("building");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}
