//! mini-router: an interactive BGP router with an FRR-like CLI. `mini-router --help` lists
//! the ways to run it; [`mini_router::app`] does the work.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mini_router::app::run(mini_router::app::Options::parse()).await
}
