//! `cargo xtask ci`: every check the project gates on, in order, stopping at the first failure.
//!
//! The closing line is `ci: N passed, M failed, K skipped` (steps), and the exit status is
//! non-zero on any failure, because CI judges a run by its closing lines and exit code.

use crate::{corpus, tidy, util};
use anyhow::{bail, Result};
use std::path::Path;

/// What a step came to.
enum StepResult {
    Passed,
    Skipped(String),
    Failed(String),
}

type StepFn = fn(&Path) -> Result<StepResult>;

/// Runs `cargo ARGS` in the workspace with inherited output.
fn cargo_step(root: &Path, args: &[&str]) -> Result<StepResult> {
    let status = util::cargo().current_dir(root).args(args).status()?;
    Ok(if status.success() {
        StepResult::Passed
    } else {
        StepResult::Failed(format!("`cargo {}` exited with {status}", args.join(" ")))
    })
}

fn fmt(root: &Path) -> Result<StepResult> {
    cargo_step(root, &["fmt", "--all", "--", "--check"])
}

fn clippy(root: &Path) -> Result<StepResult> {
    cargo_step(
        root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )
}

fn test(root: &Path) -> Result<StepResult> {
    cargo_step(root, &["test", "--workspace"])
}

fn tidy_step(root: &Path) -> Result<StepResult> {
    let failed = tidy::run_all(root)?;
    Ok(if failed == 0 {
        StepResult::Passed
    } else {
        StepResult::Failed(format!("{failed} tidy check(s) failed"))
    })
}

fn corpus_step(root: &Path) -> Result<StepResult> {
    Ok(match corpus::run(root)? {
        corpus::Outcome::Skipped(why) => {
            println!("corpus: skipped: {why}");
            StepResult::Skipped(why)
        }
        corpus::Outcome::Ran { failed: 0, .. } => StepResult::Passed,
        corpus::Outcome::Ran { failed, .. } => {
            StepResult::Failed(format!("{failed} corpus expectation(s) failed"))
        }
    })
}

/// The steps, cheapest first after formatting, so a slip is reported in seconds: tidy runs
/// before the (long) test step even though the tests run it again as `xtask/tests/tidy.rs`.
const STEPS: [(&str, StepFn); 5] = [
    ("cargo fmt --all -- --check", fmt),
    (
        "cargo clippy --workspace --all-targets -- -D warnings",
        clippy,
    ),
    ("tidy", tidy_step),
    ("cargo test --workspace", test),
    ("corpus", corpus_step),
];

pub fn run(root: &Path) -> Result<()> {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failure = None;
    for (i, (name, step)) in STEPS.iter().enumerate() {
        if failure.is_some() {
            skipped += 1;
            continue;
        }
        println!("ci: [{}/{}] {name}", i + 1, STEPS.len());
        // An error (a tool that could not start, an unreadable data file) fails the step just
        // like a non-zero exit: it must stop the run and be reported, never ignored.
        match step(root).unwrap_or_else(|e| StepResult::Failed(format!("{e:#}"))) {
            StepResult::Passed => passed += 1,
            StepResult::Skipped(why) => {
                println!("ci: {name}: skipped ({why})");
                skipped += 1;
            }
            StepResult::Failed(why) => {
                println!("ci: FAILED at {name}: {why}");
                failed += 1;
                failure = Some(name);
            }
        }
    }
    if skipped > 0 {
        println!("ci: {passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("ci: {passed} passed, {failed} failed");
    }
    match failure {
        Some(name) => bail!("ci failed at step `{name}`"),
        None => Ok(()),
    }
}
