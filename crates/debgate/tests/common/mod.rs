//! What the CLI tests share: running the built binary from the workspace root, reading its
//! JSON, and comparing with snapshot files (`DEBGATE_BLESS=1` rewrites them).

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Run debgate in `dir`. NO_COLOR is removed so that a test sees the default colouring (none
/// on a pipe), not the caller's setting.
pub fn debgate_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_debgate"))
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .args(args)
        .output()
        .expect("run debgate")
}

/// Run debgate in the workspace root, so that relative paths in the output are stable.
pub fn debgate(args: &[&str]) -> Output {
    debgate_in(&root(), args)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The results of one rule in a `check --format json` report.
pub fn results_of<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["rule"] == rule)
        .collect()
}

/// Compare `actual` with `DIR/NAME` under the workspace root, or write it when DEBGATE_BLESS
/// is set.
pub fn snapshot(dir: &str, name: &str, actual: &str) {
    let path = root().join(dir).join(name);
    if std::env::var_os("DEBGATE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with DEBGATE_BLESS=1 to create it)",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs (DEBGATE_BLESS=1 rewrites it; review the change): {}",
        path.display(),
        first_difference(&expected, actual)
    );
}

/// The first differing line, enough to see what moved.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let first = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    format!(
        "line {}:\n- {}\n+ {}",
        first + 1,
        e.get(first).unwrap_or(&"(end)"),
        a.get(first).unwrap_or(&"(end)")
    )
}
