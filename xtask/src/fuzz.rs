//! `cargo xtask fuzz` and the `fuzz` step of `cargo xtask ci`: build the cargo-fuzz targets of
//! `crates/fuzz` and run each with libFuzzer's memory limits, so that a blow-up counts as a
//! crash. `fuzz --minutes N` grows the committed corpus; the CI step fuzzes a scratch copy of
//! it for a few seconds per target and changes no file in the repository.
//!
//! The harness is nightly with AddressSanitizer when `cargo +nightly fuzz` works, else the
//! toolchain `cargo xtask` runs on (stable in CI) without a sanitizer: cargo-fuzz's
//! `--sanitizer none` passes no `-Z` flag, and the coverage instrumentation (`-Cpasses=sancov-module`,
//! `-Cllvm-args`) is stable. `DEBGATE_FUZZ_TOOLCHAIN=nightly|stable` forces one. With neither,
//! the step fails: it never skips.

use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util;

/// libFuzzer's limits: a run over these is a crash (`-rss_limit_mb`, `-malloc_limit_mb`).
pub const RSS_LIMIT_MB: u32 = 2048;
pub const MALLOC_LIMIT_MB: u32 = 1024;

/// Seconds each target is fuzzed in `cargo xtask ci`: enough to replay the committed corpus and
/// mutate it a little, short enough that six targets cost about a minute and a half.
pub const CI_SECONDS: u64 = 15;

/// The environment variable that forces a harness: `nightly` or `stable`.
pub const TOOLCHAIN_ENV: &str = "DEBGATE_FUZZ_TOOLCHAIN";

/// The fuzz project, relative to the workspace root.
const FUZZ_DIR: &str = "crates/fuzz";

/// How the targets are built and run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Harness {
    /// `cargo +nightly fuzz`, with AddressSanitizer (cargo-fuzz's default), which also catches
    /// memory errors in the C libraries built in (liblzma, zstd, tree-sitter).
    Nightly,
    /// `cargo fuzz --sanitizer none` on the toolchain `cargo xtask` runs on: the same coverage
    /// guidance and the same panics, but no AddressSanitizer, and `-malloc_limit_mb` is not
    /// enforced (libFuzzer sees allocations through the sanitizer's hooks); `-rss_limit_mb` is.
    Stable,
}

impl Harness {
    pub fn name(self) -> &'static str {
        match self {
            Harness::Nightly => "nightly",
            Harness::Stable => "stable",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Harness::Nightly => "nightly, AddressSanitizer",
            Harness::Stable => "the toolchain xtask runs on, --sanitizer none",
        }
    }

    /// `cargo [+nightly]`: the rustup proxy on PATH, not `$CARGO`, because `+nightly` is the
    /// proxy's to read. Without `+`, the proxy keeps the toolchain `cargo xtask` runs on (it
    /// passes `RUSTUP_TOOLCHAIN` down).
    fn cargo(self) -> Command {
        let mut cmd = Command::new("cargo");
        if self == Harness::Nightly {
            cmd.arg("+nightly");
        }
        cmd
    }

    /// The arguments every `cargo fuzz SUBCOMMAND` of this harness takes after the subcommand.
    /// No `-O`: cargo-fuzz then builds optimised with debug assertions and overflow checks, so
    /// that an overflow panics here as it does under `cargo test`.
    fn fuzz_args(self, subcommand: &str, target_dir: Option<&Path>) -> Vec<String> {
        let mut args = vec![
            "fuzz".to_string(),
            subcommand.to_string(),
            "--fuzz-dir".to_string(),
            FUZZ_DIR.to_string(),
        ];
        if self == Harness::Stable {
            args.extend(["--sanitizer".to_string(), "none".to_string()]);
        }
        if let Some(dir) = target_dir {
            args.extend(["--target-dir".to_string(), dir.display().to_string()]);
        }
        args
    }
}

/// Picks the harness from what `TOOLCHAIN_ENV` asks for and which probes work. An error says
/// what is missing and how to install it.
pub fn choose(
    forced: Option<&str>,
    nightly_works: bool,
    stable_works: bool,
) -> Result<Harness, String> {
    let install =
        "cargo install cargo-fuzz --locked; rustup toolchain install nightly --profile minimal \
                   (.ci/run does both)";
    match forced.map(str::trim).filter(|f| !f.is_empty()) {
        Some("nightly") if nightly_works => Ok(Harness::Nightly),
        Some("nightly") => Err(format!(
            "{TOOLCHAIN_ENV}=nightly, but `cargo +nightly fuzz --version` fails: {install}"
        )),
        Some("stable") if stable_works => Ok(Harness::Stable),
        Some("stable") => Err(format!(
            "{TOOLCHAIN_ENV}=stable, but `cargo fuzz --version` fails: {install}"
        )),
        Some(other) => Err(format!(
            "{TOOLCHAIN_ENV}={other:?}: expected `nightly` or `stable`"
        )),
        None if nightly_works => Ok(Harness::Nightly),
        None if stable_works => Ok(Harness::Stable),
        None => Err(format!(
            "cargo-fuzz is missing (`cargo fuzz --version` fails), so no fuzz target can be built: {install}"
        )),
    }
}

