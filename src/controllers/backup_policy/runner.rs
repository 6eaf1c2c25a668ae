//! Act (I/O): runs backups and verifications as background tasks, at most one per policy, so a
//! reconcile never waits for a dump. A finished run re-queues its policy, whose next reconcile
//! reads the outcome from the catalogue into status.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono_tz::Tz;
use futures::Stream;
use kube::runtime::reflector::ObjectRef;
use tokio::sync::mpsc;

use super::plan::Running;
use crate::{
    api::BackupPolicy,
    backup::{
        self, BackupJob, VerifyJob,
        catalogue::{Catalogue, PolicyKey, Trigger},
        connection::Connection,
        destination::Target,
        retention::Rules,
    },
    controllers::runtime::error_chain,
    store::Store,
};

/// Everything a run owns (the task outlives the reconcile that started it).
pub struct RunInputs {
    pub namespace: String,
    pub name: String,
    pub target: Target,
    pub source: Connection,
    pub scratch: Connection,
    pub rules: Rules,
    pub tz: Tz,
    pub checks: Vec<crate::api::backup_policy::SqlCheck>,
    pub verify_timeout: Duration,
    pub restore_jobs: u16,
}

/// The runs in flight in this process, and the channel that re-queues a policy when one ends.
pub struct Runner {
    catalogue: Catalogue,
    running: Mutex<HashMap<String, Running>>,
    /// Policies whose interrupted rows were cleaned up since this process started.
    recovered: Mutex<HashSet<String>>,
    done: mpsc::UnboundedSender<ObjectRef<BackupPolicy>>,
    done_rx: Mutex<Option<mpsc::UnboundedReceiver<ObjectRef<BackupPolicy>>>>,
}

fn key_of(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

impl Runner {
    /// A runner recording into `store`.
    #[must_use]
    pub fn new(store: Store) -> Self {
        let (done, done_rx) = mpsc::unbounded_channel();
        Self {
            catalogue: Catalogue::new(store),
            running: Mutex::new(HashMap::new()),
            recovered: Mutex::new(HashSet::new()),
            done,
            done_rx: Mutex::new(Some(done_rx)),
        }
    }

    /// The catalogue.
    #[must_use]
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// What runs for the policy now.
    #[must_use]
    pub fn running(&self, namespace: &str, name: &str) -> Option<Running> {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key_of(namespace, name))
            .copied()
    }

    /// Policies to reconcile because a run ended; can be taken once (by the controller).
    pub fn completions(&self) -> impl Stream<Item = ObjectRef<BackupPolicy>> + Send + 'static {
        let rx = self
            .done_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        futures::stream::unfold(rx, |rx| async move {
            let mut rx = rx?;
            let next = rx.recv().await?;
            Some((next, Some(rx)))
        })
    }

    /// The first time this process sees a policy with nothing in flight, runs left `running` by
    /// a previous process are marked failed and its leftover `.partial` files removed.
    pub async fn recover(
        &self,
        namespace: &str,
        name: &str,
        target: Option<&Target>,
    ) -> Result<(), crate::store::Error> {
        let key = key_of(namespace, name);
        if self.running(namespace, name).is_some()
            || self
                .recovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&key)
        {
            return Ok(());
        }
        let n = self
            .catalogue
            .fail_interrupted(PolicyKey {
                namespace,
                policy: name,
            })
            .await?;
        if n > 0 {
            tracing::warn!(policy = %key, runs = n, "marked backups cut off by a restart as failed");
        }
        if let Some(t) = target {
            match t.remove_partials().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(policy = %key, files = n, "removed partial backup files"),
                Err(e) => {
                    tracing::warn!(policy = %key, error = %error_chain(&e), "failed to remove partial backup files")
                }
            }
        }
        self.recovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
        Ok(())
    }

    /// Claims the policy's run slot; false when a run is already in flight.
    fn claim(&self, key: &str, what: Running) -> bool {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.contains_key(key) {
            return false;
        }
        running.insert(key.to_string(), what);
        true
    }

    /// Starts a backup in the background; false when a run is already in flight.
    pub fn start_backup(
        self: &Arc<Self>,
        policy: ObjectRef<BackupPolicy>,
        inputs: RunInputs,
        trigger: Trigger,
    ) -> bool {
        let key = key_of(&inputs.namespace, &inputs.name);
        if !self.claim(&key, Running::Backup) {
            return false;
        }
        let slot = Slot {
            runner: self.clone(),
            key,
            policy: Some(policy),
        };
        tokio::spawn(async move {
            let (runner, key) = (&slot.runner, &slot.key);
            let job = BackupJob {
                key: PolicyKey {
                    namespace: &inputs.namespace,
                    policy: &inputs.name,
                },
                source: &inputs.source,
                target: &inputs.target,
                trigger,
                rules: inputs.rules,
                tz: inputs.tz,
            };
            match backup::backup(&runner.catalogue, &job).await {
                Ok(t) => {
                    tracing::info!(policy = %key, backup = %t.id, bytes = t.dumped.size_bytes, pruned = t.pruned.len(), "backup complete")
                }
                Err(e) => tracing::warn!(policy = %key, error = %error_chain(&e), "backup failed"),
            }
            drop(slot);
        });
        true
    }

    /// Starts a verification of the newest complete backup; false when a run is in flight.
    pub fn start_verification(
        self: &Arc<Self>,
        policy: ObjectRef<BackupPolicy>,
        inputs: RunInputs,
    ) -> bool {
        let key = key_of(&inputs.namespace, &inputs.name);
        if !self.claim(&key, Running::Verification) {
            return false;
        }
        let slot = Slot {
            runner: self.clone(),
            key,
            policy: Some(policy),
        };
        tokio::spawn(async move {
            let (runner, key) = (&slot.runner, &slot.key);
            let job = VerifyJob {
                key: PolicyKey {
                    namespace: &inputs.namespace,
                    policy: &inputs.name,
                },
                target: &inputs.target,
                scratch: &inputs.scratch,
                checks: &inputs.checks,
                timeout: inputs.verify_timeout,
                jobs: inputs.restore_jobs,
            };
            match backup::verify_newest(&runner.catalogue, &job).await {
                Ok(Some((b, r))) if r.passed => {
                    tracing::info!(policy = %key, backup = %b.id, ms = r.duration_ms, "verification passed")
                }
                Ok(Some((b, r))) => {
                    tracing::warn!(policy = %key, backup = %b.id, reason = r.message.as_deref().unwrap_or_default(), "verification failed")
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(policy = %key, error = %error_chain(&e), "verification could not be recorded")
                }
            }
            drop(slot);
        });
        true
    }
}

/// A claimed run slot. Released on drop, so a run that panics does not block its policy.
struct Slot {
    runner: Arc<Runner>,
    key: String,
    policy: Option<ObjectRef<BackupPolicy>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.runner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        if let Some(p) = self.policy.take() {
            let _ = self.runner.done.send(p);
        }
    }
}
