//! `cargo xtask sweep --differential`: the differential test (`crates/check/tests/
//! differential.rs`) over real packages instead of `testdata/states`.
//!
//! Packages that matter are picked from apt's lists: every reverse dependency of libcap2-bin
//! (`apt-cache rdepends --no-recommends --no-suggests libcap2-bin`; all of them count), then
//! packages in which the analyzer finds a privilege change (a change made by a counted
//! maintainer script, or a setuid, setgid or capable file in data.tar). Those are looked for
//! among apt's names shuffled by `--seed`, reverse dependencies of adduser first: a package
//! that creates a system user usually chowns its directories, so that order finds `--count`
//! of them without downloading the archive. Packages over `MAX_DEB_MIB` are passed over.
//! Downloads go to `target/sweep/` (the plain sweep's cache) on a thread of their own.
//!
//! Each package is read with debgate's reader and analysed as `debgate check` does, then
//! turned into a `StateCase` for the oracle (`crates/oracle`): every directory; every
//! non-directory that a change targets (by its merged-/usr name; a recursive change covers its
//! subtree), that a script names literally, or that is setuid, setgid or capable, with its hard
//! links and the files its symlinks lead to; owners by name, capabilities from the xattr; the
//! maintainer scripts and debconf `templates` (read with `dpkg-deb -I`, since the reader does
//! not keep it). The oracle runs up to `--runs` sequences of it (bounded in time per package),
//! and every observed state of every path must be covered by a predicted one
//! (`debgate_oracle::compare`). A path a script made that debgate has no state for is unsound
//! when it is a setuid, setgid or capable non-directory, and otherwise only counted; a path the
//! package ships but the case left out was missing from the sandbox, so what a script made
//! there (`[ -e X ] || ln -s ... X`) is set aside with a note.
//!
//! The summary gives packages, sequences, successful runs, unsound states (the command fails
//! unless there are none), precision (over every observed path, and over the paths a script
//! change may shape), packages no postinst run got through (they observe nothing; the first
//! sequence's output says why), the largest `Analysis::peak_paths` and the slowest script
//! analysis.

use crate::corpus::Apt;
use crate::util::{self, tail};
use anyhow::{bail, Context, Result};
use debgate_check::analyze_package;
use debgate_facts::change::Target;
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::{EntryKind, Package, ScriptName};
use debgate_oracle::{Comparison, Observation, Options};
use debgate_reader::{read_package, Limits, ReadOptions};
use debgate_writer::case::{CaseFile, CaseKind, StateCase};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Packages larger than this are passed over: reading them costs more than their scripts
/// teach, and a few of them would dominate the download.
pub const MAX_DEB_MIB: u64 = 48;

/// Non-directories a case takes because a script names them, at most: enough for every real
/// loop over literal paths, and each costs a few processes per sequence.
const MAX_NAMED_FILES: usize = 200;

/// How to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Packages to compare, at least.
    pub count: usize,
    pub seed: u64,
    /// Oracle sequences per package, at most.
    pub runs: usize,
    /// Oracle time per package: no sequence starts after it.
    pub budget: Duration,
    /// Only these packages (by name), whatever they hold: to look again at one.
    pub only: Vec<String>,
    /// Where the case of a package with an unsound state is written, as a
    /// `testdata/states`-style file without `[[expect]]`.
    pub cases_dir: PathBuf,
}

/// Why a package is in the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// A reverse dependency of libcap2-bin.
    Libcap,
    /// The analyzer finds a privilege change in it.
    Privilege,
    /// Named with `--package`.
    Named,
}

/// One package's outcome.
struct Outcome {
    name: String,
    why: Why,
    obs: Observation,
    cmp: Comparison,
    /// Unsound findings, one line each.
    unsound: Vec<String>,
    /// Paths a script made that debgate has no state for (not privileged).
    unmodelled: usize,
    /// Of those, owned by another user or group than root, as `path state`.
    unmodelled_owned: Vec<String>,
    /// Things the oracle could not do (interpreter, blind parts, sandbox errors).
    notes: Vec<String>,
    /// Why no postinst run succeeded, from the first sequence's output.
    no_success_why: Option<String>,
    case_files: usize,
    /// The oracle's time on it.
    took: Duration,
}

