//! `debgate diff` as text, for a terminal; and the wording helpers marked `pub(crate)` that the
//! markdown and HTML renderers share, so every format says a change the same way. JSON is the
//! report serialised as is. Text from the packages (names, versions, paths, control fields,
//! diff lines) goes through `one_line` on its way to the terminal.

use crate::{paint, RenderError, RenderOptions};
use debgate_diff::{
    DiffReport, KconfigChange, PairDiff, PrivilegeChange, SysctlValue, Transition, VerdictChange,
};
use debgate_facts::text::one_line;
use std::fmt::Write;

/// Items of one list shown in text output; the JSON has them all.
const TEXT_LIST_LIMIT: usize = 20;

/// Lines of one changelog entry's body shown in text and markdown; the JSON has them all. A
/// kernel's entry lists every upstream commit, thousands of lines.
pub(crate) const ENTRY_LINES: usize = 30;

/// `/usr/bin/x (by md5sums)`, `/usr/bin/su (by bytes; new: 4755 root:root)`.
pub(crate) fn content_line(c: &debgate_diff::ContentChange) -> String {
    let mut extra = vec![format!("by {}", c.compared_by.replace('-', " "))];
    if c.conffile {
        extra.push("conffile".to_string());
    }
    extra.extend(c.why.iter().cloned());
    let path = match &c.old_path {
        Some(o) => format!("{o} → {}", c.path),
        None => c.path.clone(),
    };
    format!("{path} ({})", extra.join("; "))
}

/// `pkg 1.0-1 → 1.0-2 /usr/bin/su (by bytes; new: 4755 …)`.
pub(crate) fn security_content_line(s: &debgate_diff::SecurityContent) -> String {
    format!(
        "{} {} → {} {}",
        s.package,
        s.old_version,
        s.new_version,
        content_line(&s.change)
    )
}

/// `3 file(s) changed in content (1 security-relevant), 0 not compared; 1 package(s) name CVEs`.
pub(crate) fn content_headline(r: &DiffReport) -> String {
    let s = &r.summary;
    format!(
        "{} file(s) changed in content ({} security-relevant), {} not compared; {} package(s) name {} CVE(s)",
        s.content_changed, s.security_content, s.content_unknown, s.packages_with_cves, s.cves
    )
}

/// `76 of 280 compared file(s) changed in content (2 security-relevant)`.
pub(crate) fn pair_content_headline(c: &debgate_diff::ContentChanges) -> String {
    let security = c.changed.iter().filter(|x| x.security).count();
    format!(
        "{} of {} compared file(s) changed in content ({security} security-relevant)",
        c.changed.len(),
        c.compared
    )
}

/// `1.0-1+deb12u1 (bookworm-security; urgency=medium) — Name <mail>, DATE`.
pub(crate) fn entry_heading(e: &debgate_diff::ChangelogEntry) -> String {
    let mut h = format!("{} ({}", e.version, e.distributions.join(" "));
    if let Some(u) = &e.urgency {
        let _ = write!(h, "; urgency={u}");
    }
    h.push(')');
    if let Some(m) = &e.maintainer {
        let _ = write!(h, " — {m}");
        if let Some(d) = &e.date {
            let _ = write!(h, ", {d}");
        }
    }
    h
}

/// `2 entries since 1.0-1 from /usr/share/doc/x/changelog.Debian.gz`.
pub(crate) fn changelog_headline(p: &PairDiff) -> String {
    let c = &p.changelog;
    if c.file.is_none() && c.entries.is_empty() {
        return "none found".to_string();
    }
    let mut h = format!(
        "{} entr{} since {}",
        c.entries.len(),
        if c.entries.len() == 1 { "y" } else { "ies" },
        p.old_version
    );
    if let Some(f) = &c.file {
        let _ = write!(h, " from {f}");
        if let Some(by) = &c.via_package {
            let _ = write!(h, " (shipped by {by})");
        }
    }
    if c.truncated {
        h.push_str(", truncated");
    }
    h
}

