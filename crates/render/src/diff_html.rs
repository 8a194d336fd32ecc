//! Rendering a `debgate diff` report as one self-contained HTML file: inline CSS and a few lines
//! of inline script, no external asset of any kind, so the file can be attached to a bug, mailed
//! or archived as CI output and still render the same offline. The CSS and the script live in
//! `diff_html.css` and `diff_html.js` beside this file and are built in with `include_str!`.
//!
//! Every string that comes from a package (names, versions, paths, control fields, diff lines,
//! rule messages that quote them) is hostile input: it goes through [`esc`] on its way out, and
//! the only attribute built from one (a section's `id`) is reduced to a safe alphabet first. The
//! Content-Security-Policy allows no network fetch at all and only our own script, by hash, so a
//! slip in escaping still could not run injected script or phone home.

use crate::diff_text::{
    first_line, kvalue, meta_value, notable, pair_title, sysctl_value, totals, verdict_headline,
};
use crate::{RenderError, RenderOptions};
use debgate_diff::{DiffReport, PairDiff, PrivilegeChange, Transition};
use std::collections::BTreeSet;
use std::fmt::Write;

/// Opens the section a URL fragment names (`report.html#pkg-NAME`, scrolled to), or the
/// sections a query names (`report.html?open=pkg-A,pkg-B`, not scrolled: a screenshot keeps the
/// summary in view), so a link or a headless browser can point at packages; and wires the
/// expand/collapse-all buttons. Kept tiny and constant: its hash is pinned in the
/// Content-Security-Policy below. The file ends in a newline as text files do; the script (and
/// so its hash) is the text without it.
const SCRIPT: &str = include_str!("diff_html.js").trim_ascii_end();

/// `sha256-` and the base64 SHA-256 of [`SCRIPT`], the one script the CSP lets run. A unit test
/// recomputes it (with `sha256sum`) and prints the new value when SCRIPT changes.
const SCRIPT_HASH: &str = "sha256-k8L/LxA601m0tsbGRm1f7GA7BpULvHOXkgNylkKbIyk=";

const CSS: &str = include_str!("diff_html.css");
/// HTML-escape text for element content and for quoted attribute values alike.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // C0 controls other than tab and newline are not allowed in HTML text; show them.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// The `id` of a package's section: `pkg-` and the name reduced to characters that are safe in
/// an attribute and a URL fragment without escaping. Debian names use `[a-z0-9+.-]` only, so a
/// real name comes through unchanged (`report.html#pkg-NAME` works as typed); anything else is
/// written as `_XX` hex bytes.
pub(crate) fn section_id(name: &str) -> String {
    let mut id = String::from("pkg-");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+') {
            id.push(char::from(b));
        } else {
            let _ = write!(id, "_{b:02x}");
        }
    }
    id
}

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge b-{class}\">{}</span>", esc(text))
}

fn card(o: &mut String, n: usize, label: &str, tone: &str) {
    let _ = write!(
        o,
        "<div class=\"card {}\"><div class=\"n\">{n}</div><div class=\"l\">{label}</div></div>",
        if n > 0 { tone } else { "" }
    );
}

/// Write the report as one self-contained HTML file. The page has its own colours; the options
/// change nothing.
pub fn diff_html(
    r: &DiffReport,
    _opts: &RenderOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    out.write_all(html(r).as_bytes())?;
    out.flush()?;
    Ok(())
}

fn html(r: &DiffReport) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let title = format!("debgate diff {} → {}", r.old.label, r.new.label);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"debgate {}\">\n<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&title)
    );
    let _ = writeln!(
        o,
        "<header><h1>debgate diff</h1><div class=\"sides\"><code>{}</code> → <code>{}</code></div></header>",
        esc(&r.old.label),
        esc(&r.new.label)
    );
    summary(&mut o, r);
    verdicts(&mut o, r);
    escalations(&mut o, r);
    security_content(&mut o, r);
    privileges(&mut o, r);
    sysctl(&mut o, r);
    packages(&mut o, r);
    let _ = write!(
        o,
        "<footer>debgate {} · {}</footer>\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        esc(&totals(r))
    );
    o
}

