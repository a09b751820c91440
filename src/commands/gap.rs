//! `silp-access gap`: each foreign group against Italian citizens, stratum by stratum.

use std::io::Write;

use anyhow::Result;

use crate::cli::GapArgs;
use crate::indicators::{self, Question};
use crate::progress::Progress;
use crate::session::answer;

pub fn run(args: &GapArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let standard = args.standard.into();
    answer(&args.table, &indicators::GAP_ALSO_BY, stderr, progress, |plan| {
        Question::Gap(plan, standard)
    })
}
