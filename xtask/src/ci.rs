//! `cargo xtask ci`: every check the project gates on, in order, stopping at the first failure.
//!
//! Before the closing line, a table gives each step's wall-clock seconds and the total, so that
//! the time CI spends is seen where it goes (the run must stay well inside CI's limit). The
//! closing line is `ci: N steps passed, M failed` (with `, K skipped` when some did not run),
//! and the exit status is non-zero on any failure, because CI judges a run by its closing line
//! and exit code.

use crate::{corpus, fuzz, sarif, tidy, util};
use anyhow::{bail, Result};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

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

/// Never `Skipped`: without a harness the step fails, because a fuzz step that quietly does
/// nothing would look like one that found nothing.
fn fuzz_step(root: &Path) -> Result<StepResult> {
    Ok(match fuzz::ci(root)? {
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
/// release build), a short run of every fuzz target (its instrumented build takes minutes),
/// then the slow real-package corpus.
const STEPS: [(&str, StepFn); 8] = [
    ("cargo fmt --all -- --check", fmt),
    (
        "cargo clippy --workspace --all-targets -- -D warnings",
        clippy,
    ),
    ("cargo test --workspace", test),
    ("tidy", tidy_step),
    ("cargo xtask kspp --check", kspp_step),
    ("sarif-multitool validate", sarif_step),
    ("cargo xtask fuzz --ci", fuzz_step),
    ("corpus", corpus_step),
];

pub fn run(root: &Path) -> Result<()> {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failure = None;
    let mut timings: Vec<Timing> = Vec::new();
    let started = Instant::now();
    for (i, (name, step)) in STEPS.iter().enumerate() {
        if failure.is_some() {
            skipped += 1;
            timings.push(Timing {
                name,
                took: None,
                result: "not run",
            });
            continue;
        }
        println!("ci: [{}/{}] {name}", i + 1, STEPS.len());
        let step_started = Instant::now();
        // An error (a tool that could not start, an unreadable data file) fails the step just
        // like a non-zero exit: it must stop the run and be reported, never ignored.
        let result = step(root).unwrap_or_else(|e| StepResult::Failed(format!("{e:#}")));
        let took = step_started.elapsed();
        let result = match result {
            StepResult::Passed => {
                passed += 1;
                "passed"
            }
            StepResult::Skipped(why) => {
                println!("ci: {name}: skipped ({why})");
                skipped += 1;
                "skipped"
            }
            StepResult::Failed(why) => {
                println!("ci: FAILED at {name}: {why}");
                failed += 1;
                failure = Some(name);
                "FAILED"
            }
        };
        println!("ci: {name}: {result} in {}", seconds(took));
        timings.push(Timing {
            name,
            took: Some(took),
            result,
        });
    }
    print!("{}", timing_table(&timings, started.elapsed()));
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

/// One row of the closing time table.
struct Timing {
    name: &'static str,
    /// `None` for a step not run after an earlier failure.
    took: Option<Duration>,
    result: &'static str,
}

/// Seconds with one decimal: a step takes from about a second to many minutes, and tenths are
/// as fine as wall-clock time on a shared machine means anything.
fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The `step  seconds  result` table and its `total` line, each line starting with `ci:` like
/// the rest of the run's own output.
fn timing_table(rows: &[Timing], total: Duration) -> String {
    let width = rows
        .iter()
        .map(|r| r.name.len())
        .chain(["step".len(), "total".len()])
        .max()
        .unwrap_or_default();
    let mut out = String::new();
    let mut line = |name: &str, secs: &str, result: &str| {
        let _ = writeln!(out, "ci: {name:<width$}  {secs:>8}  {result}");
    };
    line("step", "seconds", "result");
    for r in rows {
        let secs = r
            .took
            .map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64()));
        line(r.name, &secs, r.result);
    }
    line("total", &format!("{:.1}", total.as_secs_f64()), "");
    // No trailing blanks after an empty result column.
    out.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_every_step_and_the_total() {
        let rows = [
            Timing {
                name: "fmt",
                took: Some(Duration::from_millis(1_240)),
                result: "passed",
            },
            Timing {
                name: "cargo test --workspace",
                took: Some(Duration::from_secs(200)),
                result: "FAILED",
            },
            Timing {
                name: "corpus",
                took: None,
                result: "not run",
            },
        ];
        let table = timing_table(&rows, Duration::from_millis(201_300));
        assert_eq!(
            table,
            "\
ci: step                     seconds  result
ci: fmt                          1.2  passed
ci: cargo test --workspace     200.0  FAILED
ci: corpus                         -  not run
ci: total                      201.3
"
        );
    }
}
