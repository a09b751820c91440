//! `silp-access pseudonymise`: rewrite an extract with `id_lav` replaced by
//! its keyed HMAC, in the canonical dialect. The key and the original
//! identifiers are never written or printed.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::PseudonymiseArgs;
use crate::extract::schema::ALL_FILES;
use crate::extract::{prepare_path, EncodingChoice};
use crate::link::PERSON_ID;
use crate::output::{cannot_write, AtomicFile};
use crate::progress::Progress;
use crate::pseudonym::Pseudonymiser;

pub fn run(args: &PseudonymiseArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let pseudonymiser = Pseudonymiser::from_key_file(&args.key_file)?;
    if args.input.canonicalize().ok() == args.out.canonicalize().ok() {
        bail!("--out must differ from --in: the original extract is never overwritten");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    // Every file is complete before any is put in place: a failure halfway
    // leaves the previous output whole.
    let mut written = Vec::new();
    for spec in ALL_FILES {
        let source = args.input.join(spec.name);
        if !source.exists() {
            if spec.required {
                bail!("{}: required file {} is missing", args.input.display(), spec.name);
            }
            continue;
        }
        let _step = progress.step(format!("pseudonymising {}", spec.name));
        let mut target = AtomicFile::create(&args.out.join(spec.name))?;
        let rows = rewrite(&source, &mut target, args.encoding, &pseudonymiser)?;
        writeln!(stderr, "{}: {rows} rows, {PERSON_ID} pseudonymised", spec.name)?;
        written.push(target);
    }
    for source in &args.link {
        let Some(name) = source.file_name() else {
            bail!("--link {}: not a file", source.display());
        };
        if ALL_FILES.iter().any(|spec| spec.name == name) {
            bail!(
                "--link {}: a linked file cannot share a name with a file of the extract; rename it (and its declaration)",
                source.display()
            );
        }
        let declaration = crate::link::declaration_path(source);
        let declared = std::fs::read(&declaration).with_context(|| {
            format!(
                "--link {}: cannot read its declaration {}, which is copied with it; write it beside the file (see docs/contracts/linked.md)",
                source.display(),
                declaration.display()
            )
        })?;
        let _step = progress.step(format!("pseudonymising {}", source.display()));
        let target_path = args.out.join(name);
        let mut target = AtomicFile::create(&target_path)?;
        let rows = rewrite(source, &mut target, args.encoding, &pseudonymiser)?;
        writeln!(
            stderr,
            "{}: {rows} rows, {PERSON_ID} pseudonymised",
            name.to_string_lossy()
        )?;
        written.push(target);
        let declaration_target = crate::link::declaration_path(&target_path);
        let mut copy = AtomicFile::create(&declaration_target)?;
        copy.write_all(&declared)
            .with_context(|| cannot_write(&declaration_target))?;
        written.push(copy);
    }
    for target in written {
        target.commit()?;
    }
    Ok(())
}

fn rewrite(
    source: &Path,
    target: &mut AtomicFile,
    encoding: EncodingChoice,
    pseudonymiser: &Pseudonymiser,
) -> Result<u64> {
    let prepared = prepare_path(source, encoding)?;
    let name = source.display();
    let Some(id_column) = prepared.header.iter().position(|h| h == PERSON_ID) else {
        bail!(
            "{name}: no {PERSON_ID} column; the header has: {}",
            prepared.header.join(", ")
        );
    };
    let body = &prepared.bytes.as_ref()[prepared.body_start..];
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(prepared.separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let cannot = cannot_write(target.path());
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::Any(b'\n'))
        .flexible(true)
        .from_writer(target);
    writer.write_record(&prepared.header).context(cannot.clone())?;
    let mut rows = 0;
    let mut record = csv::StringRecord::new();
    loop {
        // Errors name the line but never echo its content: it may hold a codice fiscale.
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => bail!("{name}, line {}: not readable as CSV (check quotes)", rows + 2),
        }
        rows += 1;
        let fields = record.iter().enumerate().map(|(i, field)| {
            let field = field.trim_end_matches('\r');
            if i == id_column && !field.trim().is_empty() {
                pseudonymiser.pseudonym(field)
            } else {
                field.to_string()
            }
        });
        writer
            .write_record(fields.collect::<Vec<_>>())
            .with_context(|| cannot.clone())?;
    }
    writer.flush().context(cannot)?;
    Ok(rows)
}
