//! The rule model a policy file is loaded into.

pub use crate::diagnostic::Location;
use crate::kernel::KernelData;
use crate::kinds::{self, Kind};
pub use crate::when::When;
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::EntryKind;
use globset::GlobSet;
use regex::Regex;
use serde::Serialize;
use std::sync::{Arc, OnceLock};

/// How much a failed rule matters; `error` failures make `check` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub const NAMES: [&'static str; 3] = ["error", "warning", "info"];

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// lintian's one-letter tag prefix.
    pub fn letter(self) -> char {
        match self {
            Severity::Error => 'E',
            Severity::Warning => 'W',
            Severity::Info => 'I',
        }
    }
}

/// What it means when the selected packages ship no matching path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// Nothing matched: the rule is not applicable.
    Optional,
    /// Every selected package must ship a matching path.
    Required,
    /// When the set holds any selected package, at least one of them must ship a matching
    /// path (e.g. "a set with a kernel has its config", wherever the distribution puts it).
    RequiredInSet,
}

impl Presence {
    pub const NAMES: [&'static str; 3] = ["optional", "required", "required-in-set"];

    pub fn parse(s: &str) -> Option<Presence> {
        match s {
            "optional" => Some(Presence::Optional),
            "required" => Some(Presence::Required),
            "required-in-set" => Some(Presence::RequiredInSet),
            _ => None,
        }
    }
}

/// A set of globs with the text they were written as, for messages.
#[derive(Debug, Clone)]
pub struct Globs {
    pub patterns: Vec<String>,
    pub set: GlobSet,
}

impl Globs {
    pub fn is_match(&self, s: &str) -> bool {
        self.set.is_match(s)
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn describe(&self) -> String {
        self.patterns.join(", ")
    }
}

/// Which files of a package a rule looks at.
#[derive(Debug, Clone)]
pub struct PathSelector {
    pub globs: Globs,
    /// Match `/bin/x` and `/usr/bin/x` alike (the globs are also compiled in their `/usr` form).
    pub usrmerge: bool,
}

impl PathSelector {
    pub fn is_match(&self, path: &str) -> bool {
        self.globs.is_match(path)
            || (self.usrmerge && self.globs.is_match(&usrmerge_canonical(path)))
    }
}

/// A rule's assertion: one of the kinds of [`crate::kinds`] with its parameters.
#[derive(Debug, Clone)]
pub struct Assertion(Arc<dyn Kind>);

impl Assertion {
    pub fn new(kind: Box<dyn Kind>) -> Assertion {
        Assertion(Arc::from(kind))
    }

    /// The assertion of a check debgate makes itself (see [`kinds::Builtin`]).
    pub fn builtin() -> Assertion {
        Assertion(Arc::new(kinds::Builtin))
    }

    /// The `kind` name as written in policies (`built-in` for debgate's own checks).
    pub fn kind(&self) -> &'static str {
        self.0.name()
    }

    pub fn get(&self) -> &dyn Kind {
        &*self.0
    }
}

/// One rule, as declared.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub explanation: String,
    pub references: Vec<String>,
    pub packages: Globs,
    pub exclude_packages: Globs,
    pub paths: Option<PathSelector>,
    /// Paths the rule leaves out, though `paths` selects them.
    pub exclude_paths: Option<PathSelector>,
    /// Entry types the rule selects (`types = ["file"]`); empty: every type.
    pub types: Vec<EntryKind>,
    pub presence: Presence,
    /// Free-text labels (`khc:OPTION=y`) that `--tag` selects rules by.
    pub tags: Vec<String>,
    /// Conditions on the kernel config the rule is judged on.
    pub when: Option<When>,
    pub assertion: Assertion,
    /// Whether a waiver may accept this rule's failures (`waivable = false` makes a waiver of
    /// it an error, as dak treats overrides of its fatal lintian tags).
    pub waivable: bool,
    pub location: Location,
}

impl Rule {
    pub fn selects_package(&self, name: &str) -> bool {
        (self.packages.is_empty() || self.packages.is_match(name))
            && !self.exclude_packages.is_match(name)
    }

    pub fn selects_path(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|p| p.is_match(path))
            && !self
                .exclude_paths
                .as_ref()
                .is_some_and(|p| p.is_match(path))
    }

    /// Whether `types` selects an entry of this type (`None`: a file a maintainer script
    /// creates, a regular file as far as selection goes).
    pub fn selects_type(&self, kind: Option<EntryKind>) -> bool {
        self.types.is_empty() || self.types.contains(&kind.unwrap_or(EntryKind::File))
    }

    /// What the rule's content needs depend on: its kind and its path selection.
    fn selection_key(&self) -> String {
        format!("{}\n{}", self.assertion.kind(), self.path_selection())
    }

    /// The rule's path selection (`paths`, `exclude-paths`, each with its usrmerge flag) as
    /// text: equal texts select the same paths.
    pub fn path_selection(&self) -> String {
        let describe = |p: &Option<PathSelector>| {
            p.as_ref()
                .map(|p| format!("{}\0{}", p.globs.patterns.join("\0"), p.usrmerge))
        };
        format!(
            "{:?}\n{:?}",
            describe(&self.paths),
            describe(&self.exclude_paths)
        )
    }

    /// Whether a `--tag` argument names one of the rule's tags: as literal text, or as a glob
    /// (tags hold `*` themselves, as in `khc:OPTION=*yama*`, so literal equality comes
    /// first).
    pub fn has_tag(&self, wanted: &str) -> bool {
        let glob = globset::Glob::new(wanted).ok().map(|g| g.compile_matcher());
        self.tags
            .iter()
            .any(|t| t == wanted || glob.as_ref().is_some_and(|g| g.is_match(t)))
    }
}

