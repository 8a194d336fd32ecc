//! The pipeline that `check`, `diff` and upload checking share: which files to read
//! ([`inputs`]), how to spend the cores on them ([`Settings::plan`], [`schedule`]), and reading
//! and analysing each package once ([`analyze_file`], [`read_all`]) into an [`AnalyzedPackage`]
//! that the policies judge through [`AnalyzedPackage::view`]. With a facts cache
//! ([`analyze_cached`], [`analyze_file_cached`]) a package seen before is neither read, decoded
//! nor its scripts analysed: its facts and analyses come from the cache and only the effective
//! state is computed again. It knows nothing of
//! reports, uploads, archives or output formats, so a consumer such as `diff` links none of
//! them.

pub mod candidates;
pub mod inputs;

pub use debgate_cache::{Cache, CacheError, CacheLimits, GcReport, Key, Stats as CacheStats};
pub use inputs::{collect_check_inputs, collect_inputs, CheckInputs, InputError};

use debgate_analyze::effective::EffectiveState;
use debgate_facts::change::Change;
use debgate_facts::{Package, ScriptName};
use debgate_policy::Analyzed;
use debgate_reader::{Limits, ReadError, ReadOptions, ScriptTargets};
use std::path::{Path, PathBuf};

/// How packages are read. The default is the default limits and automatic xz threading.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub limits: Limits,
    /// Threads for the xz decoder of one package: 1 = single-threaded (least memory), N = N
    /// threads, 0 = automatic (see [`Settings::plan`]).
    pub xz_threads: u32,
    /// Keep `md5sums` and hash the bytes of privileged files, conffiles and script targets as
    /// they stream by (`Package::digests`): what `diff` compares content by. Off for `check`.
    pub digests: bool,
    /// Packages read at once (`--jobs`): 0 = one per core. Each bounds a decoder, and for a
    /// repository a download, so this is also what a run may hold in memory at once.
    pub jobs: usize,
}

impl Settings {
    /// How to spend the cores on `packages` packages: (packages read at once, xz threads per
    /// package). Automatic mode reads one package per core; a lone package gets the cores for
    /// its xz decoder instead, which only helps multi-block streams (what dpkg's threaded xz
    /// writes) and costs memory bounded by the `xz-memlimit` limit.
    pub fn plan(&self, packages: usize) -> (usize, u32) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if self.jobs > 0 {
            // Asked for: that many packages at once, each with the decoder threads asked for
            // (automatic is single-threaded here, so that `--jobs` alone bounds the threads).
            return (self.jobs.min(packages).max(1), self.xz_threads.max(1));
        }
        match self.xz_threads {
            0 if packages <= 1 => (1, u32::try_from(cores).unwrap_or(1).max(1)),
            0 | 1 => (cores.min(packages).max(1), 1),
            // Threaded xz already uses the cores for one package; don't multiply threads.
            n => (1, n),
        }
    }
}

/// One package with what the analyzers found.
#[derive(Debug)]
pub struct AnalyzedPackage {
    pub package: Package,
    /// Every script's changes, in script order (for reports and evidence).
    pub changes: Vec<Change>,
    pub diagnostics: Vec<debgate_script::Diagnostic>,
    /// Each script's analysis, whose runs and paths the effective state is computed from.
    pub analyses: Vec<(ScriptName, debgate_script::Analysis)>,
    pub state: EffectiveState,
}

impl AnalyzedPackage {
    /// The package as the policies see it: the one way to hand it to `policy::evaluate`.
    pub fn view(&self) -> Analyzed<'_> {
        Analyzed {
            package: &self.package,
            changes: &self.changes,
            state: &self.state,
        }
    }
}

/// The path that names standard input: `debgate check -` reads one package from it.
pub const STDIN: &str = "-";

/// Read one package, keeping the content of the paths `want` asks for, and analyse it.
pub fn analyze_file(
    path: &Path,
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
) -> Result<AnalyzedPackage, ReadError> {
    if path == Path::new(STDIN) {
        // One package streamed from standard input, read as any file is (nothing buffered
        // whole, nothing written).
        return analyze_reader(path, std::io::stdin().lock(), settings, want);
    }
    let file = debgate_reader::open_package(path, true)?;
    analyze_reader(path, file, settings, want)
}

