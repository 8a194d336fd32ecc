//! Whole-set comparisons: effective sysctl values and policy verdicts per rule.

use crate::report::{SysctlChange, SysctlValue, Transition, VerdictChange};
use debgate_pipeline::AnalyzedPackage;
use debgate_policy::kernel::SetSysctl;
use debgate_policy::{evaluate, Analyzed, Finding, RuleSet, SetContext, Status};
use std::collections::{BTreeMap, BTreeSet};

/// The winning setting of `key` in a set, as the report shows it.
fn effective(set: &SetSysctl<'_>, key: &str) -> Option<SysctlValue> {
    let (win, pkg) = set.winner(key)?;
    Some(SysctlValue {
        value: win.value.clone(),
        file: win.file.clone(),
        line: win.line,
        package: pkg.name.clone(),
    })
}

/// Keys whose effective value differs (or that one side sets and the other doesn't). The
/// order sysctl.d files apply in is the policy evaluator's own (`SetSysctl`).
pub fn sysctl_changes(old: &[&AnalyzedPackage], new: &[&AnalyzedPackage]) -> Vec<SysctlChange> {
    let ov: Vec<Analyzed<'_>> = old.iter().map(|a| a.view()).collect();
    let nv: Vec<Analyzed<'_>> = new.iter().map(|a| a.view()).collect();
    // No kernel facts: only the sysctl.d files are compared.
    let data = debgate_policy::kernel::KernelData::default();
    let (ocx, ncx) = (SetContext::of(&data, &ov), SetContext::of(&data, &nv));
    let (o, n) = (
        SetSysctl::of(&ocx, &|_| true),
        SetSysctl::of(&ncx, &|_| true),
    );
    let keys: BTreeSet<&str> = o
        .settings
        .iter()
        .chain(&n.settings)
        .map(|(s, _)| s.key.as_str())
        .collect();
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
