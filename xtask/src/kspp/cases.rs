//! The `kspp` profile's policy tests, `policies/tests/kspp.toml`, generated with the profile so
//! that every rule has a case it passes and one it fails (`debgate test-policy`).
//!
//! Two kinds of case. First KHC's own verdicts: one case for each of the oracle's configs
//! (`testdata/khc/NAME.config`, judged by KHC into `NAME.khc.json` with `example_sysctls.txt`),
//! expecting of each rule what KHC concluded of its check. Then, for each rule that those leave
//! without a passing or a failing case, synthetic kernels: the generator reads the rule's check
//! tree and pins the options, sysctls and kernel version that make it true (or false), and packs
//! rules whose pins agree into one case per architecture and outcome, opening another case where
//! they conflict. A rule's outcome depends only on what its pins fix, so packing cannot change it.
//!
//! No kernel option is named here: names come from the data files, as for the profile.

use super::{names_seen, rule_id, string, Arch, Checks, Leaf, Named, Op, Settings, Tree, MAX};
use super::{CHECKS, MAX_SUFFIX, SETTINGS};
use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The generated case file.
pub const OUTPUT: &str = "policies/tests/kspp.toml";
/// Where the oracle's configs and verdicts are.
pub const ORACLE: &str = "testdata/khc";
/// KHC's example `sysctl -a` output, which every verdict file was judged with.
const SYSCTLS: &str = "example_sysctls.txt";
/// The oracle's files, as the case file (in policies/tests/) reaches them.
const FROM_CASES: &str = "../../testdata/khc";
/// Where a case's sysctl.d file goes.
const SYSCTL_PATH: &str = "/etc/sysctl.d/99-khc.conf";
/// Package names of the cases' kernels: this, then the config's or case's name.
const PACKAGE_PREFIX: &str = "linux-image-khc-";
/// The kernel version of a synthetic config whose rules do not constrain it.
const DEFAULT_VERSION: [u32; 3] = [6, 12, 0];
/// The bound given to MAX checks, and the value a failing MAX check gets instead.
const BOUND: &str = "32";
const BELOW_BOUND: &str = "28";
/// At most this many ways to satisfy one compound are tried (they multiply under `all of`).
const MAX_ALTERNATIVES: usize = 64;

/// One object of a `NAME.khc.json` verdict file.
#[derive(Debug, Deserialize)]
pub struct Verdict {
    pub option_name: String,
    pub desired_val: String,
    pub check_result_bool: bool,
}

/// One rule of the profile: its id and check.
struct RuleRef<'a> {
    id: String,
    key: (&'a str, &'a str),
    tree: &'a Tree,
}

/// The rules of each architecture, in the profile's order.
fn rules<'a>(
    checks: &'a Checks,
    settings: &'a Settings,
) -> Result<Vec<(&'a Arch, Vec<RuleRef<'a>>)>> {
    let mut out = Vec::new();
    for arch in &settings.arch {
        let list = checks
            .checklists
            .get(&arch.khc)
            .with_context(|| format!("{CHECKS} has no checklist for {}", arch.khc))?;
        let seen = names_seen(list)?;
        let mut rules = Vec::new();
        for tree in list.all() {
            let (Leaf::Kconfig(first) | Leaf::Sysctl(first) | Leaf::Cmdline(first)) = tree.first()
            else {
                bail!("a {} check starts with a version leaf", arch.khc);
            };
            rules.push(RuleRef {
                id: rule_id(settings, arch, first, &seen)?,
                key: (first.name.as_str(), first.expected.as_str()),
                tree,
            });
        }
        out.push((arch, rules));
    }
    Ok(out)
}

/// One oracle config: its name, architecture and KHC's verdicts.
struct Oracle<'a> {
    name: String,
    arch: &'a Arch,
    verdicts: Vec<Verdict>,
}

fn oracles<'a>(root: &Path, settings: &'a Settings) -> Result<Vec<Oracle<'a>>> {
    let dir = root.join(ORACLE);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter_map(|f| f.strip_suffix(".khc.json").map(str::to_string))
        .collect();
    names.sort();
    ensure!(!names.is_empty(), "{ORACLE} holds no *.khc.json");
    let mut out = Vec::new();
    for name in names {
        let path = dir.join(format!("{name}.config"));
        let config =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        // KHC's own way: the architecture whose marker option is `y`.
        let on: Vec<&Arch> = settings
            .arch
            .iter()
            .filter(|a| {
                let want = format!("{}=y", a.option);
                config.lines().any(|l| l.trim() == want)
            })
            .collect();
        let [arch] = on.as_slice() else {
            bail!(
                "{}: {} architecture marker options are `y`, not one",
                path.display(),
                on.len()
            );
        };
        let path = dir.join(format!("{name}.khc.json"));
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let verdicts: Vec<Verdict> =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        out.push(Oracle {
            name,
            arch,
            verdicts,
        });
    }
    Ok(out)
}

