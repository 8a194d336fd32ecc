//! Loading policy files: TOML parsed with source spans, validated completely so that a bad file
//! gets every error at once, each with `file:line:column` and a stable kebab-case code.

use crate::model::{
    Assertion, CapsRule, FileStateAssert, Globs, Location, Pairing, PathSelector, Presence, Rule,
    RuleSet, Severity,
};
use crate::spanned::unknown_keys;
use debgate_facts::caps;
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::EntryKind;
use globset::{GlobBuilder, GlobSetBuilder};
use regex::Regex;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml_span::value::{Table, ValueInner};
use toml_span::{Span, Value};

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{location}: error[{code}]: {message}")]
pub struct PolicyError {
    pub location: Location,
    /// Stable kebab-case code, e.g. `unknown-key`.
    pub code: &'static str,
    pub message: String,
}

/// Every problem found in the policy files, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{} error(s) in policy files:\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// Load policy files and directories (every `*.toml` in a directory, sorted by name).
pub fn load_paths(paths: &[PathBuf]) -> Result<RuleSet, PolicyErrors> {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        let files = if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut v: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                        .collect();
                    v.sort();
                    v
                }
                Err(e) => {
                    errors.push(io_error(p, &e));
                    continue;
                }
            }
        } else {
            vec![p.clone()]
        };
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => sources.push((f.display().to_string(), text)),
                Err(e) => errors.push(io_error(&f, &e)),
            }
        }
    }
    let refs: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    match load_sources(&refs) {
        Ok(set) if errors.is_empty() => Ok(set),
        Ok(_) => Err(PolicyErrors(errors)),
        Err(PolicyErrors(more)) => {
            errors.extend(more);
            Err(PolicyErrors(errors))
        }
    }
}

fn io_error(p: &Path, e: &std::io::Error) -> PolicyError {
    PolicyError {
        location: Location {
            file: p.display().to_string(),
            line: 0,
            column: 0,
        },
        code: "unreadable-policy",
        message: e.to_string(),
    }
}

/// Load policies from `(display name, text)` pairs, e.g. the bundled ones.
pub fn load_sources(sources: &[(&str, &str)]) -> Result<RuleSet, PolicyErrors> {
    let mut errors = Vec::new();
    let mut rules: Vec<Rule> = Vec::new();
    let mut pairings: Vec<Pairing> = Vec::new();
    let mut seen_ids = Vec::new();
    let mut seen_pairings = Vec::new();
    for (name, text) in sources {
        let mut cx = Cx {
            file: name,
            src: text,
            errors: Vec::new(),
            seen_ids: &mut seen_ids,
            seen_pairings: &mut seen_pairings,
            pairings: Vec::new(),
        };
        rules.extend(cx.file_rules());
        pairings.append(&mut cx.pairings);
        errors.extend(cx.errors);
    }
    if errors.is_empty() {
        Ok(RuleSet { rules, pairings })
    } else {
        Err(PolicyErrors(errors))
    }
}

struct Cx<'a> {
    file: &'a str,
    src: &'a str,
    errors: Vec<PolicyError>,
    /// Rule ids declared so far in any file, to catch duplicates across files.
    seen_ids: &'a mut Vec<(String, Location)>,
    /// Pairing ids declared so far in any file.
    seen_pairings: &'a mut Vec<(String, Location)>,
    /// The `[[pairing]]` tables of this file.
    pairings: Vec<Pairing>,
}

const RULE_KEYS: [&str; 12] = [
    "id",
    "severity",
    "title",
    "explanation",
    "references",
    "packages",
    "exclude-packages",
    "paths",
    "usrmerge",
    "presence",
    "assert",
    "waivable",
];

impl<'a> Cx<'a> {
    fn location(&self, span: Span) -> Location {
        crate::spanned::locate(self.file, self.src, span)
    }

    fn err(&mut self, span: Span, code: &'static str, message: impl Into<String>) {
        let location = self.location(span);
        self.errors.push(PolicyError {
            location,
            code,
            message: message.into(),
        });
    }

