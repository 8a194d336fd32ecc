//! Static expansion of shell words: what an argument is, when reading the script can tell.
//!
//! A word resolves to the fields the shell would pass to the command (after quote removal,
//! parameter expansion and field splitting), or to nothing when any piece depends on run time
//! (an unknown variable, a command substitution other than `dpkg-divert --truename`, a glob).

use std::collections::BTreeMap;
use tree_sitter::Node;

/// How deeply nested words (strings in substitutions in strings...) may be before we give up;
/// it keeps hostile input from exhausting the stack.
const MAX_WORD_DEPTH: usize = 64;
/// Longest variable value kept; a longer one is treated as unknown.
const MAX_VALUE_LEN: usize = 4096;

/// What static reading knows about a variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Val {
    Known(String),
    /// Assigned something only run time can tell (or different things on different branches).
    Unknown,
}

/// Variables in scope: absent means "never assigned by this script".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Env {
    pub vars: BTreeMap<String, Val>,
}

impl Env {
    pub fn set(&mut self, name: &str, val: Val) {
        // `P="$P$P"` repeated doubles the value each time; no real path is this long.
        let val = match val {
            Val::Known(v) if v.len() > MAX_VALUE_LEN => Val::Unknown,
            v => v,
        };
        // Unknown and never assigned read the same (the environment may hold anything), so
        // they are kept the same: paths that differ only there are one path.
        if val == Val::Unknown && name != "DPKG_ROOT" {
            self.vars.remove(name);
            return;
        }
        self.vars.insert(name.to_string(), val);
    }

    pub fn unset(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// The value of `$name`, if static reading knows it.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.vars.get(name) {
            Some(Val::Known(v)) => Some(v),
            Some(Val::Unknown) => None,
            // dpkg exports DPKG_ROOT, empty unless installing into another root with --root;
            // debhelper-generated snippets prefix every path with it.
            None if name == "DPKG_ROOT" => Some(""),
            None => None,
        }
    }

    /// Join the environments that several paths leave behind: a variable keeps a value only if
    /// every path has the same literal for it (never assigned reads as unknown, but for
    /// `DPKG_ROOT`, whose unassigned value is known).
    pub fn merge(branches: &[Env]) -> Env {
        let mut names: Vec<&String> = branches.iter().flat_map(|e| e.vars.keys()).collect();
        names.sort();
        names.dedup();
        let mut out = Env::default();
        for name in names {
            let first = branches.first().and_then(|e| e.get(name));
            match first {
                Some(v) if branches.iter().all(|e| e.get(name) == Some(v)) => {
                    out.vars.insert(name.clone(), Val::Known(v.to_string()));
                }
                _ => out.set(name, Val::Unknown),
            }
        }
        out
    }
}

/// One argument as the command receives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Arg {
    /// The field's value, when static reading knows it.
    pub value: Option<String>,
    /// The word as written in the script, for reporting what could not be resolved.
    pub raw: String,
}

impl Arg {
    pub fn text(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// The value if known, else the text as written (for owner names and messages).
    pub fn shown(&self) -> &str {
        self.value.as_deref().unwrap_or(&self.raw)
    }
}

/// `$1`, `$2`, `$@` in the current scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Params {
    /// Top level: dpkg's arguments (`configure`, the old version...), not static paths.
    Unknown,
    /// Inside a function called with these arguments. Only the first `exact` are surely at
    /// their position: an unresolved unquoted word (`$X`, `"$@"`) before them may have expanded
    /// to any number of fields.
    Known { args: Vec<Arg>, exact: usize },
}

impl Params {
    /// The positional parameters of a call with these arguments as written.
    pub fn of_call(args: Vec<Arg>) -> Params {
        let exact = args
            .iter()
            .position(|a| a.value.is_none() && !is_one_field(&a.raw))
            .unwrap_or(args.len());
        Params::Known { args, exact }
    }
}

