//! A throwaway S3-compatible server on loopback: `s3s-fs` (crates.io, installed by
//! `scripts/prereqs` into `~/.cache/berth/s3s`), which stores objects as plain files and checks
//! SigV4 signatures, so credential handling is exercised too.

use std::path::PathBuf;

use super::{Error, Supervised, controlplane::wait_until, free_port, scratch_dir};

/// A running S3 server. Dropping it stops the server and removes its data.
pub struct S3Server {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// Where objects live: `<dir>/<bucket>/<key>`.
    pub dir: PathBuf,
    pub access_key: String,
    pub secret_key: String,
    _server: Supervised,
}

impl S3Server {
    /// Starts `s3s-fs` on a free port with fresh credentials and an empty store.
    pub async fn start() -> Result<Self, Error> {
        let bin = binary()?;
        let dir = scratch_dir("berth-s3-")?;
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(|source| Error::Io {
            path: data.clone(),
            source,
        })?;
        let port = free_port()?;
        let access_key = "AKIABERTHTEST".to_string();
        let secret_key = format!("berth-secret-{port}");
        let log = dir.join("s3s-fs.log");
        let server = Supervised::spawn(
            "s3s-fs",
            &bin,
            &[
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--access-key".into(),
                access_key.clone(),
                "--secret-key".into(),
                secret_key.clone(),
                data.to_string_lossy().into_owned(),
            ],
            &log,
            Some(&dir),
            &[],
        )?;
        wait_until("s3s-fs", &log, || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await?;
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            dir: data,
            access_key,
            secret_key,
            _server: server,
        })
    }

    /// Creates a bucket (s3s-fs keeps one as a directory).
    pub fn create_bucket(&self, name: &str) -> Result<PathBuf, Error> {
        let path = self.dir.join(name);
        std::fs::create_dir_all(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// `$BERTH_S3S_FS`, else `~/.cache/berth/s3s/bin/s3s-fs`, else `s3s-fs` on `PATH`.
fn binary() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("BERTH_S3S_FS") {
        return Ok(p.into());
    }
    let cached = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/berth/s3s/bin/s3s-fs"))
        .filter(|p| p.is_file());
    if let Some(p) = cached {
        return Ok(p);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("s3s-fs"))
            .find(|p| p.is_file())
    });
    on_path.ok_or(Error::Binary {
        what: "s3s-fs",
        detail: "not found (run scripts/prereqs, or set BERTH_S3S_FS)".into(),
    })
}
