//! A webhook receiver for `berth up`: alert notifications (berth's generic JSON payload) are
//! printed on the terminal running the stack, so a new user sees alerts fire and resolve
//! without setting up Slack.

use std::net::SocketAddr;

use axum::{Json, Router, http::StatusCode, routing::post};
use serde_json::Value;

/// A running receiver; it stops with the process.
pub struct AlertInbox {
    /// The URL to configure as a `format: json` receiver.
    pub url: String,
}

impl AlertInbox {
    /// Listens on a free loopback port and prints every notification it gets.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let app = Router::new().route("/", post(receive));
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the alert inbox stopped");
            }
        });
        Ok(Self { url })
    }
}

async fn receive(Json(body): Json<Value>) -> StatusCode {
    let summary = body["summary"]
        .as_str()
        .unwrap_or("(a notification without a summary)");
    println!("alert notification: {summary}");
    StatusCode::NO_CONTENT
}
