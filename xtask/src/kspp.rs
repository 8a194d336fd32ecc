//! `cargo xtask kspp`: generates the bundled `kspp` profile, `policies/kspp.toml`, from
//! kernel-hardening-checker's checklist (`testdata/khc/checks.json`) and the generator's own data
//! (`testdata/khc/kspp-generator.toml`); `--check` fails when the committed profile differs.
//!
//! One rule per check and architecture. KHC reports a compound check under the name and desired
//! value of its first leaf, so every rule carries that pair as the tag `khc:NAME=DESIRED`: the
//! oracle test pairs rules with KHC's verdicts by it. The output is a pure function of the two
//! input files (no clock, no hash order), so regenerating gives the same bytes and CI can prove
//! the committed profile current.
//!
//! No kernel option is named here: they all come from the two data files (`cargo xtask tidy`,
//! "rules are data").

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

pub mod cases;

/// KHC's checklist, as dumped from the commit the oracle's verdicts come from.
pub const CHECKS: &str = "testdata/khc/checks.json";
/// What the generator needs besides the checklist; its comments document every key.
pub const SETTINGS: &str = "testdata/khc/kspp-generator.toml";
/// The generated profile.
pub const OUTPUT: &str = "policies/kspp.toml";

/// The desired value KHC replaces with the value of a bound option before judging.
const MAX: &str = "MAX";
/// A kconfig option's bound is the option with this suffix (KHC's cli.py, `refine_check`).
const MAX_SUFFIX: &str = "_MAX";
/// Wrap explanations before this column, so the profile reads well in a diff.
const WIDTH: usize = 98;

/// `checks.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checks {
    pub source: String,
    /// KHC's architecture name -> its checks.
    pub checklists: BTreeMap<String, Checklist>,
}

/// One architecture's checks, in KHC's order: the kconfig ones, then the sysctl ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    pub kconfig: Vec<Tree>,
    pub sysctl: Vec<Tree>,
}

impl Checklist {
    pub fn all(&self) -> impl Iterator<Item = &Tree> {
        self.kconfig.iter().chain(&self.sysctl)
    }
}

/// A check: KHC's `OR`/`AND` over leaves.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Tree {
    Op { op: Op, operands: Vec<Tree> },
    Leaf(Leaf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Or,
    And,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Leaf {
    Kconfig(Named),
    Sysctl(Named),
    Cmdline(Named),
    Version { at_least: [u32; 3] },
}

/// A kconfig, sysctl or cmdline leaf. `reason` and `decision` are `-` on helper operands.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub name: String,
    pub expected: String,
    pub reason: String,
    pub decision: String,
}

impl Tree {
    /// The leaf KHC names the check after: the first one, depth first.
    pub fn first(&self) -> &Leaf {
        match self {
            Tree::Op { operands, .. } => operands
                .first()
                .expect("an operator has operands (checked on load)")
                .first(),
            Tree::Leaf(leaf) => leaf,
        }
    }

    /// The name and desired value KHC reports the check under.
    pub fn khc_key(&self) -> Option<(&str, &str)> {
        match self.first() {
            Leaf::Kconfig(n) | Leaf::Sysctl(n) | Leaf::Cmdline(n) => {
                Some((n.name.as_str(), n.expected.as_str()))
            }
            Leaf::Version { .. } => None,
        }
    }

    fn leaves(&self) -> Vec<&Leaf> {
        match self {
            Tree::Op { operands, .. } => operands.iter().flat_map(Tree::leaves).collect(),
            Tree::Leaf(leaf) => vec![leaf],
        }
    }

    fn validate(&self) -> Result<()> {
        if let Tree::Op { operands, .. } = self {
            ensure!(!operands.is_empty(), "an `op` with no operands");
            operands.iter().try_for_each(Tree::validate)?;
        }
        Ok(())
    }
}

