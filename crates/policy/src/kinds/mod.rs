//! The assertion kinds. Each kind is one module with its keys, its parsing and its evaluation,
//! and [`ALL`] lists them: adding a kind touches one new module and that list.

pub mod arch;
pub mod cmdline;
pub mod compiler;
pub mod exists;
pub mod file_state;
pub mod forbidden;
pub mod kconfig;
pub mod logic;
pub mod privileges;
pub mod sysctl;
pub mod text;
pub mod version;

use crate::diagnostic::{get, Code, Doc};
use crate::finding::{Analyzed, Finding};
use crate::kernel::{Kernel, KernelData, SetSysctl};
use crate::model::Rule;
use crate::set::{Member, SetContext};
use debgate_facts::change::Change;
use debgate_facts::{Content, Package};
use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::rc::Rc;
use toml_span::value::Table;
use toml_span::{Span, Value};

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
    /// Set when the rule does not apply to this path after all (a `same-as` option the
    /// config lacks): the reason.
    pub not_applicable: Option<String>,
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

/// One path of one package, as a file-scoped kind judges it. `'e` is the evaluation's (the
/// set's) lifetime, `'c` this judgement's.
pub struct FileCx<'c, 'e> {
    pub analyzed: &'e Analyzed<'e>,
    pub path: &'c str,
    /// Changes of any package in the set whose target static reading could not resolve: each
    /// may hit this path.
    pub unresolved: &'c [Change],
    pub eval: &'c EvalCx<'e>,
}

impl FileCx<'_, '_> {
    /// This path read as a kernel config, with the set's sysctl settings.
    pub fn kernel(&self) -> KernelCx<'_> {
        KernelCx {
            kernel: self.eval.kernel(self.analyzed.package, self.path),
            data: self.eval.data,
            sysctl: self.eval.sysctl(),
        }
    }
}

/// What one evaluation shares between rules: the set's context, the kernel facts, and what is
/// costly to compute once per rule (each kernel config parsed once, the set's sysctl order
/// built once).
pub struct EvalCx<'a> {
    pub set: &'a SetContext,
    pub data: &'a KernelData,
    sysctl: OnceCell<SetSysctl<'a>>,
    kernels: RefCell<HashMap<(usize, String), Rc<Kernel<'a>>>>,
}

impl<'a> EvalCx<'a> {
    pub fn new(set: &'a SetContext, data: &'a KernelData) -> EvalCx<'a> {
        EvalCx {
            set,
            data,
            sysctl: OnceCell::new(),
            kernels: RefCell::new(HashMap::new()),
        }
    }

    /// Every package's sysctl.d settings, in the order they are applied.
    pub fn sysctl(&self) -> &SetSysctl<'a> {
        self.sysctl
            .get_or_init(|| SetSysctl::of(self.set, &|_| true))
    }

    /// `path` of `package` as a kernel config, parsed on first use.
    pub fn kernel(&self, package: &'a Package, path: &str) -> Rc<Kernel<'a>> {
        // The package's address identifies it for the life of the evaluation.
        let key = (package as *const Package as usize, path.to_string());
        let mut cache = self.kernels.borrow_mut();
        Rc::clone(
            cache
                .entry(key)
                .or_insert_with(|| Rc::new(Kernel::new(package, path))),
        )
    }

    /// Every kernel config the set ships under `/boot/config-*` that was captured, for
    /// messages about kernel defaults: each reduced to the options that choose a sysctl
    /// default (see [`crate::set::KernelDefaults`]), all such a message reads.
    pub fn kernels(&self) -> Vec<Kernel<'a>> {
        self.set
            .kernels
            .iter()
            .map(|k| Kernel {
                package: &self.set.member(k.member).name,
                path: k.path.clone(),
                config: k.config.clone(),
            })
            .collect()
    }
}

/// One kernel config with the set's sysctl: what an operand is tested on.
pub struct KernelCx<'a> {
    pub kernel: Rc<Kernel<'a>>,
    pub data: &'a KernelData,
    pub sysctl: &'a SetSysctl<'a>,
}

