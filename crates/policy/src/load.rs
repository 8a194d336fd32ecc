//! Loading policy files: TOML parsed with source spans, validated completely so that a bad file
//! gets every error at once, each with `file:line:column` and a stable [`Code`]. The keys every
//! rule has are read here; each assertion kind reads its own `assert` table (see
//! [`crate::kinds`]).

use crate::diagnostic::{get, is_kebab, Code, Diagnostic, Diagnostics, Doc, Location};
use crate::kinds;
use crate::model::{
    Assertion, Globs, Pairing, PathSelector, PolicyInfo, Presence, Rule, RuleSet, Severity,
};
use crate::when::When;
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::EntryKind;
use globset::{GlobBuilder, GlobSetBuilder};
use std::path::{Path, PathBuf};
use toml_span::{Span, Value};

/// Every key the loader accepts, by where it is written (`rule`, `kernel.compiler`,
/// `assert kind = "sysctl"`, ...): what docs/policy.md must document, no more and no less.
pub fn accepted_keys() -> Vec<(String, Vec<&'static str>)> {
    let mut out = vec![
        ("file".to_string(), FILE_KEYS.to_vec()),
        ("policy".to_string(), POLICY_KEYS.to_vec()),
        ("rule".to_string(), RULE_KEYS.to_vec()),
        ("pairing".to_string(), PAIRING_KEYS.to_vec()),
        ("when".to_string(), crate::when::KEYS.to_vec()),
        ("kernel".to_string(), crate::kernel::KERNEL_KEYS.to_vec()),
        (
            "kernel.compiler".to_string(),
            crate::kernel::COMPILER_KEYS.to_vec(),
        ),
        (
            "kernel.sysctl-default".to_string(),
            crate::kernel::SYSCTL_DEFAULT_KEYS.to_vec(),
        ),
    ];
    for spec in &kinds::ALL {
        out.push((format!("kind {}", spec.name), spec.keys.to_vec()));
    }
    out.push(("allow".to_string(), crate::allowlist::KEYS.to_vec()));
    out.push((
        "allow.unresolved".to_string(),
        crate::allowlist::UNRESOLVED_KEYS.to_vec(),
    ));
    out
}

/// Load policy files and directories (every `*.toml` in a directory, sorted by name).
pub fn load_paths(paths: &[PathBuf]) -> Result<RuleSet, Diagnostics> {
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
        Ok(_) => Err(Diagnostics(errors)),
        Err(Diagnostics(more)) => {
            errors.extend(more);
            Err(Diagnostics(errors))
        }
    }
}

fn io_error(p: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic {
        location: Location::whole(p.display().to_string()),
        code: Code::UnreadablePolicy,
        message: e.to_string(),
    }
}

/// Load policies from `(display name, text)` pairs, e.g. the bundled ones; the files they name
/// (allow-lists) are read from the host.
pub fn load_sources(sources: &[(&str, &str)]) -> Result<RuleSet, Diagnostics> {
    let sources: Vec<Source<'_>> = sources
        .iter()
        .map(|(name, text)| Source {
            name,
            text,
            bundled: false,
        })
        .collect();
    load_sources_with(&sources, &LoadOptions::default())
}

/// One policy to load.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// As messages name it.
    pub name: &'a str,
    pub text: &'a str,
    /// Embedded in the binary: the files it names are read from [`LoadOptions::embedded`],
    /// never from the host.
    pub bundled: bool,
}

/// How policies are loaded beyond their text.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions<'a> {
    /// The files embedded with the bundled policies, by name (`policies/allowlists/x.toml`).
    pub embedded: &'a [(&'a str, &'a str)],
    /// Accept allow-lists whose reasons still say TODO.
    pub allow_todo: bool,
}

