//! berth: a Kubernetes operator that keeps a SaaS's production estate (Railway, Vercel,
//! Supabase, DNS, TLS, backups) in its declared state.
//!
//! # Layout
//! - [`admin`]: the admin API (`/api/admin`), authorised by Kubernetes RBAC.
//! - [`alerts`]: alert rules (SLO burn rates, certificates, backups, deployments, provider
//!   circuits), their life cycle, Events and webhook notifications.
//! - [`api`]: the custom resources (`berth.dev/v1alpha1`).
//! - [`backup`]: the backup engine: schedules, `pg_dump` to a directory or S3, retention,
//!   restore verification, and the catalogue of runs.
//! - [`controllers`]: one reconciler a kind plus the shared runtime (status, backoff, finalizers).
//! - [`http`]: health, metrics and the admin API, served by the same process.
//! - [`providers`]: provider clients behind capability traits, over one HTTP layer.
//! - [`monitoring`]: probes of Deployments and Domains, their rollups, uptime and latency reports.
//! - [`store`]: the Postgres history store (sqlx, `migrations/`).
//! - [`plan`]: `berth plan`, a dry run of the reconcilers' plans over manifests.
//! - [`leader`]: Lease-based leader election; only the leader reconciles.
//! - [`devstack`]: a local control plane, Postgres and PowerDNS for tests and `berth up`.
//! - [`sandbox`]: simulators of Vercel, Cloudflare, Supabase and Railway (`berth sandbox`).

pub mod admin;
pub mod alerts;
pub mod api;
pub mod backup;
pub mod controllers;
pub mod crdgen;
pub mod devstack;
pub mod http;
pub mod jobs;
pub mod leader;
pub mod monitoring;
pub mod plan;
pub mod providers;
pub mod run;
pub mod sandbox;
pub mod store;
pub mod yaml;
