//! The `cmdline` kind: a kernel command-line parameter. Packages carry no command line, so it is
//! always false; it exists so that a checklist that offers "this sysctl, or this boot parameter"
//! can be written as it is.

use super::{KernelCx, Kind, Scope, Spec, Truth};
use crate::diagnostic::{get, Doc};
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "cmdline",
    keys: &["kind", "param", "expect"],
    parse,
};

#[derive(Debug)]
pub struct Cmdline {
    pub param: String,
    pub expect: Option<String>,
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let param = doc
        .required(t, "param", span, "a `cmdline` assertion", "")
        .and_then(|v| doc.nonempty_string(v, "param"));
    let expect = match get(t, "expect") {
        None => Some(None),
        Some(v) => doc.string(v, "expect").map(Some),
    };
    Some(Box::new(Cmdline {
        param: param?,
        expect: expect?,
    }))
}

impl Kind for Cmdline {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::ShippedFiles
    }

    fn is_operand(&self) -> bool {
        true
    }

    fn test(&self, _cx: &KernelCx<'_>) -> Truth {
        let want = match &self.expect {
            Some(v) => format!("{}={v}", self.param),
            None => self.param.clone(),
        };
        Truth::Fails(format!(
            "the kernel command line cannot have {want}: packages carry no command line"
        ))
    }
}
