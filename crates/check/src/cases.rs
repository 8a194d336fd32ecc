//! Policy tests as data (the idea of semgrep's `--test` and `opa test`): small package sets,
//! each written as plain files in a TOML case file, with the status each named rule must reach.
//! A case is judged by the same analysis and evaluation as a real run, from package facts built
//! in memory: nothing is written and no `.deb` is read.
//!
//! ```toml
//! policy = "../kspp.toml"                # the policy it tests: a path (relative to this
//!                                        # file) or a bundled policy's name
//! [[case]]
//! name = "hardened x86_64 kernel"
//! [[case.package]]
//! name = "linux-image-6.1.0-1-amd64"     # Package:; Version: is 1.0 unless `version`
//! conffiles = ["/etc/x.conf"]            # optional
//! scripts = { postinst = "#!/bin/sh\n..." }
//! [[case.package.file]]
//! path = "/boot/config-6.1.0-1-amd64"
//! content = "CONFIG_...=y\n"             # or content-file = "RELATIVE/PATH" (to the case file)
//! # kind = "file" | "dir" | "symlink" | "fifo" | "char-device" | "block-device"; mode = "0644";
//! # owner/group = "root"; uid/gid = 0 (the header's numeric ids; default 0 for root, else
//! # 1); caps; target
//! [[case.expect]]
//! rule = "kspp-x86-64-bug"
//! status = "fail"                        # the rule's verdict on the case (see `verdict`)
//! message-contains = "..."               # optional: some result's message holds it
//! ```

use crate::analyze_package;
use debgate_facts::caps::{CapSet, FileCaps};
use debgate_facts::{
    Conffile, Content, Control, Entry, EntryKind, Package, Script, ScriptName, CAPABILITY_XATTR,
};
use debgate_policy::diagnostic::{get, Code, Diagnostic, Diagnostics, Doc, Location};
use debgate_policy::{evaluate, RuleSet, Status};
use debgate_reader::Limits;
use std::collections::BTreeMap;
use std::path::Path;
use toml_span::Value;

/// One case: its packages and what each named rule must conclude.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub location: Location,
    pub packages: Vec<Package>,
    pub expect: Vec<Expect>,
}

#[derive(Debug, Clone)]
pub struct Expect {
    pub rule: String,
    pub status: Status,
    pub message_contains: Option<String>,
    pub location: Location,
}

/// What became of one expectation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub case: String,
    pub rule: String,
    pub want: Status,
    /// Every result of the rule, with its message.
    pub got: Vec<(Status, String)>,
    pub ok: bool,
    /// Where the expectation is written.
    pub location: Location,
}

/// A case file: the policy it names, if any, and its cases.
#[derive(Debug, Clone)]
pub struct CaseFile {
    pub policy: Option<String>,
    pub cases: Vec<Case>,
}

/// Read a case file. Its directory resolves `content-file` and a relative `policy`.
pub fn load_case_file(path: &Path) -> Result<CaseFile, Diagnostics> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Diagnostics(vec![Diagnostic {
            location: Location::whole(name.clone()),
            code: Code::UnreadablePolicy,
            message: e.to_string(),
        }])
    })?;
    parse_case_file(&name, &text, path.parent().unwrap_or(Path::new(".")))
}

/// Read a case file's cases (its `policy`, if any, is not looked at).
pub fn load_cases(path: &Path) -> Result<Vec<Case>, Diagnostics> {
    load_case_file(path).map(|f| f.cases)
}

/// Parse case text; `base` resolves `content-file`.
pub fn parse_cases(file: &str, text: &str, base: &Path) -> Result<Vec<Case>, Diagnostics> {
    parse_case_file(file, text, base).map(|f| f.cases)
}

/// Parse a case file; `base` resolves `content-file` and a relative `policy`.
pub fn parse_case_file(file: &str, text: &str, base: &Path) -> Result<CaseFile, Diagnostics> {
    let mut doc = Doc::new(file, text);
    let mut cases = Vec::new();
    let mut policy = None;
    if let Some(table) = doc.parse("a case file") {
        doc.unknown_keys(
            &table,
            &["policy", "case"],
            "at the top of a case file",
            &["policy", "case"],
        );
        if let Some(v) = get(&table, "policy") {
            policy = doc.nonempty_string(v, "policy").map(|p| {
                if p.contains('/') || p.ends_with(".toml") {
                    base.join(p).display().to_string()
                } else {
                    p
                }
            });
        }
        if let Some(v) = get(&table, "case") {
            for item in doc.tables(v, "case").unwrap_or_default() {
                if let Some(c) = case(&mut doc, item, base) {
                    cases.push(c);
                }
            }
        }
        if cases.is_empty() && doc.diagnostics.is_empty() {
            doc.error(
                toml_span::Span::new(0, 0),
                Code::NoRules,
                "the file declares no `[[case]]`",
            );
        }
    }
    let diagnostics = doc.finish();
    if diagnostics.is_empty() {
        Ok(CaseFile { policy, cases })
    } else {
        Err(Diagnostics(diagnostics))
    }
}

