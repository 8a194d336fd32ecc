//! End-to-end tests of `debgate diff` on the fixture releases: the seed story, exit statuses,
//! every format, `-o`, and snapshots of the JSON and markdown under testdata/diff/ (rewrite
//! them with `DEBGATE_BLESS=1 cargo test -p debgate --test diff` and review the change).

mod common;

use common::{debgate, json, root, stdout};
use serde_json::Value;
use std::path::PathBuf;

const FOCAL: &str = "testdata/releases/focal-like";
const GROOVY: &str = "testdata/releases/groovy-like";
const ADM_SCRIPT: &str = "testdata/releases/adm-proposal-script";

/// Compare with testdata/diff/NAME, or rewrite it when DEBGATE_BLESS is set.
fn snapshot(name: &str, actual: &str) {
    common::snapshot("testdata/diff", name, actual)
}

#[test]
fn focal_to_groovy_tells_the_seed_story() {
    let out = debgate(&["diff", FOCAL, GROOVY]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    // The kernel option flipped, and it is the one the policy names.
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("CONFIG_")
            && l.contains(": not set → y  (named by a rule)")),
        "{text}"
    );
    // The commented override appeared in the hardening conffile.
    assert!(
        text.contains("conffile /etc/sysctl.d/10-kernel-hardening.conf:"),
        "{text}"
    );
    // The added line is a commented kernel sysctl set to 0 (the policy names which key).
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("+# kernel.") && l.ends_with(" = 0")),
        "{text}"
    );
    // No capability or group change anywhere, and the verdicts went from fail to pass.
    assert!(text.contains("privileges: no file became setuid"), "{text}");
    assert!(
        text.contains("0 regression(s) (0 of severity error), 2 fixed"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.contains("fail → pass")).count(),
        2,
        "{text}"
    );
}

#[test]
fn focal_to_groovy_json_and_markdown_snapshots() {
    let out = debgate(&["diff", "--format", "json", FOCAL, GROOVY]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["summary"]["fixed"], 2);
    assert_eq!(v["summary"]["privilege_changes"], 0);
    let kernel = v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["paired_by"] == "kernel-abi" && !p["kconfig"].as_array().unwrap().is_empty())
        .expect("a kernel pair with a config diff");
    assert_eq!(kernel["kconfig"][0]["named_by_rule"], true);
    assert_eq!(kernel["kconfig"][0]["old"], "n");
    assert_eq!(kernel["kconfig"][0]["new"], "y");
    snapshot("focal-groovy.json", &stdout(&out));

    let md = debgate(&["diff", "--format", "markdown", FOCAL, GROOVY]);
    assert_eq!(md.status.code(), Some(0));
    snapshot("focal-groovy.md", &stdout(&md));
}

#[test]
fn a_privilege_grant_in_postinst_is_a_regression_exit_1() {
    let out = debgate(&["diff", "--format", "json", GROOVY, ADM_SCRIPT]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v = json(&out);
    assert_eq!(v["summary"]["regressions_error"], 1);
    let reg: Vec<&Value> = v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["transition"] == "regression")
        .collect();
    assert_eq!(reg.len(), 1);
    assert_eq!(
        (reg[0]["old"].as_str(), reg[0]["new"].as_str()),
        (Some("pass"), Some("fail"))
    );
    let privs: Vec<&Value> = v["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["privileges"].as_array().unwrap())
        .collect();
    // One entry per new end state that no old end state equals: the grant, and the states on
    // the way to it that a failed setcap or chmod leaves (one of them only after a re-run).
    let states: Vec<(&str, &str, bool)> = privs
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap(),
                p["new"].as_str().unwrap(),
                p["rerun"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("group", "0750 root:adm", false),
            ("capabilities", "0750 root:adm cap_syslog=ep", false),
            ("group", "0755 root:adm", true),
        ]
    );
    assert!(privs.iter().all(|p| p["conditional"] == true));
    assert!(privs[0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s.as_str().unwrap().starts_with("postinst:")));
    snapshot("groovy-adm-script.json", &stdout(&out));

    let md = debgate(&["diff", "--format", "markdown", GROOVY, ADM_SCRIPT]);
    assert_eq!(md.status.code(), Some(1));
    let text = stdout(&md);
    assert!(
        text.contains("**1 regression(s) of severity error.**"),
        "{text}"
    );
    snapshot("groovy-adm-script.md", &text);

    let plain = stdout(&debgate(&["diff", GROOVY, ADM_SCRIPT]));
    assert!(plain.contains("REGRESSION: "), "{plain}");
    let colored = stdout(&debgate(&["diff", "--color", "always", GROOVY, ADM_SCRIPT]));
    assert!(colored.contains("\x1b[1;31mREGRESSION\x1b[0m"), "{colored}");
}

