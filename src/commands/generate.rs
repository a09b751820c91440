//! `silp-access generate`: write a synthetic extract.

use std::io::Write;

use anyhow::Result;

use crate::cli::GenerateArgs;
use crate::progress::Progress;
use crate::synth::{self, GenerateOptions};

pub fn run(args: &GenerateArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let options = GenerateOptions {
        persons: args.persons,
        seed: args.seed,
        as_of: args.as_of,
        shapes: args.shape.clone(),
        reception: args.accoglienza,
    };
    let written = synth::generate(&options, &args.out, progress)?;
    writeln!(
        stderr,
        "wrote {}: {} persons, {} DID spells, {} activities, {} hirings (seed {}, as-of {})",
        args.out.display(),
        written.persons,
        written.spells,
        written.activities,
        written.hirings,
        args.seed,
        args.as_of.format("%d/%m/%Y")
    )?;
    Ok(())
}
