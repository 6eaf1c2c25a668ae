//! Wiring for the long-running commands: `berth controller` and `berth up`.

/// Arguments of `berth controller`.
#[derive(clap::Args, Debug, Clone)]
pub struct ControllerArgs {}

/// Arguments of `berth up`.
#[derive(clap::Args, Debug, Clone)]
pub struct UpArgs {}

/// Runs the controller process until a shutdown signal.
pub async fn controller(_args: ControllerArgs) -> anyhow::Result<()> {
    Ok(())
}

/// Runs the local stack.
pub async fn up(_args: UpArgs) -> anyhow::Result<()> {
    Ok(())
}
