//! The `kconfig` kind: kernel config options of the matched config files must have one of the
//! allowed values, with kconfig's semantics (the last assignment wins; `# X is not set` and
//! absence both mean `n`).

use super::{content, FileCx, Kind, Scope, Spec, Verdict};
use crate::diagnostic::{get, Code, Doc};
use debgate_analyze::kconfig::Kconfig as Config;
use toml_span::value::Table;
use toml_span::Span;

pub const SPEC: Spec = Spec {
    name: "kconfig",
    keys: &["kind", "expect"],
    parse,
};

/// `expect = { OPTION = "y" | ["y", "m"] }`.
#[derive(Debug, Clone)]
pub struct Kconfig {
    /// Each option with the values it may have.
    pub expect: Vec<(String, Vec<String>)>,
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
        if !opt.starts_with("CONFIG_") || opt.len() <= "CONFIG_".len() {
            doc.error(
                key.span,
                Code::BadValue,
                format!("`{opt}` is not a kernel config option name (CONFIG_...)"),
            );
            continue;
        }
        if let Some(values) = doc.string_list(val, &opt) {
            if values.is_empty() {
                doc.error(val.span, Code::BadValue, format!("`{opt}` allows no value"));
            }
            expect.push((opt, values));
        }
    }
    if doc.failed_since(mark) {
        return None;
    }
    Some(Box::new(Kconfig { expect }))
}

impl Kind for Kconfig {
    fn name(&self) -> &'static str {
        SPEC.name
    }

    fn scope(&self) -> Scope {
        Scope::ShippedFiles
    }

    fn kconfig_options(&self) -> Vec<&str> {
        self.expect.iter().map(|(o, _)| o.as_str()).collect()
    }

    fn judge_file(&self, cx: &FileCx<'_>) -> Verdict {
        let path = cx.path;
        let c = match content(cx.analyzed.package, path) {
            Ok(c) => c,
            Err(e) => return Verdict::fail(e),
        };
        let k = Config::parse(&c.text());
        let mut violations = Vec::new();
        let mut evidence = Vec::new();
        for (opt, allowed) in &self.expect {
            let value = k.value(opt);
            let shown = match k.assignment(opt) {
                Some(a) if a.value == "n" => format!("{path}:{}: # {opt} is not set", a.line),
                Some(a) => format!("{path}:{}: {opt}={}", a.line, a.value),
                None => format!("{path}: {opt} is absent (not set)"),
            };
            if !allowed.iter().any(|x| x == value) {
                violations.push(format!(
                    "{opt} is {}, expected {}",
                    if value == "n" { "not set" } else { value },
                    allowed.join(" or ")
                ));
            }
            evidence.push(shown);
        }
        let names: Vec<String> = self
            .expect
            .iter()
            .map(|(o, _)| format!("{o}={}", k.value(o)))
            .collect();
        Verdict {
            violations,
            evidence,
            pass: names.join(", "),
        }
    }
}
