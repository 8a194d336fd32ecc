//! `debgate check --archive SPEC`: the packages of apt repositories
//! ([`debgate_archive::read::Repositories`]), judged as one set.

use crate::builtin::{self, PackageChecks};
use crate::report::{CheckReport, CheckResult, Counts, PackageSummary, Summary};
use crate::waivers::{Applier, Date, WaiverNotice, Waivers};
/// The repository reading every command shares, re-exported for the binary.
pub use debgate_archive::read::{ArchiveArgs, ReadPackage, Repositories, Shard, Tick};
use debgate_pipeline::{schedule_each, AnalyzedPackage, Settings};
use debgate_policy::{Contribution, Finding, RuleSet, SetContext, Severity, Tally};
use std::path::PathBuf;

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
    progress: &(dyn Fn(Tick) + Sync),
) -> Result<ArchiveCheck, String> {
    let repos = open(rules, args)?;
    Ok(check_opened(rules, repos, settings, progress))
}

fn open(rules: &RuleSet, args: &ArchiveArgs<'_>) -> Result<Repositories, String> {
    Repositories::open(
        args,
        &|name| rules.shard_key(name),
        &rules.content_fingerprint(),
    )
}

/// `check --archive … --shard K/N --format jsonl`: what `debgate merge` needs of this part,
/// streamed: each package of the part read (through the facts cache, else through its index's
/// check) and handed to `emit` as its facts with its place in the indexes, or as the reason it
/// was not read, as soon as it is read; nothing is kept, so memory does not grow with the
/// part. Nothing is judged here: the verdicts are the merge's, over every part. Returns whether
/// a package (or an index paragraph) could not be read.
pub fn read_shard(
    rules: &RuleSet,
    repos: &Repositories,
    settings: &Settings,
    progress: &(dyn Fn(Tick) + Sync),
    emit: &(dyn Fn(crate::merge::ShardItem<'_>) + Sync),
) -> bool {
    let want = |p: &str| rules.wants_content(p);
    let mut unreadable = false;
    for (index, e) in &repos.unusable {
        unreadable = true;
        let file = index.display().to_string();
        emit(crate::merge::ShardItem::Unreadable {
            ordinal: 0,
            file: &file,
            error: e,
        });
    }
    let failed = std::sync::atomic::AtomicBool::new(false);
    let done = std::sync::atomic::AtomicUsize::new(0);
    repos.read_each(settings, &want, &|i, (label, result)| {
        let ordinal = repos.ordinal(i);
        match result {
            Ok(a) => emit(crate::merge::ShardItem::Facts {
                ordinal,
                package: &a.package,
            }),
            Err(e) => {
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                let file = label.display().to_string();
                emit(crate::merge::ShardItem::Unreadable {
                    ordinal,
                    file: &file,
                    error: &e,
                });
            }
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(repos.tick(n));
    });
    unreadable || failed.into_inner()
}

/// Open and verify the repositories and select the packages, as `check --archive` does (for
/// [`read_shard`], which must know the chain verifies before it writes anything).
pub fn open_repositories(rules: &RuleSet, args: &ArchiveArgs<'_>) -> Result<Repositories, String> {
    open(rules, args)
}

/// [`check_archives`] of repositories already open: every package held until the set is judged.
fn check_opened(
    rules: &RuleSet,
    repos: Repositories,
    settings: &Settings,
    progress: &(dyn Fn(Tick) + Sync),
) -> ArchiveCheck {
    let want = |p: &str| rules.wants_content(p);
    let mut packages: Vec<PackageSummary> = repos
        .unusable
        .iter()
        .map(|(index, e)| PackageSummary::failed(index, e))
        .collect();
    let mut analyzed: Vec<AnalyzedPackage> = Vec::new();
    for (label, result) in repos.read_all(settings, &want, progress) {
        match result {
            Ok(a) => {
                packages.push(PackageSummary::of(&a.package));
                analyzed.push(a);
            }
            Err(e) => packages.push(PackageSummary::failed(&label, &e)),
        }
    }
    ArchiveCheck {
        report: CheckReport::new(
            packages,
            crate::findings(rules, &analyzed, builtin::Copies::Versions),
        ),
        notices: repos.notices,
    }
}

/// How a streamed check's results are gated: the waivers (as of `today`) and `--fail-on`, as
/// [`CheckReport::gate`] applies them to a whole report.
pub struct Gating<'a> {
    pub waivers: &'a Waivers,
    pub fail_on: Severity,
    pub today: Date,
}

/// What a streamed check hands on as it goes, already gated.
pub enum Streamed<'a> {
    /// A package (read, or why it could not be) and the results about it.
    Package(&'a PackageSummary, &'a [CheckResult]),
    /// At the end: the results about the set as a whole (a rule's whole selection, set-level
    /// rules, debgate's own checks' passes). A set-aside copy's duplicate warning comes with
    /// the copy.
    Set(&'a [CheckResult]),
}

/// The end of a streamed check: what became of each waiver, the summary (whose exit status is
/// the run's), and what the user must be told once.
pub struct StreamedCheck {
    pub waivers: Vec<WaiverNotice>,
    pub summary: Summary,
    pub notices: Vec<String>,
}

/// How [`check_archives_streaming`] ran.
pub enum Checked {
    /// Streamed: every result has been handed on.
    Streamed(StreamedCheck),
    /// The repositories cannot be read twice through the facts cache (`--no-cache`, a cache
    /// that cannot be opened, `trusted=yes`): judged in memory, as [`check_archives`] does.
    InMemory(ArchiveCheck),
}

/// [`check_archives`] in memory bounded by the packages being read rather than the
/// repository's size, when every package goes through the facts cache.
///
/// Two passes over the selection. The first reads each package (a download and a decode, or a
/// cache hit; a miss is stored) and keeps only what judging the others needs of it
/// ([`debgate_policy::Contribution`]: its unresolved-target changes, sysctl.d files, the few
/// kernel options that choose sysctl defaults) and what the duplicate check needs (name,
/// architecture, version, file). From those the set-aside copies are decided and the set's
/// context built, as [`crate::findings`] would over the whole set. The second reads each
/// package again, from the cache, judges it with that context, and hands on its package line
/// and results at once (in the order packages finish); the set-level results follow at the
/// end. Each result is the one the in-memory run gives, gated the same way. A package whose
/// cache entry went missing between the passes is read again from its repository, checked
/// against its index as ever; if that fails, it is that package's error.
pub fn check_archives_streaming(
    rules: &RuleSet,
    args: &ArchiveArgs<'_>,
    settings: &Settings,
    gating: &Gating<'_>,
    progress: &(dyn Fn(Tick) + Sync),
    judging: &(dyn Fn(usize, usize) + Sync),
    emit: &(dyn Fn(Streamed<'_>) + Sync),
) -> Result<Checked, String> {
    let repos = open(rules, args)?;
    if !repos.caches_every_package() {
        return Ok(Checked::InMemory(check_opened(
            rules, repos, settings, progress,
        )));
    }
    let (waivers, summary) =
        stream_judge(rules, &repos, settings, gating, progress, judging, emit)?;
    Ok(Checked::Streamed(StreamedCheck {
        waivers,
        summary,
        notices: repos.notices,
    }))
}

/// Packages that can be read twice in one order: what [`stream_judge`] judges (a repository's
/// through the facts cache, or the facts of `debgate merge`'s parts).
pub(crate) trait TwoPass: Sync {
    /// How many packages.
    fn len(&self) -> usize;
    /// Where package `i` came from.
    fn label(&self, i: usize) -> PathBuf;
    /// What could not be listed as a package at all, as error lines, before any package.
    fn unusable(&self) -> Vec<PackageSummary>;
    /// The first pass: every package, each handed to `sink` as soon as it is read.
    fn read_each(
        &self,
        settings: &Settings,
        want: &(dyn Fn(&str) -> bool + Sync),
        sink: &(dyn Fn(usize, ReadPackage) + Sync),
    );
    /// The second pass: package `i` again.
    fn read(
        &self,
        i: usize,
        settings: &Settings,
        want: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<AnalyzedPackage, String>;
    /// How far the first pass has got after `done` packages.
    fn tick(&self, done: usize) -> Tick;
}

impl TwoPass for Repositories {
    fn len(&self) -> usize {
        Repositories::len(self)
    }
    fn label(&self, i: usize) -> PathBuf {
        Repositories::label(self, i)
    }
    fn unusable(&self) -> Vec<PackageSummary> {
        self.unusable
            .iter()
            .map(|(index, e)| PackageSummary::failed(index, e))
            .collect()
    }
    fn read_each(
        &self,
        settings: &Settings,
        want: &(dyn Fn(&str) -> bool + Sync),
        sink: &(dyn Fn(usize, ReadPackage) + Sync),
    ) {
        Repositories::read_each(self, settings, want, sink)
    }
    fn read(
        &self,
        i: usize,
        settings: &Settings,
        want: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<AnalyzedPackage, String> {
        Repositories::read(self, i, settings, want)
    }
    fn tick(&self, done: usize) -> Tick {
        Repositories::tick(self, done)
    }
}

/// The two passes of a streamed check over `repos` (see [`check_archives_streaming`]): every
/// result handed to `emit` as it is judged and gated. Returns the waivers' notices and the
/// summary.
pub(crate) fn stream_judge(
    rules: &RuleSet,
    repos: &dyn TwoPass,
    settings: &Settings,
    gating: &Gating<'_>,
    progress: &(dyn Fn(Tick) + Sync),
    judging: &(dyn Fn(usize, usize) + Sync),
    emit: &(dyn Fn(Streamed<'_>) + Sync),
) -> Result<(Vec<WaiverNotice>, Summary), String> {
    let want = |p: &str| rules.wants_content(p);
    let mut state = Gate {
        applier: gating.waivers.applier(rules, gating.today),
        counts: Counts::default(),
    };
    for p in repos.unusable() {
        state.counts.package(&p);
        emit(Streamed::Package(&p, &[]));
    }

    // Pass 1: every package read once, keeping what the others need of it and what the
    // duplicate check needs (see `First`).
    let mut first: Vec<std::sync::Mutex<Option<First>>> = (0..repos.len())
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    repos.read_each(settings, &want, &|i, (label, result)| {
        let item = match result {
            Ok(a) => First::Read {
                key: ArchVersion::new(
                    a.package.control.architecture(),
                    a.package.control.version(),
                ),
                contribution: Contribution::of(&rules.kernel, &a.view()),
            },
            Err(e) => First::Failed(Box::new(PackageSummary::failed(&label, &e))),
        };
        if let Ok(mut slot) = first[i].lock() {
            *slot = Some(item);
        }
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(repos.tick(n));
    });
    // Looked at where they lie: a second vector of them as long as the selection would be a
    // second peak.
    let views: Vec<&First> = first
        .iter_mut()
        .map(|slot| slot.get_mut().ok().and_then(|f| f.as_ref()))
        .collect::<Option<_>>()
        .ok_or_else(|| "a reader panicked".to_string())?;

    // The set as apt would install it: the candidates enter the rules, in the selection's
    // order, as in memory.
    let readable: Vec<usize> = (0..views.len())
        .filter(|&i| matches!(views[i], First::Read { .. }))
        .collect();
    let dups = {
        let ids: Vec<(&str, &str, &str)> = readable
            .iter()
            .filter_map(|&i| match views[i] {
                First::Read { key, contribution } => Some((
                    contribution.member.name.as_str(),
                    key.architecture(),
                    key.version(),
                )),
                First::Failed(_) => None,
            })
            .collect();
        builtin::Duplicates::of(&ids)
    };
    // A set-aside copy's result is made when the copy is judged, from its own line and the
    // candidate's version and file, kept for the candidates that have copies only (a
    // repository may hold thousands of copies: their results are not held).
    let mut copy_of: Vec<Option<usize>> = vec![None; views.len()];
    let mut candidates: std::collections::HashMap<usize, (String, String)> = Default::default();
    for &(copy, kept) in &dups.pairs {
        let (copy, kept) = (readable[copy], readable[kept]);
        copy_of[copy] = Some(kept);
        if let First::Read { key, contribution } = views[kept] {
            candidates
                .entry(kept)
                .or_insert_with(|| (key.version().to_string(), contribution.member.file.clone()));
        }
    }
    let members = readable.len() - dups.pairs.len();
    let no_duplicate = dups.pass;
    drop(views);
    drop(readable);
    let mut cx = SetContext::with_capacity(members);
    // Each candidate's member index; a set-aside copy's contribution goes, and of a package
    // that could not be read only its error line stays.
    let mut member: Vec<Option<usize>> = vec![None; first.len()];
    let failed: Vec<Option<Box<PackageSummary>>> = first
        .into_iter()
        .enumerate()
        .map(|(i, slot)| match slot.into_inner().ok().flatten() {
            None => Some(Box::new(PackageSummary::failed(&repos.label(i), &"lost"))),
            Some(First::Read { contribution, .. }) => {
                if copy_of[i].is_none() {
                    member[i] = Some(cx.add(contribution));
                }
                None
            }
            Some(First::Failed(line)) => Some(line),
        })
        .collect();

    // Pass 2: each package again, from the cache, judged and handed on at once.
    let tally = std::sync::Mutex::new(Tally::new(rules));
    let checks = std::sync::Mutex::new(PackageChecks::default());
    let state = std::sync::Mutex::new(state);
    let judged = std::sync::atomic::AtomicUsize::new(0);
    schedule_each(
        repos.len(),
        settings,
        &|i, per_package| {
            if let Some(line) = &failed[i] {
                return ((**line).clone(), Vec::new());
            }
            let a = match repos.read(i, per_package, &want) {
                Ok(a) => a,
                // Read in the first pass, not in the second: this package's error, never a
                // verdict on what is not there.
                Err(e) => return (PackageSummary::failed(&repos.label(i), &e), Vec::new()),
            };
            // The line the first pass would have kept: the same facts, read again.
            let line = PackageSummary::of(&a.package);
            let mut findings = Vec::new();
            if let Some(m) = member[i] {
                let j = debgate_policy::evaluate_package(rules, &cx, &a.view());
                if let Ok(mut t) = tally.lock() {
                    t.add(m, &j);
                }
                findings = j.findings;
            }
            if let Ok(mut c) = checks.lock() {
                findings.extend(c.judge(&a).into_iter().flatten());
            }
            if let Some((version, file)) = copy_of[i].and_then(|k| candidates.get(&k)) {
                let copy = (
                    line.package.as_str(),
                    line.architecture.as_str(),
                    line.version.as_str(),
                    line.file.as_str(),
                );
                findings.push(builtin::duplicate_finding(
                    copy,
                    (version, file),
                    builtin::Copies::Versions,
                ));
            }
            (line, findings)
        },
        &|_, (line, findings)| {
            let Ok(mut state) = state.lock() else { return };
            state.counts.package(&line);
            let results = state.gate(findings);
            emit(Streamed::Package(&line, &results));
            judging(
                judged.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
                repos.len(),
            );
        },
    );

    // The end: what needed every package.
    let mut state = state
        .into_inner()
        .map_err(|_| "a reader panicked".to_string())?;
    let tally = tally
        .into_inner()
        .map_err(|_| "a reader panicked".to_string())?;
    let checks = checks
        .into_inner()
        .map_err(|_| "a reader panicked".to_string())?;
    let mut end = debgate_policy::finish(rules, &cx, tally);
    end.extend(checks.finish().into_iter().flatten());
    end.extend(no_duplicate);
    let results = state.gate(end);
    emit(Streamed::Set(&results));
    let waivers = state.applier.notices();
    let summary = state.counts.summary(&waivers, gating.fail_on);
    Ok((waivers, summary))
}

/// What the first pass keeps of a package, small because a repository has tens of thousands:
/// of a package read, what the others need of it ([`Contribution`], which also names it) and
/// the rest of its duplicate-check key; of one that could not be read, its error line. A read
/// package's line is made again from its second reading, which gives the same facts.
enum First {
    Read {
        key: ArchVersion,
        contribution: Contribution,
    },
    Failed(Box<PackageSummary>),
}

/// A package's architecture and version in one allocation (the duplicate check's key, with
/// its name).
struct ArchVersion {
    text: Box<str>,
    /// Where the architecture ends and the version begins.
    split: usize,
}

impl ArchVersion {
    fn new(architecture: &str, version: &str) -> ArchVersion {
        ArchVersion {
            text: format!("{architecture}{version}").into_boxed_str(),
            split: architecture.len(),
        }
    }
    fn architecture(&self) -> &str {
        &self.text[..self.split]
    }
    fn version(&self) -> &str {
        &self.text[self.split..]
    }
}

/// The waivers and counts applied to results as they are handed on.
struct Gate<'a> {
    applier: Applier<'a>,
    counts: Counts,
}

impl Gate<'_> {
    fn gate(&mut self, findings: Vec<Finding>) -> Vec<CheckResult> {
        findings
            .into_iter()
            .map(|mut finding| {
                let waiver = self.applier.apply(&mut finding);
                let r = CheckResult {
                    finding,
                    waiver,
                    upload: None,
                };
                self.counts.result(&r);
                r
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_abis_of_a_kernel_are_in_one_part() {
        let rules = crate::bundled_rules().unwrap();
        let (old, new) = ("linux-image-6.1.0-50-amd64", "linux-image-6.1.0-57-amd64");
        assert!(
            rules.pairing_key(old).is_some(),
            "the bundled pairing keys kernels"
        );
        for n in 2..=16 {
            let part = |name| (1..=n).find(|&k| Shard { k, n }.holds(&rules.shard_key(name)));
            assert_eq!(part(old), part(new), "{n} parts");
        }
    }
}
