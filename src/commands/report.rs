//! `silp-access report`: the synthesis report in one folder (HTML, Markdown,
//! XLSX, CSV tables, manifest), written atomically.

use std::io::Write;

use anyhow::{bail, Context, Result};
use chrono::Datelike;

use crate::cli::ReportArgs;
use crate::disclosure::Threshold;
use crate::indicators::Period;
use crate::output::{replace_dir, staging_dir};
use crate::progress::Progress;
use crate::report::{self, ReportPlan};
use crate::session::Session;

pub fn run(args: &ReportArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let threshold = Threshold::new(args.stats.threshold)?;
    crate::stats::critical_value(args.stats.confidence)?;
    let requested = args.years.as_deref().map(parse_years).transpose()?;
    let given = requested.or(args.year.map(|year| vec![year]));
    if let (Some(years), Some(as_of)) = (&given, args.extract.source.as_of) {
        // A year the extract cannot answer is refused before any data is read.
        for year in years {
            Period::year(*year)?.within(as_of)?;
        }
    }
    let session = Session::open_files(
        &args.extract,
        &crate::session::REPORT_FILES,
        None,
        &crate::link::Links::default(),
        stderr,
        progress,
    )?;
    let years = given.unwrap_or_else(|| vec![session.extract.as_of.year()]);
    let plan = ReportPlan {
        years,
        lang: args.lang,
        threshold,
        confidence: args.stats.confidence,
        per_cpi: args.per_cpi,
    };
    let step = progress.step("computing the report's tables");
    let report = report::build(&session.extract, &session.reference, &plan)?;
    drop(step);
    if let Some(note) = report.manifest.get("periodo_tagliato").and_then(|n| n.as_str()) {
        writeln!(stderr, "warning: {note}")?;
    }

    let step = progress.step(format!("writing the report into {}", args.out.display()));
    let staging = staging_dir(&args.out)?;
    report::write_files(&report, staging.path())?;
    crate::commands::audit::refuse_disclosure(staging.path(), &session.reference)?;
    replace_dir(staging.keep(), &args.out)
        .with_context(|| format!("writing the report into {}", args.out.display()))?;
    drop(step);
    writeln!(
        stderr,
        "report written to {} ({} tables{})",
        args.out.display(),
        report.tables.len(),
        if report.sheets.is_empty() {
            String::new()
        } else {
            format!(", {} job centre fact sheets in cpi/", report.sheets.len())
        }
    )?;
    Ok(())
}

/// `2022-2024` or `2022,2024`.
fn parse_years(text: &str) -> Result<Vec<i32>> {
    let bad = || anyhow::anyhow!("--years {text:?}: write a range like 2022-2024 or a list like 2022,2024");
    let mut years: Vec<i32> = if let Some((from, to)) = text.split_once('-') {
        let (from, to): (i32, i32) = (
            from.trim().parse().map_err(|_| bad())?,
            to.trim().parse().map_err(|_| bad())?,
        );
        if from > to || to - from > 30 {
            bail!(bad());
        }
        (from..=to).collect()
    } else {
        text.split(',')
            .map(|y| y.trim().parse().map_err(|_| bad()))
            .collect::<Result<_>>()?
    };
    years.sort_unstable();
    years.dedup();
    Ok(years)
}
