//! Provider clients behind capability traits, all sharing one HTTP layer.
//!
//! ```text
//!   reconcilers ──► capability traits                              provider-neutral
//!                   deploys::Deploys · variables::Variables · custom_domains::CustomDomains
//!                   · dns::DnsRecords · platform_backups::DatabaseBackups
//!                        │
//!                        ▼
//!                 typed clients (dns::powerdns::PowerDns, dns::cloudflare::Cloudflare,
//!                 railway::RailwayClient, vercel::VercelClient,     one per provider API
//!                 supabase::Supabase)
//!                        │
//!                        ▼
//!                 http::ProviderHttp  ── per provider instance, shared through pool::Pool:
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
pub mod pool;
pub mod railway;
pub mod supabase;
pub mod variables;
pub mod vercel;

pub use error::{Class, Error, Limiter, Result, excerpt};
pub use pool::Pool;
