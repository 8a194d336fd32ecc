//! The `kconfig` kind: kernel config options of the matched config files must have one of the
//! expected value forms (see [`crate::value`]), with kconfig's semantics (the last assignment
//! wins; `# X is not set` and absence both mean `n`).

use super::{FileCx, KernelCx, Kind, Scope, Spec, Truth, Verdict};
use crate::diagnostic::{get, Code, Doc};
use crate::value::{is_option, Forms, Match, Seen};
use debgate_analyze::kconfig::Kconfig as Config;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "kconfig",
    keys: &["kind", "expect"],
    parse,
};

/// `expect = { OPTION = "y" | ["y", "m"] | "is not set" | { same-as = "OTHER" } ... }`.
#[derive(Debug, Clone)]
pub struct Kconfig {
    /// Each option with the forms it may have.
    pub expect: Vec<(String, Forms)>,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let Some(v) = get(t, "expect") else {
        doc.error(
            span,
            Code::MissingKey,
            "a `kconfig` assertion needs `expect = { OPTION = \"y\" }`",
        );
        return None;
    };
    let table = doc.table(v, "expect")?;
    let mark = doc.mark();
    if table.is_empty() {
        doc.error(v.span, Code::BadValue, "`expect` names no option");
    }
    let mut expect = Vec::new();
    for (key, val) in table {
        let opt = key.name.to_string();
        if !is_option(&opt) {
            doc.error(
                key.span,
                Code::BadValue,
                format!("`{opt}` is not a kernel config option name (CONFIG_...)"),
            );
            continue;
        }
        if let Some(forms) = Forms::parse(doc, val, &opt) {
            expect.push((opt, forms));
        }
    }
    if doc.failed_since(mark) {
        return None;
    }
    Some(Box::new(Kconfig { expect }))
}

/// One option's outcome: `Ok(true|false)` with a description of the value, or the option
/// `same-as` names that the config lacks.
fn judge(config: &Config, opt: &str, forms: &Forms) -> (Match, String) {
    let a = config.assignment(opt);
    let seen = a.map(|a| Seen {
        text: &a.value,
        not_set: a.not_set,
    });
    let lookup = |o: &str| {
        config
            .assignment(o)
            .filter(|a| !a.not_set)
            .map(|a| a.value.as_str())
    };
    let shown = match a {
        None => "absent (not set)".to_string(),
        Some(a) if a.not_set => "not set".to_string(),
        Some(a) => a.value.clone(),
    };
    (forms.matches(seen, &lookup), shown)
}

impl Kconfig {
    fn outcome(&self, config: &Config) -> Truth {
        let mut fails = Vec::new();
        let mut holds = Vec::new();
        for (opt, forms) in &self.expect {
            match judge(config, opt, forms) {
                (Match::Yes, v) => holds.push(format!("{opt} is {v}")),
                (Match::No, v) => {
                    fails.push(format!("{opt} is {v}, expected {}", forms.describe()))
                }
                (Match::NoReference(other), _) => {
                    return Truth::NotApplicable(format!(
                        "{opt} is to equal {other}, which the config does not set"
                    ))
                }
            }
        }
        if fails.is_empty() {
            Truth::Holds(holds.join(", "))
        } else {
            Truth::Fails(fails.join("; "))
        }
    }
}

impl Kind for Kconfig {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::ShippedFiles
    }

    fn is_operand(&self) -> bool {
        true
    }

    fn kconfig_options(&self) -> Vec<&str> {
        self.expect.iter().map(|(o, _)| o.as_str()).collect()
    }

    fn test(&self, cx: &KernelCx<'_>) -> Truth {
        match &cx.kernel.config {
            Err(e) => Truth::Unknown(e.clone()),
            Ok(config) => self.outcome(config),
        }
    }

    fn judge_file(&self, cx: &FileCx<'_, '_>) -> Verdict {
        let path = cx.path;
        let kernel = cx.eval.kernel(cx.analyzed.package, path);
        let config = match &kernel.config {
            Ok(c) => c,
            Err(e) => return Verdict::fail(e.clone()),
        };
        let mut violations = Vec::new();
        let mut evidence = Vec::new();
        for (opt, forms) in &self.expect {
            evidence.push(match config.assignment(opt) {
                Some(a) if a.not_set => format!("{path}:{}: # {opt} is not set", a.line),
                Some(a) => format!("{path}:{}: {opt}={}", a.line, a.value),
                None => format!("{path}: {opt} is absent (not set)"),
            });
            match judge(config, opt, forms) {
                (Match::Yes, _) => {}
                (Match::No, _) => {
                    let value = config.value(opt);
                    violations.push(format!(
                        "{opt} is {}, expected {}",
                        if value == "n" { "not set" } else { value },
                        forms.describe()
                    ));
                }
                (Match::NoReference(other), _) => {
                    return Verdict {
                        not_applicable: Some(format!(
                            "{opt} is to equal {other}, which {path} does not set"
                        )),
                        evidence,
                        ..Verdict::default()
                    }
                }
            }
        }
        let names: Vec<String> = self
            .expect
            .iter()
            .map(|(o, _)| format!("{o}={}", config.value(o)))
            .collect();
        Verdict {
            violations,
            evidence,
            pass: names.join(", "),
            not_applicable: None,
        }
    }
}
