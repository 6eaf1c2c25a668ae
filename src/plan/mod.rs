//! `berth plan`: a dry run over manifests. For each Environment and Deployment in the given
//! files it runs the reconciler's own observe and pure plan steps (values resolved from the
//! manifests or the cluster, providers reached through `controllers::connect`, the last
//! sync's status read from the cluster) and reports what berth would change at each
//! provider. For each BackupPolicy it runs retention over the policy's backups in the history
//! database (`--database-url`) and reports what would be pruned. It makes no provider write,
//! no cluster write and no database write.
//!
//! ```text
//! manifests ──► Secrets/ConfigMaps (local, else cluster) ──► environment::plan ─┐
//!           ├─► cluster status of each object (when there is a cluster) ──► deployment::plan ─┤
//!           └─► backup catalogue (read-only, when given) ──► backup_policy::plan ─┴─► report (text | json)
//! ```
//! Exit code as `terraform plan -detailed-exitcode`: 0 no changes, 2 changes pending,
//! 1 error.

pub mod backup_policy;
pub mod deployment;
pub mod environment;
pub mod manifests;
pub mod report;

use std::{path::PathBuf, sync::Arc};

use kube::{Api, Client};
use serde::de::DeserializeOwned;

use self::manifests::Manifest;
pub use self::report::Report;
use crate::{
    api::{BackupPolicy, Deployment, Environment},
    backup::catalogue::Catalogue,
    controllers::deps::{Dependencies, Local},
    providers::Pool,
    store::{DatabaseArgs, Store},
};

/// `berth plan` arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct PlanArgs {
    /// Manifest files or directories (walked for *.yaml, *.yml, *.json); `-` reads standard input.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Namespace of objects that name none (default: the kubeconfig's, else `default`).
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Use no cluster: Secrets and ConfigMaps come from the manifests only, and every object
    /// is planned as new (no last-sync status to compare with).
    #[arg(long)]
    pub offline: bool,
    /// The history database whose backup catalogue BackupPolicies' retention is planned over
    /// (read-only); without it retention is not shown.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// How the plan is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// Failures that stop the whole plan (one object's failure is reported in the plan instead).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: crate::yaml::Error,
    },
    #[error("{path}: {kind} {name} does not match the {kind} schema")]
    Invalid {
        path: PathBuf,
        kind: String,
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to read {what} from the cluster")]
    Cluster {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("failed to open the history database")]
    Database(#[source] crate::store::Error),
    #[error(transparent)]
    Dependencies(#[from] Box<crate::controllers::Error>),
    #[error("failed to render the plan as JSON")]
    Render(#[source] serde_json::Error),
}

/// Runs the plan and prints it; returns the exit code.
pub async fn run(args: PlanArgs) -> Result<i32, Error> {
    let client = if args.offline {
        None
    } else {
        match Client::try_default().await {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!(
                    "berth plan: no cluster ({e}); reading Secrets and ConfigMaps from the manifests only"
                );
                None
            }
        }
    };
    let namespace = args
        .namespace
        .clone()
        .or_else(|| client.as_ref().map(|c| c.default_namespace().to_string()))
        .unwrap_or_else(|| "default".into());
    let objects = manifests::load(&args.files, &namespace)?;
    let catalogue = args
        .database
        .database_url
        .as_deref()
        .map(Store::connect_read_only)
        .transpose()
        .map_err(Error::Database)?
        .map(Catalogue::new);
    let report = plan(&objects, client, catalogue.as_ref()).await?;
    match args.output {
        Output::Text => print!("{}", report.text()),
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(Error::Render)?
        ),
    }
    Ok(report.exit_code())
}

/// Plans every Environment, Deployment and BackupPolicy in `objects`, reading from `client`
/// and `catalogue` when given.
pub async fn plan(
    objects: &[Manifest],
    client: Option<Client>,
    catalogue: Option<&Catalogue>,
) -> Result<Report, Error> {
    let mut local = Local::default();
    for m in objects {
        local.insert(&m.namespace, m.object.clone());
    }
    let local = Arc::new(local);
    let pool = Pool::default();
    let mut report = Report::default();
    for m in objects.iter().filter(|m| m.is_berth()) {
        let deps = Dependencies::with_local(client.clone(), local.clone(), &m.namespace);
        match m.kind() {
            "Environment" => {
                let env: Environment = typed(m)?;
                let live = cluster_copy::<Environment>(client.as_ref(), m).await?;
                let planned = environment::plan(&env, live.as_ref(), deps, &pool)
                    .await
                    .map_err(Box::new)?;
                report.environments.push(planned);
            }
            "Deployment" => {
                let dep: Deployment = typed(m)?;
                let live = cluster_copy::<Deployment>(client.as_ref(), m).await?;
                let planned = deployment::plan(&dep, live.as_ref(), deps, &pool)
                    .await
                    .map_err(Box::new)?;
                report.deployments.push(planned);
            }
            "BackupPolicy" => {
                let policy: BackupPolicy = typed(m)?;
                report
                    .backup_policies
                    .push(backup_policy::plan(&policy, catalogue).await);
            }
            _ => {}
        }
    }
    report.tally();
    Ok(report)
}

fn typed<K: DeserializeOwned>(m: &Manifest) -> Result<K, Error> {
    let mut object = m.object.clone();
    object["metadata"]["namespace"] = m.namespace.clone().into();
    serde_json::from_value(object).map_err(|source| Error::Invalid {
        path: m.source.clone(),
        kind: m.kind().into(),
        name: m.name().into(),
        source,
    })
}

/// The cluster's copy of the object, for its status (`None` offline or when not applied yet).
async fn cluster_copy<K>(client: Option<&Client>, m: &Manifest) -> Result<Option<K>, Error>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let Some(client) = client else {
        return Ok(None);
    };
    Api::<K>::namespaced(client.clone(), &m.namespace)
        .get_opt(m.name())
        .await
        .map_err(|source| Error::Cluster {
            what: format!("{} {}/{}", m.kind(), m.namespace, m.name()),
            source,
        })
}
