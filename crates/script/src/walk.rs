//! A static walk over a script's syntax tree that follows what the shell would do: it tracks
//! literal variables, expands `for` loops over literal lists, enters functions at their call
//! sites with the call's arguments, and knows which commands run only on some branch.

use crate::commands;
use crate::word::{base, Arg, Env, Evaluator, Params, Val};
use crate::Diagnostic;
use debgate_facts::change::Change;
use debgate_facts::ScriptName;
use std::collections::{HashMap, HashSet};
use tree_sitter::Node;

/// Deepest syntax nesting walked; hostile input (thousands of nested braces) stops here rather
/// than exhausting the stack.
const MAX_NESTING: usize = 200;
/// Deepest chain of function calls followed (functions may call themselves).
const MAX_CALL_DEPTH: usize = 16;
/// Loop iterations expanded across the whole script; past it a loop body is read once with its
/// variable unknown.
const MAX_LOOP_EXPANSIONS: usize = 1000;
/// Statements walked in total; past it calls and loops are no longer expanded, so the rest of the
/// walk is linear in the size of the script.
const MAX_STEPS: usize = 200_000;
/// Distinct changes recorded per script; a real script makes a few dozen, so past this the
/// input is hostile and more would only cost memory.
const MAX_CHANGES: usize = 10_000;
/// Distinct diagnostics recorded per script, for the same reason.
const MAX_DIAGNOSTICS: usize = 1_000;
/// How deeply command strings (`sh -c '...'`, `eval '...'`) inside command strings are read.
const MAX_STRING_DEPTH: usize = 4;
/// The working directory, kept among the variables (so branches merge it the same way) under a
/// name no shell variable can have.
const CWD: &str = " cwd";

struct Function<'t> {
    body: Node<'t>,
    /// Variables as they were where the function was defined, for reading a function nobody
    /// calls.
    env_at_definition: Env,
    called: bool,
}

pub(crate) struct Walker<'t> {
    src: &'t str,
    script: ScriptName,
    pub changes: Vec<Change>,
    pub diagnostics: Vec<Diagnostic>,
    /// What is already in `changes`/`diagnostics`: loop iterations and repeated calls read the
    /// same command again, and each thing is said once. Keyed by the `Debug` text because the
    /// shared model's types are not `Hash`.
    seen_changes: HashSet<String>,
    seen_diagnostics: HashSet<(u32, String)>,
    limit_noted: bool,
    functions: HashMap<String, Function<'t>>,
    /// Function names in definition order, so uncalled ones are read deterministically.
    function_order: Vec<String>,
    params: Vec<Params>,
    steps: usize,
    loop_expansions: usize,
    budget_noted: bool,
    nesting_noted: bool,
    /// An `exit` was walked: whatever follows runs only on the paths that did not take it.
    /// How many command strings deep this walk is (0 for the script itself).
    string_depth: usize,
    exited: bool,
    /// A `return` was walked in the function being walked: the rest of it is conditional.
    returned: bool,
}

impl<'t> Walker<'t> {
    pub fn new(src: &'t str, script: ScriptName) -> Self {
        Walker {
            src,
            script,
            changes: Vec::new(),
            diagnostics: Vec::new(),
            seen_changes: HashSet::new(),
            seen_diagnostics: HashSet::new(),
            limit_noted: false,
            functions: HashMap::new(),
            function_order: Vec::new(),
            params: vec![Params::Unknown],
            steps: 0,
            loop_expansions: 0,
            budget_noted: false,
            nesting_noted: false,
            string_depth: 0,
            exited: false,
            returned: false,
        }
    }

    /// Walk the whole program, then the bodies of functions that were never called (they may be
    /// called in ways static reading misses, so their changes are reported as conditional).
    pub fn run(&mut self, root: Node<'t>) {
        let mut env = Env::default();
        self.stmt(root, false, &mut env, 0);
        let names = self.function_order.clone();
        for name in names {
            let Some(f) = self.functions.get(&name) else {
                continue;
            };
            if f.called {
                continue;
            }
            let (body, mut env) = (f.body, f.env_at_definition.clone());
            if let Some(f) = self.functions.get_mut(&name) {
                f.called = true;
            }
            self.params.push(Params::Unknown);
            self.stmt(body, true, &mut env, 0);
            self.params.pop();
        }
    }

