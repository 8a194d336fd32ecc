//! What the command line accepts as input and options: symlinked packages in a directory the
//! user names, option values refused before any package is read, and what clap generates (the
//! man page in docs/, shell completions).

mod common;

use common::{debgate, root};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// The `.deb`s of a demo release in testdata/releases, sorted.
fn release_debs(release: &str) -> Vec<PathBuf> {
    let mut debs: Vec<PathBuf> = std::fs::read_dir(root().join("testdata/releases").join(release))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    debs.sort();
    debs
}

/// A package file's name field (`NAME_VERSION_ARCH.deb`).
fn package_name(p: &Path) -> String {
    let file = p.file_name().unwrap().to_str().unwrap();
    file.split('_').next().unwrap().to_string()
}

#[test]
fn a_directory_of_symlinks_to_packages_is_read_like_the_packages() {
    let scratch = tempfile::tempdir().unwrap();
    let release = root().join("testdata/releases/focal-like");
    let debs = release_debs("focal-like");
    assert!(!debs.is_empty());
    for d in &debs {
        symlink(d, scratch.path().join(d.file_name().unwrap())).unwrap();
    }
    let direct = debgate(&["check", "--format", "json", release.to_str().unwrap()]);
    let linked = debgate(&[
        "check",
        "--format",
        "json",
        scratch.path().to_str().unwrap(),
    ]);
    assert_eq!(direct.status.code(), linked.status.code());
    let count = |out: &std::process::Output| {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["packages"].as_array().unwrap().len()
    };
    assert_eq!(
        count(&linked),
        debs.len(),
        "{}",
        String::from_utf8_lossy(&linked.stderr)
    );
    assert_eq!(count(&linked), count(&direct));
}