/// `kspp-generator.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    pub policy: Header,
    pub reference: String,
    #[serde(default)]
    pub decision_references: BTreeMap<String, String>,
    pub decisions: BTreeMap<String, String>,
    pub arch: Vec<Arch>,
    pub compiler: Vec<Compiler>,
    #[serde(default)]
    pub sysctl_max: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub name: String,
    pub title: String,
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arch {
    pub khc: String,
    pub name: String,
    pub option: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compiler {
    pub name: String,
    pub option: String,
    pub version: String,
}

/// Reads both inputs under `root`.
pub fn read_inputs(root: &Path) -> Result<(Checks, Settings)> {
    let path = root.join(CHECKS);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let checks: Checks =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let path = root.join(SETTINGS);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let settings: Settings =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok((checks, settings))
}

/// The profile's text, from the inputs under `root`.
pub fn generate(root: &Path) -> Result<String> {
    let (checks, settings) = read_inputs(root)?;
    render(&checks, &settings)
}

/// Every generated file: the profile and its policy tests, each with its path under `root`.
pub fn outputs(root: &Path) -> Result<[(&'static str, String); 2]> {
    Ok([
        (OUTPUT, generate(root)?),
        (cases::OUTPUT, cases::generate(root)?),
    ])
}

/// `cargo xtask kspp [--check]`.
pub fn run(root: &Path, check: bool) -> Result<()> {
    for (file, text) in outputs(root)? {
        if check {
            match is_current(root, file, &text)? {
                Ok(()) => println!("kspp: {file} is current"),
                Err(why) => bail!(why),
            }
        } else {
            let path = root.join(file);
            fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
            let rules = text.lines().filter(|l| *l == "[[rule]]").count();
            let cases = text.lines().filter(|l| *l == "[[case]]").count();
            let expects = text.lines().filter(|l| *l == "[[case.expect]]").count();
            if file == OUTPUT {
                println!("kspp: wrote {file} ({rules} rules)");
            } else {
                println!("kspp: wrote {file} ({cases} cases, {expects} expectations)");
            }
        }
    }
    Ok(())
}

/// For `cargo xtask ci`: `Ok(Err(why))` when a committed file is stale or missing.
pub fn check(root: &Path) -> Result<std::result::Result<(), String>> {
    for (file, text) in outputs(root)? {
        if let Err(why) = is_current(root, file, &text)? {
            return Ok(Err(why));
        }
    }
    Ok(Ok(()))
}

fn is_current(root: &Path, file: &str, text: &str) -> Result<std::result::Result<(), String>> {
    let path = root.join(file);
    let committed = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Err(format!("{file} is missing: run `cargo xtask kspp`")))
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if committed == text {
        return Ok(Ok(()));
    }
    // Name the first differing line: "differs" alone sends the reader to a 30,000-line diff.
    let line = committed
        .lines()
        .zip(text.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(text.lines().count()))
        + 1;
    Ok(Err(format!(
        "{file} is not what `cargo xtask kspp` generates from {CHECKS}, {SETTINGS} and \
         {} (first difference at line {line}): run `cargo xtask kspp` and commit the result",
        cases::ORACLE
    )))
}

/// The profile's text. Errors name what in the inputs the generator cannot express, rather than
/// writing a rule that would judge something else.
pub fn render(checks: &Checks, settings: &Settings) -> Result<String> {
    let known: BTreeSet<&str> = settings.arch.iter().map(|a| a.khc.as_str()).collect();
    for name in checks.checklists.keys() {
        ensure!(
            known.contains(name.as_str()),
            "{CHECKS} has architecture {name}, which {SETTINGS} does not map"
        );
    }

    let mut out = String::new();
    header(&mut out, checks, settings);
    let mut ids = BTreeSet::new();
    for arch in &settings.arch {
        let list = checks
            .checklists
            .get(&arch.khc)
            .with_context(|| format!("{CHECKS} has no checklist for {}", arch.khc))?;
        // A name KHC checks more than once on one architecture (with different desired values)
        // needs the value in its id too; counting first keeps every other id short.
        let seen = names_seen(list).with_context(|| format!("{CHECKS}, {}", arch.khc))?;
        for tree in list.all() {
            let rule = Rule::new(arch, tree, settings, &seen)
                .with_context(|| format!("{} check {:?}", arch.khc, tree.khc_key()))?;
            ensure!(
                ids.insert(rule.id.clone()),
                "two rules would have the id `{}`",
                rule.id
            );
            out.push('\n');
            rule.write(&mut out);
        }
    }
    Ok(out)
}

fn header(out: &mut String, checks: &Checks, settings: &Settings) {
    let p = &settings.policy;
    let _ = writeln!(
        out,
        "# Generated by `cargo xtask kspp` from {CHECKS}\n\
         # ({}) and {SETTINGS}.\n\
         # Do not edit by hand: change those files and regenerate. See testdata/khc/README.md.\n",
        checks.source
    );
    let _ = writeln!(out, "[policy]");
    let _ = writeln!(out, "name = {}", string(&p.name));
    let _ = writeln!(out, "title = {}", string(&p.title));
    let _ = writeln!(out, "description = {}", multiline(&p.description));
    let _ = writeln!(out, "\n[kernel.arch]");
    for arch in &settings.arch {
        let _ = writeln!(out, "{} = {}", key(&arch.name), string(&arch.option));
    }
    let _ = writeln!(out, "\n[kernel.compiler]");
    for c in &settings.compiler {
        let _ = writeln!(
            out,
            "{} = {{ option = {}, version = {} }}",
            key(&c.name),
            string(&c.option),
            string(&c.version)
        );
    }
}

/// How many checks of one architecture's list are reported under each name: a name counted more
/// than once needs its desired value in the rule's id too.
pub fn names_seen(list: &Checklist) -> Result<BTreeMap<&str, usize>> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for tree in list.all() {
        tree.validate()?;
        let (name, _) = tree
            .khc_key()
            .context("a check starts with a version leaf")?;
        *seen.entry(name).or_default() += 1;
    }
    Ok(seen)
}

