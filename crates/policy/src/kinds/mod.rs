//! The assertion kinds. Each kind is one module with its keys, its parsing and its evaluation,
//! and [`ALL`] lists them: adding a kind touches one new module and that list.

pub mod exists;
pub mod file_state;
pub mod kconfig;
pub mod sysctl;
pub mod text;

use crate::diagnostic::Doc;
use crate::finding::{Analyzed, Finding};
use crate::model::Rule;
use debgate_facts::change::Change;
use debgate_facts::{Content, Package};
use std::fmt::Debug;
use toml_span::value::Table;
use toml_span::Span;

/// What a rule of a kind is judged over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Each selected path of a package's effective state (data.tar plus what scripts create),
    /// one finding per path; the rule needs `paths`.
    EffectiveFiles,
    /// Each selected regular file (or hard link) shipped in data.tar, whose content is read;
    /// the rule needs `paths`.
    ShippedFiles,
    /// The selected packages of the set as a whole; the rule takes no `paths`.
    Set,
}

/// What judging one path gave: the violations (none means it passes), the evidence shown with
/// the result, and the message when it passes.
#[derive(Debug, Default)]
pub struct Verdict {
    pub violations: Vec<String>,
    pub evidence: Vec<String>,
    pub pass: String,
}

impl Verdict {
    /// A verdict that fails with one violation and nothing else to show.
    pub fn fail(why: String) -> Verdict {
        Verdict {
            violations: vec![why],
            ..Verdict::default()
        }
    }
}

/// One path of one package, as a file-scoped kind judges it.
pub struct FileCx<'a> {
    pub analyzed: &'a Analyzed<'a>,
    pub path: &'a str,
    /// Changes of any package in the set whose target static reading could not resolve: each
    /// may hit this path.
    pub unresolved: &'a [&'a Change],
}

/// An assertion kind with its parameters, as loaded from one rule's `assert` table.
pub trait Kind: Debug + Send + Sync {
    /// The `kind` name as written in policies.
    fn name(&self) -> &'static str;

    fn scope(&self) -> Scope;

    /// Whether the reader must keep `path`'s content for `rule`. File-content kinds want the
    /// rule's own paths; a set-scoped kind names its own.
    fn wants_content(&self, rule: &Rule, path: &str) -> bool {
        self.scope() == Scope::ShippedFiles && rule.selects_path(path)
    }

    /// Kernel config options the assertion names (`diff` reports their changes first).
    fn kconfig_options(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Judge one path (file scopes).
    fn judge_file(&self, _cx: &FileCx<'_>) -> Verdict {
        Verdict::default()
    }

    /// Judge the set (the [`Scope::Set`] scope): the rule's findings.
    fn judge_set(&self, _rule: &Rule, _set: &[Analyzed<'_>]) -> Vec<Finding> {
        Vec::new()
    }
}

/// How a kind is read from a policy: its name, the keys its `assert` table accepts (`kind`
/// first), and the parser, which records a diagnostic for each problem.
pub struct Spec {
    pub name: &'static str,
    pub keys: &'static [&'static str],
    /// `(doc, the assert table, its span)`.
    pub parse: fn(&mut Doc<'_>, &Table<'_>, Span) -> Option<Box<dyn Kind>>,
}

/// Every assertion kind a policy may use, in the order the documentation lists them.
pub const ALL: [Spec; 5] = [
    kconfig::SPEC,
    file_state::SPEC,
    text::SPEC,
    sysctl::SPEC,
    exists::SPEC,
];

/// The kind called `name`.
pub fn spec(name: &str) -> Option<&'static Spec> {
    ALL.iter().find(|s| s.name == name)
}

/// A check debgate makes itself outside the policy evaluator (the upload checks of a
/// `.changes`, the built-in package checks). Listed with the rules so that `rules`, `explain`,
/// waivers and the CI formats treat it alike; no policy file can declare it.
#[derive(Debug)]
pub struct Builtin;

impl Kind for Builtin {
    fn name(&self) -> &'static str {
        "built-in"
    }

    fn scope(&self) -> Scope {
        // Judged by whoever declared it, never over the set by `evaluate`.
        Scope::Set
    }
}

/// The captured content of `path`, or why it can't be judged.
pub(crate) fn content<'p>(pkg: &'p Package, path: &str) -> Result<&'p Content, String> {
    match pkg.contents.get(path) {
        None => Err(format!("the content of {path} was not captured")),
        Some(c) if c.truncated => Err(format!(
            "{path} is longer than the content cap; raise it with --limit max-content-bytes=N"
        )),
        Some(c) => Ok(c),
    }
}
