//! A throwaway PowerDNS Authoritative server on loopback (Debian's `pdns-server` with the
//! gsqlite3 backend): HTTP API and DNS on free ports, everything in a scratch directory.
//!
//! Flags instead of a config file, and `--config-dir` pointing at the scratch directory, so
//! Debian's `/etc/powerdns` (which launches the bind backend) is never read.
//!
//! **Concurrent writes fail.** gsqlite3 opens deferred transactions and sets no busy timeout,
//! so two API writes at once often end in `HTTP 500` ("database is locked (5)" in the log):
//! 16 of 24 parallel PATCHes in one trial. Tests sharing a server take [`PowerDns::exclusive`]
//! around their writes; the client would retry the 500s, but that blurs call counts.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use super::{Error, Supervised, controlplane::wait_until, free_port, scratch_dir};

const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";

/// A running PowerDNS. Dropping it stops the server and removes its directory.
pub struct PowerDns {
    /// Base URL of the HTTP API, e.g. `http://127.0.0.1:8081` (paths start at `/api/v1`).
    pub api_url: String,
    /// Where it answers DNS, over UDP and TCP.
    pub dns: SocketAddr,
    /// The `X-API-Key` it accepts.
    pub api_key: String,
    /// Its scratch directory (database, socket, log).
    pub dir: PathBuf,
    server: Option<Supervised>,
    _janitor: Supervised,
    writes: tokio::sync::Mutex<()>,
}

impl PowerDns {
    /// Creates the database from the packaged schema and starts the server.
    pub async fn start() -> Result<Self, Error> {
        let binary = pdns_server()?;
        let dir = scratch_dir("berth-powerdns-")?;
        let janitor = Supervised::janitor(&dir)?;
        let db = dir.join("pdns.sqlite3");
        load_schema(&db)?;
        let (api_port, dns_port) = (free_port()?, free_port()?);
        let api_key = format!("berth-test-{}", rand::random::<u64>());
        let d = dir.display();
        let args: Vec<String> = [
            format!("--config-dir={d}"),
            format!("--socket-dir={d}"),
            "--launch=gsqlite3".into(),
            format!("--gsqlite3-database={}", db.display()),
            "--gsqlite3-dnssec=no".into(),
            "--local-address=127.0.0.1".into(),
            format!("--local-port={dns_port}"),
            "--api=yes".into(),
            format!("--api-key={api_key}"),
            "--webserver=yes".into(),
            "--webserver-address=127.0.0.1".into(),
            format!("--webserver-port={api_port}"),
            "--webserver-allow-from=127.0.0.0/8".into(),
            "--daemon=no".into(),
            "--guardian=no".into(),
            "--disable-syslog=yes".into(),
            "--write-pid=no".into(),
            // No security-status look-ups: there may be no network.
            "--security-poll-suffix=".into(),
            // Zones become visible at once, however they were made.
            "--zone-cache-refresh-interval=0".into(),
            "--default-soa-content=ns1.@ hostmaster.@ 0 10800 3600 604800 60".into(),
            "--loglevel=4".into(),
        ]
        .into();
        let log = dir.join("pdns.log");
        let server = Supervised::spawn("pdns_server", &binary, &args, &log, None, &[])?;
        let api_url = format!("http://127.0.0.1:{api_port}");
        let probe = format!("{api_url}/api/v1/servers/localhost");
        let client = reqwest::Client::new();
        wait_until("pdns_server", &log, || async {
            client
                .get(&probe)
                .header("X-API-Key", &api_key)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await?;
        Ok(Self {
            api_url,
            dns: SocketAddr::from(([127, 0, 0, 1], dns_port)),
            api_key,
            dir,
            server: Some(server),
            _janitor: janitor,
            writes: tokio::sync::Mutex::new(()),
        })
    }

    /// Serialises users of this server (see the module doc: gsqlite3 fails concurrent writes).
    /// Works across runtimes, so tests on separate runtimes can share one server.
    pub async fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    /// The server's log so far (for failure messages).
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pdns.log")).unwrap_or_default()
    }
}

impl Drop for PowerDns {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pdns_server() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("BERTH_PDNS_SERVER") {
        return Ok(p.into());
    }
    ["/usr/sbin/pdns_server", "/usr/bin/pdns_server"]
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .map(Path::to_path_buf)
        .ok_or(Error::Binary {
            what: "pdns_server",
            detail: "not found (scripts/prereqs installs pdns-server pdns-backend-sqlite3)".into(),
        })
}

fn load_schema(db: &Path) -> Result<(), Error> {
    let schema = std::fs::File::open(SCHEMA).map_err(|e| Error::Binary {
        what: "the gsqlite3 schema",
        detail: format!("{SCHEMA}: {e} (install pdns-backend-sqlite3)"),
    })?;
    let out = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::from(schema))
        .output()
        .map_err(|source| Error::Spawn {
            what: "sqlite3",
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command: format!("sqlite3 {} < {SCHEMA}", db.display()),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}
