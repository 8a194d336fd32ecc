//! The `version` kind: the kernel release, from the config's header comment
//! (`# Linux/x86 6.1.176 Kernel Configuration`), is at least one version and below another.

use super::{KernelCx, Kind, Scope, Spec, Truth};
use crate::diagnostic::{get, Code, Doc};
use toml_span::value::Table;
use toml_span::{Span, Value};

pub const SPEC: Spec = Spec {
    name: "version",
    keys: &["kind", "at-least", "below"],
    parse,
};

/// A range of kernel versions, each bound optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub at_least: Option<[u32; 3]>,
    pub below: Option<[u32; 3]>,
}

/// `6.1` or `5.4.208`: two or three numbers; a missing patch is 0.
pub fn parse_version(s: &str) -> Option<[u32; 3]> {
    let mut parts = s.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    parts.next().is_none().then_some([major, minor, patch])
}

pub fn show(v: [u32; 3]) -> String {
    format!("{}.{}.{}", v[0], v[1], v[2])
}

pub(crate) fn version_value(doc: &mut Doc<'_>, v: &Value<'_>, what: &str) -> Option<[u32; 3]> {
    let s = doc.string(v, what)?;
    let parsed = parse_version(&s);
    if parsed.is_none() {
        doc.error(
            v.span,
            Code::BadValue,
            format!("`{what}` `{s}` is not a kernel version like \"5.4\" or \"5.4.208\""),
        );
    }
    parsed
}

fn parse(doc: &mut Doc<'_>, t: &Table<'_>, span: Span) -> Option<Box<dyn Kind>> {
    let at_least = match get(t, "at-least") {
        None => Some(None),
        Some(v) => version_value(doc, v, "at-least").map(Some),
    };
    let below = match get(t, "below") {
        None => Some(None),
        Some(v) => version_value(doc, v, "below").map(Some),
    };
    let (at_least, below) = (at_least?, below?);
    if at_least.is_none() && below.is_none() {
        doc.error(
            span,
            Code::MissingKey,
            "a `version` assertion needs `at-least` or `below`",
        );
        return None;
    }
    Some(Box::new(Version { at_least, below }))
}

impl Version {
    /// Is `have` in the range?
    pub fn contains(&self, have: [u32; 3]) -> bool {
        self.at_least.is_none_or(|v| have >= v) && self.below.is_none_or(|v| have < v)
    }

    pub fn describe(&self) -> String {
        match (self.at_least, self.below) {
            (Some(a), Some(b)) => format!(">= {} and < {}", show(a), show(b)),
            (Some(a), None) => format!(">= {}", show(a)),
            (None, Some(b)) => format!("< {}", show(b)),
            (None, None) => "any".into(),
        }
    }
}

impl Kind for Version {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::ShippedFiles
    }

    fn is_operand(&self) -> bool {
        true
    }

    fn test(&self, cx: &KernelCx<'_>) -> Truth {
        match cx.kernel.version() {
            Err(e) => Truth::Unknown(e),
            Ok(have) if self.contains(have) => {
                Truth::Holds(format!("kernel {} is {}", show(have), self.describe()))
            }
            Ok(have) => Truth::Fails(format!("kernel {} is not {}", show(have), self.describe())),
        }
    }
}
