//! Rendering a `debgate diff` report as text (terminal) or markdown (bug reports, merge
//! proposals); JSON is the report serialised as is. Each renderer returns a string so that
//! `-o FILE` and stdout share one path; the HTML renderer (diff_html.rs) shares the wording
//! helpers marked `pub(crate)` here, so every format says a change the same way.

use debgate_diff::{
    DiffReport, KconfigChange, PairDiff, PrivilegeChange, SysctlValue, Transition, VerdictChange,
};
use std::fmt::Write;

/// Items of one list shown in text output; the JSON has them all.
const TEXT_LIST_LIMIT: usize = 20;

fn paint(on: bool, code: &str, s: &str) -> String {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
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

pub fn text(r: &DiffReport, color: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "debgate diff {} → {}", r.old.label, r.new.label);
    for e in &r.errors {
        let _ = writeln!(
            o,
            "{}: {} side: {}: {}",
            paint(color, "1;31", "E"),
            e.side,
            e.file,
            e.error
        );
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
            v.rule,
            v.severity.as_str(),
            v.old.as_str(),
            v.new.as_str()
        );
        if v.transition == Transition::Regression {
            for f in &v.new_failures {
                let _ = writeln!(o, "      {f}");
            }
        }
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
            let _ = writeln!(o, "  {}", paint(color, "1;33", &privilege_line(c)));
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
                s.key,
                sysctl_value(&s.old),
                sysctl_value(&s.new)
            );
        }
    }
    let _ = writeln!(o, "packages: {}", totals(r));
    for a in &r.added {
        let _ = writeln!(o, "  added: {} {}", a.package, a.version);
    }
    for a in &r.removed {
        let _ = writeln!(o, "  removed: {} {}", a.package, a.version);
    }
    for p in r.pairs.iter().filter(|p| !p.is_unchanged()) {
        let _ = writeln!(o);
        let _ = writeln!(o, "{}", paint(color, "1", &pair_title(p)));
        text_pair(&mut o, p, color);
    }
    o
}

fn text_list(o: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(o, "  {title} ({}):", items.len());
    for i in items.iter().take(TEXT_LIST_LIMIT) {
        let _ = writeln!(o, "    {i}");
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
pub(crate) fn one_line(v: Option<&str>) -> String {
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

fn text_pair(o: &mut String, p: &PairDiff, color: bool) {
    let control: Vec<String> = p
        .control
        .iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.field,
                one_line(c.old.as_deref()),
                one_line(c.new.as_deref())
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
        let _ = writeln!(o, "  {} {}:", c.kind, c.path);
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
            let shown = if code.is_empty() {
                line.to_string()
            } else {
                paint(color, code, line)
            };
            let _ = writeln!(o, "    {shown}");
        }
        if c.truncated {
            let _ = writeln!(o, "    (only the head of a long file was compared)");
        }
    }
}

/// Markdown table cells can't hold `|` or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A fence longer than any backtick run in the text, so a diff can't close its own block.
fn fence(text: &str) -> String {
    let longest = text
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0)
        .max(2);
    "`".repeat(longest + 1)
}

pub fn markdown(r: &DiffReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# debgate diff: `{}` → `{}`\n", r.old.label, r.new.label);
    let s = &r.summary;
    let headline = if s.regressions_error > 0 {
        format!(
            "**{} regression(s) of severity error.**",
            s.regressions_error
        )
    } else if s.regressions > 0 {
        format!(
            "**{} regression(s)**, none of severity error.",
            s.regressions
        )
    } else {
        "**No regression.**".to_string()
    };
    let _ = writeln!(o, "{headline} {}.\n", verdict_headline(r));
    let _ = writeln!(o, "{}.\n", totals(r));
    for e in &r.errors {
        let _ = writeln!(
            o,
            "- **unreadable** ({} side) `{}`: {}",
            e.side,
            e.file,
            cell(&e.error)
        );
    }
    if !r.errors.is_empty() {
        o.push('\n');
    }

    let _ = writeln!(o, "## Policy verdicts\n");
    let _ = writeln!(o, "| rule | severity | old | new | transition |");
    let _ = writeln!(o, "|---|---|---|---|---|");
    for v in notable(r) {
        let t = match v.transition {
            Transition::Regression => "**regression**".to_string(),
            t => t.as_str().to_string(),
        };
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {t} |",
            v.rule,
            v.severity.as_str(),
            v.old.as_str(),
            v.new.as_str()
        );
    }
    for v in r
        .verdicts
        .iter()
        .filter(|v| v.transition == Transition::Regression)
    {
        let _ = writeln!(o, "\n`{}` now fails:\n", v.rule);
        for f in &v.new_failures {
            let _ = writeln!(o, "- {}", cell(f));
        }
    }

    let _ = writeln!(o, "\n## Privilege changes\n");
    let privileges: Vec<&PrivilegeChange> = r.pairs.iter().flat_map(|p| &p.privileges).collect();
    if privileges.is_empty() {
        let _ = writeln!(o, "None: no file became setuid, setgid or capable, moved to a non-root group or widened its mode.");
    } else {
        for c in privileges {
            let _ = writeln!(o, "- {}", cell(&privilege_line(c)));
        }
    }

    let _ = writeln!(o, "\n## sysctl\n");
    if r.sysctl.is_empty() {
        let _ = writeln!(o, "No effective value changed.");
    } else {
        let _ = writeln!(o, "| key | old | new |");
        let _ = writeln!(o, "|---|---|---|");
        for c in &r.sysctl {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} |",
                c.key,
                cell(&sysctl_value(&c.old)),
                cell(&sysctl_value(&c.new))
            );
        }
    }

    let _ = writeln!(o, "\n## Packages\n");
    for a in &r.added {
        let _ = writeln!(o, "- added: `{}` {}", a.package, a.version);
    }
    for a in &r.removed {
        let _ = writeln!(o, "- removed: `{}` {}", a.package, a.version);
    }
    for p in r.pairs.iter().filter(|p| p.is_unchanged()) {
        let _ = writeln!(o, "- unchanged: `{}` {}", p.package, p.new_version);
    }
    if !o.ends_with("\n\n") {
        o.push('\n');
    }
    // Each pair's section ends with a blank line, so the next heading needs none before it.
    for p in r.pairs.iter().filter(|p| !p.is_unchanged()) {
        let _ = writeln!(o, "### {}\n", pair_title(p));
        markdown_pair(&mut o, p);
    }
    o
}

