//! `cargo xtask ci`: every check the project gates on, in order, stopping at the first failure.
//!
//! The closing line is `ci: N steps passed, M failed` (with `, K skipped` when some did not
//! run), and the exit status is non-zero on any failure, because CI judges a run by its closing
//! line and exit code.

use crate::{corpus, sarif, tidy, util};
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

fn sarif_step(root: &Path) -> Result<StepResult> {
    Ok(match sarif::validate(root)? {
        Ok(()) => StepResult::Passed,
        Err(why) => StepResult::Failed(why),
    })
}

fn kspp_step(root: &Path) -> Result<StepResult> {
    Ok(match crate::kspp::check(root)? {
        Ok(()) => StepResult::Passed,
        Err(why) => StepResult::Failed(why),
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

/// The steps in the order the project gates on: formatting and lints first because they are
/// quick and their slips are the commonest, then the tests, then tidy (also run by the tests as
/// `xtask/tests/tidy.rs`, but reported here by name), the SARIF validation (it needs npm and a
/// release build), then the slow real-package corpus.
const STEPS: [(&str, StepFn); 7] = [
    ("cargo fmt --all -- --check", fmt),
    (
        "cargo clippy --workspace --all-targets -- -D warnings",
        clippy,
    ),
    ("cargo test --workspace", test),
    ("tidy", tidy_step),
    ("cargo xtask kspp --check", kspp_step),
    ("sarif-multitool validate", sarif_step),
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
    // A step skipped for a missing tool (the corpus without apt-get) did not pass, and one not
    // run after a failure did not either: say how many, so "passed" is never inflated.
    if skipped > 0 {
        println!("ci: {passed} steps passed, {failed} failed, {skipped} skipped");
    } else {
        println!("ci: {passed} steps passed, {failed} failed");
    }
    match failure {
        Some(name) => bail!("ci failed at step `{name}`"),
        None => Ok(()),
    }
}
