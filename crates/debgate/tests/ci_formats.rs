//! `debgate check` as a CI gate: waivers (applied, expired, unused, not waivable, bad files),
//! `--fail-on` thresholds, and the JUnit, SARIF and JSON Lines formats. JUnit and SARIF are
//! compared with the expected files in testdata/waivers/expected/; run with `DEBGATE_BLESS=1`
//! to rewrite them after an intended change.

use serde_json::Value;
use std::path::PathBuf;

mod common;

use common::{debgate, debgate_in, json, root};

const FOCAL: &str = "testdata/releases/focal-like";

/// The `rule` and `package` of each waiver in a testdata/waivers file, in order: the rule ids
/// stay in the data (tidy keeps policy names out of Rust).
fn waivers_in(name: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("testdata/waivers").join(name)).unwrap();
    let value = |line: &str, key: &str| {
        line.strip_prefix(key).map(|v| {
            v.trim()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"')
                .to_string()
        })
    };
    let mut out = Vec::new();
    let mut rule = String::new();
    for line in text.lines() {
        if let Some(r) = value(line, "rule ") {
            rule = r;
        } else if let Some(p) = value(line, "package ") {
            out.push((rule.clone(), p));
        }
    }
    out
}

fn status(v: &Value, rule: &str) -> String {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == rule)
        .map(|r| r["status"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn notice<'a>(v: &'a Value, rule: &str) -> &'a Value {
    v["waivers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["rule"] == rule)
        .unwrap_or_else(|| panic!("no waiver notice for {rule}: {v:#}"))
}

#[test]
fn waivers_apply_expire_and_go_unused() {
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--waivers",
        "testdata/waivers/focal-like.toml",
        FOCAL,
    ]);
    let v = json(&out);
    // focal-like.toml: an applied waiver, an expired one, an unused one, in that order.
    let w = waivers_in("focal-like.toml");
    let (documented, kernel, unused) = (&w[0].0, &w[1].0, &w[2].0);
    // The expired waiver leaves the kernel failure standing: exit 1.
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(status(&v, documented), "waived");
    assert_eq!(status(&v, kernel), "fail");
    let applied = notice(&v, documented);
    assert_eq!(applied["state"], "applied");
    assert_eq!(applied["matched"], 1);
    assert_eq!(applied["bug"], "LP: #1886112");
    assert_eq!(notice(&v, kernel)["state"], "expired");
    assert_eq!(notice(&v, unused)["state"], "unused");
    let waived = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "waived")
        .unwrap();
    assert_eq!(
        waived["waiver"]["declared_at"],
        "testdata/waivers/focal-like.toml:2:1"
    );
    let s = &v["summary"];
    assert_eq!(
        (
            &s["failed"],
            &s["waived"],
            &s["failed_errors"],
            &s["failed_threshold"]
        ),
        (&1.into(), &1.into(), &1.into(), &1.into())
    );
    assert_eq!(
        (&s["unused_waivers"], &s["expired_waivers"]),
        (&1.into(), &1.into())
    );

    // The text output says so too.
    let out = debgate(&[
        "check",
        "--waivers",
        "testdata/waivers/focal-like.toml",
        FOCAL,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("O: {}: {documented} ", w[0].1)),
        "{text}"
    );
    assert!(
        text.contains(&format!("expired-waiver {kernel} ")),
        "{text}"
    );
    assert!(text.contains(&format!("unused-waiver {unused} ")), "{text}");
}

#[test]
fn a_fully_waived_run_exits_zero() {
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--waivers",
        "testdata/waivers/all.toml",
        FOCAL,
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["summary"]["waived"], 2);
    assert_eq!(v["summary"]["failed"], 0);
}

