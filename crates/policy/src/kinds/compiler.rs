//! The `compiler` kind: the compiler that built the kernel (and its version number, as the
//! config records it), as the `[kernel.compiler]` tables of the policies derive it.

use super::{KernelCx, Kind, Scope, Spec, Truth};
use crate::diagnostic::{get, Code, Doc};
use crate::value::{Form, Seen};
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "compiler",
    keys: &["kind", "is", "version"],
    parse,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiler {
    pub is: Vec<String>,
    /// A comparison with the version number the config records (`>= 120000`).
    pub version: Option<Form>,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let is = doc
        .required(t, "is", span, "a `compiler` assertion", "")
        .and_then(|v| doc.string_list(v, "is"));
    let version = match get(t, "version") {
        None => Some(None),
        Some(v) => doc
            .string(v, "version")
            .and_then(|s| match Form::parse(&s) {
                Ok(f @ Form::Compare(..)) => Some(Some(f)),
                _ => {
                    doc.error(
                        v.span,
                        Code::BadValue,
                        format!("`version` `{s}` is not a comparison like \">= 120000\""),
                    );
                    None
                }
            }),
    };
    Some(Box::new(Compiler {
        is: is?,
        version: version?,
    }))
}

/// The outcome of "built by one of `names`, with a version matching `version`" on one kernel.
pub fn test_compiler(names: &[String], version: Option<&Form>, cx: &KernelCx<'_>) -> Truth {
    match cx.kernel.compiler(cx.data) {
        Err(e) => Truth::Unknown(e),
        Ok(None) => Truth::Unknown(format!(
            "{}: none of the compilers the policies declare built it",
            cx.kernel.path
        )),
        Ok(Some((c, _))) if !names.contains(&c) => {
            Truth::Fails(format!("built by {c}, not {}", names.join(" or ")))
        }
        Ok(Some((c, v))) => match (version, v) {
            (None, _) => Truth::Holds(format!("built by {c}")),
            (Some(_), None) => Truth::Unknown(format!(
                "the version of {c} that built {} is not recorded",
                cx.kernel.path
            )),
            (Some(f), Some(n)) => {
                let text = n.to_string();
                let seen = Some(Seen {
                    text: &text,
                    not_set: false,
                });
                if f.matches(seen, &|_| None) == crate::value::Match::Yes {
                    Truth::Holds(format!("built by {c} {n}"))
                } else {
                    Truth::Fails(format!("built by {c} {n}, not {}", f.describe()))
                }
            }
        },
    }
}

impl Kind for Compiler {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::ShippedFiles
    }

    fn is_operand(&self) -> bool {
        true
    }

    fn kernel_names(&self) -> Vec<(&'static str, String)> {
        self.is.iter().map(|n| ("compiler", n.clone())).collect()
    }

    fn test(&self, cx: &KernelCx<'_>) -> Truth {
        test_compiler(&self.is, self.version.as_ref(), cx)
    }
}
