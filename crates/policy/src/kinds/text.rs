//! The `text` kind: lines of the matched files that must and must not match, and whether each
//! file is a conffile.

use super::{content, FileCx, Kind, Scope, Spec, Verdict};
use crate::diagnostic::{get, Doc};
use regex::Regex;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "text",
    keys: &["kind", "must-match", "must-not-match", "conffile"],
    parse,
};

#[derive(Debug, Clone)]
pub struct Text {
    /// Each must match some line.
    pub must_match: Vec<Regex>,
    /// None may match any line.
    pub must_not_match: Vec<Regex>,
    /// Whether the file must (or must not) be listed in conffiles.
    pub conffile: Option<bool>,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, _: Span) -> Option<Box<dyn Kind>> {
    let mut regexes = |name: &str| match get(t, name) {
        None => Some(Vec::new()),
        Some(v) => doc.regexes(v, name),
    };
    let must_match = regexes("must-match");
    let must_not_match = regexes("must-not-match");
    let conffile = match get(t, "conffile") {
        None => Some(None),
        Some(v) => doc.boolean(v, "conffile").map(Some),
    };
    Some(Box::new(Text {
        must_match: must_match?,
        must_not_match: must_not_match?,
        conffile: conffile?,
    }))
}

impl Kind for Text {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::ShippedFiles
    }

    fn judge_file(&self, cx: &FileCx<'_>) -> Verdict {
        let (pkg, path) = (cx.analyzed.package, cx.path);
        let mut violations = Vec::new();
        let mut evidence = Vec::new();
        if let Some(want) = self.conffile {
            if pkg.is_conffile(path) != want {
                violations.push(if want {
                    format!("{path} is not listed in conffiles")
                } else {
                    format!("{path} is a conffile")
                });
            }
        }
        if !self.must_match.is_empty() || !self.must_not_match.is_empty() {
            let c = match content(pkg, path) {
                Ok(c) => c,
                Err(e) => return Verdict::fail(e),
            };
            let text = c.text();
            for re in &self.must_match {
                match text.lines().enumerate().find(|(_, l)| re.is_match(l)) {
                    Some((i, l)) => evidence.push(format!("{path}:{}: {l}", i + 1)),
                    None => violations.push(format!("no line of {path} matches `{}`", re.as_str())),
                }
            }
            for re in &self.must_not_match {
                for (i, l) in text.lines().enumerate().filter(|(_, l)| re.is_match(l)) {
                    violations.push(format!(
                        "{path}:{} matches forbidden `{}`: {l}",
                        i + 1,
                        re.as_str()
                    ));
                }
            }
        }
        let pass = match self.conffile {
            Some(true) => format!("{path} is a conffile with the expected content"),
            _ => format!("{path} has the expected content"),
        };
        Verdict {
            violations,
            evidence,
            pass,
        }
    }
}