pub fn run(root: &Path, s: &Settings) -> Result<()> {
    for tool in ["apt-get", "apt-cache", "dpkg-deb"] {
        if !util::on_path(tool) {
            bail!("{tool} is needed: the differential sweep picks and reads packages with apt");
        }
    }
    if let Err(e) = debgate_oracle::available() {
        bail!("the oracle's sandbox is unavailable here: {e}");
    }
    let started = Instant::now();
    let libcap: BTreeSet<String> = rdepends("libcap2-bin")?
        .into_iter()
        .filter(|n| n != "libcap2-bin")
        .collect();
    let mut likely = rdepends("adduser")?;
    let mut rest = crate::sweep::package_names()?;
    let mut rng = fastrand::Rng::with_seed(s.seed);
    rng.shuffle(&mut likely);
    rng.shuffle(&mut rest);
    let mut seen = BTreeSet::new();
    let order: Vec<(String, Why)> = if !s.only.is_empty() {
        s.only.iter().map(|n| (n.clone(), Why::Named)).collect()
    } else {
        libcap
            .iter()
            .map(|n| (n.clone(), Why::Libcap))
            .chain(likely.into_iter().map(|n| (n, Why::Privilege)))
            .chain(rest.into_iter().map(|n| (n, Why::Privilege)))
            .filter(|(n, _)| seen.insert(n.clone()))
            .collect()
    };
    let count = if s.only.is_empty() {
        s.count
    } else {
        s.only.len()
    };
    eprintln!(
        "sweep --differential: {} reverse dependencies of libcap2-bin, then packages with a privilege change until {} (seed {})",
        libcap.len(),
        s.count,
        s.seed
    );

    let cache = util::target_dir(root).join("sweep");
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let (tx, rx) = mpsc::sync_channel::<(String, Why, Result<PathBuf>)>(6);
    let downloader = std::thread::spawn(move || download(cache, order, tx));

    let limits = Limits::default();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut passed_over = 0usize;
    let mut unreadable = Vec::new();
    let mut peak: (usize, String) = (0, String::new());
    let mut slowest: (Duration, String) = (Duration::ZERO, String::new());
    let mut analysis_time = Duration::ZERO;
    let mut scripts_analysed = 0usize;
    for (name, why, deb) in rx.iter() {
        if outcomes.len() >= count {
            break;
        }
        let deb = match deb {
            Ok(d) => d,
            Err(e) => {
                if why != Why::Privilege {
                    unreadable.push(format!("{name}: download: {e:#}"));
                }
                continue;
            }
        };
        let opts = ReadOptions {
            limits: limits.clone(),
            ..ReadOptions::default()
        };
        let pkg = match read_package(&deb, &opts) {
            Ok(p) => p,
            Err(e) => {
                unreadable.push(format!("{}: {e}", deb.display()));
                continue;
            }
        };
        if why == Why::Privilege && !privileged(&pkg) {
            passed_over += 1;
            continue;
        }
        // Each script on its own, timed, for the bench figures; then the package as check
        // analyses it.
        let script_opts = debgate_script::Options {
            max_paths: limits.max_script_paths,
            ..debgate_script::Options::default()
        };
        for script in &pkg.scripts {
            let t = Instant::now();
            let a = debgate_script::analyze_with(script, &script_opts);
            let took = t.elapsed();
            analysis_time += took;
            scripts_analysed += 1;
            let which = format!("{} {}", pkg.name(), script.name);
            if a.peak_paths > peak.0 {
                peak = (a.peak_paths, which.clone());
            }
            if took > slowest.0 {
                slowest = (took, which);
            }
        }
        let templates = templates(&deb);
        let outcome = compare_package(&pkg, why, templates, &limits, s)
            .with_context(|| format!("{}", deb.display()))?;
        print_outcome(&outcome);
        outcomes.push(outcome);
    }
    drop(rx);
    let downloaded = downloader.join().unwrap_or(0);

    summary(
        &outcomes,
        s,
        passed_over,
        downloaded,
        &unreadable,
        &peak,
        &slowest,
        analysis_time,
        scripts_analysed,
        started.elapsed(),
    )
}

