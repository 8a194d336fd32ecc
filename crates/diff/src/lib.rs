//! `debgate diff`: what changed between two sets of packages (two releases, two pools, two
//! builds). Each side is streamed once; packages are paired by name or by a `[[pairing]]` rule;
//! each pair is compared on control data, files, metadata, captured text, kernel config and
//! privileges after maintainer scripts; the whole sets are compared on effective sysctl values
//! and policy verdicts.
//!
//! This crate builds the [`DiffReport`]; rendering it (text, markdown, JSON, HTML) is the
//! binary's job, so a new format never touches the comparison.

mod changelog;
mod content;
mod package;
mod pair;
mod read;
pub mod report;
mod set;
mod sides;

pub use changelog::{is_changelog_path, MAX_CHANGELOG_TEXT};
/// A changelog's CVE, bug and Launchpad references, as the report lists them.
pub use debgate_changelog::{RefKind, Reference};
pub use read::Progress;
pub use report::*;
pub use sides::{diff_sides, SetSource};

use debgate_analyze::{kconfig, sysctl};
use debgate_facts::Package;
use debgate_pipeline::{collect_inputs, AnalyzedPackage, InputError, Settings};
use debgate_policy::RuleSet;
use debgate_reader::ReadOptions;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a diff could not start (unreadable packages don't stop it: they are in the report).
#[derive(Debug, Error)]
pub enum DiffError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("no .deb found in {0}")]
    Empty(String),
    /// A side's repository whose chain does not verify, or a bad SPEC: no diff, as apt stops.
    #[error("{0}")]
    Archive(String),
}

/// Should the reader keep this data.tar file's content for a diff?
///
/// Rule-named paths, sysctl.d files and kernel configs, as for `check`, plus every file under
/// `/etc/`. The extra `/etc/` is how conffiles are covered: the reader's predicate sees only a
/// path, and making it aware of control.tar's conffiles list would mean a second reader API for
/// one consumer. Debian policy puts configuration under `/etc` (lintian flags conffiles
/// elsewhere), `/etc` is small in every package, and each capture is capped by
/// `max-content-bytes`, so the extra memory is bounded and slight. The changelogs
/// ([`is_changelog_path`]) are kept for the entries between the versions.
pub fn wants_content(rules: &RuleSet, path: &str) -> bool {
    rules.wants_content(path)
        || sysctl::is_sysctl_path(path)
        || kconfig::is_kconfig_path(path)
        || path.starts_with("/etc/")
        || is_changelog_path(path)
}

/// Expand both sides (`.deb` files or directories of them) and diff them.
pub fn diff_paths(
    rules: &RuleSet,
    old: &Path,
    new: &Path,
    settings: &Settings,
) -> Result<DiffReport, DiffError> {
    diff_paths_with_progress(rules, old, new, settings, &|_, _, _| {})
}

/// [`diff_paths`], telling `progress` as each package is read.
pub fn diff_paths_with_progress(
    rules: &RuleSet,
    old: &Path,
    new: &Path,
    settings: &Settings,
    progress: Progress<'_>,
) -> Result<DiffReport, DiffError> {
    let expand = |p: &Path| -> Result<Vec<PathBuf>, DiffError> {
        let files = collect_inputs(&[p.to_path_buf()])?;
        if files.is_empty() {
            return Err(DiffError::Empty(p.display().to_string()));
        }
        Ok(files)
    };
    let old_files = expand(old)?;
    let new_files = expand(new)?;
    Ok(diff_files_with_progress(
        rules,
        (&old.display().to_string(), &old_files),
        (&new.display().to_string(), &new_files),
        settings,
        progress,
    ))
}

/// Diff two lists of package files, each side labelled as the user named it.
pub fn diff_files(
    rules: &RuleSet,
    old: (&str, &[PathBuf]),
    new: (&str, &[PathBuf]),
    settings: &Settings,
) -> DiffReport {
    diff_files_with_progress(rules, old, new, settings, &|_, _, _| {})
}

