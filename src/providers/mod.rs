//! Provider clients behind capability traits, all sharing one HTTP layer.
//!
//! ```text
//!   reconcilers ──► capability traits                              provider-neutral
//!                   deploys::Deploys · variables::Variables · custom_domains::CustomDomains
//!                   · dns::DnsRecords · platform_backups::DatabaseBackups
//!                        │
//!                        ▼
//!                 typed clients (dns::powerdns::PowerDns,          one per provider API
//!                   vercel::VercelClient, …)
//!                        │
//!                        ▼
//!                 http::ProviderHttp  ── per provider instance:
//!                   auth · timeout · retries (idempotent only) · Retry-After
//!                   · token-bucket budget · circuit breaker · metrics
//!                        │
//!                        ▼
//!                 reqwest (rustls)
//! ```
//!
//! Every client returns [`Error`], whose [`Error::class`] tells a reconciler whether to stall
//! (permanent) or back off (transient). Credentials travel as [`http::Secret`] and never
//! reach a log line, an error or a `Debug` print.

pub mod custom_domains;
pub mod deploys;
pub mod dns;
mod error;
pub mod http;
/// Serde models of every provider's requests and responses, with typed decoders; checked
/// against recorded bodies in `tests/fixtures/providers/`.
pub mod models;
pub mod platform_backups;
pub mod railway;
pub mod variables;
pub mod vercel;

pub use error::{Class, Error, Limiter, Result, excerpt};