    fn text(&self, n: Node) -> &'t str {
        &self.src[n.byte_range()]
    }

    fn note(&mut self, n: Node, message: String) {
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
        });
    }

    /// Record a change once, up to [`MAX_CHANGES`].
    fn record(&mut self, n: Node, change: Change) {
        if self.changes.len() >= MAX_CHANGES {
            if !self.limit_noted {
                self.limit_noted = true;
                self.note(
                    n,
                    format!("more than {MAX_CHANGES} changes; the rest are not reported"),
                );
            }
            return;
        }
        if self.seen_changes.insert(format!("{change:?}")) {
            self.changes.push(change);
        }
    }

    fn may_expand(&mut self, n: Node) -> bool {
        if self.steps < MAX_STEPS {
            return true;
        }
        if !self.budget_noted {
            self.budget_noted = true;
            self.note(
                n,
                format!("analysis budget of {MAX_STEPS} steps used up; calls and loops past this point are read once"),
            );
        }
        false
    }

    fn eval<'e>(&'e self, env: &'e Env) -> Evaluator<'e> {
        Evaluator {
            src: self.src,
            env,
            params: self.params.last().unwrap_or(&Params::Unknown),
        }
    }

    /// The arguments a command receives from these words.
    fn args(&self, env: &Env, words: &[Node]) -> Vec<Arg> {
        let ev = Evaluator {
            src: self.src,
            env,
            params: self.params.last().unwrap_or(&Params::Unknown),
        };
        let mut out = Vec::new();
        for w in words {
            let raw = self.text(*w).to_string();
            match ev.fields(*w) {
                Some(fields) => out.extend(fields.into_iter().map(|f| Arg {
                    value: Some(f),
                    raw: raw.clone(),
                })),
                None => out.push(Arg { value: None, raw }),
            }
        }
        out
    }

    /// Walk one statement (or any node that may contain statements).
    fn stmt(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        if nesting > MAX_NESTING {
            if !self.nesting_noted {
                self.nesting_noted = true;
                self.note(
                    n,
                    format!("nesting deeper than {MAX_NESTING}; not analyzed further"),
                );
            }
            return;
        }
        self.steps += 1;
        let next = nesting + 1;
        match n.kind() {
            "comment" | "heredoc_body" | "heredoc_start" | "heredoc_end" | "test_operator" => {}
            "command" => self.command(n, cond, env, next),
            "variable_assignment" => self.assignment(n, cond, env, next),
            "declaration_command" => {
                let mut c = n.walk();
                let kids: Vec<Node> = n.named_children(&mut c).collect();
                for k in kids {
                    match k.kind() {
                        "variable_assignment" => self.assignment(k, cond, env, next),
                        // `local x` without a value makes x empty in this scope.
                        "variable_name"
                            if matches!(
                                first_token(self.src, n),
                                "local" | "declare" | "typeset"
                            ) =>
                        {
                            env.set(self.text(k), Val::Known(String::new()))
                        }
                        _ => self.substitutions(k, cond, env, next),
                    }
                }
            }
            "unset_command" => {
                let mut c = n.walk();
                for k in n.named_children(&mut c) {
                    if k.kind() == "variable_name" {
                        env.unset(self.text(k));
                    }
                }
            }
            "function_definition" => {
                if let (Some(name), Some(body)) =
                    (n.child_by_field_name("name"), n.child_by_field_name("body"))
                {
                    let name = self.text(name).to_string();
                    if !self.functions.contains_key(&name) {
                        self.function_order.push(name.clone());
                    }
                    self.functions.insert(
                        name,
                        Function {
                            body,
                            env_at_definition: env.clone(),
                            called: false,
                        },
                    );
                }
            }
            "list" => self.and_or(n, cond, env, next),
            // `exit` in a subshell or substitution leaves only that subshell.
            "subshell" | "command_substitution" | "process_substitution" => {
                let (exited, returned) = (self.exited, self.returned);
                let mut c = n.walk();
                let kids: Vec<Node> = n.named_children(&mut c).collect();
                for k in kids {
                    self.stmt(k, cond, env, next);
                }
                (self.exited, self.returned) = (exited, returned);
            }
            "if_statement" => self.if_statement(n, cond, env, next),
            "case_statement" => self.case_statement(n, cond, env, next),
            "while_statement" => self.while_statement(n, cond, env, next),
            "for_statement" => self.for_statement(n, cond, env, next),
            "c_style_for_statement" => {
                if let Some(body) = n.child_by_field_name("body") {
                    self.branch(&[body], cond, env, next);
                }
            }
            "redirected_statement" => {
                let mut c = n.walk();
                let kids: Vec<Node> = n.named_children(&mut c).collect();
                for k in kids {
                    if k.kind() == "heredoc_redirect" {
                        self.heredoc_redirect(k, cond, env, next);
                    } else {
                        self.stmt(k, cond, env, next);
                    }
                }
            }
            // Containers whose statements all run in order: the program, `{ }`, `( )`, `!`,
            // pipelines, substitutions, and ERROR nodes (what the parser could not place; their
            // commands are still commands).
            _ => {
                let mut c = n.walk();
                let kids: Vec<Node> = n.named_children(&mut c).collect();
                for k in kids {
                    self.stmt(k, cond, env, next);
                }
            }
        }
    }

    /// `cmd <<EOF && other`: the here-doc text is data; a pipeline or list after the operator
    /// is code.
    fn heredoc_redirect(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        let conditional_right = n.child_by_field_name("operator").is_some();
        let mut c = n.walk();
        let kids: Vec<(Option<&str>, Node)> = n
            .children(&mut c)
            .enumerate()
            .map(|(i, k)| (n.field_name_for_child(i as u32), k))
            .collect();
        for (field, k) in kids {
            if !k.is_named() {
                continue;
            }
            match (field, k.kind()) {
                (_, "heredoc_body" | "heredoc_start" | "heredoc_end") => {}
                (Some("right"), _) if conditional_right => self.branch(&[k], true, env, nesting),
                (Some("argument" | "descriptor"), _) => {}
                _ => self.stmt(k, cond, env, nesting),
            }
        }
    }

    /// Statements that run only sometimes: walked with their own copy of the variables, which is
    /// merged back (a value survives only if every branch agrees).
    fn branch(&mut self, body: &[Node<'t>], cond: bool, env: &mut Env, nesting: usize) {
        let mut e = env.clone();
        for b in body {
            self.stmt(*b, cond, &mut e, nesting);
        }
        *env = Env::merge(&[env.clone(), e]);
    }

    /// `a && b`, `a || b`: the left side runs; the right side only on some outcome.
    fn and_or(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        let mut c = n.walk();
        let kids: Vec<Node> = n.named_children(&mut c).collect();
        let mut first = true;
        for k in kids {
            if k.kind() == "comment" {
                continue;
            }
            if first {
                self.stmt(k, cond, env, nesting);
                first = false;
            } else {
                self.branch(&[k], true, env, nesting);
            }
        }
    }

    fn if_statement(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        let mut c = n.walk();
        let kids: Vec<(Option<&str>, Node)> = n
            .children(&mut c)
            .enumerate()
            .map(|(i, k)| (n.field_name_for_child(i as u32), k))
            .collect();
        // The condition always runs; `then`, `elif` and `else` parts are alternatives.
        let mut then_body = Vec::new();
        let mut alternatives: Vec<Node> = Vec::new();
        let mut has_else = false;
        for (field, k) in kids {
            if !k.is_named() {
                continue;
            }
            match (field, k.kind()) {
                (Some("condition"), _) => self.stmt(k, cond, env, nesting),
                (_, "elif_clause") => alternatives.push(k),
                (_, "else_clause") => {
                    has_else = true;
                    alternatives.push(k)
                }
                _ => then_body.push(k),
            }
        }
        let base = env.clone();
        let mut outs = Vec::new();
        let mut e = base.clone();
        for s in then_body {
            self.stmt(s, true, &mut e, nesting);
        }
        outs.push(e);
        for alt in alternatives {
            let mut e = base.clone();
            let mut c = alt.walk();
            let parts: Vec<Node> = alt.named_children(&mut c).collect();
            for s in parts {
                self.stmt(s, true, &mut e, nesting);
            }
            outs.push(e);
        }
        if !has_else {
            outs.push(base);
        }
        *env = Env::merge(&outs);
    }

    fn case_statement(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        if let Some(v) = n.child_by_field_name("value") {
            self.substitutions(v, cond, env, nesting);
        }
        let base = env.clone();
        let mut outs = vec![base.clone()];
        let mut c = n.walk();
        let items: Vec<Node> = n
            .named_children(&mut c)
            .filter(|k| k.kind() == "case_item")
            .collect();
        for item in items {
            let mut e = base.clone();
            let mut c = item.walk();
            let kids: Vec<(Option<&str>, Node)> = item
                .children(&mut c)
                .enumerate()
                .map(|(i, k)| (item.field_name_for_child(i as u32), k))
                .collect();
            for (field, k) in kids {
                // Patterns are strings to match, not commands.
                if !k.is_named() || field == Some("value") {
                    continue;
                }
                self.stmt(k, true, &mut e, nesting);
            }
            outs.push(e);
        }
        *env = Env::merge(&outs);
    }

    /// `while`/`until`: the condition runs at least once; the body may never run.
    fn while_statement(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        let mut c = n.walk();
        let kids: Vec<(Option<&str>, Node)> = n
            .children(&mut c)
            .enumerate()
            .map(|(i, k)| (n.field_name_for_child(i as u32), k))
            .collect();
        for (field, k) in kids {
            if !k.is_named() {
                continue;
            }
            match field {
                Some("condition") => self.stmt(k, cond, env, nesting),
                Some("body") => self.branch(&[k], true, env, nesting),
                _ => {}
            }
        }
    }

    /// `for v in WORDS; do ...; done`: over a literal list, each iteration is walked with `v`
    /// bound (and runs for sure); otherwise the body is read once with `v` unknown, as
    /// conditional.
    fn for_statement(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        let Some(var) = n.child_by_field_name("variable") else {
            return;
        };
        let var = self.text(var).to_string();
        let Some(body) = n.child_by_field_name("body") else {
            return;
        };
        let mut c = n.walk();
        let values: Vec<Node> = n.children_by_field_name("value", &mut c).collect();
        for v in &values {
            self.substitutions(*v, cond, env, nesting);
        }
        let items: Option<Vec<String>> = if values.is_empty() {
            // `for v; do` iterates over "$@".
            match self.params.last() {
                Some(Params::Known { args, exact }) if *exact == args.len() => {
                    args.iter().map(|a| a.value.clone()).collect()
                }
                _ => None,
            }
        } else {
            let args = self.args(env, &values);
            args.into_iter().map(|a| a.value).collect()
        };
        match items {
            Some(items)
                if !items.is_empty()
                    && self.loop_expansions + items.len() <= MAX_LOOP_EXPANSIONS
                    && self.may_expand(n) =>
            {
                self.loop_expansions += items.len();
                let mut out_of_budget = false;
                for item in items {
                    // Checked per iteration: a body with a huge command line costs far more
                    // than one step per iteration.
                    if !self.may_expand(n) {
                        out_of_budget = true;
                        break;
                    }
                    env.set(&var, Val::Known(item));
                    self.stmt(body, cond, env, nesting);
                }
                if out_of_budget {
                    // The iterations not expanded still run: read the body once more with the
                    // variable unknown, so their changes are reported as unresolved.
                    env.set(&var, Val::Unknown);
                    self.branch(&[body], true, env, nesting);
                }
            }
            items => {
                if items.as_ref().is_some_and(|i| !i.is_empty()) {
                    self.note(
                        n,
                        format!("more than {MAX_LOOP_EXPANSIONS} loop iterations; body read once"),
                    );
                }
                env.set(&var, Val::Unknown);
                self.branch(&[body], true, env, nesting);
            }
        }
    }

    /// `NAME=value` as a statement of its own.
    fn assignment(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        let Some(name) = n.child_by_field_name("name") else {
            return;
        };
        let value = n.child_by_field_name("value");
        if let Some(v) = value {
            self.substitutions(v, cond, env, nesting);
        }
        if name.kind() != "variable_name" {
            // `a[1]=x`: arrays are not tracked.
            return;
        }
        let appends = self.src[name.end_byte()..].trim_start().starts_with("+=");
        let val = match value {
            None => Some(String::new()),
            Some(v) => self.eval(env).assigned(v),
        };
        let name = self.text(name);
        let val = match (val, appends) {
            (Some(v), false) => Val::Known(v),
            (Some(v), true) => match env.get(name) {
                Some(old) => Val::Known(format!("{old}{v}")),
                None => Val::Unknown,
            },
            (None, _) => Val::Unknown,
        };
        env.set(name, val);
    }

    /// Commands inside `$(...)`, backticks and `<(...)` in a word run too.
    fn substitutions(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        if nesting > MAX_NESTING {
            return;
        }
        match n.kind() {
            "command_substitution" | "process_substitution" => self.stmt(n, cond, env, nesting),
            _ => {
                let mut c = n.walk();
                let kids: Vec<Node> = n.named_children(&mut c).collect();
                for k in kids {
                    self.substitutions(k, cond, env, nesting + 1);
                }
            }
        }
    }

    fn command(&mut self, n: Node<'t>, cond: bool, env: &mut Env, nesting: usize) {
        let mut c = n.walk();
        let kids: Vec<(Option<&str>, Node)> = n
            .children(&mut c)
            .enumerate()
            .map(|(i, k)| (n.field_name_for_child(i as u32), k))
            .collect();
        let mut name: Option<Node> = None;
        let mut words: Vec<Node> = Vec::new();
        for (field, k) in &kids {
            match *field {
                Some("name") => name = Some(*k),
                Some("argument") => words.push(*k),
                _ => {}
            }
            // Prefix assignments (`X=1 cmd`), the name and arguments may all hold substitutions.
            if *field != Some("redirect") && k.is_named() {
                self.substitutions(*k, cond, env, nesting);
            }
        }
        let Some(name) = name else { return };
        let mut argv = self.args(env, &[name]);
        argv.extend(self.args(env, &words));
        // Evaluating a long command line is work too; count it against the budget.
        self.steps = self.steps.saturating_add(argv.len());
        let Some(cmd) = strip_wrappers(&argv) else {
            return;
        };
        let (cmd_name, args) = (&argv[cmd], &argv[cmd + 1..]);
        let Some(cmd_text) = cmd_name.text() else {
            return;
        };
        let invoked = base(cmd_text).to_string();
        if !cmd_text.contains('/') && self.functions.contains_key(cmd_text) {
            self.call(n, cmd_text.to_string(), args.to_vec(), cond, env, nesting);
            return;
        }
        if invoked == "exit" {
            self.exited = true;
            return;
        }
        if invoked == "return" && self.params.len() > 1 {
            self.returned = true;
            return;
        }
        if invoked == "read" {
            // `read A B` assigns run-time input.
            for a in args.iter().filter_map(Arg::text) {
                if !a.starts_with('-') {
                    env.set(a, Val::Unknown);
                }
            }
            return;
        }
        if matches!(invoked.as_str(), "cd" | "pushd" | "popd") {
            self.change_directory(&invoked, args, env);
            return;
        }
        match invoked.as_str() {
            "sh" | "bash" | "dash" => {
                if let Some(i) = args.iter().position(|a| a.text() == Some("-c")) {
                    if let Some(a) = args.get(i + 1) {
                        self.command_string(n, a.text(), &a.raw, cond);
                    }
                }
                return;
            }
            "eval" => {
                // eval parses its arguments again. One static reading cannot know stays as
                // written (`$pat`): read again with no variables known, it is still unknown, so
                // its commands are found with that operand unresolved.
                let text: Vec<&str> = args.iter().map(|a| a.text().unwrap_or(&a.raw)).collect();
                let text = text.join(" ");
                self.command_string(n, Some(&text), &text, cond);
                return;
            }
            "find" => {
                // `find ... -exec chmod u+s {} \;`: runs once per file found, which may be none.
                if let Some((inner, inner_args)) = find_exec(args) {
                    self.privileged(n, &inner, &inner_args, true, env);
                }
                return;
            }
            "xargs" => {
                if let Some((inner, inner_args)) = xargs_command(args) {
                    self.privileged(n, &inner, &inner_args, cond, env);
                }
                return;
            }
            _ => {}
        }
        self.privileged(n, &invoked, args, cond, env);
    }

    /// Interpret one privilege-changing command and record what it does.
    fn privileged(&mut self, n: Node<'t>, invoked: &str, args: &[Arg], cond: bool, env: &Env) {
        if !commands::is_privileged(invoked) {
            return;
        }
        let ctx = commands::Context { cwd: env.get(CWD) };
        let result = commands::interpret(invoked, args, &ctx);
        for note in result.notes {
            self.note(n, note);
        }
        for f in result.found {
            let change = Change {
                script: self.script,
                line: line_of(n),
                action: f.action,
                target: f.target,
                conditional: cond || self.exited || self.returned,
                recursive: f.recursive,
            };
            self.record(n, change);
        }
    }

    /// `sh -c TEXT`, `eval TEXT`: the text is a script of its own. It is parsed and walked
    /// with no variables known (a child shell does not see unexported ones, and guessing for
    /// `eval` would invent paths); its changes are reported at the line of the outer command.
    fn command_string(&mut self, n: Node<'t>, text: Option<&str>, raw: &str, cond: bool) {
        let Some(text) = text else {
            if commands::NAMES.iter().any(|c| raw.contains(c)) {
                self.note(
                    n,
                    format!("command string `{raw}` cannot be resolved statically; not analyzed"),
                );
            }
            return;
        };
        if self.string_depth >= MAX_STRING_DEPTH || !self.may_expand(n) {
            self.note(
                n,
                format!("command strings nested deeper than {MAX_STRING_DEPTH}; not analyzed"),
            );
            return;
        }
        let Some(tree) = crate::parse(text) else {
            return;
        };
        let mut inner = Walker::new(text, self.script);
        inner.string_depth = self.string_depth + 1;
        inner.steps = self.steps;
        inner.run(tree.root_node());
        self.steps = inner.steps;
        let cond = cond || self.exited || self.returned;
        for mut c in inner.changes {
            c.line = line_of(n);
            c.conditional |= cond;
            self.record(n, c);
        }
        for d in inner.diagnostics {
            self.note(n, format!("in command string: {}", d.message));
        }
    }

    /// Track the working directory, so relative paths after `cd /var/spool/x` resolve.
    fn change_directory(&mut self, invoked: &str, args: &[Arg], env: &mut Env) {
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

    fn call(
        &mut self,
        at: Node<'t>,
        name: String,
        args: Vec<Arg>,
        cond: bool,
        env: &mut Env,
        nesting: usize,
    ) {
        let Some(f) = self.functions.get_mut(&name) else {
            return;
        };
        f.called = true;
        let body = f.body;
        if self.params.len() > MAX_CALL_DEPTH {
            self.note(
                at,
                format!(
                    "calls nested deeper than {MAX_CALL_DEPTH} (recursion?); `{name}` not followed"
                ),
            );
            return;
        }
        if !self.may_expand(at) {
            return;
        }
        self.params.push(Params::of_call(args));
        let returned = std::mem::replace(&mut self.returned, false);
        self.stmt(body, cond, env, nesting);
        self.returned = returned;
        self.params.pop();
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
