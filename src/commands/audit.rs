//! `silp-access audit DIR`: the intruder's check of a folder of published
//! tables. `report` and `run` call `refuse_disclosure` on what they are
//! about to move into place.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::AuditArgs;
use crate::disclosure::files::read_folder;
use crate::disclosure::{audit, Audit, Depth, Groups, Interval, Threshold, DEFAULT_THRESHOLD};
use crate::error::Disclosed;
use crate::output::{self, Format};
use crate::progress::Progress;
use crate::reference::Reference;
use crate::table::{Grid, Value};

pub fn run(args: &AuditArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    if args.output.format.is_binary() {
        bail!(
            "--format {}: the audit writes table, csv or json",
            args.output.format.extension()
        );
    }
    let reference = Reference::load(args.ref_dir.as_deref())?;
    let groups = Groups::new(&reference);
    let folder = read_folder(&args.dir, &groups)?;
    for (file, why) in &folder.skipped {
        writeln!(stderr, "not audited: {file} ({why})")?;
    }
    if folder.tables.is_empty() {
        bail!(
            "{} holds no table of eligible persons and beneficiaries (CSV or JSON written by rates, gap, report or run)",
            args.dir.display()
        );
    }
    let threshold = Threshold::new(args.threshold.or(folder.threshold).unwrap_or(DEFAULT_THRESHOLD))?;
    let step = progress.step(format!("auditing {} tables", folder.tables.len()));
    let result = audit(&folder.tables, &groups, threshold, Depth::Intervals)?;
    drop(step);
    let mut bytes = output::render(&findings_grid(&result), args.output.format, args.output.lang)?;
    let verdict = verdict(&result);
    if args.output.format == Format::Table {
        bytes.extend_from_slice(verdict.as_bytes());
        bytes.push(b'\n');
    } else {
        writeln!(stderr, "{verdict}")?;
    }
    output::write(args.output.output.as_deref(), &bytes)?;
    match result.disclosed().count() {
        0 => Ok(()),
        cells => Err(Disclosed { cells }.into()),
    }
}

/// Audits a folder about to be published; an error names the disclosed cells.
pub fn refuse_disclosure(dir: &Path, reference: &Reference) -> Result<()> {
    let groups = Groups::new(reference);
    let folder = read_folder(dir, &groups)?;
    let threshold = Threshold::new(folder.threshold.unwrap_or(DEFAULT_THRESHOLD))?;
    let result = audit(&folder.tables, &groups, threshold, Depth::Verdict)?;
    let named: Vec<String> = result
        .disclosed()
        .take(10)
        .map(|f| {
            format!(
                "{} in {} ({})",
                f.key.describe(),
                f.tables.join(", "),
                f.disclosure.unwrap_or_default()
            )
        })
        .collect();
    if !named.is_empty() {
        bail!(
            "the audit of what was about to be published recovers {} suppressed cell(s), so nothing was moved into place: {}. Please report this as a bug of silp-access's disclosure control",
            result.disclosed().count(),
            named.join("; ")
        );
    }
    Ok(())
}

fn verdict(result: &Audit) -> String {
    let disclosed = result.disclosed().count();
    if disclosed == 0 {
        format!(
            "verdict: safe — {} tables, {} suppressed cells, none recoverable at threshold {}",
            result.tables,
            result.findings.len(),
            result.threshold.value()
        )
    } else {
        format!(
            "verdict: DISCLOSED — {disclosed} of {} suppressed cells can be recovered at threshold {}",
            result.findings.len(),
            result.threshold.value()
        )
    }
}

fn findings_grid(result: &Audit) -> Grid {
    let columns = [
        "tabelle",
        "cella",
        "stato_cella",
        "popolazione_min",
        "popolazione_max",
        "beneficiari_min",
        "beneficiari_max",
        "non_beneficiari_min",
        "non_beneficiari_max",
        "esito",
    ]
    .map(String::from)
    .to_vec();
    let bound = |i: Interval| [Value::Count(i.low), i.high.map_or(Value::Missing, Value::Count)];
    let rows = result
        .findings
        .iter()
        .map(|f| {
            let mut row = vec![
                Value::Text(f.tables.join(", ")),
                Value::Text(f.key.describe()),
                Value::Code(f.status.code().to_string()),
            ];
            row.extend(bound(f.population));
            row.extend(bound(f.beneficiaries));
            row.extend(bound(f.non_beneficiaries));
            row.push(Value::Text(f.disclosure.unwrap_or("protetta").to_string()));
            row
        })
        .collect();
    Grid { columns, rows }
}
