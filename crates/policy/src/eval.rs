//! Judging analysed packages against rules: one finding per rule, package and path.

use crate::model::{Assertion, CapsRule, FileStateAssert, Presence, Rule, RuleSet, Severity};
use debgate_analyze::effective::{EffectiveState, EndState, FROM_DATA};
use debgate_analyze::kconfig::Kconfig;
use debgate_analyze::sysctl;
use debgate_facts::change::{Change, Operand};
use debgate_facts::path::usrmerge_same;
use debgate_facts::{EntryKind, Package};
use regex::Regex;
use serde::Serialize;

/// A package with everything the analyzers found in it.
pub struct Analyzed<'a> {
    pub package: &'a Package,
    pub changes: &'a [Change],
    pub state: &'a EffectiveState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    NotApplicable,
    /// A failure accepted by a waiver (set by `debgate check`, never by `evaluate`): shown, but
    /// it does not fail the run.
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotApplicable => "not-applicable",
            Status::Waived => "waived",
        }
    }
}

/// One verdict. Field names are part of the JSON contract: add, never rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

/// Evaluate every rule over the set, in rule order.
pub fn evaluate(rules: &RuleSet, set: &[Analyzed<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in &rules.rules {
        match &rule.assertion {
            Assertion::Sysctl {
                key,
                allowed,
                forbidden,
                unset_passes,
            } => out.push(eval_sysctl(
                rule,
                set,
                key,
                allowed,
                forbidden,
                *unset_passes,
            )),
            // Judged by whoever declared it (the upload checks), not over package sets.
            Assertion::Builtin => {}
            _ => eval_paths(rule, set, &mut out),
        }
    }
    out
}

fn finding(
    rule: &Rule,
    status: Status,
    pkg: Option<&Package>,
    path: Option<&str>,
    message: String,
    evidence: Vec<String>,
) -> Finding {
    Finding {
        rule: rule.id.clone(),
        severity: rule.severity,
        status,
        package: pkg.map(|p| p.name().to_string()),
        file: pkg.map(|p| p.file.display().to_string()),
        path: path.map(str::to_string),
        message,
        evidence,
    }
}

fn describe_paths(rule: &Rule) -> String {
    rule.paths
        .as_ref()
        .map_or_else(|| "any path".into(), |p| p.globs.describe())
}

fn eval_paths(rule: &Rule, set: &[Analyzed<'_>], out: &mut Vec<Finding>) {
    // A change whose target is unknown may hit any file of the set, not only its package's.
    let unresolved: Vec<&Change> = set.iter().flat_map(|a| &a.state.unresolved).collect();
    let selected: Vec<&Analyzed<'_>> = set
        .iter()
        .filter(|a| rule.selects_package(a.package.name()))
        .collect();
    if selected.is_empty() {
        out.push(finding(
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
        let paths = matching_paths(rule, a);
        if paths.is_empty() && rule.presence == Presence::Required {
            out.push(finding(
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
            out.push(eval_path(rule, a, &path, &unresolved));
        }
    }
    if !any_path {
        let names: Vec<&str> = selected.iter().map(|a| a.package.name()).collect();
        match rule.presence {
            Presence::Optional => out.push(finding(
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
            Presence::RequiredInSet => out.push(finding(
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
fn matching_paths(rule: &Rule, a: &Analyzed<'_>) -> Vec<String> {
    match &rule.assertion {
        Assertion::FileState(_) | Assertion::Exists => a
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

fn eval_path(rule: &Rule, a: &Analyzed<'_>, path: &str, unresolved: &[&Change]) -> Finding {
    let pkg = a.package;
    let (violations, evidence, pass_msg) = match &rule.assertion {
        Assertion::FileState(want) => eval_file_state(want, a, path, unresolved),
        Assertion::Kconfig { expect } => eval_kconfig(expect, pkg, path),
        Assertion::Text {
            must_match,
            must_not_match,
            conffile,
        } => eval_text(must_match, must_not_match, *conffile, pkg, path),
        Assertion::Exists => (vec![], vec![], format!("{path} exists")),
        Assertion::Sysctl { .. } | Assertion::Builtin => (vec![], vec![], String::new()),
    };
    if violations.is_empty() {
        finding(
            rule,
            Status::Pass,
            Some(pkg),
            Some(path),
            pass_msg,
            evidence,
        )
    } else {
        finding(
            rule,
            Status::Fail,
            Some(pkg),
            Some(path),
            violations.join("; "),
            evidence,
        )
    }
}

type Verdict = (Vec<String>, Vec<String>, String);

/// What about one end state breaks the rule. An attribute the rule looks at that static
/// reading could not resolve is a violation too: no rule passes on what it could not see.
fn violations(want: &FileStateAssert, kind: Option<EntryKind>, st: &EndState) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(k) = want.kind {
        if kind != Some(k) {
            v.push(format!(
                "is a {}, expected a {}",
                kind.map_or("file created by a script", |k| k.as_str()),
                k.as_str()
            ));
        }
    }
    let looks_at_mode = want.mode.is_some()
        || want.max_mode.is_some()
        || want.setuid.is_some()
        || want.setgid.is_some();
    match st.mode.known() {
        None if looks_at_mode => v.push(unknown(&st.mode)),
        None => {}
        Some(&mode) => {
            if let Some(m) = want.mode {
                if mode != m {
                    v.push(format!("mode is {mode:04o}, expected {m:04o}"));
                }
            }
            if let Some(max) = want.max_mode {
                if mode & !max != 0 {
                    v.push(format!("mode {mode:04o} has bits outside {max:04o}"));
                }
            }
            for (name, want_bit, have) in [
                ("setuid", want.setuid, mode & 0o4000 != 0),
                ("setgid", want.setgid, mode & 0o2000 != 0),
            ] {
                match want_bit {
                    Some(true) if !have => v.push(format!("is not {name}")),
                    Some(false) if have => v.push(format!("is {name}")),
                    _ => {}
                }
            }
        }
    }
    for (what, want_name, have) in [
        ("owner", &want.owner, &st.owner),
        ("group", &want.group, &st.group),
    ] {
        if let Some(w) = want_name {
            match have.known() {
                None => v.push(unknown(have)),
                Some(h) if h != w => v.push(format!("{what} is {h}, expected {w}")),
                Some(_) => {}
            }
        }
    }
    if let Some(rule) = &want.capabilities {
        match st.caps.known() {
            None => v.push(unknown(&st.caps)),
            Some(caps) => {
                let have = caps.map_or(0, |c| c.any());
                let bad = match rule {
                    CapsRule::None => have,
                    CapsRule::Forbid(mask) => have & mask,
                    CapsRule::Allow(mask) => have & !mask,
                };
                if bad != 0 {
                    let text = caps.map(|c| c.to_text()).unwrap_or_default();
                    v.push(match rule {
                        CapsRule::None => format!("has file capabilities {text}"),
                        _ => {
                            let names: Vec<String> = (0..64)
                                .filter(|n| bad & (1u64 << n) != 0)
                                .map(debgate_facts::caps::name)
                                .collect();
                            format!("has capabilities {text} ({} not allowed)", names.join(", "))
                        }
                    });
                }
            }
        }
    }
    v
}

fn unknown<T>(a: &Operand<T>) -> String {
    match a {
        Operand::Unresolved(why) => why.clone(),
        Operand::Known(_) => String::new(),
    }
}

fn eval_file_state(
    want: &FileStateAssert,
    a: &Analyzed<'_>,
    path: &str,
    unresolved: &[&Change],
) -> Verdict {
    let Some(st) = a.state.files.get(path) else {
        return (
            vec![format!("{path} is not in the package")],
            vec![],
            String::new(),
        );
    };
    let mut evidence = Vec::new();
    if let Some(shipped) = &st.shipped {
        evidence.push(format!("{FROM_DATA}: {path} {}", shipped.text()));
    }
    for c in a.changes {
        if c.target.path().is_some_and(|p| {
            usrmerge_same(p, path) || (c.recursive && path.starts_with(&format!("{p}/")))
        }) {
            evidence.push(c.describe());
        }
    }
    let mut v = Vec::new();
    if let Some(e) = &st.caps_error {
        if want.capabilities.is_some() {
            v.push(format!(
                "carries a malformed security.capability xattr: {e}"
            ));
        }
    }
    // Every end state must hold; a failure names the state and the lines that lead to it.
    for s in &st.states {
        let bad = violations(want, st.kind, s);
        if !bad.is_empty() {
            let rerun = if s.rerun { ", after a re-run" } else { "" };
            v.push(format!(
                "can be left {} ({}{rerun}): {}",
                s.text(),
                s.provenance(),
                bad.join(", ")
            ));
        }
    }
    for b in &a.state.blind {
        v.push(format!("{b}: this part of a maintainer script could not be analyzed, so the end state is not known"));
    }
    // A change static reading could not aim might hit this file: say what it would mean.
    let is_dir = st.kind == Some(EntryKind::Dir);
    for c in unresolved {
        let mut added = Vec::new();
        for s in &st.states {
            let base = violations(want, st.kind, s);
            for x in violations(want, st.kind, &s.after(c, is_dir)) {
                if !base.contains(&x) && !added.contains(&x) {
                    added.push(x);
                }
            }
        }
        if !added.is_empty() {
            v.push(format!(
                "{} may apply here because its target cannot be resolved statically; it would mean: {}",
                c.describe(),
                added.join(", ")
            ));
            evidence.push(c.describe());
        }
    }
    let states: Vec<String> = st.states.iter().map(EndState::text).collect();
    let pass = match states.as_slice() {
        [one] => format!("{path} is {one}"),
        _ => format!("{path} is one of: {}", states.join("; ")),
    };
    (v, evidence, pass)
}

fn content<'p>(pkg: &'p Package, path: &str) -> Result<&'p debgate_facts::Content, String> {
    match pkg.contents.get(path) {
        None => Err(format!("the content of {path} was not captured")),
        Some(c) if c.truncated => Err(format!(
            "{path} is longer than the content cap; raise it with --limit max-content-bytes=N"
        )),
        Some(c) => Ok(c),
    }
}

fn eval_kconfig(expect: &[(String, Vec<String>)], pkg: &Package, path: &str) -> Verdict {
    let c = match content(pkg, path) {
        Ok(c) => c,
        Err(e) => return (vec![e], vec![], String::new()),
    };
    let k = Kconfig::parse(&c.text());
    let mut v = Vec::new();
    let mut evidence = Vec::new();
    for (opt, allowed) in expect {
        let value = k.value(opt);
        let shown = match k.assignment(opt) {
            Some(a) if a.value == "n" => format!("{path}:{}: # {opt} is not set", a.line),
            Some(a) => format!("{path}:{}: {opt}={}", a.line, a.value),
            None => format!("{path}: {opt} is absent (not set)"),
        };
        if !allowed.iter().any(|x| x == value) {
            v.push(format!(
                "{opt} is {}, expected {}",
                if value == "n" { "not set" } else { value },
                allowed.join(" or ")
            ));
        }
        evidence.push(shown);
    }
    let names: Vec<String> = expect
        .iter()
        .map(|(o, _)| format!("{o}={}", k.value(o)))
        .collect();
    (v, evidence, names.join(", "))
}

fn eval_text(
    must: &[Regex],
    must_not: &[Regex],
    conffile: Option<bool>,
    pkg: &Package,
    path: &str,
) -> Verdict {
    let mut v = Vec::new();
    let mut evidence = Vec::new();
    if let Some(want) = conffile {
        let is = pkg.is_conffile(path);
        if is != want {
            v.push(if want {
                format!("{path} is not listed in conffiles")
            } else {
                format!("{path} is a conffile")
            });
        }
    }
    if !must.is_empty() || !must_not.is_empty() {
        let c = match content(pkg, path) {
            Ok(c) => c,
            Err(e) => return (vec![e], vec![], String::new()),
        };
        let text = c.text();
        for re in must {
            match text.lines().enumerate().find(|(_, l)| re.is_match(l)) {
                Some((i, l)) => evidence.push(format!("{path}:{}: {l}", i + 1)),
                None => v.push(format!("no line of {path} matches `{}`", re.as_str())),
            }
        }
        for re in must_not {
            for (i, l) in text.lines().enumerate().filter(|(_, l)| re.is_match(l)) {
                v.push(format!(
                    "{path}:{} matches forbidden `{}`: {l}",
                    i + 1,
                    re.as_str()
                ));
            }
        }
    }
    let pass = match conffile {
        Some(true) => format!("{path} is a conffile with the expected content"),
        _ => format!("{path} has the expected content"),
    };
    (v, evidence, pass)
}

fn eval_sysctl(
    rule: &Rule,
    set: &[Analyzed<'_>],
    key: &str,
    allowed: &[String],
    forbidden: &[String],
    unset_passes: bool,
) -> Finding {
    if !set.iter().any(|a| rule.selects_package(a.package.name())) {
        let msg = "no package in the set to judge".to_string();
        return finding(rule, Status::NotApplicable, None, None, msg, vec![]);
    }
    // Every sysctl file in the selected packages, ordered as the system applies them.
    let mut files: Vec<(&str, &Package)> = Vec::new();
    let mut truncated = Vec::new();
    for a in set
        .iter()
        .filter(|a| rule.selects_package(a.package.name()))
    {
        for (path, c) in &a.package.contents {
            if sysctl::is_sysctl_path(path) {
                files.push((path.as_str(), a.package));
                if c.truncated {
                    truncated.push(path.clone());
                }
            }
        }
    }
    let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
    let mut settings = Vec::new();
    let mut owner_of = Vec::new();
    for idx in sysctl::application_order(&paths) {
        let (path, pkg) = files[idx];
        let text = pkg.contents[path].text();
        for s in sysctl::parse(path, &text) {
            settings.push(s);
            owner_of.push(pkg);
        }
    }
    let norm = sysctl::normalise_key(key);
    let evidence: Vec<String> = settings
        .iter()
        .filter(|s| sysctl::key_matches(&s.key, &norm))
        .map(|s| format!("{}:{}: {} = {}", s.file, s.line, s.key, s.value))
        .collect();
    let Some(win) = sysctl::effective(&settings, key) else {
        let mut msg =
            format!("no sysctl.d file in the set sets {key}; the kernel's default applies");
        if !truncated.is_empty() {
            msg.push_str(&format!(
                " (not all of {} was read: over the content cap)",
                truncated.join(", ")
            ));
        }
        let status = if unset_passes {
            Status::Pass
        } else {
            Status::Fail
        };
        return finding(rule, status, None, None, msg, evidence);
    };
    let idx = settings
        .iter()
        .position(|s| std::ptr::eq(s, win))
        .unwrap_or(0);
    let pkg = owner_of.get(idx).copied();
    let bad = forbidden.iter().any(|f| f == &win.value)
        || (!allowed.is_empty() && !allowed.iter().any(|x| x == &win.value));
    let msg = format!("{key} = {} is set by {}:{}", win.value, win.file, win.line);
    if bad {
        let expected = if allowed.is_empty() {
            format!("it must not be {}", forbidden.join(" or "))
        } else {
            format!("expected {}", allowed.join(" or "))
        };
        finding(
            rule,
            Status::Fail,
            pkg,
            Some(&win.file),
            format!("{msg}; {expected}"),
            evidence,
        )
    } else {
        finding(rule, Status::Pass, pkg, Some(&win.file), msg, evidence)
    }
}