/// `apt-cache rdepends --no-recommends --no-suggests NAME`: the names, sorted, without
/// duplicates or other architectures' (`name:i386`).
fn rdepends(name: &str) -> Result<Vec<String>> {
    let out = Command::new("apt-cache")
        .args(["rdepends", "--no-recommends", "--no-suggests", name])
        .output()
        .context("running apt-cache rdepends")?;
    if !out.status.success() {
        bail!("apt-cache rdepends {name} failed: {}", tail(&out.stderr, 5));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut names: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("Reverse Depends:"))
        .skip(1)
        .map(|l| l.trim().trim_start_matches('|').to_string())
        .filter(|n| !n.is_empty() && !n.contains(':'))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        bail!("apt-cache rdepends {name} lists nothing: run apt-get update");
    }
    Ok(names)
}

/// The download thread: sizes from `apt-get download --print-uris` (in batches), then each
/// package of at most `MAX_DEB_MIB` through the sweep's cache, in order, until the receiver
/// hangs up. Returns how many it handed over.
fn download(
    cache: PathBuf,
    order: Vec<(String, Why)>,
    tx: mpsc::SyncSender<(String, Why, Result<PathBuf>)>,
) -> usize {
    let mut apt = Apt::new(cache);
    let mut sent = 0;
    for batch in order.chunks(100) {
        let names: Vec<&str> = batch.iter().map(|(n, _)| n.as_str()).collect();
        let sizes = sizes(&names);
        for (name, why) in batch {
            // A name with no candidate (virtual, another architecture's): nothing to fetch.
            let Some(&size) = sizes.get(name) else {
                continue;
            };
            if size > MAX_DEB_MIB << 20 {
                continue;
            }
            let deb = apt.fetch(name, None);
            if tx.send((name.clone(), *why, deb)).is_err() {
                return sent;
            }
            sent += 1;
        }
    }
    sent
}

/// Package name -> size of the candidate's `.deb`, for the names apt can download.
fn sizes(names: &[&str]) -> BTreeMap<String, u64> {
    let out = Apt::command("apt-get")
        .args(["download", "--print-uris", "-q"])
        .args(names)
        .output();
    let Ok(out) = out else {
        return BTreeMap::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // 'URL' NAME_VERSION_ARCH.deb SIZE HASH
            let mut f = l.split_whitespace().skip(1);
            let file = f.next()?;
            let size = f.next()?.parse().ok()?;
            Some((file.split('_').next()?.to_string(), size))
        })
        .collect()
}

/// The analyzer finds a privilege change: a change in a counted script, or a setuid, setgid
/// or capable non-directory in data.tar.
fn privileged(pkg: &Package) -> bool {
    let script_change = pkg
        .scripts
        .iter()
        .filter(|s| s.name != ScriptName::Config)
        .any(|s| !debgate_script::analyze(s).changes.is_empty());
    script_change
        || pkg.entries.iter().any(|e| {
            e.kind != EntryKind::Dir && (e.mode & 0o6000 != 0 || e.capabilities().is_some())
        })
}

