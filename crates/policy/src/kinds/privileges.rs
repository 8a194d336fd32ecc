//! The `privileges` kind: every selected file that is setuid, setgid or capable in any of its
//! end states, whether data.tar ships the privilege or a maintainer script grants it, must be
//! approved by an entry of a reviewed allow-list (see [`crate::allowlist`]). A change static
//! reading could not resolve is approved only by an entry naming its package, script and
//! command; everything else unknown fails. An entry about a package of the set that approves
//! nothing is reported as unused.

use super::{EvalCx, Kind, Scope, Spec};
use crate::allowlist::{self, Allow, AllowList};
use crate::diagnostic::{get, Code, Doc};
use crate::finding::{Analyzed, Finding, Status};
use crate::model::{Rule, Severity};
use crate::set::Member;
use debgate_analyze::privileges::{self as privs, PrivState};
use debgate_facts::change::Change;
use std::collections::BTreeSet;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "privileges",
    keys: &["kind", "allowlist", "directories"],
    parse,
};

#[derive(Debug)]
pub struct Privileges {
    pub list: AllowList,
    pub scope: privs::Scope,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, at: Span) -> Option<Box<dyn Kind>> {
    let mut scope = privs::Scope::default();
    if let Some(v) = get(t, "directories") {
        scope.directories = doc.boolean(v, "directories")?;
    }
    let v = doc.required(
        t,
        "allowlist",
        at,
        "a `privileges` assertion",
        " (the allow-list file, relative to the policy)",
    )?;
    let name = doc.nonempty_string(v, "allowlist")?;
    let (shown, text) = doc.read_beside(&name, v.span)?;
    let mut inner = Doc::new(&shown, &text);
    inner.beside = doc.beside;
    let list = allowlist::parse(&mut inner);
    let errors = inner.finish();
    if !errors.is_empty() {
        doc.diagnostics.extend(errors);
        return None;
    }
    if list.entries.is_empty() {
        doc.error(
            v.span,
            Code::BadValue,
            format!("{shown} has no [[allow]] entry; every privileged file would fail"),
        );
        return None;
    }
    Some(Box::new(Privileges { list, scope }))
}

impl Kind for Privileges {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::EffectiveFiles
    }

    fn judges_together(&self) -> bool {
        true
    }

    fn judge_member(
        &self,
        rule: &Rule,
        _eval: &EvalCx<'_>,
        a: &Analyzed<'_>,
        paths: &[String],
    ) -> (Vec<Finding>, Vec<usize>) {
        let mut used = vec![false; self.list.entries.len()];
        let mut out = Vec::new();
        judge_package(self, rule, a, paths, &mut used, &mut out);
        let marks = used
            .iter()
            .enumerate()
            .filter(|(_, u)| **u)
            .map(|(i, _)| i)
            .collect();
        (out, marks)
    }

    fn finish_together(
        &self,
        rule: &Rule,
        selected: &[&Member],
        used: &BTreeSet<usize>,
    ) -> Vec<Finding> {
        // An entry about a package of this set that approved nothing: stale, or a typo. Entries
        // about packages the set does not hold say nothing here (an upload is checked against
        // the allow-list of a whole release).
        let mut out = Vec::new();
        for (i, e) in self.list.entries.iter().enumerate() {
            let Some(member) = selected.iter().find(|m| e.matches_package(&m.name)) else {
                continue;
            };
            if used.contains(&i) {
                continue;
            }
            let mut f = Finding::about(
                rule,
                Status::Fail,
                Some(member),
                e.path(),
                format!(
                    "unused allow-list entry ({}): it approves nothing in this set: {}",
                    e.location,
                    e.describe()
                ),
                vec![],
            );
            // Like an unused waiver: worth a line, not a failed run.
            f.severity = Severity::Info;
            out.push(f);
        }
        out
    }
}

/// The first entry that approves the change, marked used.
fn approve_change(entries: &[Allow], used: &mut [bool], pkg: &str, c: &Change) -> Option<usize> {
    let i = entries.iter().position(|e| e.approves_change(pkg, c))?;
    used[i] = true;
    Some(i)
}

