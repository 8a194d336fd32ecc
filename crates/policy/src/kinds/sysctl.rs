//! The `sysctl` kind: the effective value of a key, from every sysctl.d file of the set in the
//! order systemd applies them.
//!
//! A rule without `paths` judges the set once, on what its sysctl.d files set (a key no file
//! sets passes unless `unset = "fail"`). A rule whose `paths` select kernel configs judges
//! each kernel: a key no file sets takes that kernel's default as the policies declare it
//! (`[[kernel.sysctl-default]]`), and a value that is still not known fails unless
//! `unset = "pass"`.

use super::{EvalCx, KernelCx, Kind, Scope, Spec, Truth};
use crate::diagnostic::{get, Code, Doc};
use crate::finding::{Finding, Status};
use crate::kernel::Source;
use crate::model::Rule;
use crate::value::{Forms, Match, Seen};
use debgate_analyze::sysctl as conf;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "sysctl",
    keys: &["kind", "key", "allowed", "forbidden", "unset", "same-as"],
    parse,
};

#[derive(Debug, Clone)]
pub struct Sysctl {
    pub key: String,
    /// When given, the value must have one of these forms (`same-as` is one too).
    pub allowed: Option<Forms>,
    /// The value must be none of these.
    pub forbidden: Vec<String>,
    /// What a key with no known value gives; `None`: the scope's default (the set: pass; a
    /// kernel: fail, since nothing is known).
    pub unset_passes: Option<bool>,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let key = match get(t, "key") {
        Some(v) => doc.nonempty_string(v, "key"),
        None => {
            doc.error(span, Code::MissingKey, "a `sysctl` assertion needs `key`");
            None
        }
    };
    let allowed = match get(t, "allowed") {
        None => Some(None),
        Some(v) => Forms::parse(doc, v, "allowed").map(Some),
    };
    let same_as = Forms::same_as_key(doc, t);
    let forbidden = match get(t, "forbidden") {
        None => Some(Vec::new()),
        Some(v) => doc.string_list(v, "forbidden"),
    };
    let unset_passes = match get(t, "unset") {
        None => Some(None),
        Some(v) => doc
            .one_of(v, "unset", &["pass", "fail"])
            .map(|s| Some(s == "pass")),
    };
    let (allowed, same_as, forbidden) = (allowed?, same_as?, forbidden?);
    let allowed = match (allowed, same_as) {
        (Some(_), Some(_)) => {
            doc.error(
                span,
                Code::ConflictingKeys,
                "use only one of `allowed` and `same-as`",
            );
            return None;
        }
        (a, b) => a.or(b),
    };
    if allowed.is_none() && forbidden.is_empty() {
        doc.error(
            span,
            Code::MissingKey,
            "a `sysctl` assertion needs `allowed`, `same-as` or `forbidden`",
        );
    }
    Some(Box::new(Sysctl {
        key: key?,
        allowed,
        forbidden,
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

    fn is_operand(&self) -> bool {
        true
    }

    /// Every sysctl.d file, wherever it is: any of them may set the key; and, judged per
    /// kernel, the kernel configs the rule selects (their defaults and `same-as` options).
    fn wants_content(&self, rule: &Rule, path: &str) -> bool {
        conf::is_sysctl_path(path) || (rule.paths.is_some() && rule.selects_path(path))
    }

    fn content_wanted(&self, rule: &Rule) -> Option<String> {
        let own = rule.paths.as_ref().map(|_| rule.path_selection());
        Some(format!("sysctl.d files and {own:?}"))
    }

    fn judge_set(&self, rule: &Rule, eval: &EvalCx<'_>) -> Vec<Finding> {
        vec![self.judge(rule, eval)]
    }

    fn test(&self, cx: &KernelCx<'_>) -> Truth {
        let value = cx.sysctl.effective(&self.key, Some((&cx.kernel, cx.data)));
        match value {
            Ok((v, source)) => {
                let said = format!("{} = {v} ({})", self.key, source.describe());
                match self.problem(&v, cx) {
                    Ok(None) => Truth::Holds(said),
                    Ok(Some(why)) => Truth::Fails(format!("{said}; {why}")),
                    Err(na) => Truth::NotApplicable(na),
                }
            }
            // `is not set` is the one form a key nothing sets has.
            Err(why)
                if self
                    .allowed
                    .as_ref()
                    .is_some_and(|a| a.0.contains(&crate::value::Form::NotSet)) =>
            {
                Truth::Holds(why)
            }
            Err(why) => match self.unset_passes {
                Some(true) => Truth::Holds(why),
                Some(false) => Truth::Fails(why),
                None => Truth::Unknown(format!("{} is not known: {why}", self.key)),
            },
        }
    }
}

impl Sysctl {
    /// What is wrong with `value`, if anything; `Err` when a `same-as` option is absent on the
    /// kernel (nothing to compare with).
    fn problem(&self, value: &str, cx: &KernelCx<'_>) -> Result<Option<String>, String> {
        if self.forbidden.iter().any(|f| f == value) {
            return Ok(Some(format!(
                "it must not be {}",
                self.forbidden.join(" or ")
            )));
        }
        let Some(allowed) = &self.allowed else {
            return Ok(None);
        };
        let config = cx.kernel.config.as_ref().ok();
        let lookup = |o: &str| {
            config
                .and_then(|c| c.assignment(o))
                .filter(|a| !a.not_set)
                .map(|a| a.value.as_str())
        };
        let seen = Some(Seen {
            text: value,
            not_set: false,
        });
        match allowed.matches(seen, &lookup) {
            Match::Yes => Ok(None),
            Match::No => Ok(Some(format!("expected {}", allowed.describe()))),
            Match::NoReference(o) => Err(format!(
                "{} is to equal {o}, which {} does not set",
                self.key, cx.kernel.path
            )),
        }
    }

    /// The set-level rule: what the set's sysctl.d files set, once. The kernel default is not
    /// judged here (a kconfig rule judges the kernel), but the message says what it is.
    fn judge(&self, rule: &Rule, eval: &EvalCx<'_>) -> Finding {
        let key = &self.key;
        if !eval
            .set
            .members()
            .iter()
            .any(|m| rule.selects_package(&m.name))
        {
            let msg = "no package in the set to judge".to_string();
            return Finding::of(rule, Status::NotApplicable, None, None, msg, vec![]);
        }
        let settings = crate::kernel::SetSysctl::of(eval.set, &|name| rule.selects_package(name));
        let evidence = settings.evidence(key);
        let Ok((value, Source::File(win, pkg))) = settings.effective(key, None) else {
            let mut msg = format!("no sysctl.d file in the set sets {key}");
            if !settings.truncated.is_empty() {
                msg.push_str(&format!(
                    " (not all of {} was read: over the content cap)",
                    settings.truncated.join(", ")
                ));
            }
            msg.push_str(&self.kernel_defaults(eval));
            let status = if self.unset_passes.unwrap_or(true) {
                Status::Pass
            } else {
                Status::Fail
            };
            return Finding::of(rule, status, None, None, msg, evidence);
        };
        let bad = self.forbidden.iter().any(|f| f == &value)
            || self.allowed.as_ref().is_some_and(|a| {
                let seen = Some(Seen {
                    text: &value,
                    not_set: false,
                });
                a.matches(seen, &|_| None) != Match::Yes
            });
        let msg = format!(
            "{key} = {value} is the effective value, set by {}:{}",
            win.file, win.line
        );
        if bad {
            let expected = match &self.allowed {
                None => format!("it must not be {}", self.forbidden.join(" or ")),
                Some(a) => format!("expected {}", a.describe()),
            };
            Finding::about(
                rule,
                Status::Fail,
                Some(pkg),
                Some(&win.file),
                format!("{msg}; {expected}"),
                evidence,
            )
        } else {
            Finding::about(
                rule,
                Status::Pass,
                Some(pkg),
                Some(&win.file),
                msg,
                evidence,
            )
        }
    }

    /// "; the kernel's default applies: ..." for each kernel of the set, or why it is unknown.
    fn kernel_defaults(&self, eval: &EvalCx<'_>) -> String {
        let kernels = eval.kernels();
        if kernels.is_empty() {
            return "; the kernel's default applies, and it is not known: the set has no kernel config".into();
        }
        let each: Vec<String> = kernels
            .iter()
            .map(|k| match k.sysctl_default(eval.data, &self.key) {
                Some((v, from)) => format!("{v} on {} ({from})", k.path),
                None => format!("not known on {} (no policy declares it)", k.path),
            })
            .collect();
        format!("; the kernel's default applies: {}", each.join(", "))
    }
}
