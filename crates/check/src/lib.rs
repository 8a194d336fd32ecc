//! The debgate pipeline: find packages, stream each once, analyse its scripts and end state,
//! judge the set against the rules, and build the reports whose JSON shape is our contract.

pub mod builtin;
pub mod cases;
pub mod formats;
pub mod inputs;
pub mod inspect;
pub mod report;
pub mod upload;
pub mod waivers;

pub use builtin::{package_rules, with_builtin_rules, MEMBER_THROUGH_SYMLINK};
/// For `--keyring`: whether a signature verifier is installed, asked once before any upload.
pub use debgate_upload::{SignatureError, Verifier};
pub use inputs::{collect_check_inputs, collect_inputs, InputError};
pub use inspect::{inspect, InspectReport};
pub use report::{CheckReport, CheckResult, PackageSummary, Summary, UploadSummary};
pub use upload::{check_inputs, upload_rules, with_upload_rules, CheckInputs};
pub use waivers::{Date, Waivers, DEFAULT_WAIVERS};

use debgate_analyze::effective::EffectiveState;
use debgate_facts::change::Change;
use debgate_facts::{Package, ScriptName};
use debgate_policy::{evaluate, Analyzed, RuleSet};
use debgate_reader::{read_package, Limits, ReadError, ReadOptions};
use std::path::{Path, PathBuf};

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// The policy files compiled into the binary (`policies/*.toml`).
pub fn bundled_policies() -> &'static [(&'static str, &'static str)] {
    bundled::BUNDLED
}

/// Load the bundled policies.
pub fn bundled_rules() -> Result<RuleSet, debgate_policy::Diagnostics> {
    debgate_policy::load_sources(bundled_policies())
}

/// How packages are read. The default is the default limits and automatic xz threading.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub limits: Limits,
    /// Threads for the xz decoder of one package: 1 = single-threaded (least memory), N = N
    /// threads, 0 = automatic (see [`Settings::plan`]).
    pub xz_threads: u32,
}

impl Settings {
    /// How to spend the cores on `packages` packages: (packages read at once, xz threads per
    /// package). Automatic mode reads one package per core; a lone package gets the cores for
    /// its xz decoder instead, which only helps multi-block streams (what dpkg's threaded xz
    /// writes) and costs memory bounded by the `xz-memlimit` limit.
    pub fn plan(&self, packages: usize) -> (usize, u32) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
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
    /// The view of the package that rules are judged on.
    pub fn view(&self) -> Analyzed<'_> {
        Analyzed {
            package: &self.package,
            changes: &self.changes,
            state: &self.state,
        }
    }
}

/// Read one package, keeping the content of the paths `want` asks for, and analyse it.
pub fn analyze_file(
    path: &Path,
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
) -> Result<AnalyzedPackage, ReadError> {
    let opts = ReadOptions {
        limits: settings.limits.clone(),
        want_content: want,
        xz_threads: settings.xz_threads,
    };
    let package = read_package(path, &opts)?;
    Ok(analyze_package(package, &settings.limits))
}

/// Run the script analyzer and compute the effective state of an already-read package.
pub fn analyze_package(package: Package, limits: &Limits) -> AnalyzedPackage {
    let opts = debgate_script::Options {
        max_paths: limits.max_script_paths,
    };
    let analyses: Vec<(ScriptName, debgate_script::Analysis)> = package
        .scripts
        .iter()
        .map(|s| (s.name, debgate_script::analyze_with(s, &opts)))
        .collect();
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
pub(crate) fn schedule<T: Send>(
    n: usize,
    settings: &Settings,
    job: &(dyn Fn(usize, &Settings) -> T + Sync),
) -> Vec<T> {
    let (jobs, xz_threads) = settings.plan(n);
    let per_package = Settings {
        xz_threads,
        ..settings.clone()
    };
    if jobs <= 1 {
        return (0..n).map(|i| job(i, &per_package)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<T>> = Vec::new();
    slots.resize_with(n, || None);
    let slots = std::sync::Mutex::new(slots);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let r = job(i, &per_package);
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
        .map(|r| r.expect("every job was run by some worker"))
        .collect()
}

/// Check a set of package files against the rules. Unreadable packages are reported in the
/// result (and make the run exit 2); the others are still judged, as one set.
pub fn check(rules: &RuleSet, files: &[PathBuf], settings: &Settings) -> CheckReport {
    let want = |p: &str| rules.wants_content(p);
    let mut analyzed = Vec::new();
    let mut packages = Vec::new();
    for (f, result) in files.iter().zip(read_all(files, settings, &want)) {
        match result {
            Ok(a) => {
                packages.push(PackageSummary::of(&a.package));
                analyzed.push(a);
            }
            Err(e) => packages.push(PackageSummary::failed(f, &e)),
        }
    }
    let views: Vec<Analyzed<'_>> = analyzed
        .iter()
        .map(|a| Analyzed {
            package: &a.package,
            changes: &a.changes,
            state: &a.state,
        })
        .collect();
    let mut results = evaluate(rules, &views);
    results.extend(builtin::package_findings(&analyzed));
    CheckReport::new(packages, results)
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
    }
}
