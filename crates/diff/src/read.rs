//! Reading one side of a diff with a progress hook: `check::read_all`'s scheduling (one package
//! per core at a time, results in input order) plus a call after each package, so that the
//! binary can show "reading old: 3/40" on a terminal during a long run.
//!
//! It lives here rather than as a hook on `check::read_all` because only `diff` reports
//! progress so far; if `check` wants it too, this belongs there and `read_all` becomes this
//! with a no-op hook.

use debgate_check::{analyze_file, AnalyzedPackage, Settings};
use debgate_reader::ReadError;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Told `(side, done, total)` each time a package of `side` (`old` or `new`) has been read,
/// and once with `done` = 0 before reading starts. Called from reader threads.
pub type Progress<'a> = &'a (dyn Fn(&'static str, usize, usize) + Sync);

/// Read and analyse `files`, in parallel as `check::read_all` does; results keep their order.
pub(crate) fn read_side(
    side: &'static str,
    files: &[PathBuf],
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
    progress: Progress<'_>,
) -> Vec<Result<AnalyzedPackage, ReadError>> {
    let total = files.len();
    progress(side, 0, total);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Threaded xz already uses the cores for one package; don't multiply threads.
    let jobs = if settings.xz_threads > 1 {
        1
    } else {
        cores.min(total).max(1)
    };
    let done = AtomicUsize::new(0);
    let read_one = |f: &PathBuf| {
        let r = analyze_file(f, settings, want);
        progress(side, done.fetch_add(1, Ordering::Relaxed) + 1, total);
        r
    };
    if jobs == 1 {
        return files.iter().map(read_one).collect();
    }
    let next = AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<AnalyzedPackage, ReadError>>> = Vec::new();
    slots.resize_with(total, || None);
    let slots = Mutex::new(slots);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                let r = read_one(f);
                if let Ok(mut s) = slots.lock() {
                    s[i] = Some(r);
                }
            });
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.expect("every file was read by some worker"))
        .collect()
}
