//! Comparing one pair of packages: version, control, files, metadata, text content, kernel
//! config and privileges after maintainer scripts.

use crate::pair::{compare_versions, Pair};
use crate::report::*;
use debgate_analyze::effective::{EndState, FileState};
use debgate_analyze::kconfig::{self, Kconfig};
use debgate_analyze::sysctl;
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::{Content, Entry, EntryKind, Package, ScriptName};
use debgate_pipeline::AnalyzedPackage;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Unified-diff context lines, as `diff -u`.
const CONTEXT: usize = 3;

/// Maps old paths into the new package's namespace: for a pair made by a pairing rule the old
/// ABI becomes the new one, so `/boot/config-OLD` meets `/boot/config-NEW`.
struct Rename<'a> {
    abi: Option<(&'a str, &'a str)>,
}

impl Rename<'_> {
    fn apply(&self, old_path: &str) -> String {
        match self.abi {
            Some((o, n)) if !o.is_empty() && o != n => old_path.replace(o, n),
            _ => old_path.to_string(),
        }
    }
}

/// data.tar paths matched across the pair: `(old, new)` for each file present on both sides.
struct Matched {
    both: Vec<(String, String)>,
    added: Vec<String>,
    removed: Vec<String>,
}

fn match_paths(old: &Package, new: &Package, rename: &Rename<'_>) -> Matched {
    let new_paths: BTreeSet<&str> = new.entries.iter().map(|e| e.path.as_str()).collect();
    let mut both = Vec::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut unmatched_old = Vec::new();
    for e in &old.entries {
        let target = rename.apply(&e.path);
        if new_paths.contains(target.as_str()) && !used.contains(&target) {
            used.insert(target.clone());
            both.push((e.path.clone(), target));
        } else {
            unmatched_old.push(e.path.clone());
        }
    }
    // A path that only moved between `/bin` and `/usr/bin` (usrmerge) is the same file.
    let mut canon_new: BTreeMap<String, String> = BTreeMap::new();
    for e in &new.entries {
        if !used.contains(&e.path) {
            canon_new
                .entry(usrmerge_canonical(&e.path))
                .or_insert_with(|| e.path.clone());
        }
    }
    let mut removed = Vec::new();
    for p in unmatched_old {
        match canon_new.remove(&usrmerge_canonical(&rename.apply(&p))) {
            Some(n) => {
                used.insert(n.clone());
                both.push((p, n));
            }
            None => removed.push(p),
        }
    }
    let added = new
        .entries
        .iter()
        .filter(|e| !used.contains(&e.path))
        .map(|e| e.path.clone())
        .collect();
    Matched {
        both,
        added,
        removed,
    }
}

/// What every pair of one diff is compared with.
pub(crate) struct PairContext<'a> {
    /// Kernel config options a loaded rule names (listed first).
    pub named_options: &'a [&'a str],
    /// The new set's changelogs, for `--link-doc` packages.
    pub docs: &'a crate::changelog::Docs<'a>,
    /// `max-content-bytes`, named when a changelog was cut at it.
    pub content_cap: u64,
    /// How the sides were read: a package is read again with them to hash a file privileged
    /// on the other side only.
    pub settings: &'a debgate_pipeline::Settings,
    /// How a package is read again (from its file, or through its repository).
    pub reread: crate::Reread<'a>,
}

