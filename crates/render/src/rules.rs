//! `debgate rules`, `explain`, `policies` and `limits`: the loaded rules, one rule's
//! explanation, the bundled policies, and the reader limits with their defaults.

use crate::{RenderError, RenderOptions};
use debgate_check::selection::BundledPolicy;
use debgate_policy::{Rule, RuleSet};
use serde::Serialize;
use std::io::Write;

/// One rule in `rules --format json`. Field names are part of the JSON contract: add, never
/// rename.
#[derive(Serialize)]
struct RuleJson<'a> {
    id: &'a str,
    severity: &'a str,
    kind: &'static str,
    title: &'a str,
    tags: &'a [String],
    /// The policy that declares it (`[policy] name`); absent for debgate's own checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a str>,
    declared_at: String,
    waivable: bool,
    references: &'a [String],
}

/// Every loaded rule with its tags, as a JSON array.
pub fn rules_json(rules: &RuleSet, out: &mut dyn Write) -> Result<(), RenderError> {
    let list: Vec<RuleJson<'_>> = rules
        .rules
        .iter()
        .map(|r| RuleJson {
            id: &r.id,
            severity: r.severity.as_str(),
            kind: r.assertion.kind(),
            title: &r.title,
            tags: &r.tags,
            policy: rules
                .policies
                .iter()
                .find(|p| p.rules.contains(&r.id))
                .map(|p| p.name.as_str()),
            declared_at: r.location.to_string(),
            waivable: r.waivable,
            references: &r.references,
        })
        .collect();
    crate::json(&list, out)
}

/// `debgate policies`: one line per bundled policy.
pub fn policies_text(list: &[BundledPolicy], out: &mut dyn Write) -> Result<(), RenderError> {
    let width = list.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in list {
        let what = match (p.rules, p.pairings) {
            (r, 0) => format!("{r} rules"),
            (0, n) => format!("{n} pairings"),
            (r, n) => format!("{r} rules, {n} pairings"),
        };
        let default = if p.default { "default" } else { "" };
        writeln!(
            out,
            "{:width$}  {:7}  {:18}  {}",
            p.name, default, what, p.title
        )?;
    }
    out.flush()?;
    Ok(())
}

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
