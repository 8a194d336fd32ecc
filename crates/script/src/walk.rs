//! A path-sensitive walk over a script's syntax tree: it follows every path the shell could
//! take through one run (each `if`, `case`, `&&`, `||` and loop a fork, decided only where known
//! values decide it), carries variables with each path, and records on each path the privilege
//! changes it makes, as [`Step`]s, until the path ends in success or failure.
//!
//! The failure model is ARCHITECTURE.md's: any command may succeed or fail; a privilege command
//! that fails changes nothing on its target; `set -e` ends a run on an unguarded failure.

use crate::commands;
use crate::word::{base, Arg, Env, Evaluator, Params, Val};
use crate::{Diagnostic, End, RunPath, Step};
use debgate_facts::change::Change;
use debgate_facts::ScriptName;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use tree_sitter::Node;

/// Deepest syntax nesting walked; hostile input (thousands of nested braces) stops here rather
/// than exhausting the stack.
const MAX_NESTING: usize = 200;
/// Deepest chain of function calls followed (functions may call themselves).
const MAX_CALL_DEPTH: usize = 16;
/// Loop iterations expanded one by one across a run; past it a loop is read as "any number of
/// times" with its variable unknown.
const MAX_LOOP_EXPANSIONS: usize = 1000;
/// Distinct changes recorded per script; a real script makes a few dozen.
const MAX_CHANGES: usize = 10_000;
/// Distinct diagnostics recorded per script, for the same reason.
const MAX_DIAGNOSTICS: usize = 1_000;
/// Paths alive at once before those with the same changes have their variables joined.
const SOFT_PATHS: usize = 8;
/// Steps kept per path; past it the path's steps become one "any of these, any number of
/// times" (an over-approximation) so that a hostile loop cannot grow a path without bound.
const MAX_PATH_STEPS: usize = 4096;
/// How deeply command strings (`sh -c '...'`, `eval '...'`) inside command strings are read.
const MAX_STRING_DEPTH: usize = 4;
/// The working directory, kept among the variables (so paths carry it) under a name no shell
/// variable can have.
const CWD: &str = " cwd";

/// The exit status of the last command on a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Status {
    Ok,
    Fail,
    /// Either; `Pending` names the steps of the last command, which a branch on this status
    /// resolves (applied on the success side, not on the failure side).
    Unknown(Option<Pending>),
}

/// The tail of a path's steps made by the command whose status is pending, recorded as
/// "may happen" until a branch decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Pending {
    start: usize,
    /// A command with several targets may fail half-way: on failure its steps stay "may".
    multi: bool,
    /// False after `!`: success of the negation is failure of the command.
    on_ok: bool,
}

/// One path through a run, so far.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct P {
    env: Env,
    /// Positional parameters: the run's at the bottom, one more per function call.
    params: Vec<Params>,
    steps: Vec<Step>,
    status: Status,
    errexit: bool,
}

impl P {
    fn params(&self) -> &Params {
        self.params.last().unwrap_or(&Params::Unknown)
    }

    /// This path with its last command's outcome decided.
    fn resolved(mut self, ok: bool) -> P {
        if let Status::Unknown(Some(pd)) = self.status {
            if ok == pd.on_ok {
                for s in self.steps.get_mut(pd.start..).unwrap_or_default() {
                    if let Step::May(i) = s {
                        *s = Step::Do(*i);
                    }
                }
            } else if !pd.multi {
                for s in self.steps.get_mut(pd.start..).unwrap_or_default() {
                    if let Step::May(i) = s {
                        *s = Step::Failed(*i);
                    }
                }
            }
        }
        self.status = if ok { Status::Ok } else { Status::Fail };
        self
    }
}

struct Limits {
    max_paths: usize,
    /// See `Options::max_steps`.
    max_steps: usize,
}

/// What a loop repeats, walked on a set of paths.
type Unit<'u, 't> = dyn FnMut(&mut Walker<'t>, Vec<P>, usize) -> Vec<P> + 'u;

pub(crate) struct Walker<'t> {
    src: &'t str,
    script: ScriptName,
    pub changes: Vec<Change>,
    index: HashMap<Change, usize>,
    pub diagnostics: Vec<Diagnostic>,
    seen_diagnostics: HashSet<(u32, String)>,
    limits: Limits,
    functions: HashMap<String, Node<'t>>,
    steps: usize,
    loop_expansions: usize,
    /// Notes said once per script.
    noted: HashSet<&'static str>,
    string_depth: usize,
    /// How many conditions (of `if`/`while`, left of `&&`/`||`, under `!`) the walk is in:
    /// `set -e` is ignored there.
    cond: usize,
    /// Most paths kept alive at once (after `bound`, so at most `max_paths`), for the record.
    pub peak: usize,
    /// Each privilege command's text, normalised once per command node (by its byte range): a
    /// loop walks one command thousands of times, and its text can be a long line.
    command_texts: HashMap<(usize, usize), debgate_facts::change::CommandText>,
    /// Where paths that end go: the run's ends at the bottom; a subshell pushes its own.
    sinks: Vec<Vec<(P, End)>>,
    /// Paths that `return`ed, one list per function being walked.
    returns: Vec<Vec<P>>,
    /// Paths that `break` and `continue`, one pair per loop being walked.
    loops: Vec<(Vec<P>, Vec<P>)>,
    /// Changes recorded while probing a loop body, one set per probe.
    touched: Vec<BTreeSet<usize>>,
}

impl<'t> Walker<'t> {
    pub fn new(src: &'t str, script: ScriptName, max_paths: usize, max_steps: usize) -> Self {
        Walker {
            src,
            script,
            changes: Vec::new(),
            index: HashMap::new(),
            diagnostics: Vec::new(),
            seen_diagnostics: HashSet::new(),
            limits: Limits {
                max_paths: max_paths.max(1),
                max_steps,
            },
            functions: HashMap::new(),
            steps: 0,
            loop_expansions: 0,
            noted: HashSet::new(),
            string_depth: 0,
            cond: 0,
            peak: 1,
            command_texts: HashMap::new(),
            sinks: Vec::new(),
            returns: Vec::new(),
            loops: Vec::new(),
            touched: Vec::new(),
        }
    }

    /// Walk one run of the script: `args` are dpkg's arguments (`configure`, then the old
    /// version, unknown). Returns every path's end.
    pub fn run(&mut self, root: Node<'t>, args: &[Option<&str>], errexit: bool) -> Vec<RunPath> {
        self.functions.clear();
        self.loop_expansions = 0;
        self.steps = 0;
        let args: Vec<Arg> = args
            .iter()
            .enumerate()
            .map(|(i, a)| Arg {
                value: a.map(String::from),
                raw: format!("${}", i + 1),
            })
            .collect();
        self.walk_from(root, Params::of_call(args), errexit)
    }

    /// Walk a command string (`sh -c`, `eval`) as a script of its own from one path.
    fn run_string(&mut self, root: Node<'t>) -> Vec<RunPath> {
        self.walk_from(root, Params::Unknown, false)
    }

    /// Walk a whole program from one path with these parameters; every path's end.
    fn walk_from(&mut self, root: Node<'t>, params: Params, errexit: bool) -> Vec<RunPath> {
        let start = P {
            env: Env::default(),
            params: vec![params],
            steps: Vec::new(),
            status: Status::Ok,
            errexit,
        };
        self.sinks.push(Vec::new());
        let out = self.exec(root, vec![start], 0);
        let mut ended = self.sinks.pop().unwrap_or_default();
        for p in out {
            let end = end_of(&p.status);
            ended.push((p, end));
        }
        self.bound_ends(ended)
    }

