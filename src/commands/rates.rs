//! `silp-access rates`: access rates by breakdown.

use std::io::Write;

use anyhow::{bail, Result};

use crate::cli::{PeriodArgs, PopulationName, RatesArgs};
use crate::extract::schema::FileKind;
use crate::indicators::{self, Period, Population, RatesPlan, Selection};
use crate::output;
use crate::session::Session;
use crate::table::{Codebook, Dimension, PROGRAMMES};

const FILES: [FileKind; 3] = [FileKind::Persons, FileKind::Spells, FileKind::Activities];

pub fn run(args: &RatesArgs, stderr: &mut dyn Write) -> Result<()> {
    let selection = selection(args)?;
    let dims = Dimension::parse_list(&args.by)?;
    let population = match args.population {
        PopulationName::Stock => {
            if args.complete_followup {
                bail!("--complete-followup applies to --population coorte only");
            }
            Population::Stock
        }
        PopulationName::Coorte => Population::Cohort {
            window: args.window,
            complete_followup: args.complete_followup,
        },
    };
    let session = Session::open(&args.extract, &FILES, stderr)?;
    let period = period(&args.period, session.extract.as_of)?;
    let plan = RatesPlan {
        period,
        population,
        selection,
        dims,
        top: args.top,
        margins: args.margins,
    };
    let result = indicators::compute(&session.extract, &session.reference, &plan)?;
    if let Population::Cohort {
        window,
        complete_followup,
    } = plan.population
    {
        let what = if complete_followup {
            "left out"
        } else {
            "counted, follow-up incomplete"
        };
        writeln!(
            stderr,
            "cohort: {} persons registered in the period have less than {window} days of follow-up before the as-of date ({what})",
            result.incomplete_followup
        )?;
    }
    let grid = result
        .table
        .grid(&Codebook::new(&session.reference, args.output.lang));
    let bytes = output::render(&grid, args.output.format, args.output.lang);
    output::write(args.output.output.as_deref(), &bytes)
}

fn selection(args: &RatesArgs) -> Result<Selection> {
    let mut selection = Selection::named(args.select);
    if let Some(categories) = &args.lmp {
        if let Some(bad) = categories.iter().find(|c| !(1..=7).contains(*c)) {
            bail!("--lmp {bad}: Eurostat LMP categories run from 1 (services) to 7 (start-up incentives)");
        }
        let mut categories = categories.clone();
        categories.sort_unstable();
        categories.dedup();
        selection.categories = categories;
    }
    if let Some(programmes) = &args.programma {
        if let Some(bad) = programmes
            .iter()
            .find(|p| !PROGRAMMES.contains(&p.as_str()))
        {
            bail!("--programma {bad}: use any of {}", PROGRAMMES.join(", "));
        }
        selection.programmes = Some(programmes.clone());
    }
    selection.activities = args.attivita.clone();
    Ok(selection)
}

fn period(args: &PeriodArgs, as_of: chrono::NaiveDate) -> Result<Period> {
    match (args.year, args.dal, args.al) {
        (Some(year), _, _) => Period::year(year),
        (None, Some(from), Some(to)) => Period::new(from, to),
        _ => Period::year(chrono::Datelike::year(&as_of)),
    }
}
