//! A short-lived answer cache shared by callers with the same rights.
//!
//! Under load many clients ask the same question at once (a dashboard polled by hundreds of
//! browsers); computing it once a second instead of once a request is what keeps the admin
//! API's latency flat. Two rules keep it honest:
//!
//! - **Shared by authorization outcome, never by token.** A computation asks for permissions
//!   through a [`Scope`], which records every decision it saw. A cached answer is served to
//!   another caller only when that caller gets the same decision for every recorded question
//!   (asked through the [`Gate`](super::auth::Gate), which caches reviews for
//!   [`CACHE_TTL`](super::auth::CACHE_TTL)). The answer is a function of the data and those
//!   decisions only, so a caller with fewer rights never gets a richer answer, and a revoked
//!   permission stops being served once the Gate's cached review expires.
//! - **At most [`ANSWER_TTL`] old.** An answer is reused for [`ANSWER_TTL`] after its
//!   computation started; concurrent misses of one question wait for a single computation
//!   (single-flight). Errors are handed to those already waiting, never kept. An answer
//!   past half its life that is asked for again is recomputed in the background while it is
//!   still served, so a busy question does not stall its callers once a second.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::response::Response;
use futures::{
    FutureExt as _,
    future::{BoxFuture, Shared},
};
use serde::Serialize;

use super::{
    auth::{Access, Caller, Gate},
    encoding::{Encoding, JsonBody},
    error::ApiError,
};

/// How long an answer is reused after its computation started.
pub const ANSWER_TTL: Duration = Duration::from_secs(1);
/// Age from which a served answer starts its successor's computation.
const REFRESH_AFTER: Duration = Duration::from_millis(500);
/// Questions kept before expired ones are dropped; bounds memory under a flood of distinct
/// queries.
const MAX_QUESTIONS: usize = 4096;

/// Who decides what a caller may see: the Gate for a real caller.
pub trait Judge: Send + Sync + 'static {
    fn allowed(&self, access: &Access) -> impl Future<Output = Result<bool, ApiError>> + Send;
}

/// A caller as judged by the Gate.
#[derive(Clone)]
pub struct Rights {
    pub gate: Gate,
    pub caller: Arc<Caller>,
}

impl Judge for Rights {
    async fn allowed(&self, access: &Access) -> Result<bool, ApiError> {
        self.gate.allowed(&self.caller, access).await
    }
}

/// The permission checks of one computation, recorded with their outcome.
pub struct Scope<J> {
    judge: Arc<J>,
    decisions: Arc<Mutex<Vec<(Access, bool)>>>,
}

impl<J: Judge> Scope<J> {
    /// Whether the caller may do `access`; the answer depends on it, so it is recorded.
    pub async fn allowed(&self, access: &Access) -> Result<bool, ApiError> {
        let allowed = self.judge.allowed(access).await?;
        self.decisions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((access.clone(), allowed));
        Ok(allowed)
    }
}

/// A finished computation: the serialised answer (and its gzip form once asked for) and the
/// decisions it rests on.
struct Answer {
    decisions: Vec<(Access, bool)>,
    body: JsonBody,
}

