//! Diagnostics for the TOML files debgate reads (policies, waivers): where a problem is, its
//! stable kebab-case [`Code`], and the typed getters that record a located [`Diagnostic`] for
//! every value of the wrong shape, so that a bad file gets every error at once.
//!
//! This module is the bottom of the crate: it imports nothing from the rest of it, so loaders of
//! any file format can share it without an import circle.

use regex::Regex;
use serde::Serialize;
use std::fmt;
use thiserror::Error;
use toml_span::value::{Table, ValueInner};
use toml_span::{Span, Value};

/// Where something was declared: `policies/x.toml:12:1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// A whole file, or something debgate declares itself (`(built-in upload check)`): line 0.
    pub fn whole(file: impl Into<String>) -> Location {
        Location {
            file: file.into(),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: declared by debgate itself, or the file as a whole.
        if self.line == 0 {
            return write!(f, "{}", self.file);
        }
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Declares [`Code`] with its kebab-case text and a one-line meaning for each variant, so that
/// the list, the text and the documentation cannot drift apart.
macro_rules! codes {
    ($($variant:ident = $text:literal: $meaning:literal,)*) => {
        /// The stable id of a diagnostic. The text is part of the output contract: add codes,
        /// never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = $meaning] $variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The kebab-case id, e.g. `unknown-key`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }

            /// What the code means, one line.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }
        }
    };
}

codes! {
    TomlSyntax = "toml-syntax": "the file is not valid TOML (the parser stops at the first error)",
    WrongType = "wrong-type": "a value has the wrong TOML type (a string where a table belongs, ...)",
    UnknownKey = "unknown-key": "a key the loader does not know (usually a typo)",
    MissingKey = "missing-key": "a required key is absent",
    BadValue = "bad-value": "a value of the right type that is not allowed here",
    BadGlob = "bad-glob": "a glob that does not compile",
    BadRegex = "bad-regex": "a regular expression that does not compile",
    BadRuleId = "bad-rule-id": "a rule or pairing id that is not kebab-case",
    DuplicateRuleId = "duplicate-rule-id": "a rule or pairing id declared twice",
    ReservedRuleId = "reserved-rule-id": "a rule id that belongs to one of debgate's built-in checks",
    NoRules = "no-rules": "a policy file that declares no rule and no pairing",
    UnknownAssertionKind = "unknown-assertion-kind": "an `assert` whose `kind` is not an assertion kind",
    UnknownCapability = "unknown-capability": "a capability name that Linux does not define",
    ConflictingKeys = "conflicting-keys": "keys that exclude each other",
    UnreadablePolicy = "unreadable-policy": "a policy file or directory that cannot be read",
    UnreadableWaivers = "unreadable-waivers": "a waiver file that cannot be read",
    UnknownRule = "unknown-rule": "a waiver that names no loaded rule",
    BadDate = "bad-date": "a date that is not a real `YYYY-MM-DD` day",
    TodoReason = "todo-reason": "an allow-list entry whose reason still says TODO (written by `debgate privileges --format toml`, not yet reviewed)",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One problem in a file debgate reads, with its place and code.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("{location}: error[{code}]: {message}")]
pub struct Diagnostic {
    pub location: Location,
    pub code: Code,
    pub message: String,
}

/// Every problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{} error(s):\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct Diagnostics(pub Vec<Diagnostic>);

/// The value of `name` in `table`.
pub fn get<'v, 'de>(table: &'v Table<'de>, name: &str) -> Option<&'v Value<'de>> {
    table.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
}

/// One TOML document being read: its name and text, to locate spans, and every diagnostic so
/// far. The getters check a value's shape, record a diagnostic when it is wrong and return
/// `None`, so a loader reads on and reports everything in one run.
pub struct Doc<'a> {
    pub file: &'a str,
    pub src: &'a str,
    pub diagnostics: Vec<Diagnostic>,
    /// How files that this document names (an allow-list beside a policy) are read.
    pub beside: Beside<'a>,
    /// Byte offsets where each line starts, built on first use: a profile of a thousand rules
    /// asks for thousands of locations, and scanning from the top each time is quadratic.
    line_starts: std::cell::OnceCell<Vec<usize>>,
}

