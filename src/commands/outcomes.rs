//! `silp-access outcomes`: at work, hired or in a stable job some days
//! after a measure or after the DID, by breakdown, with disclosure control.

use std::io::Write;

use anyhow::Result;
use chrono::NaiveDate;

use crate::cli::{OriginName, OutcomesArgs};
use crate::extract::schema::FileKind;
use crate::indicators::outcomes::{compute, Origin, OutcomesPlan};
use crate::indicators::{Population, Selection};
use crate::progress::Progress;
use crate::session::{self, CellOptions};
use crate::table::Codebook;

pub fn run(args: &OutcomesArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let planner = Planner::new(args)?;
    let (files, columns) = planner.reads();
    let (session, plan) = session::open_planned(
        &args.extract,
        &files,
        columns,
        planner.links(),
        |as_of| planner.plan(as_of),
        stderr,
        progress,
    )?;
    let (table, protection) = compute(&session.extract, &session.reference, &plan)?;
    session::report_protection(&protection, stderr)?;
    for horizon in &table.horizons {
        if horizon.not_observable > 0 {
            writeln!(
                stderr,
                "outcomes: at {} days, {} persons are left out: their {} days end after the as-of date",
                horizon.day, horizon.not_observable, horizon.day
            )?;
        }
    }
    let codebook = Codebook::new(&session.reference, args.output.lang);
    let mut grid = table.grid(&codebook)?;
    grid.keep_where(planner.filters());
    session::publish(&grid, &args.output)
}

/// An outcomes question's options, checked before any data is read (the
/// command's, or a batch job table's).
pub struct Planner<'a> {
    args: &'a OutcomesArgs,
    options: CellOptions,
    selection: Selection,
    contracts: Vec<usize>,
    days: Vec<i32>,
}

impl<'a> Planner<'a> {
    pub fn new(args: &'a OutcomesArgs) -> Result<Planner<'a>> {
        let mut days = args.days.clone();
        days.sort_unstable();
        days.dedup();
        Ok(Planner {
            args,
            options: CellOptions::parse(&args.cells, &args.stats, Population::Stock)?,
            selection: session::selection(args.select, &args.narrow)?,
            contracts: OutcomesPlan::contracts(&args.contracts)?,
            days,
        })
    }

    /// The linked files whose columns the breakdowns may read.
    pub fn links(&self) -> &crate::link::Links {
        self.options.links()
    }

    /// The rows printed of the table (`--where`).
    pub fn filters(&self) -> &[crate::table::RowFilter] {
        self.options.filters()
    }

    /// The plan once the as-of date is known, with a note when its period was cut there.
    pub fn plan(&self, as_of: NaiveDate) -> Result<(OutcomesPlan, Option<String>)> {
        let args = self.args;
        let (base, note) = self.options.plan(&args.period, self.selection.clone(), as_of)?;
        let plan = OutcomesPlan {
            base,
            origin: match args.origin {
                OriginName::FineMisura => Origin::EndOfMeasure,
                OriginName::Did => Origin::Did,
            },
            outcome: args.outcome,
            contracts: self.contracts.clone(),
            days: self.days.clone(),
            gap: args.gap.then(|| args.standard.into()),
        };
        plan.check()?;
        Ok((plan, note))
    }

    /// The files and columns the question reads.
    pub fn reads(&self) -> (Vec<FileKind>, Vec<&'static str>) {
        let mut dims = self.options.dims().to_vec();
        if self.args.gap {
            dims.extend(crate::indicators::GAP_ALSO_BY);
        }
        let mut columns = crate::indicators::columns_read(&dims, &self.selection);
        columns.extend(["data_avviamento", "data_cessazione", "tipo_contratto"]);
        let mut files = session::ANALYSIS_FILES.to_vec();
        files.push(FileKind::Hirings);
        (files, columns)
    }
}