#[test]
fn the_default_waiver_file_is_read_from_debian() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("debian")).unwrap();
    std::fs::copy(
        root().join("testdata/waivers/all.toml"),
        dir.path().join("debian/debgate-waivers.toml"),
    )
    .unwrap();
    let focal = root().join(FOCAL);
    let out = debgate_in(dir.path(), &["check", focal.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let out = debgate_in(
        dir.path(),
        &["check", "--no-waivers", focal.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
}

/// The bundled policy with `edit` applied, written to a temporary file.
fn edited_policy(edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    // The default set's policy with rules (the seed's), whatever other profiles are bundled.
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let text = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|t| t.contains("[[rule]]") && t.lines().any(|l| l.trim() == "default = true"))
        .expect("a default policy with rules");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, edit(&text)).unwrap();
    (dir, path)
}

#[test]
fn waiving_a_non_waivable_rule_is_rejected_and_the_failure_stands() {
    // all.toml waives the kernel rule, then the documented-override rule.
    let w = waivers_in("all.toml");
    let (kernel, documented) = (&w[0].0, &w[1].0);
    let (_dir, policy) = edited_policy(|t| {
        t.replace(
            &format!("id = \"{kernel}\"\n"),
            &format!("id = \"{kernel}\"\nwaivable = false\n"),
        )
    });
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--policy",
        policy.to_str().unwrap(),
        "--waivers",
        "testdata/waivers/all.toml",
        FOCAL,
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    assert_eq!(status(&v, kernel), "fail");
    assert_eq!(status(&v, documented), "waived");
    let n = notice(&v, kernel);
    assert_eq!(n["state"], "rejected");
    assert!(n["message"].as_str().unwrap().contains("not waivable"));
    assert_eq!(v["summary"]["rejected_waivers"], 1);
    let out = debgate(&[
        "check",
        "--policy",
        policy.to_str().unwrap(),
        "--waivers",
        "testdata/waivers/all.toml",
        FOCAL,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("E: testdata/waivers/all.toml:2:1: rejected-waiver"),
        "{text}"
    );
}

#[test]
fn a_bad_waiver_file_reports_every_error_before_reading_packages() {
    let out = debgate(&["check", "--waivers", "testdata/waivers/bad.toml", FOCAL]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "no package output on a bad waiver file"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "testdata/waivers/bad.toml:2:1: error[missing-key]: waiver has no `reason`",
        "testdata/waivers/bad.toml:8:9: error[unknown-rule]",
        "testdata/waivers/bad.toml:18:12: error[bad-date]",
        "testdata/waivers/bad.toml:22:12: error[bad-glob]",
        "testdata/waivers/bad.toml:25:1: error[unknown-key]",
        "5 error(s) in the waiver file; no package was read",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    let out = debgate(&["check", "--waivers", "testdata/waivers/missing.toml", FOCAL]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[unreadable-waivers]"));
}

#[test]
fn fail_on_sets_the_lowest_failing_severity() {
    for (severity, expect) in [
        ("warning", [("error", 0), ("warning", 1), ("info", 1)]),
        ("info", [("error", 0), ("warning", 0), ("info", 1)]),
    ] {
        let (_dir, policy) = edited_policy(|t| {
            t.replace(
                "severity = \"error\"",
                &format!("severity = \"{severity}\""),
            )
        });
        for (fail_on, code) in expect {
            let out = debgate(&[
                "check",
                "--format",
                "json",
                "--policy",
                policy.to_str().unwrap(),
                "--fail-on",
                fail_on,
                FOCAL,
            ]);
            let v = json(&out);
            assert_eq!(
                out.status.code(),
                Some(code),
                "{severity} --fail-on {fail_on}"
            );
            assert_eq!(v["summary"]["failed"], 2);
            // failed_errors keeps its meaning; failed_threshold follows --fail-on.
            assert_eq!(v["summary"]["failed_errors"], 0);
            assert_eq!(
                v["summary"]["failed_threshold"],
                if code == 1 { 2 } else { 0 }
            );
            assert_eq!(v["summary"]["fail_on"], fail_on);
        }
    }
}

#[test]
fn jsonl_is_one_object_per_line_ending_with_the_summary() {
    let out = debgate(&[
        "check",
        "--format",
        "jsonl",
        "--waivers",
        "testdata/waivers/focal-like.toml",
        FOCAL,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "package").count(), 4);
    // The four policy rules, and the built-in package checks (member-through-symlink,
    // duplicate-package, trailing-bytes, dpkg-cannot-unpack) passing the set.
    assert_eq!(kinds.iter().filter(|k| **k == "result").count(), 8);
    assert_eq!(kinds.iter().filter(|k| **k == "waiver").count(), 3);
    assert_eq!(kinds.last(), Some(&"summary"));
    assert_eq!(lines.last().unwrap()["waived"], 1);
}

/// Compare with an expected file, or rewrite it under `DEBGATE_BLESS=1`.
fn snapshot(name: &str, actual: &str) {
    common::snapshot("testdata/waivers/expected", name, actual);
}

#[test]
fn junit_snapshot() {
    let out = debgate(&[
        "check",
        "--format",
        "junit",
        "--waivers",
        "testdata/waivers/focal-like.toml",
        FOCAL,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.contains("<skipped message=\"waived: "), "{xml}");
    assert!(xml.contains("<failure message="), "{xml}");
    snapshot("focal-like.junit.xml", &xml);
}

#[test]
fn sarif_snapshot() {
    let out = debgate(&[
        "check",
        "--format",
        "sarif",
        "--waivers",
        "testdata/waivers/focal-like.toml",
        FOCAL,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    // The four policy rules and the built-in package checks (member-through-symlink,
    // duplicate-package, trailing-bytes, dpkg-cannot-unpack).
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 8);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "failed and waived results only");
    let waived = results
        .iter()
        .find(|r| r.get("suppressions").is_some())
        .expect("a suppressed result");
    assert_eq!(waived["suppressions"][0]["kind"], "external");
    let uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.starts_with("testdata/releases/focal-like/"), "{uri}");
    assert!(!text.contains(root().to_str().unwrap()), "no absolute path");
    snapshot("focal-like.sarif", &text);
}

#[test]
fn junit_reports_an_unreadable_package_as_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken_1_all.deb"), b"not an ar archive").unwrap();
    let out = debgate(&["check", "--format", "junit", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.contains("<error message="), "{xml}");
}
