//! `cargo xtask sweep`: debgate on many real packages picked at random from apt's lists, to
//! show it reads what users actually run, not only the corpus it was tuned on.
//!
//! `cargo xtask sweep --count 200 --seed 1` takes every name `apt-cache pkgnames` lists, sorts
//! them, shuffles them with the seed (the same seed and lists give the same packages), and
//! downloads `--count` of them with `apt-get download` into `target/sweep/` (kept as a cache).
//! It then runs `debgate check --format json` on all of them as one set and `debgate inspect
//! --format json` on each, so each package is decompressed twice: those are the two commands
//! under test (`check` reports no script changes; `inspect` takes one package). It fails when
//! a package cannot be read or inspected, and prints what the maintainer-script analyzer
//! found, so that a reader can spot-check it against the scripts. It is not a step of `ci`:
//! it downloads hundreds of MiB.
//!
//! `cargo xtask sweep --differential` is the differential test over real packages instead:
//! see the `differential` module.

use crate::corpus::Apt;
use crate::util::{self, tail};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// How many names to try per package wanted: some listed names have no candidate to download
/// on this architecture.
const TRIES_PER_PACKAGE: usize = 3;

/// What was wrong with one package, for the closing list.
struct Problem {
    file: PathBuf,
    what: String,
}

/// A seeded pick of real packages, downloaded: what `sweep` checks, and what `bench`'s archive
/// section builds its repository from when the sweep has not run.
pub(crate) struct Pick {
    pub(crate) debs: Vec<PathBuf>,
    /// How many names apt's lists hold.
    pub(crate) listed: usize,
    /// Names tried that had nothing to download here.
    pub(crate) skipped: usize,
}

/// Every name in apt's lists, sorted, then shuffled with `seed`: the same seed and lists give
/// the same order, so `sweep`, `scale-sample` and `bench` pick the same packages from a seed.
pub(crate) fn seeded_names(seed: u64) -> Result<Vec<String>> {
    if !util::on_path("apt-get") || !util::on_path("apt-cache") {
        bail!("apt-get and apt-cache are needed: the pick is taken from apt's lists");
    }
    let mut names = package_names()?;
    fastrand::Rng::with_seed(seed).shuffle(&mut names);
    Ok(names)
}

/// Downloads the first `count` names of the seeded order that have something to download
/// into `cache` (kept: a later run reuses what is there).
pub(crate) fn fetch_seeded(cache: &Path, count: usize, seed: u64) -> Result<Pick> {
    let names = seeded_names(seed)?;
    let listed = names.len();
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let mut apt = Apt::new(cache.to_path_buf());
    let mut debs = Vec::new();
    let mut skipped = 0;
    for name in names.iter().take(count * TRIES_PER_PACKAGE) {
        if debs.len() == count {
            break;
        }
        match apt.fetch(name, None) {
            Ok(deb) => debs.push(deb),
            // A name with no candidate here (another architecture's, a virtual one): skip it.
            Err(_) => skipped += 1,
        }
    }
    Ok(Pick {
        debs,
        listed,
        skipped,
    })
}

pub fn run(root: &Path, count: usize, seed: u64) -> Result<()> {
    let cache = util::target_dir(root).join("sweep");
    let Pick {
        debs,
        listed,
        skipped,
    } = fetch_seeded(&cache, count, seed)?;
    let bytes: u64 = debs
        .iter()
        .filter_map(|d| std::fs::metadata(d).ok())
        .map(|m| m.len())
        .sum();
    eprintln!(
        "sweep: {} package(s) of {} listed names (seed {seed}; {skipped} name(s) had nothing to download), {:.1} MiB",
        debs.len(),
        listed,
        bytes as f64 / (1 << 20) as f64
    );
    let exe = util::build_release_debgate(root)?;
    let mut problems = Vec::new();

    let started = Instant::now();
    let out = Command::new(&exe)
        .args(["check", "--format", "json"])
        .args(&debs)
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let took = started.elapsed();
    let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "debgate check printed no JSON (exit {:?}): {}",
            out.status.code(),
            tail(&out.stderr, 5)
        )
    })?;
    for p in report["packages"].as_array().into_iter().flatten() {
        if let Some(err) = p["error"].as_str() {
            problems.push(Problem {
                file: PathBuf::from(p["file"].as_str().unwrap_or("?")),
                what: format!("check: {err}"),
            });
        }
    }
    println!(
        "sweep: debgate check read {} package(s) as one set in {:.2} s: {} unreadable",
        report["summary"]["packages"],
        took.as_secs_f64(),
        problems.len()
    );

    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    let mut changed_packages = Vec::new();
    let mut diagnostics = 0;
    for deb in &debs {
        let out = Command::new(&exe)
            .args(["inspect", "--format", "json"])
            .arg(deb)
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        let parsed: Option<Value> = serde_json::from_slice(&out.stdout).ok();
        let Some(v) = parsed.filter(|_| out.status.success()) else {
            problems.push(Problem {
                file: deb.clone(),
                what: format!(
                    "inspect exited {:?}: {}",
                    out.status.code(),
                    tail(&out.stderr, 3)
                ),
            });
            continue;
        };
        let changes = v["changes"].as_array().map_or(0, Vec::len);
        for c in v["changes"].as_array().into_iter().flatten() {
            *actions
                .entry(c["action"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        diagnostics += v["diagnostics"].as_array().map_or(0, Vec::len);
        if changes > 0 {
            changed_packages.push(format!(
                "{} ({changes})",
                v["package"].as_str().unwrap_or("?")
            ));
        }
    }
    let found: Vec<String> = actions.iter().map(|(a, n)| format!("{a} {n}")).collect();
    println!(
        "sweep: debgate inspect: {} package(s) whose maintainer scripts change files ({}); {diagnostics} diagnostic(s)",
        changed_packages.len(),
        if found.is_empty() {
            "none".to_string()
        } else {
            found.join(", ")
        }
    );
    if !changed_packages.is_empty() {
        println!("sweep: spot-check them: {}", changed_packages.join(", "));
    }
    if problems.is_empty() {
        println!("sweep: every package was read and inspected");
        return Ok(());
    }
    for p in &problems {
        println!("FAIL {}: {}", p.file.display(), p.what);
    }
    bail!("{} problem(s) in the sweep", problems.len())
}

/// Every package name in apt's lists, sorted, so that a seed picks the same packages from the
/// same lists.
pub(crate) fn package_names() -> Result<Vec<String>> {
    let out = Apt::command("apt-cache")
        .arg("pkgnames")
        .output()
        .context("running apt-cache pkgnames")?;
    if !out.status.success() {
        bail!("apt-cache pkgnames failed: {}", tail(&out.stderr, 5));
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        bail!("apt-cache pkgnames lists nothing: run apt-get update");
    }
    Ok(names)
}
