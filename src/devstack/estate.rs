//! The example estate made local: its provider endpoints pointed at the sandbox, its DNS at
//! the local PowerDNS, its ACME issuers at the local Pebble and its database Secrets at the
//! local Postgres. Used by `berth up` and by the tests that run the whole example.

use std::net::SocketAddr;

use serde_json::{Value, json};

/// Where the local stack's services answer.
#[derive(Clone, Debug, Default)]
pub struct LocalEndpoints {
    /// The sandbox's Railway GraphQL URL (`…/graphql/v2`).
    pub railway: String,
    pub vercel: String,
    pub supabase: String,
    pub cloudflare: String,
    /// The local PowerDNS, when one runs.
    pub powerdns: Option<LocalDns>,
    /// The local ACME server, when one runs.
    pub acme: Option<LocalAcme>,
    /// A connection URL for every database Secret (`uri` keys), when a Postgres runs.
    pub database_url: Option<String>,
    /// An S3-compatible endpoint and its access key and secret key, when one runs.
    pub s3: Option<(String, String, String)>,
}

/// A PowerDNS on loopback.
#[derive(Clone, Debug)]
pub struct LocalDns {
    /// Its HTTP API.
    pub api_url: String,
    /// Its API key.
    pub api_key: String,
    /// Where it answers DNS queries: the zone's only name server locally, so Domains check
    /// propagation against it.
    pub dns: SocketAddr,
}

/// An ACME server on loopback (Pebble).
#[derive(Clone, Debug)]
pub struct LocalAcme {
    /// The directory URL.
    pub directory: String,
    /// The CA (PEM) of its HTTPS certificate, which no system trust store has.
    pub tls_ca_pem: String,
}

/// The Secret `localize` adds beside Certificates it points at the local ACME server.
pub const ACME_CA_SECRET: &str = "local-acme-ca";

/// The Secrets of the example that hold database connection URLs.
const DATABASE_SECRETS: &[&str] = &["vocilia-db", "vocilia-staging-db"];

/// Rewrites rendered example documents (as from `kubectl kustomize`) for `local`.
pub fn localize(docs: &mut Vec<Value>, local: &LocalEndpoints) {
    let mut acme_namespaces = Vec::new();
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
                if let (Some(dns), true) = (&local.powerdns, p["dns"]["powerdns"].is_object()) {
                    p["dns"]["powerdns"]["url"] = dns.api_url.as_str().into();
                    p["dns"]["nameservers"] = json!([dns.dns.to_string()]);
                }
            }
            (Some("Certificate"), _) => {
                let issuer = doc.pointer_mut("/spec/issuer/acme");
                if let (Some(acme), Some(issuer)) = (&local.acme, issuer.filter(|i| i.is_object()))
                {
                    issuer["server"] = acme.directory.as_str().into();
                    issuer["caBundleSecretRef"] = json!({"name": ACME_CA_SECRET, "key": "ca.crt"});
                    let namespace = doc["metadata"]["namespace"].clone();
                    if !acme_namespaces.contains(&namespace) {
                        acme_namespaces.push(namespace);
                    }
                }
            }
            (Some("BackupPolicy"), _) => {
                let s3 = &mut doc["spec"]["destination"]["s3"];
                if let (Some((endpoint, _, _)), true) = (&local.s3, s3.is_object()) {
                    s3["endpoint"] = endpoint.as_str().into();
                    s3["forcePathStyle"] = true.into();
                }
            }
            (Some("Secret"), Some("backup-s3")) => {
                if let Some((_, key, secret)) = &local.s3 {
                    doc["stringData"]["accessKeyId"] = key.as_str().into();
                    doc["stringData"]["secretAccessKey"] = secret.as_str().into();
                }
            }
            (Some("Secret"), Some("pdns-api-key")) => {
                if let Some(dns) = &local.powerdns {
                    doc["stringData"]["api-key"] = dns.api_key.as_str().into();
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
    if let Some(acme) = &local.acme {
        for namespace in acme_namespaces {
            let mut metadata = json!({"name": ACME_CA_SECRET});
            if !namespace.is_null() {
                metadata["namespace"] = namespace;
            }
            docs.push(json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": metadata,
                "stringData": {"ca.crt": acme.tls_ca_pem},
            }));
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
            serde_json::json!({"kind": "Certificate", "metadata": {"name": "api", "namespace": "vocilia"}, "spec": {"issuer": {"acme": {
                "server": "https://acme-v02.api.letsencrypt.org/directory", "email": "ops@vocilia.com"}}}}),
            serde_json::json!({"kind": "Certificate", "metadata": {"name": "www", "namespace": "vocilia"}, "spec": {"issuer": {"platform": {"provider": "Vercel"}}}}),
        ];
        let platform_certificate = docs[4].clone();
        let before_token = docs[2].clone();
        localize(
            &mut docs,
            &LocalEndpoints {
                railway: "http://127.0.0.1:4004/graphql/v2".into(),
                vercel: "http://127.0.0.1:4001".into(),
                powerdns: Some(LocalDns {
                    api_url: "http://127.0.0.1:8081".into(),
                    api_key: "key".into(),
                    dns: "127.0.0.1:5300".parse().unwrap(),
                }),
                acme: Some(LocalAcme {
                    directory: "https://127.0.0.1:14000/dir".into(),
                    tls_ca_pem: "PEM".into(),
                }),
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
        assert_eq!(p["dns"]["nameservers"], json!(["127.0.0.1:5300"]));
        assert_eq!(docs[1]["stringData"]["uri"], "postgres://local/vocilia");
        assert_eq!(docs[2], before_token);
        let acme = &docs[3]["spec"]["issuer"]["acme"];
        assert_eq!(acme["server"], "https://127.0.0.1:14000/dir");
        assert_eq!(acme["email"], "ops@vocilia.com");
        assert_eq!(acme["caBundleSecretRef"]["name"], ACME_CA_SECRET);
        assert_eq!(docs[4], platform_certificate);
        assert_eq!(docs.len(), 6, "one CA Secret for the namespace");
        assert_eq!(docs[5]["metadata"]["namespace"], "vocilia");
        assert_eq!(docs[5]["stringData"]["ca.crt"], "PEM");
    }
}
