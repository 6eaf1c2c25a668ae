//! Integration tests against a real kube-apiserver + etcd and a real Postgres, started once for
//! the whole run (see `support`), a real PowerDNS (see `powerdns`), real Pebble ACME servers
//! with PowerDNS (see `certificate`), provider HTTP behaviour against misbehaving local servers
//! (see `provider_http`), the provider clients and pool against the in-process sandbox
//! (`*_client`, `provider_pool`), and backups against Postgres and a real S3 server (see
//! `backup`, and `backup_lifecycle` for Supabase's own backups and deletion).

// Test helpers fail loudly: a panic with a message is the right outcome of a broken fixture.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

mod admin_api;
mod admission;
mod alerts;
mod backup;
mod backup_lifecycle;
mod certificate;
mod cloudflare_client;
mod controller;
mod crds;
mod deployment_rollout;
mod domain;
mod environment_sync;
mod estate;
mod health_scripts;
mod manifests;
mod monitoring;
mod plan;
mod powerdns;
mod provider_http;
mod provider_pool;
mod railway_client;
mod sandbox;
mod store;
mod supabase_client;
mod up;
mod vercel_client;