/// The id of the rule for the check whose first leaf is `first`, on `arch`.
pub fn rule_id(
    settings: &Settings,
    arch: &Arch,
    first: &Named,
    seen: &BTreeMap<&str, usize>,
) -> Result<String> {
    let mut id = format!("{}-{}-{}", settings.policy.name, slug(&arch.name), {
        let lower = first.name.to_lowercase();
        // Kernel options all start with the same prefix; it adds nothing to an id.
        slug(lower.strip_prefix("config_").unwrap_or(&lower))
    });
    if seen.get(first.name.as_str()).copied().unwrap_or(0) > 1 {
        id = format!("{id}-{}", slug(&first.expected));
    }
    ensure!(
        is_kebab(&id),
        "id `{id}` is not kebab-case (lower-case words joined by `-`)"
    );
    Ok(id)
}

/// One generated `[[rule]]`, its fields already rendered as TOML values or text.
struct Rule {
    id: String,
    title: String,
    explanation: String,
    references: Vec<String>,
    tags: Vec<String>,
    arch: String,
    /// The single-line inline table for a leaf, or the `[rule.assert]` body for a compound.
    assert: Assert,
}

enum Assert {
    Inline(String),
    Table(String),
}

impl Rule {
    fn new(
        arch: &Arch,
        tree: &Tree,
        settings: &Settings,
        seen: &BTreeMap<&str, usize>,
    ) -> Result<Rule> {
        let (Leaf::Kconfig(first) | Leaf::Sysctl(first) | Leaf::Cmdline(first)) = tree.first()
        else {
            bail!("the first leaf is a version");
        };
        let id = rule_id(settings, arch, first, seen)?;

        let decision_words = settings
            .decisions
            .get(&first.decision)
            .with_context(|| format!("decision `{}` is not in {SETTINGS}", first.decision))?;
        let mut references = vec![settings.reference.clone()];
        if let Some(r) = settings.decision_references.get(&first.decision) {
            references.push(r.clone());
        }
        let tags = vec![
            format!("khc:{}={}", first.name, first.expected),
            settings.policy.name.clone(),
            format!("khc-arch:{}", arch.khc),
            format!("khc-decision:{}", first.decision),
            format!("khc-reason:{}", first.reason),
        ];

        let words = Words { settings };
        let mut title = words.leaf(tree.first())?;
        if let Tree::Op { op, operands } = tree {
            let more = operands.len() - 1;
            let plural = if more == 1 { "" } else { "s" };
            title.push_str(&match op {
                Op::Or => format!(" (or {more} alternative{plural})"),
                Op::And => format!(" (and {more} more condition{plural})"),
            });
        }

        let mut explanation = format!(
            "kernel-hardening-checker: reason {}, decision {} ({decision_words}).",
            first.reason, first.decision
        );
        if let Tree::Op { .. } = tree {
            let _ = write!(explanation, " The check passes when {}.", words.tree(tree)?);
        }
        let leaves = tree.leaves();
        if leaves.iter().any(|l| matches!(l, Leaf::Cmdline(_))) {
            explanation.push_str(
                " A kernel command-line operand is always false here: packages carry no command \
                 line, so only the other operands can pass.",
            );
        }
        for leaf in &leaves {
            if let Leaf::Kconfig(n) | Leaf::Sysctl(n) = leaf {
                if n.expected == MAX {
                    let bound = words.bound(leaf)?;
                    let _ = write!(
                        explanation,
                        " KHC replaces the desired value MAX of {} with the value of {bound} \
                         and reports that number; the tag keeps MAX. Where the config lacks \
                         {bound}, KHC drops the check and the rule is not applicable.",
                        n.name
                    );
                }
            }
        }

        let assert = match tree {
            Tree::Leaf(leaf) => Assert::Inline(words.operand(leaf)?),
            Tree::Op { op, operands } => {
                let mut body = format!("kind = {}\nof = [\n", string(kind(*op)));
                for o in operands {
                    let _ = writeln!(body, "  {},", words.nested(o, 2)?);
                }
                body.push_str("]\n");
                Assert::Table(body)
            }
        };

        Ok(Rule {
            id,
            title,
            explanation,
            references,
            tags,
            arch: arch.name.clone(),
            assert,
        })
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "[[rule]]");
        let _ = writeln!(out, "id = {}", string(&self.id));
        let _ = writeln!(out, "severity = \"warning\"");
        let _ = writeln!(out, "title = {}", string(&self.title));
        let _ = writeln!(out, "explanation = {}", multiline(&self.explanation));
        out.push_str(&array("references", &self.references));
        out.push_str(&array("tags", &self.tags));
        // Every check is judged on each kernel config of the set.
        let _ = writeln!(out, "paths = [\"/boot/config-*\"]");
        let _ = writeln!(out, "when = {{ arch = {} }}", string(&self.arch));
        match &self.assert {
            Assert::Inline(a) => {
                let _ = writeln!(out, "assert = {a}");
            }
            // The sub-table must come last: every key after it would belong to it.
            Assert::Table(body) => {
                let _ = write!(out, "\n[rule.assert]\n{body}");
            }
        }
    }
}

