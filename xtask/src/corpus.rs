//! `cargo xtask corpus`: run the release `debgate` on real Debian packages and compare what it
//! says with the expectations in `xtask/corpus.toml`.
//!
//! Packages are fetched with `apt-get download` into `target/corpus/` and reused from there.
//! `apt-get update` runs only when a look-up or a download fails, since a fresh machine (or CI)
//! may have no lists, or lists so old that the archive no longer has the versions they name.

use crate::util::{self, tail, usrmerge_canonical};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `xtask/corpus.toml`; its header comment documents every field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusSpec {
    #[serde(rename = "package")]
    pub packages: Vec<PackageSpec>,
    #[serde(rename = "check", default)]
    pub checks: Vec<CheckExpect>,
    #[serde(rename = "inspect", default)]
    pub inspects: Vec<InspectExpect>,
    #[serde(default)]
    pub bench: BenchSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageSpec {
    pub name: String,
    pub resolve_depends: Option<String>,
    pub why: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckExpect {
    pub rule: String,
    pub package: Option<String>,
    pub status: String,
    pub message_contains: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InspectExpect {
    pub package: String,
    pub script: String,
    pub action: String,
    pub path: Option<String>,
    pub capabilities: Option<String>,
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub conditional: Option<bool>,
    pub resolved: Option<bool>,
    pub evidence: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BenchSpec {
    pub lintian: Option<String>,
}

impl CorpusSpec {
    pub fn load(root: &Path) -> Result<CorpusSpec> {
        let path = root.join("xtask/corpus.toml");
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let spec: CorpusSpec =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        // Catch typos in package references here rather than as puzzling FAIL lines later.
        let names: BTreeSet<&str> = spec.packages.iter().map(|p| p.name.as_str()).collect();
        let referenced = spec
            .checks
            .iter()
            .filter_map(|c| c.package.as_deref())
            .chain(spec.inspects.iter().map(|i| i.package.as_str()))
            .chain(spec.bench.lintian.as_deref());
        for name in referenced {
            if !names.contains(name) {
                bail!("corpus.toml refers to `{name}`, which no [[package]] fetches");
            }
        }
        Ok(spec)
    }
}

/// One fetched package: its corpus name and, for a metapackage, the real package it resolved to.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub name: String,
    pub resolved: String,
    pub deb: PathBuf,
}

/// Why the corpus could not run at all on this machine (not a failure).
pub enum Outcome {
    Skipped(String),
    Ran { passed: usize, failed: usize },
}

/// Talks to apt, running `apt-get update` at most once per xtask run and only on demand.
struct Apt {
    cache: PathBuf,
    updated: bool,
}

impl Apt {
    fn new(cache: PathBuf) -> Apt {
        Apt {
            cache,
            updated: false,
        }
    }

    fn command(program: &str) -> Command {
        let mut cmd = Command::new(program);
        // As root, apt hands the download to the `_apt` user, which cannot write into our
        // cache and then prints a warning for every file; downloading as root is what happens
        // anyway, so say so and keep the output readable.
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            cmd.args(["-o", "APT::Sandbox::User=root"]);
        }
        cmd
    }

    /// Runs `apt-get update` once. Returns false if it was already tried in this run.
    fn update(&mut self) -> Result<bool> {
        if self.updated {
            return Ok(false);
        }
        self.updated = true;
        eprintln!("corpus: apt-get update (the lists lack a package or name a missing version)");
        let out = Apt::command("apt-get")
            .args(["update", "-q"])
            .output()
            .context("running apt-get update")?;
        if !out.status.success() {
            bail!("apt-get update failed: {}", tail(&out.stderr, 5));
        }
        Ok(true)
    }

    /// Runs `make()` and, if it fails, updates the lists once and runs it again.
    fn with_update(&mut self, what: &str, make: impl Fn() -> Command) -> Result<Output> {
        let mut out = make().output().with_context(|| format!("running {what}"))?;
        if !out.status.success() && self.update()? {
            out = make().output().with_context(|| format!("running {what}"))?;
        }
        if !out.status.success() {
            bail!("{what} failed: {}", tail(&out.stderr, 5));
        }
        Ok(out)
    }

    /// The dependency of metapackage `meta` whose name starts with `prefix`.
    fn resolve(&mut self, meta: &str, prefix: &str) -> Result<String> {
        let find = |out: &Output| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Depends:"))
                .map(|d| d.trim().trim_matches(['<', '>']).to_string())
                .find(|d| d.starts_with(prefix) && d != meta)
        };
        let what = format!("apt-cache depends {meta}");
        let out = self.with_update(&what, || {
            let mut c = Command::new("apt-cache");
            c.args(["depends", meta]);
            c
        })?;
        if let Some(name) = find(&out) {
            return Ok(name);
        }
        // The lists may know the metapackage but predate its current dependency.
        if self.update()? {
            let mut c = Command::new("apt-cache");
            let out = c.args(["depends", meta]).output()?;
            if let Some(name) = find(&out) {
                return Ok(name);
            }
        }
        bail!("{meta} has no dependency starting with `{prefix}`")
    }

    /// A cached `.deb` of `package`, or a fresh download of it.
    fn fetch(&mut self, package: &str) -> Result<PathBuf> {
        if let Some(deb) = cached(&self.cache, package)? {
            return Ok(deb);
        }
        // Download into a private directory and move the result in, so an interrupted
        // download never leaves a truncated .deb that a later run would take for a cached one.
        let partial = self.cache.join(format!(".partial-{}", std::process::id()));
        fs::create_dir_all(&partial)?;
        let what = format!("apt-get download {package}");
        let result = self.with_update(&what, || {
            let mut c = Apt::command("apt-get");
            c.current_dir(&partial).args(["download", "-q", package]);
            c
        });
        let moved = result.and_then(|_| {
            let mut got = None;
            for entry in fs::read_dir(&partial)? {
                let path = entry?.path();
                let file_name = path.file_name().unwrap_or_default().to_owned();
                let dest = self.cache.join(&file_name);
                fs::rename(&path, &dest)?;
                got = Some(dest);
            }
            got.with_context(|| format!("apt-get download {package} wrote no file"))
        });
        let _ = fs::remove_dir_all(&partial);
        moved
    }
}

/// The newest-named cached `.deb` of exactly `package` (`NAME_VERSION_ARCH.deb`).
fn cached(cache: &Path, package: &str) -> Result<Option<PathBuf>> {
    let prefix = format!("{package}_");
    let mut found: Vec<PathBuf> = fs::read_dir(cache)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".deb"))
        })
        .collect();
    found.sort();
    Ok(found.pop())
}

