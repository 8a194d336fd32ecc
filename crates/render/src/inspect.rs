//! `debgate inspect` as text: each file's end states with the script lines that lead there,
//! the maintainer-script changes, sysctl settings and kernel configs.

use crate::{RenderError, RenderOptions};
use debgate_check::InspectReport;
use debgate_facts::text::one_line;
use std::io::{self, Write};

/// One line of output. Every line holds text from the package (paths, script lines, sysctl
/// values), and none is coloured, so each goes through `one_line` whole.
fn line(out: &mut dyn Write, text: &str) -> io::Result<()> {
    writeln!(out, "{}", one_line(text))
}

/// `[data.tar]`, `[via postinst:9 failed → postinst:19, after a re-run]`, and what could not be
/// resolved.
fn provenance(s: &debgate_analyze::effective::EndState) -> String {
    let not_shipped = s
        .unknown
        .iter()
        .any(|u| u.ends_with("is not shipped by this package"));
    let mut out = if s.via.is_empty() && not_shipped {
        "[not shipped: no script changed it".to_string()
    } else if s.via.is_empty() {
        "[as shipped".to_string()
    } else {
        format!("[via {}", s.via.join(" → "))
    };
    if s.rerun {
        out.push_str(", after a re-run");
    }
    out.push(']');
    for u in s
        .unknown
        .iter()
        .filter(|_| !(s.via.is_empty() && not_shipped))
    {
        out.push_str(&format!(" ({u})"));
    }
    out
}

pub fn inspect_text(
    r: &InspectReport,
    _opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    line(
        out,
        &format!("{} {} ({})", r.package, r.version, r.architecture),
    )?;
    if r.files.is_empty() {
        writeln!(
            out,
            "files: no path is setuid, setgid, capable, a device node or FIFO, or changed by a maintainer script"
        )?;
    } else {
        line(out, "files:")?;
        for f in &r.files {
            // One line per end state, with the lines that lead to it; a state only a re-run
            // of postinst reaches is marked, so the usual outcomes stand out.
            match f.states.as_slice() {
                [one] => line(
                    out,
                    &format!("  {} {}  {}", f.path, one.text(), provenance(one)),
                )?,
                states => {
                    line(out, &format!("  {}: {} end states", f.path, states.len()))?;
                    for s in states {
                        line(out, &format!("    {}  {}", s.text(), provenance(s)))?;
                    }
                }
            }
            if let Some(d) = &f.device {
                writeln!(out, "    {} major {}, minor {}", f.kind, d.major, d.minor)?;
            }
            if let Some(member) = &f.member {
                writeln!(
                    out,
                    "    written as data.tar member {member} through the symlink {}",
                    f.through.join(", then ")
                )?;
            }
        }
    }
    if !r.changes.is_empty() {
        line(out, "maintainer-script changes:")?;
        for c in &r.changes {
            line(out, &format!("  {}", c.description))?;
        }
    }
    for d in &r.diagnostics {
        line(
            out,
            &format!("  note: {}:{}: {}", d.script, d.line, d.message),
        )?;
    }
    if !r.sysctl.is_empty() {
        line(out, "sysctl:")?;
        for s in &r.sysctl {
            line(
                out,
                &format!("  {}:{}: {} = {}", s.file, s.line, s.key, s.value),
            )?;
        }
    }
    if !r.kconfig.is_empty() {
        let mut files: Vec<&str> = r.kconfig.iter().map(|k| k.file.as_str()).collect();
        files.dedup();
        for f in files {
            let n = r.kconfig.iter().filter(|k| k.file == f).count();
            line(
                out,
                &format!("kconfig: {f}: {n} options (--format json lists them)"),
            )?;
        }
    }
    out.flush()?;
    Ok(())
}