/// A double-quoted word without `$@`/`$*` is exactly one field whatever its value.
fn is_one_field(raw: &str) -> bool {
    raw.len() >= 2
        && raw.starts_with('"')
        && raw.ends_with('"')
        && !raw.contains("$@")
        && !raw.contains("${@")
        && !raw.contains("$*")
        && !raw.contains("${*")
}

/// Fields being built while walking the pieces of one word.
struct Fields {
    done: Vec<String>,
    cur: String,
    started: bool,
    unresolved: bool,
}

impl Fields {
    fn quoted(&mut self, s: &str) {
        self.cur.push_str(s);
        self.started = true;
    }

    /// Text subject to field splitting and pathname expansion (an unquoted expansion): split on
    /// the default IFS, and any glob character makes the word run-time dependent.
    fn split(&mut self, s: &str) {
        if has_glob(s) {
            self.unresolved = true;
        }
        let ws = |c: char| matches!(c, ' ' | '\t' | '\n');
        if s.starts_with(ws) {
            self.finish();
        }
        let mut any = false;
        for (i, part) in s.split(ws).filter(|p| !p.is_empty()).enumerate() {
            if i > 0 {
                self.finish();
            }
            self.quoted(part);
            any = true;
        }
        if any && s.ends_with(ws) {
            self.finish();
        }
    }

    fn finish(&mut self) {
        if self.started {
            self.done.push(std::mem::take(&mut self.cur));
            self.started = false;
        }
    }
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Evaluates words against what is known about variables and positional parameters.
pub(crate) struct Evaluator<'a> {
    pub src: &'a str,
    pub env: &'a Env,
    pub params: &'a Params,
}

