//! Plumbing every analysis command shares: load the code lists and the
//! extract, account for rejected rows on stderr and in `--rejects`, and
//! enforce `--strict` before anything is written.

use std::io::Write;

use anyhow::Result;

use crate::cli::ExtractArgs;
use crate::error::DataRejected;
use crate::extract::schema::FileKind;
use crate::extract::{Extract, LoadOptions, Location, Reject};
use crate::output;
use crate::reference::Reference;

/// How many rejected rows are listed on stderr when no `--rejects` file is asked for.
const REJECTS_SHOWN: usize = 10;

pub struct Session {
    pub reference: Reference,
    pub extract: Extract,
}

impl Session {
    pub fn open(args: &ExtractArgs, kinds: &[FileKind], stderr: &mut dyn Write) -> Result<Session> {
        let reference = Reference::load(args.ref_dir.as_deref())?;
        let location = match &args.extract {
            Some(dir) => Location::Dir(dir.clone()),
            None => Location::Sample,
        };
        let options = LoadOptions {
            encoding: args.encoding,
            as_of: args.as_of,
        };
        let extract = Extract::load(&location, kinds, &options, &reference)?;
        report_rows(&extract, args, stderr)?;
        Ok(Session { reference, extract })
    }
}

fn report_rows(extract: &Extract, args: &ExtractArgs, stderr: &mut dyn Write) -> Result<()> {
    let origin = if args.as_of.is_some() {
        "given"
    } else {
        "latest date in the files"
    };
    writeln!(
        stderr,
        "extract: {} (as-of {}, {origin})",
        extract.location.describe(),
        extract.as_of.format("%d/%m/%Y")
    )?;
    for file in &extract.files {
        writeln!(
            stderr,
            "  {}: {} rows read, {} used, {} rejected ({}, separator '{}')",
            file.file,
            file.rows_read,
            file.rows_used,
            file.rows_rejected,
            file.encoding,
            file.separator
        )?;
    }
    let rejected = extract.rows_rejected();
    if rejected == 0 {
        return Ok(());
    }
    match &args.rejects {
        Some(path) => {
            output::write_file_atomically(path, &rejects_csv(&extract.rejects))?;
            writeln!(
                stderr,
                "  {rejected} rejected rows written to {}",
                path.display()
            )?;
        }
        None => {
            for reject in extract.rejects.iter().take(REJECTS_SHOWN) {
                writeln!(
                    stderr,
                    "  rejected: {} line {}, column {}, value {:?}: {}",
                    reject.file, reject.line, reject.column, reject.value, reject.reason
                )?;
            }
            if extract.rejects.len() > REJECTS_SHOWN {
                writeln!(
                    stderr,
                    "  ... and {} more: write them all with --rejects FILE",
                    extract.rejects.len() - REJECTS_SHOWN
                )?;
            }
        }
    }
    if args.strict {
        return Err(DataRejected { rows: rejected }.into());
    }
    Ok(())
}

/// The rejects report: one row per rejected line, `;`-separated like every CSV we write.
pub fn rejects_csv(rejects: &[Reject]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer
        .write_record(["file", "line", "column", "value", "reason"])
        .expect("writing to memory");
    for r in rejects {
        writer
            .write_record([
                r.file.as_str(),
                &r.line.to_string(),
                &r.column,
                &r.value,
                &r.reason,
            ])
            .expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}