#[test]
fn a_bad_option_value_is_a_usage_error_not_a_bad_package() {
    let release = root().join("testdata/releases/focal-like");
    let out = debgate(&["check", "--xz-threads", "16385", release.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--xz-threads 16385"), "{err}");
    // Nothing was read: no package is blamed.
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = debgate(&[
        "check",
        "--limit",
        "max-entries=lots",
        release.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

#[test]
fn the_man_page_in_docs_is_the_one_clap_generates() {
    let out = debgate(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let man = String::from_utf8(out.stdout).unwrap();
    assert!(man.contains(".TH debgate"), "{man}");
    common::snapshot("docs", "debgate.1", &man);
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = debgate(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        // Every subcommand is offered.
        for sub in ["check", "inspect", "diff", "policies", "test-policy"] {
            assert!(text.contains(sub), "{shell}: no {sub}");
        }
    }
    let out = debgate(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_dash_reads_one_package_from_standard_input() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let deb = release_debs("focal-like").remove(0);
    let bytes = std::fs::read(&deb).unwrap();
    let piped = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_debgate"))
            .current_dir(root())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A reader that stops early (a bad package) may close the pipe: not an error here.
        let _ = child.stdin.take().unwrap().write_all(&bytes);
        child.wait_with_output().unwrap()
    };
    let names = |out: &std::process::Output| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["package"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    let from_stdin = piped(&["check", "--format", "json", "-"]);
    let from_file = debgate(&["check", "--format", "json", deb.to_str().unwrap()]);
    assert_eq!(from_stdin.status.code(), from_file.status.code());
    assert_eq!(names(&from_stdin), names(&from_file));
    let inspected = piped(&["inspect", "--format", "json", "-"]);
    assert_eq!(
        inspected.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&inspected.stderr)
    );
    let twice = piped(&["check", "-", "-"]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("standard input"));
}

#[test]
fn two_versions_of_a_package_in_a_set_are_named_and_the_highest_is_judged() {
    // The same package from two releases: the older (focal-like) and the newer (groovy-like).
    let (old, new) = (release_debs("focal-like"), release_debs("groovy-like"));
    let name = |p: &Path| package_name(p);
    // A package present in both, whose verdict differs between them: the first such.
    let both: Vec<_> = old
        .iter()
        .filter_map(|o| {
            new.iter()
                .find(|n| name(n) == name(o))
                .map(|n| (o.clone(), n.clone()))
        })
        .collect();
    assert!(!both.is_empty());
    let (o, n) = &both[0];
    let out = debgate(&[
        "check",
        "--format",
        "json",
        o.to_str().unwrap(),
        n.to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dup: Vec<&serde_json::Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] == "duplicate-package")
        .collect();
    assert_eq!(dup.len(), 1, "{v:#}");
    assert_eq!(dup[0]["status"], "fail");
    assert_eq!(dup[0]["severity"], "warning");
    let msg = dup[0]["message"].as_str().unwrap();
    let new_version = n
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .split('_')
        .nth(1)
        .unwrap();
    assert!(
        msg.contains(o.to_str().unwrap()) && msg.contains(n.to_str().unwrap()),
        "{msg}"
    );
    assert!(
        msg.ends_with(&format!("{new_version} is judged, as apt's candidate")),
        "{msg}"
    );
    // Only the newer copy is judged by the policy rules.
    let judged: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["rule"] != "duplicate-package" && r["rule"] != "member-through-symlink")
        .filter_map(|r| r["file"].as_str())
        .collect();
    assert!(!judged.contains(&o.to_str().unwrap()), "{judged:?}");
    // A lone package: the check passes for the set.
    let single = debgate(&["check", "--format", "json", n.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&single.stdout).unwrap();
    assert!(v["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rule"] == "duplicate-package" && r["status"] == "pass"));
}

#[test]
fn check_shows_progress_on_a_terminal_and_nothing_on_a_pipe() {
    // `script` (bsdutils, essential on Debian) gives the run a terminal.
    let bin = env!("CARGO_BIN_EXE_debgate");
    let dir = root().join("testdata/releases/focal-like");
    let cmd = format!(
        "{bin} check --format json {} > /dev/null",
        dir.to_str().unwrap()
    );
    let out = std::process::Command::new("script")
        .args(["-qc", &cmd, "/dev/null"])
        .output()
        .expect("script(1) from bsdutils");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(
        tty.contains("reading ") && tty.contains("package(s)"),
        "{tty:?}"
    );
    let piped = debgate(&["check", "--format", "json", dir.to_str().unwrap()]);
    assert!(
        piped.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
}

#[test]
fn diff_compares_the_highest_copy_and_lists_the_other_as_a_duplicate() {
    let scratch = tempfile::tempdir().unwrap();
    let (old, new) = (release_debs("focal-like"), release_debs("groovy-like"));
    let name = |p: &Path| package_name(p);
    // The new side: the newer release plus an old copy of a package it also has.
    for d in &new {
        std::fs::copy(d, scratch.path().join(d.file_name().unwrap())).unwrap();
    }
    let extra = old
        .iter()
        .find(|o| new.iter().any(|n| name(n) == name(o)))
        .unwrap();
    std::fs::copy(extra, scratch.path().join(extra.file_name().unwrap())).unwrap();
    let out = debgate(&[
        "diff",
        "--format",
        "json",
        root()
            .join("testdata/releases/focal-like")
            .to_str()
            .unwrap(),
        scratch.path().to_str().unwrap(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let dups = v["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{v:#}");
    assert_eq!(dups[0]["side"], "new");
    assert_eq!(
        dups[0]["copy"]["file"],
        extra.file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(v["summary"]["duplicates"], 1);
    // Neither added nor removed: the package is paired, newest with newest.
    for list in ["added", "removed"] {
        assert!(
            !v[list]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["package"] == name(extra).as_str()),
            "{list}: {v:#}"
        );
    }
    // The verdicts judge the new side without the old copy: as the newer release alone.
    let alone = debgate(&[
        "diff",
        "--format",
        "json",
        root()
            .join("testdata/releases/focal-like")
            .to_str()
            .unwrap(),
        root()
            .join("testdata/releases/groovy-like")
            .to_str()
            .unwrap(),
    ]);
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();
    assert_eq!(v["verdicts"], alone["verdicts"]);
    let text = debgate(&[
        "diff",
        root()
            .join("testdata/releases/focal-like")
            .to_str()
            .unwrap(),
        scratch.path().to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("the highest version, is compared"));
}
