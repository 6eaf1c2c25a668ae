//! The hosting, DNS and database providers berth drives: their API models and clients.

pub mod models;