/// An operand's outcome on one kernel, with what to say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    Holds(String),
    Fails(String),
    /// Not known (an unreadable config, a value nothing sets): fails closed, and `not` of it
    /// is not known either.
    Unknown(String),
    /// The operand has nothing to judge (a `same-as` option the config lacks): the rule does
    /// not apply to this kernel.
    NotApplicable(String),
}

impl Truth {
    pub fn message(&self) -> &str {
        match self {
            Truth::Holds(m) | Truth::Fails(m) | Truth::Unknown(m) | Truth::NotApplicable(m) => m,
        }
    }

    /// The verdict of a rule whose whole assertion is this operand.
    pub fn verdict(self, evidence: Vec<String>) -> Verdict {
        match self {
            Truth::Holds(m) => Verdict {
                pass: m,
                evidence,
                ..Verdict::default()
            },
            Truth::Fails(m) | Truth::Unknown(m) => Verdict {
                violations: vec![m],
                evidence,
                ..Verdict::default()
            },
            Truth::NotApplicable(m) => Verdict {
                not_applicable: Some(m),
                evidence,
                ..Verdict::default()
            },
        }
    }
}

/// An assertion kind with its parameters, as loaded from one rule's `assert` table.
pub trait Kind: Debug + Send + Sync {
    /// The `kind` name as written in policies.
    fn name(&self) -> &'static str;

    fn scope(&self) -> Scope;

    /// Whether the reader must keep `path`'s content for `rule`. File-content kinds want the
    /// rule's own paths; a set-scoped kind names its own. The answer may depend only on the
    /// kind (not its parameters) and the rule's path selection: the rule set asks one rule per
    /// distinct pair, so that a thousand rules over one path cost one question per entry.
    fn wants_content(&self, rule: &Rule, path: &str) -> bool {
        self.scope() == Scope::ShippedFiles && rule.selects_path(path)
    }

    /// What [`Kind::wants_content`] asks for under `rule`, as stable text: equal texts want the
    /// same paths, and `None` wants none. It keys the facts cache
    /// ([`crate::RuleSet::content_fingerprint`]), so a kind that overrides `wants_content`
    /// overrides this to match, and a change to either bumps
    /// [`crate::model::CONTENT_WANTS_FORMAT`].
    fn content_wanted(&self, rule: &Rule) -> Option<String> {
        (self.scope() == Scope::ShippedFiles).then(|| rule.path_selection())
    }

    /// Whether the rule holds when its selection is empty (`forbidden`: nothing forbidden
    /// ships), rather than not applying.
    fn holds_when_nothing_selected(&self) -> bool {
        false
    }

    /// Kernel config options the assertion names (`diff` reports their changes first).
    fn kconfig_options(&self) -> Vec<&str> {
        Vec::new()
    }

    /// Whether the kind can be judged on one kernel config and so be an operand of `any-of`,
    /// `all-of` and `not` (kconfig, sysctl, version, arch, compiler, cmdline, and those three).
    fn is_operand(&self) -> bool {
        false
    }

    /// The outcome on one kernel (operand kinds).
    fn test(&self, _cx: &KernelCx<'_>) -> Truth {
        Truth::Unknown(format!(
            "a `{}` assertion is not judged on a kernel config",
            self.name()
        ))
    }

