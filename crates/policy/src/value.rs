//! The value forms a rule may expect of a kernel config option or a sysctl key: literal text,
//! `is not set`, `is present`, `is not off`, `*element*`, numeric comparisons, and
//! `{ same-as = "OTHER" }` (another option). They mean what kernel-hardening-checker means by them, so
//! that its checklist can be written as data.

use crate::diagnostic::{get, Code, Doc};
use toml_span::value::ValueInner;
use toml_span::Value;

/// A numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Ge,
    Gt,
    Le,
    Lt,
}

impl Cmp {
    fn as_str(self) -> &'static str {
        match self {
            Cmp::Ge => ">=",
            Cmp::Gt => ">",
            Cmp::Le => "<=",
            Cmp::Lt => "<",
        }
    }
}

/// One expected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// Equal to the value text as written (quotes kept). `n` also matches an absent option.
    Literal(String),
    /// Absent, or `# OPTION is not set`.
    NotSet,
    /// Any line for the option, `# OPTION is not set` included.
    Present,
    /// Present, and not `0`, `off`, `is not set`, nor holding `off` as a list element.
    NotOff,
    /// The comma-separated value (quotes stripped) holds this element.
    Element(String),
    /// A number compared with this one.
    Compare(Cmp, i128),
    /// Equal to another kernel config option's value text, in the same config.
    SameAs(String),
}

/// What a value is, as the forms see it: its text, and whether it was written `is not set`.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub text: &'a str,
    pub not_set: bool,
}

/// The outcome of one form on one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Yes,
    No,
    /// A `same-as` option that the config lacks: nothing to compare with.
    NoReference(String),
}

/// A number as kconfig and sysctl write them: decimal, or hex with `0x`.
pub fn number(s: &str) -> Option<i128> {
    let s = s.trim().trim_matches('"');
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let n = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().ok()?
        }
        None => return None,
    };
    Some(if neg { -n } else { n })
}

fn elements(text: &str) -> impl Iterator<Item = &str> {
    text.trim_matches('"').split(',')
}

impl Form {
    /// Read one form from its written text.
    pub fn parse(s: &str) -> Result<Form, String> {
        match s {
            "is not set" => return Ok(Form::NotSet),
            "is present" => return Ok(Form::Present),
            "is not off" => return Ok(Form::NotOff),
            _ => {}
        }
        if let Some(inner) = s.strip_prefix('*').and_then(|r| r.strip_suffix('*')) {
            if inner.is_empty() || inner.contains(',') {
                return Err(format!("`{s}` names no single element between the stars"));
            }
            return Ok(Form::Element(inner.to_string()));
        }
        for (op, cmp) in [
            (">=", Cmp::Ge),
            ("<=", Cmp::Le),
            (">", Cmp::Gt),
            ("<", Cmp::Lt),
        ] {
            if let Some(rest) = s.strip_prefix(op) {
                return number(rest)
                    .map(|n| Form::Compare(cmp, n))
                    .ok_or_else(|| format!("`{s}`: `{}` is not a number", rest.trim()));
            }
        }
        Ok(Form::Literal(s.to_string()))
    }

    /// Does `seen` (`None`: absent) have this form? `lookup` gives another option's value text,
    /// for `same-as`.
    pub fn matches<'a>(
        &self,
        seen: Option<Seen<'_>>,
        lookup: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Match {
        let yes = |b: bool| if b { Match::Yes } else { Match::No };
        match self {
            Form::Literal(l) => yes(match seen {
                None => l == "n",
                Some(v) => v.text == l,
            }),
            Form::NotSet => yes(seen.is_none_or(|v| v.not_set)),
            Form::Present => yes(seen.is_some()),
            Form::NotOff => yes(seen.is_some_and(|v| {
                !v.not_set
                    && v.text != "0"
                    && v.text != "off"
                    && !elements(v.text).any(|e| e == "off")
            })),
            Form::Element(e) => {
                yes(seen.is_some_and(|v| !v.not_set && elements(v.text).any(|x| x == e)))
            }
            Form::Compare(cmp, n) => yes(seen
                .and_then(|v| (!v.not_set).then(|| number(v.text)).flatten())
                .is_some_and(|have| match cmp {
                    Cmp::Ge => have >= *n,
                    Cmp::Gt => have > *n,
                    Cmp::Le => have <= *n,
                    Cmp::Lt => have < *n,
                })),
            Form::SameAs(other) => match lookup(other) {
                None => Match::NoReference(other.clone()),
                Some(want) => yes(seen.is_some_and(|v| !v.not_set && v.text == want)),
            },
        }
    }

    /// The form as a message shows it.
    pub fn describe(&self) -> String {
        match self {
            Form::Literal(l) => l.clone(),
            Form::NotSet => "not set".into(),
            Form::Present => "present".into(),
            Form::NotOff => "not off".into(),
            Form::Element(e) => format!("a list holding {e}"),
            Form::Compare(c, n) => format!("{} {n}", c.as_str()),
            Form::SameAs(o) => format!("the value of {o}"),
        }
    }
}

/// Any of several forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forms(pub Vec<Form>);

