//! One module per subcommand, each with the same shape:
//! `run(args, stderr, progress) -> Result<()>` that validates its arguments, builds a
//! typed plan, executes it and writes its output.

pub mod audit;
pub mod gap;
pub mod generate;
pub mod import;
pub mod outcomes;
pub mod pseudonymise;
pub mod rates;
pub mod report;
pub mod run;
pub mod survival;
pub mod validate;

use std::io::Write;

use anyhow::Result;

use crate::cli::Command;
use crate::progress::Progress;

pub fn run(command: &Command, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    match command {
        Command::Rates(args) => rates::run(args, stderr, progress),
        Command::Gap(args) => gap::run(args, stderr, progress),
        Command::Import(args) => import::run(args, stderr, progress),
        Command::Validate(args) => validate::run(args, stderr, progress),
        Command::Report(args) => report::run(args, stderr, progress),
        Command::Pseudonymise(args) => pseudonymise::run(args, stderr, progress),
        Command::Run(args) => run::run(args, stderr, progress),
        Command::Survival(args) => survival::run(args, stderr, progress),
        Command::Outcomes(args) => outcomes::run(args, stderr, progress),
        Command::Audit(args) => audit::run(args, stderr, progress),
        Command::Generate(args) => generate::run(args, stderr, progress),
    }
}
