use std::process::ExitCode;

use clap::Parser;
use silp_access::cli::Cli;
use silp_access::error::exit_code;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stderr = std::io::stderr();
    match silp_access::run(&cli, &mut stderr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let (code, silent) = exit_code(&error);
            if !silent {
                eprintln!("silp-access {}: {error:#}", cli.command.name());
            }
            ExitCode::from(code)
        }
    }
}
