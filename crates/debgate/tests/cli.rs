//! End-to-end tests of the `debgate` binary on the fixture releases in testdata/: exit codes,
//! the JSON contracts, bad packages among good ones, and bad policies.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn release(name: &str) -> PathBuf {
    root().join("testdata/releases").join(name)
}

fn debgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_debgate"))
        .args(args)
        .output()
        .expect("run debgate")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (rule, status) of every result, for comparing verdicts.
fn verdicts(v: &Value) -> Vec<(String, String)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of(v: &Value, rule: &str) -> Vec<String> {
    verdicts(v)
        .into_iter()
        .filter(|(r, _)| r == rule)
        .map(|(_, s)| s)
        .collect()
}

/// The ids of the policy rules `debgate rules` lists (not the built-in upload checks, which
/// run only on a .changes).
fn rule_ids() -> Vec<String> {
    let out = debgate(&["rules"]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(2) != Some("built-in"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn groovy_like_release_passes_every_rule() {
    let out = debgate(&[
        "check",
        "--format",
        "json",
        release("groovy-like").to_str().unwrap(),
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let ids = rule_ids();
    assert!(ids.len() >= 4);
    for id in &ids {
        let s = status_of(&v, id);
        assert!(
            !s.is_empty() && s.iter().all(|s| s == "pass"),
            "{id}: {s:?}\n{v:#}"
        );
    }
    assert_eq!(v["summary"]["failed"], 0);
    assert_eq!(v["summary"]["errors"], 0);
}

#[test]
fn focal_like_release_fails_with_reasons() {
    let out = debgate(&[
        "check",
        "--format",
        "json",
        release("focal-like").to_str().unwrap(),
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(1), "{v:#}");
    let failed: Vec<&Value> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .collect();
    assert!(failed.len() >= 2, "{v:#}");
    // Every failure explains itself and names a package or says it is about the set.
    for f in &failed {
        assert!(!f["message"].as_str().unwrap().is_empty());
    }
    // The text output is lintian-like: `E: package: rule path: message`.
    let text = debgate(&["check", release("focal-like").to_str().unwrap()]);
    assert_eq!(text.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("E: ")), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour when not on a terminal");
}

#[test]
fn rejected_proposals_fail_the_file_state_rule() {
    for rel in ["adm-proposal", "adm-proposal-script"] {
        let out = debgate(&["check", "--format", "json", release(rel).to_str().unwrap()]);
        let v = json(&out);
        assert_eq!(out.status.code(), Some(1), "{rel}: {v:#}");
        // The policy rule's own finding, not the exit status: the data.tar proposal also fails
        // the built-in dpkg-cannot-unpack (its xattr rides in a PAX header dpkg refuses).
        let fails = |dpkg: bool| -> Vec<&Value> {
            v["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["status"] == "fail" && (r["rule"] == "dpkg-cannot-unpack") == dpkg)
                .collect()
        };
        let grant: Vec<&Value> = fails(false)
            .into_iter()
            .filter(|r| r["message"].as_str().unwrap().contains("capabilit"))
            .collect();
        assert!(
            !grant.is_empty(),
            "{rel}: a capability grant is reported: {v:#}"
        );
        let dpkg = fails(true);
        if rel == "adm-proposal" {
            assert_eq!(dpkg.len(), 1, "{rel}: {v:#}");
            assert_eq!(dpkg[0]["path"], grant[0]["path"]);
        } else {
            // setcap in the postinst is how Debian grants one: dpkg unpacks that package.
            assert!(dpkg.is_empty(), "{rel}: {dpkg:?}");
        }
    }
}

#[test]
fn inspect_reports_script_changes_with_lines() {
    let dir = release("adm-proposal-script");
    let deb = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "deb")
                && Command::new(env!("CARGO_BIN_EXE_debgate"))
                    .args(["inspect", "--format", "json", p.to_str().unwrap()])
                    .output()
                    .map(|o| {
                        json(&o)["changes"]
                            .as_array()
                            .is_some_and(|c| !c.is_empty())
                    })
                    .unwrap_or(false)
        })
        .expect("a package with maintainer-script changes");
    let v = json(&debgate(&[
        "inspect",
        "--format",
        "json",
        deb.to_str().unwrap(),
    ]));
    let changes = v["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["action"] == "setcap" && c["line"].as_u64().unwrap() > 0),
        "{v:#}"
    );
    assert!(changes.iter().all(|c| c["script"].is_string()
        && c["resolved"].is_boolean()
        && c["conditional"].is_boolean()));
    let files = v["files"].as_array().unwrap();
    assert!(
        files.iter().any(|f| f["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("postinst:"))),
        "{v:#}"
    );
    for f in files {
        assert_eq!(f["mode"].as_str().unwrap().len(), 4);
    }
}

#[test]
fn a_bad_package_among_good_ones_exits_2_and_the_rest_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(release("groovy-like")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "deb") {
            std::fs::copy(&p, tmp.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        tmp.path().join("broken_1.0_all.deb"),
        b"!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n",
    )
    .unwrap();
    let out = debgate(&["check", "--format", "json", tmp.path().to_str().unwrap()]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(2), "{v:#}");
    let pkgs = v["packages"].as_array().unwrap();
    let broken: Vec<&Value> = pkgs.iter().filter(|p| p["error"].is_string()).collect();
    assert_eq!(broken.len(), 1, "{v:#}");
    assert!(broken[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("broken_1.0_all.deb"));
    assert!(pkgs.len() >= 4);
    assert!(
        v["summary"]["passed"].as_u64().unwrap() >= 4,
        "the good packages were still judged: {v:#}"
    );

    let text = debgate(&["check", tmp.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("broken_1.0_all.deb"))
        .expect("an error line for the bad file");
    assert!(line.starts_with("E: "), "{line}");
}

#[test]
fn a_bad_policy_reports_every_error_before_reading_packages() {
    let bad = root().join("testdata/policies/bad/many-errors.toml");
    let out = debgate(&[
        "check",
        "--policy",
        bad.to_str().unwrap(),
        "/nonexistent/never-read.deb",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected =
        std::fs::read_to_string(root().join("testdata/policies/bad/many-errors.expected")).unwrap();
    for want in expected.lines() {
        let (_, tail) = want.split_once(':').unwrap();
        assert!(
            stderr.lines().any(|l| l.contains(tail)),
            "missing `{tail}` in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("never-read"),
        "no package was touched: {stderr}"
    );
}

#[test]
fn usage_errors_and_explain() {
    assert_eq!(debgate(&["check"]).status.code(), Some(2));
    assert_eq!(debgate(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(debgate(&["explain", "no-such-rule"]).status.code(), Some(2));
    let id = rule_ids().remove(0);
    let out = debgate(&["explain", &id]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("references:") && text.contains("http"),
        "{text}"
    );
    let limits = debgate(&["limits"]);
    assert!(String::from_utf8_lossy(&limits.stdout).contains("max-entries"));
}

#[test]
fn limits_can_be_set_and_are_enforced() {
    let rel = release("groovy-like");
    let out = debgate(&[
        "check",
        "--limit",
        "max-entries=2",
        "--format",
        "json",
        rel.to_str().unwrap(),
    ]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(2), "{v:#}");
    let err = v["packages"][0]["error"].as_str().unwrap();
    assert!(err.contains("max-entries"), "{err}");
    assert_eq!(
        debgate(&["check", "--limit", "no-such-limit=1", rel.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn readme_example_output_is_current() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- example-output -->")
        .expect("README example block");
    let end = readme.find("<!-- /example-output -->").unwrap();
    let block = &readme[start..end];
    let shown: Vec<&str> = block
        .lines()
        .skip_while(|l| !l.starts_with("$ debgate check"))
        .skip(1)
        .take_while(|l| !l.starts_with("$ "))
        .collect();
    let out = debgate(&["check", release("focal-like").to_str().unwrap()]);
    let actual = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        shown,
        actual.lines().collect::<Vec<_>>(),
        "update the README's example output"
    );
}
