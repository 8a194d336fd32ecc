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

mod commands;
mod walk;
mod word;

use debgate_facts::change::Change;
use debgate_facts::{Script, ScriptName};
use serde::Serialize;

/// What static reading found in one script.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// Privilege changes in the order the script would make them (functions at their call
    /// sites, loops iteration by iteration).
    pub changes: Vec<Change>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Something the analyzer could not read: a syntax error, an unknown capability name, a mode that
/// is not a mode, a value only run time can tell, a bound that was hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub script: ScriptName,
    /// 1-based line the problem was found on.
    pub line: u32,
    pub message: String,
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

/// Analyze one maintainer script. Never panics; whatever cannot be read becomes a diagnostic.
pub fn analyze(script: &Script) -> Analysis {
    let mut out = Analysis::default();
    let diag = |line: u32, message: String| Diagnostic {
        script: script.name,
        line,
        message,
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
    let mut walker = walk::Walker::new(&script.text, script.name);
    walker.run(root);
    // The walker records each change and diagnostic once; only the syntax errors above may
    // repeat one of its diagnostics.
    for d in walker.diagnostics {
        if !out.diagnostics.contains(&d) {
            out.diagnostics.push(d);
        }
    }
    out.changes = walker.changes;
    out
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
