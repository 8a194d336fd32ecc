//! The `file-state` kind: properties every end state of a file must have, the end states being
//! what data.tar and every run of the maintainer scripts can leave (see the effective-state
//! model in ARCHITECTURE.md).

use super::{FileCx, Kind, Scope, Spec, Verdict};
use crate::diagnostic::{get, Code, Doc};
use debgate_analyze::effective::{EndState, FROM_DATA};
use debgate_facts::caps;
use debgate_facts::change::Operand;
use debgate_facts::path::usrmerge_same;
use debgate_facts::EntryKind;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "file-state",
    keys: &[
        "kind",
        "type",
        "mode",
        "max-mode",
        "owner",
        "group",
        "setuid",
        "setgid",
        "capabilities",
        "forbid-capabilities",
        "allow-capabilities",
    ],
    parse,
};

/// Which capabilities a file may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapsRule {
    /// No capability at all.
    None,
    /// None of these (bit mask).
    Forbid(u64),
    /// Only these (bit mask).
    Allow(u64),
}

/// The properties a file's effective state must have; unset fields are not checked.
#[derive(Debug, Clone, Default)]
pub struct FileStateAssert {
    pub kind: Option<EntryKind>,
    pub mode: Option<u32>,
    /// No permission bit outside this mask (e.g. `0755` forbids group/world write and setuid).
    pub max_mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub setuid: Option<bool>,
    pub setgid: Option<bool>,
    pub capabilities: Option<CapsRule>,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, _: Span) -> Option<Box<dyn Kind>> {
    let get = |name: &str| get(t, name);
    let mut a = FileStateAssert::default();
    let mut ok = true;
    if let Some(v) = get("type") {
        let s = doc.string(v, "type")?;
        a.kind = EntryKind::parse(&s);
        if a.kind.is_none() {
            ok = false;
            let names: Vec<&str> = EntryKind::ALL.iter().map(|k| k.as_str()).collect();
            doc.error(
                v.span,
                Code::BadValue,
                format!("type `{s}` is not one of: {}", names.join(", ")),
            );
        }
    }
    for (name, slot) in [("mode", &mut a.mode), ("max-mode", &mut a.max_mode)] {
        if let Some(v) = get(name) {
            match doc.string(v, name) {
                Some(s)
                    if (3..=4).contains(&s.len())
                        && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) =>
                {
                    *slot = u32::from_str_radix(&s, 8).ok();
                }
                Some(s) => {
                    ok = false;
                    doc.error(
                        v.span,
                        Code::BadValue,
                        format!("{name} `{s}` must be 3 or 4 octal digits, e.g. \"0755\""),
                    );
                }
                None => ok = false,
            }
        }
    }
    for (name, slot) in [("owner", &mut a.owner), ("group", &mut a.group)] {
        if let Some(v) = get(name) {
            *slot = doc.string(v, name);
            ok &= slot.is_some();
        }
    }
    for (name, slot) in [("setuid", &mut a.setuid), ("setgid", &mut a.setgid)] {
        if let Some(v) = get(name) {
            *slot = doc.boolean(v, name);
            ok &= slot.is_some();
        }
    }
    let mut cap_rules = Vec::new();
    if let Some(v) = get("capabilities") {
        match doc.string(v, "capabilities").as_deref() {
            Some("none") => cap_rules.push(CapsRule::None),
            Some("any") => {}
            Some(s) => {
                ok = false;
                doc.error(v.span, Code::BadValue, format!("capabilities `{s}` is not one of: none, any (use forbid-capabilities or allow-capabilities for lists)"));
            }
            None => ok = false,
        }
    }
    for name in ["forbid-capabilities", "allow-capabilities"] {
        if let Some(v) = get(name) {
            let Some(items) = doc.strings(v, name) else {
                ok = false;
                continue;
            };
            let mut mask = 0u64;
            for (cap, span) in items {
                match caps::number(&cap) {
                    Some(n) if cap.to_ascii_lowercase().starts_with("cap_") => mask |= 1 << n,
                    _ => {
                        ok = false;
                        doc.error(
                            span,
                            Code::UnknownCapability,
                            format!("`{cap}` is not a capability name (e.g. cap_net_raw)"),
                        );
                    }
                }
            }
            cap_rules.push(if name == "forbid-capabilities" {
                CapsRule::Forbid(mask)
            } else {
                CapsRule::Allow(mask)
            });
        }
    }
    if cap_rules.len() > 1 {
        ok = false;
        doc.error(
            get("capabilities")
                .or(get("allow-capabilities"))
                .map_or(Span::new(0, 0), |v| v.span),
            Code::ConflictingKeys,
            "use only one of capabilities, forbid-capabilities and allow-capabilities",
        );
    }
    a.capabilities = cap_rules.pop();
    ok.then(|| Box::new(a) as Box<dyn Kind>)
}

impl Kind for FileStateAssert {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::EffectiveFiles
    }

    fn judge_file(&self, cx: &FileCx<'_, '_>) -> Verdict {
        judge(self, cx)
    }
}

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

fn judge(want: &FileStateAssert, cx: &FileCx<'_, '_>) -> Verdict {
    let (a, path, unresolved) = (cx.analyzed, cx.path, cx.unresolved);
    let Some(st) = a.state.files.get(path) else {
        return Verdict::fail(format!("{path} is not in the package"));
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
    Verdict {
        violations: v,
        evidence,
        pass,
        not_applicable: None,
    }
}
