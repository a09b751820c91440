//! `silp-access survival`: time from the DID to a first service, measure,
//! activity or hiring, by breakdown, with disclosure control.

use std::io::Write;

use anyhow::Result;

use crate::cli::SurvivalArgs;
use crate::extract::schema::FileKind;
use crate::indicators::survival::{compute, Event, SurvivalPlan};
use crate::indicators::Population;
use crate::progress::Progress;
use crate::session;
use crate::table::{Codebook, Dimension};

pub fn run(args: &SurvivalArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let options = session::CellOptions::parse(&args.cells, &args.stats, Population::Stock)?;
    let selection = args.event.selection(
        args.narrow.lmp.as_deref(),
        session::selection(crate::indicators::plan::SelectionName::Tutte, &args.narrow)?,
    )?;
    let compare = Dimension::parse_list(&args.compare)?;
    let [compare] = compare[..] else {
        anyhow::bail!("--compare: give one breakdown, e.g. gruppo_cittadinanza");
    };
    let mut days = args.days.clone();
    days.sort_unstable();
    days.dedup();
    let plan = |as_of| -> Result<(SurvivalPlan, Option<String>)> {
        let (base, note) = options.plan(&args.period, selection.clone(), as_of)?;
        let plan = SurvivalPlan {
            base,
            event: args.event,
            days: days.clone(),
            interval: args.interval,
            competing: args.competing,
            compare,
        };
        plan.check()?;
        Ok((plan, note))
    };
    let mut columns = crate::indicators::columns_read(options.dims(), &selection);
    let mut files = session::ANALYSIS_FILES.to_vec();
    if args.event == Event::Assunzione {
        files.push(FileKind::Hirings);
        columns.extend(["data_avviamento", "data_cessazione"]);
    }
    let (session, plan) = session::open_planned(&args.extract, &files, columns, plan, stderr, progress)?;
    let (table, protection) = compute(&session.extract, &session.reference, &plan)?;
    session::report_recodings(&protection, stderr)?;
    let persons: u64 = table
        .cells
        .iter()
        .filter(|c| c.keys.iter().all(|k| k == crate::table::TOTAL))
        .map(|c| c.follow_up.persons())
        .sum();
    writeln!(stderr, "cohort: {persons} persons whose DID starts in the period")?;
    let codebook = Codebook::new(&session.reference, args.output.lang);
    session::publish(&table.grid(&codebook)?, &args.output)
}
