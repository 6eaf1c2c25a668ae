//! Observe (I/O): the referenced Secrets and their values, and the policy's history in the
//! catalogue. Secret values stay in [`Resolved`] and never reach status, logs or errors.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::{
    api::{BackupPolicy, common::SecretKeyRef},
    backup::{
        connection::Connection,
        destination::{S3Config, Target},
    },
    controllers::Error,
    providers::http::Secret as Credential,
};

/// The connections and destination a run needs, resolved from Secrets.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub source: Connection,
    pub scratch: Connection,
    /// S3 settings, when the destination is a bucket.
    pub s3: Option<S3Config>,
}

impl Resolved {
    /// The destination (builds an S3 client; makes no request).
    pub fn target(&self, obj: &BackupPolicy) -> Result<Target, String> {
        match (&obj.spec.destination.filesystem, &self.s3) {
            (Some(fs), _) => Ok(Target::filesystem(&fs.path)),
            (None, Some(s3)) => Target::s3(s3).map_err(|e| e.to_string()),
            (None, None) => Err("spec.destination: set exactly one of filesystem or s3".into()),
        }
    }
}

/// Reads one key of a Secret; `None` when the Secret or key is missing (the dependency check
/// has named it already).
async fn value(
    client: &Client,
    namespace: &str,
    name: &str,
    key: &str,
) -> Result<Option<String>, Error> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api.get_opt(name).await.map_err(|source| Error::Read {
        what: format!("Secret {namespace}/{name}"),
        source,
    })?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    if let Some(v) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return Ok(Some(String::from_utf8_lossy(&v.0).into_owned()));
    }
    Ok(secret.string_data.and_then(|mut d| d.remove(key)))
}

/// Resolves the Secrets. `Ok(Err(message))` when a value is present but unusable.
pub async fn resolve(
    client: &Client,
    obj: &BackupPolicy,
    namespace: &str,
) -> Result<Result<Option<Resolved>, String>, Error> {
    let spec = &obj.spec;
    let uri = |r: &SecretKeyRef| {
        let r = r.clone();
        async move {
            value(client, namespace, &r.name, &r.key)
                .await
                .map(|v| (r, v))
        }
    };
    let (source_ref, Some(source)) = uri(&spec.database.connection_secret_ref).await? else {
        return Ok(Ok(None));
    };
    let source = match Connection::parse(&source) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Err(format!(
                "Secret {namespace}/{} key {}: {e}",
                source_ref.name, source_ref.key
            )));
        }
    };
    let scratch = match spec
        .verification
        .as_ref()
        .and_then(|v| v.scratch_connection_secret_ref.as_ref())
    {
        None => source.with_database("postgres"),
        Some(r) => {
            let (r, Some(v)) = uri(r).await? else {
                return Ok(Ok(None));
            };
            match Connection::parse(&v) {
                Ok(c) => c,
                Err(e) => {
                    return Ok(Err(format!(
                        "Secret {namespace}/{} key {}: {e}",
                        r.name, r.key
                    )));
                }
            }
        }
    };
    let s3 = match s3_config(client, obj, namespace).await? {
        Ok(s3) => s3,
        Err(message) => return Ok(Err(message)),
    };
    Ok(Ok(Some(Resolved {
        source,
        scratch,
        s3,
    })))
}

/// The S3 settings with credentials from their Secret; `Ok(Err(message))` when the Secret
/// lacks a key (or is gone).
async fn s3_config(
    client: &Client,
    obj: &BackupPolicy,
    namespace: &str,
) -> Result<Result<Option<S3Config>, String>, Error> {
    let Some(d) = &obj.spec.destination.s3 else {
        return Ok(Ok(None));
    };
    let name = &d.credentials_secret_name;
    let id = value(client, namespace, name, "accessKeyId").await?;
    let secret = value(client, namespace, name, "secretAccessKey").await?;
    let (Some(access_key_id), Some(secret_access_key)) = (id, secret) else {
        return Ok(Err(format!(
            "Secret {namespace}/{name} needs keys accessKeyId and secretAccessKey"
        )));
    };
    Ok(Ok(Some(S3Config {
        bucket: d.bucket.clone(),
        prefix: d.prefix.clone().unwrap_or_else(|| {
            format!(
                "{namespace}/{}/",
                obj.metadata.name.as_deref().unwrap_or_default()
            )
        }),
        endpoint: d.endpoint.clone(),
        region: d.region.clone(),
        access_key_id: access_key_id.trim().to_string(),
        secret_access_key: Credential::new(secret_access_key.trim()),
        force_path_style: d.force_path_style,
    })))
}

/// The destination alone (for cleanup, which needs no database connection); `Ok(Err(message))`
/// when it cannot be built.
pub async fn target(
    client: &Client,
    obj: &BackupPolicy,
    namespace: &str,
) -> Result<Result<Target, String>, Error> {
    if let Some(fs) = &obj.spec.destination.filesystem {
        return Ok(Ok(Target::filesystem(&fs.path)));
    }
    Ok(match s3_config(client, obj, namespace).await? {
        Ok(Some(s3)) => Target::s3(&s3).map_err(|e| e.to_string()),
        Ok(None) => Err("spec.destination: set exactly one of filesystem or s3".into()),
        Err(message) => Err(message),
    })
}
