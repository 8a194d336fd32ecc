//! Which rules a run judges: bundled policies by name, policy files and directories by path,
//! the default set when nothing is named, and `--tag` to narrow the rules down. A selection
//! that could mean two things, or that leaves nothing to judge, is refused before any package
//! is read.

use crate::bundled_policies;
use debgate_policy::{load_sources_with, Diagnostic, Diagnostics, LoadOptions, RuleSet, Source};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use thiserror::Error;

/// The name that stands for every bundled policy of the default set.
pub const DEFAULT: &str = "default";

/// Why a selection cannot be used. Each is a usage error (exit 2).
#[derive(Debug, Error)]
pub enum SelectError {
    #[error("`{0}` names both the bundled policy `{0}` and a path here; write ./{0} for the path, or move it")]
    Ambiguous(String),
    #[error(
        "`{0}` is neither a bundled policy (`debgate policies` lists them) nor a file or directory"
    )]
    NotFound(String),
    #[error("{0}: no policy file (*.toml) in the directory")]
    EmptyDir(String),
    #[error("{0}: {1}")]
    Unreadable(String, std::io::Error),
    #[error("the selection has no rule{0}, so there is nothing to judge")]
    Empty(String),
    #[error("{} error(s) in policy files; no package was read", .0.0.len())]
    Policy(Diagnostics),
}

impl SelectError {
    /// The policy diagnostics, each to be shown on its own line.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            SelectError::Policy(d) => &d.0,
            _ => &[],
        }
    }
}

/// One bundled policy as `debgate policies` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BundledPolicy {
    pub name: String,
    pub title: String,
    pub rules: usize,
    pub pairings: usize,
    pub default: bool,
    pub file: String,
}

/// Every bundled policy, in file order. Read from each file's `[policy]` header and table
/// sizes only, once per process: choosing the default set must not pay for loading a profile
/// of a thousand rules it does not run.
pub fn bundled() -> Result<Vec<BundledPolicy>, Diagnostics> {
    static HEADERS: OnceLock<Option<Vec<BundledPolicy>>> = OnceLock::new();
    match HEADERS.get_or_init(|| {
        bundled_policies()
            .iter()
            .map(|(f, t)| header(f, t))
            .collect()
    }) {
        Some(list) => Ok(list.clone()),
        // A bundled file that does not parse is a build defect; say where, in full.
        None => crate::load_bundled_and(&[]).map(|_| Vec::new()),
    }
}

/// One bundled file's header: its `[policy]` table parsed alone, and its `[[rule]]` and
/// `[[pairing]]` headers counted (our bundled files write every rule and pairing that way, and
/// the policy tests load each in full); `None` if the header is not well-formed TOML.
fn header(file: &str, text: &str) -> Option<BundledPolicy> {
    use toml_span::value::ValueInner;
    let count = |h: &str| text.lines().filter(|l| l.trim_end() == h).count();
    let mut out = BundledPolicy {
        name: Path::new(file).file_stem()?.to_string_lossy().into_owned(),
        title: String::new(),
        rules: count("[[rule]]"),
        pairings: count("[[pairing]]"),
        default: false,
        file: file.to_string(),
    };
    let start = text.lines().position(|l| l.trim_end() == "[policy]");
    if let Some(start) = start {
        let section: Vec<&str> = text
            .lines()
            .skip(start)
            .enumerate()
            .take_while(|(i, l)| *i == 0 || !l.starts_with('['))
            .map(|(_, l)| l)
            .collect();
        let section = section.join("\n");
        let mut root = toml_span::parse(&section).ok()?;
        let ValueInner::Table(t) = root.take() else {
            return None;
        };
        let policy = t.iter().find(|(k, _)| k.name == "policy").map(|(_, v)| v)?;
        if let ValueInner::Table(p) = policy.as_ref() {
            for (k, v) in p {
                match (k.name.as_ref(), v.as_ref()) {
                    ("name", ValueInner::String(s)) => out.name = s.to_string(),
                    ("title", ValueInner::String(s)) => out.title = s.to_string(),
                    ("default", ValueInner::Boolean(b)) => out.default = *b,
                    _ => {}
                }
            }
        }
    }
    Some(out)
}

/// The bundled policy called `name` (its `[policy] name`): (file, text).
fn bundled_named(name: &str) -> Result<Vec<(&'static str, &'static str)>, Diagnostics> {
    let all = bundled()?;
    Ok(bundled_policies()
        .iter()
        .zip(&all)
        .filter(|(_, p)| p.name == name || (name == DEFAULT && p.default))
        .map(|(src, _)| *src)
        .collect())
}

