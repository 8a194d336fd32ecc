//! Structural tests of the generated `kspp` profile against KHC's checklist: the committed file is
//! what `cargo xtask kspp` generates, and it holds exactly one rule per (architecture, check),
//! each asserting that check's tree. Whether the rules reach KHC's verdicts is the oracle test's
//! job, which needs the policy loader; these need only TOML.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use xtask::kspp::{self, Leaf, Op, Tree};
use xtask::workspace_root;

fn committed() -> String {
    let path = workspace_root().join(kspp::OUTPUT);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn rules(text: &str) -> Vec<toml::Value> {
    let table: toml::Table = toml::from_str(text).expect("the profile is TOML");
    table["rule"].as_array().expect("[[rule]]s").clone()
}

#[test]
fn committed_profile_is_what_the_generator_writes() {
    let generated = kspp::generate(&workspace_root()).unwrap();
    assert!(
        generated == committed(),
        "{} is stale: run `cargo xtask kspp`",
        kspp::OUTPUT
    );
    // Same input, same bytes: nothing in the output may depend on a clock or a hash order.
    assert_eq!(generated, kspp::generate(&workspace_root()).unwrap());
    assert!(kspp::check(&workspace_root()).unwrap().is_ok());
}

#[test]
fn committed_cases_are_what_the_generator_writes() {
    let path = workspace_root().join(kspp::cases::OUTPUT);
    let cases =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let generated = kspp::cases::generate(&workspace_root()).unwrap();
    assert!(
        generated == cases,
        "{} is stale: run `cargo xtask kspp`",
        kspp::cases::OUTPUT
    );
    assert_eq!(generated, kspp::cases::generate(&workspace_root()).unwrap());
    // Every rule of the profile is expected somewhere, once to pass and once to fail; that
    // the expectations hold is crates/check/tests/policy_cases.rs's job.
    let table: toml::Table = toml::from_str(&cases).expect("the case file is TOML");
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for case in table["case"].as_array().unwrap() {
        for e in case["expect"].as_array().unwrap() {
            seen.entry(e["rule"].as_str().unwrap().to_string())
                .or_default()
                .insert(e["status"].as_str().unwrap().to_string());
        }
    }
    for rule in rules(&committed()) {
        let id = rule["id"].as_str().unwrap();
        let statuses = seen.get(id).cloned().unwrap_or_default();
        assert!(
            statuses.contains("pass") && statuses.contains("fail"),
            "rule {id}: cases expect only {statuses:?}"
        );
    }
}

/// The loader reads policies with toml-span, not the toml crate: what one accepts (TOML 1.1
/// allows newlines in inline tables) the other might not, so parse with both.
#[test]
fn the_loaders_parser_reads_it() {
    let text = committed();
    let value = toml_span::parse(&text).unwrap_or_else(|e| panic!("toml-span: {e:?}"));
    let n = value
        .as_table()
        .and_then(|t| t.get("rule"))
        .and_then(|r| r.as_array())
        .map_or(0, |a| a.len());
    assert_eq!(n, rules(&text).len());
}

/// A check tree as text, from checks.json.
fn from_json(tree: &Tree) -> String {
    match tree {
        Tree::Op { op, operands } => {
            let word = match op {
                Op::Or => "or",
                Op::And => "and",
            };
            let parts: Vec<String> = operands.iter().map(from_json).collect();
            format!("{word}({})", parts.join(", "))
        }
        Tree::Leaf(Leaf::Kconfig(n)) => format!("kconfig:{}={}", n.name, n.expected),
        Tree::Leaf(Leaf::Sysctl(n)) => format!("sysctl:{}={}", n.name, n.expected),
        Tree::Leaf(Leaf::Cmdline(n)) => format!("cmdline:{}={}", n.name, n.expected),
        Tree::Leaf(Leaf::Version {
            at_least: [a, b, c],
        }) => format!("version>={a}.{b}.{c}"),
    }
}

/// The same text read back from a rule's `assert`, mapping `same-as` back to `MAX` after checking
/// that it names the bound KHC uses.
fn from_toml(a: &toml::Value, sysctl_max: &BTreeMap<String, String>) -> String {
    let s = |v: &toml::Value, k: &str| {
        v[k].as_str()
            .unwrap_or_else(|| panic!("{k} in {v}"))
            .to_string()
    };
    match s(a, "kind").as_str() {
        kind @ ("any-of" | "all-of") => {
            let word = if kind == "any-of" { "or" } else { "and" };
            let parts: Vec<String> = a["of"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| from_toml(o, sysctl_max))
                .collect();
            format!("{word}({})", parts.join(", "))
        }
        "kconfig" => {
            let expect = a["expect"].as_table().unwrap();
            assert_eq!(expect.len(), 1, "{a}");
            let (name, value) = expect.iter().next().unwrap();
            let value = match value {
                toml::Value::String(v) => v.clone(),
                toml::Value::Table(t) => {
                    assert_eq!(t["same-as"].as_str(), Some(format!("{name}_MAX").as_str()));
                    "MAX".to_string()
                }
                other => panic!("expect value {other}"),
            };
            format!("kconfig:{name}={value}")
        }
        "sysctl" => {
            let key = s(a, "key");
            let value = match a.get("same-as") {
                Some(bound) => {
                    assert_eq!(bound.as_str(), sysctl_max.get(&key).map(String::as_str));
                    "MAX".to_string()
                }
                None => {
                    let allowed = a["allowed"].as_array().unwrap();
                    assert_eq!(allowed.len(), 1, "{a}");
                    allowed[0].as_str().unwrap().to_string()
                }
            };
            format!("sysctl:{key}={value}")
        }
        "cmdline" => format!("cmdline:{}={}", s(a, "param"), s(a, "expect")),
        "version" => format!("version>={}", s(a, "at-least")),
        other => panic!("unexpected kind {other}"),
    }
}

#[test]
fn one_rule_per_architecture_and_check_asserting_its_tree() {
    let (checks, settings) = kspp::read_inputs(&workspace_root()).unwrap();
    let khc_arch: BTreeMap<&str, &str> = settings
        .arch
        .iter()
        .map(|a| (a.name.as_str(), a.khc.as_str()))
        .collect();

    // (KHC arch, name, desired) -> the check's tree as text. KHC's verdicts are keyed the same
    // way, so the key must be unique within an architecture.
    let mut want = BTreeMap::new();
    for (arch, list) in &checks.checklists {
        for tree in list.all() {
            let (name, desired) = tree.khc_key().unwrap();
            let key = (arch.clone(), name.to_string(), desired.to_string());
            assert!(
                want.insert(key, from_json(tree)).is_none(),
                "{arch} {name}={desired} twice"
            );
        }
    }

    let mut got = BTreeMap::new();
    for rule in rules(&committed()) {
        let id = rule["id"].as_str().unwrap();
        let arch = rule["when"]["arch"].as_str().unwrap();
        let tags: Vec<&str> = rule["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let khc: Vec<&str> = tags.iter().filter_map(|t| t.strip_prefix("khc:")).collect();
        assert_eq!(khc.len(), 1, "{id}: one khc: tag, got {tags:?}");
        let (name, desired) = khc[0].split_once('=').unwrap();
        assert_eq!(tags[1], "kspp", "{id}");
        assert_eq!(tags[2], format!("khc-arch:{}", khc_arch[arch]), "{id}");
        assert!(tags[3].starts_with("khc-decision:") && tags[4].starts_with("khc-reason:"));
        assert_eq!(rule["severity"].as_str(), Some("warning"), "{id}");
        assert_eq!(rule["paths"].as_array().unwrap().len(), 1, "{id}");
        let key = (
            khc_arch[arch].to_string(),
            name.to_string(),
            desired.to_string(),
        );
        let tree = from_toml(&rule["assert"], &settings.sysctl_max);
        assert!(
            got.insert(key, tree).is_none(),
            "{id}: a second rule for {khc:?}"
        );
    }
    // Compare the keys first, so a missing or extra rule is named rather than drowned in a diff.
    let want_keys: BTreeSet<_> = want.keys().collect();
    let got_keys: BTreeSet<_> = got.keys().collect();
    assert_eq!(
        want_keys.difference(&got_keys).collect::<Vec<_>>(),
        Vec::<&&(String, String, String)>::new(),
        "checks without a rule"
    );
    assert_eq!(
        got_keys.difference(&want_keys).collect::<Vec<_>>(),
        Vec::<&&(String, String, String)>::new(),
        "rules without a check"
    );
    for (key, tree) in &want {
        assert_eq!(&got[key], tree, "{key:?}");
    }
}

#[test]
fn ids_are_unique_kebab_case_and_rules_documented() {
    let mut ids = BTreeSet::new();
    for rule in rules(&committed()) {
        let id = rule["id"].as_str().unwrap().to_string();
        assert!(kspp::is_kebab(&id), "{id}");
        assert!(id.starts_with("kspp-"), "{id}");
        for key in ["title", "explanation"] {
            assert!(
                rule[key].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{id}: {key}"
            );
        }
        assert!(!rule["references"].as_array().unwrap().is_empty(), "{id}");
        assert!(ids.insert(id.clone()), "{id} twice");
    }
}

#[test]
fn the_kernel_tables_come_from_the_generator_data() {
    let (_, settings) = kspp::read_inputs(&workspace_root()).unwrap();
    let table: toml::Table = toml::from_str(&committed()).unwrap();
    assert_eq!(table["policy"]["name"].as_str(), Some("kspp"));
    let arch = table["kernel"]["arch"].as_table().unwrap();
    assert_eq!(arch.len(), settings.arch.len());
    for a in &settings.arch {
        assert_eq!(arch[&a.name].as_str(), Some(a.option.as_str()));
    }
    let compiler = table["kernel"]["compiler"].as_table().unwrap();
    for c in &settings.compiler {
        assert_eq!(
            compiler[&c.name]["option"].as_str(),
            Some(c.option.as_str())
        );
        assert_eq!(
            compiler[&c.name]["version"].as_str(),
            Some(c.version.as_str())
        );
    }
}
