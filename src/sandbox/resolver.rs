//! Public DNS through a real name server: the sandbox asks `dns_server` about every (type,
//! name) a platform check looked at, in the background, and the checks read the answers.
//!
//! The checks (`World::exists`) run inside request handlers under the simulators' state
//! locks, so they cannot wait for a DNS answer. Instead a name is watched from its first
//! check on and re-asked every [`INTERVAL`]: a record is seen at most one interval after the
//! server serves it, as a platform sees records on its next check, never in the same call.

use std::{
    collections::{BTreeSet, HashMap},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{Notify, watch};

use super::{faults::lock, norm_name};
use crate::providers::dns::lookup::Lookup;

/// How often watched names are asked again.
pub const INTERVAL: Duration = Duration::from_millis(100);

type Key = (String, String);

/// The answers of one name server for the names the checks watch.
pub struct Resolved {
    server: SocketAddr,
    watched: Mutex<BTreeSet<Key>>,
    answers: Mutex<HashMap<Key, Vec<String>>>,
    wake: Notify,
}

impl Resolved {
    pub(super) fn new(server: SocketAddr) -> Self {
        Self {
            server,
            watched: Mutex::default(),
            answers: Mutex::default(),
            wake: Notify::new(),
        }
    }

    /// The last answer for (`kind`, `name`), watching it from now on.
    pub fn answers(&self, kind: &str, name: &str) -> Vec<String> {
        let key = (kind.to_ascii_uppercase(), norm_name(name));
        if lock(&self.watched).insert(key.clone()) {
            self.wake.notify_one();
        }
        lock(&self.answers).get(&key).cloned().unwrap_or_default()
    }

    async fn refresh(&self, lookup: &Lookup) {
        let watched: Vec<Key> = lock(&self.watched).iter().cloned().collect();
        for (kind, name) in watched {
            let answer = match kind.as_str() {
                "A" => lookup
                    .a(&name)
                    .await
                    .map(|v| v.iter().map(ToString::to_string).collect()),
                "AAAA" => lookup
                    .aaaa(&name)
                    .await
                    .map(|v| v.iter().map(ToString::to_string).collect()),
                "CNAME" => lookup.cname(&name).await,
                "TXT" => lookup.txt(&name).await,
                _ => continue,
            };
            match answer {
                Ok(values) => {
                    lock(&self.answers).insert((kind, name), values);
                }
                // A failed query keeps the last answer: the server may be restarting.
                Err(e) => tracing::debug!(error = %e, "sandbox DNS look-up failed"),
            }
        }
    }
}

/// Re-asks the watched names until shutdown.
pub(super) async fn run(resolved: Arc<Resolved>, mut shutdown: watch::Receiver<bool>) {
    let lookup = match Lookup::new(resolved.server) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "sandbox cannot resolve through its DNS server");
            return;
        }
    };
    loop {
        resolved.refresh(&lookup).await;
        tokio::select! {
            () = resolved.wake.notified() => {}
            () = tokio::time::sleep(INTERVAL) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
}
