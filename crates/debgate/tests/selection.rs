//! Choosing what a run judges: bundled policies by name, files and directories by path, the
//! default set without `--policy`, `--tag`, and the selections that are refused (exit 2). The
//! test names no bundled policy itself (rules are data): it asks `debgate policies`.

mod common;

use common::{debgate, debgate_in, json, stdout};

/// The bundled policies' names, and which are in the default set, as `debgate policies` says.
fn bundled() -> Vec<(String, bool)> {
    let out = debgate(&["policies", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["default"] == true,
            )
        })
        .collect()
}

/// The ids of the policy rules (not debgate's own checks) `rules` lists with these arguments.
fn ids(args: &[&str]) -> Vec<String> {
    let mut all = vec!["rules", "--format", "json"];
    all.extend(args);
    let out = debgate(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["policy"].is_string())
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn policies_lists_the_bundled_ones_and_the_default_set() {
    let out = debgate(&["policies", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let list = json(&out);
    let list = list.as_array().unwrap();
    // The default set is what the policy files declare with `default = true`.
    for p in list {
        let file = common::root().join(p["file"].as_str().unwrap());
        let declared = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .any(|l| l.trim() == "default = true");
        assert_eq!(p["default"] == true, declared, "{p}");
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{p}");
    }
    assert!(list.iter().any(|p| p["default"] == true));
    assert!(list.iter().any(|p| p["default"] == false) || list.len() >= 2);
    let text = stdout(&debgate(&["policies"]));
    for (name, default) in bundled() {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&name) && l.contains("default") == default),
            "{name}: {text}"
        );
    }
}

#[test]
fn naming_the_default_policies_selects_what_naming_none_does() {
    let plain = ids(&[]);
    assert!(!plain.is_empty());
    assert_eq!(ids(&["--policy", "default"]), plain);
    let defaults: Vec<String> = bundled().into_iter().filter(|p| p.1).map(|p| p.0).collect();
    let mut named = Vec::new();
    for n in &defaults {
        named.extend(["--policy", n.as_str()]);
    }
    assert_eq!(ids(&named), plain);
}

#[test]
fn tags_select_rules_literally_or_by_glob() {
    let policy = "testdata/policies/good/language.toml";
    let text = std::fs::read_to_string(common::root().join(policy)).unwrap();
    // The policy's one `khc:` tag holds `*`: matched as the literal text it is.
    let literal = text
        .lines()
        .find_map(|l| l.strip_prefix("tags = [\"khc:"))
        .map(|t| format!("khc:{}", t.trim_end_matches("\"]")))
        .expect("a khc tag in the language policy");
    assert!(literal.contains('*'), "{literal}");
    assert_eq!(
        ids(&["--policy", policy, "--tag", &literal]),
        ["lang-element"]
    );
    assert_eq!(
        ids(&["--policy", policy, "--tag", "khc:*"]),
        ["lang-element"]
    );
    assert_eq!(
        ids(&["--policy", policy, "--tag", "combinator"]),
        ["lang-any-of", "lang-all-of"]
    );
}

#[test]
fn selections_that_judge_nothing_or_could_mean_two_things_are_usage_errors() {
    let scratch = tempfile::tempdir().unwrap();
    let (name, _) = bundled().remove(0);
    std::fs::create_dir(scratch.path().join(&name)).unwrap();
    std::fs::create_dir(scratch.path().join("empty")).unwrap();
    let dotted = format!("./{name}");
    let pkg = common::root().join("testdata/releases/focal-like");
    let pkg = pkg.to_str().unwrap();
    for (args, says) in [
        (
            vec!["check", "--policy", &name, pkg],
            "names both the bundled policy",
        ),
        (vec!["check", "--policy", "empty", pkg], "no policy file"),
        (
            vec!["check", "--policy", "no-such", pkg],
            "neither a bundled policy",
        ),
        (
            vec!["check", "--tag", "no-such-tag", pkg],
            "nothing to judge",
        ),
        // ./NAME is the path, unambiguously: here an empty directory, refused for that.
        (vec!["check", "--policy", &dotted, pkg], "no policy file"),
    ] {
        let out = debgate_in(scratch.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn a_waiver_of_a_rule_left_out_by_tag_is_unused_not_unknown() {
    let scratch = tempfile::tempdir().unwrap();
    let waivers = scratch.path().join("w.toml");
    std::fs::write(
        &waivers,
        "[[waiver]]\nrule = \"lang-any-of\"\npackage = \"*\"\nreason = \"r\"\nbug = \"b\"\n",
    )
    .unwrap();
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--policy",
        "testdata/policies/good/language.toml",
        "--tag",
        "khc:*",
        "--waivers",
        waivers.to_str().unwrap(),
        "testdata/releases/focal-like",
    ]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let notice = &v["waivers"][0];
    assert_eq!(notice["state"], "unused", "{v:#}");
    assert!(
        notice["message"].as_str().unwrap().contains("not selected"),
        "{notice}"
    );
}

#[test]
fn test_policy_exits_1_on_an_expectation_that_does_not_hold() {
    let scratch = tempfile::tempdir().unwrap();
    let policy = common::root().join("testdata/policies/good/language.toml");
    let cases = scratch.path().join("cases.toml");
    let text = format!(
        "policy = {:?}\n[[case]]\nname = \"wrong on purpose\"\n[[case.package]]\nname = \"linux-image-1\"\n[[case.package.file]]\npath = \"/boot/config-1\"\ncontent = \"# Linux/x86 6.1.0 Kernel Configuration\\n\"\n[[case.expect]]\nrule = \"lang-not\"\nstatus = \"fail\"\n",
        policy.display().to_string()
    );
    std::fs::write(&cases, text).unwrap();
    let out = debgate(&["test-policy", cases.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("lang-not should be fail, got pass"), "{text}");
    assert!(text.contains("1 failed"), "{text}");
    let ok = debgate(&["test-policy", "testdata/policies/cases"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
}
