//! `schoolplein`: serve, migrate and manage the fleet of schools.

use std::process::ExitCode;

use clap::Parser;
use schoolplein_server::cli::{Cli, CliError, run};

// glibc's allocator spent about a tenth of the server's CPU on a busy page (measured with
// perf, docs/BENCHMARKS.md); mimalloc's per-thread heaps do the same work for less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(CliError::Refused { code, reason }) => {
            eprintln!("{reason}");
            ExitCode::from(code)
        }
        Err(CliError::Failed(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