/// [`analyze_file`] for a package streamed from `input` (a repository's package through its
/// hash check, standard input); `label` names it in the result and in messages.
pub fn analyze_reader(
    label: &Path,
    input: impl std::io::Read,
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
) -> Result<AnalyzedPackage, ReadError> {
    // The scripts are analysed as soon as control.tar has been read, so that the reader knows
    // which files they may grant a privilege to before data.tar streams by; the analysis is
    // kept and used below, not run twice.
    let early: std::sync::Mutex<Option<Vec<(ScriptName, debgate_script::Analysis)>>> =
        std::sync::Mutex::new(None);
    let targets_of = |scripts: &[debgate_facts::Script]| {
        let analyses = analyze_scripts(scripts, &settings.limits);
        let targets = script_targets(&analyses);
        if let Ok(mut slot) = early.lock() {
            *slot = Some(analyses);
        }
        targets
    };
    let opts = ReadOptions {
        limits: settings.limits.clone(),
        want_content: want,
        xz_threads: settings.xz_threads,
        digests: settings
            .digests
            .then_some(&targets_of as debgate_reader::TargetsOf<'_>),
    };
    let package = debgate_reader::read_package_from(
        label.to_path_buf(),
        std::io::BufReader::with_capacity(64 * 1024, input),
        &opts,
    )?;
    let analyses = early.into_inner().ok().flatten();
    Ok(match analyses {
        Some(a) => analyzed(package, a),
        None => analyze_package(package, &settings.limits),
    })
}

fn analyze_scripts(
    scripts: &[debgate_facts::Script],
    limits: &Limits,
) -> Vec<(ScriptName, debgate_script::Analysis)> {
    let opts = debgate_script::Options {
        max_paths: limits.max_script_paths,
        ..debgate_script::Options::default()
    };
    scripts
        .iter()
        .map(|s| (s.name, debgate_script::analyze_with(s, &opts)))
        .collect()
}

/// The files the scripts' changes may grant a privilege to (see
/// [`debgate_analyze::privileges::may_grant`]); any file when such a change's target is
/// unknown.
fn script_targets(analyses: &[(ScriptName, debgate_script::Analysis)]) -> ScriptTargets {
    let mut out = ScriptTargets {
        // A part of a script the analyzer cannot follow may grant anything to any file.
        unknown: analyses.iter().any(|(_, a)| a.blind().next().is_some()),
        ..ScriptTargets::default()
    };
    for c in analyses.iter().flat_map(|(_, a)| &a.changes) {
        if !debgate_analyze::privileges::may_grant(&c.action) {
            continue;
        }
        match c.target.path() {
            Some(p) => out.paths.push((p.to_string(), c.recursive)),
            None => out.unknown = true,
        }
    }
    out
}

/// Run the script analyzer and compute the effective state of an already-read package.
pub fn analyze_package(package: Package, limits: &Limits) -> AnalyzedPackage {
    let analyses = analyze_scripts(&package.scripts, limits);
    analyzed(package, analyses)
}

/// The one place an [`AnalyzedPackage`] is built, after a fresh read and from the cache alike,
/// so that the effective state is computed the same way from the same analyses.
fn analyzed(
    package: Package,
    analyses: Vec<(ScriptName, debgate_script::Analysis)>,
) -> AnalyzedPackage {
    let views: Vec<(ScriptName, &debgate_script::Analysis)> =
        analyses.iter().map(|(n, a)| (*n, a)).collect();
    let state = EffectiveState::compute(&package, &views);
    let changes = analyses
        .iter()
        .flat_map(|(_, a)| a.changes.iter().cloned())
        .collect();
    let diagnostics = analyses
        .iter()
        .flat_map(|(_, a)| a.diagnostics.iter().cloned())
        .collect();
    AnalyzedPackage {
        package,
        changes,
        diagnostics,
        analyses,
        state,
    }
}

/// How a package's facts were had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    /// From the facts cache: nothing was read or decoded.
    Hit,
    /// Read from the package (and stored, unless storing failed: see [`Cache::stats`]).
    Miss,
    /// Read from the package, with no cache (none given, or standard input).
    Off,
}

