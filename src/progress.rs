//! Progress on long steps (reading, validating, importing, writing a report),
//! drawn on stderr only when it is a terminal and `--quiet` is not given, so
//! scheduled jobs and pipes get the same bytes as before.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Hidden by default: library callers (and tests) draw nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            visible: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// A step of unknown length: a spinner with the time spent so far.
    pub fn step(&self, message: impl Into<Cow<'static, str>>) -> Step {
        let bar = self.bar(ProgressBar::new_spinner(), "{spinner} {msg} ({elapsed})");
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        Step { bar }
    }

    /// A step of `total` units, advanced as they are done.
    pub fn counted(&self, message: impl Into<Cow<'static, str>>, total: u64) -> Step {
        let bar = self.bar(
            ProgressBar::new(total),
            "{msg} [{bar:30}] {human_pos}/{human_len} ({elapsed}, {eta} left)",
        );
        bar.set_message(message);
        Step { bar }
    }

    fn bar(&self, bar: ProgressBar, template: &str) -> ProgressBar {
        if !self.visible {
            return ProgressBar::hidden();
        }
        let style = ProgressStyle::with_template(template)
            .expect("the templates above are valid")
            .progress_chars("=> ");
        let bar = bar.with_style(style);
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar
    }
}

/// A step in progress; its line disappears when it is dropped.
pub struct Step {
    bar: ProgressBar,
}

impl Step {
    pub fn advance(&self, units: u64) {
        self.bar.inc(units);
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
