//! The example estate made local: its provider endpoints pointed at the sandbox, its DNS at
//! the local PowerDNS and its database Secrets at the local Postgres. Used by `berth up` and
//! by the tests that run the whole example.

use serde_json::Value;

/// Where the local stack's services answer.
#[derive(Clone, Debug, Default)]
pub struct LocalEndpoints {
    /// The sandbox's Railway GraphQL URL (`…/graphql/v2`).
    pub railway: String,
    pub vercel: String,
    pub supabase: String,
    pub cloudflare: String,
    /// PowerDNS API URL and key, when one runs.
    pub powerdns: Option<(String, String)>,
    /// A connection URL for every database Secret (`uri` keys), when a Postgres runs.
    pub database_url: Option<String>,
}

/// The Secrets of the example that hold database connection URLs.
const DATABASE_SECRETS: &[&str] = &["vocilia-db", "vocilia-staging-db"];

/// Rewrites rendered example documents (as from `kubectl kustomize`) for `local`.
pub fn localize(docs: &mut [Value], local: &LocalEndpoints) {
    for doc in docs.iter_mut() {
        match (doc["kind"].as_str(), doc["metadata"]["name"].as_str()) {
            (Some("Environment"), _) => {
                let p = &mut doc["spec"]["providers"];
                for (binding, url) in [
                    ("railway", &local.railway),
                    ("vercel", &local.vercel),
                    ("supabase", &local.supabase),
                ] {
                    if p[binding].is_object() {
                        p[binding]["endpoint"] = url.as_str().into();
                    }
                }
                if p["dns"]["cloudflare"].is_object() {
                    p["dns"]["cloudflare"]["endpoint"] = local.cloudflare.as_str().into();
                }
                if let (Some((url, _)), true) = (&local.powerdns, p["dns"]["powerdns"].is_object())
                {
                    p["dns"]["powerdns"]["url"] = url.as_str().into();
                }
            }
            (Some("Secret"), Some("pdns-api-key")) => {
                if let Some((_, key)) = &local.powerdns {
                    doc["stringData"]["api-key"] = key.as_str().into();
                }
            }
            (Some("Secret"), Some(name)) if DATABASE_SECRETS.contains(&name) => {
                if let Some(url) = &local.database_url {
                    doc["stringData"]["uri"] = url.as_str().into();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: every binding of the example is pointed at the local stack, and nothing else
    // of the example changes.
    #[test]
    fn example_documents_point_at_the_local_stack() {
        let mut docs = vec![
            serde_json::json!({"kind": "Environment", "metadata": {"name": "production"}, "spec": {"providers": {
                "railway": {"projectId": "p"}, "vercel": {"teamId": "t"},
                "dns": {"zone": "vocilia.com", "powerdns": {"url": "http://pdns:8081"}}}}}),
            serde_json::json!({"kind": "Secret", "metadata": {"name": "vocilia-db"}, "stringData": {"uri": "postgres://remote"}}),
            serde_json::json!({"kind": "Secret", "metadata": {"name": "railway-token"}, "stringData": {"token": "t"}}),
        ];
        let before_token = docs[2].clone();
        localize(
            &mut docs,
            &LocalEndpoints {
                railway: "http://127.0.0.1:4004/graphql/v2".into(),
                vercel: "http://127.0.0.1:4001".into(),
                powerdns: Some(("http://127.0.0.1:8081".into(), "key".into())),
                database_url: Some("postgres://local/vocilia".into()),
                ..LocalEndpoints::default()
            },
        );
        let p = &docs[0]["spec"]["providers"];
        assert_eq!(p["railway"]["endpoint"], "http://127.0.0.1:4004/graphql/v2");
        assert_eq!(p["railway"]["projectId"], "p");
        assert_eq!(p["vercel"]["endpoint"], "http://127.0.0.1:4001");
        assert!(p["supabase"].is_null(), "no binding is invented");
        assert_eq!(p["dns"]["powerdns"]["url"], "http://127.0.0.1:8081");
        assert_eq!(docs[1]["stringData"]["uri"], "postgres://local/vocilia");
        assert_eq!(docs[2], before_token);
    }
}
