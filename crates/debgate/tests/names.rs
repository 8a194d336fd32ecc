//! A package whose setuid file has a name that is not UTF-8 (`testdata/packages/name-not-utf8`:
//! `/usr/bin/acct`, byte 0xff, `pw`, mode 4755): dpkg installs it, so debgate reads it, shows
//! the name as `/usr/bin/acct\xffpw` in every format (never U+FFFD), matches globs against that
//! form, and still judges the file.

mod common;

use common::{debgate, json, results_of, root, stdout};
use std::path::{Path, PathBuf};

/// The name as debgate shows it.
const SHOWN: &str = r"/usr/bin/acct\xffpw";

/// The fixture built into a temporary directory, with a policy that forbids setuid files under
/// `/usr/bin`, selecting them by a glob written against the shown form.
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tree = root().join("testdata/packages/name-not-utf8");
    let (spec, build) = debgate_writer::load_package(&tree).expect("tree loads");
    let bytes = debgate_writer::deb_bytes(&spec, build.control, build.data).expect("builds");
    let tmp = tempfile::tempdir().unwrap();
    let deb = tmp.path().join("legacy-names_1.0-1_amd64.deb");
    std::fs::write(&deb, bytes).unwrap();
    let policy = tmp.path().join("setuid.toml");
    // In a glob a backslash escapes the next character, so the shown `\xff` is `\\xff` in the
    // glob: a TOML literal string keeps both backslashes.
    std::fs::write(
        &policy,
        r#"[policy]
name = "no-setuid"

[[rule]]
id = "no-setuid-acct"
severity = "error"
title = "no setuid acct tool"
explanation = "test"
references = ["test"]
paths = ['/usr/bin/acct\\xff*']
types = ["file"]
presence = "required"
assert = { kind = "file-state", setuid = false }
"#,
    )
    .unwrap();
    (tmp, deb, policy)
}

fn check(policy: &Path, deb: &Path, format: &str) -> std::process::Output {
    debgate(&[
        "check",
        "--no-waivers",
        "--format",
        format,
        "--policy",
        policy.to_str().unwrap(),
        deb.to_str().unwrap(),
    ])
}

#[test]
fn check_sees_the_setuid_file_and_names_it_with_escapes() {
    let (_tmp, deb, policy) = fixture();
    let out = check(&policy, &deb, "text");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("E: legacy-names: no-setuid-acct {SHOWN}:")),
        "{text}"
    );
    assert!(!text.contains('\u{fffd}'), "{text}");

    let v = json(&check(&policy, &deb, "json"));
    let mine = results_of(&v, "no-setuid-acct");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["status"], "fail");
    assert_eq!(mine[0]["path"], SHOWN);
    assert_eq!(v["summary"]["errors"], 0, "the package is readable");

    let sarif = stdout(&check(&policy, &deb, "sarif"));
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    let shown = serde_json::to_string(&sarif).unwrap();
    // The path as a JSON string: one escaped backslash.
    assert!(shown.contains(r#"/usr/bin/acct\\xffpw"#), "{shown}");
    assert!(!shown.contains('\u{fffd}'), "{shown}");
}

#[test]
fn inspect_shows_the_name_with_escapes() {
    let (_tmp, deb, _) = fixture();
    let out = debgate(&["inspect", "--format", "json", deb.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stdout(&out));
    let v = json(&out);
    let files = v["files"].as_array().unwrap();
    let acct = files
        .iter()
        .find(|f| f["path"] == SHOWN)
        .unwrap_or_else(|| panic!("{files:?}"));
    assert_eq!(acct["mode"], "4755");

    let out = debgate(&["inspect", deb.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.contains(SHOWN), "{text}");
    assert!(!text.contains('\u{fffd}'), "{text}");
}

#[test]
fn diff_shows_the_name_with_escapes() {
    let (tmp, deb, _) = fixture();
    // The same package without the file on the old side.
    let tree = root().join("testdata/packages/name-not-utf8");
    let (mut spec, build) = debgate_writer::load_package(&tree).unwrap();
    spec.files.retain(|f| !f.escaped);
    spec.control = spec.control.replace("1.0-1", "0.9-1");
    let old_dir = tmp.path().join("old");
    let new_dir = tmp.path().join("new");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::create_dir_all(&new_dir).unwrap();
    let old = debgate_writer::deb_bytes(&spec, build.control, build.data).unwrap();
    std::fs::write(old_dir.join("legacy-names_0.9-1_amd64.deb"), old).unwrap();
    std::fs::copy(&deb, new_dir.join("legacy-names_1.0-1_amd64.deb")).unwrap();
    let out = debgate(&[
        "diff",
        "--format",
        "json",
        old_dir.to_str().unwrap(),
        new_dir.to_str().unwrap(),
    ]);
    let v = json(&out);
    let pair = &v["pairs"][0];
    assert!(
        pair["files_added"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == SHOWN),
        "{pair}"
    );
    assert!(
        pair["privileges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["path"] == SHOWN && p["kind"] == "setuid"),
        "{pair}"
    );
    let out = debgate(&["diff", old_dir.to_str().unwrap(), new_dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(text.contains(SHOWN), "{text}");
    assert!(!text.contains('\u{fffd}'), "{text}");
}
