//! The Secrets a Certificate keeps: the `kubernetes.io/tls` pair it serves, the ACME account
//! (shared by Certificates, no owner, so it outlives them), and the private key of an order
//! in flight (owned by the Certificate, removed once the order ends).
//!
//! berth writes the TLS Secret only if it is absent or carries berth's annotation naming this
//! Certificate: a Secret someone else made is reported, never overwritten.

use std::collections::BTreeMap;

use k8s_openapi::{
    ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::OwnerReference,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use sha2::{Digest, Sha256};

use super::x509::{self, CertInfo};
use crate::{
    api::{Certificate, certificate::PrivateKey},
    controllers::FIELD_MANAGER,
};

/// Annotation naming the Certificate that wrote a TLS Secret.
pub const CERTIFICATE_ANNOTATION: &str = "berth.dev/certificate";
/// Label on every Secret berth writes for certificates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "berth");
/// Label marking an ACME account Secret (it has no owner, so it survives its Certificates).
pub const ACCOUNT_LABEL: &str = "berth.dev/acme-account";

/// What the TLS Secret holds.
#[derive(Debug)]
pub enum Stored {
    /// No Secret of that name.
    Absent,
    /// A Secret berth did not write.
    Foreign,
    /// berth's Secret; the pair when complete, readable and matching.
    Ours(Option<CertInfo>),
}

/// The Secrets of one Certificate.
pub struct Secrets {
    api: Api<Secret>,
    certificate: String,
    owner: Option<OwnerReference>,
}

impl Secrets {
    /// For `cert` in its namespace.
    #[must_use]
    pub fn new(client: kube::Client, cert: &Certificate) -> Self {
        Self {
            api: Api::namespaced(client, &cert.namespace().unwrap_or_default()),
            certificate: cert.name_any(),
            owner: cert.controller_owner_ref(&()),
        }
    }

    /// The TLS Secret `name` and the pair in it.
    pub async fn tls(&self, name: &str) -> Result<Stored, kube::Error> {
        let Some(secret) = self.api.get_opt(name).await? else {
            return Ok(Stored::Absent);
        };
        if secret.annotations().get(CERTIFICATE_ANNOTATION) != Some(&self.certificate) {
            return Ok(Stored::Foreign);
        }
        let text = |k: &str| {
            secret
                .data
                .as_ref()
                .and_then(|d| d.get(k))
                .and_then(|b| String::from_utf8(b.0.clone()).ok())
        };
        let pair = match (text("tls.crt"), text("tls.key")) {
            (Some(crt), Some(key)) => x509::leaf_of_pem(&crt)
                .ok()
                .filter(|c| x509::key_matches(c, &key)),
            _ => None,
        };
        Ok(Stored::Ours(pair))
    }

    /// Writes the whole pair at once (server-side apply), so readers see the old pair or the
    /// new one, never half of each. `ca.crt` is the chain's self-signed top, when it has one.
    pub async fn write_tls(
        &self,
        name: &str,
        chain_pem: &str,
        key_pem: &str,
    ) -> Result<(), kube::Error> {
        let mut data = BTreeMap::from([
            ("tls.crt".to_owned(), bytes(chain_pem)),
            ("tls.key".to_owned(), bytes(key_pem)),
        ]);
        if let Some(root) = self_signed_top(chain_pem) {
            data.insert("ca.crt".into(), bytes(&root));
        }
        let secret = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "labels": {MANAGED_BY.0: MANAGED_BY.1},
                "annotations": {CERTIFICATE_ANNOTATION: self.certificate},
            },
            "type": "kubernetes.io/tls",
            "data": data,
        });
        self.api
            .patch(
                name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await?;
        Ok(())
    }

    /// Deletes the TLS Secret if berth wrote it for this Certificate. Returns whether it did.
    pub async fn delete_tls(&self, name: &str) -> Result<bool, kube::Error> {
        if !matches!(self.tls(name).await?, Stored::Ours(_)) {
            return Ok(false);
        }
        ensure_deleted(&self.api, name).await
    }

    /// The stored credentials (JSON) of the account on `server` in Secret `name`.
    pub async fn account(&self, name: &str, server: &str) -> Result<Option<String>, kube::Error> {
        Ok(self.api.get_opt(name).await?.and_then(|s| {
            s.data
                .and_then(|d| d.get(&account_key(server)).cloned())
                .and_then(|b| String::from_utf8(b.0).ok())
        }))
    }

    /// Stores `credentials` for `server` unless another writer got there first; returns the
    /// credentials now stored (ours, or the winner's, which the caller should use instead).
    pub async fn store_account(
        &self,
        name: &str,
        server: &str,
        credentials: &str,
    ) -> Result<String, kube::Error> {
        let key = account_key(server);
        let outcome = match self.api.get_opt(name).await? {
            None => {
                let secret: Secret = serde_json::from_value(serde_json::json!({
                    "metadata": {
                        "name": name,
                        "labels": {MANAGED_BY.0: MANAGED_BY.1, ACCOUNT_LABEL: "true"},
                    },
                    "type": "Opaque",
                    "data": {&key: bytes(credentials)},
                }))
                .map_err(kube::Error::SerdeError)?;
                self.api
                    .create(&PostParams::default(), &secret)
                    .await
                    .map(|_| ())
            }
            Some(existing) => {
                // Conditional on the version read, so two first uses cannot both win.
                let patch = serde_json::json!({
                    "metadata": {"resourceVersion": existing.resource_version()},
                    "data": {&key: bytes(credentials)},
                });
                self.api
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
            }
        };
        match outcome {
            Ok(()) => Ok(credentials.to_owned()),
            Err(kube::Error::Api(e)) if e.code == 409 => match self.account(name, server).await? {
                Some(winner) => Ok(winner),
                None => Err(kube::Error::Api(e)),
            },
            Err(e) => Err(e),
        }
    }

    fn next_key_name(&self) -> String {
        format!("{}-acme-next-key", self.certificate)
    }

    /// The private key of the order in flight, made and stored when there is none.
    pub async fn next_key(&self, params: &PrivateKey) -> Result<String, kube::Error> {
        let name = self.next_key_name();
        let read = |s: Secret| {
            s.data
                .and_then(|d| d.get("tls.key").cloned())
                .and_then(|b| String::from_utf8(b.0).ok())
        };
        if let Some(key) = self.api.get_opt(&name).await?.and_then(read) {
            return Ok(key);
        }
        let pem =
            super::acme::generate_key(params).map_err(|e| kube::Error::Service(Box::new(e)))?;
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name,
                "labels": {MANAGED_BY.0: MANAGED_BY.1},
                "annotations": {CERTIFICATE_ANNOTATION: self.certificate},
                "ownerReferences": self.owner.iter().collect::<Vec<_>>(),
            },
            "type": "Opaque",
            "data": {"tls.key": bytes(&pem)},
        }))
        .map_err(kube::Error::SerdeError)?;
        match self.api.create(&PostParams::default(), &secret).await {
            Ok(_) => Ok(pem),
            Err(kube::Error::Api(e)) if e.code == 409 => self
                .api
                .get_opt(&name)
                .await?
                .and_then(read)
                .ok_or(kube::Error::Api(e)),
            Err(e) => Err(e),
        }
    }

    /// Forgets the key of the order that just ended.
    pub async fn drop_next_key(&self) -> Result<bool, kube::Error> {
        ensure_deleted(&self.api, &self.next_key_name()).await
    }
}

