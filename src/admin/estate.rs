//! The deployment status view, prebuilt: each environment serialised once when the caches
//! change, not on every request. A request compares the caches' change count with the
//! view's, rebuilds if it moved, and assembles its page from the prebuilt fragments, so
//! answers are never staler than the caches themselves. An assembled page is kept with the
//! view it came from, so callers asking for the same page (the same visible namespaces,
//! cursor and limit) share one body until the view changes.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, PoisonError, RwLock},
};

use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use tokio::sync::Mutex;

use super::{
    deployments::{self, EnvironmentView},
    encoding::{Encoding, JsonBody},
};
use crate::controllers::Caches;

/// The current view, shared by the handlers.
#[derive(Clone, Default)]
pub struct EstateViews {
    current: Arc<RwLock<Option<Arc<View>>>>,
    // Concurrent requests after a change wait for one rebuild.
    rebuild: Arc<Mutex<()>>,
}

impl EstateViews {
    /// The view of the caches as they are now.
    pub async fn current(&self, caches: &Caches) -> Arc<View> {
        if let Some(view) = self.fresh(caches) {
            return view;
        }
        let _rebuilding = self.rebuild.lock().await;
        if let Some(view) = self.fresh(caches) {
            return view;
        }
        // The count is read before the stores, so the view is at least as new as it.
        let changes = caches.changes.get();
        let view = Arc::new(View::build(changes, deployments::build(caches)));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(view.clone());
        view
    }

    fn fresh(&self, caches: &Caches) -> Option<Arc<View>> {
        let changes = caches.changes.get();
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|v| v.changes == changes)
            .cloned()
    }
}

/// Assembled pages kept per view, in bytes; past it they are dropped and assembled anew
/// (a full page of 1000 objects is about 260 KiB).
const MAX_PAGE_BYTES: usize = 16 << 20;

/// Every environment, serialised, in (namespace, name) order.
pub struct View {
    /// The caches' change count it was built at.
    changes: u64,
    environments: Vec<Fragment>,
    /// Pages assembled from this view (with their gzip form once asked for), and their
    /// total plain size.
    pages: RwLock<(HashMap<PageKey, Arc<JsonBody>>, usize)>,
}

/// What a page's body depends on besides the view.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// The namespaces the caller may list (all of them, or the one asked for).
    pub visible: Vec<String>,
    /// How many namespaces the caller may not list.
    pub hidden: usize,
    pub after: Option<(String, String)>,
    pub limit: usize,
}

struct Fragment {
    namespace: String,
    name: String,
    /// What it weighs against a page's `limit`: its objects, at least one.
    objects: usize,
    json: Vec<u8>,
}

/// One page: the fragments chosen and where the next page starts.
pub struct Page<'a> {
    environments: Vec<&'a Fragment>,
    next_cursor: Option<String>,
}

impl View {
    fn build(changes: u64, environments: Vec<EnvironmentView>) -> Self {
        let environments = environments
            .into_iter()
            .filter_map(|e| {
                let objects = (e.deployments.len() + e.domains.len() + e.certificates.len()).max(1);
                // Plain data always serialises; an error here would be a bug, so skip.
                let json = serde_json::to_vec(&e)
                    .inspect_err(
                        |err| tracing::error!(error = %err, "serialising an environment view"),
                    )
                    .ok()?;
                Some(Fragment {
                    namespace: e.namespace,
                    name: e.name,
                    objects,
                    json,
                })
            })
            .collect();
        Self {
            changes,
            environments,
            pages: RwLock::default(),
        }
    }

    /// The page `key` names, as a JSON response in `encoding` (see [`JsonBody::response`]):
    /// kept from an earlier request, or assembled.
    pub fn response(&self, key: PageKey, encoding: Encoding) -> Response {
        let kept = self
            .pages
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get(&key)
            .cloned();
        let body = kept.unwrap_or_else(|| {
            let body = self
                .page(
                    |ns| key.visible.binary_search_by(|v| v.as_str().cmp(ns)).is_ok(),
                    key.after.as_ref(),
                    key.limit,
                )
                .into_body(key.hidden);
            let mut pages = self.pages.write().unwrap_or_else(PoisonError::into_inner);
            // A page assembled concurrently by another request wins, so all share its gzip.
            if let Some(kept) = pages.0.get(&key) {
                return kept.clone();
            }
            if pages.1 + body.len() > MAX_PAGE_BYTES {
                *pages = (HashMap::new(), 0);
            }
            pages.1 += body.len();
            let body = Arc::new(JsonBody::new(body));
            pages.0.insert(key, body.clone());
            body
        });
        body.response(encoding)
    }

    /// The namespaces with environments, sorted.
    pub fn namespaces(&self) -> BTreeSet<&str> {
        self.environments
            .iter()
            .map(|f| f.namespace.as_str())
            .collect()
    }