    /// The architecture and compiler names the assertion uses, each with the kind of name
    /// (`arch`, `compiler`), so that the loader can check that a `[kernel]` table declares them.
    fn kernel_names(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Judge one path (file scopes). Operand kinds judge a kernel config by default.
    fn judge_file(&self, cx: &FileCx<'_, '_>) -> Verdict {
        if self.is_operand() {
            return self.test(&cx.kernel()).verdict(Vec::new());
        }
        Verdict::default()
    }

    /// Whether the kind judges each selected package's selected paths in one call
    /// ([`Kind::judge_member`]) and ends with findings about the selection as a whole
    /// ([`Kind::finish_together`]), instead of path by path: for a verdict that depends on the
    /// others, as an allow-list entry is unused only when no file of the set uses it.
    fn judges_together(&self) -> bool {
        false
    }

    /// Judge one selected package with its selected paths (kinds whose
    /// [`Kind::judges_together`] is true): its findings, and marks for the end (an allow-list's
    /// entries it used). Packages are judged one at a time, in any order, and never seen again,
    /// so what the end needs of them is in the marks.
    fn judge_member(
        &self,
        _rule: &Rule,
        _eval: &EvalCx<'_>,
        _member: &Analyzed<'_>,
        _paths: &[String],
    ) -> (Vec<Finding>, Vec<usize>) {
        (Vec::new(), Vec::new())
    }

    /// The findings about the selection as a whole, once every selected package (`selected`,
    /// in set order) has been judged, with the union of their marks.
    fn finish_together(
        &self,
        _rule: &Rule,
        _selected: &[&Member],
        _marks: &BTreeSet<usize>,
    ) -> Vec<Finding> {
        Vec::new()
    }

    /// Judge the set (the [`Scope::Set`] scope, for a rule without `paths`): its findings.
    fn judge_set(&self, _rule: &Rule, _eval: &EvalCx<'_>) -> Vec<Finding> {
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
pub const ALL: [Spec; 14] = [
    kconfig::SPEC,
    file_state::SPEC,
    text::SPEC,
    sysctl::SPEC,
    exists::SPEC,
    forbidden::SPEC,
    privileges::SPEC,
    logic::ANY_OF,
    logic::ALL_OF,
    logic::NOT,
    version::SPEC,
    arch::SPEC,
    compiler::SPEC,
    cmdline::SPEC,
];

/// The kind called `name`.
pub fn spec(name: &str) -> Option<&'static Spec> {
    ALL.iter().find(|s| s.name == name)
}

/// Read an `assert` table (or an operand of a combinator): its `kind` picks the kind's own keys
/// and parser.
pub fn parse(doc: &mut Doc<'_>, value: &Value<'_>, what: &str) -> Option<Box<dyn Kind>> {
    let t: &Table<'_> = doc.table(value, what)?;
    let names: Vec<&str> = ALL.iter().map(|s| s.name).collect();
    let Some(kind_v) = get(t, "kind") else {
        doc.error(
            value.span,
            Code::MissingKey,
            format!(
                "`{what}` has no `kind`; expected one of: {}",
                names.join(", ")
            ),
        );
        return None;
    };
    let kind = doc.string(kind_v, "kind")?;
    let Some(spec) = spec(&kind) else {
        doc.error(
            kind_v.span,
            Code::UnknownAssertionKind,
            format!(
                "unknown assertion kind `{kind}`; expected one of: {}",
                names.join(", ")
            ),
        );
        return None;
    };
    let mark = doc.mark();
    // `kind` itself is allowed but not worth suggesting.
    let for_what = format!("for a `{kind}` assertion");
    doc.unknown_keys(t, spec.keys, &for_what, &spec.keys[1..]);
    let parsed = (spec.parse)(doc, t, value.span);
    if doc.failed_since(mark) {
        return None;
    }
    parsed
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

/// What a file-state verdict shows with its result: the state data.tar ships, then every
/// change of the package aimed at the path (or, with `-R`, at a directory above it).
pub(crate) fn file_evidence(
    a: &Analyzed<'_>,
    path: &str,
    st: &debgate_analyze::effective::FileState,
) -> Vec<String> {
    let mut evidence = Vec::new();
    if let Some(shipped) = &st.shipped {
        evidence.push(format!(
            "{}: {path} {}",
            debgate_analyze::effective::FROM_DATA,
            shipped.text()
        ));
    }
    for c in a.changes {
        if c.target.path().is_some_and(|p| {
            debgate_facts::path::usrmerge_same(p, path)
                || (c.recursive && path.starts_with(&format!("{p}/")))
        }) {
            evidence.push(c.describe());
        }
    }
    evidence
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
