//! The provider models against recorded response bodies (`tests/fixtures/providers/`):
//! every fixture decodes and means what it says, unknown enum values decode to `Unknown`,
//! malformed, truncated and mutated bodies become typed errors (property tests, no panics),
//! and request types round-trip. No control plane needed.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "provider_models/fixtures.rs"]
mod fixtures;
#[path = "provider_models/properties.rs"]
mod properties;
#[path = "provider_models/roundtrip.rs"]
mod roundtrip;
#[path = "provider_models/support.rs"]
mod support;
#[path = "provider_models/unknown.rs"]
mod unknown;