/// How `debgate diff` pairs packages whose names differ between releases only by a version
/// carried in the name (a kernel ABI, a library soname). Declared as `[[pairing]]` in a policy
/// file: `pattern` is a regex over the whole package name with one group named `abi`; two
/// names pair when they match the same pairing and agree outside that group.
#[derive(Debug, Clone)]
pub struct Pairing {
    pub id: String,
    pub pattern: Regex,
    pub location: Location,
}

impl Pairing {
    /// `(key, abi)`: the name with the `abi` group replaced by `*`, and the group's text; `None`
    /// when the name doesn't match.
    pub fn key(&self, name: &str) -> Option<(String, String)> {
        let caps = self.pattern.captures(name)?;
        let abi = caps.name("abi")?;
        let key = format!("{}*{}", &name[..abi.start()], &name[abi.end()..]);
        Some((key, abi.as_str().to_string()))
    }
}

/// One policy file as loaded: its `[policy]` header and what it declares.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    /// The file as named in messages (`policies/kspp.toml`).
    pub file: String,
    /// `[policy] name`, else the file's stem.
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// `[policy] default = true`: a bundled policy run when no `--policy` is given.
    pub default: bool,
    /// Ids of its rules, in order.
    pub rules: Vec<String>,
    pub pairings: usize,
}

/// The version of [`RuleSet::content_fingerprint`]'s meaning: bump it when what a kind's
/// `wants_content` asks for changes for the same text (a new sysctl.d directory, say), so that
/// facts cached under the old answer are not taken for the new one.
pub const CONTENT_WANTS_FORMAT: u32 = 1;

/// Every loaded rule and pairing, from one or more policy files.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// The policy files, in load order.
    pub policies: Vec<PolicyInfo>,
    /// Kernel facts the policies declare (`[kernel]` tables).
    pub kernel: KernelData,
    /// For [`RuleSet::wants_content`]: the number of rules it was built for, and one rule of
    /// each distinct (kind, path selection).
    content_askers: OnceLock<(usize, Vec<usize>)>,
    /// Package pairings for `debgate diff`, in declaration order (the first match wins).
    pub pairings: Vec<Pairing>,
}

impl RuleSet {
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Keep only the rules that have a tag one of `tags` names (see [`Rule::has_tag`]); pairings
    /// and kernel facts stay.
    pub fn retain_tagged(&mut self, tags: &[String]) {
        self.rules.retain(|r| tags.iter().any(|t| r.has_tag(t)));
        let kept: std::collections::HashSet<&str> =
            self.rules.iter().map(|r| r.id.as_str()).collect();
        for p in &mut self.policies {
            p.rules.retain(|id| kept.contains(id.as_str()));
        }
        self.content_askers = OnceLock::new();
    }

    /// The pairing key of a package name under the first pairing that matches it.
    pub fn pairing_key(&self, name: &str) -> Option<(&Pairing, String, String)> {
        self.pairings
            .iter()
            .find_map(|p| p.key(name).map(|(k, abi)| (p, k, abi)))
    }

    /// What places the package `name` in a `--shard` part: its pairing key, or the name itself,
    /// so that both ABIs of a kernel share a part and a sharded diff still pairs them.
    pub fn shard_key(&self, name: &str) -> String {
        self.pairing_key(name)
            .map_or_else(|| name.to_string(), |(_, key, _)| key)
    }

    /// Kernel config options that some rule names, in rule order.
    pub fn kconfig_options(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.rules {
            for opt in r.assertion.get().kconfig_options() {
                if !out.contains(&opt) {
                    out.push(opt);
                }
            }
        }
        out
    }

    /// What [`RuleSet::wants_content`] asks for, as stable text: the distinct content needs of
    /// the rules (each rule's [`Kind::content_wanted`]), sorted. It keys the facts cache: rule
    /// sets with equal fingerprints capture the same files, so one's cached facts serve the
    /// other. Rules that want no content, and a second rule over the same paths, leave it as
    /// it is; a rule that wants other paths changes it.
    pub fn content_fingerprint(&self) -> String {
        let wants: std::collections::BTreeSet<String> = self
            .rules
            .iter()
            .filter_map(|r| r.assertion.get().content_wanted(r))
            .collect();
        // Length-prefixed, so that no selection's text can pass for two.
        wants.iter().fold(
            format!("content-wants {CONTENT_WANTS_FORMAT}\n"),
            |mut out, w| {
                out.push_str(&format!("{}:{w}\n", w.len()));
                out
            },
        )
    }

    /// Should the reader keep the content of this data.tar path? Only paths a content-reading
    /// rule names, plus every sysctl.d file when a sysctl rule is loaded.
    pub fn wants_content(&self, path: &str) -> bool {
        let (built_for, askers) = self.content_askers.get_or_init(|| {
            let mut seen = std::collections::HashSet::new();
            let askers = (0..self.rules.len())
                .filter(|&i| seen.insert(self.rules[i].selection_key()))
                .collect();
            (self.rules.len(), askers)
        });
        let ask = |r: &Rule| r.assertion.get().wants_content(r, path);
        if *built_for != self.rules.len() {
            // Rules were added after the first question: ask them all.
            return self.rules.iter().any(ask);
        }
        askers.iter().any(|&i| ask(&self.rules[i]))
    }
}