pub(crate) fn diff_pair(
    old: &AnalyzedPackage,
    new: &AnalyzedPackage,
    pair: &Pair,
    cx: &PairContext<'_>,
) -> PairDiff {
    let (op, np) = (&old.package, &new.package);
    let rename = Rename {
        abi: pair.by.as_ref().map(|(_, o, n)| (o.as_str(), n.as_str())),
    };
    let matched = match_paths(op, np, &rename);
    let version_change = match compare_versions(op.control.version(), np.control.version()) {
        Some(Ordering::Less) => VersionChange::Upgrade,
        Some(Ordering::Greater) => VersionChange::Downgrade,
        Some(Ordering::Equal) => VersionChange::Same,
        None => VersionChange::Unknown,
    };
    let mut files_moved = Vec::new();
    let mut metadata = Vec::new();
    for (o, n) in &matched.both {
        if rename.apply(o) != *n {
            files_moved.push(Moved {
                old: o.clone(),
                new: n.clone(),
            });
        }
        if let (Some(oe), Some(ne)) = (op.entry(o), np.entry(n)) {
            metadata_changes(n, oe, ne, &rename, &mut metadata);
        }
    }
    let conffiles = |p: &Package, r: &dyn Fn(&str) -> String| -> BTreeSet<String> {
        p.conffiles.iter().map(|c| r(&c.path)).collect()
    };
    let sides = Counterparts::new(old, new, &matched, &rename);
    let old_conf = conffiles(op, &|s| rename.apply(s));
    let new_conf = conffiles(np, &|s| s.to_string());
    let (changelog, references) = crate::changelog::between(op, np, cx.docs, cx.content_cap);
    PairDiff {
        package: np.name().to_string(),
        old_package: op.name().to_string(),
        paired_by: pair.by.as_ref().map(|(id, _, _)| id.clone()),
        old_version: op.control.version().to_string(),
        new_version: np.control.version().to_string(),
        version_change,
        old_file: crate::file_name(&op.file),
        new_file: crate::file_name(&np.file),
        control: control_changes(op, np),
        conffiles_added: new_conf.difference(&old_conf).cloned().collect(),
        conffiles_removed: old_conf.difference(&new_conf).cloned().collect(),
        files_added: matched.added.clone(),
        files_removed: matched.removed.clone(),
        files_moved,
        metadata,
        content: content_diffs(op, np, &matched),
        kconfig: kconfig_changes(op, np, &matched, cx.named_options),
        privileges: privilege_changes(new, &sides),
        escalations: steps(new, Some(old), &|p| sides.old_of(p), true),
        reductions: steps(old, Some(new), &|p| sides.new_of(p), false),
        content_changes: crate::content::compare(old, new, &matched.both, cx.settings, cx.reread),
        changelog,
        references,
    }
}

/// Each side's state of a path of the other side: by the paths matched (a rename, a usrmerge
/// move), else by the renamed path, for a path only a script creates. Built once per pair, so
/// that a kernel's sixty thousand paths are each looked up in a map, not searched for.
struct Counterparts<'a> {
    old: &'a AnalyzedPackage,
    new: &'a AnalyzedPackage,
    /// Matched paths, new to old and old to new.
    to_old: BTreeMap<&'a str, &'a str>,
    to_new: BTreeMap<&'a str, &'a str>,
    /// Every old path under its renamed name.
    old_by_new: BTreeMap<String, &'a FileState>,
    rename: &'a Rename<'a>,
}

impl<'a> Counterparts<'a> {
    fn new(
        old: &'a AnalyzedPackage,
        new: &'a AnalyzedPackage,
        m: &'a Matched,
        rename: &'a Rename<'a>,
    ) -> Counterparts<'a> {
        Counterparts {
            old,
            new,
            to_old: m
                .both
                .iter()
                .map(|(o, n)| (n.as_str(), o.as_str()))
                .collect(),
            to_new: m
                .both
                .iter()
                .map(|(o, n)| (o.as_str(), n.as_str()))
                .collect(),
            old_by_new: old
                .state
                .files
                .values()
                .map(|f| (rename.apply(&f.path), f))
                .collect(),
            rename,
        }
    }

    /// The old side's state of the new side's `path`.
    fn old_of(&self, path: &str) -> Option<&'a FileState> {
        match self.to_old.get(path) {
            Some(o) => self.old.state.files.get(*o),
            None => self.old_by_new.get(path).copied(),
        }
    }

    /// The new side's state of the old side's `path`.
    fn new_of(&self, path: &str) -> Option<&'a FileState> {
        match self.to_new.get(path) {
            Some(n) => self.new.state.files.get(*n),
            None => self.new.state.files.get(&self.rename.apply(path)),
        }
    }
}