/// A kconfig option's pinned state.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KVal {
    Set(String),
    NotSet,
    Absent,
}

/// What a synthetic kernel fixes: options, sysctls, and a range for its version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pins {
    kconfig: BTreeMap<String, KVal>,
    sysctl: BTreeMap<String, String>,
    at_least: [u32; 3],
    below: Option<[u32; 3]>,
}

impl Pins {
    fn empty() -> Pins {
        Pins {
            kconfig: BTreeMap::new(),
            sysctl: BTreeMap::new(),
            at_least: [0, 0, 0],
            below: None,
        }
    }

    fn kconfig(name: &str, v: KVal) -> Pins {
        let mut p = Pins::empty();
        p.kconfig.insert(name.to_string(), v);
        p
    }

    fn set(name: &str, v: &str) -> Pins {
        Pins::kconfig(name, KVal::Set(v.to_string()))
    }

    fn sysctl(key: &str, v: &str) -> Pins {
        let mut p = Pins::empty();
        p.sysctl.insert(key.to_string(), v.to_string());
        p
    }

    /// Both sets of pins at once, unless they disagree.
    fn merge(&self, other: &Pins) -> Option<Pins> {
        let mut out = self.clone();
        for (k, v) in &other.kconfig {
            match out.kconfig.get(k) {
                Some(have) if have != v => return None,
                _ => {
                    out.kconfig.insert(k.clone(), v.clone());
                }
            }
        }
        for (k, v) in &other.sysctl {
            match out.sysctl.get(k) {
                Some(have) if have != v => return None,
                _ => {
                    out.sysctl.insert(k.clone(), v.clone());
                }
            }
        }
        out.at_least = out.at_least.max(other.at_least);
        out.below = match (out.below, other.below) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        out.version().map(|_| out)
    }

    /// A version in the range: the default if it fits, else one just below the upper bound,
    /// else the lowest allowed.
    fn version(&self) -> Option<[u32; 3]> {
        let fits = |v: [u32; 3]| v >= self.at_least && self.below.is_none_or(|b| v < b);
        let below = self.below.map(|b| match b {
            [a, b, c] if c > 0 => [a, b, c - 1],
            [a, b, _] if b > 0 => [a, b - 1, 0],
            [a, _, _] if a > 0 => [a - 1, 99, 0],
            _ => [0, 0, 0],
        });
        [Some(DEFAULT_VERSION), below, Some(self.at_least)]
            .into_iter()
            .flatten()
            .find(|v| fits(*v))
    }
}

/// A value other than `expected`, for a number that must differ.
fn other_number(expected: &str) -> &'static str {
    if expected == "0" {
        "1"
    } else {
        "0"
    }
}

/// The ways (each a set of pins) to make `tree` come out `want`; none when it cannot.
fn ways(tree: &Tree, want: bool, settings: &Settings) -> Result<Vec<Pins>> {
    match tree {
        Tree::Leaf(leaf) => leaf_ways(leaf, want, settings),
        Tree::Op { op, operands } => {
            let any = matches!((op, want), (Op::Or, true) | (Op::And, false));
            if any {
                let mut out = Vec::new();
                for o in operands {
                    out.extend(ways(o, want, settings)?);
                }
                Ok(out)
            } else {
                let mut acc = vec![Pins::empty()];
                for o in operands {
                    let alts = ways(o, want, settings)?;
                    let mut next = Vec::new();
                    for a in &acc {
                        for b in &alts {
                            if let Some(m) = a.merge(b) {
                                if !next.contains(&m) && next.len() < MAX_ALTERNATIVES {
                                    next.push(m);
                                }
                            }
                        }
                    }
                    acc = next;
                }
                Ok(acc)
            }
        }
    }
}

