//! `aduan`: see the `workflow_host` crate.

use std::process::ExitCode;

use clap::Parser;
use workflow_host::cli;

/// mimalloc, not the C library's allocator: commands over HTTP about 13% faster on
/// SQLite for some 18 MiB more at the peak (docs/decisions/0053). The libraries leave
/// the choice to the program that embeds them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // The configuration file's settings join the command line before it is parsed.
    let argv = match workflow_host::config::apply(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(err) => {
            eprintln!("aduan: {err}");
            return ExitCode::FAILURE;
        }
    };
    let cli = cli::Cli::parse_from(argv);
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
            eprintln!("aduan: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once: a store error's message
/// already includes its cause's text, and so do some of the driver's.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}
