//! A package that hides a cron job behind a symlinked directory (`testdata/packages/
//! cron-through-symlink`: `./etc/x -> /etc/cron.d`, then `./etc/x/job`): every command sees the
//! job where dpkg installs it, `/etc/cron.d/job`, and `check` fails it under the built-in
//! `member-through-symlink` check, whatever the policies.

mod common;

use common::{debgate, json, results_of, root, stdout};
use std::path::PathBuf;

/// The fixture built into a temporary directory.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let tree = root().join("testdata/packages/cron-through-symlink");
    let (spec, build) = debgate_writer::load_package(&tree).expect("tree loads");
    let bytes = debgate_writer::deb_bytes(&spec, build.control, build.data).expect("builds");
    let tmp = tempfile::tempdir().unwrap();
    let deb = tmp.path().join("innocent-tools_1.0-1_all.deb");
    std::fs::write(&deb, bytes).unwrap();
    (tmp, deb)
}

#[test]
fn check_fails_a_member_written_through_a_symlink() {
    let (_tmp, deb) = fixture();
    let out = debgate(&["check", "--no-waivers", deb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "E: innocent-tools: member-through-symlink /etc/cron.d/job: data.tar member \
             /etc/x/job is written through the symlink /etc/x -> /etc/cron.d and lands at \
             /etc/cron.d/job"
        ),
        "{text}"
    );

    let out = debgate(&[
        "check",
        "--no-waivers",
        "--format",
        "json",
        deb.to_str().unwrap(),
    ]);
    let v = json(&out);
    let mine = results_of(&v, "member-through-symlink");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["status"], "fail");
    assert_eq!(mine[0]["severity"], "error");
    assert_eq!(mine[0]["path"], "/etc/cron.d/job");
}

#[test]
fn the_check_passes_a_clean_set_and_is_listed_and_explained() {
    let release = root().join("testdata/releases/groovy-like");
    let out = debgate(&["check", "--format", "json", release.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let mine = results_of(&v, "member-through-symlink");
    assert_eq!(mine.len(), 1, "one pass for the set: {mine:?}");
    assert_eq!(mine[0]["status"], "pass");

    let rules = stdout(&debgate(&["rules"]));
    let line = rules
        .lines()
        .find(|l| l.starts_with("member-through-symlink "))
        .unwrap_or_else(|| panic!("{rules}"));
    assert!(
        line.contains("error") && line.contains("built-in"),
        "{line}"
    );
    let explain = debgate(&["explain", "member-through-symlink"]);
    assert!(explain.status.success());
    let text = stdout(&explain);
    assert!(text.contains("not waivable"), "{text}");
    assert!(text.contains("/etc/cron.d/job"), "{text}");
}

#[test]
fn inspect_and_rules_see_the_path_the_member_lands_at() {
    let (tmp, deb) = fixture();
    let out = debgate(&["inspect", "--format", "json", deb.to_str().unwrap()]);
    assert!(out.status.success());
    let v = json(&out);
    let files = v["files"].as_array().unwrap();
    let job = files
        .iter()
        .find(|f| f["path"] == "/etc/cron.d/job")
        .unwrap_or_else(|| panic!("{files:?}"));
    assert_eq!(job["member"], "/etc/x/job");
    assert_eq!(job["through"], serde_json::json!(["/etc/x"]));
    assert!(files.iter().all(|f| f["path"] != "/etc/x/job"));

    // A rule on /etc/cron.d/* reads the hidden job's content.
    let policy = tmp.path().join("cron.toml");
    std::fs::write(
        &policy,
        r#"[policy]
name = "cron-test"

[[rule]]
id = "cron-no-download"
severity = "error"
title = "no cron job downloads code"
explanation = "test"
references = ["test"]
paths = ["/etc/cron.d/*"]
assert = { kind = "text", must-not-match = ['curl'] }
"#,
    )
    .unwrap();
    let out = debgate(&[
        "check",
        "--no-waivers",
        "--format",
        "json",
        "--policy",
        policy.to_str().unwrap(),
        deb.to_str().unwrap(),
    ]);
    let v = json(&out);
    let rule = results_of(&v, "cron-no-download");
    assert_eq!(rule.len(), 1, "{rule:?}");
    assert_eq!(rule[0]["status"], "fail", "{rule:?}");
    assert_eq!(rule[0]["path"], "/etc/cron.d/job");
}

#[test]
fn a_waiver_cannot_accept_it() {
    let (tmp, deb) = fixture();
    let waivers = tmp.path().join("waivers.toml");
    std::fs::write(
        &waivers,
        r#"[[waiver]]
rule = "member-through-symlink"
package = "innocent-tools"
reason = "we like it"
bug = "none"
"#,
    )
    .unwrap();
    let out = debgate(&[
        "check",
        "--waivers",
        waivers.to_str().unwrap(),
        deb.to_str().unwrap(),
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("rejected-waiver"), "{text}");
    assert!(
        text.contains("E: innocent-tools: member-through-symlink"),
        "{text}"
    );
}
