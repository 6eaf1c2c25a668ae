//! A local stack on loopback: a real kube-apiserver + etcd (built from the Kubernetes Go modules
//! by `tests/envtest/build.sh`), a throwaway Postgres, a throwaway PowerDNS, a throwaway Pebble
//! (ACME) and an S3 server. Used by the integration tests and by `berth up`.
//!
//! Every process is started under a small shell watchdog that holds a pipe to this process: when
//! this process exits, however it exits, the pipe closes and the watchdog stops the child and
//! removes its data directory. No process outlives the test run that started it.

mod alert_inbox;
mod census;
mod controlplane;
pub mod estate;
mod pebble;
mod postgres;
mod powerdns;
mod process;
mod s3;
pub mod up;

pub use census::{Census, census};
pub use controlplane::{ControlPlane, User};
pub use pebble::{Pebble, PebbleConfig};
pub use postgres::Postgres;
pub use powerdns::PowerDns;
pub use process::Supervised;
pub use s3::S3Server;

use std::path::PathBuf;

/// Errors starting the local stack.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A binary could not be found or built.
    #[error("failed to locate {what}: {detail}")]
    Binary { what: &'static str, detail: String },
    /// A process did not become ready in time.
    #[error("{what} did not become ready within {seconds} s; its log is at {log}")]
    NotReady {
        what: &'static str,
        seconds: u64,
        log: PathBuf,
    },
    /// A process could not be spawned.
    #[error("failed to start {what}")]
    Spawn {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// File I/O in the stack's directory failed.
    #[error("failed to write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Generating keys or certificates failed.
    #[error("failed to generate test certificates")]
    Certs(#[from] rcgen::Error),
    /// A set-up command failed.
    #[error("{command} failed: {detail}")]
    Command { command: String, detail: String },
    /// Building a client failed.
    #[error("failed to build a Kubernetes client")]
    Kube(#[from] kube::Error),
    /// The generated kubeconfig did not load.
    #[error("failed to load the generated kubeconfig")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
}

/// A free TCP port on 127.0.0.1 (bind to :0, read it, release it).
pub fn free_port() -> Result<u16, Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| Error::Io {
        path: "127.0.0.1:0".into(),
        source,
    })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| Error::Io {
            path: "127.0.0.1:0".into(),
            source,
        })
}

/// A fresh directory under the system temp dir that other users (postgres) can traverse.
pub fn scratch_dir(prefix: &str) -> Result<PathBuf, Error> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|source| Error::Io {
            path: std::env::temp_dir(),
            source,
        })?
        .keep();
    set_mode(&dir, 0o755)?;
    Ok(dir)
}

fn set_mode(path: &std::path::Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    })
}

fn write(path: PathBuf, contents: impl AsRef<[u8]>) -> Result<PathBuf, Error> {
    std::fs::write(&path, contents).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