/// The rejected proposal in data.tar: JSON keeps "" for "no capabilities", and the text and
/// markdown say "none" rather than print an empty value.
#[test]
fn a_capability_granted_in_data_tar_reads_none_to_the_grant() {
    const ADM: &str = "testdata/releases/adm-proposal";
    let out = debgate(&["diff", "--format", "json", GROOVY, ADM]);
    assert_eq!(out.status.code(), Some(1), "a regression of severity error");
    let report = json(&out);
    let caps: Vec<&Value> = report["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["metadata"].as_array().unwrap())
        .filter(|m| m["field"] == "capabilities")
        .collect();
    assert_eq!(caps.len(), 1, "{caps:?}");
    assert_eq!(caps[0]["old"], "");
    assert_eq!(caps[0]["new"], "cap_syslog=ep");
    let path = caps[0]["path"].as_str().unwrap();

    let plain = stdout(&debgate(&["diff", GROOVY, ADM]));
    let line = format!("{path} capabilities: none → cap_syslog=ep");
    assert!(plain.contains(&line), "{line} in:\n{plain}");
    let md = stdout(&debgate(&["diff", "--format", "markdown", GROOVY, ADM]));
    let line = format!("`{path}` capabilities: none → cap_syslog=ep");
    assert!(md.contains(&line), "{line} in:\n{md}");
}

#[test]
fn output_file_and_single_debs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.md");
    // The package that ships the sysctl hardening conffile, third by name in both releases.
    let nth_deb = |dir: &str| {
        let mut debs: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "deb"))
            .collect();
        debs.sort();
        debs[2].display().to_string()
    };
    let (old, new) = (nth_deb(FOCAL), nth_deb(GROOVY));
    let out = debgate(&[
        "diff",
        "--format",
        "markdown",
        "-o",
        file.to_str().unwrap(),
        &old,
        &new,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "the report went to the file");
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(md.starts_with("# debgate diff: "), "{md}");
    assert!(
        md.contains("```diff\n--- a/etc/sysctl.d/10-kernel-hardening.conf"),
        "{md}"
    );
}

#[test]
fn bad_input_exits_2() {
    let missing = debgate(&["diff", FOCAL, "testdata/releases/no-such-release"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-release"));
    let bad_policy = debgate(&[
        "diff",
        "--policy",
        "testdata/policies/bad/syntax.toml",
        FOCAL,
        GROOVY,
    ]);
    assert_eq!(bad_policy.status.code(), Some(2));
    let usage = debgate(&["diff", FOCAL]);
    assert_eq!(usage.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.deb"), b"!<arch>\nnonsense").unwrap();
    let unreadable = debgate(&["diff", FOCAL, dir.path().to_str().unwrap()]);
    assert_eq!(unreadable.status.code(), Some(2));
    assert!(
        stdout(&unreadable).contains("E: new side: "),
        "{}",
        stdout(&unreadable)
    );
}

#[test]
fn readme_diff_example_is_current() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("<!-- diff-example-output -->")
        .expect("README diff example block");
    let end = readme.find("<!-- /diff-example-output -->").unwrap();
    let block = &readme[start..end];
    let shown: Vec<&str> = block
        .lines()
        .skip_while(|l| !l.starts_with("$ debgate diff"))
        .skip(1)
        .take_while(|l| !l.starts_with("$ "))
        .collect();
    let out = debgate(&["diff", FOCAL, GROOVY]);
    assert_eq!(
        shown,
        stdout(&out).lines().collect::<Vec<_>>(),
        "update the README's diff example output"
    );
}

/// Text a package may carry that would act on a terminal: clear the screen, return to the start
/// of the line, and reverse what follows.
const TERMINAL_HOSTILE: &str = "\u{1b}[2J\rP: all clear \u{202e}dessap";

/// As much of it as a control field can hold (a carriage return ends the paragraph's parse).
const CONTROL_HOSTILE: &str = "\u{1b}[2J all clear \u{202e}dessap";

/// Two one-package sets whose new side carries [`TERMINAL_HOSTILE`] in a file name, a conffile
/// and a maintainer script, and [`CONTROL_HOSTILE`] in a control field.
fn terminal_hostile_sets(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    common::hostile_sets(dir, TERMINAL_HOSTILE, CONTROL_HOSTILE)
}

#[test]
fn text_and_markdown_escape_what_would_act_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = terminal_hostile_sets(dir.path());
    let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
    for format in ["text", "markdown"] {
        let out = debgate(&["diff", "--format", format, old, new]);
        let shown = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{shown}");
        assert!(
            !shown.contains(['\u{1b}', '\r', '\u{202e}']),
            "{format}: raw control text reached the output:\n{shown:?}"
        );
        // It is all there, escaped: the file name and the two diffs (which split the line at
        // the carriage return), and the control field.
        assert!(
            shown.matches("\\u{1b}[2J\\r").count() >= 3
                && shown.matches("\\u{202e}dessap").count() >= 4,
            "{format}: expected the escaped text:\n{shown}"
        );
        assert!(
            shown.contains("\\u{1b}[2J all clear \\u{202e}dessap"),
            "{format}: expected the escaped control field:\n{shown}"
        );
    }
}
