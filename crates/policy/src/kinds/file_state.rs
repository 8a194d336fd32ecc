//! The `file-state` kind: properties every end state of a file must have, the end states being
//! what data.tar and every run of the maintainer scripts can leave (see the effective-state
//! model in ARCHITECTURE.md).

use super::{FileCx, Kind, Scope, Spec, Verdict};
use crate::diagnostic::{get, Code, Doc};
use debgate_analyze::effective::EndState;
use debgate_facts::caps;
use debgate_facts::change::Operand;
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
        "if-mode-any",
        "min-mode",
        "uid-in",
        "gid-in",
    ],
    parse,
};

/// Numeric ids, as inclusive ranges (`"100-999"`, or `"65534"` alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRanges(pub Vec<(u64, u64)>);

impl IdRanges {
    pub fn contains(&self, id: u64) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&id))
    }

    fn parse(text: &str) -> Option<(u64, u64)> {
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        match text.split_once('-') {
            None => number(text).map(|n| (n, n)),
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi)?);
                (lo <= hi).then_some((lo, hi))
            }
        }
    }

    fn text(&self) -> String {
        let each: Vec<String> = self
            .0
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect();
        each.join(", ")
    }
}

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
    /// The other properties apply only to an end state with at least one of these mode bits;
    /// a state with none of them passes (`"0002"`: only what is world-writable is judged).
    pub if_mode_any: Option<u32>,
    /// Every bit of this mask must be set (`"1000"`: the sticky bit).
    pub min_mode: Option<u32>,
    /// The owner's numeric id must be in one of these ranges.
    pub uid_in: Option<IdRanges>,
    /// The group's numeric id must be in one of these ranges.
    pub gid_in: Option<IdRanges>,
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
    for (name, slot) in [
        ("mode", &mut a.mode),
        ("max-mode", &mut a.max_mode),
        ("if-mode-any", &mut a.if_mode_any),
        ("min-mode", &mut a.min_mode),
    ] {
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
    for (name, slot) in [("uid-in", &mut a.uid_in), ("gid-in", &mut a.gid_in)] {
        let Some(v) = get(name) else { continue };
        let Some(items) = doc.strings(v, name) else {
            ok = false;
            continue;
        };
        if items.is_empty() {
            ok = false;
            doc.error(v.span, Code::BadValue, format!("{name} lists no id range"));
            continue;
        }
        let mut ranges = Vec::new();
        for (text, span) in items {
            match IdRanges::parse(&text) {
                Some(r) => ranges.push(r),
                None => {
                    ok = false;
                    doc.error(
                        span,
                        Code::BadValue,
                        format!("{name} `{text}` is not an id or a range of ids, e.g. \"100-999\""),
                    );
                }
            }
        }
        *slot = Some(IdRanges(ranges));
    }
    if a.if_mode_any == Some(0) {
        ok = false;
        doc.error(
            get("if-mode-any").map_or(Span::new(0, 0), |v| v.span),
            Code::BadValue,
            "if-mode-any `0000` names no bit, so the assertion would judge nothing",
        );
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

/// data.tar's owner and group of the file, each by name and numeric id: what gives an end
/// state's owner or group its numeric id.
#[derive(Debug, Default)]
struct ShippedIds {
    owner: Option<(String, u64)>,
    group: Option<(String, u64)>,
}

/// The numeric id of an end state's owner or group (`what`). data.tar's header gives it for
/// its own name; a script gives it only as a number (`chown 1000`). A name a script sets
/// (`chown games`) has whatever id the installed system gives it, which static reading cannot
/// know: that is a violation, so the rule fails closed, saying so.
fn numeric_id(
    what: &str,
    have: &Operand<String>,
    shipped: &Option<(String, u64)>,
) -> Result<u64, String> {
    let name = match have {
        Operand::Unresolved(why) => return Err(why.clone()),
        Operand::Known(name) => name,
    };
    if let Some((n, id)) = shipped {
        if n == name {
            return Ok(*id);
        }
    }
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(id) = name.parse() {
            return Ok(id);
        }
    }
    Err(format!(
        "{what} {name} is set by name by a maintainer script, so its numeric id is not known statically"
    ))
}

/// What about one end state breaks the rule. An attribute the rule looks at that static
/// reading could not resolve is a violation too: no rule passes on what it could not see.
fn violations(
    want: &FileStateAssert,
    kind: Option<EntryKind>,
    st: &EndState,
    ids: &ShippedIds,
) -> Vec<String> {
    if let Some(any) = want.if_mode_any {
        match st.mode.known() {
            // The assertion may apply: fail closed.
            None => return vec![unknown(&st.mode)],
            Some(&mode) if mode & any == 0 => return Vec::new(),
            Some(_) => {}
        }
    }
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
        || want.min_mode.is_some()
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
            if let Some(min) = want.min_mode {
                if mode & min != min {
                    v.push(format!(
                        "mode {mode:04o} lacks {:04o}, expected every bit of {min:04o}",
                        min & !mode
                    ));
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
    for (what, ranges, have, shipped) in [
        ("owner", &want.uid_in, &st.owner, &ids.owner),
        ("group", &want.gid_in, &st.group, &ids.group),
    ] {
        let Some(ranges) = ranges else { continue };
        match numeric_id(what, have, shipped) {
            Err(why) => v.push(why),
            Ok(id) if !ranges.contains(id) => {
                v.push(format!("{what} id {id} is outside {}", ranges.text()))
            }
            Ok(_) => {}
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
    let mut evidence = super::file_evidence(a, path, st);
    let mut ids = ShippedIds::default();
    if want.uid_in.is_some() || want.gid_in.is_some() {
        if let Some(e) = a.package.entry(path) {
            ids.owner = Some((e.owner_name(), e.uid));
            ids.group = Some((e.group_name(), e.gid));
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
        let bad = violations(want, st.kind, s, &ids);
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
            let base = violations(want, st.kind, s, &ids);
            for x in violations(want, st.kind, &s.after(c, is_dir), &ids) {
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