impl Forms {
    /// A string, an array of strings, or `{ same-as = "OPTION" }`.
    pub fn parse(doc: &mut Doc<'_>, value: &Value<'_>, what: &str) -> Option<Forms> {
        if let ValueInner::Table(t) = value.as_ref() {
            doc.unknown_keys(
                t,
                &["same-as"],
                &format!("in the value of `{what}`"),
                &["same-as"],
            );
            let other = doc.required(
                t,
                "same-as",
                value.span,
                &format!("the value of `{what}`"),
                "",
            )?;
            let name = doc.string(other, "same-as")?;
            if !is_option(&name) {
                doc.error(
                    other.span,
                    Code::BadValue,
                    format!("`same-as` names `{name}`, not a kernel config option (CONFIG_...)"),
                );
                return None;
            }
            return Some(Forms(vec![Form::SameAs(name)]));
        }
        let items = doc.strings(value, what)?;
        if items.is_empty() {
            doc.error(
                value.span,
                Code::BadValue,
                format!("`{what}` allows no value"),
            );
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (s, span) in items {
            match Form::parse(&s) {
                Ok(f) => out.push(f),
                Err(e) => {
                    ok = false;
                    doc.error(span, Code::BadValue, e);
                }
            }
        }
        ok.then_some(Forms(out))
    }

    /// `{ same-as = ... }` given as a key of its own (`same-as = "OPTION"` in a sysctl
    /// assertion), if present.
    pub fn same_as_key(
        doc: &mut Doc<'_>,
        t: &toml_span::value::Table<'_>,
    ) -> Option<Option<Forms>> {
        let Some(v) = get(t, "same-as") else {
            return Some(None);
        };
        let name = doc.string(v, "same-as")?;
        if !is_option(&name) {
            doc.error(
                v.span,
                Code::BadValue,
                format!("`same-as` names `{name}`, not a kernel config option (CONFIG_...)"),
            );
            return None;
        }
        Some(Some(Forms(vec![Form::SameAs(name)])))
    }

    /// The first form that matches, or why none does.
    pub fn matches<'a>(
        &self,
        seen: Option<Seen<'_>>,
        lookup: &dyn Fn(&str) -> Option<&'a str>,
    ) -> Match {
        let mut out = Match::No;
        for f in &self.0 {
            match f.matches(seen, lookup) {
                Match::Yes => return Match::Yes,
                Match::NoReference(o) => out = Match::NoReference(o),
                Match::No => {}
            }
        }
        out
    }

    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(Form::describe)
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// A kernel config option name: `CONFIG_` and more.
pub fn is_option(name: &str) -> bool {
    name.strip_prefix("CONFIG_").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::{Form, Match, Seen};

    /// A value as written, and whether it is a `# ... is not set` line; `None`: absent.
    type Written<'a> = Option<(&'a str, bool)>;

    fn check(form: &str, value: Written<'_>) -> Match {
        let seen = value.map(|(text, not_set)| Seen { text, not_set });
        Form::parse(form)
            .unwrap()
            .matches(seen, &|o| (o == "CONFIG_max").then_some("32"))
    }

    #[test]
    fn forms_mean_what_the_checklist_means() {
        use Match::{No, Yes};
        let cases: &[(&str, Written<'_>, Match)] = &[
            ("y", Some(("y", false)), Yes),
            ("y", Some(("m", false)), No),
            ("y", None, No),
            ("n", None, Yes),
            ("is not set", None, Yes),
            ("is not set", Some(("n", true)), Yes),
            ("is not set", Some(("", false)), No),
            ("is present", Some(("n", true)), Yes),
            ("is present", None, No),
            ("is not off", Some(("\"a,off\"", false)), No),
            ("is not off", Some(("0", false)), No),
            ("is not off", Some(("n", true)), No),
            ("is not off", Some(("1", false)), Yes),
            ("is not off", None, No),
            ("*yama*", Some(("\"landlock,yama\"", false)), Yes),
            ("*yama*", Some(("\"landlock\"", false)), No),
            (">= 28", Some(("32", false)), Yes),
            (">= 28", Some(("0x1c", false)), Yes),
            ("< 28", Some(("28", false)), No),
            (">= 28", Some(("abc", false)), No),
            ("0x0", Some(("0x0", false)), Yes),
        ];
        for (form, value, want) in cases {
            assert_eq!(&check(form, *value), want, "{form} on {value:?}");
        }
        let same = Form::SameAs("CONFIG_max".into());
        let seen = |t| {
            Some(Seen {
                text: t,
                not_set: false,
            })
        };
        assert_eq!(
            same.matches(seen("32"), &|o| (o == "CONFIG_max").then_some("32")),
            Yes
        );
        assert_eq!(
            same.matches(seen("28"), &|o| (o == "CONFIG_max").then_some("32")),
            No
        );
        assert_eq!(
            same.matches(seen("28"), &|_| None),
            Match::NoReference("CONFIG_max".into())
        );
    }

    #[test]
    fn bad_forms_are_refused() {
        assert!(Form::parse(">= x").is_err());
        assert!(Form::parse("**").is_err());
    }
}
