//! The `sysctl` kind: the effective value of a key across every sysctl.d file of the selected
//! packages, in the order systemd applies them.

use super::{Kind, Scope, Spec};
use crate::diagnostic::{get, Code, Doc};
use crate::finding::{Analyzed, Finding, Status};
use crate::model::Rule;
use debgate_analyze::sysctl as conf;
use debgate_facts::Package;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "sysctl",
    keys: &["kind", "key", "allowed", "forbidden", "unset"],
    parse,
};

#[derive(Debug, Clone)]
pub struct Sysctl {
    pub key: String,
    /// When not empty, the value must be one of these.
    pub allowed: Vec<String>,
    /// The value must be none of these.
    pub forbidden: Vec<String>,
    /// Whether a key no file sets passes.
    pub unset_passes: bool,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let key = match get(t, "key") {
        Some(v) => doc.string(v, "key"),
        None => {
            doc.error(span, Code::MissingKey, "a `sysctl` assertion needs `key`");
            None
        }
    };
    let mut list = |name: &str| match get(t, name) {
        None => Some(Vec::new()),
        Some(v) => doc.string_list(v, name),
    };
    let allowed = list("allowed");
    let forbidden = list("forbidden");
    let unset_passes = match get(t, "unset") {
        None => Some(true),
        Some(v) => doc
            .one_of(v, "unset", &["pass", "fail"])
            .map(|s| s == "pass"),
    };
    if allowed.as_ref().is_some_and(|a| a.is_empty())
        && forbidden.as_ref().is_some_and(|f| f.is_empty())
    {
        doc.error(
            span,
            Code::MissingKey,
            "a `sysctl` assertion needs `allowed` or `forbidden`",
        );
    }
    Some(Box::new(Sysctl {
        key: key?,
        allowed: allowed?,
        forbidden: forbidden?,
        unset_passes: unset_passes?,
    }))
}

impl Kind for Sysctl {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::Set
    }

    /// Every sysctl.d file, wherever it is: any of them may set the key.
    fn wants_content(&self, _rule: &Rule, path: &str) -> bool {
        conf::is_sysctl_path(path)
    }

    fn judge_set(&self, rule: &Rule, set: &[Analyzed<'_>]) -> Vec<Finding> {
        vec![self.judge(rule, set)]
    }
}

impl Sysctl {
    fn judge(&self, rule: &Rule, set: &[Analyzed<'_>]) -> Finding {
        let (key, allowed, forbidden) = (&self.key, &self.allowed, &self.forbidden);
        if !set.iter().any(|a| rule.selects_package(a.package.name())) {
            let msg = "no package in the set to judge".to_string();
            return Finding::of(rule, Status::NotApplicable, None, None, msg, vec![]);
        }
        // Every sysctl file in the selected packages, ordered as the system applies them.
        let mut files: Vec<(&str, &Package)> = Vec::new();
        let mut truncated = Vec::new();
        for a in set
            .iter()
            .filter(|a| rule.selects_package(a.package.name()))
        {
            for (path, c) in &a.package.contents {
                if conf::is_sysctl_path(path) {
                    files.push((path.as_str(), a.package));
                    if c.truncated {
                        truncated.push(path.clone());
                    }
                }
            }
        }
        let paths: Vec<&str> = files.iter().map(|(p, _)| *p).collect();
        let mut settings = Vec::new();
        let mut owner_of = Vec::new();
        for idx in conf::application_order(&paths) {
            let (path, pkg) = files[idx];
            let text = pkg.contents[path].text();
            for s in conf::parse(path, &text) {
                settings.push(s);
                owner_of.push(pkg);
            }
        }
        let norm = conf::normalise_key(key);
        let evidence: Vec<String> = settings
            .iter()
            .filter(|s| conf::key_matches(&s.key, &norm))
            .map(|s| format!("{}:{}: {} = {}", s.file, s.line, s.key, s.value))
            .collect();
        let Some(win) = conf::effective(&settings, key) else {
            let mut msg =
                format!("no sysctl.d file in the set sets {key}; the kernel's default applies");
            if !truncated.is_empty() {
                msg.push_str(&format!(
                    " (not all of {} was read: over the content cap)",
                    truncated.join(", ")
                ));
            }
            let status = if self.unset_passes {
                Status::Pass
            } else {
                Status::Fail
            };
            return Finding::of(rule, status, None, None, msg, evidence);
        };
        let idx = settings
            .iter()
            .position(|s| std::ptr::eq(s, win))
            .unwrap_or(0);
        let pkg = owner_of.get(idx).copied();
        let bad = forbidden.iter().any(|f| f == &win.value)
            || (!allowed.is_empty() && !allowed.iter().any(|x| x == &win.value));
        let msg = format!("{key} = {} is set by {}:{}", win.value, win.file, win.line);
        if bad {
            let expected = if allowed.is_empty() {
                format!("it must not be {}", forbidden.join(" or "))
            } else {
                format!("expected {}", allowed.join(" or "))
            };
            Finding::of(
                rule,
                Status::Fail,
                pkg,
                Some(&win.file),
                format!("{msg}; {expected}"),
                evidence,
            )
        } else {
            Finding::of(rule, Status::Pass, pkg, Some(&win.file), msg, evidence)
        }
    }
}
