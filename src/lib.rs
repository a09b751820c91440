//! silp-access: migrants' access to job-centre services and active
//! labour-market policies, computed from SILP extracts.
//!
//! The binary is a thin shell over [`run`]; tests drive the same library.

pub mod cli;
pub mod commands;
pub mod disclosure;
pub(crate) mod engine;
pub mod error;
pub mod extract;
pub mod indicators;
pub mod job;
pub mod link;
mod memory;
pub mod output;
pub mod progress;
pub mod pseudonym;
pub mod quality;
pub mod reference;
pub mod report;
pub mod sample;
pub mod session;
pub mod stats;
pub mod synth;
pub mod table;

/// Runs a parsed command line, sending diagnostics to `stderr`.
pub fn run(cli: &cli::Cli, stderr: &mut dyn std::io::Write) -> anyhow::Result<()> {
    commands::run(&cli.command, stderr, progress::Progress::new(cli.quiet))
}