/// The key of the package whose bytes have `sha256`, read with `settings` (its limits and
/// whether digests are read) keeping the content `wants` describes: what
/// `RuleSet::content_fingerprint` gives, with whatever else the caller's content predicate
/// asks for appended (`diff` asks for more than the rules). The limits bound the script
/// analysis too (`max_script_paths`), and the key names the analyzer's format
/// ([`debgate_script::ANALYSIS_FORMAT`]), so stored analyses are the ones this build would
/// make.
pub fn cache_key(sha256: [u8; 32], settings: &Settings, wants: &str) -> Key {
    Key::new(sha256)
        .limits(&settings.limits)
        .digests(settings.digests)
        .wants(wants)
}

/// The package `key` names, analysed, from `cache`: `None` on a miss. Its facts and script
/// analyses are the ones stored (the entry was checked to hold one analysis per script of the
/// package); `label` names it (the path the facts were first read from may be another
/// mirror's). A lookup that fails is a miss, counted in the cache's stats.
fn lookup(cache: &Cache, key: &Key, label: &Path) -> Option<AnalyzedPackage> {
    let mut facts = cache.get(key).ok().flatten()?;
    facts.package.file = label.to_path_buf();
    Some(analyzed(facts.package, facts.analyses))
}

/// Store `analyzed`'s facts and script analyses under `key`. A failed store is counted in the
/// cache's stats (a front end reports them once), never a failure of the package.
fn store(cache: &Cache, key: &Key, analyzed: &AnalyzedPackage) {
    let package = &analyzed.package;
    let analyses = &analyzed.analyses;
    if package.file.to_str().is_none() {
        // JSON holds no path that is not UTF-8, and a hit takes the caller's label anyway: store
        // a copy under a lossy one rather than nothing.
        let lossy = Package {
            file: package.file.to_string_lossy().into_owned().into(),
            ..package.clone()
        };
        let _ = cache.put(key, &lossy, analyses);
        return;
    }
    let _ = cache.put(key, package, analyses);
}

/// One package through the facts cache: on a hit, the stored facts and script analyses (the
/// effective state is computed again from them, as after a read) labelled `label`; on a miss, `open()` reads the package, and its facts are
/// stored. `open` must give `Ok` only for the facts of the very bytes whose SHA-256 is in `key`
/// (an archive's package verified against its index, say); its errors are passed on, and
/// nothing is stored for them. With no cache or no key, `open()` is all there is.
pub fn analyze_cached<E>(
    cache: Option<&Cache>,
    key: Option<&Key>,
    label: &Path,
    open: impl FnOnce() -> Result<AnalyzedPackage, E>,
) -> Result<(AnalyzedPackage, Cached), E> {
    let (Some(cache), Some(key)) = (cache, key) else {
        return open().map(|a| (a, Cached::Off));
    };
    if let Some(analyzed) = lookup(cache, key, label) {
        return Ok((analyzed, Cached::Hit));
    }
    let analyzed = open()?;
    store(cache, key, &analyzed);
    Ok((analyzed, Cached::Miss))
}

/// [`analyze_file`] through the facts cache, for a package file on disk: the file is hashed
/// for its key (a read far cheaper than decoding), and on a miss hashed again as it is read,
/// so that facts are stored only for the bytes the key names, even if the file changes in
/// between. Standard input, and no cache, read as [`analyze_file`] does.
pub fn analyze_file_cached(
    path: &Path,
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
    cache: Option<&Cache>,
    wants: &str,
) -> Result<(AnalyzedPackage, Cached), ReadError> {
    let Some(cache) = cache.filter(|_| path != Path::new(STDIN)) else {
        return analyze_file(path, settings, want).map(|a| (a, Cached::Off));
    };
    let mut file = debgate_reader::open_package(path, true)?;
    let sha256 = debgate_cache::sha256_of(&mut file).map_err(ReadError::Io)?;
    let key = cache_key(sha256, settings, wants);
    if let Some(analyzed) = lookup(cache, &key, path) {
        return Ok((analyzed, Cached::Hit));
    }
    use std::io::Seek;
    file.rewind().map_err(ReadError::Io)?;
    let mut input = debgate_cache::HashingReader::new(file);
    let analyzed = analyze_reader(path, &mut input, settings, want)?;
    // Bytes other than the ones hashed for the key (the file changed meanwhile) are this
    // run's facts, but not the key's: not stored.
    if input.finish().is_ok_and(|read| read == sha256) {
        store(cache, &key, &analyzed);
    }
    Ok((analyzed, Cached::Miss))
}