    fn file_rules(&mut self) -> Vec<Rule> {
        let Some(table) =
            crate::spanned::parse_table(self.file, self.src, "a policy file", &mut self.errors)
        else {
            return Vec::new();
        };
        let mut rules = Vec::new();
        let mut saw_rules = false;
        let mut saw_pairings = false;
        for (key, value) in &table {
            match key.name.as_ref() {
                "policy" => self.policy_header(value),
                "rule" => {
                    saw_rules = true;
                    match value.as_ref() {
                        ValueInner::Array(items) => {
                            for item in items {
                                if let Some(r) = self.rule(item) {
                                    rules.push(r);
                                }
                            }
                        }
                        other => self.err(
                            value.span,
                            "wrong-type",
                            format!(
                                "`rule` must be an array of tables (`[[rule]]`), found {}",
                                other.type_str()
                            ),
                        ),
                    }
                }
                "pairing" => {
                    saw_pairings = true;
                    match value.as_ref() {
                        ValueInner::Array(items) => {
                            for item in items {
                                if let Some(p) = self.pairing(item) {
                                    self.pairings.push(p);
                                }
                            }
                        }
                        other => self.err(
                            value.span,
                            "wrong-type",
                            format!(
                                "`pairing` must be an array of tables (`[[pairing]]`), found {}",
                                other.type_str()
                            ),
                        ),
                    }
                }
                other => self.err(
                    key.span,
                    "unknown-key",
                    format!(
                        "unknown top-level key `{other}`; expected `policy`, `rule` or `pairing`"
                    ),
                ),
            }
        }
        // A file of pairings only is useful (`debgate diff` reads them); an empty file is a
        // mistake.
        if !saw_rules && !saw_pairings {
            self.err(
                Span::new(0, 0),
                "no-rules",
                "the file declares no `[[rule]]` or `[[pairing]]`",
            );
        }
        rules
    }

    /// One `[[pairing]]`: `id` (kebab-case, unique), `pattern` (a regex with a group named
    /// `abi`), and an optional `explanation`.
    fn pairing(&mut self, value: &Value<'_>) -> Option<Pairing> {
        let t = self.table(value, "pairing")?;
        let location = self.location(value.span);
        let before = self.errors.len();
        const KEYS: [&str; 3] = ["id", "pattern", "explanation"];
        unknown_keys(t, &KEYS, "in pairing", &KEYS, |span, msg| {
            self.err(span, "unknown-key", msg)
        });
        let get = |name: &str| t.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
        let id = match get("id") {
            None => {
                self.err(value.span, "missing-key", "pairing has no `id`");
                None
            }
            Some(v) => self.string(v, "id").and_then(|s| {
                if !is_kebab(&s) {
                    self.err(
                        v.span,
                        "bad-rule-id",
                        format!("pairing id `{s}` must be kebab-case (a-z, 0-9, single dashes)"),
                    );
                    return None;
                }
                let here = self.location(v.span);
                if let Some((_, first)) = self.seen_pairings.iter().find(|(id, _)| *id == s) {
                    let message = format!("pairing id `{s}` is already declared at {first}");
                    self.err(v.span, "duplicate-rule-id", message);
                    return None;
                }
                self.seen_pairings.push((s.clone(), here));
                Some(s)
            }),
        };
        let pattern = match get("pattern") {
            None => {
                self.err(value.span, "missing-key", "pairing has no `pattern`");
                None
            }
            Some(v) => self
                .regexes(v, "pattern")
                .and_then(|mut r| {
                    if r.len() == 1 {
                        r.pop()
                    } else {
                        self.err(v.span, "wrong-type", "`pattern` must be one regex");
                        None
                    }
                })
                .and_then(|r| {
                    if r.capture_names().flatten().any(|n| n == "abi") {
                        Some(r)
                    } else {
                        self.err(
                            v.span,
                            "bad-regex",
                            format!(
                                "pairing pattern `{}` has no group named `abi` (`(?P<abi>...)`)",
                                r.as_str()
                            ),
                        );
                        None
                    }
                }),
        };
        if let Some(v) = get("explanation") {
            self.string(v, "explanation");
        }
        if self.errors.len() > before {
            return None;
        }
        Some(Pairing {
            id: id?,
            pattern: pattern?,
            location,
        })
    }

