//! A closed stdout (`debgate check DIR | head`) ends the writing quietly: no panic, no message,
//! and the exit status is still the one the run computed (0 clean, 1 failed), so a gate under
//! `set -o pipefail` sees a failure as a failure.

mod common;

use common::root;
use std::process::{Command, Output, Stdio};

const CLEAN: &str = "testdata/releases/groovy-like";
const FAILING: &str = "testdata/releases/groovy-unrestricted";
const REGRESSION: &str = "testdata/releases/adm-proposal-script";

/// Run debgate with stdout the write end of a pipe whose read end is already closed, so that
/// its first write fails with `EPIPE` whatever the timing. The pipe comes from a child that
/// exits at once: std closes the parent's copy of the read end at spawn, and the child's when
/// it exits.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut reader = Command::new("true")
        .stdin(Stdio::piped())
        .spawn()
        .expect("run true");
    let write_end = reader.stdin.take().expect("a pipe");
    reader.wait().expect("true exits");
    Command::new(env!("CARGO_BIN_EXE_debgate"))
        .current_dir(root())
        .args(args)
        .stdout(Stdio::from(write_end))
        .stderr(Stdio::piped())
        .output()
        .expect("run debgate")
}

fn assert_quiet(args: &[&str], code: i32) {
    let out = with_closed_stdout(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.is_empty(),
        "debgate {}: stderr should be empty on a closed pipe, got:\n{stderr}",
        args.join(" ")
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "debgate {}: the computed exit status",
        args.join(" ")
    );
}

#[test]
fn check_on_a_closed_pipe_keeps_its_exit_status() {
    for format in ["text", "json", "jsonl", "junit", "sarif"] {
        assert_quiet(&["check", "-v", "--format", format, FAILING], 1);
        assert_quiet(&["check", "-v", "--format", format, CLEAN], 0);
    }
}

#[test]
fn diff_inspect_and_listings_on_a_closed_pipe_stay_quiet() {
    for format in ["text", "json", "markdown", "html"] {
        assert_quiet(&["diff", "--format", format, CLEAN, REGRESSION], 1);
        assert_quiet(&["diff", "--format", format, CLEAN, CLEAN], 0);
    }
    let deb = std::fs::read_dir(root().join(FAILING))
        .expect("fixture directory")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("a fixture .deb");
    let deb = deb.to_str().expect("UTF-8 fixture path");
    assert_quiet(&["inspect", "--format", "json", deb], 0);
    assert_quiet(&["inspect", deb], 0);
    assert_quiet(&["rules"], 0);
    assert_quiet(&["limits"], 0);
}
