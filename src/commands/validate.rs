//! `silp-access validate`: the data-quality report of an extract.

use std::io::Write;

use anyhow::Result;

use crate::cli::{ReportFormat, ValidateArgs};
use crate::error::DataRejected;
use crate::output;
use crate::progress::Progress;
use crate::quality;
use crate::session::{describe_cache, write_rejects, Session};

pub fn run(args: &ValidateArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let links = crate::link::Links::declare(&args.link)?;
    let session = Session::load_all(&args.extract, &links, progress)?;
    let extract = &session.extract;
    if let Some(line) = describe_cache(extract) {
        writeln!(stderr, "{line}")?;
    }
    let report = quality::assess(extract, &session.linkages, args.extract.as_of.is_some())?;
    let bytes = match args.format {
        ReportFormat::Text => report.to_text(),
        ReportFormat::Json => report.to_json(),
    };
    if let Some(path) = &args.rejects {
        write_rejects(path, &extract.rejects)?;
    }
    output::write(args.output.as_deref(), &bytes)?;
    match extract.rows_rejected() {
        0 => Ok(()),
        rows => Err(DataRejected { rows, strict: false }.into()),
    }
}