fn kind(op: Op) -> &'static str {
    match op {
        Op::Or => "any-of",
        Op::And => "all-of",
    }
}

/// Renders leaves and trees as assertions and as prose; knows the MAX bounds.
struct Words<'a> {
    settings: &'a Settings,
}

impl Words<'_> {
    /// The option whose value a MAX leaf must equal.
    fn bound(&self, leaf: &Leaf) -> Result<String> {
        match leaf {
            Leaf::Kconfig(n) => Ok(format!("{}{MAX_SUFFIX}", n.name)),
            Leaf::Sysctl(n) => self
                .settings
                .sysctl_max
                .get(&n.name)
                .cloned()
                .with_context(|| {
                    format!(
                        "sysctl {} wants MAX but [sysctl-max] in {SETTINGS} names no bound for it",
                        n.name
                    )
                }),
            _ => bail!("MAX on a leaf that is neither kconfig nor sysctl"),
        }
    }

    /// A leaf as a one-line inline table.
    fn operand(&self, leaf: &Leaf) -> Result<String> {
        Ok(match leaf {
            Leaf::Kconfig(n) => {
                let value = if n.expected == MAX {
                    format!("{{ same-as = {} }}", string(&self.bound(leaf)?))
                } else {
                    string(&n.expected)
                };
                format!(
                    "{{ kind = \"kconfig\", expect = {{ {} = {value} }} }}",
                    key(&n.name)
                )
            }
            Leaf::Sysctl(n) => {
                let value = if n.expected == MAX {
                    format!("same-as = {}", string(&self.bound(leaf)?))
                } else {
                    format!("allowed = [{}]", string(&n.expected))
                };
                format!(
                    "{{ kind = \"sysctl\", key = {}, {value} }}",
                    string(&n.name)
                )
            }
            Leaf::Cmdline(n) => format!(
                "{{ kind = \"cmdline\", param = {}, expect = {} }}",
                string(&n.name),
                string(&n.expected)
            ),
            Leaf::Version { at_least } => {
                format!(
                    "{{ kind = \"version\", at-least = {} }}",
                    string(&version(at_least))
                )
            }
        })
    }

    /// An operand of a compound at `indent`: a leaf on one line, a compound as an inline table
    /// whose `of` array spans lines (TOML allows newlines inside an array, not between an inline
    /// table's keys).
    fn nested(&self, tree: &Tree, indent: usize) -> Result<String> {
        match tree {
            Tree::Leaf(leaf) => self.operand(leaf),
            Tree::Op { op, operands } => {
                let inner = " ".repeat(indent + 4);
                let mut s = format!("{{ kind = {}, of = [\n", string(kind(*op)));
                for o in operands {
                    let _ = writeln!(s, "{inner}{},", self.nested(o, indent + 4)?);
                }
                let _ = write!(s, "{}] }}", " ".repeat(indent));
                Ok(s)
            }
        }
    }

    /// A leaf in words, as KHC's names and values read.
    fn leaf(&self, leaf: &Leaf) -> Result<String> {
        Ok(match leaf {
            Leaf::Kconfig(n) | Leaf::Sysctl(n) => {
                let name = &n.name;
                match n.expected.as_str() {
                    MAX => format!("{name} equals {}", self.bound(leaf)?),
                    "is not set" | "is present" | "is not off" => format!("{name} {}", n.expected),
                    e if e.len() > 2 && e.starts_with('*') && e.ends_with('*') => {
                        format!("{name} contains {}", &e[1..e.len() - 1])
                    }
                    e => format!("{name} is {e}"),
                }
            }
            Leaf::Cmdline(n) => format!("the kernel command line has {}={}", n.name, n.expected),
            Leaf::Version { at_least } => {
                format!("the kernel version is at least {}", version(at_least))
            }
        })
    }

    /// A tree in words: `any of (A; B; all of (C; D))`.
    fn tree(&self, tree: &Tree) -> Result<String> {
        match tree {
            Tree::Leaf(leaf) => self.leaf(leaf),
            Tree::Op { op, operands } => {
                let parts = operands
                    .iter()
                    .map(|o| self.tree(o))
                    .collect::<Result<Vec<_>>>()?;
                let word = match op {
                    Op::Or => "any of",
                    Op::And => "all of",
                };
                Ok(format!("{word} ({})", parts.join("; ")))
            }
        }
    }
}