/// A long list on one line: the first `TEXT_LIST_LIMIT` items and how many more (a kernel's
/// changelog names thousands of CVEs).
pub(crate) fn folded(items: &[String]) -> String {
    let shown = items.len().min(TEXT_LIST_LIMIT);
    let mut s = items[..shown].join(", ");
    if items.len() > shown {
        let _ = write!(
            s,
            ", … {} more (--format json lists them all)",
            items.len() - shown
        );
    }
    s
}

/// The body lines shown: at most `ENTRY_LINES`, and how many more there are.
pub(crate) fn body_lines(body: &str) -> (Vec<&str>, usize) {
    let all: Vec<&str> = body.lines().collect();
    let shown = all.len().min(ENTRY_LINES);
    (all[..shown].to_vec(), all.len() - shown)
}

/// A kconfig value as people say it: `# X is not set` is "not set".
pub(crate) fn kvalue(v: &Option<String>) -> &str {
    match v.as_deref() {
        None => "absent",
        Some("n") => "not set",
        Some(v) => v,
    }
}

/// A metadata value as people say it: the JSON keeps "" for no capabilities or no link target,
/// which a reader of `capabilities:  → cap_syslog=ep` would take for a lost value.
pub(crate) fn meta_value(v: &str) -> &str {
    if v.is_empty() {
        "none"
    } else {
        v
    }
}

pub(crate) fn sysctl_value(v: &Option<SysctlValue>) -> String {
    match v {
        None => "unset".to_string(),
        Some(v) => format!("{} ({}:{}, {})", v.value, v.file, v.line, v.package),
    }
}

pub(crate) fn pair_title(p: &PairDiff) -> String {
    let names = if p.old_package == p.package {
        format!("{} {} → {}", p.package, p.old_version, p.new_version)
    } else {
        format!(
            "{} {} → {} {}",
            p.old_package, p.old_version, p.package, p.new_version
        )
    };
    let by = p
        .paired_by
        .as_deref()
        .map(|id| format!("; paired by {id}"))
        .unwrap_or_default();
    format!("{names} ({}{by})", p.version_change.as_str())
}

pub(crate) fn privilege_line(c: &PrivilegeChange) -> String {
    let what = match c.kind {
        "setuid" => "newly setuid",
        "setgid" => "newly setgid",
        "capabilities" => "newly granted capabilities",
        "group" => "group changed to a non-root group",
        "mode-widened" => "mode widened",
        "owner" => "owner changed to a non-root owner",
        "unknown" => "a state static reading could not resolve",
        "state" => "a new end state",
        other => other,
    };
    format!(
        "{}: {what}: {} → {} [{}]{}",
        c.path,
        c.old,
        c.new,
        c.sources.join(" → "),
        if c.rerun { " (after a re-run)" } else { "" }
    )
}

pub(crate) fn verdict_headline(r: &DiffReport) -> String {
    let s = &r.summary;
    format!(
        "{} regression(s) ({} of severity error), {} fixed, {} new coverage, {} dropped coverage",
        s.regressions, s.regressions_error, s.fixed, s.new_coverage, s.dropped_coverage
    )
}

/// "old side: FILE is a second copy of PKG (ARCH); FILE (VERSION) is compared".
/// `iputils-ping /bin/ping: 0755 root:root cap_net_admin,cap_net_raw=ep (via postinst:3); old: 0755 root:root cap_net_raw=ep`.
pub(crate) fn step_line(s: &debgate_diff::PrivilegeStep, other_side: &str) -> String {
    let rerun = if s.rerun { ", after a re-run" } else { "" };
    let other = if s.other.is_empty() {
        "absent".to_string()
    } else {
        s.other.join(" or ")
    };
    format!(
        "{} {}: {} (via {}{rerun}); {other_side}: {other}",
        s.package,
        s.path,
        s.state,
        s.sources.join(" → ")
    )
}