/// Fetches every corpus package (from the cache when present). `None` when there is no apt.
pub fn fetch_all(root: &Path, spec: &CorpusSpec) -> Result<Option<Vec<Fetched>>> {
    if !util::on_path("apt-get") {
        return Ok(None);
    }
    let cache = util::target_dir(root).join("corpus");
    fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let mut apt = Apt::new(cache);
    let mut out = Vec::new();
    for p in &spec.packages {
        let resolved = match &p.resolve_depends {
            Some(prefix) => apt.resolve(&p.name, prefix)?,
            None => p.name.clone(),
        };
        let deb = apt.fetch(&resolved)?;
        eprintln!(
            "corpus: {} -> {}",
            p.name,
            deb.file_name().unwrap_or_default().to_string_lossy()
        );
        out.push(Fetched {
            name: p.name.clone(),
            resolved,
            deb,
        });
    }
    Ok(Some(out))
}

/// Runs `debgate ARGS` and returns its JSON output. Exit 0 and 1 are verdicts; anything else
/// (2: bad input or usage) is an error.
fn debgate_json(exe: &Path, args: &[&str], debs: &[&Path]) -> Result<Value> {
    let out = Command::new(exe)
        .args(args)
        .args(debs)
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let code = out.status.code();
    if !matches!(code, Some(0) | Some(1)) {
        bail!(
            "debgate {} exited {:?}: {}",
            args.join(" "),
            code,
            tail(&out.stderr, 10)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "debgate {} printed no JSON: {}",
            args.join(" "),
            tail(&out.stdout, 5)
        )
    })
}

/// Tallies `ok` / `FAIL` lines.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn record(&mut self, ok: bool, what: &str, detail: &str) {
        if ok {
            self.passed += 1;
            println!("ok   {what}");
        } else {
            self.failed += 1;
            println!("FAIL {what}: {detail}");
        }
    }
}

