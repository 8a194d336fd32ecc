//! `debgate privileges` as text, CSV and a ready allow-list (TOML) to review; JSON is the
//! report's own serialisation. Text and TOML comments carry package text, so each goes through
//! `one_line`; CSV and TOML values are quoted by their maintained writers.

use crate::RenderError;
use debgate_check::privileges::{PackagePrivileges, PrivilegedFile, PrivilegesReport};
use debgate_facts::text::one_line;
use debgate_policy::allowlist::TODO_REASON;
use std::collections::BTreeMap;
use std::io::Write;

pub fn privileges_text(r: &PrivilegesReport, out: &mut dyn Write) -> Result<(), RenderError> {
    for e in &r.errors {
        writeln!(out, "E: {}: {}", one_line(&e.file), one_line(&e.error))?;
    }
    let (mut files, mut states, mut unresolved) = (0, 0, 0);
    for p in &r.packages {
        let head = format!("{} {} ({})", p.package, p.version, p.architecture);
        if p.files.is_empty() && p.unresolved.is_empty() && p.blind.is_empty() {
            writeln!(out, "{}: no privileged file", one_line(&head))?;
            continue;
        }
        writeln!(out, "{}", one_line(&head))?;
        for f in &p.files {
            files += 1;
            let kind = f.kind.as_deref().unwrap_or("created by a script");
            writeln!(out, "  {} ({kind})", one_line(&f.path))?;
            if let Some(e) = &f.caps_error {
                writeln!(
                    out,
                    "    malformed security.capability xattr: {}",
                    one_line(e)
                )?;
            }
            for s in &f.states {
                states += 1;
                let rerun = if s.rerun { ", after a re-run" } else { "" };
                writeln!(
                    out,
                    "    {} [{}{rerun}]",
                    one_line(&s.state),
                    one_line(&s.provenance)
                )?;
                for u in &s.unresolved {
                    writeln!(
                        out,
                        "      {} unknown: {}:{}: {}",
                        u.attribute,
                        u.script,
                        u.line,
                        one_line(&u.command)
                    )?;
                }
                for u in &s.unexplained {
                    writeln!(out, "      unknown: {}", one_line(u))?;
                }
            }
        }
        for u in &p.unresolved {
            unresolved += 1;
            writeln!(
                out,
                "  unresolved target, may grant to any file: {}:{}: {}",
                u.script,
                u.line,
                one_line(&u.command)
            )?;
        }
        for b in &p.blind {
            writeln!(out, "  not analyzed: {}", one_line(b))?;
        }
    }
    writeln!(
        out,
        "{files} privileged file(s), {states} state(s), {unresolved} unresolved change(s) in {} package(s)",
        r.packages.len()
    )?;
    Ok(())
}

/// One row per privileged state, per unresolved change and per unanalysed script part.
pub fn privileges_csv(r: &PrivilegesReport, out: &mut dyn Write) -> Result<(), RenderError> {
    let mut w = csv::Writer::from_writer(out);
    let head = [
        "package",
        "version",
        "architecture",
        "row",
        "path",
        "type",
        "state",
        "mode",
        "owner",
        "group",
        "capabilities",
        "provenance",
        "rerun",
        "unresolved",
    ];
    w.write_record(head).map_err(csv_error)?;
    for p in &r.packages {
        let base = [p.package.as_str(), &p.version, &p.architecture];
        for f in &p.files {
            for s in &f.states {
                let unresolved: Vec<String> = s
                    .unresolved
                    .iter()
                    .map(|u| format!("{}:{}: {}", u.script, u.line, u.command))
                    .chain(s.unexplained.iter().cloned())
                    .collect();
                let row = [
                    "state",
                    &f.path,
                    f.kind.as_deref().unwrap_or(""),
                    &s.state,
                    s.mode.as_deref().unwrap_or("?"),
                    s.owner.as_deref().unwrap_or("?"),
                    s.group.as_deref().unwrap_or("?"),
                    s.capabilities.as_deref().unwrap_or("?"),
                    &s.provenance,
                    if s.rerun { "true" } else { "false" },
                    &unresolved.join("; "),
                ];
                w.write_record(base.iter().copied().chain(row))
                    .map_err(csv_error)?;
            }
        }
        for u in &p.unresolved {
            let cmd = format!("{}:{}: {}", u.script, u.line, u.command);
            let row = [
                "unresolved-target",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                &cmd,
            ];
            w.write_record(base.iter().copied().chain(row))
                .map_err(csv_error)?;
        }
        for b in &p.blind {
            let row = [
                "not-analyzed",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                b.as_str(),
            ];
            w.write_record(base.iter().copied().chain(row))
                .map_err(csv_error)?;
        }
    }
    w.flush()?;
    Ok(())
}

