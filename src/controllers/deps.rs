//! Observing dependencies: the Secrets, ConfigMaps and berth objects a resource refers to.
//! Missing ones are collected, not failed on, so one condition message names all of them.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client, Resource, api::PartialObjectMeta, runtime::reflector::ObjectRef};
use serde::de::DeserializeOwned;

use super::Error;
use crate::{
    api::common::{ConfigMapKeyRef, SecretKeyRef},
    providers::http::Secret as ProviderSecret,
};

/// Looks up a resource's references in its namespace and remembers what is missing.
pub struct Dependencies {
    /// The cluster; `None` when only [`Local`] objects may be read (`berth plan --offline`).
    client: Option<Client>,
    local: Option<Arc<Local>>,
    namespace: String,
    missing: Vec<String>,
}

/// Objects given outside the cluster (the manifests `berth plan` reads), found before the
/// cluster's: a plan shows what applying them would do.
#[derive(Debug, Default)]
pub struct Local {
    /// By (kind, namespace, name).
    objects: BTreeMap<(String, String, String), serde_json::Value>,
}

impl Local {
    /// Adds an object (`kind` and `metadata.name` set); a later one with the same key wins,
    /// as with `kubectl apply`.
    pub fn insert(&mut self, namespace: &str, object: serde_json::Value) {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.objects
            .insert((kind, namespace.to_string(), name), object);
    }

    /// Object `name` of kind `K` in `namespace`, if given and well-formed.
    fn get<K: Resource<DynamicType = ()> + DeserializeOwned>(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<K> {
        let key = (
            K::kind(&()).into_owned(),
            namespace.to_string(),
            name.to_string(),
        );
        serde_json::from_value(self.objects.get(&key)?.clone()).ok()
    }
}

impl Dependencies {
    /// Lookups in `namespace`.
    #[must_use]
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            client: Some(client),
            local: None,
            namespace: namespace.to_string(),
            missing: Vec::new(),
        }
    }

    /// Lookups in `local` first, then in the cluster when there is one.
    #[must_use]
    pub fn with_local(client: Option<Client>, local: Arc<Local>, namespace: &str) -> Self {
        Self {
            client,
            local: Some(local),
            namespace: namespace.to_string(),
            missing: Vec::new(),
        }
    }

    /// Object `name` of kind `K`: the local one, else the cluster's; `None` when neither has it.
    async fn get<K>(&self, name: &str) -> Result<Option<K>, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        if let Some(found) = self
            .local
            .as_ref()
            .and_then(|l| l.get::<K>(&self.namespace, name))
        {
            return Ok(Some(found));
        }
        let Some(client) = &self.client else {
            return Ok(None);
        };
        let api: Api<K> = Api::namespaced(client.clone(), &self.namespace);
        api.get_opt(name).await.map_err(|source| Error::Read {
            what: format!("{} {}/{name}", K::kind(&()), self.namespace),
            source,
        })
    }

    /// The value of `r.key` in Secret `r.name`, noting it when missing. The value stays
    /// wrapped in [`ProviderSecret`] so it can reach no log or message.
    pub async fn secret_key(&mut self, r: &SecretKeyRef) -> Result<Option<ProviderSecret>, Error> {
        let what = format!("Secret {}/{}", self.namespace, r.name);
        let Some(secret) = self.get::<Secret>(&r.name).await? else {
            self.missing.push(what);
            return Ok(None);
        };
        let bytes = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&r.key))
            .map(|b| b.0.clone())
            .or_else(|| {
                secret
                    .string_data
                    .as_ref()
                    .and_then(|d| d.get(&r.key))
                    .map(|s| s.clone().into_bytes())
            });
        match bytes.map(String::from_utf8) {
            None => {
                self.missing.push(format!("key {} in {what}", r.key));
                Ok(None)
            }
            Some(Err(_)) => {
                self.missing
                    .push(format!("key {} in {what} as UTF-8 text", r.key));
                Ok(None)
            }
            Some(Ok(value)) => Ok(Some(ProviderSecret::new(value.trim_end_matches('\n')))),
        }
    }

    /// Checks that Secret `name` exists.
    pub async fn secret(&mut self, name: &str) -> Result<(), Error> {
        let local = self
            .local
            .as_ref()
            .is_some_and(|l| l.get::<Secret>(&self.namespace, name).is_some());
        let in_cluster = match (&self.client, local) {
            (_, true) => true,
            (None, false) => false,
            (Some(client), false) => {
                let api: Api<Secret> = Api::namespaced(client.clone(), &self.namespace);
                api.get_metadata_opt(name)
                    .await
                    .map_err(|source| Error::Read {
                        what: format!("Secret {}/{name}", self.namespace),
                        source,
                    })?
                    .is_some()
            }
        };
        if !in_cluster {
            self.missing
                .push(format!("Secret {}/{name}", self.namespace));
        }
        Ok(())
    }

    /// The value of `r.key` in ConfigMap `r.name` (text data only), noting it when missing.
    pub async fn config_map_key(&mut self, r: &ConfigMapKeyRef) -> Result<Option<String>, Error> {
        let what = format!("ConfigMap {}/{}", self.namespace, r.name);
        let Some(cm) = self.get::<ConfigMap>(&r.name).await? else {
            self.missing.push(what);
            return Ok(None);
        };
        let value = cm.data.as_ref().and_then(|d| d.get(&r.key)).cloned();
        if value.is_none() {
            self.missing.push(format!("key {} in {what}", r.key));
        }
        Ok(value)
    }

    /// Fetches the berth object `name` of kind `K`, noting it when missing.
    pub async fn object<K>(&mut self, name: &str) -> Result<Option<K>, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let kind = K::kind(&());
        let found = self.get::<K>(name).await?;
        if found.is_none() {
            self.missing
                .push(format!("{kind} {}/{name}", self.namespace));
        }
        Ok(found)
    }

    /// What is missing, in lookup order.
    #[must_use]
    pub fn missing(self) -> Vec<String> {
        self.missing
    }
}