fn leaf_ways(leaf: &Leaf, want: bool, settings: &Settings) -> Result<Vec<Pins>> {
    Ok(match leaf {
        // Packages carry no kernel command line: always false.
        Leaf::Cmdline(_) => {
            if want {
                vec![]
            } else {
                vec![Pins::empty()]
            }
        }
        Leaf::Version { at_least } => {
            let mut p = Pins::empty();
            if want {
                p.at_least = *at_least;
            } else {
                p.below = Some(*at_least);
            }
            vec![p]
        }
        Leaf::Kconfig(Named { name, expected, .. }) => {
            let e = expected.as_str();
            // `# NAME is not set` is present, as KHC has it.
            if let ("is present", true) = (e, want) {
                return Ok(vec![
                    Pins::set(name, "y"),
                    Pins::kconfig(name, KVal::NotSet),
                ]);
            }
            if let ("is not set", true) = (e, want) {
                return Ok(vec![
                    Pins::kconfig(name, KVal::NotSet),
                    Pins::kconfig(name, KVal::Absent),
                ]);
            }
            vec![match (e, want) {
                ("y", true) => Pins::set(name, "y"),
                ("y", false) => Pins::kconfig(name, KVal::NotSet),
                ("is not set", false) => Pins::set(name, "y"),
                ("is present", false) => Pins::kconfig(name, KVal::Absent),
                (MAX, _) => {
                    let bound = format!("{name}{MAX_SUFFIX}");
                    let value = if want { BOUND } else { BELOW_BOUND };
                    Pins::set(name, value)
                        .merge(&Pins::set(&bound, BOUND))
                        .context("MAX")?
                }
                _ if e.len() > 2 && e.starts_with('*') && e.ends_with('*') => {
                    if want {
                        Pins::set(name, &format!("\"{}\"", &e[1..e.len() - 1]))
                    } else {
                        Pins::kconfig(name, KVal::NotSet)
                    }
                }
                _ if e.starts_with("0x") || e.bytes().all(|b| b.is_ascii_digit()) => {
                    Pins::set(name, if want { e } else { other_number(e) })
                }
                _ => bail!("kconfig {name}: no way to write a value of the form `{e}`"),
            }]
        }
        Leaf::Sysctl(Named { name, expected, .. }) => match (expected.as_str(), want) {
            // A sysctl no file sets is not known, so neither true nor false.
            ("is not set", true) => vec![],
            ("is not set", false) => vec![Pins::sysctl(name, "1")],
            (MAX, _) => {
                let bound = settings
                    .sysctl_max
                    .get(name)
                    .with_context(|| format!("{SETTINGS}: no [sysctl-max] bound for {name}"))?;
                let value = if want { BOUND } else { BELOW_BOUND };
                vec![Pins::sysctl(name, value)
                    .merge(&Pins::set(bound, BOUND))
                    .context("MAX")?]
            }
            (e, _) if e.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
                vec![Pins::sysctl(name, if want { e } else { other_number(e) })]
            }
            (e, _) => bail!("sysctl {name}: no way to write a value of the form `{e}`"),
        },
    })
}

/// A synthetic case being packed: its pins and the rules it judges.
struct Synthetic {
    pins: Pins,
    rules: Vec<String>,
}

/// The case file's text, from the inputs under `root`.
pub fn generate(root: &Path) -> Result<String> {
    let (checks, settings) = super::read_inputs(root)?;
    let oracles = oracles(root, &settings)?;
    render(&checks, &settings, &oracles)
}

