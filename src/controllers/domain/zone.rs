//! Writes to one zone, batched across Domains: every reconcile that has edits for a zone
//! queues them, and whichever reconcile takes the zone's write turn lists the zone once,
//! merges every queued edit into it ([`ZoneState::apply`]) and sends the difference as ONE
//! provider batch (one rrset PATCH at PowerDNS). 1,000 Domains converging together cost a
//! handful of calls, not one per record.
//!
//! Reads are shared too: a listing younger than [`SNAPSHOT_MAX_AGE`] serves every plan, and
//! each write refreshes it. A stale snapshot cannot cause a wrong write: the write turn
//! lists the zone again and writes only real differences (none: no call).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

use super::plan::{Edit, ZoneState};
use crate::providers::{self, dns::DnsRecords};

/// How long a zone listing serves plans.
pub const SNAPSHOT_MAX_AGE: Duration = Duration::from_secs(2);

/// How long a write turn waits for more edits before it lists and writes.
const LINGER: Duration = Duration::from_millis(20);

/// The result a write turn hands to every reconcile whose edits it carried.
pub type Written = Result<Arc<ZoneState>, Arc<providers::Error>>;

struct Queued {
    edits: Vec<Edit>,
    reply: oneshot::Sender<Written>,
}

#[derive(Default)]
struct Zone {
    snapshot: tokio::sync::Mutex<Option<(Instant, Arc<ZoneState>)>>,
    queue: Mutex<Vec<Queued>>,
    turn: tokio::sync::Mutex<()>,
}

/// Every zone this process writes to, keyed by provider instance and zone name.
#[derive(Default)]
pub struct Zones {
    zones: Mutex<HashMap<String, Arc<Zone>>>,
}

impl Zones {
    fn zone(&self, key: &str) -> Arc<Zone> {
        self.zones
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// The zone as recently listed (listing it when the last listing is too old).
    pub async fn snapshot(
        &self,
        key: &str,
        dns: &dyn DnsRecords,
        zone: &str,
    ) -> providers::Result<Arc<ZoneState>> {
        let z = self.zone(key);
        let mut cached = z.snapshot.lock().await;
        if let Some((at, state)) = cached.as_ref()
            && at.elapsed() < SNAPSHOT_MAX_AGE
        {
            return Ok(state.clone());
        }
        let state = Arc::new(ZoneState::new(dns.list_records(zone).await?));
        *cached = Some((Instant::now(), state.clone()));
        Ok(state)
    }

    /// Queues `edits` and waits until a write turn (this call's or another's) has applied
    /// them; returns the zone as written.
    pub async fn submit(
        &self,
        key: &str,
        dns: &dyn DnsRecords,
        zone: &str,
        edits: Vec<Edit>,
    ) -> Written {
        let z = self.zone(key);
        let (reply, mut done) = oneshot::channel();
        z.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Queued { edits, reply });
        let turn = z.turn.lock().await;
        // The turn before ours may have carried our edits.
        if let Ok(written) = done.try_recv() {
            return written;
        }
        tokio::time::sleep(LINGER).await;
        let batch: Vec<Queued> =
            std::mem::take(&mut *z.queue.lock().unwrap_or_else(PoisonError::into_inner));
        let written = write(&z, dns, zone, &batch).await;
        for q in batch {
            // A reconcile that gave up waiting has nobody to tell.
            let _ = q.reply.send(written.clone());
        }
        drop(turn);
        done.await.unwrap_or(written)
    }
}

/// One write turn: list, merge, one batch.
async fn write(z: &Zone, dns: &dyn DnsRecords, zone: &str, batch: &[Queued]) -> Written {
    let before = ZoneState::new(dns.list_records(zone).await.map_err(Arc::new)?);
    let mut after = before.clone();
    for edit in batch.iter().flat_map(|q| &q.edits) {
        // A conflict found only now (a record appeared since the plan) leaves that set
        // alone; the reconcile re-plans against the written zone and reports it.
        if let Err(conflict) = after.apply(edit) {
            tracing::info!(owner = %edit.owner, conflict = %conflict.0, "edit refused at write time");
        }
    }
    let changes = after.changes_since(&before);
    dns.apply(zone, &changes).await.map_err(Arc::new)?;
    if !changes.is_empty() {
        tracing::info!(
            zone,
            changes = changes.len(),
            domains = batch.len(),
            "wrote one batch of record sets"
        );
    }
    let after = Arc::new(after);
    *z.snapshot.lock().await = Some((Instant::now(), after.clone()));
    Ok(after)
}