/// `2 escalation(s), 1 reduction(s)`.
pub(crate) fn steps_headline(r: &DiffReport) -> String {
    format!(
        "{} escalation(s), {} reduction(s)",
        r.summary.escalations, r.summary.reductions
    )
}

pub(crate) fn duplicate_line(d: &debgate_diff::Duplicate) -> String {
    format!(
        "{} side: {} ({}) is another copy of {} ({}); {} ({}), the highest version, is compared",
        d.side,
        one_line(&d.copy.file),
        one_line(&d.copy.version),
        one_line(&d.copy.package),
        one_line(&d.copy.architecture),
        one_line(&d.compared.file),
        one_line(&d.compared.version)
    )
}

pub(crate) fn totals(r: &DiffReport) -> String {
    let s = &r.summary;
    format!(
        "{} → {} package(s): {} paired ({} changed), {} added, {} removed, {} unreadable; {} privilege change(s)",
        r.old.packages, r.new.packages, s.paired, s.changed, s.added, s.removed, s.errors, s.privilege_changes
    )
}

/// The verdicts worth a line: everything that moved, then the rules still failing.
pub(crate) fn notable(r: &DiffReport) -> Vec<&VerdictChange> {
    let order = |t: Transition| match t {
        Transition::Regression => 0,
        Transition::Fixed => 1,
        Transition::NewCoverage => 2,
        Transition::DroppedCoverage => 3,
        Transition::Unchanged => 4,
    };
    let mut v: Vec<&VerdictChange> = r.verdicts.iter().collect();
    v.sort_by_key(|v| order(v.transition));
    v
}

/// Write the report as text: the verdicts, privileges and sysctl values that moved, then each
/// changed pair (lists cut at a few items; `--format json` has them all).
pub fn diff_text(
    r: &DiffReport,
    opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    out.write_all(text(r, opts.color).as_bytes())?;
    out.flush()?;
    Ok(())
}

fn text(r: &DiffReport, color: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "debgate diff {} → {}",
        one_line(&r.old.label),
        one_line(&r.new.label)
    );
    for e in &r.errors {
        let _ = writeln!(
            o,
            "{}: {} side: {}: {}",
            paint(color, "1;31", "E"),
            e.side,
            one_line(&e.file),
            one_line(&e.error)
        );
    }
    for d in &r.duplicates {
        let _ = writeln!(o, "{}: {}", paint(color, "33", "W"), duplicate_line(d));
    }
    let _ = writeln!(o, "verdicts: {}", verdict_headline(r));
    for v in notable(r) {
        let (tag, code) = match v.transition {
            Transition::Regression => ("REGRESSION", "1;31"),
            Transition::Fixed => ("fixed", "32"),
            Transition::NewCoverage => ("new coverage", "36"),
            Transition::DroppedCoverage => ("dropped coverage", "33"),
            Transition::Unchanged => ("unchanged", "2"),
        };
        let _ = writeln!(
            o,
            "  {}: {} ({}): {} → {}",
            paint(color, code, tag),
            one_line(&v.rule),
            v.severity.as_str(),
            v.old.as_str(),
            v.new.as_str()
        );
        if v.transition == Transition::Regression {
            for f in &v.new_failures {
                let _ = writeln!(o, "      {}", one_line(f));
            }
        }
    }
    // Escalations right after regressions: each is a privilege someone must review.
    let _ = writeln!(o, "privilege order: {}", steps_headline(r));
    for s in &r.escalations {
        let _ = writeln!(
            o,
            "  {}: {}",
            paint(color, "1;31", "ESCALATION"),
            one_line(&step_line(s, "old"))
        );
    }
    for s in &r.reductions {
        let _ = writeln!(
            o,
            "  {}: {}",
            paint(color, "32", "reduction"),
            one_line(&step_line(s, "new"))
        );
    }
    // Security-relevant content changes next, then the CVEs the changelogs name.
    let _ = writeln!(o, "content: {}", content_headline(r));
    for s in &r.security_content {
        let _ = writeln!(
            o,
            "  {}: {}",
            paint(color, "1;33", "SECURITY"),
            one_line(&security_content_line(s))
        );
    }
    if !r.cves.is_empty() {
        let _ = writeln!(
            o,
            "  CVEs ({}): {}",
            r.cves.len(),
            one_line(&folded(&r.cves))
        );
    }
    let privileges: Vec<&PrivilegeChange> = r.pairs.iter().flat_map(|p| &p.privileges).collect();
    if privileges.is_empty() {
        let _ = writeln!(
            o,
            "privileges: no file became setuid, setgid or capable, moved to a non-root group or widened its mode"
        );
    } else {
        let _ = writeln!(o, "privileges:");
        for c in privileges {
            let _ = writeln!(
                o,
                "  {}",
                paint(color, "1;33", &one_line(&privilege_line(c)))
            );
        }
    }
    if r.sysctl.is_empty() {
        let _ = writeln!(o, "sysctl: no effective value changed");
    } else {
        let _ = writeln!(o, "sysctl:");
        for s in &r.sysctl {
            let _ = writeln!(
                o,
                "  {}: {} → {}",
                one_line(&s.key),
                one_line(&sysctl_value(&s.old)),
                one_line(&sysctl_value(&s.new))
            );
        }
    }
    let _ = writeln!(o, "packages: {}", totals(r));
    for a in &r.added {
        let _ = writeln!(
            o,
            "  added: {} {}",
            one_line(&a.package),
            one_line(&a.version)
        );
    }
    for a in &r.removed {
        let _ = writeln!(
            o,
            "  removed: {} {}",
            one_line(&a.package),
            one_line(&a.version)
        );
    }
    for p in r.pairs.iter().filter(|p| !p.is_unchanged()) {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", paint(color, "1", &one_line(&pair_title(p))));
        text_pair(&mut o, p, color);
    }
    o
}

