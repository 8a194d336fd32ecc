//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning and other static-analysis dashboards
//! read it. `tool.driver.rules` comes from the loaded policies; each failed or waived result
//! points at the package file (a URI relative to the current directory when the file is under
//! it, so that the output does not depend on where the checkout lives), with the in-package
//! path and script line in the message and in `logicalLocations`. Waived results carry an
//! external suppression whose justification is the waiver's reason and bug. Passing and
//! not-applicable results are left out: code scanning shows every result it is given.

use crate::{result_name, RenderError, RenderOptions};
use debgate_check::CheckReport;
use debgate_policy::{RuleSet, Severity, Status};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A URI reference for a package file: relative to `cwd` when the file is under it (or already
/// relative), else a `file://` URI. Characters outside RFC 3986's unreserved set and `/` are
/// percent-encoded (a Debian file name may hold `+` and `~`; `~` is unreserved, `+` is not
/// safe everywhere).
fn artifact_uri(file: &str, cwd: Option<&Path>) -> String {
    let p = Path::new(file);
    let (rel, absolute) = match cwd.and_then(|c| p.strip_prefix(c).ok()) {
        Some(r) => (r.to_string_lossy().into_owned(), false),
        None => (file.to_string(), p.is_absolute()),
    };
    let rel = rel.strip_prefix("./").unwrap_or(&rel).to_string();
    let mut out = String::new();
    for b in rel.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if absolute {
        format!("file://{out}")
    } else {
        out
    }
}

/// Write the report as a SARIF 2.1.0 log. `cwd` makes artifact URIs relative. Only failed and
/// waived results are written whatever the options say (see above).
pub fn sarif(
    report: &CheckReport,
    rules: &RuleSet,
    cwd: Option<&Path>,
    _opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let driver_rules: Vec<Value> = rules
        .rules
        .iter()
        .map(|r| {
            let mut help = format!("{}\n\nReferences:\n", r.explanation.trim());
            for reference in &r.references {
                help.push_str(&format!("- {reference}\n"));
            }
            let mut rule = json!({
                "id": r.id,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.explanation.trim()},
                "help": {"text": help.trim_end()},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {"waivable": r.waivable, "kind": r.assertion.kind()},
            });
            // helpUri must be an absolute URI; a reference such as a Debian policy section
            // name stays in `help` only.
            if let Some(uri) = r
                .references
                .iter()
                .find(|s| s.starts_with("https://") || s.starts_with("http://"))
            {
                rule["helpUri"] = json!(uri);
            }
            rule
        })
        .collect();
    let index = |id: &str| rules.rules.iter().position(|r| r.id == id);
    let mut results = Vec::new();
    for r in &report.results {
        if !matches!(r.status, Status::Fail | Status::Waived) {
            continue;
        }
        let mut text = match (&r.package, &r.path) {
            (Some(pkg), Some(path)) => format!("{pkg}: {path}: {}", r.message),
            (Some(pkg), None) => format!("{pkg}: {}", r.message),
            (None, _) => r.message.clone(),
        };
        for e in &r.evidence {
            text.push_str(&format!("\n{e}"));
        }
        let mut result = json!({
            "ruleId": r.rule,
            "level": level(r.severity),
            "kind": "fail",
            "message": {"text": text},
        });
        if let Some(i) = index(&r.rule) {
            result["ruleIndex"] = json!(i);
        }
        // The logical location is the package and the path inside it; evidence naming a
        // maintainer script line (`postinst:12: …`) adds the script as a logical location too.
        let mut logical = Vec::new();
        if let Some(pkg) = &r.package {
            logical.push(json!({"name": pkg, "fullyQualifiedName": pkg, "kind": "module"}));
        }
        if let Some(path) = &r.path {
            let fq = match &r.package {
                Some(pkg) => format!("{pkg}:{path}"),
                None => path.clone(),
            };
            logical.push(json!({"name": path, "fullyQualifiedName": fq, "kind": "resource"}));
        }
        for e in &r.evidence {
            let head = e.split(": ").next().unwrap_or("");
            if let Some((script, line)) = head.split_once(':') {
                if line.parse::<u32>().is_ok() && !script.contains('/') && !script.contains(' ') {
                    let fq = match &r.package {
                        Some(pkg) => format!("{pkg}:DEBIAN/{head}"),
                        None => format!("DEBIAN/{head}"),
                    };
                    logical
                        .push(json!({"name": head, "fullyQualifiedName": fq, "kind": "resource"}));
                }
            }
        }
        let mut location = json!({
            "message": {"text": result_name(r)},
        });
        if !logical.is_empty() {
            location["logicalLocations"] = json!(logical);
        }
        if let Some(file) = &r.file {
            location["physicalLocation"] =
                json!({"artifactLocation": {"uri": artifact_uri(file, cwd)}});
        }
        result["locations"] = json!([location]);
        if let (Status::Waived, Some(w)) = (r.status, &r.waiver) {
            result["suppressions"] = json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!("{} ({})", w.reason, w.bug),
                "location": {"physicalLocation": {"artifactLocation": {"uri": artifact_uri(&w.file, cwd)}}},
            }]);
        }
        results.push(result);
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "debgate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": driver_rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::artifact_uri;
    use std::path::Path;

    #[test]
    fn uris_are_relative_under_cwd_and_encoded() {
        let cwd = Path::new("/src/x");
        assert_eq!(
            artifact_uri("/src/x/a/b+c_1.deb", Some(cwd)),
            "a/b%2Bc_1.deb"
        );
        assert_eq!(artifact_uri("./a.deb", Some(cwd)), "a.deb");
        assert_eq!(
            artifact_uri("/elsewhere/a b.deb", Some(cwd)),
            "file:///elsewhere/a%20b.deb"
        );
    }
}
