//! `debgate check` as text: short, lintian-like lines, one per failure (and with `--verbose`
//! per result), then a summary line. Every text that a package, an upload or a waiver file
//! supplies goes through `one_line`, so none can forge a line or act on the terminal.

use crate::{paint, RenderError, RenderOptions};
use debgate_check::waivers::WaiverState;
use debgate_check::CheckReport;
use debgate_facts::text::one_line;
use debgate_policy::{Severity, Status};
use std::io::Write;

pub fn check_text(
    report: &CheckReport,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let (color, verbose) = (opts.color, opts.verbose);
    // Errors already name their file.
    for u in &report.uploads {
        if let Some(err) = &u.error {
            writeln!(out, "{}: {}", paint(color, "1;31", "E"), one_line(err))?;
        }
    }
    for p in &report.packages {
        if let Some(err) = &p.error {
            writeln!(
                out,
                "{}: {}: {}",
                paint(color, "1;31", "E"),
                one_line(&p.file),
                one_line(err)
            )?;
        }
    }
    for r in &report.results {
        let (tag, code) = match r.status {
            Status::Fail => (
                r.severity.letter().to_string(),
                // Red fails the run, yellow does not.
                if r.severity >= opts.fail_on {
                    "1;31"
                } else {
                    "1;33"
                },
            ),
            // `O:` as lintian marks an overridden tag: shown, not failing.
            Status::Waived => ("O".to_string(), "36"),
            Status::Pass if verbose => ("P".to_string(), "32"),
            Status::NotApplicable if verbose => ("N".to_string(), "2"),
            _ => continue,
        };
        // A result with no package belongs to a set: an upload's or the loose packages'. An
        // upload is named by its `.changes` path as given, so that in a run over several
        // queues the line says which upload it is about.
        let who = match (&r.package, &r.upload) {
            (Some(p), Some(u)) => format!("{u}: {p}"),
            (Some(p), None) => p.clone(),
            (None, Some(u)) => u.clone(),
            (None, None) => "(set)".to_string(),
        };
        let who = one_line(&who);
        let path = r
            .path
            .as_deref()
            .map(|p| format!(" {}", one_line(p)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}: {who}: {}{path}: {}",
            paint(color, code, &tag),
            paint(color, "1", &one_line(&r.rule)),
            one_line(&r.message)
        )?;
        if r.status == Status::Fail || verbose {
            for e in &r.evidence {
                writeln!(out, "   {}", paint(color, "2", &one_line(e)))?;
            }
        }
        if let Some(w) = &r.waiver {
            writeln!(
                out,
                "   {}",
                paint(
                    color,
                    "2",
                    &one_line(&format!(
                        "waiver {} ({}): {} [{}]",
                        w.state.as_str(),
                        w.declared_at,
                        w.reason,
                        w.bug
                    ))
                )
            )?;
        }
    }
    // One line per waiver that did not simply apply, as lintian reports unused overrides.
    for n in &report.waivers {
        let (tag, code, what) = match n.waiver.state {
            WaiverState::Applied => continue,
            WaiverState::Unused => ("I", "2", "unused-waiver"),
            WaiverState::Expired => ("W", "1;33", "expired-waiver"),
            WaiverState::Rejected => ("E", "1;31", "rejected-waiver"),
        };
        let path = n
            .path
            .as_deref()
            .map(|p| format!(" {}", one_line(p)))
            .unwrap_or_default();
        writeln!(
            out,
            "{}: {}: {} {} {}{path}: {}",
            paint(color, code, tag),
            one_line(&n.waiver.declared_at),
            paint(color, "1", what),
            one_line(&n.rule),
            one_line(&n.package),
            one_line(&n.message)
        )?;
    }
    let s = &report.summary;
    let threshold = if s.fail_on == Severity::Error {
        String::new()
    } else {
        format!(
            ", {} at or above {}",
            s.failed_threshold,
            s.fail_on.as_str()
        )
    };
    let waived = if s.waived > 0 || !report.waivers.is_empty() {
        format!(", {} waived", s.waived)
    } else {
        String::new()
    };
    // Signers are worth a line: they are what an archive admits an upload on.
    for u in &report.uploads {
        if let Some(signer) = &u.signer {
            writeln!(
                out,
                "{}: good signature by {}",
                one_line(&u.file),
                one_line(signer)
            )?;
        }
    }
    let uploads = if report.uploads.is_empty() {
        String::new()
    } else {
        format!(" in {} upload(s)", report.uploads.len())
    };
    writeln!(out, "{} package(s){uploads}, {} unreadable; results: {} failed ({} of severity error{threshold}), {} passed, {} not applicable{waived}",
        s.packages, s.errors, s.failed, s.failed_errors, s.passed, s.not_applicable
    )?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use debgate_policy::Finding;

    #[test]
    fn text_from_a_package_cannot_forge_a_line_or_reorder_one() {
        let finding = Finding {
            rule: "no-setuid".to_string(),
            severity: Severity::Error,
            status: Status::Fail,
            package: Some("evil\u{1b}[2J".to_string()),
            file: Some("evil.deb".to_string()),
            path: Some("/usr/bin/x\nP: evil: no-setuid /usr/bin/x: fine".to_string()),
            message: "is setuid \u{202e}ssap\u{202c}".to_string(),
            evidence: vec!["postinst:3: chmod\r4755 x".to_string()],
        };
        let report = CheckReport::new(Vec::new(), vec![finding]);
        let mut out = Vec::new();
        check_text(&report, &RenderOptions::default(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "E: evil\\u{1b}[2J: no-setuid /usr/bin/x\\nP: evil: no-setuid /usr/bin/x: fine: \
             is setuid \\u{202e}ssap\\u{202c}"
        );
        assert!(text.contains("   postinst:3: chmod\\r4755 x\n"), "{text}");
        assert!(!text.contains(['\u{1b}', '\r', '\u{202e}']), "{text:?}");
        // With colour on, the only escape sequences are ours.
        let mut out = Vec::new();
        let opts = RenderOptions {
            color: true,
            ..RenderOptions::default()
        };
        check_text(&report, &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("\u{1b}[2J"), "{text:?}");
    }
}