/// The package's debconf `templates`, when it has one.
fn templates(deb: &Path) -> Option<String> {
    let out = Command::new("dpkg-deb")
        .arg("-I")
        .arg(deb)
        .arg("templates")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The interpreter a script's `#!` names, when it is not a shell the oracle has.
fn foreign_interpreter(text: &str) -> Option<String> {
    let first = text.lines().next()?.strip_prefix("#!")?.trim();
    let mut words = first.split_whitespace();
    let mut prog = words.next()?.rsplit('/').next()?.to_string();
    if prog == "env" {
        prog = words.find(|w| !w.starts_with('-'))?.to_string();
    }
    (!["sh", "dash", "bash"].contains(&prog.as_str())).then_some(prog)
}

/// The package as an oracle case (see the module docs for which files it takes).
fn case_of(pkg: &Package, templates: Option<String>, notes: &mut Vec<String>) -> StateCase {
    let counted: Vec<&debgate_facts::Script> = pkg
        .scripts
        .iter()
        .filter(|s| s.name != ScriptName::Config)
        .collect();
    let mut targets = BTreeSet::new();
    let mut recursive = BTreeSet::new();
    for s in &counted {
        for c in debgate_script::analyze(s).changes {
            if let Target::Path(p) = &c.target {
                let p = usrmerge_canonical(p);
                if c.recursive {
                    recursive.insert(p.clone());
                }
                targets.insert(p);
            }
        }
    }
    let named: BTreeSet<String> = counted
        .iter()
        .flat_map(|s| absolute_words(&s.text))
        .map(|w| usrmerge_canonical(&w))
        .collect();
    let by_path: BTreeMap<String, &debgate_facts::Entry> = pkg
        .entries
        .iter()
        .map(|e| (usrmerge_canonical(&e.path), e))
        .collect();
    let usable = |e: &debgate_facts::Entry| {
        matches!(
            e.kind,
            EntryKind::File | EntryKind::Dir | EntryKind::Symlink | EntryKind::HardLink
        ) && e.path != "/"
            && !e.path.contains('\n')
            && !debgate_oracle::reserved(&usrmerge_canonical(&e.path))
    };

    let mut selected: BTreeSet<String> = BTreeSet::new();
    let mut named_taken = 0;
    for e in &pkg.entries {
        if e.kind == EntryKind::Dir || !usable(e) {
            continue;
        }
        let c = usrmerge_canonical(&e.path);
        let targeted =
            targets.contains(&c) || recursive.iter().any(|r| c.starts_with(&format!("{r}/")));
        let special = matches!(e.kind, EntryKind::File | EntryKind::HardLink)
            && (e.mode & 0o6000 != 0 || e.capabilities().is_some());
        let is_named = named.contains(&c) && named_taken < MAX_NAMED_FILES;
        if is_named && !targeted && !special {
            named_taken += 1;
        }
        if targeted || special || is_named {
            selected.insert(c);
        }
    }
    // The files selected symlinks lead to, and every name of a selected inode.
    loop {
        let before = selected.len();
        for c in selected.clone() {
            let Some(e) = by_path.get(&c) else { continue };
            if e.kind == EntryKind::Symlink {
                if let Some(t) = e.link_target.as_deref().and_then(|t| resolve(&e.path, t)) {
                    if by_path
                        .get(&t)
                        .is_some_and(|x| x.kind != EntryKind::Dir && usable(x))
                    {
                        selected.insert(t);
                    }
                }
            }
            if e.kind == EntryKind::HardLink {
                if let Some(t) = &e.link_target {
                    selected.insert(usrmerge_canonical(t));
                }
            }
        }
        for e in &pkg.entries {
            if let (EntryKind::HardLink, Some(t)) = (e.kind, &e.link_target) {
                if selected.contains(&usrmerge_canonical(t)) && usable(e) {
                    selected.insert(usrmerge_canonical(&e.path));
                }
            }
        }
        if selected.len() == before {
            break;
        }
    }

    let mut files = Vec::new();
    let mut listed: BTreeSet<String> = BTreeSet::new();
    for e in &pkg.entries {
        if !usable(e) {
            continue;
        }
        let c = usrmerge_canonical(&e.path);
        if e.kind != EntryKind::Dir && !selected.contains(&c) {
            continue;
        }
        if !listed.insert(e.path.clone()) {
            continue;
        }
        let kind = match e.kind {
            EntryKind::Dir => CaseKind::Dir,
            EntryKind::Symlink => CaseKind::Symlink,
            EntryKind::HardLink => CaseKind::HardLink,
            _ => CaseKind::File,
        };
        if kind == CaseKind::HardLink {
            let target = e.link_target.clone().unwrap_or_default();
            if !files
                .iter()
                .any(|f: &CaseFile| f.path == target && f.kind == CaseKind::File)
            {
                notes.push(format!(
                    "{}: hard link to an unlisted file; skipped",
                    e.path
                ));
                continue;
            }
        }
        let caps = match e.capabilities() {
            Some(Ok(c)) => Some(c.to_set().to_text()).filter(|t| !t.is_empty()),
            Some(Err(err)) => {
                notes.push(format!("{}: capability xattr not decoded ({err})", e.path));
                None
            }
            None => None,
        };
        files.push(CaseFile {
            path: e.path.clone(),
            kind,
            mode: e.mode & 0o7777,
            owner: e.owner_name(),
            group: e.group_name(),
            caps: caps.filter(|_| kind == CaseKind::File),
            target: e.link_target.clone(),
        });
    }
    let mut scripts: BTreeMap<String, String> = counted
        .iter()
        .map(|s| (s.name.as_str().to_string(), s.text.clone()))
        .collect();
    if let Some(t) = templates {
        scripts.insert("templates".into(), t);
    }
    StateCase {
        name: pkg.name().to_string(),
        description: format!("{} as shipped", pkg.name()),
        files,
        scripts,
        expect: Vec::new(),
        // The real name: scripts use it (`$DPKG_MAINTSCRIPT_PACKAGE`, `/var/lib/dpkg/info`).
        package: Some(pkg.name().to_string()),
        verdicts: Vec::new(),
    }
}

/// A case as a `testdata/states` file (without `[[expect]]`), for the oracle's `observe`
/// example.
fn case_toml(case: &StateCase) -> String {
    #[derive(serde::Serialize)]
    struct File<'a> {
        path: &'a str,
        kind: &'static str,
        mode: String,
        owner: &'a str,
        group: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        caps: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Case<'a> {
        description: &'a str,
        package: Option<&'a str>,
        file: Vec<File<'a>>,
        scripts: &'a BTreeMap<String, String>,
    }
    let file = case
        .files
        .iter()
        .map(|f| File {
            path: &f.path,
            kind: match f.kind {
                CaseKind::File => "file",
                CaseKind::Dir => "dir",
                CaseKind::Symlink => "symlink",
                CaseKind::HardLink => "hard-link",
            },
            mode: format!("{:04o}", f.mode),
            owner: &f.owner,
            group: &f.group,
            caps: f.caps.as_deref(),
            target: f.target.as_deref(),
        })
        .collect();
    toml::to_string(&Case {
        description: &case.description,
        package: case.package.as_deref(),
        file,
        scripts: &case.scripts,
    })
    .unwrap_or_default()
}

