//! Human-readable output: short, lintian-like lines, coloured only on a terminal.

use debgate_check::{CheckReport, InspectReport};
use debgate_policy::{Rule, RuleSet, Status};
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
            Status::Pass if verbose => ("P".to_string(), "32"),
            Status::NotApplicable if verbose => ("N".to_string(), "2"),
            _ => continue,
        };
        let who = r.package.as_deref().unwrap_or("(set)");
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
    }
    let s = &report.summary;
    println!(
        "{} package(s), {} unreadable; results: {} failed ({} of severity error), {} passed, {} not applicable",
        s.packages, s.errors, s.failed, s.failed_errors, s.passed, s.not_applicable
    );
}

pub fn print_inspect(r: &InspectReport) {
    println!("{} {} ({})", r.package, r.version, r.architecture);
    if r.files.is_empty() {
        println!("files: no path is setuid, setgid, capable or changed by a maintainer script");
    } else {
        println!("files:");
        for f in &r.files {
            let caps = if f.capabilities.is_empty() {
                String::new()
            } else {
                format!(" {}", f.capabilities)
            };
            let cond = if f.conditional { " (conditional)" } else { "" };
            println!(
                "  {} {} {}:{}{caps}{cond}  [{}]",
                f.path,
                f.mode,
                f.owner,
                f.group,
                f.sources.join(", ")
            );
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
