//! Reading a waiver file: `[[waiver]]` tables checked key by key against the loaded rules, with
//! the policy crate's located diagnostics.

use super::{Date, Waiver, Waivers};
use debgate_policy::diagnostic::{get, Code, Diagnostic, Diagnostics, Doc, Location};
use debgate_policy::RuleSet;
use globset::GlobBuilder;
use std::path::Path;
use toml_span::Value;

const KEYS: [&str; 6] = ["rule", "package", "path", "reason", "bug", "expires"];

impl Waivers {
    /// Read and check a waiver file against the loaded rules (a waiver naming no loaded rule is
    /// an error: it is almost always a typo, and it would otherwise silently waive nothing).
    pub fn load(path: &Path, rules: &RuleSet) -> Result<Waivers, Diagnostics> {
        Waivers::load_known(path, rules, &[])
    }

    /// Like [`Waivers::load`], where `known` are ids of rules that exist but this run does not
    /// judge (left out by `--tag`): a waiver of one is unused, not an error.
    pub fn load_known(
        path: &Path,
        rules: &RuleSet,
        known: &[String],
    ) -> Result<Waivers, Diagnostics> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Waivers::parse_known(&name, &text, rules, known),
            Err(e) => Err(Diagnostics(vec![Diagnostic {
                location: Location::whole(name),
                code: Code::UnreadableWaivers,
                message: e.to_string(),
            }])),
        }
    }

    /// Parse waivers from text; `file` names it in messages.
    pub fn parse(file: &str, text: &str, rules: &RuleSet) -> Result<Waivers, Diagnostics> {
        Waivers::parse_known(file, text, rules, &[])
    }

    /// Like [`Waivers::parse`], with the ids of rules that exist but are not selected.
    pub fn parse_known(
        file: &str,
        text: &str,
        rules: &RuleSet,
        known: &[String],
    ) -> Result<Waivers, Diagnostics> {
        let mut doc = Doc::new(file, text);
        let waivers = waivers(&mut doc, rules, known);
        let diagnostics = doc.finish();
        if diagnostics.is_empty() {
            Ok(Waivers { waivers })
        } else {
            Err(Diagnostics(diagnostics))
        }
    }
}

fn waivers(doc: &mut Doc<'_>, rules: &RuleSet, known: &[String]) -> Vec<Waiver> {
    let Some(table) = doc.parse("a waiver file") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in &table {
        if key.name != "waiver" {
            doc.error(
                key.span,
                Code::UnknownKey,
                format!("unknown top-level key `{}`; expected `waiver`", key.name),
            );
            continue;
        }
        for item in doc.tables(value, "waiver").unwrap_or_default() {
            if let Some(w) = waiver(doc, item, rules, known) {
                out.push(w);
            }
        }
    }
    out
}

/// A glob that compiles (`literal_separator`: `*` stays within one path component).
fn glob(
    doc: &mut Doc<'_>,
    value: &Value<'_>,
    what: &str,
    literal_separator: bool,
) -> Option<String> {
    let s = doc.nonempty_string(value, what)?;
    match GlobBuilder::new(&s)
        .literal_separator(literal_separator)
        .build()
    {
        Ok(_) => Some(s),
        Err(e) => {
            doc.error(
                value.span,
                Code::BadGlob,
                format!("`{what}` pattern `{s}`: {}", e.kind()),
            );
            None
        }
    }
}

fn waiver(
    doc: &mut Doc<'_>,
    value: &Value<'_>,
    rules: &RuleSet,
    known: &[String],
) -> Option<Waiver> {
    let t = doc.table(value, "waiver")?;
    let location = doc.location(value.span);
    let mark = doc.mark();
    doc.unknown_keys(t, &KEYS, "in waiver", &KEYS);
    let at = value.span;
    let tracked = " (an exception needs a reason and a bug to track it)";
    let rule = doc.required(t, "rule", at, "waiver", "").and_then(|v| {
        let s = doc.nonempty_string(v, "rule")?;
        if rules.get(&s).is_none() && !known.contains(&s) {
            doc.error(
                v.span,
                Code::UnknownRule,
                format!("no loaded rule has id `{s}`; `debgate rules` lists them"),
            );
            return None;
        }
        Some(s)
    });
    let package = doc
        .required(t, "package", at, "waiver", "")
        .and_then(|v| glob(doc, v, "package", false));
    let path = get(t, "path").and_then(|v| glob(doc, v, "path", true));
    let reason = doc
        .required(t, "reason", at, "waiver", tracked)
        .and_then(|v| doc.nonempty_string(v, "reason"));
    let bug = doc
        .required(t, "bug", at, "waiver", tracked)
        .and_then(|v| doc.nonempty_string(v, "bug"));
    let expires = get(t, "expires").and_then(|v| {
        // toml-span reads no TOML date literals, so the date is a quoted string.
        let s = doc.nonempty_string(v, "expires")?;
        let d = Date::parse(&s);
        if d.is_none() {
            doc.error(
                v.span,
                Code::BadDate,
                format!("`expires` must be a date written \"YYYY-MM-DD\", found `{s}`"),
            );
        }
        d
    });
    if doc.failed_since(mark) {
        return None;
    }
    let package = package?;
    let matcher = |s: &str, sep: bool| {
        GlobBuilder::new(s)
            .literal_separator(sep)
            .build()
            .ok()
            .map(|g| g.compile_matcher())
    };
    let package_glob = matcher(&package, false)?;
    let path_glob = match &path {
        Some(p) => Some(matcher(p, true)?),
        None => None,
    };
    Some(Waiver {
        rule: rule?,
        package,
        package_glob,
        path,
        path_glob,
        reason: reason?,
        bug: bug?,
        expires,
        location,
    })
}