fn case(doc: &mut Doc<'_>, value: &Value<'_>, base: &Path) -> Option<Case> {
    let t = doc.table(value, "case")?;
    let mark = doc.mark();
    const KEYS: [&str; 3] = ["name", "package", "expect"];
    doc.unknown_keys(t, &KEYS, "in a case", &KEYS);
    let name = doc
        .required(t, "name", value.span, "case", "")
        .and_then(|v| doc.nonempty_string(v, "name"));
    let mut packages = Vec::new();
    if let Some(v) = get(t, "package") {
        for item in doc.tables(v, "package").unwrap_or_default() {
            if let Some(p) = package(doc, item, base) {
                packages.push(p);
            }
        }
    }
    let mut expect = Vec::new();
    match doc.required(
        t,
        "expect",
        value.span,
        "case",
        " (what should each rule conclude?)",
    ) {
        None => {}
        Some(v) => {
            for item in doc.tables(v, "expect").unwrap_or_default() {
                if let Some(e) = expectation(doc, item) {
                    expect.push(e);
                }
            }
        }
    }
    if doc.failed_since(mark) {
        return None;
    }
    Some(Case {
        name: name?,
        location: doc.location(value.span),
        packages,
        expect,
    })
}

fn expectation(doc: &mut Doc<'_>, value: &Value<'_>) -> Option<Expect> {
    let t = doc.table(value, "expect")?;
    const KEYS: [&str; 3] = ["rule", "status", "message-contains"];
    doc.unknown_keys(t, &KEYS, "in an expectation", &KEYS);
    let rule = doc
        .required(t, "rule", value.span, "expectation", "")
        .and_then(|v| doc.nonempty_string(v, "rule"));
    let status = doc
        .required(t, "status", value.span, "expectation", "")
        .and_then(|v| doc.one_of(v, "status", &["pass", "fail", "not-applicable"]))
        .map(|s| match s.as_str() {
            "pass" => Status::Pass,
            "fail" => Status::Fail,
            _ => Status::NotApplicable,
        });
    let message_contains =
        get(t, "message-contains").and_then(|v| doc.nonempty_string(v, "message-contains"));
    Some(Expect {
        rule: rule?,
        status: status?,
        message_contains,
        location: doc.location(value.span),
    })
}

fn package(doc: &mut Doc<'_>, value: &Value<'_>, base: &Path) -> Option<Package> {
    let t = doc.table(value, "package")?;
    const KEYS: [&str; 6] = [
        "name",
        "version",
        "architecture",
        "conffiles",
        "scripts",
        "file",
    ];
    doc.unknown_keys(t, &KEYS, "in a case package", &KEYS);
    let name = doc
        .required(t, "name", value.span, "package", "")
        .and_then(|v| doc.nonempty_string(v, "name"))?;
    let version = get(t, "version")
        .and_then(|v| doc.nonempty_string(v, "version"))
        .unwrap_or_else(|| "1.0".into());
    let architecture = get(t, "architecture")
        .and_then(|v| doc.nonempty_string(v, "architecture"))
        .unwrap_or_else(|| "amd64".into());
    let conffiles = get(t, "conffiles")
        .and_then(|v| doc.string_list(v, "conffiles"))
        .unwrap_or_default();
    let mut scripts = Vec::new();
    if let Some(v) = get(t, "scripts") {
        if let Some(st) = doc.table(v, "scripts") {
            for (k, text) in st {
                let script = match k.name.as_ref() {
                    "preinst" => ScriptName::Preinst,
                    "postinst" => ScriptName::Postinst,
                    "prerm" => ScriptName::Prerm,
                    "postrm" => ScriptName::Postrm,
                    "config" => ScriptName::Config,
                    other => {
                        doc.error(
                            k.span,
                            Code::UnknownKey,
                            format!("`{other}` is not a maintainer script"),
                        );
                        continue;
                    }
                };
                if let Some(text) = doc.string(text, &k.name) {
                    scripts.push(Script {
                        name: script,
                        text,
                        truncated: false,
                    });
                }
            }
        }
    }
    let mut entries = Vec::new();
    let mut contents = BTreeMap::new();
    if let Some(v) = get(t, "file") {
        for item in doc.tables(v, "file").unwrap_or_default() {
            if let Some((e, c)) = file(doc, item, base) {
                if let Some(c) = c {
                    contents.insert(e.path.clone(), c);
                }
                entries.push(e);
            }
        }
    }
    Some(Package {
        file: format!("{name}_{version}_{architecture}.deb").into(),
        control: Control {
            fields: vec![
                ("Package".into(), name),
                ("Version".into(), version),
                ("Architecture".into(), architecture),
            ],
        },
        conffiles: conffiles
            .into_iter()
            .map(|path| Conffile {
                path,
                flags: Vec::new(),
            })
            .collect(),
        scripts,
        entries,
        contents,
        ..Default::default()
    })
}

