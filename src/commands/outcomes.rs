//! `silp-access outcomes`: at work, hired or in a stable job some days
//! after a measure or after the DID, by breakdown, with disclosure control.

use std::io::Write;

use anyhow::Result;

use crate::cli::{OriginName, OutcomesArgs};
use crate::extract::schema::FileKind;
use crate::indicators::outcomes::{compute, Origin, OutcomesPlan};
use crate::indicators::Population;
use crate::progress::Progress;
use crate::session;
use crate::table::Codebook;

pub fn run(args: &OutcomesArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let options = session::CellOptions::parse(&args.cells, &args.stats, Population::Stock)?;
    let selection = session::selection(args.select, &args.narrow)?;
    let contracts = OutcomesPlan::contracts(&args.contracts)?;
    let mut days = args.days.clone();
    days.sort_unstable();
    days.dedup();
    let plan = |as_of| -> Result<(OutcomesPlan, Option<String>)> {
        let (base, note) = options.plan(&args.period, selection.clone(), as_of)?;
        let plan = OutcomesPlan {
            base,
            origin: match args.origin {
                OriginName::FineMisura => Origin::EndOfMeasure,
                OriginName::Did => Origin::Did,
            },
            outcome: args.outcome,
            contracts: contracts.clone(),
            days: days.clone(),
            gap: args.gap.then(|| args.standard.into()),
        };
        plan.check()?;
        Ok((plan, note))
    };
    let mut dims = options.dims().to_vec();
    if args.gap {
        dims.extend(crate::indicators::GAP_ALSO_BY);
    }
    let mut columns = crate::indicators::columns_read(&dims, &selection);
    columns.extend(["data_avviamento", "data_cessazione", "tipo_contratto"]);
    let mut files = session::ANALYSIS_FILES.to_vec();
    files.push(FileKind::Hirings);
    let (session, plan) = session::open_planned(&args.extract, &files, columns, plan, stderr, progress)?;
    let (table, protection) = compute(&session.extract, &session.reference, &plan)?;
    session::report_recodings(&protection, stderr)?;
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
    session::publish(&table.grid(&codebook)?, &args.output)
}