/// [`diff_files`], telling `progress` as each package is read.
pub fn diff_files_with_progress(
    rules: &RuleSet,
    old: (&str, &[PathBuf]),
    new: (&str, &[PathBuf]),
    settings: &Settings,
    progress: Progress<'_>,
) -> DiffReport {
    let want = |p: &str| wants_content(rules, p);
    // Content is compared by md5sums and by hashing privileged files as they stream by.
    let settings = &Settings {
        digests: true,
        ..settings.clone()
    };
    // Both sides in one pool, so that a side with fewer packages than cores (a kernel pair,
    // say) still keeps every core busy, and threads never outnumber cores.
    let (old_read, new_read) = read::read_sides(old.1, new.1, settings, &want, progress);
    let mut errors = Vec::new();
    let mut split =
        |side: &'static str,
         files: &[PathBuf],
         read: Vec<Result<AnalyzedPackage, debgate_reader::ReadError>>| {
            let mut ok: Vec<AnalyzedPackage> = Vec::new();
            for (f, r) in files.iter().zip(read) {
                match r {
                    Ok(a) => ok.push(a),
                    Err(e) => errors.push(PackageError {
                        side,
                        file: f.display().to_string(),
                        error: e.to_string(),
                    }),
                }
            }
            ok
        };
    let old_pkgs = split("old", old.1, old_read);
    let new_pkgs = split("new", new.1, new_read);
    diff_analyzed(
        rules,
        (old.0, &old_pkgs),
        (new.0, &new_pkgs),
        errors,
        settings,
    )
}

