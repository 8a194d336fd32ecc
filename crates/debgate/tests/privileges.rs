//! `debgate privileges` and the privilege gates as a user runs them on the fixture releases: the
//! inventory in every format, a bootstrapped allow-list refused until reviewed and approving
//! exactly what it was made from, and `diff --fail-on-escalation`.

mod common;

use common::{debgate, debgate_in, json, results_of, root, stdout};

const GROOVY: &str = "testdata/releases/groovy-like";
const ADM_SCRIPT: &str = "testdata/releases/adm-proposal-script";

#[test]
fn the_inventory_lists_script_grants_with_their_lines() {
    let out = debgate(&["privileges", "--format", "json", ADM_SCRIPT]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report = json(&out);
    let packages = report["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 4, "every package read is listed");
    // The one package of the release with a privileged file: the script grant of the rejected
    // proposal.
    let with_files: Vec<_> = packages
        .iter()
        .filter(|p| p["files"].as_array().is_some_and(|f| !f.is_empty()))
        .collect();
    assert_eq!(with_files.len(), 1, "{with_files:?}");
    let util = with_files[0];
    let path = util["files"][0]["path"].as_str().unwrap();
    let states: Vec<&str> = util["files"][0]["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"0750 root:adm cap_syslog=ep"),
        "{states:?}"
    );
    let text = stdout(&debgate(&["privileges", ADM_SCRIPT]));
    assert!(
        text.contains("0750 root:adm cap_syslog=ep [via postinst:15 → postinst:19 → postinst:20 → postinst:22]"),
        "{text}"
    );
    let csv = stdout(&debgate(&["privileges", "--format", "csv", ADM_SCRIPT]));
    assert!(
        csv.starts_with("package,version,architecture,row,path,"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            ",state,{path},file,0750 root:adm cap_syslog=ep,0750,root,adm,cap_syslog=ep,"
        )),
        "{csv}"
    );
}

#[test]
fn a_bootstrapped_allow_list_is_refused_until_reviewed_and_approves_what_it_was_made_from() {
    let dir = tempfile::tempdir().unwrap();
    let toml = stdout(&debgate(&["privileges", "--format", "toml", ADM_SCRIPT]));
    assert!(toml.contains("reason = \"TODO: review\""), "{toml}");
    std::fs::write(dir.path().join("allow.toml"), &toml).unwrap();
    std::fs::write(
        dir.path().join("gate.toml"),
        r#"[[rule]]
id = "reviewed-privileges"
severity = "error"
title = "t"
explanation = "e"
references = ["r"]
paths = ["/**"]
assert = { kind = "privileges", allowlist = "allow.toml" }
"#,
    )
    .unwrap();
    let rel = |p: &str| root().join(p).display().to_string();
    let refused = debgate_in(
        dir.path(),
        &["check", "--policy", "gate.toml", &rel(ADM_SCRIPT)],
    );
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("allow.toml:") && err.contains("todo-reason"),
        "{err}"
    );

    let args = [
        "check",
        "--allow-todo",
        "--format",
        "json",
        "--policy",
        "gate.toml",
    ];
    let ok = debgate_in(
        dir.path(),
        &[&args[..], &[rel(ADM_SCRIPT).as_str()]].concat(),
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let report = json(&ok);
    let results = results_of(&report, "reviewed-privileges");
    assert!(results.iter().all(|r| r["status"] == "pass"), "{results:?}");
    assert!(
        results.iter().any(|r| r["message"]
            .as_str()
            .unwrap()
            .contains("is privileged (0750 root:adm cap_syslog=ep")),
        "{results:?}"
    );

    // The same list on the release without the grant: the entry approves nothing there.
    let stale = debgate_in(dir.path(), &[&args[..], &[rel(GROOVY).as_str()]].concat());
    assert_eq!(
        stale.status.code(),
        Some(0),
        "an unused entry is info, not a failed run"
    );
    let report = json(&stale);
    let unused: Vec<_> = results_of(&report, "reviewed-privileges")
        .into_iter()
        .filter(|r| r["status"] == "fail")
        .collect();
    assert_eq!(unused.len(), 1, "{unused:?}");
    assert_eq!(unused[0]["severity"], "info");
    assert!(unused[0]["message"]
        .as_str()
        .unwrap()
        .contains("unused allow-list entry (allow.toml:"));
}

#[test]
fn fail_on_escalation_exits_1_on_an_added_grant_and_0_on_a_removed_one() {
    let up = debgate(&[
        "diff",
        "--fail-on-escalation",
        "--format",
        "json",
        GROOVY,
        ADM_SCRIPT,
    ]);
    assert_eq!(up.status.code(), Some(1));
    let report = json(&up);
    assert_eq!(report["summary"]["escalations"], 1);
    let e = &report["escalations"][0];
    assert_eq!(e["state"], "0750 root:adm cap_syslog=ep");
    assert_eq!(e["other"][0], "0755 root:root");
    // Without the flag the same diff exits 0: the default set has no rule that regressed.
    let plain = debgate(&["diff", "--policy", "kernel-pairing", GROOVY, ADM_SCRIPT]);
    assert_eq!(plain.status.code(), Some(0), "{}", stdout(&plain));

    let down = debgate(&[
        "diff",
        "--fail-on-escalation",
        "--format",
        "json",
        ADM_SCRIPT,
        GROOVY,
    ]);
    assert_eq!(down.status.code(), Some(0), "{}", stdout(&down));
    let report = json(&down);
    assert_eq!(report["summary"]["escalations"], 0);
    assert_eq!(report["summary"]["reductions"], 1);
    assert_eq!(
        report["reductions"][0]["state"],
        "0750 root:adm cap_syslog=ep"
    );
}
