//! The `berth` command line: the controller process, CRD output, the local stack, the
//! provider sandbox and the dry-run plan.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Keeps a SaaS production estate in its declared state"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print every CRD as one multi-document YAML stream (or write crds/<kind>.yaml files).
    Crds {
        /// Write one file per kind into this directory instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Run the controllers, health endpoints and admin API.
    Controller(berth::run::ControllerArgs),
    /// Start a local stack: control plane, Postgres, CRDs, the controller and the Vocilia example.
    Up(berth::run::UpArgs),
    /// Show what berth would change at each provider for these manifests, and what backup
    /// retention would prune (with `--database-url`), changing nothing.
    /// Exit code: 0 no changes, 2 changes pending, 1 error.
    Plan(berth::plan::PlanArgs),
    /// Serve simulators of Vercel, Cloudflare, Supabase and Railway on loopback until Ctrl-C.
    Sandbox(berth::sandbox::SandboxArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crds { write: None } => {
            print!("{}", berth::crdgen::render_all()?);
            Ok(())
        }
        Command::Crds { write: Some(dir) } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for (name, text) in berth::crdgen::files()? {
                let path = dir.join(name);
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(())
        }
        Command::Controller(args) => runtime()?.block_on(berth::run::controller(args)),
        Command::Up(args) => runtime()?.block_on(berth::run::up(args)),
        Command::Sandbox(args) => runtime()?.block_on(berth::sandbox::run(args)),
        Command::Plan(args) => {
            let code = runtime()?.block_on(berth::plan::run(args))?;
            std::process::exit(code)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // Both reqwest and kube use rustls; pin the process-wide provider so neither has to guess.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