/// The privileged states of `this` side that no state of the same path on the `other` side is
/// at least: escalations when `this` is the new side, reductions when it is the old one. A
/// package only one side has (`other` is `None`) gives every privileged state.
pub(crate) fn steps<'a>(
    this: &AnalyzedPackage,
    other: Option<&'a AnalyzedPackage>,
    other_state: &dyn Fn(&str) -> Option<&'a FileState>,
    this_is_new: bool,
) -> Vec<PrivilegeStep> {
    use debgate_analyze::privileges::{at_most, inventory, Scope};
    let inv = inventory(&this.changes, &this.state, Scope::default());
    let version = |a: &AnalyzedPackage| Some(a.package.control.version().to_string());
    let (old_version, new_version) = if this_is_new {
        (other.and_then(version), version(this))
    } else {
        (version(this), other.and_then(version))
    };
    let mut out = Vec::new();
    for pf in &inv.files {
        let theirs = other_state(&pf.file.path);
        let their_states: Vec<&EndState> = theirs
            .map(|f| f.states.iter().collect())
            .unwrap_or_default();
        for ps in &pf.states {
            if their_states.iter().any(|t| at_most(ps.state, t)) {
                continue;
            }
            out.push(PrivilegeStep {
                package: this.package.name().to_string(),
                old_version: old_version.clone(),
                new_version: new_version.clone(),
                path: pf.file.path.clone(),
                state: ps.state.text(),
                sources: if ps.state.via.is_empty() {
                    vec![debgate_analyze::effective::FROM_DATA.to_string()]
                } else {
                    ps.state.via.clone()
                },
                rerun: ps.state.rerun,
                other: their_states.iter().map(|t| t.text()).collect(),
            });
        }
    }
    out
}

fn control_changes(old: &Package, new: &Package) -> Vec<FieldChange> {
    // Package and Version head the pair already.
    let skip = |f: &str| f.eq_ignore_ascii_case("Package") || f.eq_ignore_ascii_case("Version");
    let mut out = Vec::new();
    for (field, value) in &old.control.fields {
        if skip(field) {
            continue;
        }
        match new.control.get(field) {
            Some(v) if v == value => {}
            v => out.push(FieldChange {
                field: field.clone(),
                old: Some(value.clone()),
                new: v.map(str::to_string),
            }),
        }
    }
    for (field, value) in &new.control.fields {
        if !skip(field) && old.control.get(field).is_none() {
            out.push(FieldChange {
                field: field.clone(),
                old: None,
                new: Some(value.clone()),
            });
        }
    }
    out
}

fn caps_text(e: &Entry) -> String {
    match e.capabilities() {
        None => String::new(),
        Some(Ok(c)) => c.to_set().to_text(),
        Some(Err(err)) => format!("undecodable ({err})"),
    }
}

fn metadata_changes(
    path: &str,
    o: &Entry,
    n: &Entry,
    rename: &Rename<'_>,
    out: &mut Vec<MetadataChange>,
) {
    let mut push = |field: &'static str, old: String, new: String| {
        if old != new {
            out.push(MetadataChange {
                path: path.to_string(),
                field,
                old,
                new,
            });
        }
    };
    push("type", o.kind.as_str().into(), n.kind.as_str().into());
    push("mode", format!("{:04o}", o.mode), format!("{:04o}", n.mode));
    push("owner", o.owner_name(), n.owner_name());
    push("group", o.group_name(), n.group_name());
    push(
        "setuid",
        (o.mode & 0o4000 != 0).to_string(),
        (n.mode & 0o4000 != 0).to_string(),
    );
    push(
        "setgid",
        (o.mode & 0o2000 != 0).to_string(),
        (n.mode & 0o2000 != 0).to_string(),
    );
    push("capabilities", caps_text(o), caps_text(n));
    push(
        "link-target",
        o.link_target
            .as_deref()
            .map(|t| rename.apply(t))
            .unwrap_or_default(),
        n.link_target.clone().unwrap_or_default(),
    );
    if o.kind == EntryKind::File && n.kind == EntryKind::File {
        push("size", o.size.to_string(), n.size.to_string());
    }
}