/// [`read_all`] through the facts cache ([`analyze_file_cached`] for each file).
pub fn read_all_cached(
    files: &[PathBuf],
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
    cache: Option<&Cache>,
    wants: &str,
    done: &(dyn Fn(usize) + Sync),
) -> Vec<Result<(AnalyzedPackage, Cached), ReadError>> {
    schedule(files.len(), settings, &|i, per_package| {
        let r = analyze_file_cached(&files[i], per_package, want, cache, wants);
        done(i);
        r
    })
}

/// Read and analyse every file. Results keep the order of `files`.
pub fn read_all(
    files: &[PathBuf],
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
) -> Vec<Result<AnalyzedPackage, ReadError>> {
    read_all_with_progress(files, settings, want, &|_| {})
}

/// [`read_all`], calling `done(i)` (from a reader thread) after package `files[i]`, so a
/// front end can show progress on long runs. Decompression is the cost: packages are spread
/// over the cores as [`Settings::plan`] says.
pub fn read_all_with_progress(
    files: &[PathBuf],
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
    done: &(dyn Fn(usize) + Sync),
) -> Vec<Result<AnalyzedPackage, ReadError>> {
    schedule(files.len(), settings, &|i, per_package| {
        let r = analyze_file(&files[i], per_package, want);
        done(i);
        r
    })
}

/// Run `job(i, settings)` for every `i` in `0..n`, spread over the cores as [`Settings::plan`]
/// says (`settings` as handed to each job carries the per-package xz thread count). Results
/// keep the order of `i`.
pub fn schedule<T: Send>(
    n: usize,
    settings: &Settings,
    job: &(dyn Fn(usize, &Settings) -> T + Sync),
) -> Vec<T> {
    let mut slots: Vec<Option<T>> = Vec::new();
    slots.resize_with(n, || None);
    let slots = std::sync::Mutex::new(slots);
    schedule_each(n, settings, job, &|i, r| {
        if let Ok(mut s) = slots.lock() {
            s[i] = Some(r);
        }
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.expect("every job was run by some worker"))
        .collect()
}

/// [`schedule`], handing each result to `sink(i, result)` as soon as it is ready (in the order
/// jobs finish, one call at a time) instead of keeping them: what a run over a whole archive
/// streams its output through, so that memory does not grow with the number of packages.
pub fn schedule_each<T: Send>(
    n: usize,
    settings: &Settings,
    job: &(dyn Fn(usize, &Settings) -> T + Sync),
    sink: &(dyn Fn(usize, T) + Sync),
) {
    let (jobs, xz_threads) = settings.plan(n);
    let per_package = Settings {
        xz_threads,
        ..settings.clone()
    };
    if jobs <= 1 {
        for i in 0..n {
            sink(i, job(i, &per_package));
        }
        return;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    // One result handed on at a time, so a sink writing lines never interleaves two.
    let one_at_a_time = std::sync::Mutex::new(());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = job(i, &per_package);
                let _turn = one_at_a_time.lock();
                sink(i, r);
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_spends_the_cores_once() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let auto = Settings::default();
        assert_eq!(
            auto.plan(1),
            (1, cores as u32),
            "a lone package gets every core for xz"
        );
        assert_eq!(
            auto.plan(5),
            (cores.min(5), 1),
            "several packages: one per core"
        );
        let single = Settings {
            xz_threads: 1,
            ..Settings::default()
        };
        assert_eq!(single.plan(1), (1, 1));
        let two = Settings {
            xz_threads: 2,
            ..Settings::default()
        };
        assert_eq!(
            two.plan(5),
            (1, 2),
            "threaded xz is not multiplied by parallel packages"
        );
        let jobs = |jobs, xz_threads| Settings {
            jobs,
            xz_threads,
            ..Settings::default()
        };
        assert_eq!(
            jobs(1, 0).plan(5),
            (1, 1),
            "--jobs 1: one package, one thread"
        );
        assert_eq!(jobs(3, 0).plan(5), (3, 1));
        assert_eq!(
            jobs(3, 0).plan(2),
            (2, 1),
            "never more workers than packages"
        );
        assert_eq!(jobs(2, 2).plan(5), (2, 2), "both asked for: both given");
    }
}
