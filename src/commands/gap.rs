//! `silp-access gap`: each foreign group against Italian citizens, stratum by stratum.

use std::io::Write;

use crate::progress::Progress;
use anyhow::Result;

use crate::cli::GapArgs;
use crate::indicators;
use crate::session::{publish, report_followup, QueryOptions, Session};
use crate::table::Codebook;

pub fn run(args: &GapArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let options = QueryOptions::parse(&args.query, &args.stats)?;
    let session = Session::open(&args.extract, stderr, progress)?;
    let plan = options.plan(&args.query, session.extract.as_of)?;
    let result = indicators::compare(
        &session.extract,
        &session.reference,
        &plan,
        args.standard.into(),
        &indicators::Memo::default(),
    )?;
    report_followup(&plan, result.incomplete_followup, stderr)?;
    let grid = result
        .table
        .grid(&Codebook::new(&session.reference, args.output.lang))?;
    publish(&grid, &args.output)
}