/// Text for a unified diff, or `None` for binary content (a NUL byte or invalid UTF-8).
fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(CONTEXT)
        .header(old_name, new_name)
        .to_string()
}

fn script_text(s: Option<&debgate_facts::Script>) -> &str {
    s.map_or("", |s| s.text.as_str())
}

fn bytes(c: Option<&Content>) -> &[u8] {
    c.map_or(&[][..], |c| c.bytes.as_slice())
}

fn content_diffs(old: &Package, new: &Package, m: &Matched) -> Vec<ContentDiff> {
    let mut out = Vec::new();
    for name in ScriptName::ALL {
        let (o, n) = (old.script(name), new.script(name));
        if o.map(|s| &s.text) == n.map(|s| &s.text) {
            continue;
        }
        out.push(ContentDiff {
            path: name.as_str().to_string(),
            kind: "script",
            diff: unified(
                script_text(o),
                script_text(n),
                &format!("a/DEBIAN/{name}"),
                &format!("b/DEBIAN/{name}"),
            ),
            binary: false,
            truncated: o.is_some_and(|s| s.truncated) || n.is_some_and(|s| s.truncated),
        });
    }
    // Files on both sides, then added and removed files whose content was captured.
    let mut files: Vec<(Option<&str>, Option<&str>)> = m
        .both
        .iter()
        .map(|(o, n)| (Some(o.as_str()), Some(n.as_str())))
        .collect();
    files.extend(m.added.iter().map(|n| (None, Some(n.as_str()))));
    files.extend(m.removed.iter().map(|o| (Some(o.as_str()), None)));
    for (o, n) in files {
        let path = n.or(o).unwrap_or_default();
        // Kernel configs get a semantic diff instead: thousands of lines reordered by a
        // kconfig upgrade would drown the options that matter.
        if kconfig::is_kconfig_path(path) {
            continue;
        }
        // A changelog is shown as its entries between the versions (`PairDiff::changelog`).
        if crate::changelog::is_changelog_path(path) {
            continue;
        }
        let oc: Option<&Content> = o.and_then(|p| old.contents.get(p));
        let nc: Option<&Content> = n.and_then(|p| new.contents.get(p));
        if oc.is_none() && nc.is_none() {
            continue;
        }
        if bytes(oc) == bytes(nc) {
            continue;
        }
        let kind = if n.is_some_and(|p| new.is_conffile(p)) || o.is_some_and(|p| old.is_conffile(p))
        {
            "conffile"
        } else if sysctl::is_sysctl_path(path) {
            "sysctl"
        } else {
            "file"
        };
        let truncated = oc.is_some_and(|c| c.truncated) || nc.is_some_and(|c| c.truncated);
        let (diff, binary) = match (as_text(bytes(oc)), as_text(bytes(nc))) {
            (Some(a), Some(b)) => (
                unified(
                    a,
                    b,
                    &o.map_or("/dev/null".into(), |p| format!("a{p}")),
                    &n.map_or("/dev/null".into(), |p| format!("b{p}")),
                ),
                false,
            ),
            _ => (String::new(), true),
        };
        out.push(ContentDiff {
            path: path.to_string(),
            kind,
            diff,
            binary,
            truncated,
        });
    }
    out
}