/// How a reviewer approves an unresolved change: the entry to write.
fn how_to_approve(pkg: &str, c: &Change) -> String {
    format!(
        "approve it with package = \"{pkg}\", unresolved = {{ script = \"{}\", command = \"{}\" }}",
        c.script,
        c.command.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

fn judge_package(
    kind: &Privileges,
    rule: &Rule,
    a: &Analyzed<'_>,
    paths: &[String],
    used: &mut [bool],
    out: &mut Vec<Finding>,
) {
    let pkg = a.package.name();
    let entries = &kind.list.entries;
    let inv = privs::inventory(a.changes, a.state, kind.scope);
    let before = out.len();
    for pf in &inv.files {
        let path = pf.file.path.as_str();
        if !paths.iter().any(|p| p == path) {
            continue;
        }
        let mut problems = Vec::new();
        let mut approved_by: Vec<String> = Vec::new();
        if let Some(e) = &pf.file.caps_error {
            problems.push(format!(
                "carries a malformed security.capability xattr: {e}"
            ));
        }
        let file_kind = privs::kind_of(pf.file, a.changes);
        for ps in &pf.states {
            judge_state(
                kind,
                pkg,
                path,
                ps,
                file_kind,
                used,
                &mut problems,
                &mut approved_by,
            );
        }
        let evidence = super::file_evidence(a, path, pf.file);
        let states: Vec<String> = pf.states.iter().map(|s| s.state.text()).collect();
        let (status, message) = if problems.is_empty() {
            approved_by.dedup();
            (
                Status::Pass,
                format!(
                    "{path} is privileged ({}), as approved by {}",
                    states.join("; "),
                    approved_by.join(", ")
                ),
            )
        } else {
            (Status::Fail, problems.join("; "))
        };
        out.push(Finding::of(
            rule,
            status,
            Some(a.package),
            Some(path),
            message,
            evidence,
        ));
    }
    for c in &inv.unresolved {
        let (status, message) = match approve_change(entries, used, pkg, c) {
            Some(i) => (
                Status::Pass,
                format!(
                    "{} may grant a privilege to any file, as approved by {}",
                    c.describe(),
                    entries[i].location
                ),
            ),
            None => (
                Status::Fail,
                format!(
                    "{} may grant a privilege to any file of the set, since its target cannot be resolved statically; {}",
                    c.describe(),
                    how_to_approve(pkg, c)
                ),
            ),
        };
        out.push(Finding::of(
            rule,
            status,
            Some(a.package),
            None,
            message,
            vec![],
        ));
    }
    for b in inv.blind {
        out.push(Finding::of(
            rule,
            Status::Fail,
            Some(a.package),
            None,
            format!("{b}: this part of a maintainer script could not be analyzed, so what it grants is not known"),
            vec![],
        ));
    }
    if out.len() == before {
        out.push(Finding::of(
            rule,
            Status::Pass,
            Some(a.package),
            None,
            format!("{pkg} has no setuid, setgid or capable file in any end state"),
            vec![],
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn judge_state(
    kind: &Privileges,
    pkg: &str,
    path: &str,
    ps: &PrivState<'_>,
    file_kind: Option<debgate_facts::EntryKind>,
    used: &mut [bool],
    problems: &mut Vec<String>,
    approved_by: &mut Vec<String>,
) {
    let entries = &kind.list.entries;
    let st = ps.state;
    let rerun = if st.rerun { ", after a re-run" } else { "" };
    let shown = format!("{} ({}{rerun})", st.text(), st.provenance());
    // What is unknown must come from a change a reviewer approved by its command.
    for (what, c) in &ps.unresolved {
        match approve_change(entries, used, pkg, c) {
            Some(i) => approved_by.push(entries[i].location.to_string()),
            None => problems.push(format!(
                "can be left {shown}, whose {what} is set by {} {} and not resolved statically; {}",
                c.source(),
                c.action.describe(),
                how_to_approve(pkg, c)
            )),
        }
    }
    for why in &ps.unexplained {
        problems.push(format!("can be left {shown}: {why}"));
    }
    // What is known to be privileged must be within an entry for this file.
    if !privs::is_known_privileged(st, file_kind, kind.scope) {
        return;
    }
    match entries.iter().position(|e| e.approves_known(pkg, path, st)) {
        Some(i) => {
            used[i] = true;
            approved_by.push(entries[i].location.to_string());
        }
        None => problems.push(format!(
            "can be left {shown}, which no allow-list entry approves"
        )),
    }
}
