//! `pg_dump -Fc` streamed into a destination: stdout is read in chunks, hashed (sha256),
//! counted and written on, so a dump of any size never sits whole in memory. The connection
//! goes through `PG*` environment variables, so the password never shows in `ps`.
//!
//! Commit happens only after `pg_dump` exited successfully; on any failure the upload is
//! aborted. Dropping the future (a cancelled run) kills `pg_dump` and leaves only a partial
//! artefact that does not look like a backup.

use std::{path::PathBuf, process::Stdio};

use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use super::{
    connection::{Connection, scrub_pg_env},
    destination::{self, Upload},
};

/// Bytes read from `pg_dump` at a time.
const CHUNK: usize = 256 * 1024;
/// How much of a tool's stderr is kept for the error message.
const STDERR_TAIL: usize = 4096;

/// A dump failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tool could not be started.
    #[error("failed to start {tool}")]
    Spawn {
        tool: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading its output failed.
    #[error("failed to read the output of pg_dump")]
    Read(#[source] std::io::Error),
    /// It exited unsuccessfully.
    #[error("pg_dump failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    /// The destination failed.
    #[error(transparent)]
    Destination(#[from] destination::Error),
}

/// A finished dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dumped {
    pub location: String,
    pub size_bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// Path of a PostgreSQL client tool: `$BERTH_PG_BINDIR/<tool>` when set, else from `PATH`.
#[must_use]
pub fn tool(name: &str) -> PathBuf {
    std::env::var_os("BERTH_PG_BINDIR")
        .map_or_else(|| PathBuf::from(name), |d| PathBuf::from(d).join(name))
}

/// Dumps `source` into `upload` and commits it.
pub async fn dump(
    source: &Connection,
    application: &str,
    mut upload: Upload,
) -> Result<Dumped, Error> {
    let result = stream(source, application, &mut upload).await;
    match result {
        Ok((size_bytes, sha256)) => {
            let location = upload.commit().await?;
            Ok(Dumped {
                location,
                size_bytes,
                sha256,
            })
        }
        Err(e) => {
            upload.abort().await;
            Err(e)
        }
    }
}

async fn stream(
    source: &Connection,
    application: &str,
    upload: &mut Upload,
) -> Result<(u64, String), Error> {
    let pg_dump = tool("pg_dump");
    let mut cmd = tokio::process::Command::new(&pg_dump);
    scrub_pg_env(&mut cmd);
    cmd.args(["--format=custom", "--no-password"])
        .envs(source.env(application))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
        tool: pg_dump.display().to_string(),
        source,
    })?;
    let stderr = tokio::spawn(tail(child.stderr.take()));
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Read(std::io::Error::other("pg_dump has no stdout")))?;

    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = stdout.read(&mut buf).await.map_err(Error::Read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
        upload.write(&buf[..n]).await?;
    }
    let status = child.wait().await.map_err(Error::Read)?;
    let stderr = stderr.await.unwrap_or_default();
    if !status.success() {
        return Err(Error::Failed {
            status: status.to_string(),
            stderr,
        });
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// The last few KiB of a tool's stderr, one line, with any URI password redacted.
pub async fn tail(stderr: Option<tokio::process::ChildStderr>) -> String {
    let Some(mut stderr) = stderr else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = stderr.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > STDERR_TAIL {
            kept.drain(..kept.len() - STDERR_TAIL);
        }
    }
    let text = String::from_utf8_lossy(&kept);
    crate::store::redact_url(text.trim()).replace('\n', "; ")
}
