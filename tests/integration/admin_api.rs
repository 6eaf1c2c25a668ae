//! The admin API behind the real API server's authentication and RBAC: TokenReview decides
//! who calls, SubjectAccessReview what they may see; every answer is JSON.

use std::{io::Read as _, time::Duration};

use reqwest::StatusCode;

use crate::{
    estate::example_in,
    support::{self, ControllerProcess, eventually, kubectl},
};

// Protects: no token and a forged token are 401 with the JSON error shape; a user whose
// role grants `list deployments.berth.dev` in the namespace sees the estate grouped by
// environment; a user without it sees nothing and gets a 403 naming the permission when
// asking for that namespace; bad query parameters and unknown paths are JSON 400/404.
#[tokio::test]
async fn deployment_status_is_authenticated_and_filtered_by_rbac() {
    let client = support::client().await;
    let ns = support::namespace(&client, "admin-api").await;
    let controller = ControllerProcess::start(&ns, None);
    controller.wait_ready().await;
    let stream: String = example_in(&ns)
        .iter()
        .map(|d| format!("---\n{}", berth::yaml::to_string(d).unwrap()))
        .collect();
    let (ok, _, err) = kubectl(&["apply", "-f", "-"], Some(&stream));
    assert!(ok, "{err}");
    let role = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: berth-viewer, namespace: {ns}}}\nrules:\n- apiGroups: [berth.dev]\n  resources: [deployments]\n  verbs: [get, list]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: alice-views, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: berth-viewer}}\nsubjects:\n- {{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}}\n"
    );
    let (ok, _, err) = kubectl(&["apply", "-f", "-"], Some(&role));
    assert!(ok, "{err}");

    let path = "/api/admin/deployment/status";
    let (status, body) = controller.api_get(path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["reason"], "Unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bearer token")
    );
    let (status, _) = controller.api_get(path, Some("not-a-real-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Alice: the production environment with its four deployments, from the caches.
    let alice = support::token("alice");
    let body = eventually(Duration::from_secs(10), "alice sees the estate", || {
        let (c, t) = (&controller, alice.clone());
        async move {
            let (status, body) = c.api_get(path, Some(&t)).await;
            (status == StatusCode::OK && body["environments"].as_array()?.len() == 2)
                .then_some(body)
        }
    })
    .await;
    let prod = body["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "production")
        .expect("production environment");
    assert_eq!(prod["namespace"], ns.as_str());
    assert_eq!(prod["deployments"].as_array().unwrap().len(), 4, "{prod}");
    assert_eq!(prod["health"]["ready"], false, "no provider yet: {prod}");
    assert!(!prod["domains"].as_array().unwrap().is_empty(), "{prod}");
    assert_eq!(body["hiddenNamespaces"], 0);
    status_is_gzipped_on_request(controller.port, path, &alice).await;

    // Bob has no role here.
    let bob = support::token("bob");
    let (status, body) = controller.api_get(path, Some(&bob)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["environments"].as_array().unwrap().len(), 0);
    assert_eq!(body["hiddenNamespaces"], 1);
    let (status, body) = controller
        .api_get(&format!("{path}?namespace={ns}"), Some(&bob))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("\"bob\"") && message.contains("list deployments.berth.dev"),
        "{message}"
    );

    let (status, body) = controller
        .api_get(&format!("{path}?nmespace=x"), Some(&alice))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nmespace"),
        "{body}"
    );
    let (status, body) = controller.api_get("/api/admin/nope", Some(&alice)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// `path` as `token`, sending `accept_encoding` when given: the headers and raw body bytes
/// (reqwest is built without decompression, so they are as berth sent them).
async fn raw_get(
    port: u16,
    path: &str,
    token: &str,
    accept_encoding: Option<&str>,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(token);
    if let Some(a) = accept_encoding {
        req = req.header(reqwest::header::ACCEPT_ENCODING, a);
    }
    let resp = req.send().await.expect("berth answers");
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let headers = resp.headers().clone();
    (headers, resp.bytes().await.expect("a body").to_vec())
}

// Protects (with the test above, on its estate): a client accepting gzip gets the status
// page gzipped, decompressing to exactly the plain answer, with Content-Encoding and Vary;
// identity, a refused gzip (q=0) or no header get the plain bytes; errors stay plain JSON.
async fn status_is_gzipped_on_request(port: u16, path: &str, token: &str) {
    // The controller may still be writing statuses: compare answers of one unchanged view.
    let mut tries = 0;
    let (plain, gz) = loop {
        let (headers, plain) = raw_get(port, path, token, None).await;
        assert!(headers.get("content-encoding").is_none());
        assert_eq!(headers["vary"], "accept-encoding");
        let (headers, gz) = raw_get(port, path, token, Some("br;q=1, gzip;q=0.8")).await;
        assert_eq!(headers["content-encoding"], "gzip");
        assert_eq!(headers["vary"], "accept-encoding");
        assert_eq!(headers["content-type"], "application/json");
        let (_, again) = raw_get(port, path, token, None).await;
        tries += 1;
        if again == plain || tries == 20 {
            break (plain, gz);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(plain.len() >= 1024, "large enough to be compressed");
    assert!(
        gz.len() < plain.len() / 2,
        "{} vs {}",
        gz.len(),
        plain.len()
    );
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .expect("valid gzip");
    assert_eq!(out, plain, "decompresses to exactly the plain answer");
    for refused in ["identity", "gzip;q=0"] {
        let (headers, body) = raw_get(port, path, token, Some(refused)).await;
        assert!(headers.get("content-encoding").is_none(), "{refused}");
        assert!(
            serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
            "{refused}"
        );
    }
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}?limit=0"))
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("berth answers");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("content-encoding").is_none());
}