fn text_list(o: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(o, "  {} ({}):", one_line(title), items.len());
    for i in items.iter().take(TEXT_LIST_LIMIT) {
        let _ = writeln!(o, "    {}", one_line(i));
    }
    if items.len() > TEXT_LIST_LIMIT {
        let _ = writeln!(
            o,
            "    … {} more (--format json lists them all)",
            items.len() - TEXT_LIST_LIMIT
        );
    }
}

/// A multi-line field (Description) as its first line and a count; markdown and JSON show all.
pub(crate) fn first_line(v: Option<&str>) -> String {
    match v {
        None => "(none)".to_string(),
        Some(v) => match v.split_once('\n') {
            Some((first, rest)) => format!("{first} [+{} lines]", rest.lines().count()),
            None => v.to_string(),
        },
    }
}

fn kconfig_line(k: &KconfigChange) -> String {
    format!(
        "{}: {} → {}{}",
        k.option,
        kvalue(&k.old),
        kvalue(&k.new),
        if k.named_by_rule {
            "  (named by a rule)"
        } else {
            ""
        }
    )
}

fn text_content(o: &mut String, p: &PairDiff, color: bool) {
    let c = &p.content_changes;
    if !c.changed.is_empty() || c.compared > 0 {
        let _ = writeln!(o, "  {}", pair_content_headline(c));
    }
    for (i, x) in c.changed.iter().enumerate() {
        if i == TEXT_LIST_LIMIT {
            let _ = writeln!(
                o,
                "    … {} more (--format json lists them all)",
                c.changed.len() - TEXT_LIST_LIMIT
            );
            break;
        }
        let line = one_line(&content_line(x)).into_owned();
        let line = if x.security {
            paint(color, "1;33", &format!("SECURITY {line}"))
        } else {
            line
        };
        let _ = writeln!(o, "    {line}");
    }
    let unknown: Vec<String> = c
        .unknown
        .iter()
        .map(|u| {
            let tag = if u.security { "SECURITY " } else { "" };
            format!("{tag}{}: {}", u.path, u.why)
        })
        .collect();
    if c.unknown_count > c.unknown.len() {
        let _ = writeln!(
            o,
            "  content not compared: {} file(s), see the notes",
            c.unknown_count
        );
    }
    text_list(o, "content not compared", &unknown);
    text_list(o, "md5sums wrong", &c.md5sums_wrong);
    text_list(o, "content notes", &c.notes);
}