fn version(v: &[u32; 3]) -> String {
    format!("{}.{}.{}", v[0], v[1], v[2])
}

/// Lower-case words of `text` joined by `-`: `*yama*` -> `yama`, `net.core.x_y` ->
/// `net-core-x-y`.
pub fn slug(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// `^[a-z0-9]+(-[a-z0-9]+)*$`, the form debgate's rule ids take.
pub fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A TOML basic string.
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML multi-line basic string holding `text` wrapped at `WIDTH` columns. The newline right
/// after the opening quotes is not part of the value (TOML trims it); the wrapping newlines are,
/// which is how the hand-written policies read too.
pub fn multiline(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && line.len() + 1 + word.len() > WIDTH {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    let body: Vec<String> = lines
        .iter()
        .map(|l| {
            let quoted = string(l);
            quoted[1..quoted.len() - 1].to_string()
        })
        .collect();
    format!("\"\"\"\n{}\"\"\"", body.join("\n"))
}

/// A TOML key: bare when it may be, quoted otherwise.
pub fn key(text: &str) -> String {
    let bare = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        text.to_string()
    } else {
        string(text)
    }
}

/// `KEY = [...]` on one line when it fits, else one element a line.
fn array(name: &str, items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| string(s)).collect();
    let one = format!("{name} = [{}]\n", quoted.join(", "));
    if one.len() <= WIDTH + 1 {
        return one;
    }
    let mut s = format!("{name} = [\n");
    for q in quoted {
        let _ = writeln!(s, "    {q},");
    }
    s.push_str("]\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_ids() {
        assert_eq!(slug("*yama*"), "yama");
        assert_eq!(
            slug("net.ipv6.conf.all.accept_ra"),
            "net-ipv6-conf-all-accept-ra"
        );
        assert_eq!(slug("x86_64"), "x86-64");
        assert_eq!(slug("is not set"), "is-not-set");
        assert!(is_kebab("kspp-x86-64-bug"));
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "a.b"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(string("\u{1}\n"), "\"\\u0001\\n\"");
        assert_eq!(key("vm.x"), "\"vm.x\"");
        assert_eq!(key("A_B-1"), "A_B-1");
        let m = multiline("x \"\"\" y");
        let parsed: toml::Table = toml::from_str(&format!("k = {m}")).unwrap();
        assert_eq!(parsed["k"].as_str(), Some("x \"\"\" y"));
    }

    #[test]
    fn long_text_wraps_and_parses_back_with_newlines_for_spaces() {
        let text = "word ".repeat(60);
        let m = multiline(&text);
        assert!(m.lines().all(|l| l.len() <= WIDTH), "{m}");
        let parsed: toml::Table = toml::from_str(&format!("k = {m}")).unwrap();
        let back = parsed["k"].as_str().unwrap().replace('\n', " ");
        assert_eq!(back, text.trim_end());
    }
}