fn render(checks: &Checks, settings: &Settings, oracles: &[Oracle<'_>]) -> Result<String> {
    let rules = rules(checks, settings)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `cargo xtask kspp` (xtask/src/kspp/cases.rs) from {CHECKS},\n\
         # {SETTINGS} and KHC's verdicts in {ORACLE}/*.khc.json.\n\
         # Do not edit by hand: change those files and regenerate; `cargo xtask kspp --check`\n\
         # fails when this file is stale.\n\
         # `debgate test-policy policies/tests/kspp.toml` runs the cases.\n\
         #\n\
         # First, one case for each config KHC judged: the config and KHC's example sysctls, and\n\
         # for each verdict, the status KHC reached (pass for OK, fail otherwise), paired with\n\
         # the rule by its tag `khc:OPTION=DESIRED` (`khc:OPTION=MAX` where KHC shows the\n\
         # number). Then synthetic kernels for every rule those leave without a passing or a\n\
         # failing case: the options, sysctls and version that make its check true (or false),\n\
         # read from the check's tree, for many rules at once where their settings agree.\n\
         # A kernel command-line operand is always false: no case can make it true.\n\n\
         policy = \"../kspp.toml\""
    );

    // Which rules have a passing, and which a failing, case so far.
    let mut passes: BTreeSet<String> = BTreeSet::new();
    let mut fails: BTreeSet<String> = BTreeSet::new();
    for o in oracles {
        let (_, arch_rules) = rules
            .iter()
            .find(|(a, _)| a.name == o.arch.name)
            .context("an oracle's architecture has no rules")?;
        let by_key: BTreeMap<(&str, &str), &str> =
            arch_rules.iter().map(|r| (r.key, r.id.as_str())).collect();
        let file = format!("{FROM_CASES}/{}.config", o.name);
        let _ = write!(
            out,
            "\n[[case]]\nname = {}\n[[case.package]]\nname = {}\n\
             [[case.package.file]]\npath = {}\ncontent-file = {}\n\
             [[case.package.file]]\npath = {}\ncontent-file = {}\n",
            string(&format!(
                "KHC's verdicts on {} ({}, with {SYSCTLS})",
                o.name, o.arch.name
            )),
            string(&format!("{PACKAGE_PREFIX}{}", o.name.replace('_', "-"))),
            string(&format!("/boot/config-{}", o.name)),
            string(&file),
            string(SYSCTL_PATH),
            string(&format!("{FROM_CASES}/{SYSCTLS}")),
        );
        let mut done = BTreeSet::new();
        for v in &o.verdicts {
            let key = (v.option_name.as_str(), v.desired_val.as_str());
            let id = by_key
                .get(&key)
                .or_else(|| by_key.get(&(v.option_name.as_str(), MAX)))
                .with_context(|| {
                    format!(
                        "{ORACLE}/{}.khc.json: no {} rule for the verdict on {}={}",
                        o.name, o.arch.name, key.0, key.1
                    )
                })?;
            ensure!(
                done.insert(*id),
                "{ORACLE}/{}.khc.json: two verdicts for rule {id}",
                o.name
            );
            let status = if v.check_result_bool {
                passes.insert(id.to_string());
                "pass"
            } else {
                fails.insert(id.to_string());
                "fail"
            };
            expect(&mut out, id, status);
        }
    }

    let mut impossible = Vec::new();
    for (arch, arch_rules) in &rules {
        // Every case fixes the architecture: its marker on, every other one absent.
        let mut base = Pins::set(&arch.option, "y");
        for other in settings.arch.iter().filter(|a| a.name != arch.name) {
            base.kconfig.insert(other.option.clone(), KVal::Absent);
        }
        for (want, have, word) in [(true, &passes, "pass"), (false, &fails, "fail")] {
            let mut cases: Vec<Synthetic> = Vec::new();
            for rule in arch_rules.iter().filter(|r| !have.contains(&r.id)) {
                let alts =
                    ways(rule.tree, want, settings).with_context(|| format!("rule {}", rule.id))?;
                let placed = cases.iter_mut().any(|c| {
                    alts.iter().any(|a| match c.pins.merge(a) {
                        Some(m) => {
                            c.pins = m;
                            c.rules.push(rule.id.clone());
                            true
                        }
                        None => false,
                    })
                });
                if placed {
                    continue;
                }
                match alts.iter().find_map(|a| base.merge(a)) {
                    Some(pins) => cases.push(Synthetic {
                        pins,
                        rules: vec![rule.id.clone()],
                    }),
                    None => impossible.push(format!("{} cannot {word}", rule.id)),
                }
            }
            let n = cases.len();
            for (i, c) in cases.iter().enumerate() {
                synthetic(&mut out, arch, word, i + 1, n, c)?;
            }
        }
    }
    ensure!(
        impossible.is_empty(),
        "no case can be made for: {}",
        impossible.join(", ")
    );
    Ok(out)
}

fn expect(out: &mut String, rule: &str, status: &str) {
    let _ = write!(
        out,
        "[[case.expect]]\nrule = {}\nstatus = \"{status}\"\n",
        string(rule)
    );
}

