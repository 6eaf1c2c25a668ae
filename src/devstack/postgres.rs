//! A throwaway Postgres cluster on loopback (Debian's `postgresql-15`, run as the `postgres`
//! user because Postgres refuses root).

use std::{path::PathBuf, process::Command};

use super::{Error, Supervised, controlplane::wait_until, free_port, scratch_dir};

/// A running Postgres. Dropping it stops the server and removes its data directory.
pub struct Postgres {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The data directory's parent.
    pub dir: PathBuf,
    args: Vec<String>,
    _janitor: Supervised,
    server: Option<Supervised>,
}

impl Postgres {
    /// `initdb` + start on a free port with fsync off (test data).
    pub async fn start() -> Result<Self, Error> {
        let dir = scratch_dir("berth-postgres-")?;
        let janitor = Supervised::janitor(&dir)?;
        let data = dir.join("data");
        let bin = pg_bindir()?;
        let as_postgres = |args: &[&str]| -> Result<(), Error> {
            let out = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .args(args)
                .output()
                .map_err(|source| Error::Spawn {
                    what: "runuser",
                    source,
                })?;
            if out.status.success() {
                Ok(())
            } else {
                Err(Error::Command {
                    command: args.join(" "),
                    detail: String::from_utf8_lossy(&out.stderr).into_owned(),
                })
            }
        };
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|source| Error::Spawn {
                what: "chown",
                source,
            })?;
        if !chown.success() {
            return Err(Error::Command {
                command: "chown postgres".into(),
                detail: dir.display().to_string(),
            });
        }
        let initdb = bin.join("initdb");
        as_postgres(&[
            &initdb.to_string_lossy(),
            "-D",
            &data.to_string_lossy(),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        ])?;
        let port = free_port()?;
        let args: Vec<String> = ["-u", "postgres", "--"]
            .iter()
            .map(|s| (*s).to_string())
            .chain([
                bin.join("postgres").to_string_lossy().into_owned(),
                "-D".into(),
                data.to_string_lossy().into_owned(),
                "-c".into(),
                "listen_addresses=127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
                "-k".into(),
                dir.to_string_lossy().into_owned(),
                "-c".into(),
                "fsync=off".into(),
                "-c".into(),
                "synchronous_commit=off".into(),
                "-c".into(),
                "full_page_writes=off".into(),
                "-c".into(),
                "max_connections=200".into(),
            ])
            .collect();
        let mut pg = Self {
            port,
            dir,
            args,
            _janitor: janitor,
            server: None,
        };
        pg.resume().await?;
        Ok(pg)
    }

    /// Starts the server again after [`Postgres::stop`], on the same port and data.
    pub async fn resume(&mut self) -> Result<(), Error> {
        let log = self.dir.join("postgres.log");
        let server = Supervised::spawn(
            "postgres",
            std::path::Path::new("runuser"),
            &self.args,
            &log,
            None,
            &[],
        )?;
        let url = self.url("postgres");
        wait_until("postgres", &log, || async {
            use sqlx::Connection as _;
            sqlx::PgConnection::connect(&url).await.is_ok()
        })
        .await?;
        self.server = Some(server);
        Ok(())
    }

    /// URL of database `db` as the superuser.
    #[must_use]
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server (data kept) for outage tests.
    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pg_bindir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("BERTH_PG_BINDIR") {
        return Ok(dir.into());
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| Error::Binary {
            what: "postgres",
            detail: format!("/usr/lib/postgresql: {e} (install postgresql)"),
        })?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop().ok_or(Error::Binary {
        what: "postgres",
        detail: "no /usr/lib/postgresql/*/bin/postgres (install postgresql)".into(),
    })
}
