//! A rule's `when`: conditions on the kernel config a rule is judged on (architecture, kernel
//! version range, compiler). A condition that is false makes the rule not applicable there; one
//! that cannot be decided fails closed.

use crate::diagnostic::{get, Code, Doc};
use crate::kinds::arch::test_arch;
use crate::kinds::compiler::test_compiler;
use crate::kinds::version::{parse_version, Version};
use crate::kinds::{KernelCx, Truth};
use toml_span::Value;

pub const KEYS: [&str; 3] = ["arch", "kernel-version", "compiler"];

#[derive(Debug, Clone, Default)]
pub struct When {
    pub arch: Option<Vec<String>>,
    pub version: Option<Version>,
    pub compiler: Option<Vec<String>>,
}

impl When {
    pub fn parse(doc: &mut Doc<'_>, value: &Value<'_>) -> Option<When> {
        let t = doc.table(value, "when")?;
        let mark = doc.mark();
        doc.unknown_keys(t, &KEYS, "in `when`", &KEYS);
        let arch = get(t, "arch").and_then(|v| doc.string_list(v, "arch"));
        let compiler = get(t, "compiler").and_then(|v| doc.string_list(v, "compiler"));
        let version = get(t, "kernel-version").and_then(|v| {
            let mut range = Version {
                at_least: None,
                below: None,
            };
            for (s, span) in doc.strings(v, "kernel-version")? {
                let (slot, rest) = if let Some(r) = s.strip_prefix(">=") {
                    (&mut range.at_least, r)
                } else if let Some(r) = s.strip_prefix('<') {
                    (&mut range.below, r)
                } else {
                    doc.error(
                        span,
                        Code::BadValue,
                        format!("kernel-version `{s}` must be \">= X.Y[.Z]\" or \"< X.Y[.Z]\""),
                    );
                    continue;
                };
                match parse_version(rest) {
                    Some(v) => *slot = Some(v),
                    None => doc.error(
                        span,
                        Code::BadValue,
                        format!("kernel-version `{s}`: `{}` is not a version", rest.trim()),
                    ),
                }
            }
            Some(range)
        });
        if t.is_empty() {
            doc.error(value.span, Code::BadValue, "`when` has no condition");
        }
        if doc.failed_since(mark) {
            return None;
        }
        Some(When {
            arch,
            version,
            compiler,
        })
    }

    /// Every condition's outcome on one kernel: holds only when all hold.
    pub fn test(&self, cx: &KernelCx<'_>) -> Truth {
        let mut held = Vec::new();
        let mut outcomes = Vec::new();
        if let Some(a) = &self.arch {
            outcomes.push(test_arch(a, cx));
        }
        if let Some(v) = &self.version {
            outcomes.push(crate::kinds::Kind::test(v, cx));
        }
        if let Some(c) = &self.compiler {
            outcomes.push(test_compiler(c, None, cx));
        }
        for o in outcomes {
            match o {
                Truth::Holds(m) => held.push(m),
                other => return other,
            }
        }
        Truth::Holds(held.join(", "))
    }

    pub fn kernel_names(&self) -> Vec<(&'static str, String)> {
        let arch = self.arch.iter().flatten().map(|n| ("arch", n.clone()));
        let compiler = self
            .compiler
            .iter()
            .flatten()
            .map(|n| ("compiler", n.clone()));
        arch.chain(compiler).collect()
    }
}
