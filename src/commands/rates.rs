//! `silp-access rates`: access rates by breakdown, with intervals and
//! disclosure control.

use std::io::Write;

use crate::progress::Progress;
use anyhow::Result;

use crate::cli::RatesArgs;
use crate::indicators;
use crate::session::{publish, report_followup, QueryOptions, Session};
use crate::table::Codebook;

pub fn run(args: &RatesArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let options = QueryOptions::parse(&args.query, &args.stats)?;
    let session = Session::open(&args.extract, stderr, progress)?;
    let plan = options.plan(&args.query, session.extract.as_of)?;
    let result = indicators::compute(
        &session.extract,
        &session.reference,
        &plan,
        &indicators::Memo::default(),
    )?;
    report_followup(&plan, result.incomplete_followup, stderr)?;
    let grid = result
        .table
        .grid(&Codebook::new(&session.reference, args.output.lang))?;
    publish(&grid, &args.output)
}
