//! Reading both sides of a diff with the pipeline's scheduler, as one pool over all their packages,
//! reporting progress per side so that the binary can show "reading old: 3/40" on a terminal
//! during a long run.

use debgate_pipeline::{read_all_with_progress, AnalyzedPackage, Settings};
use debgate_reader::ReadError;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Told `(side, done, total)` each time a package of `side` (`old` or `new`) has been read,
/// and once per side with `done` = 0 before reading starts. Called from reader threads.
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Sync);

type Read = Vec<Result<AnalyzedPackage, ReadError>>;

/// Read and analyse both sides; each result list keeps its side's order.
///
/// One pool over both sides, not one per side: the scheduler then spends the cores once. A
/// kernel pair (one package a side) on two cores reads each side on its own core with a
/// single-threaded xz decoder, where a pool per side would give each lone package every core
/// for its decoder: twice as many threads as cores, several times the memory, and no faster.
pub(crate) fn read_sides(
    old: &[PathBuf],
    new: &[PathBuf],
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
    progress: Progress<'_>,
) -> (Read, Read) {
    progress("old", 0, old.len());
    progress("new", 0, new.len());
    let all: Vec<PathBuf> = old.iter().chain(new).cloned().collect();
    let (done_old, done_new) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut read = read_all_with_progress(&all, settings, want, &|i| {
        if i < old.len() {
            progress(
                "old",
                done_old.fetch_add(1, Ordering::Relaxed) + 1,
                old.len(),
            )
        } else {
            progress(
                "new",
                done_new.fetch_add(1, Ordering::Relaxed) + 1,
                new.len(),
            )
        }
    });
    let new_read = read.split_off(old.len());
    (read, new_read)
}
