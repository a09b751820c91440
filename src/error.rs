//! Failures that map to their own exit code.

use std::fmt;

/// Rows were rejected: under `--strict` nothing was written; `validate`
/// wrote its report.
#[derive(Debug)]
pub struct DataRejected {
    pub rows: u64,
    pub strict: bool,
}

impl fmt::Display for DataRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = format!(
            "{} row{} rejected",
            self.rows,
            if self.rows == 1 { " was" } else { "s were" }
        );
        if self.strict {
            write!(f, "{rows} and --strict is set: nothing was written (see the rejects listed above, or write them all with --rejects FILE)")
        } else {
            write!(
                f,
                "{rows} (the report lists them by reason; --rejects FILE writes every one)"
            )
        }
    }
}

impl std::error::Error for DataRejected {}

/// The audit found published cells that can be recovered.
#[derive(Debug)]
pub struct Disclosed {
    pub cells: usize,
}

impl fmt::Display for Disclosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} suppressed cell{} can be recovered from the published tables (listed above): do not publish this folder as it is",
            self.cells,
            if self.cells == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for Disclosed {}

pub const EXIT_OK: u8 = 0;
/// Rows rejected under --strict, or a disclosure found by `audit`.
pub const EXIT_DATA_REJECTED: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// The exit code for an error, and whether to stay silent (a closed pipe).
pub fn exit_code(error: &anyhow::Error) -> (u8, bool) {
    if error.downcast_ref::<DataRejected>().is_some() || error.downcast_ref::<Disclosed>().is_some() {
        return (EXIT_DATA_REJECTED, false);
    }
    let broken_pipe = error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        (EXIT_OK, true)
    } else {
        (EXIT_ERROR, false)
    }
}
