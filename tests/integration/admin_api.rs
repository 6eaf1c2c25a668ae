//! The admin API behind the real API server's authentication and RBAC: TokenReview decides
//! who calls, SubjectAccessReview what they may see; every answer is JSON.

use std::time::Duration;

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
