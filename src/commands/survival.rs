//! `silp-access survival`: time from the DID to a first service, measure,
//! activity or hiring, by breakdown, with disclosure control.

use std::io::Write;

use anyhow::{bail, Result};
use chrono::NaiveDate;

use crate::cli::SurvivalArgs;
use crate::extract::schema::FileKind;
use crate::indicators::plan::SelectionName;
use crate::indicators::survival::{compute, Event, SurvivalPlan};
use crate::indicators::{Population, Selection};
use crate::progress::Progress;
use crate::session::{self, CellOptions};
use crate::table::{Codebook, Dimension};

pub fn run(args: &SurvivalArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
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
    let persons: u64 = table
        .cells
        .iter()
        .filter(|c| c.keys.iter().all(|k| k == crate::table::TOTAL))
        .map(|c| c.follow_up.persons())
        .sum();
    writeln!(stderr, "cohort: {persons} persons whose DID starts in the period")?;
    let codebook = Codebook::new(&session.reference, args.output.lang);
    let mut grid = table.grid(&codebook)?;
    grid.keep_where(planner.filters());
    session::publish(&grid, &args.output)
}

/// A survival question's options, checked before any data is read (the
/// command's, or a batch job table's).
pub struct Planner<'a> {
    args: &'a SurvivalArgs,
    options: CellOptions,
    selection: Selection,
    compare: Dimension,
    days: Vec<i32>,
}

impl<'a> Planner<'a> {
    pub fn new(args: &'a SurvivalArgs) -> Result<Planner<'a>> {
        let options = CellOptions::parse(&args.cells, &args.stats, Population::Stock)?;
        let selection = args.event.selection(
            args.narrow.lmp.as_deref(),
            session::selection(SelectionName::Tutte, &args.narrow)?,
        )?;
        let wanted = args.compare.trim().to_ascii_lowercase();
        let known = Dimension::ALL.into_iter().chain(options.links().dimensions());
        let Some(compare) = known.into_iter().find(|d| d.name() == wanted) else {
            bail!(
                "--compare {:?}: give one breakdown of --by, e.g. gruppo_cittadinanza",
                args.compare
            );
        };
        let mut days = args.days.clone();
        days.sort_unstable();
        days.dedup();
        Ok(Planner {
            args,
            options,
            selection,
            compare,
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
    pub fn plan(&self, as_of: NaiveDate) -> Result<(SurvivalPlan, Option<String>)> {
        let (base, note) = self.options.plan(&self.args.period, self.selection.clone(), as_of)?;
        let plan = SurvivalPlan {
            base,
            event: self.args.event,
            days: self.days.clone(),
            interval: self.args.interval,
            competing: self.args.competing,
            compare: self.compare,
        };
        plan.check()?;
        Ok((plan, note))
    }

    /// The files and columns the question reads.
    pub fn reads(&self) -> (Vec<FileKind>, Vec<&'static str>) {
        let mut columns = crate::indicators::columns_read(self.options.dims(), &self.selection);
        let mut files = session::ANALYSIS_FILES.to_vec();
        if self.args.event == Event::Assunzione {
            files.push(FileKind::Hirings);
            columns.extend(["data_avviamento", "data_cessazione"]);
        }
        (files, columns)
    }
}