/// getcap text as a set of (capability, flags) pairs, so `cap_b,cap_a=pe` equals
/// `cap_a,cap_b=ep` and `cap_a+ep` equals `cap_a=ep`.
pub fn caps_set(text: &str) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for clause in text.split_whitespace() {
        let Some(op) = clause.find(['=', '+']) else {
            continue;
        };
        let (names, flags) = clause.split_at(op);
        let mut flags: Vec<char> = flags[1..].to_lowercase().chars().collect();
        flags.sort_unstable();
        let flags: String = flags.into_iter().collect();
        for name in names.split(',').filter(|n| !n.is_empty()) {
            set.insert((name.to_lowercase(), flags.clone()));
        }
    }
    set
}

/// Whether a reported change satisfies every field the expectation gives.
fn change_matches(e: &InspectExpect, c: &Value) -> bool {
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    let b = |k: &str| c.get(k).and_then(Value::as_bool);
    s("script") == Some(e.script.as_str())
        && s("action") == Some(e.action.as_str())
        && e.path.as_deref().is_none_or(|p| {
            s("path").is_some_and(|got| usrmerge_canonical(got) == usrmerge_canonical(p))
        })
        && e.capabilities
            .as_deref()
            .is_none_or(|want| s("capabilities").is_some_and(|got| caps_set(got) == caps_set(want)))
        && e.mode.as_deref().is_none_or(|m| s("mode") == Some(m))
        && e.owner.as_deref().is_none_or(|o| s("owner") == Some(o))
        && e.group.as_deref().is_none_or(|g| s("group") == Some(g))
        && e.conditional.is_none_or(|x| b("conditional") == Some(x))
        && e.resolved.is_none_or(|x| b("resolved") == Some(x))
}

fn describe_inspect(e: &InspectExpect) -> String {
    let mut s = format!("inspect {}: {} {}", e.package, e.script, e.action);
    for v in [&e.path, &e.capabilities, &e.owner, &e.group, &e.mode]
        .into_iter()
        .flatten()
    {
        s.push(' ');
        s.push_str(v);
    }
    if let Some(c) = e.conditional {
        s.push_str(if c {
            " (conditional)"
        } else {
            " (unconditional)"
        });
    }
    s
}

