//! Judging analysed packages against rules: one finding per rule, package and path. The
//! selection of packages and paths and what `presence` means are shared here; each assertion
//! kind judges what is selected (see [`crate::kinds`]).

use crate::finding::{Analyzed, Finding, Status};
use crate::kinds::{FileCx, Kind, Scope};
use crate::model::{Presence, Rule, RuleSet};
use debgate_facts::change::Change;
use debgate_facts::EntryKind;

/// Evaluate every rule over the set, in rule order.
pub fn evaluate(rules: &RuleSet, set: &[Analyzed<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in &rules.rules {
        let kind = rule.assertion.get();
        match kind.scope() {
            Scope::Set => out.extend(kind.judge_set(rule, set)),
            Scope::EffectiveFiles | Scope::ShippedFiles => eval_paths(rule, kind, set, &mut out),
        }
    }
    out
}

fn describe_paths(rule: &Rule) -> String {
    rule.paths
        .as_ref()
        .map_or_else(|| "any path".into(), |p| p.globs.describe())
}

fn eval_paths(rule: &Rule, kind: &dyn Kind, set: &[Analyzed<'_>], out: &mut Vec<Finding>) {
    // A change whose target is unknown may hit any file of the set, not only its package's.
    let unresolved: Vec<&Change> = set.iter().flat_map(|a| &a.state.unresolved).collect();
    let selected: Vec<&Analyzed<'_>> = set
        .iter()
        .filter(|a| rule.selects_package(a.package.name()))
        .collect();
    if selected.is_empty() {
        out.push(Finding::of(
            rule,
            Status::NotApplicable,
            None,
            None,
            format!("no package in the set matches {}", rule.packages.describe()),
            vec![],
        ));
        return;
    }
    let mut any_path = false;
    for a in &selected {
        let paths = matching_paths(rule, kind, a);
        if paths.is_empty() && rule.presence == Presence::Required {
            out.push(Finding::of(
                rule,
                Status::Fail,
                Some(a.package),
                None,
                format!(
                    "{} ships no file matching {}",
                    a.package.name(),
                    describe_paths(rule)
                ),
                vec![],
            ));
        }
        for path in paths {
            any_path = true;
            out.push(eval_path(rule, kind, a, &path, &unresolved));
        }
    }
    if !any_path {
        let names: Vec<&str> = selected.iter().map(|a| a.package.name()).collect();
        match rule.presence {
            Presence::Optional => out.push(Finding::of(
                rule,
                Status::NotApplicable,
                None,
                None,
                format!(
                    "{} ship no file matching {}",
                    names.join(", "),
                    describe_paths(rule)
                ),
                vec![],
            )),
            Presence::RequiredInSet => out.push(Finding::of(
                rule,
                Status::Fail,
                None,
                None,
                format!(
                    "the set has {} but no package in it ships a file matching {}",
                    names.join(", "),
                    describe_paths(rule)
                ),
                vec![],
            )),
            Presence::Required => {}
        }
    }
}

/// Paths of a package a rule looks at. File-state rules see the effective state, which includes
/// files only a script creates; content rules see regular files in data.tar.
fn matching_paths(rule: &Rule, kind: &dyn Kind, a: &Analyzed<'_>) -> Vec<String> {
    match kind.scope() {
        Scope::EffectiveFiles => a
            .state
            .files
            .keys()
            .filter(|p| rule.selects_path(p))
            .cloned()
            .collect(),
        _ => a
            .package
            .entries
            .iter()
            .filter(|e| {
                matches!(e.kind, EntryKind::File | EntryKind::HardLink)
                    && rule.selects_path(&e.path)
            })
            .map(|e| e.path.clone())
            .collect(),
    }
}

fn eval_path(
    rule: &Rule,
    kind: &dyn Kind,
    a: &Analyzed<'_>,
    path: &str,
    unresolved: &[&Change],
) -> Finding {
    let v = kind.judge_file(&FileCx {
        analyzed: a,
        path,
        unresolved,
    });
    let (status, message) = if v.violations.is_empty() {
        (Status::Pass, v.pass)
    } else {
        (Status::Fail, v.violations.join("; "))
    };
    Finding::of(
        rule,
        status,
        Some(a.package),
        Some(path),
        message,
        v.evidence,
    )
}