fn text_changelog(o: &mut String, p: &PairDiff, color: bool) {
    let c = &p.changelog;
    if c.is_empty() {
        return;
    }
    let _ = writeln!(o, "  changelog: {}", one_line(&changelog_headline(p)));
    for (title, entries) in [("", &c.entries), ("NEWS ", &c.news)] {
        for e in entries {
            let head = format!("{title}{}", one_line(&entry_heading(e)));
            let head = if e.security {
                paint(color, "1;33", &format!("{head} [security]"))
            } else {
                head
            };
            let _ = writeln!(o, "    {head}");
            let (lines, more) = body_lines(&e.body);
            for l in lines {
                let _ = writeln!(o, "      {}", one_line(l));
            }
            if more > 0 {
                let _ = writeln!(
                    o,
                    "      … {more} more line(s) (--format json has them all)"
                );
            }
        }
    }
    for n in &c.notes {
        let _ = writeln!(o, "    note: {}", one_line(n));
    }
    if !p.references.is_empty() {
        let refs: Vec<String> = p.references.iter().map(|r| r.label()).collect();
        let _ = writeln!(
            o,
            "  references ({}): {}",
            refs.len(),
            one_line(&folded(&refs))
        );
    }
}

fn text_pair(o: &mut String, p: &PairDiff, color: bool) {
    // What is security-relevant first: content of privileged files, then why (the changelog).
    text_content(o, p, color);
    text_changelog(o, p, color);
    let control: Vec<String> = p
        .control
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.field,
                first_line(c.old.as_deref()),
                first_line(c.new.as_deref())
            )
        })
        .collect();
    text_list(o, "control", &control);
    text_list(o, "conffiles added", &p.conffiles_added);
    text_list(o, "conffiles removed", &p.conffiles_removed);
    text_list(o, "files added", &p.files_added);
    text_list(o, "files removed", &p.files_removed);
    let moved: Vec<String> = p
        .files_moved
        .iter()
        .map(|m| format!("{} → {}", m.old, m.new))
        .collect();
    text_list(o, "files moved", &moved);
    let meta: Vec<String> = p
        .metadata
        .iter()
        .map(|m| {
            format!(
                "{} {}: {} → {}",
                m.path,
                m.field,
                meta_value(&m.old),
                meta_value(&m.new)
            )
        })
        .collect();
    text_list(o, "metadata", &meta);
    let mut files: Vec<&str> = p.kconfig.iter().map(|k| k.file.as_str()).collect();
    files.dedup();
    for f in files {
        let lines: Vec<String> = p
            .kconfig
            .iter()
            .filter(|k| k.file == f)
            .map(kconfig_line)
            .collect();
        text_list(o, &format!("kernel config {f}"), &lines);
    }
    let privs: Vec<String> = p.privileges.iter().map(privilege_line).collect();
    text_list(o, "privileges", &privs);
    for c in &p.content {
        let _ = writeln!(o, "  {} {}:", c.kind, one_line(&c.path));
        if c.binary {
            let _ = writeln!(o, "    binary content differs");
            continue;
        }
        for line in c.diff.lines() {
            let code = if line.starts_with('+') && !line.starts_with("+++") {
                "32"
            } else if line.starts_with('-') && !line.starts_with("---") {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                ""
            };
            let line = one_line(line);
            let shown = if code.is_empty() {
                line.into_owned()
            } else {
                paint(color, code, &line)
            };
            let _ = writeln!(o, "    {shown}");
        }
        if c.truncated {
            let _ = writeln!(o, "    (only the head of a long file was compared)");
        }
    }
}
