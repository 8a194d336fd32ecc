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
        // The facts cache of --archive runs: a fresh one for each run, never the user's, so
        // that no test is answered by facts another one stored.
        .env("XDG_CACHE_HOME", fresh_dir())
        .args(args)
        .output()
        .expect("run debgate")
}

/// A directory under the test target's temporary directory that no run has used (debgate
/// makes it only if it stores something there).
fn fresh_dir() -> PathBuf {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("xdg-cache-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
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

/// Two one-package sets (`dir/old`, `dir/new`) whose new side carries `text` in a file name, a
/// conffile and a maintainer script, and `control` in a control field (which cannot hold every
/// character `text` may): what the renderers must keep from acting on a terminal or a page.
pub fn hostile_sets(dir: &Path, text: &str, control: &str) -> (PathBuf, PathBuf) {
    use debgate_facts::{Compression, ScriptName};
    use debgate_writer::{deb_bytes, FileSpec, PackageSpec};
    let field = control;
    let control = |version: &str, extra: &str| {
        format!(
            "Package: hostile\nVersion: {version}\nArchitecture: amd64\nMaintainer: T <t@example.org>\n{extra}Description: test\n"
        )
    };
    let old = PackageSpec {
        control: control("1.0", ""),
        conffiles: vec!["/etc/hostile.conf".into()],
        scripts: vec![(ScriptName::Postinst, "#!/bin/sh\nset -e\n".into())],
        files: vec![FileSpec::file("/etc/hostile.conf", 0o644, "a = 1\n")],
        ..PackageSpec::default()
    };
    let new = PackageSpec {
        control: control("1.1", &format!("Homepage: {field}\n")),
        conffiles: vec!["/etc/hostile.conf".into()],
        scripts: vec![(
            ScriptName::Postinst,
            format!("#!/bin/sh\nset -e\necho '{text}'\n"),
        )],
        files: vec![
            FileSpec::file("/etc/hostile.conf", 0o644, format!("a = 1\n{text}\n")),
            FileSpec::file(&format!("/usr/share/hostile/{text}"), 0o644, "x\n"),
        ],
        ..PackageSpec::default()
    };
    let write = |side: &str, spec: &PackageSpec| {
        let d = dir.join(side);
        std::fs::create_dir_all(&d).unwrap();
        let bytes = deb_bytes(spec, Compression::Gzip, Compression::Gzip).unwrap();
        std::fs::write(d.join("hostile.deb"), bytes).unwrap();
        d
    };
    (write("old", &old), write("new", &new))
}
