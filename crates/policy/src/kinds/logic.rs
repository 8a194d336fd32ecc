//! The combinators `any-of`, `all-of` and `not` over operands judged on one kernel config:
//! kconfig, sysctl, version, arch, compiler and cmdline assertions, and other combinators.

use super::{KernelCx, Kind, Scope, Spec, Truth};
use crate::diagnostic::{get, Code, Doc};
use toml_span::value::{Table, ValueInner};
use toml_span::Span;

pub const ANY_OF: Spec = Spec {
    name: "any-of",
    keys: &["kind", "of"],
    parse: parse_any,
};

pub const ALL_OF: Spec = Spec {
    name: "all-of",
    keys: &["kind", "of"],
    parse: parse_all,
};

pub const NOT: Spec = Spec {
    name: "not",
    keys: &["kind", "of"],
    parse: parse_not,
};

#[derive(Debug)]
pub enum Logic {
    AnyOf(Vec<Box<dyn Kind>>),
    AllOf(Vec<Box<dyn Kind>>),
    Not(Box<dyn Kind>),
}

/// One operand: an assertion that can be judged on a kernel config.
fn operand(doc: &mut Doc<'_>, v: &toml_span::Value<'_>, within: &str) -> Option<Box<dyn Kind>> {
    let k = super::parse(doc, v, &format!("an operand of `{within}`"))?;
    if !k.is_operand() {
        doc.error(
            v.span,
            Code::BadValue,
            format!(
                "a `{}` assertion cannot be an operand of `{within}`: operands are judged on one kernel config (kconfig, sysctl, version, arch, compiler, cmdline, any-of, all-of, not)",
                k.name()
            ),
        );
        return None;
    }
    Some(k)
}

fn operands(
    doc: &mut Doc<'_>,
    t: &Table<'_>,
    span: Span,
    within: &str,
) -> Option<Vec<Box<dyn Kind>>> {
    let v = doc.required(t, "of", span, &format!("an `{within}` assertion"), "")?;
    let ValueInner::Array(items) = v.as_ref() else {
        doc.error(
            v.span,
            Code::WrongType,
            format!("`of` of `{within}` must be an array of assertions"),
        );
        return None;
    };
    if items.is_empty() {
        doc.error(v.span, Code::BadValue, format!("`{within}` has no operand"));
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match operand(doc, item, within) {
            Some(k) => out.push(k),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn parse_any(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    operands(doc, t, span, "any-of").map(|o| Box::new(Logic::AnyOf(o)) as Box<dyn Kind>)
}

fn parse_all(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    operands(doc, t, span, "all-of").map(|o| Box::new(Logic::AllOf(o)) as Box<dyn Kind>)
}

fn parse_not(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let v = doc.required(t, "of", span, "a `not` assertion", "")?;
    if get(t, "of").is_some_and(|v| matches!(v.as_ref(), ValueInner::Array(_))) {
        doc.error(
            v.span,
            Code::WrongType,
            "`of` of `not` is one assertion, not an array",
        );
        return None;
    }
    operand(doc, v, "not").map(|o| Box::new(Logic::Not(o)) as Box<dyn Kind>)
}

impl Kind for Logic {
    fn name(&self) -> &'static str {
        match self {
            Logic::AnyOf(_) => ANY_OF.name,
            Logic::AllOf(_) => ALL_OF.name,
            Logic::Not(_) => NOT.name,
        }
    }

    fn scope(&self) -> Scope {
        Scope::ShippedFiles
    }

    fn is_operand(&self) -> bool {
        true
    }

    fn kernel_names(&self) -> Vec<(&'static str, String)> {
        match self {
            Logic::AnyOf(o) | Logic::AllOf(o) => o.iter().flat_map(|k| k.kernel_names()).collect(),
            Logic::Not(k) => k.kernel_names(),
        }
    }

    /// Two-valued logic with two more outcomes: an operand with nothing to judge makes the
    /// whole not applicable (as the checklist drops such a check), and an unknown operand
    /// decides only when no known operand does.
    fn test(&self, cx: &KernelCx<'_>) -> Truth {
        match self {
            Logic::Not(k) => match k.test(cx) {
                Truth::Holds(m) => Truth::Fails(format!("not ({m})")),
                Truth::Fails(m) => Truth::Holds(format!("not ({m})")),
                other => other,
            },
            Logic::AnyOf(ops) => {
                let mut failed = Vec::new();
                let mut unknown = None;
                for k in ops {
                    match k.test(cx) {
                        Truth::Holds(m) => return Truth::Holds(m),
                        Truth::NotApplicable(m) => return Truth::NotApplicable(m),
                        Truth::Unknown(m) => unknown = unknown.or(Some(m)),
                        Truth::Fails(m) => failed.push(m),
                    }
                }
                match unknown {
                    Some(m) => Truth::Unknown(m),
                    None => Truth::Fails(format!("none of: {}", failed.join("; "))),
                }
            }
            Logic::AllOf(ops) => {
                let mut held = Vec::new();
                let mut outcome = None;
                for k in ops {
                    match k.test(cx) {
                        Truth::Holds(m) => held.push(m),
                        Truth::NotApplicable(m) => return Truth::NotApplicable(m),
                        f @ Truth::Fails(_) => outcome = Some(f),
                        u @ Truth::Unknown(_) => {
                            if outcome.is_none() {
                                outcome = Some(u)
                            }
                        }
                    }
                }
                outcome.unwrap_or_else(|| Truth::Holds(held.join("; ")))
            }
        }
    }
}
