//! Progress on stderr while packages are read, for every command that reads many (`check`,
//! `diff`): drawn only when stderr is a terminal, whatever the output format, so that a log
//! file, a pipe or a test gets nothing; and cleared before the report is written.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

pub struct Progress {
    bar: ProgressBar,
    /// (done, total) of the old and the new side, for `diff`.
    sides: Mutex<[(usize, usize); 2]>,
}

impl Progress {
    pub fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("reading {msg}") {
            bar.set_style(style);
        }
        Progress {
            bar,
            sides: Mutex::new([(0, 0); 2]),
        }
    }

    /// One set: `done` of `total` packages read (the hook of `check_inputs_with_progress`).
    pub fn tick(&self, done: usize, total: usize) {
        self.bar.set_message(format!("{done}/{total} package(s)"));
    }

    /// Packages of repositories: a bar over their bytes (index sizes), with the rate, the time
    /// left, and how many the facts cache answered.
    pub fn tick_archive(&self, t: debgate_check::archive::Tick) {
        if self.bar.length() != Some(t.total_bytes) {
            self.bar.set_length(t.total_bytes);
            if let Ok(style) = ProgressStyle::with_template(
                "reading {msg} [{bar:24}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left",
            ) {
                self.bar.set_style(style.progress_chars("=> "));
            }
        }
        self.bar.set_position(t.bytes);
        self.bar.set_message(format!(
            "{}/{} package(s), {} from the cache",
            t.done, t.total, t.cached
        ));
    }

    /// Two sides (the hook of `debgate_diff::diff_paths_with_progress`).
    pub fn tick_side(&self, side: &str, done: usize, total: usize) {
        let Ok(mut s) = self.sides.lock() else { return };
        s[usize::from(side == "new")] = (done, total);
        self.bar.set_message(format!(
            "old: {}/{}, new: {}/{} package(s)",
            s[0].0, s[0].1, s[1].0, s[1].1
        ));
    }

    /// Clear the line, so the report or an error starts on a clean one.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
