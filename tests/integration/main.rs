//! Integration tests against a real kube-apiserver + etcd and a real Postgres, started once for
//! the whole run (see `support`), a real PowerDNS (see `powerdns`), real Pebble ACME
//! servers with PowerDNS (see `certificate`), provider HTTP behaviour
//! against misbehaving local servers (see `provider_http`), and the provider clients and
//! pool against the in-process sandbox (`cloudflare_client`, `supabase_client`,
//! `provider_pool`).

// Test helpers fail loudly: a panic with a message is the right outcome of a broken fixture.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

mod admin_api;
mod admission;
mod certificate;
mod cloudflare_client;
mod controller;
mod crds;
mod estate;
mod health_scripts;
mod manifests;
mod powerdns;
mod provider_http;
mod provider_pool;
mod railway_client;
mod sandbox;
mod store;
mod supabase_client;
mod up;
mod vercel_client;
