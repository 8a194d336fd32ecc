//! Judging analysed packages against rules: one finding per rule, package and path. The
//! selection of packages and paths and what `presence` means are shared here; each assertion
//! kind judges what is selected (see [`crate::kinds`]).

use crate::finding::{Analyzed, Finding, Status};
use crate::kinds::{EvalCx, FileCx, Kind, Scope, Truth};
use crate::model::{Presence, Rule, RuleSet};
use crate::set::{Member, SetContext, Tally};
use debgate_facts::change::Change;
use debgate_facts::EntryKind;
use std::collections::HashMap;
use std::rc::Rc;

/// Evaluate every rule over the set held in memory: findings in rule order, each rule's in
/// package order (and a package's in path order), then the rule's set-level findings.
///
/// Built from the same three steps a streaming caller takes: the set's context
/// ([`SetContext::of`]), each package judged with it ([`evaluate_package`]), and the set-level
/// findings at the end ([`finish`]), put back in rule order.
pub fn evaluate(rules: &RuleSet, set: &[Analyzed<'_>]) -> Vec<Finding> {
    let cx = SetContext::of(&rules.kernel, set);
    let mut tally = Tally::new(rules);
    let mut by_rule: Vec<Vec<Finding>> = rules.rules.iter().map(|_| Vec::new()).collect();
    for (member, a) in set.iter().enumerate() {
        let judged = evaluate_package(rules, &cx, a);
        tally.add(member, &judged);
        for (r, f) in judged.rule_of.into_iter().zip(judged.findings) {
            by_rule[r].push(f);
        }
    }
    for (r, f) in finish_by_rule(rules, &cx, tally) {
        by_rule[r].push(f);
    }
    by_rule.into_iter().flatten().collect()
}

/// One package judged against every rule that selects it, with the set's context.
#[derive(Debug)]
pub struct Judged {
    /// Its findings, in rule order (each rule's in path order).
    pub findings: Vec<Finding>,
    /// The rule (index in the rule set) of each finding.
    rule_of: Vec<usize>,
    /// What the end needs to know of it, per rule that selected it (see [`Tally::add`]).
    pub(crate) seen: Vec<Seen>,
}

#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) rule: usize,
    /// It has a path the rule selects.
    pub(crate) any_path: bool,
    /// The rule's kind judges together: the end names the selected packages.
    pub(crate) together: bool,
    pub(crate) marks: Vec<usize>,
}

/// Judge one package of the set (`a`, whose contribution is in `cx`) against every rule: the
/// findings about it, and what [`finish`] needs of it once added to a [`Tally`]. Rules judged
/// on the set as a whole (a `sysctl` rule without `paths`) and the findings about a rule's whole
/// selection are left to [`finish`].
pub fn evaluate_package(rules: &RuleSet, cx: &SetContext, a: &Analyzed<'_>) -> Judged {
    let eval = EvalCx::new(cx, &rules.kernel);
    let mut selections = Selections::default();
    let mut judged = Judged {
        findings: Vec::new(),
        rule_of: Vec::new(),
        seen: Vec::new(),
    };
    for (r, rule) in rules.rules.iter().enumerate() {
        let kind = rule.assertion.get();
        // A set-scoped kind judges the set once; given `paths`, it judges each selected file
        // (a kernel config) instead.
        if kind.scope() == Scope::Set && rule.paths.is_none() {
            continue;
        }
        if !rule.selects_package(a.package.name()) {
            continue;
        }
        let before = judged.findings.len();
        let paths = selections.get(rule, kind, a);
        let mut seen = Seen {
            rule: r,
            any_path: !paths.is_empty(),
            together: kind.judges_together(),
            marks: Vec::new(),
        };
        if seen.together {
            let (findings, marks) = kind.judge_member(rule, &eval, a, &paths);
            judged.findings.extend(findings);
            seen.marks = marks;
        } else {
            if paths.is_empty() && rule.presence == Presence::Required {
                judged.findings.push(Finding::of(
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
                judged
                    .findings
                    .push(eval_path(rule, kind, a, path, &cx.unresolved, &eval));
            }
        }
        judged
            .rule_of
            .extend(std::iter::repeat_n(r, judged.findings.len() - before));
        judged.seen.push(seen);
    }
    judged
}

/// The set-level findings, once every package of `cx` has been judged and added to `tally`, in
/// rule order: a rule that selected no package, one whose selection ships no matching path
/// (`presence`), a kind that judges together's end (unused allow-list entries), and the rules
/// judged on the set as a whole.
pub fn finish(rules: &RuleSet, cx: &SetContext, tally: Tally) -> Vec<Finding> {
    finish_by_rule(rules, cx, tally)
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

fn finish_by_rule(rules: &RuleSet, cx: &SetContext, tally: Tally) -> Vec<(usize, Finding)> {
    let eval = EvalCx::new(cx, &rules.kernel);
    let mut out = Vec::new();
    for (r, (rule, mut t)) in rules.rules.iter().zip(tally.rules).enumerate() {
        let kind = rule.assertion.get();
        if kind.scope() == Scope::Set && rule.paths.is_none() {
            out.extend(kind.judge_set(rule, &eval).into_iter().map(|f| (r, f)));
            continue;
        }
        if !t.selected_any {
            let msg = format!("no package in the set matches {}", rule.packages.describe());
            let f = Finding::of(rule, Status::NotApplicable, None, None, msg, vec![]);
            out.push((r, f));
            continue;
        }
        // Packages may have been judged in any order; the messages name them in the set's.
        t.selected.sort_unstable();
        let selected: Vec<&Member> = t.selected.iter().map(|&m| cx.member(m)).collect();
        if kind.judges_together() {
            let found = kind.finish_together(rule, &selected, &t.marks);
            out.extend(found.into_iter().map(|f| (r, f)));
            continue;
        }
        if let Some(f) = nothing_selected(rule, kind, &selected, t.any_path) {
            out.push((r, f));
        }
    }
    out
}

/// What `presence` says when no selected package ships a matching path.
fn nothing_selected(
    rule: &Rule,
    kind: &dyn Kind,
    selected: &[&Member],
    any_path: bool,
) -> Option<Finding> {
    if any_path {
        return None;
    }
    let names: Vec<&str> = selected.iter().map(|m| m.name.as_str()).collect();
    let (status, message) = match rule.presence {
        Presence::Optional if kind.holds_when_nothing_selected() => (
            Status::Pass,
            format!(
                "{} ship nothing the rule forbids ({})",
                names.join(", "),
                describe_paths(rule)
            ),
        ),
        Presence::Optional => (
            Status::NotApplicable,
            format!(
                "{} ship no file matching {}",
                names.join(", "),
                describe_paths(rule)
            ),
        ),
        Presence::RequiredInSet => (
            Status::Fail,
            format!(
                "the set has {} but no package in it ships a file matching {}",
                names.join(", "),
                describe_paths(rule)
            ),
        ),
        Presence::Required => return None,
    };
    Some(Finding::of(rule, status, None, None, message, vec![]))
}

/// Which paths of the package a path selection picks, computed once per distinct selection:
/// a profile of a thousand rules over one kernel config selects the same path a thousand times.
#[derive(Default)]
struct Selections {
    /// Selection to the selected paths.
    cache: HashMap<String, Rc<Vec<String>>>,
}

fn describe_paths(rule: &Rule) -> String {
    rule.paths
        .as_ref()
        .map_or_else(|| "any path".into(), |p| p.globs.describe())
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
        Rc::clone(
            self.cache
                .entry(key)
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
    unresolved: &[Change],
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
