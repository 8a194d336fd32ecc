//! The `exists` kind: the matched path exists in the effective state (combine it with
//! `presence = "required"`).

use super::{FileCx, Kind, Scope, Spec, Verdict};
use crate::diagnostic::Doc;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "exists",
    keys: &["kind"],
    parse,
};

#[derive(Debug, Clone)]
pub struct Exists;

fn parse(_: &mut Doc<'_>, _: &Table<'_>, _: Span) -> Option<Box<dyn Kind>> {
    Some(Box::new(Exists))
}

impl Kind for Exists {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::EffectiveFiles
    }

    fn judge_file(&self, cx: &FileCx<'_>) -> Verdict {
        Verdict {
            pass: format!("{} exists", cx.path),
            ..Verdict::default()
        }
    }
}