impl Evaluator<'_> {
    fn text(&self, n: Node) -> &str {
        &self.src[n.byte_range()]
    }

    /// The fields of an argument word, or `None` when static reading cannot tell.
    pub fn fields(&self, n: Node) -> Option<Vec<String>> {
        self.fields_at(n, 0)
    }

    /// The fields of one shell word that the parser split into touching nodes. tree-sitter-bash
    /// reads `$1:$2` as `$1:$` and a separate `2`: a literal ending in `$` followed by a name or
    /// number is that parameter's expansion.
    pub fn joined(&self, nodes: &[Node]) -> Option<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let glue = |out: &mut Vec<String>, next: Vec<String>| {
            let mut it = next.into_iter();
            match (out.last_mut(), it.next()) {
                (Some(last), Some(first)) => last.push_str(&first),
                (None, Some(first)) => out.push(first),
                (_, None) => {}
            }
            out.extend(it);
        };
        // The pieces of a concatenation are pieces of this same word.
        let mut flat: Vec<Node> = Vec::new();
        for n in nodes {
            if n.kind() == "concatenation" {
                let mut c = n.walk();
                flat.extend(n.children(&mut c));
            } else {
                flat.push(*n);
            }
        }
        let nodes = flat.as_slice();
        let mut i = 0;
        while let Some(n) = nodes.get(i) {
            let text = self.text(*n);
            let param = nodes.get(i + 1).map(|m| self.text(*m)).filter(|t| {
                !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            let dollar = text.ends_with('$') && (n.kind() == "word" || !n.is_named());
            if let (true, Some(name)) = (dollar, param) {
                glue(&mut out, vec![text[..text.len() - 1].to_string()]);
                let value = match self.lookup(name) {
                    Expanded::Text(t) => t,
                    _ => return None,
                };
                let mut f = Fields {
                    done: Vec::new(),
                    cur: String::new(),
                    started: false,
                    unresolved: false,
                };
                f.split(&value);
                f.finish();
                if f.unresolved {
                    return None;
                }
                glue(&mut out, f.done);
                i += 2;
                continue;
            }
            let piece = if n.is_named() {
                self.fields(*n)?
            } else {
                vec![text.to_string()]
            };
            glue(&mut out, piece);
            i += 1;
        }
        Some(out)
    }

    fn fields_at(&self, n: Node, depth: usize) -> Option<Vec<String>> {
        let mut f = Fields {
            done: Vec::new(),
            cur: String::new(),
            started: false,
            unresolved: false,
        };
        self.piece(n, false, false, &mut f, depth);
        f.finish();
        (!f.unresolved).then_some(f.done)
    }

    /// The value of an assignment's right-hand side: no field splitting, no globbing.
    pub fn assigned(&self, n: Node) -> Option<String> {
        let mut f = Fields {
            done: Vec::new(),
            cur: String::new(),
            started: false,
            unresolved: false,
        };
        self.piece(n, true, true, &mut f, 0);
        f.finish();
        (!f.unresolved).then(|| f.done.join(" "))
    }

    /// Append the expansion of `n` to `f`. `quoted` is true inside double quotes; `assign` is
    /// true on the right of `=`, where the shell neither splits nor globs.
    fn piece(&self, n: Node, quoted: bool, assign: bool, f: &mut Fields, depth: usize) {
        if depth > MAX_WORD_DEPTH || f.unresolved {
            f.unresolved = true;
            return;
        }
        let no_split = quoted || assign;
        match n.kind() {
            "word" | "number" if n.child_count() > 0 => {
                // `number` may hold expansions; the text between them is literal.
                self.children(n, n.start_byte(), n.end_byte(), quoted, assign, f, depth)
            }
            "word" | "number" => {
                let (s, glob) = unescape_unquoted(self.text(n));
                // A leading `~` is someone's home directory: not static.
                if (glob && !assign) || s.starts_with('~') {
                    f.unresolved = true;
                    return;
                }
                f.quoted(&s);
            }
            "raw_string" => {
                let t = self.text(n);
                f.quoted(t.get(1..t.len().saturating_sub(1)).unwrap_or(""));
            }
            "ansi_c_string" => {
                let t = self.text(n);
                let inner = t.get(2..t.len().saturating_sub(1)).unwrap_or("");
                if inner.contains('\\') {
                    f.unresolved = true;
                } else {
                    f.quoted(inner);
                }
            }
            "string" | "translated_string" => {
                f.started = true;
                let start = n.start_byte() + if n.kind() == "string" { 1 } else { 2 };
                let end = n.end_byte().saturating_sub(1).max(start);
                self.children(n, start, end, true, assign, f, depth);
            }
            "string_content" => f.quoted(&unescape_double(self.text(n))),
            "concatenation" | "command_name" => {
                self.children(n, n.start_byte(), n.end_byte(), quoted, assign, f, depth)
            }
            "simple_expansion" | "expansion" => match self.expand(n, depth) {
                Expanded::Text(s) if no_split => f.quoted(&s),
                Expanded::Text(s) => f.split(&s),
                Expanded::Many(args) => {
                    // "$@": one field per argument, glued to text around it.
                    for (i, a) in args.iter().enumerate() {
                        match &a.value {
                            Some(v) => {
                                if i > 0 && !assign {
                                    f.finish();
                                }
                                if no_split {
                                    f.quoted(v);
                                } else {
                                    f.split(v);
                                }
                            }
                            None => f.unresolved = true,
                        }
                    }
                }
                Expanded::Unknown => f.unresolved = true,
            },
            "command_substitution" => match self.truename(n, depth) {
                Some(s) if no_split => f.quoted(&s),
                Some(s) => f.split(&s),
                None => f.unresolved = true,
            },
            _ => f.unresolved = true,
        }
    }

    /// Walk the named children of `n` between `start` and `end`, treating the text between them
    /// as literal (quoted inside strings, unquoted in concatenations).
    #[allow(clippy::too_many_arguments)]
    fn children(
        &self,
        n: Node,
        start: usize,
        end: usize,
        quoted: bool,
        assign: bool,
        f: &mut Fields,
        depth: usize,
    ) {
        let mut at = start;
        let mut cursor = n.walk();
        for c in n.named_children(&mut cursor) {
            if c.start_byte() < at || c.end_byte() > end {
                continue;
            }
            self.gap(at, c.start_byte(), quoted, assign, f);
            self.piece(c, quoted, assign, f, depth + 1);
            at = c.end_byte();
        }
        self.gap(at, end, quoted, assign, f);
    }

    fn gap(&self, from: usize, to: usize, quoted: bool, assign: bool, f: &mut Fields) {
        if from >= to {
            return;
        }
        let Some(t) = self.src.get(from..to) else {
            f.unresolved = true;
            return;
        };
        if quoted {
            f.quoted(&unescape_double(t));
        } else {
            let (s, glob) = unescape_unquoted(t);
            if glob && !assign {
                f.unresolved = true;
            }
            f.quoted(&s);
        }
    }

    /// `$NAME`, `${NAME}`, `$1`, `${1}`, `$@`, and `${NAME:-default}`-style defaults.
    fn expand(&self, n: Node, depth: usize) -> Expanded {
        let mut cursor = n.walk();
        let kids: Vec<Node> = n.children(&mut cursor).collect();
        let Some(name_node) = kids
            .iter()
            .find(|c| matches!(c.kind(), "variable_name" | "special_variable_name"))
        else {
            return Expanded::Unknown;
        };
        let name = self.text(*name_node);
        let op = n.child_by_field_name("operator");
        // `${#P}` and other prefix forms put a token before the name.
        if n.kind() == "expansion" && kids.get(1).map(|c| c.id()) != Some(name_node.id()) {
            return Expanded::Unknown;
        }
        let value = self.lookup(name);
        let Some(op) = op else {
            // Anything else after the name (`${P/a/b}`, `${P[0]}`) is an operation we do not
            // evaluate.
            if n.kind() == "expansion" && kids.len() > 3 {
                return Expanded::Unknown;
            }
            return value;
        };
        let op_text = self.text(op);
        let value = match value {
            Expanded::Text(s) => Some(s),
            Expanded::Many(_) | Expanded::Unknown => return Expanded::Unknown,
        };
        // The operand: everything after the operator up to the closing brace.
        let operand = || -> Option<String> {
            let start = op.end_byte();
            let end = n.end_byte().saturating_sub(1).max(start);
            let mut f = Fields {
                done: Vec::new(),
                cur: String::new(),
                started: false,
                unresolved: false,
            };
            self.children(n, start, end, true, true, &mut f, depth + 1);
            f.finish();
            (!f.unresolved).then(|| f.done.concat())
        };
        let set = value.is_some();
        let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
        let use_default = match op_text {
            ":-" | ":=" => !non_empty,
            "-" | "=" => !set,
            ":+" => {
                return if non_empty {
                    operand().map_or(Expanded::Unknown, Expanded::Text)
                } else {
                    Expanded::Text(String::new())
                }
            }
            "+" => {
                return if set {
                    operand().map_or(Expanded::Unknown, Expanded::Text)
                } else {
                    Expanded::Text(String::new())
                }
            }
            _ => return Expanded::Unknown,
        };
        if use_default {
            operand().map_or(Expanded::Unknown, Expanded::Text)
        } else {
            value.map_or(Expanded::Unknown, Expanded::Text)
        }
    }

    fn lookup(&self, name: &str) -> Expanded {
        if name == "@" || name == "*" {
            return match self.params {
                Params::Known { args, exact } if *exact == args.len() => {
                    Expanded::Many(args.clone())
                }
                _ => Expanded::Unknown,
            };
        }
        if name == "#" {
            return match self.params {
                Params::Known { args, exact } if *exact == args.len() => {
                    Expanded::Text(args.len().to_string())
                }
                _ => Expanded::Unknown,
            };
        }
        if let Ok(i) = name.parse::<usize>() {
            return match (self.params, i) {
                // $0 is the script's path as dpkg invoked it.
                (_, 0) | (Params::Unknown, _) => Expanded::Unknown,
                (Params::Known { args, exact }, i) if i <= *exact => match args.get(i - 1) {
                    Some(Arg { value: Some(v), .. }) => Expanded::Text(v.clone()),
                    _ => Expanded::Unknown,
                },
                // Past the arguments given: empty, if we know how many there were.
                (Params::Known { args, exact }, _) if *exact == args.len() => {
                    Expanded::Text(String::new())
                }
                (Params::Known { .. }, _) => Expanded::Unknown,
            };
        }
        match self.env.get(name) {
            Some(v) => Expanded::Text(v.to_string()),
            None => Expanded::Unknown,
        }
    }

    /// `$(dpkg-divert --truename PATH)` prints PATH's diverted name; statically it is PATH, the
    /// path the package ships. Any other command substitution is run-time output.
    fn truename(&self, n: Node, depth: usize) -> Option<String> {
        let mut cursor = n.walk();
        let cmds: Vec<Node> = n
            .named_children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .collect();
        let [cmd] = cmds.as_slice() else { return None };
        if cmd.kind() != "command" {
            return None;
        }
        let name = cmd.child_by_field_name("name")?;
        let name = self.fields_at(name, depth + 1)?;
        if name.first().map(|s| base(s)) != Some("dpkg-divert") || name.len() != 1 {
            return None;
        }
        let mut cursor = cmd.walk();
        let args: Vec<Node> = cmd
            .children_by_field_name("argument", &mut cursor)
            .collect();
        let mut words = Vec::new();
        for a in args {
            words.extend(self.fields_at(a, depth + 1)?);
        }
        let mut it = words.iter();
        let mut path = None;
        let mut truename = false;
        while let Some(w) = it.next() {
            match w.as_str() {
                "--truename" => truename = true,
                "--admindir" | "--instdir" | "--root" | "--package" | "--divert" => {
                    it.next();
                }
                s if s.starts_with("--") => {}
                s => path = Some(s.to_string()),
            }
        }
        truename.then_some(path).flatten()
    }
}

