//! What judging one package needs of the others: the set's context, gathered package by
//! package ([`Contribution`], [`SetContext`]) so that a run over a whole archive can hold it
//! while each package's facts come and go, and what judging the packages leaves for the end
//! ([`Tally`]).
//!
//! Every cross-package part of evaluation goes through here, for the in-memory
//! [`crate::evaluate`] and a streaming caller alike, so that both judge with one implementation:
//! a change whose target is unknown may hit any file of the set (every package's unresolved
//! changes), the set's sysctl.d files (what an operand on a kernel config and a set-level
//! `sysctl` rule read), and the kernels' sysctl defaults a set-level `sysctl` message names.
//! What is per rule and only needed once every package has been judged (which packages a rule
//! selected, whether any shipped a matching path, an allow-list's used entries) is the tally.

use crate::finding::Analyzed;
use crate::kernel::KernelData;
use crate::model::RuleSet;
use debgate_analyze::kconfig::Kconfig;
use debgate_facts::change::Change;
use debgate_facts::{Content, Package};
use std::collections::BTreeSet;

/// A package of the set as a finding about it names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// The file (or repository label) it was read from, as findings show it.
    pub file: String,
}

impl Member {
    pub fn of(package: &Package) -> Member {
        Member {
            name: package.name().to_string(),
            file: package.file.display().to_string(),
        }
    }
}

/// A kernel config of the set, kept for the messages of set-level `sysctl` rules: only the
/// options that choose a kernel's sysctl default (`[[kernel.sysctl-default]] kconfig`), since a
/// whole config is large and nothing else of it is read once its package has been judged.
#[derive(Debug, Clone)]
pub struct KernelDefaults {
    pub member: usize,
    pub path: String,
    /// The reduced config, or why it could not be read (over the content cap).
    pub config: Result<Kconfig, String>,
}

/// What one package contributes to the judging of the others. Small beside the package: its
/// unresolved-target changes, its sysctl.d files, and the few options of its kernel configs
/// that choose sysctl defaults.
#[derive(Debug, Clone)]
pub struct Contribution {
    pub member: Member,
    pub unresolved: Vec<Change>,
    /// Captured sysctl.d files, in the package's path order.
    pub sysctl: Vec<(String, Content)>,
    /// Captured kernel configs (`/boot/config-*`), in path order, reduced.
    pub kernels: Vec<(String, Result<Kconfig, String>)>,
}

impl Contribution {
    pub fn of(data: &KernelData, a: &Analyzed<'_>) -> Contribution {
        let contents = &a.package.contents;
        let sysctl = contents
            .iter()
            .filter(|(path, _)| debgate_analyze::sysctl::is_sysctl_path(path))
            .map(|(path, c)| (path.clone(), c.clone()))
            .collect();
        let chooses = |option: &str| {
            data.sysctl_defaults
                .iter()
                .any(|d| d.kconfig.as_deref() == Some(option))
        };
        let kernels = contents
            .keys()
            .filter(|path| {
                path.starts_with("/boot/config-") && debgate_analyze::kconfig::is_kconfig_path(path)
            })
            .map(|path| {
                let config = crate::kernel::Kernel::new(a.package, path)
                    .config
                    .map(|mut c| {
                        c.retain(chooses);
                        c
                    });
                (path.clone(), config)
            })
            .collect();
        Contribution {
            member: Member::of(a.package),
            unresolved: a.state.unresolved.clone(),
            sysctl,
            kernels,
        }
    }
}

/// The set as every package's judging sees it: the packages' [`Contribution`]s, in set order.
/// Built once (in memory: [`SetContext::of`]; streaming: one [`SetContext::add`] per package,
/// in the set's order) before any package is judged.
#[derive(Debug, Default)]
pub struct SetContext {
    members: Vec<Member>,
    /// Every package's changes whose target static reading could not resolve: each may hit
    /// any file of the set.
    pub unresolved: Vec<Change>,
    /// (member, path, content) of every captured sysctl.d file, in set order.
    pub sysctl: Vec<(usize, String, Content)>,
    pub kernels: Vec<KernelDefaults>,
}

impl SetContext {
    /// The context of a set held in memory, under the kernel facts `data` (the rule set's).
    pub fn of(data: &KernelData, set: &[Analyzed<'_>]) -> SetContext {
        let mut cx = SetContext::default();
        for a in set {
            cx.add(Contribution::of(data, a));
        }
        cx
    }

    /// An empty context with room for `members` packages, so that a set of tens of thousands
    /// grows it once (doubling would hold up to twice the room, and three times while it moves).
    pub fn with_capacity(members: usize) -> SetContext {
        SetContext {
            members: Vec::with_capacity(members),
            ..SetContext::default()
        }
    }

    /// Add the next package of the set; its index as a member (what
    /// [`crate::evaluate_package`] takes).
    pub fn add(&mut self, c: Contribution) -> usize {
        let member = self.members.len();
        self.members.push(c.member);
        self.unresolved.extend(c.unresolved);
        self.sysctl.extend(
            c.sysctl
                .into_iter()
                .map(|(p, content)| (member, p, content)),
        );
        self.kernels
            .extend(c.kernels.into_iter().map(|(path, config)| KernelDefaults {
                member,
                path,
                config,
            }));
        member
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn member(&self, i: usize) -> &Member {
        &self.members[i]
    }
}

/// What judging the packages one by one leaves for the end, per rule: what the set-level
/// findings ([`crate::finish`]) are made of.
#[derive(Debug)]
pub struct Tally {
    pub(crate) rules: Vec<RuleTally>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RuleTally {
    /// Whether any package was selected.
    pub(crate) selected_any: bool,
    /// The selected members, kept while they may be needed: always for a kind that judges
    /// together (its end names them), otherwise until some package ships a matching path
    /// (only then does the end list them).
    pub(crate) selected: Vec<usize>,
    pub(crate) any_path: bool,
    /// What a kind that judges together marked (an allow-list's used entries).
    pub(crate) marks: BTreeSet<usize>,
}

impl Tally {
    pub fn new(rules: &RuleSet) -> Tally {
        Tally {
            rules: vec![RuleTally::default(); rules.rules.len()],
        }
    }

    /// Take in what judging `member` left (see [`crate::Judged`]); members may come in any order.
    pub fn add(&mut self, member: usize, judged: &crate::eval::Judged) {
        for seen in &judged.seen {
            let t = &mut self.rules[seen.rule];
            t.selected_any = true;
            t.any_path |= seen.any_path;
            if seen.together || !t.any_path {
                t.selected.push(member);
            } else {
                t.selected = Vec::new();
            }
            t.marks.extend(seen.marks.iter().copied());
        }
    }
}
