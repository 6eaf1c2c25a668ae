//! The API server's answers to token and access reviews, remembered for [`CACHE_TTL`].
//!
//! Hundreds of requests carry the same token and ask the same question at once (a dashboard
//! polled by many browsers). Three rules keep that from reaching the API server, or the
//! callers' latency, in bursts:
//!
//! - **One review per question at a time.** Concurrent misses wait for the one review in
//!   flight (single-flight), instead of each sending its own the moment an answer expires.
//! - **Busy answers are renewed early.** An answer asked for past half its life is reviewed
//!   again in the background while it is still served, so a busy caller never waits for a
//!   re-review; it is still never served more than [`CACHE_TTL`] after the API server gave it.
//! - **Reads share the lock.** A hit takes a read lock only, so a worker thread preempted
//!   while reading (the API shares its cores with everything else) never stalls the others.
//!
//! Failed reviews are handed to those waiting for them, never remembered.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use futures::{
    FutureExt as _,
    future::{BoxFuture, Shared},
};

use super::error::ApiError;

/// How long a review's answer is reused, from when the API server gave it.
pub const CACHE_TTL: Duration = Duration::from_secs(10);
/// Age from which an answer asked for again is reviewed again in the background.
const RENEW_AFTER: Duration = Duration::from_secs(5);
/// Answers kept before expired ones are dropped; bounds memory under a flood of bad tokens.
const CACHE_MAX: usize = 10_000;

type Pending<V> = Shared<BoxFuture<'static, Result<V, ApiError>>>;

/// Answers by question, and the reviews in flight.
pub struct Reviews<K, V> {
    state: RwLock<State<K, V>>,
    /// [`CACHE_TTL`] and [`RENEW_AFTER`], shorter in tests.
    ttl: Duration,
    renew_after: Duration,
}

struct State<K, V> {
    answers: HashMap<K, (Instant, V)>,
    pending: HashMap<K, Pending<V>>,
}

impl<K, V> Default for Reviews<K, V> {
    fn default() -> Self {
        Self::with_ages(CACHE_TTL, RENEW_AFTER)
    }
}

impl<K, V> Reviews<K, V> {
    fn with_ages(ttl: Duration, renew_after: Duration) -> Self {
        Self {
            state: RwLock::new(State {
                answers: HashMap::new(),
                pending: HashMap::new(),
            }),
            ttl,
            renew_after,
        }
    }
}

/// What a lookup found under the read lock.
enum Found<V> {
    Answer(V),
    /// An answer to serve, old enough to renew.
    Renew(V),
    Wait(Pending<V>),
    Nothing,
}

impl<K, V> Reviews<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The remembered answer to `key`, or `review`'s (started at most once, however many
    /// ask at once). `review` runs on its own task, so a caller giving up does not abandon
    /// the others waiting for it.
    pub async fn get<F>(self: &Arc<Self>, key: &K, review: F) -> Result<V, ApiError>
    where
        F: FnOnce() -> BoxFuture<'static, Result<V, ApiError>>,
    {
        let found = {
            let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
            match state.answers.get(key) {
                Some((at, v)) if at.elapsed() < self.ttl => {
                    if at.elapsed() >= self.renew_after && !state.pending.contains_key(key) {
                        Found::Renew(v.clone())
                    } else {
                        Found::Answer(v.clone())
                    }
                }
                _ => state
                    .pending
                    .get(key)
                    .map_or(Found::Nothing, |p| Found::Wait(p.clone())),
            }
        };
        match found {
            Found::Answer(v) => Ok(v),
            Found::Renew(v) => {
                // Not awaited (its own task drives it): this caller is served the current
                // answer.
                drop(self.start(key, review));
                Ok(v)
            }
            Found::Wait(pending) => pending.await,
            Found::Nothing => self.start(key, review).await,
        }
    }

    /// The review in flight for `key`, starting `review` if there is none.
    fn start<F>(self: &Arc<Self>, key: &K, review: F) -> Pending<V>
    where
        F: FnOnce() -> BoxFuture<'static, Result<V, ApiError>>,
    {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = state.pending.get(key) {
            return p.clone();
        }
        let (reviews, owned) = (self.clone(), key.clone());
        let work = review();
        let task = tokio::spawn(async move {
            let answer = work.await;
            reviews.finish(&owned, &answer);
            answer
        });
        let pending = async move {
            task.await
                .unwrap_or_else(|e| Err(ApiError::Internal(format!("a review failed: {e}"))))
        }
        .boxed()
        .shared();
        state.pending.insert(key.clone(), pending.clone());
        pending
    }

    /// Records a finished review: an answer is remembered, an error only handed out.
    fn finish(&self, key: &K, answer: &Result<V, ApiError>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.pending.remove(key);
        if let Ok(v) = answer {
            if state.answers.len() >= CACHE_MAX {
                let ttl = self.ttl;
                state.answers.retain(|_, (at, _)| at.elapsed() < ttl);
                if state.answers.len() >= CACHE_MAX {
                    state.answers.clear();
                }
            }
            state
                .answers
                .insert(key.clone(), (Instant::now(), v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A review that counts itself, takes 100 ms, and answers `answer`.
    fn counted(
        runs: &Arc<AtomicUsize>,
        answer: Result<u32, ApiError>,
    ) -> impl FnOnce() -> BoxFuture<'static, Result<u32, ApiError>> {
        let runs = runs.clone();
        move || {
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                answer
            }
            .boxed()
        }
    }

    // Protects: 500 concurrent misses of one question send one review, and all get its answer.
    #[tokio::test]
    async fn concurrent_misses_share_one_review() {
        let reviews = Arc::new(Reviews::<&str, u32>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let all = futures::future::join_all(
            (0..500).map(|_| reviews.get(&"token", counted(&runs, Ok(7)))),
        )
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(all.iter().all(|a| matches!(a, Ok(7))));
    }

    // Protects: an answer past its renewal age is served at once while one background review
    // renews it; an answer is never served after its TTL; errors are not remembered.
    #[tokio::test]
    async fn busy_answers_are_renewed_without_waiting_and_expire() {
        let (ttl, renew_after) = (Duration::from_millis(400), Duration::from_millis(200));
        let reviews = Arc::new(Reviews::<&str, u32>::with_ages(ttl, renew_after));
        let runs = Arc::new(AtomicUsize::new(0));
        assert_eq!(reviews.get(&"q", counted(&runs, Ok(1))).await.unwrap(), 1);
        // (Margins: tokio's timer may fire a little before the `Instant` says.)
        tokio::time::sleep(renew_after + Duration::from_millis(20)).await;
        let before = Instant::now();
        let (a, b) = tokio::join!(
            reviews.get(&"q", counted(&runs, Ok(2))),
            reviews.get(&"q", counted(&runs, Ok(3))),
        );
        assert_eq!((a.unwrap(), b.unwrap()), (1, 1), "the current answer");
        assert!(
            before.elapsed() < Duration::from_millis(50),
            "not waited for"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "one renewal");
        assert_eq!(reviews.get(&"q", counted(&runs, Ok(4))).await.unwrap(), 2);

        // Not asked for meanwhile: expired, so the next caller waits for a new review.
        tokio::time::sleep(ttl).await;
        assert_eq!(reviews.get(&"q", counted(&runs, Ok(5))).await.unwrap(), 5);

        let failed = reviews
            .get(
                &"e",
                counted(&runs, Err(ApiError::Unavailable("down".into()))),
            )
            .await;
        assert!(matches!(failed, Err(ApiError::Unavailable(_))));
        assert_eq!(reviews.get(&"e", counted(&runs, Ok(6))).await.unwrap(), 6);
    }
}