    fn text(&self, n: Node) -> &'t str {
        &self.src[n.byte_range()]
    }

    fn note(&mut self, n: Node, message: String, blind: bool) {
        let line = line_of(n);
        if self.diagnostics.len() >= MAX_DIAGNOSTICS
            || !self.seen_diagnostics.insert((line, message.clone()))
        {
            return;
        }
        self.diagnostics.push(Diagnostic {
            script: self.script,
            line,
            message,
            blind,
        });
    }

    fn note_once(&mut self, key: &'static str, n: Node, message: String, blind: bool) {
        if self.noted.insert(key) {
            self.note(n, message, blind);
        }
    }

    /// The index of a change, recording it the first time.
    fn record(&mut self, n: Node, change: Change) -> Option<usize> {
        let i = match self.index.get(&change) {
            Some(i) => *i,
            None if self.changes.len() >= MAX_CHANGES => {
                self.note_once(
                    "changes",
                    n,
                    format!("more than {MAX_CHANGES} changes; the rest are not analyzed"),
                    true,
                );
                return None;
            }
            None => {
                self.changes.push(change.clone());
                self.index.insert(change, self.changes.len() - 1);
                self.changes.len() - 1
            }
        };
        for t in &mut self.touched {
            t.insert(i);
        }
        Some(i)
    }

    fn may_expand(&mut self, n: Node) -> bool {
        if self.steps < self.limits.max_steps {
            return true;
        }
        self.note_once(
            "budget",
            n,
            format!("analysis budget of {} steps used up; calls and loops past this point are read as repeatable", self.limits.max_steps),
            false,
        );
        false
    }

    fn eval<'e>(&'e self, p: &'e P) -> Evaluator<'e> {
        Evaluator {
            src: self.src,
            env: &p.env,
            params: p.params(),
        }
    }

    /// The arguments a command receives from these words.
    fn args(&self, p: &P, words: &[Node]) -> Vec<Arg> {
        let ev = self.eval(p);
        let mut out = Vec::new();
        // Nodes that touch are one shell word (the parser splits some, e.g. `$1:$2`).
        let mut groups: Vec<Vec<Node>> = Vec::new();
        for w in words {
            match groups.last_mut() {
                Some(g) if g.last().is_some_and(|l| l.end_byte() == w.start_byte()) => g.push(*w),
                _ => groups.push(vec![*w]),
            }
        }
        for g in groups {
            let (first, last) = (g[0], g[g.len() - 1]);
            let raw = self.src[first.start_byte()..last.end_byte()].to_string();
            let fields = match g.as_slice() {
                [one] => ev.fields(*one),
                many => ev.joined(many),
            };
            match fields {
                Some(fields) => out.extend(fields.into_iter().map(|f| Arg {
                    value: Some(f),
                    raw: raw.clone(),
                })),
                None => out.push(Arg { value: None, raw }),
            }
        }
        out
    }

    /// End a path: into the innermost subshell, or the run's ends.
    fn end(&mut self, p: P, end: End) {
        if let Some(s) = self.sinks.last_mut() {
            s.push((p, end));
        }
    }

    /// Keep the path set within `max-script-paths`: identical paths are one; past the limit all
    /// are merged into one that may make any of their changes, in any order, any number of
    /// times, with the variables they disagree on unknown. Over-approximate, so still sound.
    fn bound(&mut self, mut paths: Vec<P>, at: Node) -> Vec<P> {
        if paths.len() > 1 {
            // Paths that differ only in the last status are one path whose status is unknown.
            paths = group(
                paths,
                |p, h| (&p.env, &p.params, &p.steps, p.errexit).hash(h),
                |a, b| {
                    a.env == b.env
                        && a.params == b.params
                        && a.steps == b.steps
                        && a.errexit == b.errexit
                },
                |q, p| {
                    if q.status != p.status {
                        let pending = match (&q.status, &p.status) {
                            (Status::Unknown(a), Status::Unknown(b)) if a == b => *a,
                            _ => None,
                        };
                        q.status = Status::Unknown(pending);
                    }
                },
            );
        }
        if paths.len() > 1 {
            paths = join_choices(paths);
        }
        if paths.len() > SOFT_PATHS {
            // Many paths that made the same changes: join their variables (a value they
            // disagree on becomes unknown) before anything coarser. Below this many, values
            // assigned together stay together.
            paths = group(
                paths,
                |p, h| (&p.params, &p.steps, p.errexit).hash(h),
                |a, b| a.params == b.params && a.steps == b.steps && a.errexit == b.errexit,
                |q, p| {
                    q.env = Env::merge(&[std::mem::take(&mut q.env), p.env]);
                    if q.status != p.status {
                        q.status = Status::Unknown(None);
                    }
                },
            );
        }
        if paths.len() > SOFT_PATHS {
            // Still many, differing in both: join the variables, and keep what each changed
            // as a choice (exact for every file's states).
            paths = join_steps(
                paths,
                |p, h| (&p.params, p.errexit).hash(h),
                |a, b| a.params == b.params && a.errexit == b.errexit,
                |q, p| {
                    q.env = Env::merge(&[std::mem::take(&mut q.env), p.env]);
                    if q.status != p.status {
                        q.status = Status::Unknown(None);
                    }
                },
            );
        }
        if paths.len() <= self.limits.max_paths {
            // The peak counts the paths kept, which the limit bounds, not the set before the
            // joins and the merge (recorded there, it exceeded `max_paths`: found by fuzzing).
            self.peak = self.peak.max(paths.len());
            return paths;
        }
        let max = self.limits.max_paths;
        // `config` is walked merged on purpose (see `analyze_with`): nothing to say.
        if self.script == ScriptName::Config {
            return vec![merge(paths)];
        }
        self.note(
            at,
            format!("more than {max} paths (limit max-script-paths); merged, which over-approximates the end states"),
            false,
        );
        vec![merge(paths)]
    }

    fn bound_ends(&mut self, ended: Vec<(P, End)>) -> Vec<RunPath> {
        let mut seen = HashSet::new();
        let mut out: Vec<RunPath> = ended
            .into_iter()
            .map(|(p, end)| RunPath {
                steps: p.steps,
                end,
            })
            .filter(|r| seen.insert(r.clone()))
            .collect();
        if out.len() > self.limits.max_paths {
            let steps: Vec<Vec<Step>> = out.drain(..).map(|r| r.steps).collect();
            out.push(RunPath {
                steps: merge_steps(&steps),
                end: End::Either,
            });
        }
        out
    }

    /// Walk one statement (or any node that may contain statements) on every live path.
    fn exec(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        if paths.is_empty() {
            // Dead code: no path reaches it.
            return paths;
        }
        if depth > MAX_NESTING {
            self.note_once(
                "nesting",
                n,
                format!("nesting deeper than {MAX_NESTING}; not analyzed further"),
                true,
            );
            return paths;
        }
        self.steps += paths.len();
        let next = depth + 1;
        match n.kind() {
            "comment" | "heredoc_body" | "heredoc_start" | "heredoc_end" | "test_operator" => paths,
            "command" => self.command(n, paths, next),
            "variable_assignment" => {
                let paths = self.substitutions(n, paths, next);
                paths
                    .into_iter()
                    .map(|mut p| {
                        self.assign(n, &mut p);
                        p
                    })
                    .collect()
            }
            "declaration_command" => self.declaration(n, paths, next),
            "unset_command" => {
                let mut c = n.walk();
                let names: Vec<&str> = n
                    .named_children(&mut c)
                    .filter(|k| k.kind() == "variable_name")
                    .map(|k| self.text(k))
                    .collect();
                paths
                    .into_iter()
                    .map(|mut p| {
                        for name in &names {
                            p.env.unset(name);
                        }
                        p.status = Status::Ok;
                        p
                    })
                    .collect()
            }
            "function_definition" => {
                if let (Some(name), Some(body)) =
                    (n.child_by_field_name("name"), n.child_by_field_name("body"))
                {
                    self.functions.insert(self.text(name).to_string(), body);
                }
                paths
            }
            "list" => self.list(n, paths, next),
            "negated_command" => {
                self.cond += 1;
                let out = self.children(n, paths, next);
                self.cond -= 1;
                out.into_iter().map(negate).collect()
            }
            "pipeline" => self.pipeline(n, paths, next),
            "subshell" | "command_substitution" | "process_substitution" => {
                let kids = named_children(n);
                self.subshell(&kids, paths, next)
            }
            "if_statement" => self.if_statement(n, paths, next),
            "case_statement" => self.case_statement(n, paths, next),
            "while_statement" => self.while_statement(n, paths, None, next),
            "for_statement" => self.for_statement(n, paths, next),
            "c_style_for_statement" => match n.child_by_field_name("body") {
                Some(body) => self.star(n, paths, next, &mut |w, ps, d| w.exec(body, ps, d)),
                None => paths,
            },
            "redirected_statement" => self.redirected(n, paths, next),
            "test_command" => paths
                .into_iter()
                .filter_map(|mut p| {
                    p.status = self.test_node(&p, n);
                    self.errexit(p)
                })
                .collect(),
            // Containers whose statements run in order: the program, `{ }`, `do ... done`, and
            // ERROR nodes (what the parser could not place; their commands are still commands).
            _ => self.children(n, paths, next),
        }
    }

    /// The named children of `n`, in order, each on the paths the previous one left.
    fn children(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let kids = named_children(n);
        self.seq(&kids, paths, depth)
    }

    fn seq(&mut self, kids: &[Node<'t>], mut paths: Vec<P>, depth: usize) -> Vec<P> {
        for k in kids {
            paths = self.exec(*k, paths, depth);
            paths = self.bound(paths, *k);
        }
        paths
    }

    /// Walk `kids` in a subshell: variables, `exit` and `set -e` stay inside; file changes and
    /// the exit status come out.
    fn subshell(&mut self, kids: &[Node<'t>], paths: Vec<P>, depth: usize) -> Vec<P> {
        let mut out = Vec::new();
        for p in paths {
            self.sinks.push(Vec::new());
            let inner = self.seq(kids, vec![p.clone()], depth);
            let ended = self.sinks.pop().unwrap_or_default();
            let all = inner.into_iter().map(|q| {
                let st = q.status.clone();
                (q, st)
            });
            let all = all.chain(ended.into_iter().map(|(q, e)| (q, status_of(e))));
            for (q, status) in all {
                out.push(P {
                    env: p.env.clone(),
                    params: p.params.clone(),
                    steps: q.steps,
                    status,
                    errexit: p.errexit,
                });
            }
        }
        out
    }

    /// Commands inside `$(...)`, backticks and `<(...)` in a word run first, in a subshell.
    fn substitutions(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let mut subs = Vec::new();
        collect_substitutions(n, &mut subs, 0);
        let mut paths = paths;
        for s in subs {
            let kids = named_children(s);
            paths = self.subshell(&kids, paths, depth);
            paths = self.bound(paths, s);
        }
        paths
    }

    fn declaration(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let kids = named_children(n);
        let local = matches!(first_token(self.src, n), "local" | "declare" | "typeset");
        let mut paths = self.substitutions(n, paths, depth);
        for p in &mut paths {
            for k in &kids {
                match k.kind() {
                    "variable_assignment" => self.assign(*k, p),
                    // `local x` without a value makes x empty in this scope.
                    "variable_name" if local => p.env.set(self.text(*k), Val::Known(String::new())),
                    _ => {}
                }
            }
            p.status = Status::Ok;
        }
        paths
    }

    /// `NAME=value` on one path (its substitutions already walked).
    fn assign(&mut self, n: Node<'t>, p: &mut P) {
        let Some(name) = n.child_by_field_name("name") else {
            return;
        };
        let value = n.child_by_field_name("value");
        let mut subs = Vec::new();
        if let Some(v) = value {
            collect_substitutions(v, &mut subs, 0);
        }
        // The status of `x=$(cmd)` is cmd's, which only run time knows.
        p.status = if subs.is_empty() {
            Status::Ok
        } else {
            Status::Unknown(None)
        };
        if name.kind() != "variable_name" {
            // `a[1]=x`: arrays are not tracked.
            return;
        }
        let appends = self.src[name.end_byte()..].trim_start().starts_with("+=");
        let val = match value {
            None => Some(String::new()),
            Some(v) => self.eval(p).assigned(v),
        };
        let name = self.text(name);
        let val = match (val, appends) {
            (Some(v), false) => Val::Known(v),
            (Some(v), true) => match p.env.get(name) {
                Some(old) => Val::Known(format!("{old}{v}")),
                None => Val::Unknown,
            },
            (None, _) => Val::Unknown,
        };
        p.env.set(name, val);
    }

    /// `a && b || c`: every part but the last is a condition; each operator forks on the
    /// status of what precedes it.
    fn list(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let mut c = n.walk();
        let parts: Vec<Node<'t>> = n
            .children(&mut c)
            .filter(|k| k.kind() != "comment")
            .collect();
        let last_named = parts.iter().rposition(|k| k.is_named()).unwrap_or(0);
        let mut paths = paths;
        let mut op: Option<&str> = None;
        let mut passed: Vec<P> = Vec::new();
        for (i, k) in parts.iter().enumerate() {
            if !k.is_named() {
                op = Some(k.kind());
                continue;
            }
            let run = match op {
                Some("&&") => {
                    let (ok, fail) = split(paths);
                    passed.extend(fail);
                    ok
                }
                Some("||") => {
                    let (ok, fail) = split(paths);
                    passed.extend(ok);
                    fail
                }
                _ => paths,
            };
            let is_cond = i < last_named;
            if is_cond {
                self.cond += 1;
            }
            paths = self.exec(*k, run, depth);
            if is_cond {
                self.cond -= 1;
            }
        }
        paths.extend(passed);
        paths
    }

    /// `a | b`: every element runs in a subshell; only the last one's status counts.
    fn pipeline(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let kids = named_children(n);
        let mut paths = paths;
        for (i, k) in kids.iter().enumerate() {
            let last = i + 1 == kids.len();
            if !last {
                self.cond += 1;
            }
            paths = self.subshell(&[*k], paths, depth);
            if !last {
                self.cond -= 1;
            }
            paths = self.bound(paths, *k);
        }
        paths
    }

    fn if_statement(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let mut conds = Vec::new();
        let mut then_body = Vec::new();
        let mut alternatives: Vec<Node<'t>> = Vec::new();
        for (field, k) in fields(n) {
            if !k.is_named() {
                continue;
            }
            match (field, k.kind()) {
                (Some("condition"), _) => conds.push(k),
                (_, "elif_clause" | "else_clause") => alternatives.push(k),
                _ => then_body.push(k),
            }
        }
        let (ok, mut rest) = self.condition(&conds, paths, depth);
        let mut out = self.seq(&then_body, ok, depth);
        let mut has_else = false;
        for alt in alternatives {
            let mut conds = Vec::new();
            let mut body = Vec::new();
            for (field, k) in fields(alt) {
                if !k.is_named() {
                    continue;
                }
                match field {
                    Some("condition") => conds.push(k),
                    _ => body.push(k),
                }
            }
            if alt.kind() == "else_clause" {
                has_else = true;
                out.extend(self.seq(&body, std::mem::take(&mut rest), depth));
            } else {
                let (ok, fail) = self.condition(&conds, std::mem::take(&mut rest), depth);
                out.extend(self.seq(&body, ok, depth));
                rest = fail;
            }
        }
        if !has_else {
            // No branch taken: the `if` returns 0.
            out.extend(rest.into_iter().map(|mut p| {
                p.status = Status::Ok;
                p
            }));
        }
        out
    }

    /// Walk a condition and split its paths into those where it held and those where it did
    /// not.
    fn condition(&mut self, conds: &[Node<'t>], paths: Vec<P>, depth: usize) -> (Vec<P>, Vec<P>) {
        self.cond += 1;
        let after = self.seq(conds, paths, depth);
        self.cond -= 1;
        split(after)
    }

    fn case_statement(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let value = n.child_by_field_name("value");
        let mut paths = match value {
            Some(v) => self.substitutions(v, paths, depth),
            None => paths,
        };
        let mut c = n.walk();
        let items: Vec<Node<'t>> = n
            .named_children(&mut c)
            .filter(|k| k.kind() == "case_item")
            .collect();
        let mut out = Vec::new();
        for item in items {
            let mut patterns = Vec::new();
            let mut body = Vec::new();
            for (field, k) in fields(item) {
                if !k.is_named() {
                    continue;
                }
                if field == Some("value") {
                    patterns.push(k);
                } else {
                    body.push(k);
                }
            }
            let mut taken = Vec::new();
            let mut not_taken = Vec::new();
            for p in paths {
                let word = value.and_then(|v| self.eval(&p).assigned(v));
                let pats: Option<Vec<String>> =
                    patterns.iter().map(|k| self.pattern(&p, *k)).collect();
                match (word, pats) {
                    (Some(w), Some(pats)) => {
                        if pats.iter().any(|pat| case_match(pat, &w)) {
                            taken.push(p)
                        } else {
                            not_taken.push(p)
                        }
                    }
                    _ => {
                        taken.push(p.clone());
                        not_taken.push(p);
                    }
                }
            }
            out.extend(self.seq(&body, taken, depth));
            paths = not_taken;
        }
        // No arm matched: `case` returns 0.
        out.extend(paths.into_iter().map(|mut p| {
            p.status = Status::Ok;
            p
        }));
        out
    }

    /// A `case` pattern's text: literal unless it expands something.
    fn pattern(&self, p: &P, k: Node<'t>) -> Option<String> {
        let text = self.text(k);
        if matches!(k.kind(), "extglob_pattern" | "word")
            && !text.contains(['$', '`', '\\', '"', '\''])
        {
            return Some(text.to_string());
        }
        self.eval(p).assigned(k)
    }

    /// `while`/`until COND; do BODY; done`: the condition runs at least once, the body any
    /// number of times. `lines` are the here-document lines when the condition is a `read` fed
    /// by a literal here-document: then each line is an iteration of its own.
    fn while_statement(
        &mut self,
        n: Node<'t>,
        paths: Vec<P>,
        lines: Option<Vec<String>>,
        depth: usize,
    ) -> Vec<P> {
        let conds: Vec<Node<'t>> = fields(n)
            .into_iter()
            .filter(|(f, k)| *f == Some("condition") && k.is_named())
            .map(|(_, k)| k)
            .collect();
        let Some(body) = n.child_by_field_name("body") else {
            return paths;
        };
        if let (Some(lines), Some(vars)) = (lines, self.read_vars(&conds)) {
            if self.loop_expansions + lines.len() <= MAX_LOOP_EXPANSIONS {
                self.loop_expansions += lines.len();
                let mut paths = paths;
                let mut broke = Vec::new();
                for line in lines {
                    for p in &mut paths {
                        assign_read(&mut p.env, &vars, &line);
                    }
                    let (ps, b) = self.iteration(body, paths, depth);
                    paths = ps;
                    broke.extend(b);
                }
                paths.extend(broke);
                return paths
                    .into_iter()
                    .map(|mut p| {
                        p.status = Status::Ok;
                        p
                    })
                    .collect();
            }
        }
        let until = first_token(self.src, n) == "until";
        self.star(n, paths, depth, &mut |w, ps, d| {
            let (ok, fail) = w.condition(&conds, ps, d);
            let (go, stop) = if until { (fail, ok) } else { (ok, fail) };
            let mut out = w.exec(body, go, d);
            out.extend(stop);
            out
        })
    }

    /// The variables of `read [-r] A B` when that is the whole condition.
    fn read_vars(&self, conds: &[Node<'t>]) -> Option<Vec<String>> {
        let [c] = conds else { return None };
        if c.kind() != "command" {
            return None;
        }
        let words: Vec<&str> = self.text(*c).split_whitespace().collect();
        let (first, rest) = words.split_first()?;
        if *first != "read" {
            return None;
        }
        let vars: Vec<String> = rest
            .iter()
            .filter(|w| !w.starts_with('-'))
            .map(|w| w.to_string())
            .collect();
        (!vars.is_empty()
            && vars
                .iter()
                .all(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')))
        .then_some(vars)
    }

    /// One iteration of a loop body: the paths that go on to the next iteration, and those
    /// that `break` out of the loop.
    fn iteration(&mut self, body: Node<'t>, paths: Vec<P>, depth: usize) -> (Vec<P>, Vec<P>) {
        self.loops.push((Vec::new(), Vec::new()));
        let mut out = self.exec(body, paths, depth);
        let (broke, cont) = self.loops.pop().unwrap_or_default();
        out.extend(cont);
        (self.bound(out, body), broke)
    }

    /// A loop whose iterations static reading cannot count: run the unit once to learn which
    /// changes and variables it touches, then from a state where any of those changes may have
    /// happened any number of times and those variables are unknown, run it once more. The
    /// result holds zero, one and many iterations.
    fn star(
        &mut self,
        n: Node<'t>,
        paths: Vec<P>,
        depth: usize,
        unit: &mut Unit<'_, 't>,
    ) -> Vec<P> {
        // Probe: what one iteration touches. Its ends are not real ends.
        let sink_len = self.sinks.last().map_or(0, Vec::len);
        let ret_len = self.returns.last().map_or(0, Vec::len);
        self.touched.push(BTreeSet::new());
        self.loops.push((Vec::new(), Vec::new()));
        let probe_in = paths.clone();
        let mut probe = unit(self, probe_in, depth);
        let (b, c) = self.loops.pop().unwrap_or_default();
        probe.extend(b);
        probe.extend(c);
        let touched = self.touched.pop().unwrap_or_default();
        if let Some(s) = self.sinks.last_mut() {
            s.truncate(sink_len);
        }
        if let Some(r) = self.returns.last_mut() {
            r.truncate(ret_len);
        }
        // Variables an iteration may change are unknown from the second iteration on.
        let mut changed: BTreeSet<String> = BTreeSet::new();
        for q in &probe {
            for p in &paths {
                for (k, v) in &q.env.vars {
                    if p.env.vars.get(k) != Some(v) {
                        changed.insert(k.clone());
                    }
                }
            }
        }
        let any: Vec<usize> = touched.iter().copied().collect();
        let start: Vec<P> = paths
            .into_iter()
            .map(|mut p| {
                for k in &changed {
                    p.env.set(k, Val::Unknown);
                }
                if !any.is_empty() {
                    p.steps.push(Step::Any(any.clone()));
                }
                p.status = Status::Unknown(None);
                p
            })
            .collect();
        self.loops.push((Vec::new(), Vec::new()));
        let mut out = unit(self, start.clone(), depth);
        let (b, c) = self.loops.pop().unwrap_or_default();
        out.extend(b);
        out.extend(c);
        out.extend(start);
        self.bound(out, n)
    }

    fn for_statement(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let Some(var) = n.child_by_field_name("variable") else {
            return paths;
        };
        let var = self.text(var).to_string();
        let Some(body) = n.child_by_field_name("body") else {
            return paths;
        };
        let mut c = n.walk();
        let values: Vec<Node<'t>> = n.children_by_field_name("value", &mut c).collect();
        let mut paths = paths;
        for v in &values {
            paths = self.substitutions(*v, paths, depth);
        }
        let mut out = Vec::new();
        for p in paths {
            let items: Option<Vec<String>> = if values.is_empty() {
                // `for v; do` iterates over "$@".
                match p.params() {
                    Params::Known { args, exact } if *exact == args.len() => {
                        args.iter().map(|a| a.value.clone()).collect()
                    }
                    _ => None,
                }
            } else {
                let args = self.args(&p, &values);
                args.into_iter().map(|a| a.value).collect()
            };
            match items {
                Some(items)
                    if self.loop_expansions + items.len() <= MAX_LOOP_EXPANSIONS
                        && self.may_expand(n) =>
                {
                    self.loop_expansions += items.len();
                    let mut ps = vec![p];
                    let mut broke = Vec::new();
                    for item in items {
                        // Checked per iteration: a body with a huge command line costs far
                        // more than one step per iteration. The iterations not expanded still
                        // run: read as repeatable with the variable unknown.
                        if !self.may_expand(n) {
                            let var = var.clone();
                            ps = self.star(n, ps, depth, &mut |w, mut ps, d| {
                                for q in &mut ps {
                                    q.env.set(&var, Val::Unknown);
                                }
                                w.exec(body, ps, d)
                            });
                            break;
                        }
                        for q in &mut ps {
                            q.env.set(&var, Val::Known(item.clone()));
                        }
                        let (next, b) = self.iteration(body, ps, depth);
                        ps = next;
                        broke.extend(b);
                    }
                    ps.extend(broke);
                    out.extend(ps);
                }
                items => {
                    if items.is_some() {
                        self.note(
                            n,
                            format!("more than {MAX_LOOP_EXPANSIONS} loop iterations; the body is read as repeatable"),
                            false,
                        );
                    }
                    let var = var.clone();
                    out.extend(self.star(n, vec![p], depth, &mut |w, mut ps, d| {
                        for q in &mut ps {
                            q.env.set(&var, Val::Unknown);
                        }
                        w.exec(body, ps, d)
                    }));
                }
            }
        }
        out
    }

    /// `cmd <<EOF`, `cmd > file`: the here-doc text is data; a pipeline or list after the
    /// operator is code. `while read` fed by a literal here-document goes line by line.
    fn redirected(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let body = n.child_by_field_name("body");
        let heredoc = named_children(n)
            .into_iter()
            .find(|k| k.kind() == "heredoc_redirect");
        if let (Some(b), Some(h)) = (body, heredoc) {
            if b.kind() == "while_statement" {
                let lines = self.heredoc_lines(h);
                let out = self.while_statement(b, paths, lines, depth);
                return self.heredoc_tail(h, out, depth);
            }
        }
        let mut paths = paths;
        for k in named_children(n) {
            match k.kind() {
                "heredoc_redirect" => paths = self.heredoc_tail(k, paths, depth),
                _ if Some(k) == body => paths = self.exec(k, paths, depth),
                // A redirection target: its substitutions run.
                _ => paths = self.substitutions(k, paths, depth),
            }
        }
        paths
    }

    /// The lines of a here-document whose text static reading knows (no expansion in it).
    fn heredoc_lines(&self, h: Node<'t>) -> Option<Vec<String>> {
        let body = named_children(h)
            .into_iter()
            .find(|k| k.kind() == "heredoc_body")?;
        if named_children(body).iter().any(|k| k.is_named()) {
            return None;
        }
        let text = self.text(body);
        if text.contains(['$', '`', '\\']) {
            return None;
        }
        Some(
            text.lines()
                .map(str::to_string)
                .filter(|l| !l.trim().is_empty())
                .collect(),
        )
    }

    /// `cmd <<EOF && other`: the list after the here-doc operator.
    fn heredoc_tail(&mut self, h: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let has_op = h.child_by_field_name("operator").is_some();
        let mut paths = paths;
        for (field, k) in fields(h) {
            if !k.is_named() {
                continue;
            }
            match (field, k.kind()) {
                (_, "heredoc_body" | "heredoc_start" | "heredoc_end") => {}
                (Some("argument" | "descriptor"), _) => {}
                (Some("right"), _) if has_op => {
                    let op = self
                        .src
                        .get(h.start_byte()..k.start_byte())
                        .unwrap_or("")
                        .trim_end();
                    let (ok, fail) = split(paths);
                    paths = if op.ends_with("||") {
                        let mut out = self.exec(k, fail, depth);
                        out.extend(ok);
                        out
                    } else {
                        let mut out = self.exec(k, ok, depth);
                        out.extend(fail);
                        out
                    };
                }
                _ => paths = self.exec(k, paths, depth),
            }
        }
        paths
    }

    /// `[ ... ]` / `[[ ... ]]`: decided when known values decide it.
    fn test_node(&self, p: &P, n: Node<'t>) -> Status {
        let kids = named_children(n);
        match kids.as_slice() {
            [e] => self.test_expr(p, *e),
            _ => Status::Unknown(None),
        }
    }

    fn test_expr(&self, p: &P, e: Node<'t>) -> Status {
        let ev = self.eval(p);
        match e.kind() {
            "binary_expression" => {
                let (Some(l), Some(r)) = (
                    e.child_by_field_name("left"),
                    e.child_by_field_name("right"),
                ) else {
                    return Status::Unknown(None);
                };
                let op = self.src[l.end_byte()..r.start_byte()].trim();
                match op {
                    "-a" | "&&" => and3(self.test_expr(p, l), self.test_expr(p, r)),
                    "-o" | "||" => negate_status(and3(
                        negate_status(self.test_expr(p, l)),
                        negate_status(self.test_expr(p, r)),
                    )),
                    "=" | "==" | "!=" => match (ev.assigned(l), ev.assigned(r)) {
                        (Some(a), Some(b)) => decided((a == b) == (op != "!=")),
                        _ => Status::Unknown(None),
                    },
                    _ => Status::Unknown(None),
                }
            }
            "unary_expression" => {
                let kids = named_children(e);
                let op = kids
                    .iter()
                    .find(|k| k.kind() == "test_operator")
                    .map(|k| self.text(*k));
                let operand = kids.iter().find(|k| k.kind() != "test_operator");
                match (op, operand.and_then(|o| ev.assigned(*o))) {
                    (Some("-z"), Some(v)) => decided(v.is_empty()),
                    (Some("-n"), Some(v)) => decided(!v.is_empty()),
                    _ => Status::Unknown(None),
                }
            }
            "string" | "raw_string" | "word" | "simple_expansion" | "expansion" => {
                match ev.assigned(e) {
                    Some(v) => decided(!v.is_empty()),
                    None => Status::Unknown(None),
                }
            }
            _ => Status::Unknown(None),
        }
    }

    /// `test`/`[` as a command, from its arguments.
    fn test_args(args: &[Arg]) -> Status {
        let mut words: Vec<Option<&str>> = args.iter().map(Arg::text).collect();
        if words.last() == Some(&Some("]")) {
            words.pop();
        }
        match words.as_slice() {
            [Some(a), Some(op @ ("=" | "!=")), Some(b)] => decided((a == b) == (*op == "=")),
            [Some("-z"), Some(v)] => decided(v.is_empty()),
            [Some("-n"), Some(v)] => decided(!v.is_empty()),
            [Some(v)] => decided(!v.is_empty()),
            [] => Status::Fail,
            _ => Status::Unknown(None),
        }
    }

    /// Under `set -e`, outside any condition, a failure ends the run: a path that surely failed
    /// ends; one that may have failed goes on as the success (the failure's state is the
    /// path's own prefix, which is a start state anyway).
    fn errexit(&mut self, p: P) -> Option<P> {
        if !p.errexit || self.cond > 0 {
            return Some(p);
        }
        match p.status {
            Status::Ok => Some(p),
            Status::Fail => {
                self.end(p, End::Failure);
                None
            }
            Status::Unknown(_) => Some(p.resolved(true)),
        }
    }

    fn command(&mut self, n: Node<'t>, paths: Vec<P>, depth: usize) -> Vec<P> {
        let mut name: Option<Node<'t>> = None;
        let mut words: Vec<Node<'t>> = Vec::new();
        let mut subs_in: Vec<Node<'t>> = Vec::new();
        for (field, k) in fields(n) {
            match field {
                Some("name") => name = Some(k),
                Some("argument") => words.push(k),
                _ => {}
            }
            // Prefix assignments (`X=1 cmd`), the name and arguments may all hold substitutions.
            if field != Some("redirect") && k.is_named() {
                subs_in.push(k);
            }
        }
        let mut paths = paths;
        for k in subs_in {
            paths = self.substitutions(k, paths, depth);
        }
        let Some(name) = name else {
            return paths;
        };
        let mut out = Vec::new();
        for p in paths {
            out.extend(self.simple(n, name, &words, p, depth));
        }
        out
    }

    /// One simple command on one path.
    fn simple(
        &mut self,
        n: Node<'t>,
        name: Node<'t>,
        words: &[Node<'t>],
        mut p: P,
        depth: usize,
    ) -> Vec<P> {
        let mut argv = self.args(&p, &[name]);
        argv.extend(self.args(&p, words));
        // Evaluating a long command line is work too; count it against the budget.
        self.steps = self.steps.saturating_add(argv.len());
        p.status = Status::Unknown(None);
        let Some(cmd) = strip_wrappers(&argv) else {
            return self.errexit(p).into_iter().collect();
        };
        let (cmd_name, args) = (&argv[cmd], &argv[cmd + 1..]);
        let Some(cmd_text) = cmd_name.text() else {
            return self.errexit(p).into_iter().collect();
        };
        let invoked = base(cmd_text).to_string();
        if !cmd_text.contains('/') {
            if let Some(body) = self.functions.get(cmd_text).copied() {
                return self.call(n, cmd_text, body, args.to_vec(), p, depth);
            }
        }
        match invoked.as_str() {
            "exit" => {
                let end = match args.first().map(Arg::text) {
                    None => end_of(&Status::Ok),
                    Some(Some("0")) => End::Success,
                    Some(Some(c)) if c.parse::<u32>().is_ok() => End::Failure,
                    Some(_) => End::Either,
                };
                self.end(p, end);
                return Vec::new();
            }
            "return" if !self.returns.is_empty() => {
                p.status = match args.first().map(Arg::text) {
                    None => Status::Unknown(None),
                    Some(Some("0")) => Status::Ok,
                    Some(Some(c)) if c.parse::<u32>().is_ok() => Status::Fail,
                    Some(_) => Status::Unknown(None),
                };
                if let Some(r) = self.returns.last_mut() {
                    r.push(p);
                }
                return Vec::new();
            }
            "break" | "continue" if !self.loops.is_empty() => {
                p.status = Status::Ok;
                if let Some((b, c)) = self.loops.last_mut() {
                    if invoked == "break" { b } else { c }.push(p);
                }
                return Vec::new();
            }
            "set" => {
                set_options(&mut p, args);
                p.status = Status::Ok;
            }
            "true" | ":" | "echo" | "printf" | "shift" => {
                if invoked == "shift" {
                    shift(&mut p);
                }
                p.status = Status::Ok;
            }
            "false" => p.status = Status::Fail,
            "test" | "[" | "[[" => p.status = Self::test_args(args),
            "read" => {
                // `read A B` assigns run-time input.
                for a in args.iter().filter_map(Arg::text) {
                    if !a.starts_with('-') {
                        p.env.set(a, Val::Unknown);
                    }
                }
            }
            "cd" | "pushd" | "popd" => change_directory(&invoked, args, &mut p.env),
            "sh" | "bash" | "dash" => {
                if let Some(i) = args.iter().position(|a| a.text() == Some("-c")) {
                    if let Some(a) = args.get(i + 1) {
                        let (text, raw) = (a.text().map(String::from), a.raw.clone());
                        return self.command_string(n, text.as_deref(), &raw, p);
                    }
                }
            }
            "eval" => {
                // eval parses its arguments again. What one static reading cannot know stays
                // as written (`$pat`): read again with no variables known, it is still unknown.
                let text: Vec<&str> = args.iter().map(|a| a.text().unwrap_or(&a.raw)).collect();
                let text = text.join(" ");
                // It runs in this shell: whatever it assigns is unknown afterwards.
                let mut out = self.command_string(n, Some(&text), &text, p);
                for q in &mut out {
                    q.env = Env::default();
                }
                return out;
            }
            "." | "source" => {
                // A sourced file (an /etc/default file, a helper the package ships) may assign
                // any variable: none is known afterwards. debconf's confmodule is the exception
                // every postinst sources: it defines the db_* functions and assigns nothing of
                // the script's.
                let confmodule = args.first().and_then(Arg::text).is_some_and(|f| {
                    matches!(
                        f,
                        "/usr/share/debconf/confmodule" | "/usr/share/debconf/confmodule.sh"
                    )
                });
                if !confmodule {
                    p.env = Env::default();
                }
            }
            "find" => {
                // `find ... -exec chmod u+s {} \;` runs once per file found: any number of times.
                if let Some((inner, inner_args)) = find_exec(args) {
                    self.privileged(n, &inner, &inner_args, &mut p, true);
                }
            }
            "xargs" => {
                if let Some((inner, inner_args)) = xargs_command(args) {
                    self.privileged(n, &inner, &inner_args, &mut p, true);
                }
            }
            _ => self.privileged(n, &invoked, args, &mut p, false),
        }
        self.errexit(p).into_iter().collect()
    }

    /// Interpret one privilege-changing command and record what it may do on this path; the
    /// status it leaves is pending until a branch or `set -e` decides whether it succeeded.
    fn privileged(&mut self, n: Node<'t>, invoked: &str, args: &[Arg], p: &mut P, repeat: bool) {
        if !commands::is_privileged(invoked) {
            return;
        }
        let ctx = commands::Context {
            cwd: p.env.get(CWD),
        };
        let result = commands::interpret(invoked, args, &ctx);
        for note in result.notes {
            self.note(n, note, false);
        }
        let mut idx = Vec::new();
        let range = n.byte_range();
        let command = match self.command_texts.get(&(range.start, range.end)) {
            Some(c) => c.clone(),
            None => {
                let c: debgate_facts::change::CommandText =
                    debgate_facts::change::normalise_command(self.text(n)).into();
                self.command_texts
                    .insert((range.start, range.end), c.clone());
                c
            }
        };
        for f in result.found {
            let change = Change {
                script: self.script,
                line: line_of(n),
                action: f.action,
                target: f.target,
                conditional: false,
                recursive: f.recursive,
                command: command.clone(),
            };
            if let Some(i) = self.record(n, change) {
                idx.push(i);
            }
        }
        if idx.is_empty() {
            return;
        }
        if p.steps.len() + idx.len() > MAX_PATH_STEPS {
            self.note_once(
                "path-steps",
                n,
                format!("more than {MAX_PATH_STEPS} changes on one path; merged, which over-approximates the end states"),
                false,
            );
            let mut union: BTreeSet<usize> = idx.into_iter().collect();
            changes_in(&std::mem::take(&mut p.steps), &mut union);
            p.steps = vec![Step::Any(union.into_iter().collect())];
            p.status = Status::Unknown(None);
            return;
        }
        if repeat {
            p.steps.push(Step::Any(idx));
            return;
        }
        let start = p.steps.len();
        let multi = idx.len() > 1;
        p.steps.extend(idx.into_iter().map(Step::May));
        p.status = Status::Unknown(Some(Pending {
            start,
            multi,
            on_ok: true,
        }));
    }

    /// `sh -c TEXT`, `eval TEXT`: the text is a script of its own, walked with no variables
    /// known (a child shell does not see unexported ones, and guessing for `eval` would invent
    /// paths); its changes are reported at the line of the outer command.
    fn command_string(&mut self, n: Node<'t>, text: Option<&str>, raw: &str, p: P) -> Vec<P> {
        let mut p = p;
        let Some(text) = text else {
            if commands::NAMES.iter().any(|c| raw.contains(c)) {
                self.note(
                    n,
                    format!("command string `{raw}` cannot be resolved statically; not analyzed"),
                    true,
                );
            }
            return self.errexit(p).into_iter().collect();
        };
        if self.string_depth >= MAX_STRING_DEPTH || !self.may_expand(n) {
            self.note(
                n,
                format!("command strings nested deeper than {MAX_STRING_DEPTH}; not analyzed"),
                true,
            );
            return self.errexit(p).into_iter().collect();
        }
        let Some(tree) = crate::parse(text) else {
            return self.errexit(p).into_iter().collect();
        };
        let mut inner = Walker::new(
            text,
            self.script,
            self.limits.max_paths,
            self.limits.max_steps,
        );
        inner.string_depth = self.string_depth + 1;
        inner.steps = self.steps;
        let ends = inner.run_string(tree.root_node());
        self.steps = inner.steps;
        for d in inner.diagnostics {
            self.note(n, format!("in command string: {}", d.message), d.blind);
        }
        // The inner walker's change indices, as this walker's.
        let mut map = Vec::new();
        for mut c in inner.changes {
            c.line = line_of(n);
            map.push(self.record(n, c));
        }
        let mut out = Vec::new();
        for r in ends {
            let mut q = p.clone();
            q.steps.extend(remap_steps(&r.steps, &map));
            q.status = status_of(r.end);
            out.extend(self.errexit(q));
        }
        p.status = Status::Unknown(None);
        out
    }

    fn call(
        &mut self,
        at: Node<'t>,
        name: &str,
        body: Node<'t>,
        args: Vec<Arg>,
        mut p: P,
        depth: usize,
    ) -> Vec<P> {
        if self.returns.len() >= MAX_CALL_DEPTH {
            self.note(
                at,
                format!(
                    "calls nested deeper than {MAX_CALL_DEPTH} (recursion?); `{name}` not followed"
                ),
                true,
            );
            p.status = Status::Unknown(None);
            return vec![p];
        }
        if !self.may_expand(at) {
            p.status = Status::Unknown(None);
            return vec![p];
        }
        p.params.push(Params::of_call(args));
        self.returns.push(Vec::new());
        let mut out = self.exec(body, vec![p], depth);
        out.extend(self.returns.pop().unwrap_or_default());
        for q in &mut out {
            q.params.pop();
        }
        out
    }
}

/// Steps of an inner walk (a command string) with its change indices made this walk's.
fn remap_steps(steps: &[Step], map: &[Option<usize>]) -> Vec<Step> {
    let m = |i: &usize| map.get(*i).copied().flatten();
    let mut out = Vec::new();
    for s in steps {
        match s {
            Step::Do(i) => out.extend(m(i).map(Step::Do)),
            Step::May(i) => out.extend(m(i).map(Step::May)),
            Step::Failed(i) => out.extend(m(i).map(Step::Failed)),
            Step::Any(v) => {
                let v: Vec<usize> = v.iter().filter_map(m).collect();
                if !v.is_empty() {
                    out.push(Step::Any(v));
                }
            }
            Step::Choice(alts) => {
                out.push(Step::Choice(
                    alts.iter().map(|a| remap_steps(a, map)).collect(),
                ));
            }
        }
    }
    out
}

/// Every change a step list may make, flattened.
fn changes_in(steps: &[Step], out: &mut BTreeSet<usize>) {
    for s in steps {
        match s {
            Step::Do(i) | Step::May(i) => {
                out.insert(*i);
            }
            Step::Any(v) => out.extend(v.iter().copied()),
            Step::Failed(_) => {}
            Step::Choice(alts) => {
                for a in alts {
                    changes_in(a, out);
                }
            }
        }
    }
}

/// Paths that agree on variables, parameters, `set -e` and a settled status, and differ only in
/// their steps, become one path: the common prefix, then a choice of the differing rests.
/// Exact for every file's states, and it keeps independent branches from multiplying.
fn join_choices(paths: Vec<P>) -> Vec<P> {
    join_steps(
        paths,
        |p, h| (&p.env, &p.params, p.errexit, &p.status).hash(h),
        |a, b| {
            a.env == b.env && a.params == b.params && a.errexit == b.errexit && a.status == b.status
        },
        |_, _| {},
    )
}

/// Join paths that are equal under `eq` (`hash` agreeing) into one whose steps are a choice
/// of theirs; `fold` joins whatever else `eq` lets differ. A path whose last command's status
/// is pending is left alone: its pending steps are the tail, which a branch will still resolve.
fn join_steps(
    paths: Vec<P>,
    hash: impl Fn(&P, &mut DefaultHasher),
    eq: impl Fn(&P, &P) -> bool,
    fold: impl Fn(&mut P, P),
) -> Vec<P> {
    let (pending, settled): (Vec<P>, Vec<P>) = paths
        .into_iter()
        .partition(|p| matches!(p.status, Status::Unknown(Some(_))));
    // Each group's step lists, gathered on its first path, then made one.
    let mut alternatives: Vec<Vec<Vec<Step>>> = Vec::new();
    let settled: Vec<(usize, P)> = settled
        .into_iter()
        .map(|mut p| {
            alternatives.push(vec![std::mem::take(&mut p.steps)]);
            (alternatives.len() - 1, p)
        })
        .collect();
    let firsts = group(
        settled,
        |(_, p), h| hash(p, h),
        |(_, a), (_, b)| eq(a, b),
        |(i, q), (j, p)| {
            fold(q, p);
            let steps = std::mem::take(&mut alternatives[j]);
            alternatives[*i].extend(steps);
        },
    );
    let mut out = pending;
    for (i, mut p) in firsts {
        let mut all = std::mem::take(&mut alternatives[i]);
        all.dedup();
        p.steps = if all.len() == 1 {
            all.pop().unwrap_or_default()
        } else {
            choice_of(all)
        };
        out.push(p);
    }
    out
}

/// One step list for several: what all share at both ends, and a choice of what lies between.
fn choice_of(all: Vec<Vec<Step>>) -> Vec<Step> {
    let first = all[0].clone();
    let shortest = all.iter().map(Vec::len).min().unwrap_or(0);
    let mut prefix = 0;
    while prefix < shortest && all.iter().all(|s| s[prefix] == first[prefix]) {
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < shortest - prefix
        && all
            .iter()
            .all(|s| s[s.len() - 1 - suffix] == first[first.len() - 1 - suffix])
    {
        suffix += 1;
    }
    let mut alts: Vec<Vec<Step>> = all
        .iter()
        .map(|s| s[prefix..s.len() - suffix].to_vec())
        .collect();
    alts.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    alts.dedup();
    let mut steps = first[..prefix].to_vec();
    steps.push(Step::Choice(alts));
    steps.extend_from_slice(&first[first.len() - suffix..]);
    bounded_steps(steps)
}

/// Fold items that are equal under `eq` into the first of them with `fold`, keeping order;
/// `hash` must agree with `eq`. Nothing is cloned to build keys: paths are large.
fn group<T>(
    items: impl IntoIterator<Item = T>,
    hash: impl Fn(&T, &mut DefaultHasher),
    eq: impl Fn(&T, &T) -> bool,
    mut fold: impl FnMut(&mut T, T),
) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::new();
    for item in items {
        let mut h = DefaultHasher::new();
        hash(&item, &mut h);
        let bucket = buckets.entry(h.finish()).or_default();
        match bucket.iter().copied().find(|&i| eq(&out[i], &item)) {
            Some(i) => fold(&mut out[i], item),
            None => {
                bucket.push(out.len());
                out.push(item);
            }
        }
    }
    out
}

/// Step-tree nodes kept per path; past it the largest choices become "any of their changes"
/// (an over-approximation), so that many independent branches cannot grow a path's record
/// exponentially.
const MAX_STEP_NODES: usize = 512;

fn nodes(steps: &[Step]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            Step::Choice(alts) => 1 + alts.iter().map(|a| nodes(a)).sum::<usize>(),
            _ => 1,
        })
        .sum()
}

/// Keep a step list within [`MAX_STEP_NODES`] by folding its largest choices.
fn bounded_steps(mut steps: Vec<Step>) -> Vec<Step> {
    while nodes(&steps) > MAX_STEP_NODES {
        let Some((i, _)) = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Step::Choice(_)))
            .max_by_key(|(_, s)| nodes(std::slice::from_ref(*s)))
        else {
            break;
        };
        let mut all = BTreeSet::new();
        changes_in(std::slice::from_ref(&steps[i]), &mut all);
        steps[i] = Step::Any(all.into_iter().collect());
    }
    steps
}

/// Merge paths into one that over-approximates them all.
fn merge(paths: Vec<P>) -> P {
    let steps: Vec<Vec<Step>> = paths.iter().map(|p| p.steps.clone()).collect();
    let envs: Vec<Env> = paths.iter().map(|p| p.env.clone()).collect();
    let first = &paths[0];
    let params = if paths.iter().all(|p| p.params == first.params) {
        first.params.clone()
    } else {
        first.params.iter().map(|_| Params::Unknown).collect()
    };
    let status = if paths.iter().all(|p| p.status == Status::Ok) {
        Status::Ok
    } else if paths.iter().all(|p| p.status == Status::Fail) {
        Status::Fail
    } else {
        Status::Unknown(None)
    };
    P {
        env: Env::merge(&envs),
        params,
        steps: merge_steps(&steps),
        status,
        // Going on after a failure reaches more states than stopping: the sound side.
        errexit: paths.iter().all(|p| p.errexit),
    }
}

/// The common prefix of several step lists, then one "any of the rest, any number of times".
fn merge_steps(all: &[Vec<Step>]) -> Vec<Step> {
    let Some(first) = all.first() else {
        return Vec::new();
    };
    let mut prefix = 0;
    while prefix < first.len() && all.iter().all(|s| s.get(prefix) == first.get(prefix)) {
        prefix += 1;
    }
    let mut rest = BTreeSet::new();
    for s in all {
        changes_in(&s[prefix..], &mut rest);
    }
    let mut out = first[..prefix].to_vec();
    if !rest.is_empty() {
        out.push(Step::Any(rest.into_iter().collect()));
    }
    out
}

/// Split paths by their last status: those that succeeded and those that failed (an unknown
/// status goes both ways, its pending changes applied only on the success side).
fn split(paths: Vec<P>) -> (Vec<P>, Vec<P>) {
    let mut ok = Vec::new();
    let mut fail = Vec::new();
    for p in paths {
        match p.status {
            Status::Ok => ok.push(p),
            Status::Fail => fail.push(p),
            Status::Unknown(_) => {
                ok.push(p.clone().resolved(true));
                fail.push(p.resolved(false));
            }
        }
    }
    (ok, fail)
}

fn negate(mut p: P) -> P {
    p.status = negate_status(p.status);
    p
}

fn negate_status(s: Status) -> Status {
    match s {
        Status::Ok => Status::Fail,
        Status::Fail => Status::Ok,
        Status::Unknown(pd) => Status::Unknown(pd.map(|pd| Pending {
            on_ok: !pd.on_ok,
            ..pd
        })),
    }
}

/// Three-valued `and` of two test results.
fn and3(a: Status, b: Status) -> Status {
    match (a, b) {
        (Status::Fail, _) | (_, Status::Fail) => Status::Fail,
        (Status::Ok, Status::Ok) => Status::Ok,
        _ => Status::Unknown(None),
    }
}

fn decided(b: bool) -> Status {
    if b {
        Status::Ok
    } else {
        Status::Fail
    }
}

/// How a run that reaches its end with this status ends.
fn end_of(s: &Status) -> End {
    match s {
        Status::Ok => End::Success,
        Status::Fail => End::Failure,
        Status::Unknown(_) => End::Either,
    }
}

fn status_of(e: End) -> Status {
    match e {
        End::Success => Status::Ok,
        End::Failure => Status::Fail,
        End::Either => Status::Unknown(None),
    }
}

/// `set -e`, `set -eu`, `set -o errexit`, `set +e`.
fn set_options(p: &mut P, args: &[Arg]) {
    let mut i = 0;
    // `set -- a b` or `set a b` (an operand after the options) replaces the positional
    // parameters.
    let operands = args.iter().position(|a| match a.text() {
        Some("--") => true,
        Some(t) => !(t.starts_with('-') || t.starts_with('+')),
        None => true,
    });
    if let Some(at) = operands {
        let start = if args[at].text() == Some("--") {
            at + 1
        } else {
            at
        };
        let prev_is_o = at > 0 && matches!(args[at - 1].text(), Some("-o" | "+o"));
        if !prev_is_o {
            if let Some(top) = p.params.last_mut() {
                *top = Params::of_call(args[start..].to_vec());
            }
        }
    }
    while let Some(a) = args.get(i) {
        let Some(t) = a.text() else {
            i += 1;
            continue;
        };
        match t {
            "-o" | "+o" => {
                if args.get(i + 1).and_then(Arg::text) == Some("errexit") {
                    p.errexit = t == "-o";
                }
                i += 2;
                continue;
            }
            "--" => break,
            _ if t.starts_with('-') && !t.starts_with("--") && t.contains('e') => p.errexit = true,
            _ if t.starts_with('+') && t.contains('e') => p.errexit = false,
            _ => {}
        }
        i += 1;
    }
}

fn shift(p: &mut P) {
    if let Some(Params::Known { args, exact }) = p.params.last_mut() {
        if !args.is_empty() {
            args.remove(0);
            *exact = exact.saturating_sub(1);
        }
    }
}

/// `read A B <<< line`: fields split on blanks, the last variable takes the rest.
fn assign_read(env: &mut Env, vars: &[String], line: &str) {
    let mut rest = line.trim_start();
    for (i, v) in vars.iter().enumerate() {
        if i + 1 == vars.len() {
            env.set(v, Val::Known(rest.trim_end().to_string()));
        } else {
            let (field, tail) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
            env.set(v, Val::Known(field.to_string()));
            rest = tail.trim_start();
        }
    }
}

/// Does a `case` pattern match the word? Shell pattern syntax: `*`, `?`, `[...]`.
fn case_match(pattern: &str, word: &str) -> bool {
    match globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .backslash_escape(true)
        .build()
    {
        Ok(g) => g.compile_matcher().is_match(word),
        // A pattern the glob syntax does not take: only an exact match is sure.
        Err(_) => pattern == word,
    }
}

/// Track the working directory, so relative paths after `cd /var/spool/x` resolve.
fn change_directory(invoked: &str, args: &[Arg], env: &mut Env) {
    let dir = args
        .iter()
        .find(|a| !matches!(a.text(), Some("-L" | "-P" | "-e" | "--")));
    let new = match (invoked, dir.map(Arg::text)) {
        ("cd", Some(Some(d))) if d.starts_with('/') => Some(d.to_string()),
        ("cd", Some(Some(d))) if d != "-" && !d.is_empty() => {
            env.get(CWD).map(|cwd| format!("{cwd}/{d}"))
        }
        _ => None,
    };
    match new.as_deref().and_then(debgate_facts::path::normalise) {
        Some(d) => env.set(CWD, Val::Known(d)),
        None => env.set(CWD, Val::Unknown),
    }
}

fn named_children(n: Node) -> Vec<Node> {
    let mut c = n.walk();
    n.named_children(&mut c).collect()
}

fn fields(n: Node) -> Vec<(Option<&'static str>, Node)> {
    let mut c = n.walk();
    n.children(&mut c)
        .enumerate()
        .map(|(i, k)| (n.field_name_for_child(i as u32), k))
        .collect()
}

/// The `$(...)`, backtick and `<(...)` nodes in a word, outermost only.
fn collect_substitutions<'t>(n: Node<'t>, out: &mut Vec<Node<'t>>, depth: usize) {
    if depth > MAX_NESTING {
        return;
    }
    match n.kind() {
        "command_substitution" | "process_substitution" => out.push(n),
        _ => {
            for k in named_children(n) {
                collect_substitutions(k, out, depth + 1);
            }
        }
    }
}

/// Index in `argv` of the command actually run, past `command`, `env` and `exec` wrappers; `None`
/// when nothing runs (`command -v setcap` only looks it up).
fn strip_wrappers(argv: &[Arg]) -> Option<usize> {
    let mut i = 0;
    // Bounded: each pass consumes at least one word.
    while let Some(word) = argv.get(i).and_then(Arg::text) {
        match base(word) {
            "command" => {
                i += 1;
                while let Some(opt) = argv.get(i).and_then(Arg::text) {
                    match opt {
                        "-p" => i += 1,
                        "-v" | "-V" => return None,
                        "--" => {
                            i += 1;
                            break;
                        }
                        _ => break,
                    }
                }
            }
            "env" => {
                i += 1;
                while let Some(opt) = argv.get(i).and_then(Arg::text) {
                    match opt {
                        "-u" | "--unset" | "-C" | "--chdir" => i += 2,
                        "--" => {
                            i += 1;
                            break;
                        }
                        "-S" | "--split-string" => return None,
                        o if o.starts_with('-') || o.contains('=') => i += 1,
                        _ => break,
                    }
                }
            }
            "exec" => {
                i += 1;
                while let Some(opt) = argv.get(i).and_then(Arg::text) {
                    match opt {
                        "-a" => i += 2,
                        "-c" | "-l" | "-cl" | "-lc" => i += 1,
                        _ => break,
                    }
                }
            }
            _ => return Some(i),
        }
    }
    (i < argv.len()).then_some(i)
}

/// The command `find ... -exec CMD ARGS... ;` (or `-execdir`, `-ok`, `-okdir`, ending in `;` or
/// `+`) runs, with `{}`, the file found, unresolved.
fn find_exec(args: &[Arg]) -> Option<(String, Vec<Arg>)> {
    let start = args
        .iter()
        .position(|a| matches!(a.text(), Some("-exec" | "-execdir" | "-ok" | "-okdir")))?;
    let rest = &args[start + 1..];
    let end = rest
        .iter()
        .position(|a| matches!(a.text(), Some(";" | "+")))
        .unwrap_or(rest.len());
    let (cmd, cmd_args) = rest[..end].split_first()?;
    let cmd_args = cmd_args
        .iter()
        .map(|a| match a.text() {
            Some(t) if t.contains("{}") => Arg {
                value: None,
                raw: a.raw.clone(),
            },
            _ => a.clone(),
        })
        .collect();
    Some((base(cmd.text()?).to_string(), cmd_args))
}

/// The command `xargs [OPTIONS] CMD ARGS...` runs: its input lines become more arguments
/// (appended, or in place of the `-I` string), which static reading cannot know.
fn xargs_command(args: &[Arg]) -> Option<(String, Vec<Arg>)> {
    let mut i = 0;
    let mut replace: Option<String> = None;
    while let Some(opt) = args.get(i).and_then(Arg::text) {
        match opt {
            "-I" => {
                replace = args.get(i + 1).and_then(Arg::text).map(String::from);
                i += 2;
            }
            // Options whose value is the next word.
            "-a" | "-d" | "-E" | "-L" | "-n" | "-P" | "-s" => i += 2,
            "--" => {
                i += 1;
                break;
            }
            o if o.starts_with("-I") => {
                replace = Some(o[2..].to_string());
                i += 1;
            }
            o if o.starts_with('-') => i += 1,
            _ => break,
        }
    }
    let (cmd, cmd_args) = args.get(i..)?.split_first()?;
    let input = Arg {
        value: None,
        raw: "(input of xargs)".to_string(),
    };
    let mut out: Vec<Arg> = match &replace {
        Some(r) => cmd_args
            .iter()
            .map(|a| match a.text() {
                Some(t) if t.contains(r.as_str()) => Arg {
                    value: None,
                    raw: a.raw.clone(),
                },
                _ => a.clone(),
            })
            .collect(),
        None => cmd_args.to_vec(),
    };
    if replace.is_none() {
        out.push(input);
    }
    Some((base(cmd.text()?).to_string(), out))
}

fn first_token<'s>(src: &'s str, n: Node) -> &'s str {
    src[n.byte_range()].split_whitespace().next().unwrap_or("")
}

/// 1-based line where a node starts.
pub(crate) fn line_of(n: Node) -> u32 {
    u32::try_from(n.start_position().row + 1).unwrap_or(u32::MAX)
}