/// Whether `cargo [+nightly] fuzz --version` works. rustup must not install a missing
/// toolchain here: a probe only looks (`.ci/run` is where installing is tried).
fn probe(harness: Harness) -> bool {
    harness
        .cargo()
        .args(["fuzz", "--version"])
        .env("RUSTUP_AUTO_INSTALL", "0")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The harness to use here, from `TOOLCHAIN_ENV` and the probes.
pub fn harness() -> Result<Harness, String> {
    let forced = std::env::var(TOOLCHAIN_ENV).ok();
    choose(
        forced.as_deref(),
        probe(Harness::Nightly),
        probe(Harness::Stable),
    )
}

/// The targets, from `crates/fuzz/fuzz_targets/*.rs`, sorted.
pub fn targets(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(FUZZ_DIR).join("fuzz_targets");
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "rs" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .collect();
    out.sort();
    Ok(out)
}

/// libFuzzer's own arguments for `seconds` of fuzzing: the memory limits, a per-input timeout,
/// and the closing statistics (executions, peak RSS) that a run's record quotes.
pub fn libfuzzer_args(seconds: u64) -> Vec<String> {
    vec![
        format!("-max_total_time={seconds}"),
        format!("-rss_limit_mb={RSS_LIMIT_MB}"),
        format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"),
        "-timeout=10".to_string(),
        "-print_final_stats=1".to_string(),
    ]
}

/// The arguments of `cargo fuzz run` for one target: `seconds` of fuzzing over `corpus` (the
/// first corpus directory is where libFuzzer writes what it finds).
pub fn run_args(
    harness: Harness,
    target: &str,
    seconds: u64,
    target_dir: Option<&Path>,
    corpus: Option<&Path>,
) -> Vec<String> {
    let mut args = harness.fuzz_args("run", target_dir);
    args.push(target.to_string());
    if let Some(corpus) = corpus {
        args.push(corpus.display().to_string());
    }
    args.push("--".to_string());
    args.extend(libfuzzer_args(seconds));
    args
}

/// Builds every target in one `cargo fuzz build` (one cargo run shares the dependencies' build
/// across the six binaries).
fn build(root: &Path, harness: Harness, target_dir: Option<&Path>) -> Result<()> {
    let status = harness
        .cargo()
        .args(harness.fuzz_args("build", target_dir))
        .current_dir(root)
        .status()
        .context("running cargo fuzz build")?;
    if !status.success() {
        bail!(
            "`cargo fuzz build` ({}) failed with {status}",
            harness.describe()
        );
    }
    Ok(())
}

/// The files in a target's artifact directory (crash-*, oom-*, timeout-*, leak-*).
fn artifacts(root: &Path, target: &str) -> BTreeSet<PathBuf> {
    let dir = root.join(FUZZ_DIR).join("artifacts").join(target);
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect()
}

/// Runs one target; on failure, the message names the target, the new artifacts, and how to
/// reproduce one.
fn run_target(
    root: &Path,
    harness: Harness,
    target: &str,
    seconds: u64,
    target_dir: Option<&Path>,
    corpus: Option<&Path>,
) -> Result<Result<(), String>> {
    let before = artifacts(root, target);
    let status = harness
        .cargo()
        .args(run_args(harness, target, seconds, target_dir, corpus))
        .current_dir(root)
        .status()
        .with_context(|| format!("running cargo fuzz for {target}"))?;
    if status.success() {
        return Ok(Ok(()));
    }
    let new: Vec<String> = artifacts(root, target)
        .difference(&before)
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .collect();
    let plus = match harness {
        Harness::Nightly => "+nightly ",
        Harness::Stable => "",
    };
    Ok(Err(match new.first() {
        Some(first) => format!(
            "fuzz target {target} failed ({status}): {}; reproduce with `cargo {plus}fuzz run {target} --fuzz-dir {FUZZ_DIR}{} {first}`",
            new.join(", "),
            if harness == Harness::Stable { " --sanitizer none" } else { "" },
        ),
        None => format!(
            "fuzz target {target} failed ({status}) and wrote no artifact under {FUZZ_DIR}/artifacts/{target}/: see its output above"
        ),
    }))
}

/// `cargo xtask fuzz --minutes N`: every target for `minutes` each, in turn, growing the
/// committed corpus; fails on the first crash (its input is in `crates/fuzz/artifacts/TARGET/`:
/// minimise it and make it a regression test).
pub fn run(root: &Path, minutes: u64) -> Result<()> {
    let harness = harness().map_err(anyhow::Error::msg)?;
    println!("fuzz: harness: {}", harness.describe());
    for target in targets(root)? {
        println!("fuzz: {target}: {minutes} minute(s)");
        if let Err(why) = run_target(root, harness, &target, minutes * 60, None, None)? {
            bail!("{why}");
        }
    }
    Ok(())
}

/// Copies a target's committed corpus into `scratch` (emptied first), so that a CI run can grow
/// it without touching the repository.
fn scratch_corpus(root: &Path, target: &str, scratch: &Path) -> Result<()> {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch)
            .with_context(|| format!("removing {}", scratch.display()))?;
    }
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let committed = root.join(FUZZ_DIR).join("corpus").join(target);
    // A target without a committed corpus starts from nothing, as libFuzzer allows.
    let Ok(entries) = std::fs::read_dir(&committed) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", committed.display()))?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), scratch.join(entry.file_name()))
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// The `fuzz` step of `cargo xtask ci`: build every target once (under `target/fuzz/HARNESS`,
/// apart from `crates/fuzz/target` where long runs live), then fuzz each for `CI_SECONDS` over
/// a scratch copy of its committed corpus. `Err(why)` for a missing harness, a failed build or
/// any crash (every target is still run, so one CI run names every crashing target).
pub fn ci(root: &Path) -> Result<Result<(), String>> {
    let harness = match harness() {
        Ok(h) => h,
        Err(why) => return Ok(Err(why)),
    };
    let rustc = harness
        .cargo()
        .args(["--version"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("fuzz: harness: {} ({rustc})", harness.describe());
    let target_dir = util::target_dir(root).join("fuzz").join(harness.name());
    let started = Instant::now();
    if let Err(e) = build(root, harness, Some(&target_dir)) {
        return Ok(Err(format!("{e:#}")));
    }
    println!(
        "fuzz: built every target in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut failures = Vec::new();
    for target in targets(root)? {
        let scratch = target_dir.join("corpus").join(&target);
        scratch_corpus(root, &target, &scratch)?;
        println!("fuzz: {target}: {CI_SECONDS} s");
        if let Err(why) = run_target(
            root,
            harness,
            &target,
            CI_SECONDS,
            Some(&target_dir),
            Some(&scratch),
        )? {
            println!("fuzz: {why}");
            failures.push(why);
        }
    }
    Ok(if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::{choose, run_args, targets, Harness, TOOLCHAIN_ENV};
    use std::path::Path;

    #[test]
    fn every_target_runs_with_the_memory_limits() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let t = targets(&root).unwrap();
        assert!(t.len() >= 6, "{t:?}");
        let args = run_args(Harness::Nightly, &t[0], 90, None, None);
        assert!(args.contains(&"-max_total_time=90".to_string()));
        assert!(args.iter().any(|a| a.starts_with("-rss_limit_mb=")));
        assert!(args.iter().any(|a| a.starts_with("-malloc_limit_mb=")));
        assert_eq!(
            args[..5],
            ["fuzz", "run", "--fuzz-dir", "crates/fuzz", t[0].as_str()]
        );
    }

    #[test]
    fn the_stable_harness_has_no_sanitizer_and_the_corpus_comes_before_libfuzzers_arguments() {
        let args = run_args(
            Harness::Stable,
            "deb",
            15,
            Some(Path::new("/t")),
            Some(Path::new("/t/corpus/deb")),
        );
        let dash = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(
            args[..dash],
            [
                "fuzz",
                "run",
                "--fuzz-dir",
                "crates/fuzz",
                "--sanitizer",
                "none",
                "--target-dir",
                "/t",
                "deb",
                "/t/corpus/deb"
            ]
        );
        assert_eq!(args[dash + 1], "-max_total_time=15");
    }

    #[test]
    fn nightly_first_then_stable_and_never_nothing() {
        assert_eq!(choose(None, true, true), Ok(Harness::Nightly));
        assert_eq!(choose(None, false, true), Ok(Harness::Stable));
        assert_eq!(choose(Some(""), false, true), Ok(Harness::Stable));
        assert!(choose(None, false, false)
            .unwrap_err()
            .contains("cargo install cargo-fuzz"));
    }

    #[test]
    fn a_forced_harness_is_used_or_the_step_fails() {
        assert_eq!(choose(Some("stable"), true, true), Ok(Harness::Stable));
        assert_eq!(choose(Some("nightly"), true, false), Ok(Harness::Nightly));
        let why = choose(Some("nightly"), false, true).unwrap_err();
        assert!(
            why.contains(TOOLCHAIN_ENV) && why.contains("+nightly"),
            "{why}"
        );
        assert!(choose(Some("stable"), true, false).is_err());
        assert!(choose(Some("beta"), true, true)
            .unwrap_err()
            .contains("expected `nightly` or `stable`"));
    }
}