/// An endpoint and its normalised query.
type Question = (&'static str, String);

type Pending = Shared<BoxFuture<'static, Result<Arc<Answer>, ApiError>>>;

struct Slot {
    id: u64,
    born: Instant,
    answer: Pending,
    /// Whether its successor is being computed.
    refreshing: AtomicBool,
}

impl Slot {
    fn live(&self) -> bool {
        self.born.elapsed() < ANSWER_TTL
    }
}

/// The cache; one per process, cloned into every handler.
#[derive(Clone, Default)]
pub struct Answers {
    /// Per question (endpoint and normalised query), one slot per distinct set of decisions.
    slots: Arc<RwLock<HashMap<Question, Vec<Arc<Slot>>>>>,
    next_id: Arc<AtomicU64>,
}

impl Answers {
    /// The JSON answer to `question` on `endpoint` for the caller `judge` stands for: a live
    /// answer computed under the same decisions, or `compute`'s; in `encoding` when the
    /// answer is large enough (see [`JsonBody::response`]).
    ///
    /// `question` must name everything the answer depends on besides the data and the
    /// decisions made through the [`Scope`] (normally the parsed, validated query).
    pub async fn answer<J, T, F, Fut>(
        &self,
        endpoint: &'static str,
        question: String,
        encoding: Encoding,
        judge: J,
        compute: F,
    ) -> Result<Response, ApiError>
    where
        J: Judge,
        T: Serialize + Send + 'static,
        F: FnOnce(Scope<J>) -> Fut,
        Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
    {
        let judge = Arc::new(judge);
        let key = (endpoint, question);
        let mut examined: Vec<u64> = Vec::new();
        let mut compute = Some(compute);
        loop {
            // The next live answer not yet examined, under the read lock (so callers served
            // from the cache never wait for each other); else, under the write lock, a new
            // slot of our own, so concurrent misses find the first one's slot instead of each
            // computing.
            let found = self
                .slots
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .and_then(|v| unexamined(v, &examined));
            let next = match found {
                Some(slot) => Next::Examine(slot),
                None => {
                    let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
                    if slots.len() >= MAX_QUESTIONS {
                        slots.retain(|_, v| v.iter().any(|s| s.live()));
                    }
                    let entry = slots.entry(key.clone()).or_default();
                    entry.retain(|s| s.live());
                    match unexamined(entry, &examined) {
                        Some(slot) => Next::Examine(slot),
                        None => {
                            let Some(compute) = compute.take() else {
                                return Err(ApiError::Internal("answer computed twice".into()));
                            };
                            let answer = start(judge.clone(), compute);
                            entry.push(self.slot(answer.clone()));
                            Next::Mine(answer)
                        }
                    }
                }
            };
            match next {
                Next::Examine(slot) => {
                    examined.push(slot.id);
                    let answer = slot.answer.clone().await?;
                    if same_decisions(judge.as_ref(), &answer.decisions).await? {
                        if slot.born.elapsed() >= REFRESH_AFTER
                            && !slot.refreshing.swap(true, Ordering::AcqRel)
                            && let Some(compute) = compute.take()
                        {
                            self.refresh(&key, start(judge.clone(), compute));
                        }
                        return Ok(answer.body.response(encoding));
                    }
                }
                // Ours: computed under this caller's decisions, nothing to compare.
                Next::Mine(answer) => {
                    return match answer.clone().await {
                        Ok(a) => Ok(a.body.response(encoding)),
                        Err(e) => {
                            self.forget(&key, &answer);
                            Err(e)
                        }
                    };
                }
            }
        }
    }

    fn slot(&self, answer: Pending) -> Arc<Slot> {
        Arc::new(Slot {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            born: Instant::now(),
            answer,
            refreshing: AtomicBool::new(false),
        })
    }

    /// Adds `answer` as the successor of a live one (found after it, so the live one keeps
    /// being served meanwhile) and drives it to completion in the background.
    fn refresh(&self, key: &Question, answer: Pending) {
        self.slots
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .push(self.slot(answer.clone()));
        let (answers, key) = (self.clone(), key.clone());
        tokio::spawn(async move {
            if answer.clone().await.is_err() {
                answers.forget(&key, &answer);
            }
        });
    }

    /// Drops every answer: after a write through this process, so its author reads it back.
    pub fn clear(&self) {
        self.slots
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Drops a failed computation so the next request tries again.
    fn forget(&self, key: &Question, failed: &Pending) {
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = slots.get_mut(key) {
            v.retain(|s| !s.answer.ptr_eq(failed));
        }
    }
}

enum Next {
    Examine(Arc<Slot>),
    Mine(Pending),
}

/// The first live slot not examined yet.
fn unexamined(slots: &[Arc<Slot>], examined: &[u64]) -> Option<Arc<Slot>> {
    slots
        .iter()
        .find(|s| s.live() && !examined.contains(&s.id))
        .cloned()
}

/// The shared computation: `compute` under a recording scope, serialised.
fn start<J, T, F, Fut>(judge: Arc<J>, compute: F) -> Pending
where
    J: Judge,
    T: Serialize + Send + 'static,
    F: FnOnce(Scope<J>) -> Fut,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
{
    let scope = Scope {
        judge,
        decisions: Arc::default(),
    };
    let decisions = scope.decisions.clone();
    let work = compute(scope);
    async move {
        let value = work.await?;
        let body = serde_json::to_vec(&value)
            .map_err(|e| ApiError::Internal(format!("could not serialise the answer: {e}")))?;
        let decisions =
            std::mem::take(&mut *decisions.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(Arc::new(Answer {
            decisions,
            body: JsonBody::new(body.into()),
        }))
    }
    .boxed()
    .shared()
}

/// Whether `judge` decides every recorded question the same way.
async fn same_decisions<J: Judge>(
    judge: &J,
    decisions: &[(Access, bool)],
) -> Result<bool, ApiError> {
    for (access, recorded) in decisions {
        if judge.allowed(access).await? != *recorded {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeSet, sync::atomic::AtomicUsize};

    use super::*;

    /// A caller allowed to list deployments in a fixed set of namespaces.
    struct Namespaces(BTreeSet<&'static str>);

    impl Judge for Namespaces {
        async fn allowed(&self, access: &Access) -> Result<bool, ApiError> {
            Ok(match access {
                Access::Resource {
                    namespace: Some(ns),
                    ..
                } => self.0.contains(ns.as_str()),
                _ => false,
            })
        }
    }

    fn judge(namespaces: &[&'static str]) -> Namespaces {
        Namespaces(namespaces.iter().copied().collect())
    }

    /// The namespaces among `all` the caller may see, counting computations.
    async fn visible(answers: &Answers, who: Namespaces, runs: Arc<AtomicUsize>) -> Vec<String> {
        let resp = answers
            .answer(
                "test",
                "q".into(),
                Encoding::Plain,
                who,
                move |scope| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let mut out = Vec::new();
                    for ns in ["a", "b", "c"] {
                        if scope
                            .allowed(&Access::resource("list", "deployments", ns))
                            .await?
                        {
                            out.push(ns.to_owned());
                        }
                    }
                    Ok(out)
                },
            )
            .await
            .unwrap();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    // Protects: 500 concurrent identical misses cause one computation, and all get its answer.
    #[tokio::test]
    async fn concurrent_misses_share_one_computation() {
        let answers = Answers::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let all = futures::future::join_all(
            (0..500).map(|_| visible(&answers, judge(&["a", "b"]), runs.clone())),
        )
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(all.iter().all(|v| v == &["a", "b"]));
    }

    // Protects: an answer computed for a caller with more rights is never served to one with
    // fewer (nor the reverse), while equal rights share; whichever comes first.
    #[tokio::test]
    async fn answers_are_shared_only_between_equal_rights() {
        let answers = Answers::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (admin, viewer, other_viewer) = tokio::join!(
            visible(&answers, judge(&["a", "b", "c"]), runs.clone()),
            visible(&answers, judge(&["a"]), runs.clone()),
            visible(&answers, judge(&["a"]), runs.clone()),
        );
        assert_eq!(admin, ["a", "b", "c"]);
        assert_eq!(viewer, ["a"]);
        assert_eq!(other_viewer, ["a"]);
        assert_eq!(runs.load(Ordering::SeqCst), 2, "the two viewers share");
        assert_eq!(
            visible(&answers, judge(&["b"]), runs.clone()).await,
            ["b"],
            "later, different rights: computed anew"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    // Protects: answers are reused for at most ANSWER_TTL, errors are never kept, and a write
    // through this process (clear) is read back at once.
    #[tokio::test]
    async fn answers_expire_errors_are_not_kept_and_clear_drops_all() {
        let answers = Answers::default();
        let runs = Arc::new(AtomicUsize::new(0));
        visible(&answers, judge(&["a"]), runs.clone()).await;
        visible(&answers, judge(&["a"]), runs.clone()).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tokio::time::sleep(ANSWER_TTL).await;
        visible(&answers, judge(&["a"]), runs.clone()).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "expired after ANSWER_TTL");
        answers.clear();
        visible(&answers, judge(&["a"]), runs.clone()).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "cleared");

        // Asked again past half its life: served at once, its successor computed meanwhile,
        // so the next caller after expiry does not wait.
        answers.clear();
        visible(&answers, judge(&["a"]), runs.clone()).await;
        assert_eq!(runs.load(Ordering::SeqCst), 4);
        tokio::time::sleep(REFRESH_AFTER).await;
        let served = Instant::now();
        visible(&answers, judge(&["a"]), runs.clone()).await;
        assert!(
            served.elapsed() < Duration::from_millis(40),
            "not waited for"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 5, "successor computed");
        tokio::time::sleep(ANSWER_TTL - REFRESH_AFTER).await;
        visible(&answers, judge(&["a"]), runs.clone()).await;
        assert_eq!(runs.load(Ordering::SeqCst), 5, "the successor served");

        let failing = answers
            .answer(
                "test",
                "q2".into(),
                Encoding::Plain,
                judge(&[]),
                |_| async { Err::<(), _>(ApiError::Unavailable("down".into())) },
            )
            .await;
        assert!(matches!(failing, Err(ApiError::Unavailable(_))));
        let ok = answers
            .answer(
                "test",
                "q2".into(),
                Encoding::Plain,
                judge(&[]),
                |_| async { Ok(1) },
            )
            .await;
        assert!(ok.is_ok(), "the failure was not kept");
    }
}
