//! The `arch` kind: the kernel's architecture is one of a list, as the `[kernel.arch]` tables
//! of the policies derive it from the config.

use super::{KernelCx, Kind, Scope, Spec, Truth};
use crate::diagnostic::Doc;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "arch",
    keys: &["kind", "is"],
    parse,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arch {
    pub is: Vec<String>,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let is = doc
        .required(t, "is", span, "an `arch` assertion", "")
        .and_then(|v| doc.string_list(v, "is"))?;
    Some(Box::new(Arch { is }))
}

/// The outcome of "the architecture is one of `names`" on one kernel.
pub fn test_arch(names: &[String], cx: &KernelCx<'_>) -> Truth {
    match cx.kernel.arch(cx.data) {
        Err(e) => Truth::Unknown(e),
        Ok(Some(a)) if names.contains(&a) => Truth::Holds(format!("the kernel is {a}")),
        Ok(Some(a)) => Truth::Fails(format!("the kernel is {a}, not {}", names.join(" or "))),
        Ok(None) => Truth::Fails(format!(
            "the kernel is none of the architectures the policies declare, so not {}",
            names.join(" or ")
        )),
    }
}

impl Kind for Arch {
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
        self.is.iter().map(|n| ("arch", n.clone())).collect()
    }

    fn test(&self, cx: &KernelCx<'_>) -> Truth {
        test_arch(&self.is, cx)
    }
}
