//! Progress on stderr while packages are read, only when stderr is a terminal.

/// "reading old: 3/40, new: 1/42 package(s)" on stderr while the sides are read, redrawn in
/// place, and only when stderr is a terminal: a log file or a test's pipe gets nothing.
pub struct ReadProgress {
    on: bool,
    /// (done, total) of the old and the new side.
    state: std::sync::Mutex<[(usize, usize); 2]>,
}

impl ReadProgress {
    pub fn new() -> Self {
        use std::io::IsTerminal;
        ReadProgress {
            on: std::io::stderr().is_terminal(),
            state: std::sync::Mutex::new([(0, 0); 2]),
        }
    }

    /// The hook for `debgate_diff::diff_paths_with_progress`.
    pub fn tick(&self, side: &str, done: usize, total: usize) {
        if !self.on {
            return;
        }
        let Ok(mut s) = self.state.lock() else { return };
        s[usize::from(side == "new")] = (done, total);
        // Holding the lock while writing keeps two readers' lines from interleaving.
        eprint!(
            "\r\x1b[Kreading old: {}/{}, new: {}/{} package(s)",
            s[0].0, s[0].1, s[1].0, s[1].1
        );
    }

    /// Clear the line, so the report or an error starts on a clean one.
    pub fn finish(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }
}
