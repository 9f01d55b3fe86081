//! Command-line arguments and dispatch to the verbs.

use clap::{Parser, Subcommand};

/// Follow-up of LAPOR!-SP4N complaints under the liaison-officer SOP.
#[derive(Debug, Parser)]
#[command(name = "aduan", version, about)]
pub struct Cli {
    /// Print listings as JSON for programs instead of tables for people.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Walk sample complaints of Kabupaten Kapuas through the whole SOP on an in-memory
    /// log and print the first one's timeline and every complaint's SLA clocks.
    Demo,
}

/// Runs the chosen verb.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo => crate::demo::run(cli.json).await,
    }
}