fn synthetic(
    out: &mut String,
    arch: &Arch,
    word: &str,
    i: usize,
    n: usize,
    case: &Synthetic,
) -> Result<()> {
    let v = case
        .pins
        .version()
        .context("a case's version range is empty")?;
    let version = format!("{}.{}.{}", v[0], v[1], v[2]);
    let mut config = format!("# Linux/{} {version} Kernel Configuration\n", arch.name);
    for (name, val) in &case.pins.kconfig {
        match val {
            KVal::Set(v) => {
                let _ = writeln!(config, "{name}={v}");
            }
            KVal::NotSet => {
                let _ = writeln!(config, "# {name} is not set");
            }
            KVal::Absent => {}
        }
    }
    let slug = super::slug(&arch.name);
    let name = format!("synthetic-{slug}-{word}-{i}");
    let _ = write!(
        out,
        "\n[[case]]\nname = {}\n[[case.package]]\nname = {}\n\
         [[case.package.file]]\npath = {}\ncontent = \"\"\"\n{config}\"\"\"\n",
        string(&format!(
            "synthetic {} kernel {i} of {n} whose rules {word}",
            arch.name
        )),
        string(&format!("{PACKAGE_PREFIX}{name}")),
        string(&format!("/boot/config-{version}-{name}")),
    );
    if !case.pins.sysctl.is_empty() {
        let mut conf = String::new();
        for (k, v) in &case.pins.sysctl {
            let _ = writeln!(conf, "{k} = {v}");
        }
        let _ = write!(
            out,
            "[[case.package.file]]\npath = {}\ncontent = \"\"\"\n{conf}\"\"\"\n",
            string(SYSCTL_PATH)
        );
    }
    for rule in &case.rules {
        expect(out, rule, word);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(json: &str) -> Tree {
        serde_json::from_str(json).unwrap()
    }

    fn settings() -> Settings {
        toml::from_str(
            "reference = \"r\"\n[decisions]\n[policy]\nname = \"p\"\ntitle = \"t\"\n\
             description = \"d\"\n[[arch]]\nkhc = \"A\"\nname = \"a\"\noption = \"OPT_A\"\n\
             [[compiler]]\nname = \"c\"\noption = \"OPT_C\"\nversion = \"OPT_V\"\n",
        )
        .unwrap()
    }

    fn leaf(kind: &str, name: &str, expected: &str) -> String {
        format!(
            r#"{{"type": "{kind}", "name": "{name}", "expected": "{expected}", "reason": "-", "decision": "-"}}"#
        )
    }

    #[test]
    fn pins_merge_unless_they_disagree() {
        let a = Pins::set("OPT_X", "y");
        assert!(a.merge(&Pins::kconfig("OPT_X", KVal::NotSet)).is_none());
        let both = a.merge(&Pins::sysctl("k.x", "1")).unwrap();
        assert_eq!(both.sysctl["k.x"], "1");
        let mut new = Pins::empty();
        new.at_least = [6, 14, 0];
        let mut old = Pins::empty();
        old.below = Some([6, 14, 0]);
        assert_eq!(new.version(), Some([6, 14, 0]));
        assert_eq!(old.version(), Some(DEFAULT_VERSION));
        old.below = Some([5, 9, 0]);
        assert_eq!(old.version(), Some([5, 8, 0]));
        assert!(new.merge(&old).is_none());
    }

    #[test]
    fn ways_follow_the_tree() {
        let s = settings();
        let or = tree(&format!(
            r#"{{"op": "or", "operands": [{}, {}]}}"#,
            leaf("kconfig", "OPT_X", "y"),
            leaf("cmdline", "p", "1")
        ));
        // True: the kconfig operand (the command line is never true); false: both false.
        assert_eq!(ways(&or, true, &s).unwrap(), vec![Pins::set("OPT_X", "y")]);
        assert_eq!(
            ways(&or, false, &s).unwrap(),
            vec![Pins::kconfig("OPT_X", KVal::NotSet)]
        );
        let and = tree(&format!(
            r#"{{"op": "and", "operands": [{}, {}]}}"#,
            leaf("kconfig", "OPT_Y", "is not set"),
            leaf("kconfig", "OPT_Y", "is present")
        ));
        assert_eq!(
            ways(&and, true, &s).unwrap(),
            vec![Pins::kconfig("OPT_Y", KVal::NotSet)]
        );
        let max = tree(&leaf("kconfig", "OPT_B", "MAX"));
        let fail = &ways(&max, false, &s).unwrap()[0];
        assert_eq!(fail.kconfig["OPT_B"], KVal::Set(BELOW_BOUND.into()));
        assert_eq!(fail.kconfig["OPT_B_MAX"], KVal::Set(BOUND.into()));
        assert!(ways(&tree(&leaf("sysctl", "k.x", "is not set")), true, &s)
            .unwrap()
            .is_empty());
    }
}
