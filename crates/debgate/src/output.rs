//! Human-readable output: short, lintian-like lines, coloured only on a terminal.

use debgate_check::waivers::WaiverState;
use debgate_check::{CheckReport, InspectReport};
use debgate_policy::{Rule, RuleSet, Severity, Status};
use std::io::IsTerminal;

pub fn stdout_wants_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn paint(on: bool, code: &str, s: &str) -> String {
    if on {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn print_check(report: &CheckReport, verbose: bool, color: bool) {
    // Errors already name their file.
    for u in &report.uploads {
        if let Some(err) = &u.error {
            println!("{}: {err}", paint(color, "1;31", "E"));
        }
    }
    for p in &report.packages {
        if let Some(err) = &p.error {
            println!("{}: {}: {err}", paint(color, "1;31", "E"), p.file);
        }
    }
    for r in &report.results {
        let (tag, code) = match r.status {
            Status::Fail => (
                r.severity.letter().to_string(),
                if r.severity == debgate_policy::Severity::Error {
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
        // A result with no package belongs to a set: an upload's (named by its .changes) or
        // the loose packages'.
        let who = match (&r.package, &r.upload) {
            (Some(p), _) => p.clone(),
            (None, Some(u)) => std::path::Path::new(u)
                .file_name()
                .map_or_else(|| u.clone(), |n| n.to_string_lossy().into_owned()),
            (None, None) => "(set)".to_string(),
        };
        let path = r
            .path
            .as_deref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        println!(
            "{}: {who}: {}{path}: {}",
            paint(color, code, &tag),
            paint(color, "1", &r.rule),
            r.message
        );
        if r.status == Status::Fail || verbose {
            for e in &r.evidence {
                println!("   {}", paint(color, "2", e));
            }
        }
        if let Some(w) = &r.waiver {
            println!(
                "   {}",
                paint(
                    color,
                    "2",
                    &format!(
                        "waiver {} ({}): {} [{}]",
                        w.state.as_str(),
                        w.declared_at,
                        w.reason,
                        w.bug
                    )
                )
            );
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
            .map(|p| format!(" {p}"))
            .unwrap_or_default();
        println!(
            "{}: {}: {} {} {}{path}: {}",
            paint(color, code, tag),
            n.waiver.declared_at,
            paint(color, "1", what),
            n.rule,
            n.package,
            n.message
        );
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
            println!("{}: good signature by {signer}", u.file);
        }
    }
    let uploads = if report.uploads.is_empty() {
        String::new()
    } else {
        format!(" in {} upload(s)", report.uploads.len())
    };
    println!(
        "{} package(s){uploads}, {} unreadable; results: {} failed ({} of severity error{threshold}), {} passed, {} not applicable{waived}",
        s.packages, s.errors, s.failed, s.failed_errors, s.passed, s.not_applicable
    );
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

pub fn print_inspect(r: &InspectReport) {
    println!("{} {} ({})", r.package, r.version, r.architecture);
    if r.files.is_empty() {
        println!("files: no path is setuid, setgid, capable or changed by a maintainer script");
    } else {
        println!("files:");
        for f in &r.files {
            // One line per end state, with the lines that lead to it; a state only a re-run
            // of postinst reaches is marked, so the usual outcomes stand out.
            match f.states.as_slice() {
                [one] => println!("  {} {}  {}", f.path, one.text(), provenance(one)),
                states => {
                    println!("  {}: {} end states", f.path, states.len());
                    for s in states {
                        println!("    {}  {}", s.text(), provenance(s));
                    }
                }
            }
            if let Some(member) = &f.member {
                println!(
                    "    written as data.tar member {member} through the symlink {}",
                    f.through.join(", then ")
                );
            }
        }
    }
    if !r.changes.is_empty() {
        println!("maintainer-script changes:");
        for c in &r.changes {
            println!("  {}", c.description);
        }
    }
    for d in &r.diagnostics {
        println!("  note: {}:{}: {}", d.script, d.line, d.message);
    }
    if !r.sysctl.is_empty() {
        println!("sysctl:");
        for s in &r.sysctl {
            println!("  {}:{}: {} = {}", s.file, s.line, s.key, s.value);
        }
    }
    if !r.kconfig.is_empty() {
        let mut files: Vec<&str> = r.kconfig.iter().map(|k| k.file.as_str()).collect();
        files.dedup();
        for f in files {
            let n = r.kconfig.iter().filter(|k| k.file == f).count();
            println!("kconfig: {f}: {n} options (--format json lists them)");
        }
    }
}

pub fn print_rules(rules: &RuleSet) {
    let width = rules.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in &rules.rules {
        println!(
            "{:width$}  {:7}  {:10}  {}",
            r.id,
            r.severity.as_str(),
            r.assertion.kind(),
            r.title
        );
    }
}

pub fn print_explain(r: &Rule) {
    println!("{}: {}", r.id, r.title);
    println!(
        "severity: {}    kind: {}    declared at {}",
        r.severity.as_str(),
        r.assertion.kind(),
        r.location
    );
    if !r.waivable {
        println!("not waivable: a waiver of this rule is rejected and its failures stand");
    }
    if !r.packages.is_empty() {
        println!("packages: {}", r.packages.describe());
    }
    if !r.exclude_packages.is_empty() {
        println!("except: {}", r.exclude_packages.describe());
    }
    if let Some(p) = &r.paths {
        println!(
            "paths: {}{}",
            p.globs.describe(),
            if p.usrmerge {
                " (and their usrmerge twins)"
            } else {
                ""
            }
        );
    }
    println!();
    println!("{}", r.explanation.trim());
    println!();
    println!("references:");
    for reference in &r.references {
        println!("  {reference}");
    }
}

pub fn print_limits() {
    let defaults = debgate_reader::Limits::default();
    for (name, doc) in debgate_reader::Limits::NAMES {
        let value = defaults.get(name).unwrap_or_default();
        println!("{name} = {value}\n    {doc}");
    }
}
