//! Store errors. None carries the database password: URLs are redacted before they are kept,
//! and sqlx's own errors never format the connect options.

/// What went wrong talking to the history database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL could not be turned into a pool.
    #[error("failed to configure the database pool for {url}")]
    Configure {
        /// The URL with its password redacted.
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// Applying the migrations failed.
    #[error("failed to run database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A query failed; `action` says what it was for ("append to the audit log").
    #[error("failed to {action}")]
    Query {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
}