fn csv_error(e: csv::Error) -> RenderError {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => RenderError::Io(e),
        other => RenderError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

/// A TOML basic string, quoted and escaped by the toml crate.
fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A ready allow-list: one entry per file and owner:group, approving the join of the file's
/// known privileged states (their mode bits OR-ed, their capabilities united), and one per
/// unresolved command; each with `reason = "TODO: review"` and `bug = ""`, which debgate
/// refuses to load until reviewed (or with `--allow-todo`).
pub fn privileges_toml(r: &PrivilegesReport, out: &mut dyn Write) -> Result<(), RenderError> {
    writeln!(
        out,
        "# Allow-list bootstrapped by `debgate privileges --format toml` from {} package(s).",
        r.packages.len()
    )?;
    writeln!(
        out,
        "# Review every entry: say what the grant is for in `reason`, and track it in `bug`."
    )?;
    writeln!(
        out,
        "# debgate refuses to load it while a reason says TODO, unless --allow-todo is given."
    )?;
    // Two versions of one package in the set (a diff's sides, a pool) often carry the same
    // grant: one entry approves both.
    let mut seen = std::collections::HashSet::new();
    for p in &r.packages {
        for f in &p.files {
            file_entries(p, f, &mut seen, out)?;
        }
        // One entry per distinct command: a command that leaves several states unknown, or
        // whose target is unknown, is approved once.
        let mut commands: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for u in p
            .files
            .iter()
            .flat_map(|f| f.states.iter().flat_map(|s| &s.unresolved))
            .chain(&p.unresolved)
        {
            let lines = commands
                .entry((u.script.clone(), u.command.clone()))
                .or_default();
            let at = format!("{}:{}", u.script, u.line);
            if !lines.contains(&at) {
                lines.push(at);
            }
        }
        for ((script, command), lines) in commands {
            if !seen.insert(format!("{}\0{script}\0{command}", p.package)) {
                continue;
            }
            writeln!(out)?;
            writeln!(
                out,
                "# {} {}: not resolved statically at {}",
                one_line(&p.package),
                one_line(&p.version),
                lines.join(", ")
            )?;
            writeln!(out, "[[allow]]")?;
            writeln!(out, "package = {}", q(&p.package))?;
            writeln!(
                out,
                "unresolved = {{ script = {}, command = {} }}",
                q(&script),
                q(&command)
            )?;
            writeln!(out, "reason = {}", q(TODO_REASON))?;
            writeln!(out, "bug = \"\"")?;
        }
    }
    Ok(())
}

fn file_entries(
    p: &PackagePrivileges,
    f: &PrivilegedFile,
    seen: &mut std::collections::HashSet<String>,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    // (owner, group) -> (mode bits, capability text parts), over the states whose known part
    // is privileged; an unknown owner or group joins the first group (an entry matches an
    // unknown attribute whatever it says; the command that left it unknown is approved apart).
    let mut groups: Vec<((String, String), u32, debgate_facts::caps::CapSet)> = Vec::new();
    let mut pending = Vec::new();
    for s in &f.states {
        let mode = s
            .mode
            .as_deref()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .unwrap_or(0);
        let caps = s
            .capabilities
            .as_deref()
            .and_then(|c| debgate_facts::caps::CapSet::from_text(c).ok())
            .unwrap_or_default();
        let bits = if f.kind.as_deref() == Some("dir") {
            0
        } else {
            mode & 0o6000
        };
        if bits == 0 && caps.is_empty() {
            continue;
        }
        match (&s.owner, &s.group) {
            (Some(o), Some(g)) => {
                let key = (o.clone(), g.clone());
                match groups.iter_mut().find(|(k, _, _)| *k == key) {
                    Some((_, m, c)) => {
                        *m |= mode;
                        c.union_with(&caps);
                    }
                    None => groups.push((key, mode, caps)),
                }
            }
            _ => pending.push((mode, caps)),
        }
    }
    if groups.is_empty() && !pending.is_empty() {
        groups.push((("root".into(), "root".into()), 0, Default::default()));
    }
    if let Some((_, m, c)) = groups.first_mut() {
        for (mode, caps) in pending {
            *m |= mode;
            c.union_with(&caps);
        }
    }
    for ((owner, group), mode, caps) in groups {
        let key = format!(
            "{}\0{}\0{owner}\0{group}\0{mode}\0{caps:?}",
            p.package, f.path
        );
        if !seen.insert(key) {
            continue;
        }
        writeln!(out)?;
        writeln!(
            out,
            "# {} {}: {}",
            one_line(&p.package),
            one_line(&p.version),
            one_line(&f.path)
        )?;
        for s in &f.states {
            writeln!(
                out,
                "#   {} [{}]",
                one_line(&s.state),
                one_line(&s.provenance)
            )?;
        }
        writeln!(out, "[[allow]]")?;
        writeln!(out, "package = {}", q(&p.package))?;
        writeln!(out, "path = {}", q(&f.path))?;
        writeln!(out, "owner = {}", q(&owner))?;
        writeln!(out, "group = {}", q(&group))?;
        writeln!(out, "mode = \"{mode:04o}\"")?;
        if !caps.is_empty() {
            writeln!(out, "capabilities = {}", q(&caps.to_text()))?;
        }
        writeln!(out, "reason = {}", q(TODO_REASON))?;
        writeln!(out, "bug = \"\"")?;
    }
    Ok(())
}
