//! `aduan`: the command-line host of the complaint workflow engine.
//!
//! The binary only parses arguments, builds the engine and shows results; every
//! business rule lives in `workflow-core` and every stored fact in `workflow-store`.

mod audit;
mod cli;
mod demo;
mod format;
mod table;
mod verbs;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("aduan: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aduan: {err:#}");
            ExitCode::FAILURE
        }
    }
}