/// Load policies, each with where the files it names come from.
pub fn load_sources_with(
    sources: &[Source<'_>],
    opts: &LoadOptions<'_>,
) -> Result<RuleSet, Diagnostics> {
    let mut errors = Vec::new();
    let mut ids = Ids::default();
    let mut set = RuleSet::default();
    // Where each rule names an architecture or compiler, checked once every file's `[kernel]`
    // tables are in.
    let mut names = Vec::new();
    for source in sources {
        let mut doc = Doc::new(source.name, source.text);
        doc.beside.allow_todo = opts.allow_todo;
        if source.bundled {
            doc.beside.embedded = Some(opts.embedded);
        }
        let first = set.rules.len();
        file(&mut doc, &mut ids, &mut set);
        errors.extend(doc.diagnostics);
        for r in &set.rules[first..] {
            let used = r.assertion.get().kernel_names().into_iter();
            let used = used.chain(r.when.iter().flat_map(When::kernel_names));
            names.extend(used.map(|(what, n)| (what, n, r.location.clone())));
        }
    }
    for (what, name, location) in names {
        let known = match what {
            "arch" => set.kernel.knows_arch(&name),
            _ => set.kernel.knows_compiler(&name),
        };
        if !known {
            let table = if what == "arch" {
                "kernel.arch"
            } else {
                "kernel.compiler"
            };
            errors.push(Diagnostic {
                location,
                code: Code::BadValue,
                message: format!(
                    "{what} `{name}` is not declared in any policy's [{table}] table, so the rule could never apply"
                ),
            });
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(Diagnostics(errors))
    }
}

/// What loading remembers across rules and files: ids declared so far (to catch duplicates),
/// and globs already compiled (a profile of a thousand rules over `/boot/config-*` compiles the
/// pattern once, not a thousand times).
#[derive(Default)]
struct Ids {
    rules: Vec<(String, Location)>,
    pairings: Vec<(String, Location)>,
    globs: std::collections::HashMap<(Vec<String>, bool, bool), Globs>,
}

/// The top-level keys of a policy file.
pub const FILE_KEYS: [&str; 4] = ["policy", "rule", "pairing", "kernel"];

/// The keys of `[policy]`.
pub const POLICY_KEYS: [&str; 4] = ["name", "title", "description", "default"];

/// The keys of a `[[pairing]]`.
pub const PAIRING_KEYS: [&str; 3] = ["id", "pattern", "explanation"];

/// The keys of a `[[rule]]`.
pub const RULE_KEYS: [&str; 16] = [
    "id",
    "severity",
    "title",
    "explanation",
    "references",
    "tags",
    "packages",
    "exclude-packages",
    "paths",
    "exclude-paths",
    "types",
    "usrmerge",
    "presence",
    "when",
    "assert",
    "waivable",
];

/// One policy file's `[policy]`, `[[rule]]` and `[[pairing]]` tables, into `set`.
fn file(doc: &mut Doc<'_>, ids: &mut Ids, set: &mut RuleSet) {
    let Some(table) = doc.parse("a policy file") else {
        return;
    };
    let stem = std::path::Path::new(doc.file).file_stem().map_or_else(
        || doc.file.to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    let mut info = PolicyInfo {
        file: doc.file.to_string(),
        name: stem,
        title: None,
        description: None,
        default: false,
        rules: Vec::new(),
        pairings: 0,
    };
    let (first_rule, first_pairing) = (set.rules.len(), set.pairings.len());
    let mut saw_rules = false;
    let mut saw_pairings = false;
    let mut saw_kernel = false;
    for (key, value) in &table {
        match key.name.as_ref() {
            "policy" => policy_header(doc, value, &mut info),
            "kernel" => {
                saw_kernel = true;
                set.kernel.load(doc, value);
            }
            "rule" => {
                saw_rules = true;
                for item in doc.tables(value, "rule").unwrap_or_default() {
                    if let Some(r) = rule(doc, ids, item) {
                        set.rules.push(r);
                    }
                }
            }
            "pairing" => {
                saw_pairings = true;
                for item in doc.tables(value, "pairing").unwrap_or_default() {
                    if let Some(p) = pairing(doc, ids, item) {
                        set.pairings.push(p);
                    }
                }
            }
            other => doc.error(
                key.span,
                Code::UnknownKey,
                format!("unknown top-level key `{other}`; expected `policy`, `rule`, `pairing` or `kernel`"),
            ),
        }
    }
    info.rules = set.rules[first_rule..]
        .iter()
        .map(|r| r.id.clone())
        .collect();
    info.pairings = set.pairings.len() - first_pairing;
    set.policies.push(info);
    // A file of pairings or kernel facts only is useful (`debgate diff` reads pairings; rules
    // of other files read the facts); an empty file is a mistake.
    if !saw_rules && !saw_pairings && !saw_kernel {
        doc.error(
            Span::new(0, 0),
            Code::NoRules,
            "the file declares no `[[rule]]`, `[[pairing]]` or `[kernel]` table",
        );
    }
}

fn policy_header(doc: &mut Doc<'_>, value: &Value<'_>, info: &mut PolicyInfo) {
    let Some(t) = doc.table(value, "policy") else {
        return;
    };
    for (key, v) in t {
        match key.name.as_ref() {
            "name" => {
                if let Some(n) = doc.string(v, "name") {
                    if is_kebab(&n) {
                        info.name = n;
                    } else {
                        doc.error(v.span, Code::BadValue, format!("policy name `{n}` must be kebab-case (a-z, 0-9, single dashes)"));
                    }
                }
            }
            "title" => info.title = doc.string(v, "title"),
            "description" => info.description = doc.string(v, "description"),
            "default" => info.default = doc.boolean(v, "default").unwrap_or(false),
            other => doc.error(
                key.span,
                Code::UnknownKey,
                format!("unknown key `{other}` in [policy]; expected name, title, description or default"),
            ),
        }
    }
}

/// A kebab-case id not declared before in `seen`; `what` is "rule" or "pairing".
fn id(
    doc: &mut Doc<'_>,
    seen: &mut Vec<(String, Location)>,
    v: &Value<'_>,
    what: &str,
) -> Option<String> {
    let s = doc.string(v, "id")?;
    if !is_kebab(&s) {
        doc.error(
            v.span,
            Code::BadRuleId,
            format!("{what} id `{s}` must be kebab-case (a-z, 0-9, single dashes)"),
        );
        return None;
    }
    let here = doc.location(v.span);
    if let Some((_, first)) = seen.iter().find(|(id, _)| *id == s) {
        let message = format!("{what} id `{s}` is already declared at {first}");
        doc.error(v.span, Code::DuplicateRuleId, message);
        return None;
    }
    seen.push((s.clone(), here));
    Some(s)
}

/// One `[[pairing]]`: `id` (kebab-case, unique), `pattern` (a regex with a group named `abi`),
/// and an optional `explanation`.
fn pairing(doc: &mut Doc<'_>, ids: &mut Ids, value: &Value<'_>) -> Option<Pairing> {
    let t = doc.table(value, "pairing")?;
    let location = doc.location(value.span);
    let mark = doc.mark();
    doc.unknown_keys(t, &PAIRING_KEYS, "in pairing", &PAIRING_KEYS);
    let id = doc
        .required(t, "id", value.span, "pairing", "")
        .and_then(|v| id(doc, &mut ids.pairings, v, "pairing"));
    let pattern = doc
        .required(t, "pattern", value.span, "pairing", "")
        .and_then(|v| {
            let mut r = doc.regexes(v, "pattern")?;
            if r.len() != 1 {
                doc.error(v.span, Code::WrongType, "`pattern` must be one regex");
                return None;
            }
            let r = r.pop()?;
            if !r.capture_names().flatten().any(|n| n == "abi") {
                doc.error(
                    v.span,
                    Code::BadRegex,
                    format!(
                        "pairing pattern `{}` has no group named `abi` (`(?P<abi>...)`)",
                        r.as_str()
                    ),
                );
                return None;
            }
            Some(r)
        });
    if let Some(v) = get(t, "explanation") {
        doc.string(v, "explanation");
    }
    if doc.failed_since(mark) {
        return None;
    }
    Some(Pairing {
        id: id?,
        pattern: pattern?,
        location,
    })
}

fn empty_globs() -> Globs {
    Globs {
        patterns: Vec::new(),
        set: globset::GlobSet::empty(),
    }
}

/// Package-name globs (`what` = `packages`), or path globs, also compiled in their `/usr` form
/// when `usrmerge`.
fn globs(
    doc: &mut Doc<'_>,
    ids: &mut Ids,
    value: &Value<'_>,
    what: &str,
    usrmerge: bool,
) -> Option<Globs> {
    let items = doc.strings(value, what)?;
    let paths = what != "packages" && what != "exclude-packages";
    let key = (
        items.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        usrmerge,
        paths,
    );
    if let Some(g) = ids.globs.get(&key) {
        return Some(g.clone());
    }
    let compiled = compile_globs(doc, value, items, what, usrmerge)?;
    ids.globs.insert(key, compiled.clone());
    Some(compiled)
}

fn compile_globs(
    doc: &mut Doc<'_>,
    value: &Value<'_>,
    items: Vec<(String, Span)>,
    what: &str,
    usrmerge: bool,
) -> Option<Globs> {
    let mut builder = GlobSetBuilder::new();
    let mut patterns = Vec::new();
    let mut ok = true;
    let paths = what != "packages" && what != "exclude-packages";
    for (pat, span) in items {
        let mut forms = vec![pat.clone()];
        if usrmerge {
            forms.push(usrmerge_canonical(&pat));
        }
        for form in forms {
            // `literal_separator` so that `*` stays within one path component, as in a shell.
            match GlobBuilder::new(&form).literal_separator(paths).build() {
                Ok(g) => {
                    builder.add(g);
                }
                Err(e) => {
                    ok = false;
                    doc.error(
                        span,
                        Code::BadGlob,
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
            doc.error(value.span, Code::BadGlob, e.to_string());
            None
        }
    }
}

fn rule(doc: &mut Doc<'_>, ids: &mut Ids, value: &Value<'_>) -> Option<Rule> {
    let t = doc.table(value, "rule")?;
    let location = doc.location(value.span);
    let mark = doc.mark();
    doc.unknown_keys(t, &RULE_KEYS, "in rule", &RULE_KEYS);
    let at = value.span;
    let id = doc
        .required(t, "id", at, "rule", "")
        .and_then(|v| id(doc, &mut ids.rules, v, "rule"));
    let severity = doc
        .required(t, "severity", at, "rule", "")
        .and_then(|v| doc.one_of(v, "severity", &Severity::NAMES))
        .and_then(|s| Severity::parse(&s));
    let title = doc
        .required(t, "title", at, "rule", "")
        .and_then(|v| doc.string(v, "title"));
    let explanation = doc
        .required(t, "explanation", at, "rule", "")
        .and_then(|v| doc.string(v, "explanation"));
    let references = doc.required(t, "references", at, "rule", "").and_then(|v| {
        let refs = doc.string_list(v, "references")?;
        if refs.is_empty() {
            doc.error(
                v.span,
                Code::BadValue,
                "`references` needs at least one entry",
            );
        }
        Some(refs)
    });
    let usrmerge = get(t, "usrmerge")
        .and_then(|v| doc.boolean(v, "usrmerge"))
        .unwrap_or(false);
    // Like dak's fatal lintian tags: a rule may refuse waivers; most rules accept them.
    let waivable = get(t, "waivable")
        .and_then(|v| doc.boolean(v, "waivable"))
        .unwrap_or(true);
    let packages = match get(t, "packages") {
        Some(v) => globs(doc, ids, v, "packages", false),
        None => Some(empty_globs()),
    };
    let exclude_packages = match get(t, "exclude-packages") {
        Some(v) => globs(doc, ids, v, "exclude-packages", false),
        None => Some(empty_globs()),
    };
    let paths = match get(t, "paths") {
        Some(v) => globs(doc, ids, v, "paths", usrmerge)
            .map(|globs| Some(PathSelector { globs, usrmerge })),
        None => Some(None),
    };
    let exclude_paths = match get(t, "exclude-paths") {
        Some(v) => globs(doc, ids, v, "exclude-paths", usrmerge)
            .map(|globs| Some(PathSelector { globs, usrmerge })),
        None => Some(None),
    };
    let types = match get(t, "types") {
        None => Some(Vec::new()),
        Some(v) => entry_types(doc, v),
    };
    let tags = match get(t, "tags") {
        None => Some(Vec::new()),
        Some(v) => doc.string_list(v, "tags").and_then(|tags| {
            if let Some(bad) = tags.iter().find(|t| t.trim().is_empty()) {
                doc.error(v.span, Code::BadValue, format!("tag `{bad}` is empty"));
                return None;
            }
            Some(tags)
        }),
    };
    let when = match get(t, "when") {
        None => Some(None),
        Some(v) => When::parse(doc, v).map(Some),
    };
    let presence = match get(t, "presence") {
        Some(v) => doc
            .one_of(v, "presence", &Presence::NAMES)
            .and_then(|s| Presence::parse(&s)),
        None => Some(Presence::Optional),
    };
    let assertion = doc
        .required(t, "assert", at, "rule", "")
        .and_then(|v| kinds::parse(doc, v, "assert").map(Assertion::new));
    if let (Some(a), Some(p)) = (&assertion, &paths) {
        let span = get(t, "paths").map_or(at, |v| v.span);
        let kind = a.get();
        // A set-scoped kind given `paths` judges each selected kernel config instead; only
        // kinds judged on a kernel config can.
        match (kind.scope(), p) {
            (kinds::Scope::Set, Some(_)) if !kind.is_operand() => doc.error(
                span,
                Code::BadValue,
                format!(
                    "a `{}` rule reads every file it needs in the set; it takes no `paths`",
                    a.kind()
                ),
            ),
            (kinds::Scope::Set, _) | (_, Some(_)) => {}
            (_, None) => doc.error(
                span,
                Code::MissingKey,
                format!("a `{}` rule needs `paths`", a.kind()),
            ),
        }
        if let (Some(Some(_)), Some(w)) = (&when, get(t, "when")) {
            if !kind.is_operand() || p.is_none() {
                doc.error(
                    w.span,
                    Code::BadValue,
                    "`when` is judged on a kernel config: it needs a rule whose `paths` select kernel configs and whose assertion is judged on one (kconfig, sysctl, version, arch, compiler, cmdline, any-of, all-of, not)",
                );
            }
        }
    }
    if doc.failed_since(mark) {
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
        exclude_paths: exclude_paths?,
        types: types?,
        presence: presence?,
        tags: tags?,
        when: when?,
        assertion: assertion?,
        waivable,
        location,
    })
}

/// `types = ["file", "dir", ...]`: entry types a rule selects.
fn entry_types(doc: &mut Doc<'_>, v: &Value<'_>) -> Option<Vec<EntryKind>> {
    let names: Vec<&str> = EntryKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut out = Vec::new();
    let mut ok = true;
    for (s, span) in doc.strings(v, "types")? {
        match EntryKind::parse(&s) {
            Some(k) => out.push(k),
            None => {
                ok = false;
                doc.error(
                    span,
                    Code::BadValue,
                    format!("type `{s}` is not one of: {}", names.join(", ")),
                );
            }
        }
    }
    if out.is_empty() && ok {
        doc.error(v.span, Code::BadValue, "`types` selects no type");
        return None;
    }
    ok.then_some(out)
}