/// Where the files a document names are read from, and how strictly.
#[derive(Debug, Clone, Copy, Default)]
pub struct Beside<'a> {
    /// `Some` for a document embedded in the binary (a bundled policy): the files embedded with
    /// it, by name (`policies/allowlists/x.toml`). It reads only these, never the host's files,
    /// so that a bundled policy means the same on every machine. `None`: the host's files.
    pub embedded: Option<&'a [(&'a str, &'a str)]>,
    /// Accept an allow-list whose reasons still say `TODO` (a bootstrap not yet reviewed).
    pub allow_todo: bool,
}

impl<'a> Doc<'a> {
    /// Read a file named by this document at `span`, relative to the document's directory:
    /// its name as messages show it, and its text; `None` after an `unreadable-policy`
    /// diagnostic.
    pub fn read_beside(&mut self, name: &str, span: Span) -> Option<(String, String)> {
        let dir = std::path::Path::new(self.file)
            .parent()
            .unwrap_or(std::path::Path::new(""));
        // `policies/tests/../allowlists/x.toml` is shown as `policies/allowlists/x.toml`: the
        // `..` is folded by name, without asking the host what the directories are.
        let mut path = std::path::PathBuf::new();
        for c in dir.join(name).components() {
            match c {
                std::path::Component::ParentDir
                    if matches!(
                        path.components().next_back(),
                        Some(std::path::Component::Normal(_))
                    ) =>
                {
                    path.pop();
                }
                c => path.push(c),
            }
        }
        let shown = path.display().to_string();
        let read = match self.beside.embedded {
            Some(files) => files
                .iter()
                .find(|(n, _)| std::path::Path::new(n) == path)
                .map(|(_, t)| t.to_string())
                .ok_or_else(|| "no such file is bundled with the policy".to_string()),
            None => std::fs::read_to_string(&path).map_err(|e| e.to_string()),
        };
        match read {
            Ok(text) => Some((shown, text)),
            Err(e) => {
                self.error(span, Code::UnreadablePolicy, format!("{shown}: {e}"));
                None
            }
        }
    }

