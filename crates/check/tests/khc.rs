//! The kspp profile against its oracle: on each of the 8 real kernel configs in testdata/khc/
//! (with KHC's example `sysctl -a` output as a sysctl.d file), debgate's verdict must equal
//! kernel-hardening-checker's for every check, one to one:
//! - every KHC verdict has exactly one applicable kspp rule, with the same result;
//! - no kspp rule is applicable where KHC gives no verdict.
//!
//! Rules and verdicts meet through the rule's `khc:OPTION=DESIRED` tag. KHC reports a `MAX`
//! check with the number it substituted, so `khc:OPTION=MAX` meets the verdict for OPTION.
//! Known disagreements would be listed in `EXCEPTIONS`, each with its reason; there are none.

use debgate_check::selection::select;
use debgate_check::{analyze_package, AnalyzedPackage};
use debgate_facts::{Content, Control, Entry, EntryKind, Package};
use debgate_policy::{evaluate, Status};
use debgate_reader::Limits;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// (config, option, desired value) pairs where debgate knowingly differs from KHC, and why.
const EXCEPTIONS: &[(&str, &str, &str, &str)] = &[];

fn khc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/khc")
}

fn file(path: &str, bytes: Vec<u8>) -> (Entry, Content) {
    let entry = Entry {
        path: path.into(),
        raw_path: None,
        raw_link_target: None,
        kind: EntryKind::File,
        mode: 0o644,
        uid: 0,
        gid: 0,
        owner: Some("root".into()),
        group: Some("root".into()),
        size: bytes.len() as u64,
        link_target: None,
        xattrs: Default::default(),
        member: None,
        through: Vec::new(),
        device: None,
    };
    (
        entry,
        Content {
            bytes,
            truncated: false,
        },
    )
}

/// A kernel package shipping the config, with the example sysctls as a sysctl.d file.
fn kernel_package(name: &str) -> AnalyzedPackage {
    let config = std::fs::read(khc().join(format!("{name}.config"))).unwrap();
    let sysctls = std::fs::read(khc().join("example_sysctls.txt")).unwrap();
    let mut entries = Vec::new();
    let mut contents = BTreeMap::new();
    for (path, bytes) in [
        (format!("/boot/config-khc-{name}"), config),
        ("/etc/sysctl.d/99-khc.conf".to_string(), sysctls),
    ] {
        let (e, c) = file(&path, bytes);
        contents.insert(path, c);
        entries.push(e);
    }
    let package = Package {
        file: format!("linux-image-khc-{name}.deb").into(),
        control: Control {
            fields: vec![
                ("Package".into(), format!("linux-image-khc-{name}")),
                ("Version".into(), "1.0".into()),
            ],
        },
        conffiles: vec![],
        scripts: vec![],
        entries,
        contents,
        ..Default::default()
    };
    analyze_package(package, &Limits::default())
}

#[test]
fn kspp_agrees_with_kernel_hardening_checker_on_every_check() {
    let (rules, _) = select(&["kspp".into()], &[]).expect("the bundled kspp policy");
    // Each rule's `khc:` tag.
    let tag_of: HashMap<&str, &str> = rules
        .rules
        .iter()
        .filter_map(|r| {
            let t = r.tags.iter().find(|t| t.starts_with("khc:"))?;
            Some((r.id.as_str(), t.as_str()))
        })
        .collect();
    assert_eq!(
        tag_of.len(),
        rules.rules.len(),
        "every kspp rule has a khc: tag"
    );
    let mut configs: Vec<String> = std::fs::read_dir(khc())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            name.strip_suffix(".khc.json").map(str::to_string)
        })
        .collect();
    configs.sort();
    assert_eq!(configs.len(), 8, "the 8 configs of testdata/khc");
    let mut differences = Vec::new();
    let mut agreed = 0;
    for name in &configs {
        let verdicts: Value =
            serde_json::from_slice(&std::fs::read(khc().join(format!("{name}.khc.json"))).unwrap())
                .unwrap();
        let pkg = kernel_package(name);
        let findings = evaluate(&rules, &[pkg.view()]);
        // The applicable results, by the tag of their rule.
        let mut applicable: HashMap<&str, Vec<(&str, Status, &str)>> = HashMap::new();
        for f in &findings {
            if f.status != Status::NotApplicable {
                let tag = tag_of[f.rule.as_str()];
                applicable.entry(tag).or_default().push((
                    f.rule.as_str(),
                    f.status,
                    f.message.as_str(),
                ));
            }
        }
        let mut matched: Vec<&str> = Vec::new();
        for v in verdicts.as_array().unwrap() {
            let option = v["option_name"].as_str().unwrap();
            let desired = v["desired_val"].as_str().unwrap();
            let ok = v["check_result_bool"].as_bool().unwrap();
            if EXCEPTIONS
                .iter()
                .any(|(c, o, d, _)| c == name && *o == option && *d == desired)
            {
                continue;
            }
            let exact = format!("khc:{option}={desired}");
            let max = format!("khc:{option}=MAX");
            let mut got: Vec<(&str, Status, &str)> = Vec::new();
            for tag in [exact.as_str(), max.as_str()] {
                if let Some(results) = applicable.get(tag) {
                    got.extend(results.iter().copied());
                    matched.push(applicable.get_key_value(tag).unwrap().0);
                }
            }
            let want = if ok { Status::Pass } else { Status::Fail };
            match got.as_slice() {
                [(_, s, _)] if *s == want => agreed += 1,
                [] => differences.push(format!(
                    "{name}: {option} = {desired}: KHC says {}, no kspp rule applies",
                    v["check_result"]
                )),
                [(rule, s, msg)] => differences.push(format!(
                    "{name}: {option} = {desired}: KHC says {}, {rule} says {} ({msg})",
                    v["check_result"],
                    s.as_str()
                )),
                many => differences.push(format!(
                    "{name}: {option} = {desired}: {} kspp rules apply: {:?}",
                    many.len(),
                    many.iter().map(|(r, _, _)| r).collect::<Vec<_>>()
                )),
            }
        }
        for (tag, results) in &applicable {
            if !matched.contains(tag) {
                differences.push(format!(
                    "{name}: {} applies ({}), but KHC gives no verdict for {tag}",
                    results[0].0,
                    results[0].1.as_str()
                ));
            }
        }
    }
    differences.sort();
    assert!(
        differences.is_empty(),
        "{} difference(s) from KHC (first 20):\n{}",
        differences.len(),
        differences
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "kspp agrees with kernel-hardening-checker on {agreed} verdicts over {} configs",
        configs.len()
    );
    assert!(agreed > 2000, "{agreed} verdicts compared");
}
