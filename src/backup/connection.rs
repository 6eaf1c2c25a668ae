//! A libpq connection URI taken apart, so `pg_dump`/`pg_restore` get it through `PG*`
//! environment variables (never argv, which `ps` shows to every user) and sqlx gets the same
//! settings. The password is a [`Secret`]: it never reaches `Debug`, logs or errors.

use std::str::FromStr as _;

use sqlx::postgres::{PgConnectOptions, PgSslMode};

use crate::providers::http::Secret;

/// A connection URI could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// Not a `postgres://` or `postgresql://` URI (the text is not quoted: it may hold a password).
    #[error("the connection string is not a postgres:// URI")]
    NotAUri,
    /// A parameter berth does not pass on.
    #[error(
        "unsupported connection parameter {0:?} (supported: sslmode, sslrootcert, connect_timeout, options, host)"
    )]
    Unsupported(String),
    /// No database name.
    #[error("the connection URI names no database")]
    NoDatabase,
}

/// The pieces of a connection URI.
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    pub database: String,
    /// `PG*` variables from URI parameters (`sslmode` → `PGSSLMODE` …).
    params: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

const PARAMS: [(&str, &str); 4] = [
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("options", "PGOPTIONS"),
];

impl Connection {
    /// Parses `postgres://user:password@host:port/database?sslmode=…`.
    pub fn parse(uri: &str) -> Result<Self, Error> {
        let url = url::Url::parse(uri.trim()).map_err(|_| Error::NotAUri)?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(Error::NotAUri);
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let mut host = url.host_str().unwrap_or_default().to_string();
        let mut params = Vec::new();
        for (k, v) in url.query_pairs() {
            if k == "host" {
                host = v.into_owned();
                continue;
            }
            let var = PARAMS
                .iter()
                .find(|(name, _)| *name == k)
                .ok_or_else(|| Error::Unsupported(k.to_string()))?;
            params.push((var.1, v.into_owned()));
        }
        let database = decode(url.path().trim_start_matches('/'));
        if database.is_empty() {
            return Err(Error::NoDatabase);
        }
        Ok(Self {
            host: if host.is_empty() {
                "localhost".into()
            } else {
                host
            },
            port: url.port().unwrap_or(5432),
            user: decode(url.username()),
            password: url.password().map(|p| Secret::new(decode(p))),
            database,
            params,
        })
    }

    /// The same server and credentials, another database.
    #[must_use]
    pub fn with_database(&self, database: &str) -> Self {
        Self {
            database: database.to_string(),
            ..self.clone()
        }
    }

    /// The `PG*` variables a libpq tool needs, plus `PGAPPNAME` so the session can be found in
    /// `pg_stat_activity`.
    #[must_use]
    pub fn env(&self, application: &str) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGDATABASE", self.database.clone()),
            ("PGAPPNAME", application.to_string()),
        ];
        if !self.user.is_empty() {
            env.push(("PGUSER", self.user.clone()));
        }
        if let Some(p) = &self.password {
            env.push(("PGPASSWORD", p.expose().to_string()));
        }
        env.extend(self.params.iter().cloned());
        env
    }

    /// sqlx options for the same connection (`.pgpass` and `PG*` of this process ignored).
    #[must_use]
    pub fn options(&self, application: &str) -> PgConnectOptions {
        let mut o = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .database(&self.database)
            .application_name(application);
        if !self.user.is_empty() {
            o = o.username(&self.user);
        }
        if let Some(p) = &self.password {
            o = o.password(p.expose());
        }
        for (var, value) in &self.params {
            match *var {
                "PGSSLMODE" => {
                    if let Ok(mode) = PgSslMode::from_str(value) {
                        o = o.ssl_mode(mode);
                    }
                }
                "PGSSLROOTCERT" => o = o.ssl_root_cert(value.as_str()),
                "PGOPTIONS" => o = o.options([("", value.as_str())]).clone(),
                _ => {}
            }
        }
        o
    }
}

/// Runs a libpq tool with only this connection's `PG*` variables: any inherited from the
/// controller's own environment are removed, so they cannot redirect the tool.
pub fn scrub_pg_env(cmd: &mut tokio::process::Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Protects: every piece of a URI reaches the tools, percent-decoded, and the password never
    // shows in Debug.
    #[test]
    fn uri_is_taken_apart_and_the_password_hidden() {
        let c = Connection::parse(
            "postgres://app%40shop:p%40ss:w0rd+@db.example.com:6543/my%20db?sslmode=require",
        )
        .unwrap();
        assert_eq!(c.host, "db.example.com");
        assert_eq!(c.port, 6543);
        assert_eq!(c.user, "app@shop");
        assert_eq!(c.password.as_ref().unwrap().expose(), "p@ss:w0rd+");
        assert_eq!(c.database, "my db");
        let env = c.env("berth-backup");
        assert!(env.contains(&("PGSSLMODE", "require".into())));
        assert!(env.contains(&("PGPASSWORD", "p@ss:w0rd+".into())));
        let debug = format!("{c:?}");
        assert!(!debug.contains("w0rd"), "{debug}");
    }

    // Protects: unusable URIs fail with messages that do not echo the URI (it holds a password).
    #[test]
    fn bad_uris_are_refused_without_echoing_them() {
        let e = Connection::parse("mysql://u:hunter22@h/db").unwrap_err();
        assert!(!e.to_string().contains("hunter22"));
        assert_eq!(
            Connection::parse("postgres://u@h:5432/").unwrap_err(),
            Error::NoDatabase
        );
        assert_eq!(
            Connection::parse("postgres://u@h/db?target_session_attrs=any").unwrap_err(),
            Error::Unsupported("target_session_attrs".into())
        );
    }
}
