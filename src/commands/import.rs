//! `silp-access import`: validate an extract once and keep a typed Parquet
//! copy that every later command on it reads instead of the CSV files.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::cli::ImportArgs;
use crate::extract::{cache_dir_for, Extract};
use crate::progress::Progress;
use crate::reference::Reference;
use crate::session::{load_options, report_rows};

pub fn run(args: &ImportArgs, stderr: &mut dyn Write, progress: Progress) -> Result<()> {
    let source = &args.extract.source;
    let Some(dir) = &source.extract else {
        bail!("import needs --extract DIR: the embedded sample is small enough to need no cache");
    };
    if source.no_cache {
        bail!("--no-cache does not apply to import, which always reads the CSV files; leave it out");
    }
    let started = Instant::now();
    let reference = Reference::load(source.ref_dir.as_deref())?;
    let cache_dir = cache_dir_for(dir, source.cache.as_deref());
    let imported = Extract::import(dir, &cache_dir, &load_options(source, progress), &reference)?;
    // Under --strict a rejected row stops here: the staged cache is removed
    // and an older one stays as it was.
    report_rows(&imported.extract, &args.extract, stderr)?;
    imported.write_cache(&reference)?;
    writeln!(
        stderr,
        "Parquet cache written to {} in {:.1} s; commands on {} now read it while the CSV files stay unchanged",
        cache_dir.display(),
        started.elapsed().as_secs_f64(),
        dir.display()
    )?;
    Ok(())
}