fn kconfig_changes(
    old: &Package,
    new: &Package,
    m: &Matched,
    named: &[&str],
) -> Vec<KconfigChange> {
    let mut out = Vec::new();
    for (o, n) in &m.both {
        if !kconfig::is_kconfig_path(n) {
            continue;
        }
        let (Some(oc), Some(nc)) = (old.contents.get(o), new.contents.get(n)) else {
            continue;
        };
        let (ok, nk) = (Kconfig::parse(&oc.text()), Kconfig::parse(&nc.text()));
        let options: BTreeSet<&str> = ok
            .assignments()
            .chain(nk.assignments())
            .map(|a| a.option.as_str())
            .collect();
        let mut changes: Vec<KconfigChange> = Vec::new();
        for opt in options {
            // kconfig semantics: absent and `is not set` are both `n`, so only a different
            // value is a change.
            if ok.value(opt) == nk.value(opt) {
                continue;
            }
            let (ov, nv) = (
                ok.assignment(opt).map(|a| a.value.clone()),
                nk.assignment(opt).map(|a| a.value.clone()),
            );
            let change = match (&ov, &nv) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            };
            changes.push(KconfigChange {
                file: n.clone(),
                option: opt.to_string(),
                change,
                old: ov,
                new: nv,
                named_by_rule: named.contains(&opt),
            });
        }
        // Options a rule names first, in rule order; then the rest by name.
        changes.sort_by_key(|c| {
            named
                .iter()
                .position(|o| *o == c.option)
                .unwrap_or(usize::MAX)
        });
        out.extend(changes);
    }
    out
}

/// What a new end state has that no old one had: `setuid`, `setgid`, `capabilities`, `group`
/// (a non-root group), `owner` (a non-root owner), `mode-widened`, or `unknown`.
fn escalations(st: &EndState, old: &[&EndState]) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !st.unknown.is_empty() && old.iter().all(|o| o.unknown.is_empty()) {
        out.push("unknown");
    }
    let old_mode = old
        .iter()
        .filter_map(|o| o.mode.known())
        .fold(0, |a, m| a | m);
    if let Some(m) = st.mode.known() {
        if m & 0o4000 != 0 && old_mode & 0o4000 == 0 {
            out.push("setuid");
        }
        if m & 0o2000 != 0 && old_mode & 0o2000 == 0 {
            out.push("setgid");
        }
        if !old.is_empty() && m & 0o777 & !old_mode != 0 {
            out.push("mode-widened");
        }
    }
    let old_caps = old
        .iter()
        .filter_map(|o| o.caps.known().copied().flatten())
        .fold(0, |a, c| a | c.any());
    if let Some(Some(c)) = st.caps.known() {
        if c.any() & !old_caps != 0 {
            out.push("capabilities");
        }
    }
    if !old.is_empty() {
        for (what, new, pick) in [
            ("group", st.group.known(), 0),
            ("owner", st.owner.known(), 1),
        ] {
            let seen = old.iter().any(|o| {
                let v = if pick == 0 {
                    o.group.known()
                } else {
                    o.owner.known()
                };
                v == new
            });
            if new.is_some_and(|n| n != "root") && !seen {
                out.push(what);
            }
        }
    }
    out
}

fn privilege_changes(new: &AnalyzedPackage, sides: &Counterparts<'_>) -> Vec<PrivilegeChange> {
    let mut out = Vec::new();
    for (path, ns) in &new.state.files {
        let os = sides.old_of(path);
        let old_states: Vec<&EndState> = os.map(|s| s.states.iter().collect()).unwrap_or_default();
        let old_text = match os {
            None => "absent".to_string(),
            Some(_) => old_states
                .iter()
                .map(|s| s.text())
                .collect::<Vec<_>>()
                .join(" or "),
        };
        // Every end state the new side can reach that no old end state equals is a change; a
        // new path counts only where it is privileged (or unknown).
        for st in &ns.states {
            if old_states.iter().any(|o| o.same_attributes(st)) {
                continue;
            }
            let kinds = escalations(st, &old_states);
            let kind = match kinds.first() {
                Some(k) => *k,
                None if os.is_some() => "state",
                None => continue,
            };
            out.push(PrivilegeChange {
                path: path.clone(),
                kind,
                old: old_text.clone(),
                new: st.text(),
                conditional: ns.states.len() > 1,
                sources: if st.via.is_empty() {
                    vec![debgate_analyze::effective::FROM_DATA.to_string()]
                } else {
                    st.via.clone()
                },
                rerun: st.rerun,
                unknown: st.unknown.clone(),
            });
        }
    }
    out
}