fn file(doc: &mut Doc<'_>, value: &Value<'_>, base: &Path) -> Option<(Entry, Option<Content>)> {
    let t = doc.table(value, "file")?;
    const KEYS: [&str; 11] = [
        "path",
        "kind",
        "mode",
        "owner",
        "group",
        "uid",
        "gid",
        "caps",
        "target",
        "content",
        "content-file",
    ];
    let mark = doc.mark();
    doc.unknown_keys(t, &KEYS, "in a case file entry", &KEYS);
    let path = doc
        .required(t, "path", value.span, "file", "")
        .and_then(|v| doc.nonempty_string(v, "path"))?;
    let kind = match get(t, "kind") {
        None => EntryKind::File,
        Some(v) => {
            let names: Vec<&str> = EntryKind::ALL
                .iter()
                .filter(|k| **k != EntryKind::HardLink)
                .map(|k| k.as_str())
                .collect();
            EntryKind::parse(&doc.one_of(v, "kind", &names)?)?
        }
    };
    let mode = match get(t, "mode") {
        None if kind == EntryKind::Symlink => 0o777,
        None => 0o755,
        Some(v) => {
            let s = doc.string(v, "mode")?;
            match u32::from_str_radix(&s, 8) {
                Ok(m) if m <= 0o7777 && !s.is_empty() => m,
                _ => {
                    doc.error(
                        v.span,
                        Code::BadValue,
                        format!("mode `{s}` is not octal, e.g. \"0755\""),
                    );
                    return None;
                }
            }
        }
    };
    let owner = get(t, "owner")
        .and_then(|v| doc.nonempty_string(v, "owner"))
        .unwrap_or_else(|| "root".into());
    let group = get(t, "group")
        .and_then(|v| doc.nonempty_string(v, "group"))
        .unwrap_or_else(|| "root".into());
    let target = get(t, "target").and_then(|v| doc.nonempty_string(v, "target"));
    let mut xattrs = BTreeMap::new();
    if let Some(v) = get(t, "caps") {
        let text = doc.string(v, "caps")?;
        match CapSet::from_text(&text) {
            Ok(set) => {
                let caps = FileCaps {
                    revision: 2,
                    effective: set.effective != 0,
                    permitted: set.permitted,
                    inheritable: set.inheritable,
                    rootid: None,
                };
                xattrs.insert(CAPABILITY_XATTR.to_string(), caps.encode());
            }
            Err(e) => doc.error(v.span, Code::BadValue, format!("caps `{text}`: {e}")),
        }
    }
    let content =
        match (get(t, "content"), get(t, "content-file")) {
            (Some(v), None) => doc.string(v, "content").map(String::into_bytes),
            (None, Some(v)) => doc.nonempty_string(v, "content-file").and_then(|rel| {
                match std::fs::read(base.join(&rel)) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        doc.error(v.span, Code::BadValue, format!("content-file `{rel}`: {e}"));
                        None
                    }
                }
            }),
            (Some(v), Some(_)) => {
                doc.error(
                    v.span,
                    Code::ConflictingKeys,
                    "use only one of `content` and `content-file`",
                );
                None
            }
            (None, None) => None,
        };
    if doc.failed_since(mark) {
        return None;
    }
    let size = content.as_ref().map_or(0, |c| c.len() as u64);
    // The header's numeric ids: given, or 0 for root and 1 for any other name.
    let mut id = |key: &str, name: &str| match get(t, key) {
        None => Some(u64::from(name != "root")),
        Some(v) => match v.as_integer().map(u64::try_from) {
            Some(Ok(n)) => Some(n),
            _ => {
                doc.error(
                    v.span,
                    Code::BadValue,
                    format!("{key} must be a non-negative integer, e.g. {key} = 1000"),
                );
                None
            }
        },
    };
    let (uid, gid) = (id("uid", &owner)?, id("gid", &group)?);
    let entry = Entry {
        path,
        raw_path: None,
        raw_link_target: None,
        kind,
        mode,
        uid,
        gid,
        owner: Some(owner),
        group: Some(group),
        size,
        link_target: target,
        xattrs,
        member: None,
        through: Vec::new(),
        device: None,
    };
    Some((
        entry,
        content.map(|bytes| Content {
            bytes,
            truncated: false,
        }),
    ))
}