fn summary(o: &mut String, r: &DiffReport) {
    let s = &r.summary;
    let (tone, headline) = if s.errors > 0 {
        ("bad", format!("{} package(s) could not be read", s.errors))
    } else if s.regressions_error > 0 {
        (
            "bad",
            format!("{} regression(s) of severity error", s.regressions_error),
        )
    } else if s.regressions > 0 {
        (
            "warn",
            format!("{} regression(s), none of severity error", s.regressions),
        )
    } else {
        ("ok", "No regression".to_string())
    };
    let _ = write!(
        o,
        "<div class=\"headline {tone}\" id=\"headline\">{}<small>{}</small></div>\n<div class=\"cards\">",
        esc(&headline),
        esc(&verdict_headline(r))
    );
    card(o, s.regressions, "regressions", "bad");
    card(o, s.escalations, "escalations", "bad");
    card(o, s.security_content, "security content changes", "bad");
    card(o, s.cves, "CVEs named", "warn");
    card(o, s.content_changed, "files changed in content", "");
    card(o, s.fixed, "fixed", "good");
    card(o, s.privilege_changes, "privilege changes", "bad");
    card(o, s.new_coverage, "new coverage", "good");
    card(o, s.dropped_coverage, "dropped coverage", "warn");
    card(o, s.changed, "packages changed", "");
    card(o, s.added, "added", "");
    card(o, s.removed, "removed", "");
    card(o, s.errors, "unreadable", "bad");
    o.push_str("</div>\n");
    if !r.errors.is_empty() {
        o.push_str("<section id=\"errors\"><h2>Unreadable packages</h2><table><tr><th>side</th><th>file</th><th>error</th></tr>");
        for e in &r.errors {
            let _ = write!(
                o,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                esc(e.side),
                esc(&e.file),
                esc(&e.error)
            );
        }
        o.push_str("</table></section>\n");
    }
}

fn verdicts(o: &mut String, r: &DiffReport) {
    o.push_str("<section id=\"verdicts\"><h2>Policy verdicts</h2>");
    if r.verdicts.is_empty() {
        o.push_str("<p class=\"none\">No rule is loaded.</p></section>\n");
        return;
    }
    o.push_str(
        "<table><tr><th>rule</th><th>severity</th><th>old</th><th>new</th><th>transition</th></tr>",
    );
    for v in notable(r) {
        let t = v.transition.as_str();
        let _ = write!(o, "<tr><td class=\"mono\">{}", esc(&v.rule));
        if v.transition == Transition::Regression && !v.new_failures.is_empty() {
            o.push_str("<ul class=\"failures\">");
            for f in &v.new_failures {
                let _ = write!(o, "<li>{}</li>", esc(f));
            }
            o.push_str("</ul>");
        }
        let _ = write!(
            o,
            "</td><td class=\"nw\">{}</td><td class=\"nw st-{}\">{}</td><td class=\"nw st-{}\">{}</td><td class=\"nw\">{}</td></tr>",
            esc(v.severity.as_str()),
            esc(v.old.as_str()),
            esc(v.old.as_str()),
            esc(v.new.as_str()),
            esc(v.new.as_str()),
            badge(t, t)
        );
    }
    o.push_str("</table></section>\n");
}

fn privilege_rows(o: &mut String, list: &[(&str, &PrivilegeChange)], with_package: bool) {
    o.push_str("<table><tr>");
    if with_package {
        o.push_str("<th>package</th>");
    }
    o.push_str("<th>path</th><th>change</th><th>old</th><th>new</th><th>from</th></tr>");
    for (pkg, c) in list {
        o.push_str("<tr class=\"priv\">");
        if with_package {
            let _ = write!(
                o,
                "<td class=\"mono nw\"><a href=\"#{}\">{}</a></td>",
                esc(&section_id(pkg)),
                esc(pkg)
            );
        }
        let _ = write!(
            o,
            "<td class=\"mono nw\">{}</td><td class=\"nw\">{}{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
            esc(&c.path),
            badge("priv", c.kind),
            if c.rerun { " <span class=\"badge b-neutral\">after a re-run</span>" } else { "" },
            esc(&c.old),
            esc(&c.new),
            esc(&c.sources.join(" → "))
        );
    }
    o.push_str("</table>");
}

