//! Observing dependencies: the Secrets, ConfigMaps and berth objects a resource refers to.
//! Missing ones are collected, not failed on, so one condition message names all of them.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client, Resource, api::PartialObjectMeta, runtime::reflector::ObjectRef};
use serde::de::DeserializeOwned;

use super::Error;
use crate::api::common::{ConfigMapKeyRef, SecretKeyRef};

/// Looks up a resource's references in its namespace and remembers what is missing.
pub struct Dependencies {
    client: Client,
    namespace: String,
    missing: Vec<String>,
}

impl Dependencies {
    /// Lookups in `namespace`.
    #[must_use]
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            client,
            namespace: namespace.to_string(),
            missing: Vec::new(),
        }
    }

    /// Checks that `r.key` exists in Secret `r.name` (the value is not read).
    pub async fn secret_key(&mut self, r: &SecretKeyRef) -> Result<(), Error> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        let found = api.get_opt(&r.name).await.map_err(|source| Error::Read {
            what: format!("Secret {}/{}", self.namespace, r.name),
            source,
        })?;
        match found {
            None => self
                .missing
                .push(format!("Secret {}/{}", self.namespace, r.name)),
            Some(s) if !has_key(s.data.as_ref(), s.string_data.as_ref(), &r.key) => {
                self.missing.push(format!(
                    "key {} in Secret {}/{}",
                    r.key, self.namespace, r.name
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Checks that Secret `name` exists.
    pub async fn secret(&mut self, name: &str) -> Result<(), Error> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.namespace);
        if api
            .get_metadata_opt(name)
            .await
            .map_err(|source| Error::Read {
                what: format!("Secret {}/{name}", self.namespace),
                source,
            })?
            .is_none()
        {
            self.missing
                .push(format!("Secret {}/{name}", self.namespace));
        }
        Ok(())
    }

    /// Checks that `r.key` exists in ConfigMap `r.name`.
    pub async fn config_map_key(&mut self, r: &ConfigMapKeyRef) -> Result<(), Error> {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.namespace);
        let found = api.get_opt(&r.name).await.map_err(|source| Error::Read {
            what: format!("ConfigMap {}/{}", self.namespace, r.name),
            source,
        })?;
        match found {
            None => self
                .missing
                .push(format!("ConfigMap {}/{}", self.namespace, r.name)),
            Some(cm)
                if !cm.data.as_ref().is_some_and(|d| d.contains_key(&r.key))
                    && !cm
                        .binary_data
                        .as_ref()
                        .is_some_and(|d| d.contains_key(&r.key)) =>
            {
                self.missing.push(format!(
                    "key {} in ConfigMap {}/{}",
                    r.key, self.namespace, r.name
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Fetches the berth object `name` of kind `K`, noting it when missing.
    pub async fn object<K>(&mut self, name: &str) -> Result<Option<K>, Error>
    where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.namespace);
        let kind = K::kind(&());
        let found = api.get_opt(name).await.map_err(|source| Error::Read {
            what: format!("{kind} {}/{name}", self.namespace),
            source,
        })?;
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

fn has_key(
    data: Option<&std::collections::BTreeMap<String, k8s_openapi::ByteString>>,
    string_data: Option<&std::collections::BTreeMap<String, String>>,
    key: &str,
) -> bool {
    data.is_some_and(|d| d.contains_key(key)) || string_data.is_some_and(|d| d.contains_key(key))
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
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    D: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
    F: Fn(&K, &str) -> bool + Send + Sync + 'static,
{
    use kube::runtime::{WatchStreamExt as _, watcher};
    let store = c.store();
    let changes = watcher(api, watcher::Config::default().any_semantic()).touched_objects();
    c.watches_stream(changes, move |d: D| {
        let name = d.meta().name.clone().unwrap_or_default();
        dependents(&store, d.meta().namespace.as_deref(), |k| refers(k, &name))
    })
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
