//! The maintainer-script analyzer: reads a preinst/postinst/prerm/postrm/config shell script
//! statically and reports every command that changes a file's privileges (setcap, chmod,
//! chown/chgrp, install, dpkg-statoverride) as a [`Change`].
//!
//! Scripts are parsed with tree-sitter-bash (see `PARSER.md` for why), which recovers from
//! syntax errors, so a broken script still yields whatever changes can be found plus a
//! [`Diagnostic`]. Nothing is executed.
//!
//! Commands are found where the shell would run them: by absolute path, behind `command`/`env`/
//! `exec`, in functions at their call sites, in `$(...)`, in `sh -c '...'` and `eval` strings,
//! and as the command of `find -exec` and `xargs`.
//!
//! Each script is walked once per first argument dpkg may give it ([`run_args`]), path by path
//! (see `walk`): the result says, for every way a run can go, which changes it makes in which
//! order and whether it ends in success. `debgate-analyze` turns that into end states.

mod commands;
pub mod stored;
mod walk;
mod word;

use debgate_facts::change::Change;
use debgate_facts::{Script, ScriptName};
use serde::{Deserialize, Serialize};

/// What static reading found in one script.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analysis {
    /// The distinct privilege changes, in the order the walk first met them. [`Step`]s refer
    /// to them by index.
    pub changes: Vec<Change>,
    /// One entry per first argument the script is run with.
    pub runs: Vec<Run>,
    pub diagnostics: Vec<Diagnostic>,
    /// Most paths alive at once in any run (bounded by [`Options::max_paths`]).
    pub peak_paths: usize,
}

impl Analysis {
    /// True when part of the script could not be read at all (not shell, truncated, nested or
    /// quoted beyond the analyzer's bounds): its end states may miss what that part does, so
    /// rules fail closed on it.
    pub fn blind(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.blind)
    }
}

/// The paths of one run of a script: `postinst configure`, `prerm upgrade`...
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// One of [`run_args`]' arguments (read back as that very string: see [`stored`], which
    /// implements `Deserialize` for a run).
    pub arg: &'static str,
    pub paths: Vec<RunPath>,
}

/// One way a run can go: the changes it makes, in order, and how it ends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunPath {
    pub steps: Vec<Step>,
    pub end: End,
}

/// A step of a path, by index into [`Analysis::changes`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The change is made (its command succeeded on this path).
    Do(usize),
    /// The change may be made or not: its command may fail without ending the run.
    May(usize),
    /// Any of these changes, in any order, any number of times, or none: a command that may
    /// fail without ending the run, a loop body, or paths merged past the bound.
    Any(Vec<usize>),
    /// The command failed on this path: nothing changes; kept to say why a state came about
    /// (`postinst:9 failed`).
    Failed(usize),
    /// One of these step lists: paths that agree on everything else (variables, status) and
    /// differ only in what they changed, joined after a branch. It keeps the walk from doubling
    /// at each independent `if` while staying exact for every file's states.
    Choice(Vec<Vec<Step>>),
}

/// How a path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    /// Exit status 0: dpkg goes on.
    Success,
    /// A non-zero exit (or `set -e` on a failure): the run's state is only where a later run
    /// starts.
    Failure,
    /// Either, by a status only run time knows.
    Either,
}

impl End {
    pub fn can_succeed(self) -> bool {
        self != End::Failure
    }
}

/// The version of what the analyzer makes of a script. The facts cache keeps each package's
/// analyses and keys them by this (see `debgate_cache::Key`), so bump it whenever the same
/// script could be analysed differently: a change to the walk, to the commands recognised, to
/// the bounds' defaults, to a type an [`Analysis`] holds, or a new tree-sitter grammar. The
/// test `analysis_format_guard` fails when the analyses of the fixture scripts change without it.
pub const ANALYSIS_FORMAT: u32 = 1;

/// Bounds of the analysis.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Paths alive at once per run; past it they are merged (over-approximating).
    pub max_paths: usize,
    /// Statements walked per path set in total; past it calls and loops are no longer expanded
    /// (read as repeatable, over-approximating), so the rest of the walk stays linear in the
    /// size of the script.
    pub max_steps: usize,
}

/// Default for [`Options::max_steps`]. A real maintainer script takes a few thousand steps;
/// the budget is there for scripts built to explode (calls that call themselves, nested loops).
pub const MAX_SCRIPT_STEPS: usize = 200_000;