fn details(o: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(o, "<details><summary>{title} ({})</summary>\n", items.len());
    for i in items {
        let _ = writeln!(o, "- {}", cell(i));
    }
    let _ = writeln!(o, "\n</details>\n");
}

fn markdown_pair(o: &mut String, p: &PairDiff) {
    if !p.control.is_empty() {
        let _ = writeln!(o, "| control field | old | new |");
        let _ = writeln!(o, "|---|---|---|");
        for c in &p.control {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                c.field,
                cell(c.old.as_deref().unwrap_or("")),
                cell(c.new.as_deref().unwrap_or(""))
            );
        }
        o.push('\n');
    }
    details(o, "conffiles added", &p.conffiles_added);
    details(o, "conffiles removed", &p.conffiles_removed);
    details(o, "files added", &p.files_added);
    details(o, "files removed", &p.files_removed);
    let moved: Vec<String> = p
        .files_moved
        .iter()
        .map(|m| format!("`{}` → `{}`", m.old, m.new))
        .collect();
    details(o, "files moved", &moved);
    let meta: Vec<String> = p
        .metadata
        .iter()
        .map(|m| {
            format!(
                "`{}` {}: {} → {}",
                m.path,
                m.field,
                meta_value(&m.old),
                meta_value(&m.new)
            )
        })
        .collect();
    details(o, "metadata", &meta);
    if !p.kconfig.is_empty() {
        let _ = writeln!(o, "| kernel config | option | old | new |");
        let _ = writeln!(o, "|---|---|---|---|");
        for k in &p.kconfig {
            let name = if k.named_by_rule {
                format!("**`{}`**", k.option)
            } else {
                format!("`{}`", k.option)
            };
            let _ = writeln!(
                o,
                "| `{}` | {name} | {} | {} |",
                k.file,
                kvalue(&k.old),
                kvalue(&k.new)
            );
        }
        o.push('\n');
    }
    for c in &p.privileges {
        let _ = writeln!(o, "- **privilege**: {}", cell(&privilege_line(c)));
    }
    if !p.privileges.is_empty() {
        o.push('\n');
    }
    for c in &p.content {
        let _ = writeln!(o, "{} `{}`:\n", c.kind, c.path);
        if c.binary {
            let _ = writeln!(o, "binary content differs\n");
            continue;
        }
        let f = fence(&c.diff);
        let nl = if c.diff.ends_with('\n') { "" } else { "\n" };
        let _ = writeln!(o, "{f}diff\n{}{nl}{f}\n", c.diff);
    }
    if !o.ends_with("\n\n") {
        o.push('\n');
    }
}

/// "reading old: 3/40, new: 1/42 package(s)" on stderr while the sides are read, redrawn in
/// place, and only when stderr is a terminal: a log file or a test's pipe gets nothing.
pub struct ReadProgress {
    on: bool,
    /// (done, total) of the old and the new side.
    state: std::sync::Mutex<[(usize, usize); 2]>,
}

impl ReadProgress {
    pub fn new() -> Self {
        use std::io::IsTerminal;
        ReadProgress {
            on: std::io::stderr().is_terminal(),
            state: std::sync::Mutex::new([(0, 0); 2]),
        }
    }

    /// The hook for `debgate_diff::diff_paths_with_progress`.
    pub fn tick(&self, side: &str, done: usize, total: usize) {
        if !self.on {
            return;
        }
        let Ok(mut s) = self.state.lock() else { return };
        s[usize::from(side == "new")] = (done, total);
        // Holding the lock while writing keeps two readers' lines from interleaving.
        eprint!(
            "\r\x1b[Kreading old: {}/{}, new: {}/{} package(s)",
            s[0].0, s[0].1, s[1].0, s[1].1
        );
    }

    /// Clear the line, so the report or an error starts on a clean one.
    pub fn finish(&self) {
        if self.on {
            eprint!("\r\x1b[K");
        }
    }
}
