//! Reading one side of a diff, reporting progress per side so that the binary can show
//! "reading old: 3/40" on a terminal during a long run.

use debgate_check::{read_all_with_progress, AnalyzedPackage, Settings};
use debgate_reader::ReadError;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Told `(side, done, total)` each time a package of `side` (`old` or `new`) has been read,
/// and once with `done` = 0 before reading starts. Called from reader threads.
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Sync);

/// Read and analyse `files` with `check`'s scheduler; results keep their order.
pub(crate) fn read_side(
    side: &'static str,
    files: &[PathBuf],
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
    progress: Progress<'_>,
) -> Vec<Result<AnalyzedPackage, ReadError>> {
    let total = files.len();
    progress(side, 0, total);
    let done = AtomicUsize::new(0);
    read_all_with_progress(files, settings, want, &|| {
        progress(side, done.fetch_add(1, Ordering::Relaxed) + 1, total)
    })
}
