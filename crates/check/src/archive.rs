//! `debgate check --archive SPEC`: the packages of an apt repository, each read through its
//! index entry's size and SHA-256 check as it streams into the reader, judged as one set. A
//! repository whose chain does not verify stops the run, as apt stops; a package whose bytes
//! are not what the index says is that package's error, and the others are still judged.

use crate::report::{CheckReport, PackageSummary};
use crate::Verifier;
use debgate_archive::local::{open, Options, Suite, Trust};
use debgate_archive::source::load;
use debgate_pipeline::{analyze_reader, schedule, AnalyzedPackage, Settings};
use debgate_policy::RuleSet;
use std::path::{Path, PathBuf};

/// What `--archive` was given.
pub struct ArchiveArgs<'a> {
    /// apt's one-line sources, or `.list` / `.sources` files.
    pub specs: &'a [String],
    /// The archive keyring when a source has no `signed-by=`.
    pub keyring: Option<&'a Path>,
    /// `--package GLOB`: only the packages whose name one of these matches; all when empty.
    pub packages: &'a [String],
}

/// A checked repository run: the report, and what the user must be told once (a repository
/// read unverified).
pub struct ArchiveCheck {
    pub report: CheckReport,
    pub notices: Vec<String>,
}

/// Check every selected package of the repositories. `Err` is why no run can happen (a bad
/// SPEC, a chain that does not verify): exit 2, as apt stops.
pub fn check_archives(
    rules: &RuleSet,
    args: &ArchiveArgs<'_>,
    settings: &Settings,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<ArchiveCheck, String> {
    let mut globs = globset::GlobSetBuilder::new();
    for g in args.packages {
        globs.add(globset::Glob::new(g).map_err(|e| format!("--package {g}: {e}"))?);
    }
    let globs = globs.build().map_err(|e| e.to_string())?;
    let verifier = Verifier::find();
    let mut suites: Vec<Suite> = Vec::new();
    let mut notices = Vec::new();
    for spec in args.specs {
        for source in load(spec).map_err(|e| format!("--archive {spec}: {e}"))? {
            let opts = Options::new(args.keyring, verifier.as_ref(), chrono::Utc::now());
            let suite = open(&source, &opts).map_err(|e| e.to_string())?;
            if suite.trust == Trust::Unverified {
                notices.push(format!(
                    "{}: trusted=yes: nothing in this repository was verified (no signature, no index or package hash is trusted)",
                    source.label()
                ));
            }
            suites.push(suite);
        }
    }
    let mut packages = Vec::new();
    let mut wanted = Vec::new();
    for (s, suite) in suites.iter().enumerate() {
        for index in &suite.indexes {
            for entry in index.entries() {
                match entry {
                    Ok(e) if args.packages.is_empty() || globs.is_match(&e.package) => {
                        wanted.push((s, e))
                    }
                    Ok(_) => {}
                    Err(e) => packages.push(PackageSummary::failed(
                        &suite.root.join("dists").join(&index.path),
                        &e,
                    )),
                }
            }
        }
    }
    let want = |p: &str| rules.wants_content(p);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let read = schedule(wanted.len(), settings, &|i, per_package| {
        let (s, e) = &wanted[i];
        let suite = &suites[*s];
        let label: PathBuf = suite.root.join(&e.filename);
        let result = suite
            .open_package(e)
            .map_err(|err| err.to_string())
            .and_then(|mut input| {
                let analysed = analyze_reader(&label, &mut input, per_package, &want)
                    .map_err(|err| err.to_string())?;
                // The facts count only if the bytes were the index's: otherwise the package
                // is this error, never judged.
                input
                    .finish(&e.sha256)
                    .map_err(|m| format!("not the package Packages lists: {m}"))?;
                Ok(analysed)
            });
        progress(
            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
            wanted.len(),
        );
        (label, result)
    });
    let mut analyzed: Vec<AnalyzedPackage> = Vec::new();
    for (label, result) in read {
        match result {
            Ok(a) => {
                packages.push(PackageSummary::of(&a.package));
                analyzed.push(a);
            }
            Err(e) => packages.push(PackageSummary::failed(&label, &e)),
        }
    }
    Ok(ArchiveCheck {
        report: CheckReport::new(packages, crate::findings(rules, &analyzed)),
        notices,
    })
}
