//! `silp-access gap`: each foreign group against Italian citizens, stratum by stratum.

use std::io::Write;

use anyhow::Result;

use crate::cli::GapArgs;
use crate::indicators;
use crate::progress::Progress;
use crate::session::answer;

pub fn run(args: &GapArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    answer(
        &args.table,
        &indicators::GAP_ALSO_BY,
        stderr,
        progress,
        |session, plan, codebook| {
            let memo = indicators::Memo::default();
            let standard = args.standard.into();
            let result = indicators::compare(&session.extract, &session.reference, plan, standard, &memo)?;
            Ok((result.table.grid(codebook)?, result.incomplete_followup))
        },
    )
}
