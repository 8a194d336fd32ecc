//! `debgate diff` as markdown, for bug reports and merge proposals: a headline, tables of
//! verdicts and sysctl values, and a section per changed pair with its diffs fenced.

use crate::diff_text::{
    kvalue, meta_value, notable, pair_title, privilege_line, sysctl_value, totals, verdict_headline,
};
use crate::{RenderError, RenderOptions};
use debgate_diff::{DiffReport, PairDiff, PrivilegeChange, Transition};
use debgate_facts::text::one_line;
use std::borrow::Cow;
use std::fmt::Write;

/// Write the report as markdown. Markdown has no colour; the options change nothing. The page
/// is often read on a terminal first, and every line of it may quote a package: each goes
/// through `one_line` (markdown has no escape sequence of its own to lose).
pub fn diff_markdown(
    r: &DiffReport,
    _opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    let page = markdown(r);
    let lines: Vec<Cow<'_, str>> = page.split('\n').map(one_line).collect();
    out.write_all(lines.join("\n").as_bytes())?;
    out.flush()?;
    Ok(())
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

fn markdown(r: &DiffReport) -> String {
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
    for d in &r.duplicates {
        let _ = writeln!(
            o,
            "- **duplicate**: {}",
            cell(&crate::diff_text::duplicate_line(d))
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

    let _ = writeln!(
        o,
        "\n## Privilege escalations and reductions\n\n{}.\n",
        crate::diff_text::steps_headline(r)
    );
    for s in &r.escalations {
        let _ = writeln!(
            o,
            "- **escalation**: {}",
            cell(&crate::diff_text::step_line(s, "old"))
        );
    }
    for s in &r.reductions {
        let _ = writeln!(
            o,
            "- reduction: {}",
            cell(&crate::diff_text::step_line(s, "new"))
        );
    }

    let _ = writeln!(
        o,
        "\n## Security-relevant content changes\n\n{}.\n",
        crate::diff_text::content_headline(r)
    );
    for s in &r.security_content {
        let _ = writeln!(
            o,
            "- **security**: {}",
            cell(&crate::diff_text::security_content_line(s))
        );
    }
    if !r.cves.is_empty() {
        let cves: Vec<String> = r
            .cves
            .iter()
            .map(|c| {
                link(&debgate_diff::Reference {
                    kind: debgate_diff::RefKind::Cve,
                    id: c.clone(),
                })
            })
            .collect();
        let _ = writeln!(o);
        details(&mut o, "CVEs named by the changelogs", &cves);
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

/// A reference as a markdown link: `[CVE-2024-28085](https://security-tracker…)`.
fn link(r: &debgate_diff::Reference) -> String {
    format!("[{}]({})", r.label().replace(']', "\\]"), r.url())
}

fn markdown_content(o: &mut String, p: &PairDiff) {
    let c = &p.content_changes;
    if c.is_empty() {
        return;
    }
    let _ = writeln!(o, "{}.\n", crate::diff_text::pair_content_headline(c));
    for x in c.changed.iter().filter(|x| x.security) {
        let _ = writeln!(
            o,
            "- **security**: {}",
            cell(&crate::diff_text::content_line(x))
        );
    }
    if c.changed.iter().any(|x| x.security) {
        o.push('\n');
    }
    let rest: Vec<String> = c
        .changed
        .iter()
        .filter(|x| !x.security)
        .map(|x| format!("`{}`", crate::diff_text::content_line(x)))
        .collect();
    details(o, "content changed", &rest);
    let unknown: Vec<String> = c
        .unknown
        .iter()
        .map(|u| format!("`{}`: {}", u.path, u.why))
        .collect();
    details(o, "content not compared", &unknown);
    details(o, "md5sums wrong", &c.md5sums_wrong);
    for n in &c.notes {
        let _ = writeln!(o, "- note: {}", cell(n));
    }
    if !c.notes.is_empty() {
        o.push('\n');
    }
}

fn markdown_changelog(o: &mut String, p: &PairDiff) {
    let c = &p.changelog;
    if c.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "Changelog: {}.\n",
        cell(&crate::diff_text::changelog_headline(p))
    );
    for (title, entries) in [("", &c.entries), ("NEWS ", &c.news)] {
        for e in entries {
            let flag = if e.security { " **security**" } else { "" };
            let _ = writeln!(o, "- {title}`{}`{flag}", crate::diff_text::entry_heading(e));
            let (lines, more) = crate::diff_text::body_lines(&e.body);
            let mut body = lines.join("\n");
            if more > 0 {
                let _ = write!(body, "\n… {more} more line(s) (--format json has them all)");
            }
            if !body.trim().is_empty() {
                let f = fence(&body);
                let indented: Vec<String> = format!("{f}\n{body}\n{f}")
                    .lines()
                    .map(|l| format!("  {l}"))
                    .collect();
                let _ = writeln!(o, "\n{}\n", indented.join("\n"));
            }
        }
    }
    for n in &c.notes {
        let _ = writeln!(o, "- note: {}", cell(n));
    }
    if !p.references.is_empty() {
        let refs: Vec<String> = p.references.iter().map(link).collect();
        let _ = writeln!(o);
        details(o, "references", &refs);
    }
    o.push('\n');
}

fn markdown_pair(o: &mut String, p: &PairDiff) {
    markdown_content(o, p);
    markdown_changelog(o, p);
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