    /// The environments `visible` lets through after `after`, whole, until at least `limit`
    /// objects are on the page.
    pub fn page(
        &self,
        visible: impl Fn(&str) -> bool,
        after: Option<&(String, String)>,
        limit: usize,
    ) -> Page<'_> {
        let start = after.map_or(0, |(ns, name)| {
            self.environments
                .partition_point(|f| (f.namespace.as_str(), f.name.as_str()) <= (ns, name))
        });
        let mut chosen = Vec::new();
        let mut objects = 0;
        let mut rest = self.environments[start..]
            .iter()
            .filter(|f| visible(&f.namespace));
        for f in rest.by_ref() {
            chosen.push(f);
            objects += f.objects;
            if objects >= limit {
                break;
            }
        }
        let next_cursor = match (rest.next(), chosen.last()) {
            (Some(_), Some(last)) => Some(cursor(&last.namespace, &last.name)),
            _ => None,
        };
        Page {
            environments: chosen,
            next_cursor,
        }
    }
}

impl Page<'_> {
    /// The JSON answer, `EstateStatus`-shaped, assembled from the fragments.
    fn into_body(self, hidden_namespaces: usize) -> Bytes {
        let size: usize = self.environments.iter().map(|f| f.json.len() + 1).sum();
        let mut body = Vec::with_capacity(size + 96);
        body.extend_from_slice(b"{\"environments\":[");
        for (i, f) in self.environments.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&f.json);
        }
        body.extend_from_slice(
            format!("],\"hiddenNamespaces\":{hidden_namespaces},\"nextCursor\":").as_bytes(),
        );
        match &self.next_cursor {
            // Base64url: nothing to escape.
            Some(c) => body.extend_from_slice(format!("\"{c}\"").as_bytes()),
            None => body.extend_from_slice(b"null"),
        }
        body.push(b'}');
        body.into()
    }
}

/// Cursors are opaque to clients: the last environment of the page, base64url.
fn cursor(namespace: &str, name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{namespace}/{name}"))
}

/// The environment a cursor points after.
pub fn parse_cursor(text: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (ns, name) = raw.split_once('/')?;
    (!ns.is_empty() && !name.is_empty()).then(|| (ns.to_owned(), name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::deployments::EstateStatus;

    fn env(ns: &str, name: &str, deployments: usize) -> EnvironmentView {
        EnvironmentView {
            namespace: ns.into(),
            name: name.into(),
            deployments: (0..deployments)
                .map(|i| deployments::DeploymentView {
                    name: format!("d{i}"),
                    provider: "railway",
                    phase: None,
                    health: deployments::Health {
                        ready: true,
                        reason: Some("Live".into()),
                        message: Some("a \"quoted\" message".into()),
                        up_to_date: true,
                    },
                    live: None,
                    previous: None,
                    pending: None,
                    held_revision: None,
                    last_rollback: None,
                })
                .collect(),
            ..EnvironmentView::default()
        }
    }

    fn estate() -> Vec<EnvironmentView> {
        vec![
            env("a", "prod", 3),
            env("a", "staging", 0),
            env("b", "prod", 2),
            env("c", "prod", 4),
        ]
    }

    fn body(page: Page<'_>, hidden: usize) -> serde_json::Value {
        serde_json::from_slice(&page.into_body(hidden)).unwrap()
    }

    // Protects: an assembled page is exactly the serde shape of the documented answer.
    #[test]
    fn assembled_pages_match_the_answer_shape() {
        let view = View::build(1, estate());
        let got = body(view.page(|ns| ns != "b", None, 1000), 1);
        let want = serde_json::to_value(EstateStatus {
            environments: estate()
                .into_iter()
                .filter(|e| e.namespace != "b")
                .collect(),
            hidden_namespaces: 1,
            next_cursor: None,
        })
        .unwrap();
        assert_eq!(got, want);
    }

    // Protects: pages hold whole environments until `limit` objects, skip hidden namespaces,
    // and the cursors walk every visible environment exactly once.
    #[test]
    fn cursors_walk_whole_environments_once() {
        let view = View::build(1, estate());
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = body(view.page(|ns| ns != "b", after.as_ref(), 3), 0);
            pages += 1;
            for e in page["environments"].as_array().unwrap() {
                seen.push(format!(
                    "{}/{}",
                    e["namespace"].as_str().unwrap(),
                    e["name"].as_str().unwrap()
                ));
            }
            match page["nextCursor"].as_str() {
                Some(c) => after = Some(parse_cursor(c).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, ["a/prod", "a/staging", "c/prod"]);
        assert_eq!(
            pages, 2,
            "a/prod fills the first page; the rest fits the second"
        );
        assert_eq!(parse_cursor("!!"), None);
        assert_eq!(
            parse_cursor(&cursor("a", "prod")),
            Some(("a".into(), "prod".into()))
        );
    }
}