enum Expanded {
    Text(String),
    /// `$@`/`$*`: one field per positional parameter.
    Many(Vec<Arg>),
    Unknown,
}

/// Last path component of a command name (`/sbin/setcap` runs setcap).
pub(crate) fn base(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// Quote removal for unquoted text: `\x` is `x`, `\<newline>` disappears. Also reports whether an
/// unescaped glob character is present.
fn unescape_unquoted(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut glob = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            },
            '*' | '?' | '[' => {
                glob = true;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    (out, glob)
}

/// Quote removal inside double quotes: only `\$`, `` \` ``, `\"`, `\\` and `\<newline>` are
/// escapes; any other backslash stays.
fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('$' | '`' | '"' | '\\') => out.push(chars.next().unwrap_or('\\')),
                Some('\n') => {
                    chars.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_only_agreeing_literals() {
        let mut a = Env::default();
        a.set("P", Val::Known("/x".into()));
        a.set("Q", Val::Known("/x".into()));
        let mut b = Env::default();
        b.set("P", Val::Known("/x".into()));
        b.set("Q", Val::Known("/y".into()));
        let m = Env::merge(&[a.clone(), b.clone()]);
        assert_eq!(m.get("P"), Some("/x"));
        assert_eq!(m.get("Q"), None);
        assert_eq!(m.get("R"), None);
        assert_eq!(m.get("DPKG_ROOT"), Some(""));
        // A path that never assigned P may have it from the environment: unknown.
        let m = Env::merge(&[a, b, Env::default()]);
        assert_eq!(m.get("P"), None);
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape_unquoted(r"a\ b\*"), ("a b*".to_string(), false));
        assert!(unescape_unquoted("/usr/lib/*").1);
        assert_eq!(unescape_double(r#"a\"b\n\$"#), r#"a"b\n$"#);
    }
}