/// The condition message for missing dependencies.
#[must_use]
pub fn waiting_for(missing: &[String]) -> String {
    format!("waiting for {}", missing.join(", "))
}

/// Maps a changed object to the dependents (of kind `K`, in the same namespace) that `refers`
/// says point at it. Used by the controllers' dependency watches.
pub fn dependents<K, F>(
    store: &kube::runtime::reflector::Store<K>,
    namespace: Option<&str>,
    refers: F,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
    F: Fn(&K) -> bool,
{
    store
        .state()
        .iter()
        .filter(|k| k.meta().namespace.as_deref() == namespace && refers(k))
        .map(|k| ObjectRef::from_obj(k.as_ref()))
        .collect()
}

/// Adds a watch on `D` (a berth kind, or `PartialObjectMeta` of Secrets and ConfigMaps, so that
/// berth never caches secret values), re-queueing the objects of kind `K` in the same namespace
/// for which `refers(object, name of the changed D)` is true.
pub fn watch_refs<K, D, F>(
    c: kube::runtime::Controller<K>,
    api: Api<D>,
    refers: F,
) -> kube::runtime::Controller<K>
where
    K: Watched,
    D: Watched,
    F: Fn(&K, &str) -> bool + Send + Sync + 'static,
{
    use kube::runtime::{WatchStreamExt as _, watcher};
    let changes = watcher(api, watcher::Config::default().any_semantic()).touched_objects();
    requeue_dependents(c, changes, refers)
}

/// [`watch_refs`] for dependents that read only the dependency's spec and metadata, not its
/// status: a status-only change (each reconcile of the dependency may write one) re-queues
/// nothing. Deletions always do.
pub fn watch_spec_refs<K, D, F>(
    c: kube::runtime::Controller<K>,
    api: Api<D>,
    refers: F,
) -> kube::runtime::Controller<K>
where
    K: Watched,
    D: Watched,
    F: Fn(&K, &str) -> bool + Send + Sync + 'static,
{
    use futures::StreamExt as _;
    use kube::runtime::watcher::{self, Event, watcher};
    let mut last: HashMap<ObjectRef<D>, u64> = HashMap::new();
    let changes =
        watcher(api, watcher::Config::default().any_semantic()).filter_map(move |event| {
            let changed = match event {
                Ok(Event::Apply(d) | Event::InitApply(d)) => {
                    let hash = acted_on(&d);
                    (last.insert(ObjectRef::from_obj(&d), hash) != Some(hash)).then_some(Ok(d))
                }
                Ok(Event::Delete(d)) => {
                    last.remove(&ObjectRef::from_obj(&d));
                    Some(Ok(d))
                }
                Ok(Event::Init | Event::InitDone) => None,
                Err(e) => Some(Err(e)),
            };
            std::future::ready(changed)
        });
    requeue_dependents(c, changes, refers)
}

/// Re-queues, for each changed `D`, the objects of kind `K` in its namespace that refer to it.
fn requeue_dependents<K, D, F>(
    c: kube::runtime::Controller<K>,
    changes: impl futures::Stream<Item = Result<D, kube::runtime::watcher::Error>> + Send + 'static,
    refers: F,
) -> kube::runtime::Controller<K>
where
    K: Watched,
    D: Watched,
    F: Fn(&K, &str) -> bool + Send + Sync + 'static,
{
    let store = c.store();
    c.watches_stream(changes, move |d: D| {
        let name = d.meta().name.clone().unwrap_or_default();
        dependents(&store, d.meta().namespace.as_deref(), |k| refers(k, &name))
    })
}

/// What a kind must be for berth to watch it.
pub trait Watched:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static
{
}

impl<T> Watched for T where
    T: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static
{
}

/// A hash of what a reconcile acts on: everything but the status (and bookkeeping such as
/// `resourceVersion`). Custom resources bump `generation` on every spec change.
pub(super) fn acted_on<K: Resource>(obj: &K) -> u64 {
    use std::hash::BuildHasher as _;
    let m = obj.meta();
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(
        (
            m.generation,
            m.deletion_timestamp.is_some(),
            &m.finalizers,
            &m.annotations,
            &m.labels,
        ),
    )
}

/// Metadata-only Secrets, for [`watch_refs`].
#[must_use]
pub fn secrets(ctx: &super::Context) -> Api<PartialObjectMeta<Secret>> {
    ctx.watch_api()
}

/// Metadata-only ConfigMaps, for [`watch_refs`].
#[must_use]
pub fn config_maps(ctx: &super::Context) -> Api<PartialObjectMeta<ConfigMap>> {
    ctx.watch_api()
}