/// Escalations first, then reductions: the privilege order's verdict on the two sides.
fn escalations(o: &mut String, r: &DiffReport) {
    o.push_str("<section id=\"escalations\"><h2>Privilege escalations and reductions</h2>");
    if r.escalations.is_empty() && r.reductions.is_empty() {
        o.push_str("<p class=\"none\">None: every privileged state on each side has one at least as privileged on the other.</p></section>\n");
        return;
    }
    o.push_str("<table><tr><th>change</th><th>package</th><th>path</th><th>state</th><th>other side</th><th>from</th></tr>");
    for (tag, list) in [("escalation", &r.escalations), ("reduction", &r.reductions)] {
        for s in list {
            let _ = write!(
                o,
                "<tr class=\"step\"><td class=\"nw\">{}</td><td class=\"mono nw\"><a href=\"#{}\">{}</a></td><td class=\"mono nw\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                badge(if tag == "escalation" { "regression" } else { "fixed" }, tag),
                esc(&section_id(&s.package)),
                esc(&s.package),
                esc(&s.path),
                esc(&s.state),
                esc(&if s.other.is_empty() { "absent".to_string() } else { s.other.join(" or ") }),
                esc(&s.sources.join(" → "))
            );
        }
    }
    o.push_str("</table></section>\n");
}

/// A reference as a link to its tracker; the text and the URL are built from digits and a
/// fixed prefix by the changelog reader, and escaped all the same.
fn reference_link(r: &debgate_diff::Reference) -> String {
    format!(
        "<a href=\"{}\" rel=\"noreferrer noopener\">{}</a>",
        esc(&r.url()),
        esc(&r.label())
    )
}

/// Content changes as table rows, with the package (linked to its section) when given.
fn content_rows(o: &mut String, list: &[(Option<&str>, &debgate_diff::ContentChange)]) {
    o.push_str("<table><tr>");
    if list.iter().any(|(p, _)| p.is_some()) {
        o.push_str("<th>package</th>");
    }
    o.push_str("<th>path</th><th>compared by</th><th>old</th><th>new</th><th>why</th></tr>");
    for (p, c) in list {
        o.push_str(if c.security {
            "<tr class=\"sec\">"
        } else {
            "<tr>"
        });
        if let Some(p) = p {
            let _ = write!(
                o,
                "<td class=\"mono nw\"><a href=\"#{}\">{}</a></td>",
                esc(&section_id(p)),
                esc(p)
            );
        }
        let path = match &c.old_path {
            Some(old) => format!("{old} → {}", c.path),
            None => c.path.clone(),
        };
        let mut why = c.why.clone();
        if c.conffile {
            why.insert(0, "conffile".to_string());
        }
        // A digest is 64 hex digits: the head tells two apart, the whole is in the title.
        let short = |d: &str| {
            let head: String = d.chars().take(20).collect();
            format!("<span title=\"{}\">{}…</span>", esc(d), esc(&head))
        };
        let _ = write!(
            o,
            "<td class=\"mono\">{}</td><td class=\"nw\">{}</td><td class=\"mono nw\">{}</td><td class=\"mono nw\">{}</td><td class=\"mono\">{}</td></tr>",
            esc(&path),
            esc(&c.compared_by.replace('-', " ")),
            short(&c.old_digest),
            short(&c.new_digest),
            esc(&why.join("; "))
        );
    }
    o.push_str("</table>");
}

/// Content changes to privileged files, across the pairs, and the CVEs the changelogs name.
fn security_content(o: &mut String, r: &DiffReport) {
    let _ = write!(
        o,
        "<section id=\"security-content\"><h2>Security-relevant content changes</h2><p>{}.</p>",
        esc(&crate::diff_text::content_headline(r))
    );
    let list: Vec<(Option<&str>, &debgate_diff::ContentChange)> = r
        .security_content
        .iter()
        .map(|s| (Some(s.package.as_str()), &s.change))
        .collect();
    if list.is_empty() {
        o.push_str(
            "<p class=\"none\">None: no file privileged on either side changed in content.</p>",
        );
    } else {
        content_rows(o, &list);
    }
    if !r.cves.is_empty() {
        let links: Vec<String> = r
            .cves
            .iter()
            .map(|c| {
                reference_link(&debgate_diff::Reference {
                    kind: debgate_diff::RefKind::Cve,
                    id: c.clone(),
                })
            })
            .collect();
        let _ = write!(
            o,
            "<details><summary>CVEs named by the changelogs ({})</summary><p>{}</p></details>",
            links.len(),
            links.join(", ")
        );
    }
    o.push_str("</section>\n");
}

