//! `aduan`: see the `workflow_host` crate.

use std::process::ExitCode;

use clap::Parser;
use workflow_host::cli;

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
        // The reader of our output went away (`aduan export | head`): not a failure.
        Err(err) if workflow_host::out::is_closed_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aduan: {err:#}");
            ExitCode::FAILURE
        }
    }
}