/// How a package is read again (its label, the options): `diff` reads a package a second time
/// to hash a file privileged on the other side only. [`read_again`] reads a file; a package of a
/// repository is read through its index entry's check again.
pub type Reread<'a> = &'a (dyn Fn(&Path, &ReadOptions<'_>) -> Result<Package, String> + Sync);

/// [`Reread`] for packages read from files.
pub fn read_again(path: &Path, opts: &ReadOptions<'_>) -> Result<Package, String> {
    debgate_reader::read_package(path, opts).map_err(|e| e.to_string())
}

/// Diff two sets of already-analysed packages (read with `settings`, whose content cap the
/// changelog notes name), read from files.
pub fn diff_analyzed<'a>(
    rules: &RuleSet,
    old: (&str, &'a [AnalyzedPackage]),
    new: (&str, &'a [AnalyzedPackage]),
    errors: Vec<PackageError>,
    settings: &Settings,
) -> DiffReport {
    diff_analyzed_with(rules, old, new, errors, settings, &read_again)
}

/// [`diff_analyzed`] for packages that `reread` reads again.
pub fn diff_analyzed_with<'a>(
    rules: &RuleSet,
    old: (&str, &'a [AnalyzedPackage]),
    new: (&str, &'a [AnalyzedPackage]),
    errors: Vec<PackageError>,
    settings: &Settings,
    reread: Reread<'_>,
) -> DiffReport {
    let pairing = pair::pair(rules, old.1, new.1);
    let named_options = rules.kconfig_options();
    let new_all: Vec<&AnalyzedPackage> = new.1.iter().collect();
    let docs = changelog::Docs::of(&new_all);
    let cx = package::PairContext {
        named_options: &named_options,
        docs: &docs,
        content_cap: settings.limits.max_content_bytes,
        settings,
        reread,
    };
    let mut pairs: Vec<PairDiff> = pairing
        .pairs
        .iter()
        .map(|p| package::diff_pair(&old.1[p.old], &new.1[p.new], p, &cx))
        .collect();
    pairs.sort_by(|a, b| a.package.cmp(&b.package));
    let added = sorted_refs(pairing.added.iter().map(|&i| &new.1[i]));
    let removed = sorted_refs(pairing.removed.iter().map(|&i| &old.1[i]));
    let mut duplicates: Vec<Duplicate> = Vec::new();
    for (side, dups, pkgs) in [
        ("old", &pairing.duplicate_old, old.1),
        ("new", &pairing.duplicate_new, new.1),
    ] {
        for &(copy, kept) in dups {
            duplicates.push(Duplicate {
                side,
                copy: package_ref(&pkgs[copy]),
                compared: package_ref(&pkgs[kept]),
            });
        }
    }
    // Each side as apt would install it: an extra copy of a package is left out of the set.
    let candidates =
        |pkgs: &'a [AnalyzedPackage], dups: &[(usize, usize)]| -> Vec<&'a AnalyzedPackage> {
            pkgs.iter()
                .enumerate()
                .filter(|(i, _)| !dups.iter().any(|(copy, _)| copy == i))
                .map(|(_, a)| a)
                .collect()
        };
    let (old_set, new_set) = (
        candidates(old.1, &pairing.duplicate_old),
        candidates(new.1, &pairing.duplicate_new),
    );
    let mut escalations: Vec<PrivilegeStep> =
        pairs.iter().flat_map(|p| p.escalations.clone()).collect();
    let mut reductions: Vec<PrivilegeStep> =
        pairs.iter().flat_map(|p| p.reductions.clone()).collect();
    let mut added_idx = pairing.added.clone();
    added_idx.sort_by(|a, b| new.1[*a].package.name().cmp(new.1[*b].package.name()));
    for i in added_idx {
        escalations.extend(package::steps(&new.1[i], None, &|_| None, true));
    }
    let mut removed_idx = pairing.removed.clone();
    removed_idx.sort_by(|a, b| old.1[*a].package.name().cmp(old.1[*b].package.name()));
    for i in removed_idx {
        reductions.extend(package::steps(&old.1[i], None, &|_| None, false));
    }
    let security_content: Vec<SecurityContent> = pairs
        .iter()
        .flat_map(|p| {
            p.content_changes
                .changed
                .iter()
                .filter(|c| c.security)
                .map(|c| SecurityContent {
                    package: p.package.clone(),
                    old_version: p.old_version.clone(),
                    new_version: p.new_version.clone(),
                    change: c.clone(),
                })
        })
        .collect();
    let cves_of = |p: &PairDiff| -> Vec<String> {
        p.references
            .iter()
            .filter(|r| r.kind == debgate_changelog::RefKind::Cve)
            .map(|r| r.id.clone())
            .collect()
    };
    let cves: Vec<String> = pairs
        .iter()
        .flat_map(cves_of)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let sysctl = set::sysctl_changes(&old_set, &new_set);
    let verdicts = set::verdicts(rules, &old_set, &new_set);

    let count = |t: Transition| verdicts.iter().filter(|v| v.transition == t).count();
    let summary = DiffSummary {
        added: added.len(),
        removed: removed.len(),
        duplicates: duplicates.len(),
        paired: pairs.len(),
        changed: pairs.iter().filter(|p| !p.is_unchanged()).count(),
        privilege_changes: pairs.iter().map(|p| p.privileges.len()).sum(),
        regressions: count(Transition::Regression),
        regressions_error: verdicts
            .iter()
            .filter(|v| {
                v.transition == Transition::Regression
                    && v.severity == debgate_policy::Severity::Error
            })
            .count(),
        fixed: count(Transition::Fixed),
        new_coverage: count(Transition::NewCoverage),
        dropped_coverage: count(Transition::DroppedCoverage),
        errors: errors.len(),
        escalations: escalations.len(),
        reductions: reductions.len(),
        content_changed: pairs.iter().map(|p| p.content_changes.changed.len()).sum(),
        security_content: security_content.len(),
        content_unknown: pairs.iter().map(|p| p.content_changes.unknown_count).sum(),
        packages_with_cves: pairs.iter().filter(|p| !cves_of(p).is_empty()).count(),
        cves: cves.len(),
    };
    DiffReport {
        old: Side {
            label: old.0.to_string(),
            packages: old.1.len(),
        },
        new: Side {
            label: new.0.to_string(),
            packages: new.1.len(),
        },
        summary,
        errors,
        added,
        removed,
        duplicates,
        pairs,
        sysctl,
        verdicts,
        escalations,
        reductions,
        security_content,
        cves,
    }
}

fn sorted_refs<'a>(pkgs: impl Iterator<Item = &'a AnalyzedPackage>) -> Vec<PackageRef> {
    let mut out: Vec<PackageRef> = pkgs.map(package_ref).collect();
    out.sort_by(|a, b| (&a.package, &a.version).cmp(&(&b.package, &b.version)));
    out
}

fn package_ref(a: &AnalyzedPackage) -> PackageRef {
    let c = &a.package.control;
    PackageRef {
        package: c.package().to_string(),
        version: c.version().to_string(),
        architecture: c.architecture().to_string(),
        file: file_name(&a.package.file),
    }
}

/// The `.deb`'s file name: reports stay the same wherever the sets live.
fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into())
}
