//! The `forbidden` kind: nothing the rule selects may be there. Each selected path fails (a
//! device node in data.tar, a world-writable file): combine it with `types` and `paths` to say
//! what must not ship.

use super::{FileCx, Kind, Scope, Spec, Verdict};
use crate::diagnostic::Doc;
use debgate_facts::EntryKind;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "forbidden",
    keys: &["kind"],
    parse,
};

#[derive(Debug, Clone)]
pub struct Forbidden;

fn parse(_: &mut Doc<'_>, _: &Table<'_>, _: Span) -> Option<Box<dyn Kind>> {
    Some(Box::new(Forbidden))
}

impl Kind for Forbidden {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::EffectiveFiles
    }

    fn holds_when_nothing_selected(&self) -> bool {
        true
    }

    fn judge_file(&self, cx: &FileCx<'_, '_>) -> Verdict {
        let st = cx.analyzed.state.files.get(cx.path);
        let what = st
            .and_then(|s| s.kind)
            .map_or("file created by a script", EntryKind::as_str);
        let states: Vec<String> = st
            .map(|s| s.states.iter().map(|e| e.text()).collect())
            .unwrap_or_default();
        // A device's numbers say which device it opens: `4,64` is a serial line, `1,1` memory.
        let device = cx
            .analyzed
            .package
            .entry(cx.path)
            .and_then(|e| e.device)
            .map(|d| format!(" {d}"))
            .unwrap_or_default();
        Verdict::fail(format!(
            "{} is a {what}{device} ({}), which the rule forbids",
            cx.path,
            states.join("; ")
        ))
    }
}