async fn ensure_deleted(api: &Api<Secret>, name: &str) -> Result<bool, kube::Error> {
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// The data key of the account on `server`: one Secret can hold accounts on several CAs.
fn account_key(server: &str) -> String {
    let digest = Sha256::digest(server.as_bytes());
    let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("account-{short}.json")
}

fn bytes(s: &str) -> ByteString {
    ByteString(s.as_bytes().to_vec())
}

/// The last certificate of the chain if it signed itself (a root the CA chose to include).
fn self_signed_top(chain_pem: &str) -> Option<String> {
    let chain = x509::chain_der(chain_pem);
    if chain.len() < 2 {
        return None;
    }
    let top = chain.last()?;
    let (_, cert) = <x509_parser::certificate::X509Certificate as x509_parser::prelude::FromDer<
        _,
    >>::from_der(top.as_ref())
    .ok()?;
    (cert.subject() == cert.issuer()).then(|| pem_of(top.as_ref()))
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: accounts on different CAs live under different keys of one Secret.
    #[test]
    fn account_keys_differ_by_server() {
        let a = account_key("https://acme-v02.api.letsencrypt.org/directory");
        let b = account_key("https://127.0.0.1:14000/dir");
        assert_ne!(a, b);
        assert!(a.starts_with("account-") && a.ends_with(".json"), "{a}");
    }
}