/// Compact one-line form of a result or change for FAIL lines.
fn brief(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Judges the `check` expectations against the results of one `debgate check` run.
fn judge_checks(spec: &CorpusSpec, names: &BTreeMap<&str, &str>, report: &Value, t: &mut Tally) {
    let empty = Vec::new();
    let results = report["results"].as_array().unwrap_or(&empty);
    for e in &spec.checks {
        let package = e
            .package
            .as_deref()
            .map(|p| names.get(p).copied().unwrap_or(p));
        let mut what = format!(
            "check {} on {}: {}",
            e.rule,
            package.unwrap_or("the set"),
            e.status
        );
        if let Some(fragment) = &e.message_contains {
            what.push_str(&format!(", message mentions {fragment:?}"));
        }
        let matching: Vec<&Value> = results
            .iter()
            .filter(|r| r["rule"] == e.rule.as_str() && r["package"].as_str() == package)
            .collect();
        if matching.is_empty() {
            t.record(false, &what, "no such result in the report");
            continue;
        }
        let wrong: Vec<&&Value> = matching
            .iter()
            .filter(|r| r["status"] != e.status.as_str())
            .collect();
        if let Some(r) = wrong.first() {
            t.record(false, &what, &brief(r));
            continue;
        }
        if let Some(fragment) = &e.message_contains {
            let said = matching
                .iter()
                .any(|r| r["message"].as_str().is_some_and(|m| m.contains(fragment)));
            if !said {
                let detail = format!("no message mentions {fragment:?}: {}", brief(matching[0]));
                t.record(false, &what, &detail);
                continue;
            }
        }
        t.record(true, &what, "");
    }
}

/// Runs the corpus: fetch, build, check the set, inspect the privilege-granting packages.
pub fn run(root: &Path) -> Result<Outcome> {
    let spec = CorpusSpec::load(root)?;
    let fetched = match fetch_all(root, &spec) {
        Ok(Some(fetched)) => fetched,
        Ok(None) => return Ok(Outcome::Skipped("apt-get not found".to_string())),
        // With apt-get present, a package that cannot be fetched is a failure, never a skip:
        // otherwise a renamed package or an unreachable mirror would make the corpus pass
        // without checking anything.
        Err(err) => {
            println!("FAIL fetch the corpus packages: {err:#}");
            println!("corpus: 0 passed, 1 failed");
            return Ok(Outcome::Ran {
                passed: 0,
                failed: 1,
            });
        }
    };
    let exe = util::build_release_debgate(root)?;
    let mut t = Tally::default();

    let names: BTreeMap<&str, &str> = fetched
        .iter()
        .map(|f| (f.name.as_str(), f.resolved.as_str()))
        .collect();
    let debs: Vec<&Path> = fetched.iter().map(|f| f.deb.as_path()).collect();

    // One run over the whole corpus: the set-level rules (a kernel anywhere in the set, the
    // effective sysctl value) only mean something when every package is judged together.
    match debgate_json(&exe, &["check", "--format", "json"], &debs) {
        Ok(report) => {
            for p in report["packages"].as_array().into_iter().flatten() {
                if let Some(err) = p.get("error") {
                    t.record(
                        false,
                        &format!("read {}", p["file"].as_str().unwrap_or("?")),
                        &err.to_string(),
                    );
                }
            }
            judge_checks(&spec, &names, &report, &mut t);
        }
        Err(err) => {
            for e in &spec.checks {
                t.record(false, &format!("check {}", e.rule), &format!("{err:#}"));
            }
        }
    }

    let mut inspected: BTreeMap<&str, Result<Value, String>> = BTreeMap::new();
    for e in &spec.inspects {
        let what = describe_inspect(e);
        let report = inspected.entry(e.package.as_str()).or_insert_with(|| {
            let deb = fetched
                .iter()
                .find(|f| f.name == e.package)
                .map(|f| f.deb.as_path());
            match deb {
                Some(deb) => debgate_json(&exe, &["inspect", "--format", "json"], &[deb])
                    .map_err(|err| format!("{err:#}")),
                None => Err("not fetched".to_string()),
            }
        });
        match report {
            Ok(report) => {
                let changes = report["changes"].as_array();
                let found = changes.is_some_and(|cs| cs.iter().any(|c| change_matches(e, c)));
                let detail = match changes {
                    Some(cs) => {
                        let same: Vec<String> = cs
                            .iter()
                            .filter(|c| c["action"] == e.action.as_str())
                            .map(brief)
                            .collect();
                        format!(
                            "reported {} change(s) of that action: {}",
                            same.len(),
                            same.join("; ")
                        )
                    }
                    None => "no `changes` array".to_string(),
                };
                t.record(found, &what, &detail);
            }
            Err(err) => t.record(false, &what, err),
        }
    }

    println!("corpus: {} passed, {} failed", t.passed, t.failed);
    Ok(Outcome::Ran {
        passed: t.passed,
        failed: t.failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_compare_as_sets() {
        assert_eq!(caps_set("cap_a,cap_b=ep"), caps_set("cap_b,cap_a=pe"));
        assert_eq!(caps_set("cap_a+ep"), caps_set("cap_a=ep"));
        assert_ne!(caps_set("cap_a=ep"), caps_set("cap_a=eip"));
        assert_eq!(caps_set("CAP_A=EP"), caps_set("cap_a=ep"));
    }

    #[test]
    fn corpus_toml_parses_and_is_consistent() {
        let spec = CorpusSpec::load(&crate::workspace_root()).unwrap();
        assert!(!spec.packages.is_empty());
        assert!(!spec.checks.is_empty());
        assert!(!spec.inspects.is_empty());
    }

    #[test]
    fn change_matching_uses_every_given_field() {
        let e = InspectExpect {
            package: "p".into(),
            script: "postinst".into(),
            action: "setcap".into(),
            path: Some("/bin/x".into()),
            capabilities: Some("cap_net_raw=ep".into()),
            mode: None,
            owner: None,
            group: None,
            conditional: Some(true),
            resolved: None,
            evidence: None,
        };
        let c = serde_json::json!({"script": "postinst", "action": "setcap", "path": "/usr/bin/x",
            "capabilities": "cap_net_raw+ep", "conditional": true, "resolved": true});
        assert!(change_matches(&e, &c));
        let c2 = serde_json::json!({"script": "postinst", "action": "setcap", "path": "/usr/bin/x",
            "capabilities": "cap_net_raw+ep", "conditional": false});
        assert!(!change_matches(&e, &c2));
    }
}