/// A rule's verdict on a case from its results (one per path or kernel): it fails when any
/// result fails, passes when none fails and one passes, and is not applicable when every result
/// is; `None` without results.
pub fn verdict(results: impl IntoIterator<Item = Status>) -> Option<Status> {
    let mut out = None;
    for s in results {
        out = Some(match (out, s) {
            (_, Status::Fail | Status::Waived) | (Some(Status::Fail), _) => Status::Fail,
            (_, Status::Pass) | (Some(Status::Pass), _) => Status::Pass,
            _ => Status::NotApplicable,
        });
    }
    out
}

/// Judge every case against `rules`, one outcome per expectation.
pub fn run_cases(rules: &RuleSet, cases: &[Case], limits: &Limits) -> Vec<Outcome> {
    let mut out = Vec::new();
    for case in cases {
        let analyzed: Vec<crate::AnalyzedPackage> = case
            .packages
            .iter()
            .cloned()
            .map(|p| analyze_package(p, limits))
            .collect();
        let views: Vec<_> = analyzed.iter().map(|a| a.view()).collect();
        let findings = evaluate(rules, &views);
        for e in &case.expect {
            let got: Vec<(Status, String)> = findings
                .iter()
                .filter(|f| f.rule == e.rule)
                .map(|f| (f.status, f.message.clone()))
                .collect();
            let status_ok = verdict(got.iter().map(|(s, _)| *s)) == Some(e.status);
            let message_ok = e
                .message_contains
                .as_ref()
                .is_none_or(|m| got.iter().any(|(_, msg)| msg.contains(m.as_str())));
            out.push(Outcome {
                case: case.name.clone(),
                rule: e.rule.clone(),
                want: e.status,
                got,
                ok: status_ok && message_ok,
                location: e.location.clone(),
            });
        }
    }
    out
}

/// What `debgate test-policy` reports for one case file.
#[derive(Debug, Clone)]
pub struct CaseReport {
    pub file: String,
    /// The policy the cases judge (as named in the file, resolved).
    pub policy: String,
    pub outcomes: Vec<Outcome>,
    /// Rules of the policy with no case expecting them to pass, and to fail.
    pub never_pass: Vec<String>,
    pub never_fail: Vec<String>,
}

impl CaseReport {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.ok).count()
    }
}

/// Why a case file could not be run.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{} error(s) in the case file", .0.0.len())]
    Cases(Diagnostics),
    #[error("{0}: the case file names no `policy`, and none was given")]
    NoPolicy(String),
    #[error(transparent)]
    Select(#[from] crate::selection::SelectError),
}

impl CaseError {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            CaseError::Cases(d) => &d.0,
            CaseError::Select(s) => s.diagnostics(),
            CaseError::NoPolicy(_) => &[],
        }
    }
}

/// Run one case file against the policy it names (a bundled name or a path relative to it).
pub fn test_policy(path: &Path, limits: &Limits) -> Result<CaseReport, CaseError> {
    let file = load_case_file(path).map_err(CaseError::Cases)?;
    let policy = file
        .policy
        .clone()
        .ok_or_else(|| CaseError::NoPolicy(path.display().to_string()))?;
    let (rules, _) = crate::selection::select(&[policy.clone().into()], &[])?;
    let outcomes = run_cases(&rules, &file.cases, limits);
    let lacking = |want: Status| -> Vec<String> {
        rules
            .rules
            .iter()
            .filter(|r| !outcomes.iter().any(|o| o.rule == r.id && o.want == want))
            .map(|r| r.id.clone())
            .collect()
    };
    Ok(CaseReport {
        file: path.display().to_string(),
        policy,
        never_pass: lacking(Status::Pass),
        never_fail: lacking(Status::Fail),
        outcomes,
    })
}