/// Default for [`Options::max_paths`]. A real postinst has a handful of paths per run; a few
/// dozen once debconf branches and fallbacks multiply.
pub const MAX_SCRIPT_PATHS: usize = 256;

impl Default for Options {
    fn default() -> Self {
        Options {
            max_paths: MAX_SCRIPT_PATHS,
            max_steps: MAX_SCRIPT_STEPS,
        }
    }
}

/// The first arguments dpkg runs a script with, on the way to an installed package (Debian
/// Policy 6.5, dpkg's maintainer-script flowcharts). `postrm` counts only as `failed-upgrade`
/// (after unpack, before configure); its other arms run when the files are going away. `config`
/// is run by debconf and changes no files.
pub fn run_args(script: ScriptName) -> &'static [&'static str] {
    match script {
        ScriptName::Preinst => &["install", "upgrade"],
        ScriptName::Postinst => &[
            "configure",
            "triggered",
            "abort-upgrade",
            "abort-remove",
            "abort-deconfigure",
        ],
        ScriptName::Prerm => &["remove", "upgrade", "deconfigure", "failed-upgrade"],
        ScriptName::Postrm => &["failed-upgrade"],
        ScriptName::Config => &["configure"],
    }
}

/// Something the analyzer could not read: a syntax error, an unknown capability name, a mode that
/// is not a mode, a value only run time can tell, a bound that was hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub script: ScriptName,
    /// 1-based line the problem was found on.
    pub line: u32,
    pub message: String,
    /// The analyzer could not see what this part of the script does (see [`Analysis::blind`]).
    pub blind: bool,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.script, self.line, self.message)
    }
}

/// How many syntax errors are reported per script; past the first few they are noise.
const MAX_SYNTAX_DIAGNOSTICS: usize = 5;

/// Interpreters whose scripts are shell; anything else (`#!/usr/bin/perl`) is not analyzed.
const SHELLS: [&str; 8] = [
    "sh", "bash", "dash", "ksh", "mksh", "posh", "zsh", "busybox",
];

/// Analyze one maintainer script with the default bounds.
pub fn analyze(script: &Script) -> Analysis {
    analyze_with(script, &Options::default())
}

/// Analyze one maintainer script. Never panics; whatever cannot be read becomes a diagnostic.
pub fn analyze_with(script: &Script, opts: &Options) -> Analysis {
    let mut out = Analysis::default();
    let diag = |line: u32, message: String| Diagnostic {
        script: script.name,
        line,
        message,
        blind: true,
    };
    if let Some(interp) = foreign_interpreter(&script.text) {
        out.diagnostics.push(diag(
            1,
            format!("not a shell script (`#!{interp}`); not analyzed"),
        ));
        return out;
    }
    let Some(tree) = parse(&script.text) else {
        out.diagnostics
            .push(diag(1, "the shell parser gave up on this script".into()));
        return out;
    };
    let root = tree.root_node();
    // Text the parser skipped may hold commands: what it could place is still analyzed.
    if root.has_error() {
        syntax_errors(root, &script.text, &mut |line, msg| {
            out.diagnostics.push(diag(line, msg))
        });
    }
    if script.truncated {
        let last = u32::try_from(script.text.lines().count()).unwrap_or(u32::MAX);
        out.diagnostics.push(diag(
            last,
            "script was truncated; only its head was analyzed".into(),
        ));
    }
    if !commands::NAMES.iter().any(|n| script.text.contains(n)) {
        // No privilege command is named anywhere, not even in a string a shell could run: no
        // path can change a file. One path per run, which may end either way.
        for arg in run_args(script.name) {
            out.runs.push(Run {
                arg,
                paths: vec![RunPath {
                    steps: Vec::new(),
                    end: End::Either,
                }],
            });
        }
        out.peak_paths = 1;
        return out;
    }
    // debconf runs `config` before the package is unpacked, and it changes no file: its
    // changes are only reported, so its paths are merged at every step (linear, and enough to
    // list them).
    let max_paths = match script.name {
        ScriptName::Config => 1,
        _ => opts.max_paths,
    };
    let mut walker = walk::Walker::new(&script.text, script.name, max_paths, opts.max_steps);
    let errexit = shebang_errexit(&script.text);
    // A script that never reads its arguments walks the same way whatever dpkg passes: walk
    // it once and share the paths.
    let reads_args = [
        "$1", "${1", "$@", "${@", "$*", "${*", "$#", "${#", "shift", "set --",
    ]
    .iter()
    .any(|p| script.text.contains(p));
    let mut shared: Option<Vec<RunPath>> = None;
    for arg in run_args(script.name) {
        let paths = match &shared {
            Some(p) if !reads_args => p.clone(),
            _ => walker.run(root, &[Some(arg), None], errexit),
        };
        shared.get_or_insert_with(|| paths.clone());
        out.runs.push(Run { arg, paths });
    }
    // The walker records each diagnostic once; only the syntax errors above may repeat one.
    for d in walker.diagnostics {
        if !out.diagnostics.contains(&d) {
            out.diagnostics.push(d);
        }
    }
    out.peak_paths = walker.peak;
    out.changes = walker.changes;
    mark_conditional(&mut out);
    out
}

