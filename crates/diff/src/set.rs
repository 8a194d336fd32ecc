//! Whole-set comparisons: effective sysctl values and policy verdicts per rule.

use crate::report::{SysctlChange, SysctlValue, Transition, VerdictChange};
use debgate_analyze::sysctl::{self, Setting};
use debgate_pipeline::AnalyzedPackage;
use debgate_policy::{evaluate, Analyzed, Finding, RuleSet, Status};
use std::collections::{BTreeMap, BTreeSet};

/// Every sysctl setting of the set in the order the system applies them, with the package that
/// ships each file.
fn settings(set: &[&AnalyzedPackage]) -> Vec<(Setting, String)> {
    let mut files: Vec<(&str, String, &str)> = Vec::new();
    for a in set {
        for (path, content) in &a.package.contents {
            if sysctl::is_sysctl_path(path) {
                files.push((path, content.text().into_owned(), a.package.name()));
            }
        }
    }
    let paths: Vec<&str> = files.iter().map(|(p, _, _)| *p).collect();
    let mut out = Vec::new();
    for idx in sysctl::application_order(&paths) {
        let (path, text, pkg) = &files[idx];
        out.extend(
            sysctl::parse(path, text)
                .into_iter()
                .map(|s| (s, pkg.to_string())),
        );
    }
    out
}

fn effective(all: &[(Setting, String)], key: &str) -> Option<SysctlValue> {
    let ordered: Vec<Setting> = all.iter().map(|(s, _)| s.clone()).collect();
    let win = sysctl::effective(&ordered, key)?;
    let pkg = all
        .iter()
        .find(|(s, _)| s == win)
        .map(|(_, p)| p.clone())
        .unwrap_or_default();
    Some(SysctlValue {
        value: win.value.clone(),
        file: win.file.clone(),
        line: win.line,
        package: pkg,
    })
}

/// Keys whose effective value differs (or that one side sets and the other doesn't).
pub fn sysctl_changes(old: &[&AnalyzedPackage], new: &[&AnalyzedPackage]) -> Vec<SysctlChange> {
    let (o, n) = (settings(old), settings(new));
    let keys: BTreeSet<&str> = o.iter().chain(&n).map(|(s, _)| s.key.as_str()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (ov, nv) = (effective(&o, key), effective(&n, key));
        if ov.as_ref().map(|v| &v.value) != nv.as_ref().map(|v| &v.value) {
            out.push(SysctlChange {
                key: key.to_string(),
                old: ov,
                new: nv,
            });
        }
    }
    out
}

fn findings(rules: &RuleSet, set: &[&AnalyzedPackage]) -> Vec<Finding> {
    let views: Vec<Analyzed<'_>> = set.iter().map(|a| a.view()).collect();
    evaluate(rules, &views)
}

/// One rule's verdict over a set, and the failures behind it.
fn aggregate(findings: &[&Finding]) -> (Status, Vec<String>) {
    let failures: Vec<String> = findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| {
            let who = f.package.as_deref().unwrap_or("(set)");
            match &f.path {
                Some(p) => format!("{who} {p}: {}", f.message),
                None => format!("{who}: {}", f.message),
            }
        })
        .collect();
    let status = if !failures.is_empty() {
        Status::Fail
    } else if findings.iter().any(|f| f.status == Status::Pass) {
        Status::Pass
    } else {
        Status::NotApplicable
    };
    (status, failures)
}

fn by_rule(f: &[Finding]) -> BTreeMap<String, Vec<&Finding>> {
    let mut m: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for x in f {
        m.entry(x.rule.clone()).or_default().push(x);
    }
    m
}

/// Every rule's verdict on each side and how it moved.
pub fn verdicts(
    rules: &RuleSet,
    old: &[&AnalyzedPackage],
    new: &[&AnalyzedPackage],
) -> Vec<VerdictChange> {
    let (of, nf) = (findings(rules, old), findings(rules, new));
    let (ob, nb) = (by_rule(&of), by_rule(&nf));
    rules
        .rules
        .iter()
        .map(|r| {
            let none = Vec::new();
            let (os, ofail) = aggregate(ob.get(&r.id).unwrap_or(&none));
            let (ns, nfail) = aggregate(nb.get(&r.id).unwrap_or(&none));
            use Status::*;
            let transition = match (os, ns) {
                (a, b) if a == b => Transition::Unchanged,
                (_, Fail) => Transition::Regression,
                (Fail, Pass) => Transition::Fixed,
                (NotApplicable, Pass) => Transition::NewCoverage,
                (_, NotApplicable) => Transition::DroppedCoverage,
                // Every (old, new) combination is listed above; pass → pass is unchanged.
                _ => Transition::Unchanged,
            };
            VerdictChange {
                rule: r.id.clone(),
                severity: r.severity,
                transition,
                old: os,
                new: ns,
                old_failures: ofail,
                new_failures: nfail,
            }
        })
        .collect()
}
