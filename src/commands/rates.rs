//! `silp-access rates`: access rates by breakdown, with intervals and
//! disclosure control.

use std::io::Write;

use anyhow::Result;

use crate::cli::RatesArgs;
use crate::indicators::Question;
use crate::progress::Progress;
use crate::session::answer;

pub fn run(args: &RatesArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    answer(&args.table, &[], stderr, progress, Question::Rates)
}