/// What a run judges: the rules of the named policies (the default set when `names` is
/// empty), narrowed to the rules with one of `tags` when any is given; and every rule id any
/// selected source declares, so that a waiver of a rule left out by `--tag` is unused, not
/// unknown.
pub fn select(names: &[PathBuf], tags: &[String]) -> Result<(RuleSet, Vec<String>), SelectError> {
    select_with(names, tags, false)
}

/// Like [`select`]; with `allow_todo`, allow-lists that still hold unreviewed (TODO) entries
/// load (`--allow-todo`).
pub fn select_with(
    names: &[PathBuf],
    tags: &[String],
    allow_todo: bool,
) -> Result<(RuleSet, Vec<String>), SelectError> {
    // (name, text, bundled)
    let mut sources: Vec<(String, String, bool)> = Vec::new();
    let default = [PathBuf::from(DEFAULT)];
    let names = if names.is_empty() {
        &default[..]
    } else {
        names
    };
    for arg in names {
        let text = arg.to_str();
        let bundled = match text {
            Some(n) => bundled_named(n).map_err(SelectError::Policy)?,
            None => Vec::new(),
        };
        // A bare word that is also a path here is refused: which one was meant?
        let bare = text.is_some_and(|t| !t.contains('/'));
        if !bundled.is_empty() {
            if bare && arg.exists() {
                return Err(SelectError::Ambiguous(text.unwrap_or_default().to_string()));
            }
            sources.extend(
                bundled
                    .iter()
                    .map(|(f, t)| (f.to_string(), t.to_string(), true)),
            );
            continue;
        }
        if !arg.exists() {
            return Err(SelectError::NotFound(arg.display().to_string()));
        }
        sources.extend(read_path(arg)?.into_iter().map(|(f, t)| (f, t, false)));
    }
    let refs: Vec<Source<'_>> = sources
        .iter()
        .map(|(name, text, bundled)| Source {
            name,
            text,
            bundled: *bundled,
        })
        .collect();
    let opts = LoadOptions {
        embedded: crate::bundled::BUNDLED_FILES,
        allow_todo,
    };
    let mut rules = load_sources_with(&refs, &opts).map_err(SelectError::Policy)?;
    let known: Vec<String> = rules.rules.iter().map(|r| r.id.clone()).collect();
    if !tags.is_empty() {
        rules.retain_tagged(tags);
    }
    // `--tag` picks rules: one that picks none is a mistake, whatever pairings remain.
    if !tags.is_empty() && rules.rules.is_empty() {
        return Err(SelectError::Empty(format!(
            " with a tag matching {}",
            tags.join(", ")
        )));
    }
    if rules.rules.is_empty() && rules.pairings.is_empty() {
        return Err(SelectError::Empty(String::new()));
    }
    Ok((rules, known))
}

/// The policy files a path names: the file, or every `*.toml` of the directory, sorted.
fn read_path(p: &Path) -> Result<Vec<(String, String)>, SelectError> {
    let unreadable = |e| SelectError::Unreadable(p.display().to_string(), e);
    let files = if p.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(unreadable)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|f| f.extension().is_some_and(|x| x == "toml") && f.is_file())
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(SelectError::EmptyDir(p.display().to_string()));
        }
        v
    } else {
        vec![p.to_path_buf()]
    };
    files
        .into_iter()
        .map(|f| {
            std::fs::read_to_string(&f)
                .map(|t| (f.display().to_string(), t))
                .map_err(|e| SelectError::Unreadable(f.display().to_string(), e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{bundled, select, SelectError};
    use std::path::PathBuf;

    #[test]
    fn no_selection_is_the_default_set() {
        let all = bundled().unwrap();
        let (rules, _) = select(&[], &[]).unwrap();
        let want: usize = all.iter().filter(|p| p.default).map(|p| p.rules).sum();
        assert!(want > 0);
        assert_eq!(rules.rules.len(), want);
        let (named, _) = select(&[PathBuf::from("default")], &[]).unwrap();
        assert_eq!(named.rules.len(), want);
    }

    #[test]
    fn a_tag_that_selects_nothing_is_an_error_and_unknown_names_are_refused() {
        let err = select(&[], &["no-such-tag-*".into()]).unwrap_err();
        assert!(matches!(err, SelectError::Empty(_)), "{err}");
        let err = select(&[PathBuf::from("no-such-policy")], &[]).unwrap_err();
        assert!(matches!(err, SelectError::NotFound(_)), "{err}");
    }
}
