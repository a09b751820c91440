//! One module per subcommand, each with the same shape:
//! `run(args, stderr) -> Result<()>` that validates its arguments, builds a
//! typed plan, executes it and writes its output.

pub mod gap;
pub mod generate;
pub mod pseudonymise;
pub mod rates;
pub mod report;
pub mod run;
pub mod validate;

use std::io::Write;

use anyhow::Result;

use crate::cli::Command;

pub fn run(command: &Command, stderr: &mut dyn Write) -> Result<()> {
    match command {
        Command::Rates(args) => rates::run(args, stderr),
        Command::Gap(args) => gap::run(args, stderr),
        Command::Validate(args) => validate::run(args, stderr),
        Command::Report(args) => report::run(args, stderr),
        Command::Pseudonymise(args) => pseudonymise::run(args, stderr),
        Command::Run(args) => run::run(args, stderr),
        Command::Generate(args) => generate::run(args, stderr),
    }
}
