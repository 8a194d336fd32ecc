//! Judging analysed packages against rules: one finding per rule, package and path. The
//! selection of packages and paths and what `presence` means are shared here; each assertion
//! kind judges what is selected (see [`crate::kinds`]).

use crate::finding::{Analyzed, Finding, Status};
use crate::kinds::{EvalCx, FileCx, Kind, Scope, Truth};
use crate::model::{Presence, Rule, RuleSet};
use debgate_facts::change::Change;
use debgate_facts::EntryKind;
use std::collections::HashMap;
use std::rc::Rc;

/// Evaluate every rule over the set, in rule order.
pub fn evaluate(rules: &RuleSet, set: &[Analyzed<'_>]) -> Vec<Finding> {
    let eval = EvalCx::new(set, &rules.kernel);
    let mut selections = Selections::default();
    let mut out = Vec::new();
    for rule in &rules.rules {
        let kind = rule.assertion.get();
        // A set-scoped kind judges the set once; given `paths`, it judges each selected file
        // (a kernel config) instead.
        match (kind.scope(), &rule.paths) {
            (Scope::Set, None) => out.extend(kind.judge_set(rule, &eval)),
            _ => eval_paths(rule, kind, &eval, &mut selections, &mut out),
        }
    }
    out
}

/// Which paths of which package a path selection picks, computed once per distinct selection:
/// a profile of a thousand rules over one kernel config selects the same path a thousand times.
#[derive(Default)]
struct Selections {
    /// (package address, selection) to the selected paths.
    cache: HashMap<(usize, String), Rc<Vec<String>>>,
}

fn describe_paths(rule: &Rule) -> String {
    rule.paths
        .as_ref()
        .map_or_else(|| "any path".into(), |p| p.globs.describe())
}

fn eval_paths<'e>(
    rule: &Rule,
    kind: &dyn Kind,
    eval: &EvalCx<'e>,
    selections: &mut Selections,
    out: &mut Vec<Finding>,
) {
    let set = eval.set;
    // A change whose target is unknown may hit any file of the set, not only its package's.
    let unresolved: Vec<&Change> = set.iter().flat_map(|a| &a.state.unresolved).collect();
    let selected: Vec<&'e Analyzed<'e>> = set
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
    if kind.judges_together() {
        let together: Vec<(&Analyzed<'e>, Rc<Vec<String>>)> = selected
            .iter()
            .map(|a| (*a, selections.get(rule, kind, a)))
            .collect();
        out.extend(kind.judge_together(rule, eval, &together));
        return;
    }
    let mut any_path = false;
    for a in &selected {
        let paths = selections.get(rule, kind, a);
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
        for path in paths.iter() {
            any_path = true;
            out.push(eval_path(rule, kind, a, path, &unresolved, eval));
        }
    }
    if !any_path {
        let names: Vec<&str> = selected.iter().map(|a| a.package.name()).collect();
        match rule.presence {
            Presence::Optional if kind.holds_when_nothing_selected() => out.push(Finding::of(
                rule,
                Status::Pass,
                None,
                None,
                format!(
                    "{} ship nothing the rule forbids ({})",
                    names.join(", "),
                    describe_paths(rule)
                ),
                vec![],
            )),
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

impl Selections {
    fn get(&mut self, rule: &Rule, kind: &dyn Kind, a: &Analyzed<'_>) -> Rc<Vec<String>> {
        let effective = kind.scope() == Scope::EffectiveFiles;
        let describe = |p: &Option<crate::model::PathSelector>| {
            p.as_ref()
                .map(|p| format!("{}{}", p.globs.patterns.join("\0"), p.usrmerge))
        };
        let key = format!(
            "{effective}\n{:?}\n{:?}\n{:?}",
            describe(&rule.paths),
            describe(&rule.exclude_paths),
            rule.types
        );
        let id = (a.package as *const debgate_facts::Package as usize, key);
        Rc::clone(
            self.cache
                .entry(id)
                .or_insert_with(|| Rc::new(matching_paths(rule, effective, a))),
        )
    }
}

/// Paths of a package a rule looks at. File-state rules see the effective state, which includes
/// files only a script creates; content rules see regular files in data.tar.
fn matching_paths(rule: &Rule, effective: bool, a: &Analyzed<'_>) -> Vec<String> {
    if effective {
        return a
            .state
            .files
            .iter()
            .filter(|(p, st)| rule.selects_path(p) && rule.selects_type(st.kind))
            .map(|(p, _)| p.clone())
            .collect();
    }
    a.package
        .entries
        .iter()
        .filter(|e| {
            matches!(e.kind, EntryKind::File | EntryKind::HardLink)
                && rule.selects_type(Some(e.kind))
                && rule.selects_path(&e.path)
        })
        .map(|e| e.path.clone())
        .collect()
}

fn eval_path<'e>(
    rule: &Rule,
    kind: &dyn Kind,
    a: &'e Analyzed<'e>,
    path: &str,
    unresolved: &[&Change],
    eval: &EvalCx<'e>,
) -> Finding {
    let cx = FileCx {
        analyzed: a,
        path,
        unresolved,
        eval,
    };
    let finding = |status, message, evidence| {
        Finding::of(rule, status, Some(a.package), Some(path), message, evidence)
    };
    if let Some(when) = &rule.when {
        match when.test(&cx.kernel()) {
            Truth::Holds(_) => {}
            Truth::Fails(m) | Truth::NotApplicable(m) => {
                return finding(
                    Status::NotApplicable,
                    format!("not applicable: {m}"),
                    vec![],
                )
            }
            Truth::Unknown(m) => {
                return finding(
                    Status::Fail,
                    format!("whether the rule applies is not known: {m}"),
                    vec![],
                )
            }
        }
    }
    let v = kind.judge_file(&cx);
    if let Some(why) = v.not_applicable {
        return finding(Status::NotApplicable, why, v.evidence);
    }
    let (status, message) = if v.violations.is_empty() {
        (Status::Pass, v.pass)
    } else {
        (Status::Fail, v.violations.join("; "))
    };
    finding(status, message, v.evidence)
}
