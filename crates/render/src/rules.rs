//! `debgate rules`, `explain` and `limits`: the loaded rules, one rule's explanation, and the
//! reader limits with their defaults.

use crate::{RenderError, RenderOptions};
use debgate_policy::{Rule, RuleSet};
use std::io::Write;

pub fn rules_text(
    rules: &RuleSet,
    _opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let width = rules.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    for r in &rules.rules {
        writeln!(
            out,
            "{:width$}  {:7}  {:10}  {}",
            r.id,
            r.severity.as_str(),
            r.assertion.kind(),
            r.title
        )?;
    }
    out.flush()?;
    Ok(())
}

pub fn explain_text(
    r: &Rule,
    _opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    writeln!(out, "{}: {}", r.id, r.title)?;
    writeln!(
        out,
        "severity: {}    kind: {}    declared at {}",
        r.severity.as_str(),
        r.assertion.kind(),
        r.location
    )?;
    if !r.waivable {
        writeln!(
            out,
            "not waivable: a waiver of this rule is rejected and its failures stand"
        )?;
    }
    if !r.packages.is_empty() {
        writeln!(out, "packages: {}", r.packages.describe())?;
    }
    if !r.exclude_packages.is_empty() {
        writeln!(out, "except: {}", r.exclude_packages.describe())?;
    }
    if let Some(p) = &r.paths {
        writeln!(
            out,
            "paths: {}{}",
            p.globs.describe(),
            if p.usrmerge {
                " (and their usrmerge twins)"
            } else {
                ""
            }
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", r.explanation.trim())?;
    writeln!(out)?;
    writeln!(out, "references:")?;
    for reference in &r.references {
        writeln!(out, "  {reference}")?;
    }
    out.flush()?;
    Ok(())
}

pub fn limits_text(_opts: &RenderOptions, out: &mut dyn Write) -> Result<(), RenderError> {
    let defaults = debgate_reader::Limits::default();
    for (name, doc) in debgate_reader::Limits::NAMES {
        let value = defaults.get(name).unwrap_or_default();
        writeln!(out, "{name} = {value}\n    {doc}")?;
    }
    out.flush()?;
    Ok(())
}