    pub fn new(file: &'a str, src: &'a str) -> Doc<'a> {
        Doc {
            file,
            src,
            diagnostics: Vec::new(),
            beside: Beside::default(),
            line_starts: std::cell::OnceCell::new(),
        }
    }

    /// `file:line:column` (1-based, columns in characters) of a span's start.
    pub fn location(&self, span: Span) -> Location {
        let src = self.src;
        let start = span.start.min(src.len());
        // A span can point inside a multi-byte character only if the parser is wrong; stay safe.
        let start = (0..=start)
            .rev()
            .find(|i| src.is_char_boundary(*i))
            .unwrap_or(0);
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(src.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        // The last line start at or before `start`.
        let index = starts.partition_point(|&s| s <= start) - 1;
        let line = index + 1;
        let column = src[starts[index]..start].chars().count() + 1;
        Location {
            file: self.file.to_string(),
            line,
            column,
        }
    }

    pub fn error(&mut self, span: Span, code: Code, message: impl Into<String>) {
        let location = self.location(span);
        self.diagnostics.push(Diagnostic {
            location,
            code,
            message: message.into(),
        });
    }

    /// How many diagnostics so far: compare before and after reading a part to know whether
    /// that part was clean.
    pub fn mark(&self) -> usize {
        self.diagnostics.len()
    }

    /// Whether anything was reported since `mark`.
    pub fn failed_since(&self, mark: usize) -> bool {
        self.diagnostics.len() > mark
    }

    /// The diagnostics in file order (loaders check keys one by one, not in text order).
    pub fn finish(mut self) -> Vec<Diagnostic> {
        self.diagnostics
            .sort_by_key(|d| (d.location.line, d.location.column));
        self.diagnostics
    }

    /// Parse the document and return its top-level table. A syntax error (`toml-syntax`) stops
    /// the parser, so it is the only error such a file can report; `what` names the document
    /// ("a policy file") if its top level is not a table.
    pub fn parse(&mut self, what: &str) -> Option<Table<'a>> {
        let mut root = match toml_span::parse(self.src) {
            Ok(v) => v,
            Err(e) => {
                let location = match e.line_info {
                    Some((line, col)) => Location {
                        file: self.file.to_string(),
                        line: line + 1,
                        column: col + 1,
                    },
                    None => self.location(e.span),
                };
                self.diagnostics.push(Diagnostic {
                    location,
                    code: Code::TomlSyntax,
                    message: e.kind.to_string(),
                });
                return None;
            }
        };
        let span = root.span;
        match root.take() {
            ValueInner::Table(table) => Some(table),
            _ => {
                self.error(span, Code::WrongType, format!("{what} is a TOML table"));
                None
            }
        }
    }

    /// Report each key of `table` that is not in `allowed` as unknown `what` ("in rule"),
    /// suggesting `expected`.
    pub fn unknown_keys(
        &mut self,
        table: &Table<'_>,
        allowed: &[&str],
        what: &str,
        expected: &[&str],
    ) {
        for key in table.keys() {
            if !allowed.contains(&key.name.as_ref()) {
                self.error(
                    key.span,
                    Code::UnknownKey,
                    format!(
                        "unknown key `{}` {what}; expected one of: {}",
                        key.name,
                        expected.join(", ")
                    ),
                );
            }
        }
    }

    /// The value of `name`, or a `missing-key` diagnostic at `at` saying `what` lacks it
    /// (`what` is e.g. "rule"; `why` is appended to the message).
    pub fn required<'v, 'de>(
        &mut self,
        table: &'v Table<'de>,
        name: &str,
        at: Span,
        what: &str,
        why: &str,
    ) -> Option<&'v Value<'de>> {
        let v = get(table, name);
        if v.is_none() {
            self.error(at, Code::MissingKey, format!("{what} has no `{name}`{why}"));
        }
        v
    }

    fn wrong_type(&mut self, value: &Value<'_>, want: &str) {
        let found = value.as_ref().type_str();
        self.error(
            value.span,
            Code::WrongType,
            format!("{want}, found {found}"),
        );
    }

    pub fn table<'v, 'de>(&mut self, value: &'v Value<'de>, what: &str) -> Option<&'v Table<'de>> {
        match value.as_ref() {
            ValueInner::Table(t) => Some(t),
            _ => {
                self.wrong_type(value, &format!("`{what}` must be a table"));
                None
            }
        }
    }

    /// An array of tables (`[[what]]`).
    pub fn tables<'v, 'de>(
        &mut self,
        value: &'v Value<'de>,
        what: &str,
    ) -> Option<&'v [Value<'de>]> {
        match value.as_ref() {
            ValueInner::Array(items) => Some(items),
            _ => {
                self.wrong_type(
                    value,
                    &format!("`{what}` must be an array of tables (`[[{what}]]`)"),
                );
                None
            }
        }
    }

    pub fn string(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        match value.as_ref() {
            ValueInner::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(value, &format!("`{what}` must be a string"));
                None
            }
        }
    }

    /// A string with more than white space in it.
    pub fn nonempty_string(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        let s = self.string(value, what)?;
        if s.trim().is_empty() {
            self.error(
                value.span,
                Code::BadValue,
                format!("`{what}` must not be empty"),
            );
            return None;
        }
        Some(s)
    }

    /// A string that is one of `names`.
    pub fn one_of(&mut self, value: &Value<'_>, what: &str, names: &[&str]) -> Option<String> {
        let s = self.string(value, what)?;
        if names.contains(&s.as_str()) {
            return Some(s);
        }
        self.error(
            value.span,
            Code::BadValue,
            format!("{what} `{s}` is not one of: {}", names.join(", ")),
        );
        None
    }

    pub fn boolean(&mut self, value: &Value<'_>, what: &str) -> Option<bool> {
        match value.as_ref() {
            ValueInner::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(value, &format!("`{what}` must be true or false"));
                None
            }
        }
    }

    /// A string or an array of strings, each with its span.
    pub fn strings(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<(String, Span)>> {
        match value.as_ref() {
            ValueInner::String(s) => Some(vec![(s.to_string(), value.span)]),
            ValueInner::Array(items) => {
                let mut out = Vec::new();
                let mut ok = true;
                for item in items {
                    match self.string(item, what) {
                        Some(s) => out.push((s, item.span)),
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => {
                self.wrong_type(
                    value,
                    &format!("`{what}` must be a string or an array of strings"),
                );
                None
            }
        }
    }

    /// Like [`Doc::strings`], without the spans.
    pub fn string_list(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<String>> {
        self.strings(value, what)
            .map(|v| v.into_iter().map(|(s, _)| s).collect())
    }

    /// One regex or a list of them.
    pub fn regexes(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<Regex>> {
        let items = self.strings(value, what)?;
        let mut out = Vec::new();
        let mut ok = true;
        for (pat, span) in items {
            match Regex::new(&pat) {
                Ok(r) => out.push(r),
                Err(e) => {
                    ok = false;
                    // The regex crate's message draws the pattern over several lines; a
                    // diagnostic is one line, and its last line says what is wrong.
                    let detail = e.to_string();
                    let last = detail.lines().last().unwrap_or("invalid regex").to_string();
                    self.error(
                        span,
                        Code::BadRegex,
                        format!("`{what}` regex `{pat}`: {last}"),
                    );
                }
            }
        }
        ok.then_some(out)
    }
}

/// Whether `s` is kebab-case: a-z and 0-9 in parts joined by single dashes.
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::{is_kebab, Code, Doc};
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case_and_explained() {
        let mut seen = HashSet::new();
        for c in Code::ALL {
            assert!(is_kebab(c.as_str()), "{c} is not kebab-case");
            assert!(seen.insert(c.as_str()), "{c} is declared twice");
            assert!(!c.meaning().is_empty(), "{c} has no meaning");
        }
        assert!(Code::ALL.len() >= 18);
    }

    #[test]
    fn locations_count_characters_and_lines() {
        let src = "a = 1\nné = \"x\"\n";
        let doc = Doc::new("f.toml", src);
        let at = src.find('=').unwrap();
        assert_eq!(
            doc.location(toml_span::Span::new(at, at)).to_string(),
            "f.toml:1:3"
        );
        let at = src.rfind('=').unwrap();
        assert_eq!(
            doc.location(toml_span::Span::new(at, at)).to_string(),
            "f.toml:2:4"
        );
    }

    #[test]
    fn getters_record_every_wrong_shape() {
        let src = "a = 1\nb = [\"x\", 2]\nc = \"\"\nd = \"(\"\ne = \"q\"\n";
        let mut doc = Doc::new("f.toml", src);
        let t = doc.parse("a file").unwrap();
        let v = |k: &str| super::get(&t, k).unwrap();
        assert_eq!(doc.string(v("a"), "a"), None);
        assert_eq!(doc.strings(v("b"), "b"), None);
        assert_eq!(doc.nonempty_string(v("c"), "c"), None);
        assert!(doc.regexes(v("d"), "d").is_none());
        assert_eq!(doc.one_of(v("e"), "e", &["p"]), None);
        let codes: Vec<String> = doc
            .finish()
            .iter()
            .map(|d| format!("{}:{}", d.location.line, d.code))
            .collect();
        assert_eq!(
            codes,
            [
                "1:wrong-type",
                "2:wrong-type",
                "3:bad-value",
                "4:bad-regex",
                "5:bad-value"
            ]
        );
    }
}