/// Absolute paths a script spells out literally (`/usr/bin/x`, also inside quotes).
fn absolute_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || b"/._+-@%,:~".contains(&bytes[i]))
            {
                i += 1;
            }
            let w = text[start..i].trim_end_matches(['.', ',', ':']);
            if w.len() > 1 {
                out.push(w.trim_end_matches('/').to_string());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Where symlink `link` with target `target` leads, as a merged-/usr path inside the package
/// (`None` when it climbs out of `/`).
fn resolve(link: &str, target: &str) -> Option<String> {
    let base = if target.starts_with('/') {
        String::new()
    } else {
        link.rsplit_once('/').map(|(d, _)| d.to_string())?
    };
    let mut parts: Vec<&str> = Vec::new();
    let joined = format!("{base}/{target}");
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(usrmerge_canonical(&format!("/{}", parts.join("/"))))
}

fn compare_package(
    pkg: &Package,
    why: Why,
    templates: Option<String>,
    limits: &Limits,
    s: &Settings,
) -> Result<Outcome> {
    let mut notes = Vec::new();
    for script in &pkg.scripts {
        if script.name == ScriptName::Config {
            continue;
        }
        if let Some(i) = foreign_interpreter(&script.text) {
            notes.push(format!(
                "{}: a {i} script, which the sandbox cannot run",
                script.name
            ));
        }
        if script.truncated {
            notes.push(format!("{}: truncated by the reader", script.name));
        }
    }
    let case = case_of(pkg, templates, &mut notes);
    let cases_dir = s.cases_dir.clone();
    let analysed = analyze_package(pkg.clone(), limits);
    let blind = !analysed.state.blind.is_empty();
    for b in &analysed.state.blind {
        notes.push(format!("blind: {b}"));
    }
    let predicted = debgate_oracle::predictions(&analysed.state);
    let opts = Options {
        runs: s.runs,
        seed: s.seed,
        time_budget: s.budget,
        script_timeout: Duration::from_secs(3),
        jobs: 0,
    };
    let has_postinst = case.scripts.contains_key("postinst");
    let t = Instant::now();
    let mut obs = match debgate_oracle::observe(&case, &opts) {
        Ok(o) => o,
        Err(e) => {
            notes.push(format!("oracle: {e}"));
            Observation::default()
        }
    };
    // A path the package ships but the case left out was missing from the sandbox, where a
    // real system has it: what a script made there (`[ -e X ] || ln -s ... X`) says nothing
    // about the package, so it is set aside.
    let in_case: BTreeSet<String> = case
        .files
        .iter()
        .map(|f| usrmerge_canonical(&f.path))
        .collect();
    let shipped: BTreeSet<String> = pkg
        .entries
        .iter()
        .map(|e| usrmerge_canonical(&e.path))
        .collect();
    let absent: Vec<String> = obs
        .states
        .keys()
        .filter(|p| {
            let c = usrmerge_canonical(p);
            shipped.contains(&c) && !in_case.contains(&c)
        })
        .cloned()
        .collect();
    for p in &absent {
        let states = obs.states.remove(p).unwrap_or_default();
        notes.push(format!(
            "{p}: shipped, but not in the sandbox, where a script made it {states:?}; set aside"
        ));
    }
    let cmp = debgate_oracle::compare(&predicted, &obs);
    let mut unsound = Vec::new();
    for u in &cmp.uncovered {
        let line = format!(
            "{} {}: observed `{}`, predicted {:?}",
            pkg.name(),
            u.path,
            u.observed,
            u.predicted
        );
        unsound.push(if blind {
            format!("{line} (blind package)")
        } else {
            line
        });
    }
    let mut unmodelled = 0;
    let mut unmodelled_owned = Vec::new();
    for (path, states) in &cmp.unpredicted {
        let is_dir = obs.dirs.contains(path);
        for st in states {
            if !is_dir && privileged_state(st) {
                unsound.push(format!(
                    "{} {path}: observed `{st}`, a privileged file debgate has no state for",
                    pkg.name()
                ));
            } else if st.split(' ').nth(1).is_none_or(|o| o != "root:root") {
                unmodelled_owned.push(format!("{path} {st}"));
            }
        }
        unmodelled += 1;
    }
    let successful = obs.successful_runs.get("postinst").copied().unwrap_or(0);
    if !unsound.is_empty() {
        // For a closer look: `cargo run -p debgate-oracle --example observe -- CASE.toml`.
        let path = cases_dir.join(format!("{}.toml", case.name));
        if std::fs::create_dir_all(&cases_dir).is_ok()
            && std::fs::write(&path, case_toml(&case)).is_ok()
        {
            notes.push(format!("case written to {}", path.display()));
        }
    }
    let no_success_why = (has_postinst && obs.sequences > 0 && successful == 0)
        .then(|| why_no_success(&case, &opts));
    Ok(Outcome {
        name: pkg.name().to_string(),
        why,
        unsound,
        unmodelled,
        unmodelled_owned,
        notes,
        no_success_why,
        case_files: case.files.len(),
        took: t.elapsed(),
        cmp,
        obs,
    })
}

/// A state with setuid or setgid, or capabilities.
fn privileged_state(state: &str) -> bool {
    let mut f = state.split(' ');
    let mode = f.next().and_then(|m| u32::from_str_radix(m, 8).ok());
    mode.is_none_or(|m| m & 0o6000 != 0) || f.nth(1).is_some()
}

/// Why no postinst got through: the runs and last lines of output of the first sequence that
/// injected no failure (or of the first sequence, when none of the first few is one).
fn why_no_success(case: &StateCase, opts: &Options) -> String {
    let mut first = None;
    for i in 0..12 {
        match debgate_oracle::trace_sequence(case, opts, i) {
            Ok(t) if t.fail_percent == 0 => {
                first = Some(t);
                break;
            }
            Ok(t) => {
                first.get_or_insert(t);
            }
            Err(e) => return format!("trace: {e}"),
        }
    }
    let Some(t) = first else {
        return "no trace".into();
    };
    let lines: Vec<&str> = t.output.lines().filter(|l| !l.starts_with("== ")).collect();
    let last = lines[lines.len().saturating_sub(3)..].join(" | ");
    let runs: Vec<String> = t.runs.iter().map(|(n, rc)| format!("{n} {rc}")).collect();
    format!("[{}% failures: {}] {last}", t.fail_percent, runs.join(", "))
}

fn print_outcome(o: &Outcome) {
    let c = &o.cmp;
    let ok = o.obs.successful_runs.get("postinst").copied().unwrap_or(0);
    println!(
        "{} ({}): {} file(s), {:.1?}, {} sequences, {} recorded, {ok} successful postinst runs; observed {}/{} predicted states ({}/{} on changed paths); {} path(s) made by scripts{}",
        o.name,
        match o.why {
            Why::Libcap => "libcap2-bin rdepends",
            Why::Privilege => "privilege change",
            Why::Named => "named",
        },
        o.case_files,
        o.took,
        o.obs.sequences,
        o.obs.recorded,
        c.seen,
        c.predicted,
        c.seen_changed,
        c.predicted_changed,
        o.unmodelled,
        if o.unsound.is_empty() {
            String::new()
        } else {
            format!("; {} UNSOUND", o.unsound.len())
        }
    );
    for u in &o.unsound {
        println!("    UNSOUND {u}");
    }
    for n in &o.notes {
        println!("    note: {n}");
    }
    if let Some(w) = &o.no_success_why {
        println!("    no successful postinst: {w}");
    }
}

#[allow(clippy::too_many_arguments)]
fn summary(
    outcomes: &[Outcome],
    s: &Settings,
    passed_over: usize,
    downloaded: usize,
    unreadable: &[String],
    peak: &(usize, String),
    slowest: &(Duration, String),
    analysis_time: Duration,
    scripts_analysed: usize,
    elapsed: Duration,
) -> Result<()> {
    let sum = |f: &dyn Fn(&Outcome) -> usize| outcomes.iter().map(f).sum::<usize>();
    let sequences = sum(&|o| o.obs.sequences);
    let recorded = sum(&|o| o.obs.recorded);
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for o in outcomes {
        for (k, v) in &o.obs.successful_runs {
            *runs.entry(k.clone()).or_default() += v;
        }
    }
    let (seen, predicted) = (sum(&|o| o.cmp.seen), sum(&|o| o.cmp.predicted));
    let (seen_c, predicted_c) = (
        sum(&|o| o.cmp.seen_changed),
        sum(&|o| o.cmp.predicted_changed),
    );
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    let libcap = outcomes.iter().filter(|o| o.why == Why::Libcap).count();
    let unsound: Vec<&String> = outcomes.iter().flat_map(|o| &o.unsound).collect();
    let no_success: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.no_success_why.is_some())
        .collect();
    let foreign: Vec<String> = outcomes
        .iter()
        .filter(|o| {
            o.notes
                .iter()
                .any(|n| n.contains("which the sandbox cannot run"))
        })
        .map(|o| o.name.clone())
        .collect();
    println!();
    println!(
        "sweep --differential: {} package(s) ({libcap} reverse dependencies of libcap2-bin, {} with a privilege change; {passed_over} of {downloaded} fetched had none), seed {}, up to {} sequences and {:.0?} each, in {:.0?}",
        outcomes.len(),
        outcomes.len() - libcap,
        s.seed,
        s.runs,
        s.budget,
        elapsed
    );
    let runs_text: Vec<String> = runs.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!(
        "sweep --differential: {sequences} sequences, {recorded} recorded; successful runs: {}",
        runs_text.join(", ")
    );
    println!(
        "sweep --differential: precision {seen}/{predicted} = {:.1}% over every observed path; {seen_c}/{predicted_c} = {:.1}% over the paths scripts may change",
        pct(seen, predicted),
        pct(seen_c, predicted_c)
    );
    println!(
        "sweep --differential: {} path(s) made by scripts have no state in debgate (none privileged unless listed as unsound); {} of them not root:root",
        sum(&|o| o.unmodelled),
        sum(&|o| o.unmodelled_owned.len())
    );
    for o in outcomes {
        for u in &o.unmodelled_owned {
            println!("    unmodelled {}: {u}", o.name);
        }
    }
    println!(
        "sweep --differential: largest peak_paths {} ({}); slowest script analysis {:.1?} ({}); {scripts_analysed} scripts analysed in {:.1?}",
        peak.0,
        peak.1,
        slowest.0,
        slowest.1,
        analysis_time
    );
    println!(
        "sweep --differential: {} package(s) with no successful postinst run (they observe nothing): {}",
        no_success.len(),
        no_success
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !foreign.is_empty() {
        println!(
            "sweep --differential: scripts the sandbox cannot run (not shell): {}",
            foreign.join(", ")
        );
    }
    for u in unreadable {
        println!("sweep --differential: not compared: {u}");
    }
    println!("sweep --differential: {} unsound state(s)", unsound.len());
    for u in &unsound {
        println!("UNSOUND {u}");
    }
    if s.only.is_empty() && outcomes.len() < s.count {
        bail!(
            "only {} package(s) found of the {} asked for",
            outcomes.len(),
            s.count
        );
    }
    if !unsound.is_empty() {
        bail!(
            "{} observed state(s) debgate does not predict",
            unsound.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_literal_paths_and_interpreters() {
        let w =
            absolute_words("chmod 4755 \"/usr/bin/x\"; for f in /bin/a /etc/b/; do :; done\nx=a/b");
        assert_eq!(w, vec!["/usr/bin/x", "/bin/a", "/etc/b"]);
        assert_eq!(
            foreign_interpreter("#!/usr/bin/perl -w\n"),
            Some("perl".into())
        );
        assert_eq!(
            foreign_interpreter("#!/usr/bin/env python3\n"),
            Some("python3".into())
        );
        assert_eq!(foreign_interpreter("#! /bin/sh -e\n"), None);
        assert_eq!(foreign_interpreter("#!/bin/bash\n"), None);
    }

    #[test]
    fn resolves_symlinks_inside_the_package() {
        assert_eq!(
            resolve("/usr/bin/x", "../lib/x/x").as_deref(),
            Some("/usr/lib/x/x")
        );
        assert_eq!(resolve("/sbin/x", "/bin/y").as_deref(), Some("/usr/bin/y"));
        assert_eq!(resolve("/x", "../../y"), None);
    }

    #[test]
    fn privileged_states() {
        assert!(privileged_state("4755 root:root"));
        assert!(privileged_state("0755 root:root cap_net_raw=ep"));
        assert!(!privileged_state("0755 man:man"));
    }
}