fn pair_content(o: &mut String, p: &PairDiff) {
    let c = &p.content_changes;
    if c.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<h3>Content</h3><p>{}.</p>",
        esc(&crate::diff_text::pair_content_headline(c))
    );
    if !c.changed.is_empty() {
        let list: Vec<(Option<&str>, &debgate_diff::ContentChange)> =
            c.changed.iter().map(|x| (None, x)).collect();
        content_rows(o, &list);
    }
    let mut items: Vec<String> = c
        .unknown
        .iter()
        .map(|u| format!("not compared: {}: {}", u.path, u.why))
        .collect();
    items.extend(
        c.md5sums_wrong
            .iter()
            .map(|w| format!("md5sums wrong: {w}")),
    );
    items.extend(c.notes.iter().map(|n| format!("note: {n}")));
    if !items.is_empty() {
        o.push_str("<ul class=\"mono\">");
        for i in items {
            let _ = write!(o, "<li>{}</li>", esc(&i));
        }
        o.push_str("</ul>");
    }
}

fn pair_changelog(o: &mut String, p: &PairDiff) {
    let c = &p.changelog;
    if c.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<h3>Changelog</h3><p>{}</p>",
        esc(&crate::diff_text::changelog_headline(p))
    );
    for (title, entries) in [("", &c.entries), ("NEWS ", &c.news)] {
        for e in entries {
            let _ = write!(
                o,
                "<div class=\"entry\"><div class=\"mono\">{}{}{}</div><pre>{}</pre></div>",
                esc(title),
                esc(&crate::diff_text::entry_heading(e)),
                if e.security {
                    badge("regression", "security")
                } else {
                    String::new()
                },
                esc(&e.body)
            );
        }
    }
    if !c.notes.is_empty() {
        o.push_str("<ul>");
        for n in &c.notes {
            let _ = write!(o, "<li>{}</li>", esc(n));
        }
        o.push_str("</ul>");
    }
    if !p.references.is_empty() {
        let links: Vec<String> = p.references.iter().map(reference_link).collect();
        let _ = write!(
            o,
            "<details><summary>References ({})</summary><p>{}</p></details>",
            links.len(),
            links.join(", ")
        );
    }
}

fn privileges(o: &mut String, r: &DiffReport) {
    o.push_str("<section id=\"privileges\"><h2>Privilege changes after maintainer scripts</h2>");
    let list: Vec<(&str, &PrivilegeChange)> = r
        .pairs
        .iter()
        .flat_map(|p| p.privileges.iter().map(move |c| (p.package.as_str(), c)))
        .collect();
    if list.is_empty() {
        o.push_str("<p class=\"none\">None: no file became setuid, setgid or capable, moved to a non-root group or widened its mode.</p>");
    } else {
        privilege_rows(o, &list, true);
    }
    o.push_str("</section>\n");
}

