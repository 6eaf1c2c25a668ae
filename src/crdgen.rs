//! `berth crds`: the CRDs as YAML, one document per kind, byte-identical to `cat crds/*.yaml`.

use crate::{api, yaml};

/// Renders every CRD as a `---`-separated stream. Each document is also the content of
/// `crds/<kind>.yaml`, so concatenating the files gives the same bytes.
pub fn render_all() -> Result<String, yaml::Error> {
    let mut out = String::new();
    for (_, crd) in api::crds() {
        out.push_str(&render(&crd)?);
    }
    Ok(out)
}

/// Files as `(file name, content)`.
pub fn files() -> Result<Vec<(String, String)>, yaml::Error> {
    api::crds()
        .into_iter()
        .map(|(name, crd)| Ok((format!("{name}.yaml"), render(&crd)?)))
        .collect()
}

fn render<T: serde::Serialize>(crd: &T) -> Result<String, yaml::Error> {
    Ok(format!("---\n{}", yaml::to_string(crd)?))
}

/// Errors installing the CRDs.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The API server refused a CRD.
    #[error("failed to apply CRD {name}")]
    Apply {
        name: String,
        #[source]
        source: kube::Error,
    },
    /// A CRD was not established in time.
    #[error("CRD {name} was not established within {seconds} s")]
    NotEstablished { name: String, seconds: u64 },
}

/// Applies every CRD (server-side apply, field manager `berth`) and waits until each is
/// established, so custom resources can be created right after.
pub async fn install(
    client: &kube::Client,
    timeout: std::time::Duration,
) -> Result<(), InstallError> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::{
        Api, ResourceExt,
        api::{Patch, PatchParams},
        runtime::wait::{await_condition, conditions},
    };
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply("berth").force();
    for (_, crd) in api::crds() {
        let name = crd.name_any();
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .map_err(|source| InstallError::Apply {
                name: name.clone(),
                source,
            })?;
    }
    for (_, crd) in api::crds() {
        let name = crd.name_any();
        let established = await_condition(api.clone(), &name, conditions::is_crd_established());
        if !matches!(tokio::time::timeout(timeout, established).await, Ok(Ok(_))) {
            return Err(InstallError::NotEstablished {
                name,
                seconds: timeout.as_secs(),
            });
        }
    }
    Ok(())
}