    fn policy_header(&mut self, value: &Value<'_>) {
        let Some(t) = self.table(value, "policy") else {
            return;
        };
        for (key, v) in t {
            match key.name.as_ref() {
                "name" | "title" | "description" => {
                    self.string(v, &key.name);
                }
                other => self.err(
                    key.span,
                    "unknown-key",
                    format!(
                        "unknown key `{other}` in [policy]; expected name, title or description"
                    ),
                ),
            }
        }
    }

    fn table<'v, 'de>(&mut self, value: &'v Value<'de>, what: &str) -> Option<&'v Table<'de>> {
        match value.as_ref() {
            ValueInner::Table(t) => Some(t),
            other => {
                self.err(
                    value.span,
                    "wrong-type",
                    format!("`{what}` must be a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn string(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        match value.as_ref() {
            ValueInner::String(s) => Some(s.to_string()),
            other => {
                self.err(
                    value.span,
                    "wrong-type",
                    format!("`{what}` must be a string, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn boolean(&mut self, value: &Value<'_>, what: &str) -> Option<bool> {
        match value.as_ref() {
            ValueInner::Boolean(b) => Some(*b),
            other => {
                self.err(
                    value.span,
                    "wrong-type",
                    format!("`{what}` must be true or false, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// A string or an array of strings, each with its span.
    fn strings(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<(String, Span)>> {
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
            other => {
                self.err(
                    value.span,
                    "wrong-type",
                    format!(
                        "`{what}` must be a string or an array of strings, found {}",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    fn globs(&mut self, value: &Value<'_>, what: &str, usrmerge: bool) -> Option<Globs> {
        let items = self.strings(value, what)?;
        let mut builder = GlobSetBuilder::new();
        let mut patterns = Vec::new();
        let mut ok = true;
        for (pat, span) in items {
            let mut forms = vec![pat.clone()];
            if usrmerge {
                forms.push(usrmerge_canonical(&pat));
            }
            for form in forms {
                // `literal_separator` so that `*` stays within one path component, as in a shell.
                match GlobBuilder::new(&form)
                    .literal_separator(what != "packages" && what != "exclude-packages")
                    .build()
                {
                    Ok(g) => {
                        builder.add(g);
                    }
                    Err(e) => {
                        ok = false;
                        self.err(
                            span,
                            "bad-glob",
                            format!("`{what}` pattern `{pat}`: {}", e.kind()),
                        );
                        break;
                    }
                }
            }
            patterns.push(pat);
        }
        if !ok {
            return None;
        }
        match builder.build() {
            Ok(set) => Some(Globs { patterns, set }),
            Err(e) => {
                self.err(value.span, "bad-glob", e.to_string());
                None
            }
        }
    }

    fn regexes(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<Regex>> {
        let items = self.strings(value, what)?;
        let mut out = Vec::new();
        let mut ok = true;
        for (pat, span) in items {
            match Regex::new(&pat) {
                Ok(r) => out.push(r),
                Err(e) => {
                    ok = false;
                    let detail = e.to_string();
                    let last = detail.lines().last().unwrap_or("invalid regex").to_string();
                    self.err(span, "bad-regex", format!("`{what}` regex `{pat}`: {last}"));
                }
            }
        }
        ok.then_some(out)
    }

    fn rule(&mut self, value: &Value<'_>) -> Option<Rule> {
        let t = self.table(value, "rule")?;
        let location = self.location(value.span);
        let errors_before = self.errors.len();
        unknown_keys(t, &RULE_KEYS, "in rule", &RULE_KEYS, |span, msg| {
            self.err(span, "unknown-key", msg)
        });
        let get = |name: &str| t.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
        let required = |cx: &mut Self, name: &str| {
            let v = get(name);
            if v.is_none() {
                cx.err(value.span, "missing-key", format!("rule has no `{name}`"));
            }
            v
        };
        let id = required(self, "id").and_then(|v| {
            let s = self.string(v, "id")?;
            if !is_kebab(&s) {
                self.err(
                    v.span,
                    "bad-rule-id",
                    format!("rule id `{s}` must be kebab-case (a-z, 0-9, single dashes)"),
                );
                return None;
            }
            let here = self.location(v.span);
            if let Some((_, first)) = self.seen_ids.iter().find(|(id, _)| *id == s) {
                let message = format!("rule id `{s}` is already declared at {first}");
                self.err(v.span, "duplicate-rule-id", message);
                return None;
            }
            self.seen_ids.push((s.clone(), here));
            Some(s)
        });
        let severity = required(self, "severity").and_then(|v| {
            let s = self.string(v, "severity")?;
            let sev = Severity::parse(&s);
            if sev.is_none() {
                self.err(
                    v.span,
                    "bad-value",
                    format!(
                        "severity `{s}` is not one of: {}",
                        Severity::NAMES.join(", ")
                    ),
                );
            }
            sev
        });
        let title = required(self, "title").and_then(|v| self.string(v, "title"));
        let explanation = required(self, "explanation").and_then(|v| self.string(v, "explanation"));
        let references = required(self, "references")
            .and_then(|v| self.strings(v, "references"))
            .map(|v| v.into_iter().map(|(s, _)| s).collect::<Vec<_>>());
        if let (Some(refs), Some(v)) = (&references, get("references")) {
            if refs.is_empty() {
                self.err(v.span, "bad-value", "`references` needs at least one entry");
            }
        }
        let usrmerge = get("usrmerge")
            .and_then(|v| self.boolean(v, "usrmerge"))
            .unwrap_or(false);
        // Like dak's fatal lintian tags: a rule may refuse waivers; most rules accept them.
        let waivable = get("waivable")
            .and_then(|v| self.boolean(v, "waivable"))
            .unwrap_or(true);
        let empty = || Globs {
            patterns: Vec::new(),
            set: globset::GlobSet::empty(),
        };
        let packages = match get("packages") {
            Some(v) => self.globs(v, "packages", false),
            None => Some(empty()),
        };
        let exclude_packages = match get("exclude-packages") {
            Some(v) => self.globs(v, "exclude-packages", false),
            None => Some(empty()),
        };
        let paths = match get("paths") {
            Some(v) => self
                .globs(v, "paths", usrmerge)
                .map(|globs| Some(PathSelector { globs, usrmerge })),
            None => Some(None),
        };
        let presence = match get("presence") {
            Some(v) => self.string(v, "presence").and_then(|s| {
                let p = Presence::parse(&s);
                if p.is_none() {
                    self.err(
                        v.span,
                        "bad-value",
                        format!(
                            "presence `{s}` is not one of: {}",
                            Presence::NAMES.join(", ")
                        ),
                    );
                }
                p
            }),
            None => Some(Presence::Optional),
        };
        let assertion = required(self, "assert").and_then(|v| self.assertion(v));
        if let (Some(a), Some(p)) = (&assertion, &paths) {
            let span = get("paths").map_or(value.span, |v| v.span);
            match a {
                Assertion::Sysctl { .. } if p.is_some() => self.err(
                    span,
                    "bad-value",
                    "a `sysctl` rule reads every sysctl.d file in the set; it takes no `paths`",
                ),
                Assertion::Sysctl { .. } => {}
                _ if p.is_none() => self.err(
                    span,
                    "missing-key",
                    format!("a `{}` rule needs `paths`", a.kind()),
                ),
                _ => {}
            }
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Rule {
            id: id?,
            severity: severity?,
            title: title?,
            explanation: explanation?,
            references: references?,
            packages: packages?,
            exclude_packages: exclude_packages?,
            paths: paths?,
            presence: presence?,
            assertion: assertion?,
            waivable,
            location,
        })
    }

    fn assertion(&mut self, value: &Value<'_>) -> Option<Assertion> {
        let t = self.table(value, "assert")?;
        let get = |name: &str| t.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
        let Some(kind_v) = get("kind") else {
            self.err(
                value.span,
                "missing-key",
                format!(
                    "`assert` has no `kind`; expected one of: {}",
                    Assertion::KINDS.join(", ")
                ),
            );
            return None;
        };
        let kind = self.string(kind_v, "kind")?;
        let allowed: &[&str] = match kind.as_str() {
            "kconfig" => &["kind", "expect"],
            "file-state" => &[
                "kind",
                "type",
                "mode",
                "max-mode",
                "owner",
                "group",
                "setuid",
                "setgid",
                "capabilities",
                "forbid-capabilities",
                "allow-capabilities",
            ],
            "text" => &["kind", "must-match", "must-not-match", "conffile"],
            "sysctl" => &["kind", "key", "allowed", "forbidden", "unset"],
            "exists" => &["kind"],
            other => {
                self.err(
                    kind_v.span,
                    "unknown-assertion-kind",
                    format!(
                        "unknown assertion kind `{other}`; expected one of: {}",
                        Assertion::KINDS.join(", ")
                    ),
                );
                return None;
            }
        };
        let before = self.errors.len();
        // `kind` itself is allowed but not worth suggesting.
        let what = format!("for a `{kind}` assertion");
        unknown_keys(t, allowed, &what, &allowed[1..], |span, msg| {
            self.err(span, "unknown-key", msg)
        });
        let assertion = match kind.as_str() {
            "kconfig" => self.kconfig(value, get("expect")),
            "file-state" => self.file_state(&get),
            "text" => {
                let must_match =
                    get("must-match").map_or(Some(Vec::new()), |v| self.regexes(v, "must-match"));
                let must_not_match = get("must-not-match")
                    .map_or(Some(Vec::new()), |v| self.regexes(v, "must-not-match"));
                let conffile = get("conffile").map(|v| self.boolean(v, "conffile"));
                Some(Assertion::Text {
                    must_match: must_match?,
                    must_not_match: must_not_match?,
                    conffile: conffile.unwrap_or(None),
                })
            }
            "sysctl" => {
                let key = match get("key") {
                    Some(v) => self.string(v, "key"),
                    None => {
                        self.err(
                            value.span,
                            "missing-key",
                            "a `sysctl` assertion needs `key`",
                        );
                        None
                    }
                };
                let list = |cx: &mut Self, name: &str| {
                    get(name).map_or(Some(Vec::new()), |v| {
                        cx.strings(v, name)
                            .map(|v| v.into_iter().map(|(s, _)| s).collect())
                    })
                };
                let allowed = list(self, "allowed");
                let forbidden = list(self, "forbidden");
                let unset_passes = match get("unset") {
                    None => Some(true),
                    Some(v) => match self.string(v, "unset").as_deref() {
                        Some("pass") => Some(true),
                        Some("fail") => Some(false),
                        Some(s) => {
                            self.err(
                                v.span,
                                "bad-value",
                                format!("unset `{s}` is not one of: pass, fail"),
                            );
                            None
                        }
                        None => None,
                    },
                };
                if allowed.as_ref().is_some_and(|a| a.is_empty())
                    && forbidden.as_ref().is_some_and(|f| f.is_empty())
                {
                    self.err(
                        value.span,
                        "missing-key",
                        "a `sysctl` assertion needs `allowed` or `forbidden`",
                    );
                }
                Some(Assertion::Sysctl {
                    key: key?,
                    allowed: allowed?,
                    forbidden: forbidden?,
                    unset_passes: unset_passes?,
                })
            }
            _ => Some(Assertion::Exists),
        };
        if self.errors.len() > before {
            return None;
        }
        assertion
    }

    fn kconfig(&mut self, value: &Value<'_>, expect: Option<&Value<'_>>) -> Option<Assertion> {
        let Some(v) = expect else {
            self.err(
                value.span,
                "missing-key",
                "a `kconfig` assertion needs `expect = { OPTION = \"y\" }`",
            );
            return None;
        };
        let t = self.table(v, "expect")?;
        if t.is_empty() {
            self.err(v.span, "bad-value", "`expect` names no option");
        }
        let mut out = Vec::new();
        for (key, val) in t {
            let opt = key.name.to_string();
            if !opt.starts_with("CONFIG_") || opt.len() <= "CONFIG_".len() {
                self.err(
                    key.span,
                    "bad-value",
                    format!("`{opt}` is not a kernel config option name (CONFIG_...)"),
                );
                continue;
            }
            if let Some(values) = self.strings(val, &opt) {
                if values.is_empty() {
                    self.err(val.span, "bad-value", format!("`{opt}` allows no value"));
                }
                out.push((opt, values.into_iter().map(|(s, _)| s).collect()));
            }
        }
        Some(Assertion::Kconfig { expect: out })
    }

    fn file_state<'v, 'de: 'v>(
        &mut self,
        get: &dyn Fn(&str) -> Option<&'v Value<'de>>,
    ) -> Option<Assertion> {
        let mut a = FileStateAssert::default();
        let mut ok = true;
        if let Some(v) = get("type") {
            let s = self.string(v, "type")?;
            a.kind = [
                EntryKind::File,
                EntryKind::Dir,
                EntryKind::Symlink,
                EntryKind::HardLink,
                EntryKind::CharDevice,
                EntryKind::BlockDevice,
                EntryKind::Fifo,
            ]
            .into_iter()
            .find(|k| k.as_str() == s);
            if a.kind.is_none() {
                ok = false;
                self.err(v.span, "bad-value", format!("type `{s}` is not one of: file, dir, symlink, hard-link, char-device, block-device, fifo"));
            }
        }
        for (name, slot) in [("mode", &mut a.mode), ("max-mode", &mut a.max_mode)] {
            if let Some(v) = get(name) {
                match self.string(v, name) {
                    Some(s)
                        if (3..=4).contains(&s.len())
                            && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) =>
                    {
                        *slot = u32::from_str_radix(&s, 8).ok();
                    }
                    Some(s) => {
                        ok = false;
                        self.err(
                            v.span,
                            "bad-value",
                            format!("{name} `{s}` must be 3 or 4 octal digits, e.g. \"0755\""),
                        );
                    }
                    None => ok = false,
                }
            }
        }
        for (name, slot) in [("owner", &mut a.owner), ("group", &mut a.group)] {
            if let Some(v) = get(name) {
                *slot = self.string(v, name);
                ok &= slot.is_some();
            }
        }
        for (name, slot) in [("setuid", &mut a.setuid), ("setgid", &mut a.setgid)] {
            if let Some(v) = get(name) {
                *slot = self.boolean(v, name);
                ok &= slot.is_some();
            }
        }
        let mut cap_rules = Vec::new();
        if let Some(v) = get("capabilities") {
            match self.string(v, "capabilities").as_deref() {
                Some("none") => cap_rules.push(CapsRule::None),
                Some("any") => {}
                Some(s) => {
                    ok = false;
                    self.err(v.span, "bad-value", format!("capabilities `{s}` is not one of: none, any (use forbid-capabilities or allow-capabilities for lists)"));
                }
                None => ok = false,
            }
        }
        for name in ["forbid-capabilities", "allow-capabilities"] {
            if let Some(v) = get(name) {
                let Some(items) = self.strings(v, name) else {
                    ok = false;
                    continue;
                };
                let mut mask = 0u64;
                for (cap, span) in items {
                    match caps::number(&cap) {
                        Some(n) if cap.to_ascii_lowercase().starts_with("cap_") => mask |= 1 << n,
                        _ => {
                            ok = false;
                            self.err(
                                span,
                                "unknown-capability",
                                format!("`{cap}` is not a capability name (e.g. cap_net_raw)"),
                            );
                        }
                    }
                }
                cap_rules.push(if name == "forbid-capabilities" {
                    CapsRule::Forbid(mask)
                } else {
                    CapsRule::Allow(mask)
                });
            }
        }
        if cap_rules.len() > 1 {
            ok = false;
            self.err(
                get("capabilities")
                    .or(get("allow-capabilities"))
                    .map_or(Span::new(0, 0), |v| v.span),
                "conflicting-keys",
                "use only one of capabilities, forbid-capabilities and allow-capabilities",
            );
        }
        a.capabilities = cap_rules.pop();
        ok.then_some(Assertion::FileState(a))
    }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}
