//! `cargo xtask fuzz`: run every cargo-fuzz target of `crates/fuzz` in turn for a while, with
//! libFuzzer's memory limits so that a blow-up counts as a crash, growing the committed corpus.
//! Needs the nightly toolchain and cargo-fuzz; says so, and fails, when either is missing.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// libFuzzer's limits: a run over these is a crash (`-rss_limit_mb`, `-malloc_limit_mb`).
pub const RSS_LIMIT_MB: u32 = 2048;
pub const MALLOC_LIMIT_MB: u32 = 1024;

/// The targets, from `crates/fuzz/fuzz_targets/*.rs`, sorted.
pub fn targets(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("crates/fuzz/fuzz_targets");
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

/// The arguments of one target's run: `seconds` of fuzzing over its committed corpus.
pub fn run_args(target: &str, seconds: u64) -> Vec<String> {
    [
        "+nightly",
        "fuzz",
        "run",
        target,
        "-O",
        "--fuzz-dir",
        "crates/fuzz",
        "--",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("-max_total_time={seconds}"),
        format!("-rss_limit_mb={RSS_LIMIT_MB}"),
        format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"),
        "-timeout=10".to_string(),
    ])
    .collect()
}

/// Run every target for `minutes` each; fails on the first crash (its input is in
/// `crates/fuzz/artifacts/TARGET/`: minimise it and make it a regression test).
pub fn run(root: &Path, minutes: u64) -> Result<()> {
    let probe = Command::new("cargo")
        .args(["+nightly", "fuzz", "--version"])
        .current_dir(root)
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        bail!(
            "cargo-fuzz on the nightly toolchain is missing: rustup toolchain install nightly; \
             cargo install cargo-fuzz --locked"
        );
    }
    for target in targets(root)? {
        println!("fuzz: {target}: {minutes} minute(s)");
        let status = Command::new("cargo")
            .args(run_args(&target, minutes * 60))
            .current_dir(root)
            .status()
            .with_context(|| format!("running cargo fuzz for {target}"))?;
        if !status.success() {
            bail!("fuzz target {target} failed: see crates/fuzz/artifacts/{target}/");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{run_args, targets};

    #[test]
    fn every_target_runs_with_the_memory_limits() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let t = targets(&root).unwrap();
        assert!(t.len() >= 6, "{t:?}");
        let args = run_args(&t[0], 90);
        assert!(args.contains(&"-max_total_time=90".to_string()));
        assert!(args.iter().any(|a| a.starts_with("-rss_limit_mb=")));
        assert!(args.iter().any(|a| a.starts_with("-malloc_limit_mb=")));
        assert_eq!(args[3], t[0]);
    }
}
