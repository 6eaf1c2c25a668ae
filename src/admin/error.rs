//! The admin API's one error shape: `{"error": {"status", "reason", "message"}}`, with the
//! HTTP status to match. Every handler returns [`ApiError`]; nothing else reaches a client.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// A failed admin request.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, or one the API server does not accept.
    #[error("{0}")]
    Unauthenticated(String),
    /// A known caller without the permission the request needs.
    #[error("{0}")]
    Forbidden(String),
    /// A bad query or body; the message names the parameter.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the object's state (a rollback while paused, say).
    #[error("{0}")]
    Conflict(String),
    /// A dependency (the API server, the database) is unavailable; try again.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    status: u16,
    reason: &'static str,
    message: &'a str,
}

impl ApiError {
    /// The HTTP status and the machine-readable reason.
    #[must_use]
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "Conflict"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, reason) = self.status();
        let message = self.to_string();
        let mut resp = (
            status,
            Json(Body {
                error: Detail {
                    status: status.as_u16(),
                    reason,
                    message: &message,
                },
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"berth\""),
            );
        }
        resp
    }
}
