//! Child processes that cannot outlive their parent.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use super::Error;

/// A child process under a shell watchdog. Dropping it (or the parent exiting) stops the child
/// with SIGTERM, waits for it, and removes `cleanup` if given.
pub struct Supervised {
    what: &'static str,
    watchdog: std::process::Child,
    log: PathBuf,
}

// The watchdog: start the command in the background with its own stdin closed, then block
// reading our stdin. EOF (parent gone or `Supervised` dropped) stops the child and tidies up.
const WATCHDOG: &str = r#"log="$1"; cleanup="$2"; shift 2
"$@" </dev/null >>"$log" 2>&1 & child=$!
echo "$child" > "$log.pid"
read -r _
kill -TERM "$child" 2>/dev/null
i=0; while kill -0 "$child" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL "$child" 2>/dev/null
wait "$child" 2>/dev/null
[ -n "$cleanup" ] && rm -rf "$cleanup" "$log" "$log.pid"
exit 0"#;

impl Supervised {
    /// Starts `program args…`, appending its output to `log`.
    pub fn spawn(
        what: &'static str,
        program: &Path,
        args: &[String],
        log: &Path,
        cleanup: Option<&Path>,
        env: &[(&str, String)],
    ) -> Result<Self, Error> {
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("watchdog")
            .arg(log)
            .arg(cleanup.map(Path::as_os_str).unwrap_or_default())
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let watchdog = cmd
            .spawn()
            .map_err(|source| Error::Spawn { what, source })?;
        Ok(Self {
            what,
            watchdog,
            log: log.to_owned(),
        })
    }

    /// Removes `dir` once this process exits (or the janitor is dropped), for directories whose
    /// owner lives in a `static` and is never dropped.
    pub fn janitor(dir: &Path) -> Result<Self, Error> {
        let log = std::env::temp_dir().join(format!("berth-janitor-{}.log", std::process::id()));
        Self::spawn(
            "janitor",
            Path::new("sleep"),
            &["infinity".into()],
            &log,
            Some(dir),
            &[],
        )
    }

    /// The child's log file.
    #[must_use]
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The child's pid (once the watchdog has started it).
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(format!("{}.pid", self.log.display()))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Stops the child and waits for the watchdog to finish tidying up.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.watchdog.stdin.take());
        let _ = self.watchdog.wait();
        tracing::debug!(what = self.what, "stopped");
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.shutdown();
    }
}
