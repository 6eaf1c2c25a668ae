//! The HTTP face: `POST /graphql/v2` in front of the schema, Railway's error envelope for
//! transport-level failures, and its rate-limit headers.

use std::sync::Arc;

use async_graphql::{EmptySubscription, Schema};
use axum::{
    Json, Router,
    body::Bytes,
    extract::State as AxState,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::json;

use super::{
    State,
    auth::Auth,
    schema::{MutationRoot, QueryRoot},
};
use crate::sandbox::{
    Tokens, World, assemble,
    faults::{Dialect, Faults, RateInfo, x_ratelimit},
};

type RailwaySchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

#[derive(Clone)]
struct App {
    schema: RailwaySchema,
    tokens: Tokens,
}

fn gql_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"data": null, "errors": [{"message": message}]})),
    )
        .into_response()
}

struct RailwayDialect;

impl Dialect for RailwayDialect {
    fn authorized(&self, _: &HeaderMap) -> bool {
        // Checked per field, as Railway does: each root field fails with "Not Authorized".
        true
    }
    fn unauthorized(&self, _: &HeaderMap) -> Response {
        gql_error(StatusCode::OK, "Not Authorized")
    }
    fn server_error(&self, status: StatusCode) -> Response {
        gql_error(status, "Internal Server Error")
    }
    fn rate_limited(&self, _: &RateInfo) -> Response {
        gql_error(
            StatusCode::TOO_MANY_REQUESTS,
            "You are being rate limited. Please try again later.",
        )
    }
    fn rate_headers(&self, info: &RateInfo, headers: &mut HeaderMap) {
        x_ratelimit(headers, info, info.reset_at);
    }
}

async fn graphql(AxState(app): AxState<App>, headers: HeaderMap, body: Bytes) -> Response {
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return gql_error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid JSON request body: {e}"),
            );
        }
    };
    let auth = Auth::of(&headers, &app.tokens);
    let response = app.schema.execute(request.data(auth)).await;
    Json(response).into_response()
}

pub(crate) fn router(state: Arc<State>, faults: Arc<Faults>, world: &Arc<World>) -> Router {
    let schema = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .data(state.clone())
    .limit_depth(32)
    .finish();
    let app = App {
        schema,
        tokens: state.tokens.clone(),
    };
    let api = Router::new()
        .route("/graphql/v2", post(graphql))
        .fallback(|| async { gql_error(StatusCode::NOT_FOUND, "Not Found") })
        .with_state(app);
    assemble(api, Arc::new(RailwayDialect), faults, world, state)
}
