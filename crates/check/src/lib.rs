//! The debgate pipeline: find packages, stream each once, analyse its scripts and end state,
//! judge the set against the rules, and build the reports whose JSON shape is our contract.

pub mod formats;
pub mod inputs;
pub mod inspect;
pub mod report;
pub mod waivers;

pub use inputs::{collect_inputs, InputError};
pub use inspect::{inspect, InspectReport};
pub use report::{CheckReport, CheckResult, PackageSummary, Summary};
pub use waivers::{Date, WaiverErrors, Waivers, DEFAULT_WAIVERS};

use debgate_analyze::effective::EffectiveState;
use debgate_facts::change::Change;
use debgate_facts::Package;
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
pub fn bundled_rules() -> Result<RuleSet, debgate_policy::PolicyErrors> {
    debgate_policy::load_sources(bundled_policies())
}

/// How packages are read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub limits: Limits,
    /// Threads for the xz decoder of one package (1 = single-threaded, least memory).
    pub xz_threads: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            limits: Limits::default(),
            xz_threads: 1,
        }
    }
}

/// One package with what the analyzers found.
#[derive(Debug)]
pub struct AnalyzedPackage {
    pub package: Package,
    pub changes: Vec<Change>,
    pub diagnostics: Vec<debgate_script::Diagnostic>,
    pub state: EffectiveState,
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
    Ok(analyze_package(package))
}

/// Run the script analyzer and compute the effective state of an already-read package.
pub fn analyze_package(package: Package) -> AnalyzedPackage {
    let mut changes = Vec::new();
    let mut diagnostics = Vec::new();
    for script in &package.scripts {
        let a = debgate_script::analyze(script);
        changes.extend(a.changes);
        diagnostics.extend(a.diagnostics);
    }
    let state = EffectiveState::compute(&package, &changes);
    AnalyzedPackage {
        package,
        changes,
        diagnostics,
        state,
    }
}

/// Read and analyse every file, one package per core at a time (decompression is the cost, and
/// it is single-threaded per package unless `xz_threads` says otherwise). Results keep the
/// order of `files`.
pub fn read_all(
    files: &[PathBuf],
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
) -> Vec<Result<AnalyzedPackage, ReadError>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Threaded xz already uses the cores for one package; don't multiply threads.
    let jobs = if settings.xz_threads > 1 {
        1
    } else {
        cores.min(files.len()).max(1)
    };
    if jobs == 1 {
        return files
            .iter()
            .map(|f| analyze_file(f, settings, want))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut slots: Vec<Option<Result<AnalyzedPackage, ReadError>>> = Vec::new();
    slots.resize_with(files.len(), || None);
    let slots = std::sync::Mutex::new(slots);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                let r = analyze_file(f, settings, want);
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
    let results = evaluate(rules, &views);
    CheckReport::new(packages, results)
}