fn sysctl(o: &mut String, r: &DiffReport) {
    o.push_str("<section id=\"sysctl\"><h2>Effective sysctl values</h2>");
    if r.sysctl.is_empty() {
        o.push_str("<p class=\"none\">No effective value changed.</p>");
    } else {
        o.push_str("<table><tr><th>key</th><th>old</th><th>new</th></tr>");
        for c in &r.sysctl {
            let _ = write!(
                o,
                "<tr><td class=\"mono nw\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                esc(&c.key),
                esc(&sysctl_value(&c.old)),
                esc(&sysctl_value(&c.new))
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</section>\n");
}

fn packages(o: &mut String, r: &DiffReport) {
    o.push_str(
        "<section id=\"packages\"><div class=\"toolbar\"><h2>Packages</h2>\
        <button type=\"button\" data-toggle=\"open\">Expand all</button>\
        <button type=\"button\" data-toggle=\"close\">Collapse all</button></div>",
    );
    let _ = write!(o, "<p class=\"note\">{}</p>", esc(&totals(r)));
    let refs = |o: &mut String, what: &str, list: &[debgate_diff::PackageRef]| {
        if list.is_empty() {
            return;
        }
        let _ = write!(o, "<h3>{what} ({})</h3><ul class=\"plain\">", list.len());
        for a in list {
            let _ = write!(
                o,
                "<li><span class=\"mono\">{}</span> <span class=\"ver\">{}</span> <span class=\"note\">{}</span></li>",
                esc(&a.package),
                esc(&a.version),
                esc(&a.file)
            );
        }
        o.push_str("</ul>");
    };
    refs(o, "added", &r.added);
    refs(o, "removed", &r.removed);
    let unchanged: Vec<&PairDiff> = r.pairs.iter().filter(|p| p.is_unchanged()).collect();
    if !unchanged.is_empty() {
        let _ = write!(
            o,
            "<h3>unchanged ({})</h3><ul class=\"plain\">",
            unchanged.len()
        );
        for p in unchanged {
            let _ = write!(
                o,
                "<li><span class=\"mono\">{}</span> <span class=\"ver\">{}</span></li>",
                esc(&p.package),
                esc(&p.new_version)
            );
        }
        o.push_str("</ul>");
    }
    // Two pairs could share a name (one per architecture); ids must stay unique.
    let mut ids = BTreeSet::new();
    for p in r.pairs.iter().filter(|p| !p.is_unchanged()) {
        let mut id = section_id(&p.package);
        let mut n = 1;
        while !ids.insert(id.clone()) {
            n += 1;
            id = format!("{}-{n}", section_id(&p.package));
        }
        pair(o, p, &id);
    }
    o.push_str("</section>\n");
}

fn pair(o: &mut String, p: &PairDiff, id: &str) {
    let _ = write!(
        o,
        "<details class=\"pkg\" id=\"{}\" title=\"{}\"><summary>",
        esc(id),
        esc(&pair_title(p))
    );
    if p.old_package != p.package {
        let _ = write!(
            o,
            "<span class=\"name\">{}</span><span class=\"ver\">{}</span> → ",
            esc(&p.old_package),
            esc(&p.old_version)
        );
        let _ = write!(
            o,
            "<span class=\"name\">{}</span><span class=\"ver\">{}</span>",
            esc(&p.package),
            esc(&p.new_version)
        );
    } else {
        let _ = write!(
            o,
            "<span class=\"name\">{}</span><span class=\"ver\">{} → {}</span>",
            esc(&p.package),
            esc(&p.old_version),
            esc(&p.new_version)
        );
    }
    o.push_str(&badge(p.version_change.as_str(), p.version_change.as_str()));
    if let Some(by) = &p.paired_by {
        o.push_str(&badge("neutral", &format!("paired by {by}")));
    }
    o.push_str("<span class=\"counts\">");
    if !p.privileges.is_empty() {
        o.push_str(&badge(
            "priv",
            &format!("{} privilege change(s)", p.privileges.len()),
        ));
    }
    let security = p
        .content_changes
        .changed
        .iter()
        .filter(|c| c.security)
        .count();
    if security > 0 {
        o.push_str(&badge(
            "priv",
            &format!("{security} security content change(s)"),
        ));
    }
    let cves = p
        .references
        .iter()
        .filter(|r| r.kind == debgate_diff::RefKind::Cve)
        .count();
    if cves > 0 {
        o.push_str(&badge("priv", &format!("{cves} CVE(s)")));
    }
    let mut count = |n: usize, what: &str| {
        if n > 0 {
            o.push_str(&badge("neutral", &format!("{n} {what}")));
        }
    };
    count(p.content_changes.changed.len(), "changed in content");
    count(p.kconfig.len(), "kconfig");
    count(p.content.len(), "diff(s)");
    count(p.metadata.len(), "metadata");
    count(
        p.files_added.len() + p.files_removed.len() + p.files_moved.len(),
        "file(s)",
    );
    count(p.control.len(), "control");
    o.push_str("</span></summary><div class=\"body\">");
    pair_content(o, p);
    pair_changelog(o, p);

    if !p.privileges.is_empty() {
        o.push_str("<h3>Privileges gained</h3>");
        let list: Vec<(&str, &PrivilegeChange)> = p
            .privileges
            .iter()
            .map(|c| (p.package.as_str(), c))
            .collect();
        privilege_rows(o, &list, false);
    }
    if !p.kconfig.is_empty() {
        o.push_str("<h3>Kernel config</h3><table><tr><th>file</th><th>option</th><th>old</th><th>new</th></tr>");
        for k in &p.kconfig {
            let _ = write!(
                o,
                "<tr><td class=\"mono nw\">{}</td><td class=\"mono nw{}\">{}{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                esc(&k.file),
                if k.named_by_rule { " named" } else { "" },
                esc(&k.option),
                if k.named_by_rule { " <span class=\"badge b-new-coverage\">named by a rule</span>" } else { "" },
                esc(kvalue(&k.old)),
                esc(kvalue(&k.new))
            );
        }
        o.push_str("</table>");
    }
    for c in &p.content {
        let _ = write!(
            o,
            "<h3>{} <span class=\"mono\">{}</span></h3>",
            esc(c.kind),
            esc(&c.path)
        );
        if c.binary {
            o.push_str("<p class=\"note\">binary content differs</p>");
            continue;
        }
        o.push_str("<pre class=\"diff\">");
        for line in c.diff.lines() {
            let class = if line.starts_with("+++") || line.starts_with("---") {
                "file"
            } else if line.starts_with('+') {
                "add"
            } else if line.starts_with('-') {
                "del"
            } else if line.starts_with("@@") {
                "hunk"
            } else {
                "ctx"
            };
            let _ = write!(o, "<span class=\"{class}\">{}</span>", esc(line));
        }
        o.push_str("</pre>");
        if c.truncated {
            o.push_str("<p class=\"note\">Only the head of a long file was compared.</p>");
        }
    }
    if !p.control.is_empty() {
        o.push_str("<h3>Control fields</h3><table><tr><th>field</th><th>old</th><th>new</th></tr>");
        for c in &p.control {
            let _ = write!(
                o,
                "<tr><td class=\"field\">{}</td><td class=\"mono\" title=\"{}\">{}</td><td class=\"mono\" title=\"{}\">{}</td></tr>",
                esc(&c.field),
                esc(c.old.as_deref().unwrap_or("")),
                esc(&first_line(c.old.as_deref())),
                esc(c.new.as_deref().unwrap_or("")),
                esc(&first_line(c.new.as_deref()))
            );
        }
        o.push_str("</table>");
    }
    if !p.metadata.is_empty() {
        o.push_str(
            "<h3>Metadata</h3><table><tr><th>path</th><th>field</th><th>old</th><th>new</th></tr>",
        );
        for m in &p.metadata {
            let _ = write!(
                o,
                "<tr><td class=\"mono nw\">{}</td><td class=\"nw\">{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                esc(&m.path),
                esc(m.field),
                esc(meta_value(&m.old)),
                esc(meta_value(&m.new))
            );
        }
        o.push_str("</table>");
    }
    let list = |o: &mut String, what: &str, items: &[String]| {
        if items.is_empty() {
            return;
        }
        let _ = write!(
            o,
            "<h3>{what} ({})</h3><ul class=\"plain mono\">",
            items.len()
        );
        for i in items {
            let _ = write!(o, "<li>{}</li>", esc(i));
        }
        o.push_str("</ul>");
    };
    list(o, "conffiles added", &p.conffiles_added);
    list(o, "conffiles removed", &p.conffiles_removed);
    list(o, "files added", &p.files_added);
    list(o, "files removed", &p.files_removed);
    let moved: Vec<String> = p
        .files_moved
        .iter()
        .map(|m| format!("{} → {}", m.old, m.new))
        .collect();
    list(o, "files moved", &moved);
    o.push_str("</div></details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_neutralises_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{1b}[31mb\tc\n"), "a\u{FFFD}[31mb\tc\n");
    }

    #[test]
    fn section_ids_keep_debian_names_and_encode_the_rest() {
        assert_eq!(section_id("libfoo2.0+dfsg-1"), "pkg-libfoo2.0+dfsg-1");
        assert_eq!(section_id("a\"><b"), "pkg-a_22_3e_3cb");
        assert_eq!(section_id("é"), "pkg-_c3_a9");
    }

    /// The CSP pins SCRIPT by hash: a changed script without a new hash would silently not run
    /// (Chromium logs a console error, which the headless test catches too). Needs
    /// `sha256sum` (coreutils); base64 is done here to need no extra crate.
    #[test]
    fn script_hash_matches_script() {
        use std::io::Write as _;
        use std::process::{Command, Stdio};
        let Ok(mut child) = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        else {
            eprintln!("skipped: no sha256sum to check the script's CSP hash");
            return;
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(SCRIPT.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let hex = String::from_utf8(out.stdout).unwrap();
        let bytes: Vec<u8> = (0..64)
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let expected = format!("sha256-{}", base64(&bytes));
        assert_eq!(SCRIPT_HASH, expected, "update SCRIPT_HASH to {expected}");
    }

    fn base64(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut o = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    o.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    o.push('=');
                }
            }
        }
        o
    }
}
