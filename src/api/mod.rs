//! The custom resources of the `berth.dev/v1alpha1` API, one module a kind, and the types they
//! share. These are the only types `berth crds` turns into YAML.

pub mod backup_policy;
pub mod certificate;
pub mod common;
pub mod deployment;
pub mod domain;
pub mod environment;

pub use backup_policy::BackupPolicy;
pub use certificate::Certificate;
pub use common::CommonStatus;
pub use deployment::Deployment;
pub use domain::Domain;
pub use environment::Environment;

/// The API group of every berth resource.
pub const GROUP: &str = "berth.dev";

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// All CRDs, in the order their files sort in `crds/`.
#[must_use]
pub fn crds() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("backuppolicy", BackupPolicy::crd()),
        ("certificate", Certificate::crd()),
        ("deployment", Deployment::crd()),
        ("domain", Domain::crd()),
        ("environment", Environment::crd()),
    ]
}
