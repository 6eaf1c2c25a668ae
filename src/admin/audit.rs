//! The audit log of admin actions: each action's row is written before the action takes
//! effect, with the caller and their groups, and an action whose row cannot be written is not
//! taken.

use serde_json::{Value, json};

use super::{auth::Caller, error::ApiError};
use crate::store::Store;

/// Appends `caller`'s `action` on `target` with `outcome`; `detail` gains the caller's groups.
/// A failed write is `503` saying what was therefore `not_done`.
pub async fn record(
    store: &Store,
    caller: &Caller,
    (action, target): (&str, &str),
    mut detail: Value,
    outcome: &str,
    not_done: &str,
) -> Result<(), ApiError> {
    detail["groups"] = json!(caller.groups);
    store
        .audit(&caller.user, action, target, detail, outcome)
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::warn!(error = %crate::controllers::runtime::error_chain(&e), "audit log write failed");
            ApiError::Unavailable(format!("the audit log cannot be written; {not_done}"))
        })
}