/// A change is unconditional when every successful path of the script's first run reaches its
/// command (which may still fail: any command can), conditional when it sits on a branch, in a
/// loop, or in a function not always called.
fn mark_conditional(a: &mut Analysis) {
    let mut sure = vec![true; a.changes.len()];
    let mut any_success = false;
    // Judged on the script's first run (postinst configure, preinst install, prerm remove):
    // that every change sits in the `configure` arm is not what "conditional" should say.
    for path in a.runs.iter().take(1).flat_map(|r| &r.paths) {
        if !path.end.can_succeed() {
            continue;
        }
        any_success = true;
        let made = reached(&path.steps);
        for (i, s) in sure.iter_mut().enumerate() {
            *s &= made.contains(&i);
        }
    }
    for (c, s) in a.changes.iter_mut().zip(sure) {
        c.conditional = !(s && any_success);
    }
}

/// The changes whose command every way through these steps reaches.
fn reached(steps: &[Step]) -> std::collections::HashSet<usize> {
    let mut out = std::collections::HashSet::new();
    for s in steps {
        match s {
            Step::Do(i) | Step::May(i) | Step::Failed(i) => {
                out.insert(*i);
            }
            Step::Any(_) => {}
            Step::Choice(alts) => {
                let mut sets = alts.iter().map(|a| reached(a));
                if let Some(first) = sets.next() {
                    let common = sets.fold(first, |acc, s| acc.intersection(&s).copied().collect());
                    out.extend(common);
                }
            }
        }
    }
    out
}

/// `#!/bin/sh -e`: the shell starts with `set -e`.
fn shebang_errexit(text: &str) -> bool {
    let Some(first) = text.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        return false;
    };
    first
        .split_whitespace()
        .skip(1)
        .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('e'))
}

/// Parse shell text; `None` only if the grammar cannot be loaded (a tree-sitter version
/// mismatch, caught by the tests) or the parser gives up.
pub(crate) fn parse(text: &str) -> Option<tree_sitter::Tree> {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .ok()?;
    parser.parse(text, None)
}

/// The interpreter line of a script that is not shell, e.g. `/usr/bin/perl -w`.
fn foreign_interpreter(text: &str) -> Option<&str> {
    let first = text.lines().next()?;
    let interp = first.strip_prefix("#!")?.trim();
    let mut words = interp.split_whitespace();
    let mut prog = words.next()?;
    if word::base(prog) == "env" {
        prog = words.find(|w| !w.starts_with('-') && !w.contains('='))?;
    }
    (!SHELLS.contains(&word::base(prog))).then_some(interp)
}

/// Report the places tree-sitter could not parse: ERROR nodes (text it skipped) and MISSING
/// nodes (tokens it had to invent, like a `fi`).
fn syntax_errors(root: tree_sitter::Node, src: &str, push: &mut dyn FnMut(u32, String)) {
    let mut found = 0;
    let mut cursor = root.walk();
    // Iterative pre-order walk: the tree of hostile input can be very deep.
    'walk: loop {
        let n = cursor.node();
        let mut descend = true;
        if n.is_error() || n.is_missing() {
            found += 1;
            let line = walk::line_of(n);
            let msg = if n.is_missing() {
                format!("syntax error: missing `{}`", n.kind())
            } else {
                let text: String = src[n.byte_range()]
                    .split_whitespace()
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(" ");
                let text: String = text.chars().take(60).collect();
                format!("syntax error: cannot parse `{text}`")
            };
            push(line, msg);
            descend = false;
            if found >= MAX_SYNTAX_DIAGNOSTICS {
                return;
            }
        }
        if descend && n.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
}
