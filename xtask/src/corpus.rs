//! `cargo xtask corpus`: run the release `debgate` on real Debian packages and compare what it
//! says with the expectations in `xtask/corpus.toml`.
//!
//! Packages are fetched with `apt-get download` into `target/corpus/` and reused from there.
//! `apt-get update` runs only when a look-up or a download fails, since a fresh machine (or CI)
//! may have no lists, or lists so old that the archive no longer has the versions they name.
//!
//! Besides the set of `[[package]]`s, each `[[diff]]` names two versions of one package (the
//! oldest and newest that apt offers, say); both are fetched into the same cache, diffed with
//! `debgate diff --format json`, and the report is held to the expectations next to it.

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
    #[serde(rename = "diff", default)]
    pub diffs: Vec<DiffSpec>,
    #[serde(rename = "states", default)]
    pub states: Vec<StatesExpect>,
    #[serde(rename = "synthetic", default)]
    pub synthetic: Vec<SyntheticSpec>,
    #[serde(default)]
    pub bench: BenchSpec,
}

/// One `[[diff]]`: two versions of one apt package and what their diff must say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DiffSpec {
    pub name: String,
    pub old: String,
    pub new: String,
    pub resolve_depends: Option<String>,
    pub why: Option<String>,
    pub version_change: String,
    pub paired_by: String,
    #[serde(default)]
    pub at_most: BTreeMap<String, usize>,
    #[serde(default)]
    pub at_least: BTreeMap<String, usize>,
    #[serde(rename = "verdict", default)]
    pub verdicts: Vec<VerdictExpect>,
    #[serde(rename = "unchanged", default)]
    pub unchanged: Vec<UnchangedExpect>,
}

/// `[[diff.verdict]]`: one rule's verdict transition between the two sides.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VerdictExpect {
    pub rule: String,
    pub transition: Option<String>,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// `[[diff.unchanged]]`: a path whose privileges the diff must not report as changed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UnchangedExpect {
    pub path: String,
    #[serde(default = "privilege_fields")]
    pub fields: Vec<String>,
}

/// The list fields of a diff pair (`pairs[]` in the JSON schema) that `at-most` and `at-least`
/// may count.
const PAIR_LISTS: [&str; 10] = [
    "control",
    "conffiles_added",
    "conffiles_removed",
    "files_added",
    "files_removed",
    "files_moved",
    "metadata",
    "content",
    "kconfig",
    "privileges",
];

/// `metadata[].field` values (README, JSON schema of `debgate diff`).
const METADATA_FIELDS: [&str; 9] = [
    "type",
    "mode",
    "owner",
    "group",
    "setuid",
    "setgid",
    "capabilities",
    "link-target",
    "size",
];

/// What `[[diff.unchanged]]` compares when it gives no `fields`: everything but size and link
/// target, i.e. what a privilege is made of.
fn privilege_fields() -> Vec<String> {
    [
        "type",
        "mode",
        "owner",
        "group",
        "setuid",
        "setgid",
        "capabilities",
    ]
    .map(String::from)
    .to_vec()
}

/// How a `[[diff]]` side names its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionPick {
    Oldest,
    Newest,
    Exact(String),
}

impl VersionPick {
    pub fn parse(text: &str) -> Result<VersionPick> {
        Ok(match text {
            "oldest" => VersionPick::Oldest,
            "newest" => VersionPick::Newest,
            v => {
                // dpkg wants a version to start with a digit (an epoch is digits too); the
                // parser alone would take a misspelt `latest` for one.
                if !v.starts_with(|c: char| c.is_ascii_digit()) {
                    bail!("`{v}` is neither oldest, newest nor a Debian version");
                }
                v.parse::<debversion::Version>().map_err(|e| {
                    anyhow::anyhow!("`{v}` is neither oldest, newest nor a Debian version: {e}")
                })?;
                VersionPick::Exact(v.to_string())
            }
        })
    }

    /// The chosen version among `versions` (sorted oldest first), if there is one.
    fn pick<'a>(&self, versions: &'a [String]) -> Option<&'a str> {
        match self {
            VersionPick::Oldest => versions.first(),
            VersionPick::Newest => versions.last(),
            VersionPick::Exact(v) => versions.iter().find(|x| *x == v),
        }
        .map(String::as_str)
    }
}

impl DiffSpec {
    fn validate(&self) -> Result<()> {
        let what = format!("[[diff]] {}", self.name);
        VersionPick::parse(&self.old).with_context(|| format!("{what}: old"))?;
        VersionPick::parse(&self.new).with_context(|| format!("{what}: new"))?;
        if self.old == self.new {
            bail!("{what}: old and new name the same version `{}`", self.old);
        }
        let one_of = |field: &str, value: &str, allowed: &[&str]| {
            if allowed.contains(&value) {
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "{what}: {field} = {value:?} is not one of {}",
                    allowed.join(", ")
                ))
            }
        };
        one_of(
            "version-change",
            &self.version_change,
            &["upgrade", "downgrade", "same", "unknown"],
        )?;
        for key in self.at_most.keys().chain(self.at_least.keys()) {
            one_of("at-most/at-least key", key, &PAIR_LISTS)?;
        }
        for v in &self.verdicts {
            if let Some(t) = &v.transition {
                let transitions = [
                    "regression",
                    "fixed",
                    "new-coverage",
                    "dropped-coverage",
                    "unchanged",
                ];
                one_of("verdict transition", t, &transitions)?;
            }
            for s in [&v.old, &v.new].into_iter().flatten() {
                one_of("verdict old/new", s, &["pass", "fail", "not-applicable"])?;
            }
        }
        for u in &self.unchanged {
            for f in &u.fields {
                one_of("unchanged fields", f, &METADATA_FIELDS)?;
            }
        }
        Ok(())
    }
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

/// One `[[states]]`: the full set of end states `inspect` must report for one path.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StatesExpect {
    pub package: String,
    pub path: String,
    pub states: Vec<String>,
    pub evidence: Option<String>,
}

/// One `[[synthetic]]`: a corpus package with text put into its postinst, checked as a set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SyntheticSpec {
    pub name: String,
    pub from: String,
    pub postinst_prepend: String,
    pub why: Option<String>,
    #[serde(rename = "check")]
    pub checks: Vec<CheckExpect>,
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
        for d in &spec.diffs {
            d.validate()
                .with_context(|| format!("parsing {}", path.display()))?;
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

/// One side of a fetched `[[diff]]`: the real package (after `resolve-depends`), its version and
/// the `.deb`.
#[derive(Debug, Clone)]
pub struct DiffSide {
    pub package: String,
    pub version: String,
    pub deb: PathBuf,
}

/// Both sides of one `[[diff]]`.
#[derive(Debug, Clone)]
pub struct FetchedDiff {
    pub name: String,
    pub old: DiffSide,
    pub new: DiffSide,
}

/// Everything `fetch_all` fetched. `diffs` follows `CorpusSpec::diffs` one for one; a pair
/// that could not be fetched carries the reason, so the rest of the corpus still runs.
pub struct Fetch {
    pub packages: Vec<Fetched>,
    pub diffs: Vec<Result<FetchedDiff, String>>,
}

/// Why the corpus could not run at all on this machine (not a failure).
pub enum Outcome {
    Skipped(String),
    Ran { passed: usize, failed: usize },
}

/// Talks to apt, running `apt-get update` at most once per xtask run and only on demand.
pub(crate) struct Apt {
    cache: PathBuf,
    updated: bool,
}

impl Apt {
    pub(crate) fn new(cache: PathBuf) -> Apt {
        Apt {
            cache,
            updated: false,
        }
    }

    pub(crate) fn command(program: &str) -> Command {
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

    /// The dependency of metapackage `meta` whose name starts with `prefix`; `version` asks
    /// about that version of the metapackage (`apt-cache depends META=VERSION`) rather than
    /// the candidate.
    fn resolve(&mut self, meta: &str, version: Option<&str>, prefix: &str) -> Result<String> {
        let find = |out: &Output| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Depends:"))
                .map(|d| d.trim().trim_matches(['<', '>']).to_string())
                .find(|d| d.starts_with(prefix) && d != meta)
        };
        let query = match version {
            Some(v) => format!("{meta}={v}"),
            None => meta.to_string(),
        };
        let what = format!("apt-cache depends {query}");
        let out = self.with_update(&what, || {
            let mut c = Command::new("apt-cache");
            c.args(["depends", &query]);
            c
        })?;
        if let Some(name) = find(&out) {
            return Ok(name);
        }
        // The lists may know the metapackage but predate its current dependency.
        if self.update()? {
            let mut c = Command::new("apt-cache");
            let out = c.args(["depends", &query]).output()?;
            if let Some(name) = find(&out) {
                return Ok(name);
            }
        }
        bail!("{query} has no dependency starting with `{prefix}`")
    }

    /// Every version of `package` that the lists offer (`apt-cache madison`), oldest first by
    /// dpkg's ordering. Updates the lists once when they offer none.
    fn versions(&mut self, package: &str) -> Result<Vec<String>> {
        let list = |package: &str| -> Result<Vec<String>> {
            let out = Command::new("apt-cache")
                .args(["madison", package])
                .output()
                .context("running apt-cache madison")?;
            if !out.status.success() {
                bail!(
                    "apt-cache madison {package} failed: {}",
                    tail(&out.stderr, 5)
                );
            }
            sorted_versions(&String::from_utf8_lossy(&out.stdout), package)
        };
        let mut versions = list(package)?;
        if versions.is_empty() && self.update()? {
            versions = list(package)?;
        }
        if versions.is_empty() {
            bail!("apt-cache madison {package} lists no version");
        }
        Ok(versions)
    }

    /// The two versions of `package` that `old` and `new` pick. When the lists lack one (only
    /// one version offered, or an exact version missing), they are updated once and asked again.
    fn pick_pair(
        &mut self,
        package: &str,
        old: &VersionPick,
        new: &VersionPick,
    ) -> Result<(String, String)> {
        loop {
            let versions = self.versions(package)?;
            let picked = (old.pick(&versions), new.pick(&versions));
            if let (Some(o), Some(n)) = picked {
                if o != n {
                    return Ok((o.to_string(), n.to_string()));
                }
            }
            if !self.update()? {
                let offered = versions.join(", ");
                let missing = [old, new].into_iter().find_map(|p| match p {
                    VersionPick::Exact(v) if p.pick(&versions).is_none() => Some(v),
                    _ => None,
                });
                match (missing, picked) {
                    (Some(v), _) => {
                        bail!("apt does not offer {package} {v} (it offers {offered})")
                    }
                    (None, (Some(v), _)) if versions.len() == 1 => bail!(
                        "apt offers only one version of {package} ({v}), and the diff needs \
                         two: add an apt source that has another, such as the security archive"
                    ),
                    (None, (Some(v), _)) => {
                        bail!("old and new both pick {package} {v} (apt offers {offered})")
                    }
                    (None, _) => bail!("no version of {package} to pick (apt offers {offered})"),
                }
            }
        }
    }

    /// A cached `.deb` of `package`, or a fresh download of it: of exactly `version` when given,
    /// else of the candidate (or of the newest cached version, when one is cached).
    pub(crate) fn fetch(&mut self, package: &str, version: Option<&str>) -> Result<PathBuf> {
        let hit = match version {
            Some(v) => cached_version(&self.cache, package, v)?,
            None => cached(&self.cache, package)?,
        };
        if let Some(deb) = hit {
            return Ok(deb);
        }
        let target = match version {
            Some(v) => format!("{package}={v}"),
            None => package.to_string(),
        };
        // Download into a private directory and move the result in, so an interrupted
        // download never leaves a truncated .deb that a later run would take for a cached one.
        let partial = self.cache.join(format!(".partial-{}", std::process::id()));
        fs::create_dir_all(&partial)?;
        let what = format!("apt-get download {target}");
        let result = self.with_update(&what, || {
            let mut c = Apt::command("apt-get");
            c.current_dir(&partial).args(["download", "-q", &target]);
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
            got.with_context(|| format!("apt-get download {target} wrote no file"))
        });
        let _ = fs::remove_dir_all(&partial);
        moved
    }

    /// Both sides of one `[[diff]]`.
    fn fetch_diff(&mut self, d: &DiffSpec) -> Result<FetchedDiff> {
        let old = VersionPick::parse(&d.old)?;
        let new = VersionPick::parse(&d.new)?;
        let (old_version, new_version) = self.pick_pair(&d.name, &old, &new)?;
        let mut side = |version: String| -> Result<DiffSide> {
            let (package, version) = match &d.resolve_depends {
                // The ABI package a metapackage version depends on has a version of its own;
                // apt offers one per ABI name, so its newest is the one that version meant.
                Some(prefix) => {
                    let dep = self.resolve(&d.name, Some(&version), prefix)?;
                    let dep_version = self
                        .versions(&dep)?
                        .pop()
                        .context("no version of the dependency")?;
                    (dep, dep_version)
                }
                None => (d.name.clone(), version),
            };
            let deb = self.fetch(&package, Some(&version))?;
            Ok(DiffSide {
                package,
                version,
                deb,
            })
        };
        let old = side(old_version)?;
        let new = side(new_version)?;
        Ok(FetchedDiff {
            name: d.name.clone(),
            old,
            new,
        })
    }
}

/// The versions in `apt-cache madison PACKAGE` output (`name | version | source` lines), each
/// once, oldest first by dpkg's ordering.
fn sorted_versions(madison: &str, package: &str) -> Result<Vec<String>> {
    let mut versions: Vec<(debversion::Version, String)> = Vec::new();
    for line in madison.lines() {
        let mut cols = line.split('|').map(str::trim);
        let (Some(name), Some(version)) = (cols.next(), cols.next()) else {
            continue;
        };
        if name != package || versions.iter().any(|(_, v)| v == version) {
            continue;
        }
        let parsed = version.parse::<debversion::Version>().map_err(|e| {
            anyhow::anyhow!("apt-cache madison {package}: version `{version}`: {e}")
        })?;
        versions.push((parsed, version.to_string()));
    }
    versions.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(versions.into_iter().map(|(_, v)| v).collect())
}

/// The version in a `.deb` file name as apt-get download writes it (`NAME_VERSION_ARCH.deb`,
/// with the epoch's `:` written `%3a`), when the file is a download of exactly `package`.
fn file_version(file_name: &str, package: &str) -> Option<String> {
    let rest = file_name.strip_prefix(package)?.strip_prefix('_')?;
    let rest = rest.strip_suffix(".deb")?;
    let (version, _arch) = rest.rsplit_once('_')?;
    Some(version.replace("%3a", ":").replace("%3A", ":"))
}

/// The `.deb` files in `cache` downloaded as `package`, with their versions.
fn cached_files(cache: &Path, package: &str) -> Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(cache)? {
        let path = entry?.path();
        let version = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| file_version(n, package));
        if let Some(version) = version {
            found.push((version, path));
        }
    }
    Ok(found)
}

/// The newest cached `.deb` of exactly `package`, by dpkg's version ordering: a `[[diff]]` may
/// have put an older version next to the one the corpus uses.
fn cached(cache: &Path, package: &str) -> Result<Option<PathBuf>> {
    let mut found: Vec<(Option<debversion::Version>, String, PathBuf)> =
        cached_files(cache, package)?
            .into_iter()
            .map(|(v, p)| (v.parse().ok(), v, p))
            .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    Ok(found.pop().map(|(_, _, p)| p))
}

/// The cached `.deb` of `package` at exactly `version`.
fn cached_version(cache: &Path, package: &str, version: &str) -> Result<Option<PathBuf>> {
    Ok(cached_files(cache, package)?
        .into_iter()
        .find(|(v, _)| v == version)
        .map(|(_, p)| p))
}

/// Fetches every corpus package and both sides of every `[[diff]]` (from the cache when
/// present). `None` when there is no apt. A `[[package]]` that cannot be fetched is an error; a
/// `[[diff]]` that cannot be is reported in `Fetch::diffs`.
pub fn fetch_all(root: &Path, spec: &CorpusSpec) -> Result<Option<Fetch>> {
    if !util::on_path("apt-get") {
        return Ok(None);
    }
    let cache = util::target_dir(root).join("corpus");
    fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let mut apt = Apt::new(cache);
    let mut packages = Vec::new();
    for p in &spec.packages {
        let resolved = match &p.resolve_depends {
            Some(prefix) => apt.resolve(&p.name, None, prefix)?,
            None => p.name.clone(),
        };
        let deb = apt.fetch(&resolved, None)?;
        eprintln!("corpus: {} -> {}", p.name, file_name(&deb));
        packages.push(Fetched {
            name: p.name.clone(),
            resolved,
            deb,
        });
    }
    let mut diffs = Vec::new();
    for d in &spec.diffs {
        let fetched = apt.fetch_diff(d).map_err(|e| format!("{e:#}"));
        match &fetched {
            Ok(f) => eprintln!(
                "corpus: diff {}: {} -> {}",
                d.name,
                file_name(&f.old.deb),
                file_name(&f.new.deb)
            ),
            Err(e) => eprintln!("corpus: diff {}: not fetched: {e}", d.name),
        }
        diffs.push(fetched);
    }
    Ok(Some(Fetch { packages, diffs }))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
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
fn judge_checks(
    checks: &[CheckExpect],
    names: &BTreeMap<&str, &str>,
    report: &Value,
    t: &mut Tally,
) {
    let empty = Vec::new();
    let results = report["results"].as_array().unwrap_or(&empty);
    for e in checks {
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

/// The end states `inspect --format json` reports for a path (usrmerge aliases folded), in
/// `testdata/states` notation: `MODE OWNER:GROUP [CAPS]`, `?` for unknown, ` rerun` marked.
fn reported_states(report: &Value, path: &str) -> Option<BTreeSet<String>> {
    let file = report["files"].as_array()?.iter().find(|f| {
        f["path"]
            .as_str()
            .is_some_and(|p| usrmerge_canonical(p) == usrmerge_canonical(path))
    })?;
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    Some(
        file["states"]
            .as_array()?
            .iter()
            .map(|s| {
                let mut t = format!(
                    "{} {}:{}",
                    text(&s["mode"]),
                    text(&s["owner"]),
                    text(&s["group"])
                );
                match s["capabilities"].as_str() {
                    Some("") => {}
                    Some(c) => t.push_str(&format!(" {c}")),
                    None => t.push_str(" ?"),
                }
                if s["rerun"] == true {
                    t.push_str(" rerun");
                }
                t
            })
            .collect(),
    )
}

/// Run a command, failing with its standard error when it exits non-zero.
fn run_ok(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} exited with {}: {}",
            out.status,
            tail(&out.stderr, 5)
        );
    }
    Ok(())
}

/// Build a `[[synthetic]]` package: the corpus package unpacked with `dpkg-deb -R` (test code,
/// in target/; debgate itself never unpacks), its postinst given the text after its first line,
/// and packed again with `dpkg-deb -b`.
fn synthesize(root: &Path, s: &SyntheticSpec, base: &Path) -> Result<PathBuf> {
    let work = root.join("target/corpus-synthetic").join(&s.name);
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("clear {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;
    let tree = work.join("tree");
    run_ok(Command::new("dpkg-deb").arg("-R").arg(base).arg(&tree))?;
    let postinst = tree.join("DEBIAN/postinst");
    let old = fs::read_to_string(&postinst).unwrap_or_else(|_| "#!/bin/sh\n".to_string());
    let (first, rest) = old.split_once('\n').unwrap_or((old.as_str(), ""));
    fs::write(
        &postinst,
        format!("{first}\n{}\n{rest}", s.postinst_prepend.trim_end()),
    )?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&postinst, fs::Permissions::from_mode(0o755))?;
    }
    let deb = work.join(format!("{}.deb", s.name));
    run_ok(
        Command::new("dpkg-deb")
            .args(["-Zxz", "-b"])
            .arg(&tree)
            .arg(&deb),
    )?;
    Ok(deb)
}

/// Judges one `[[diff]]`'s expectations against its `debgate diff --format json` report.
fn judge_diff(d: &DiffSpec, f: &FetchedDiff, report: &Value, t: &mut Tally) {
    let head = format!("diff {} {} -> {}", d.name, f.old.version, f.new.version);
    let empty = Vec::new();
    let list = |v: &Value, key: &str| v[key].as_array().unwrap_or(&empty).clone();

    // Each side is one .deb, so a readable diff has exactly one pair and nothing else.
    let errors = list(report, "errors");
    let pairs = list(report, "pairs");
    let (added, removed) = (list(report, "added"), list(report, "removed"));
    let shape_ok = errors.is_empty() && pairs.len() == 1 && added.is_empty() && removed.is_empty();
    t.record(
        shape_ok,
        &format!("{head}: both sides read and paired"),
        &format!(
            "{} error(s), {} pair(s), {} added, {} removed: {}",
            errors.len(),
            pairs.len(),
            added.len(),
            removed.len(),
            brief(&report["summary"])
        ),
    );
    let Some(pair) = pairs.first() else {
        return;
    };

    let got = pair["version_change"].as_str().unwrap_or("?");
    t.record(
        got == d.version_change,
        &format!("{head}: version change is {}", d.version_change),
        &format!(
            "reported {got} ({} -> {})",
            pair["old_version"], pair["new_version"]
        ),
    );

    let by = pair["paired_by"].as_str().unwrap_or("name");
    t.record(
        by == d.paired_by,
        &format!("{head}: paired by {}", d.paired_by),
        &format!(
            "paired by {by}: {} -> {}",
            pair["old_package"], pair["package"]
        ),
    );

    for (key, max) in &d.at_most {
        let n = list(pair, key).len();
        t.record(
            n <= *max,
            &format!("{head}: at most {max} {key}"),
            &format!("{n} reported, the first: {}", brief(&pair[key][0])),
        );
    }
    for (key, min) in &d.at_least {
        let n = list(pair, key).len();
        t.record(
            n >= *min,
            &format!("{head}: at least {min} {key}"),
            &format!("{n} reported"),
        );
    }

    let verdicts = list(report, "verdicts");
    for e in &d.verdicts {
        let mut what = format!("{head}: verdict {}", e.rule);
        for v in [&e.transition, &e.old, &e.new].into_iter().flatten() {
            what.push(' ');
            what.push_str(v);
        }
        let Some(v) = verdicts.iter().find(|v| v["rule"] == e.rule.as_str()) else {
            t.record(false, &what, "no such rule in verdicts");
            continue;
        };
        let same = |want: &Option<String>, key: &str| {
            want.as_deref().is_none_or(|w| v[key].as_str() == Some(w))
        };
        let ok = same(&e.transition, "transition") && same(&e.old, "old") && same(&e.new, "new");
        t.record(ok, &what, &brief(v));
    }

    for u in &d.unchanged {
        let want = usrmerge_canonical(&u.path);
        let is_it = |p: &Value| p.as_str().is_some_and(|p| usrmerge_canonical(p) == want);
        let mut found: Vec<String> = Vec::new();
        for key in ["files_added", "files_removed"] {
            found.extend(
                list(pair, key)
                    .iter()
                    .filter(|p| is_it(p))
                    .map(|p| format!("{key} {p}")),
            );
        }
        found.extend(
            list(pair, "files_moved")
                .iter()
                .filter(|m| is_it(&m["old"]) || is_it(&m["new"]))
                .map(|m| format!("moved {}", brief(m))),
        );
        found.extend(
            list(pair, "metadata")
                .iter()
                .filter(|m| is_it(&m["path"]))
                .filter(|m| {
                    m["field"]
                        .as_str()
                        .is_some_and(|f| u.fields.iter().any(|x| x == f))
                })
                .map(brief),
        );
        found.extend(
            list(pair, "privileges")
                .iter()
                .filter(|m| is_it(&m["path"]))
                .map(brief),
        );
        t.record(
            found.is_empty(),
            &format!("{head}: {} unchanged ({})", u.path, u.fields.join(", ")),
            &found.join("; "),
        );
    }
}

/// Runs the corpus: fetch, build, check the set, inspect the privilege-granting packages, diff
/// each declared pair of versions.
pub fn run(root: &Path) -> Result<Outcome> {
    let spec = CorpusSpec::load(root)?;
    let Fetch {
        packages: fetched,
        diffs,
    } = match fetch_all(root, &spec) {
        Ok(Some(fetch)) => fetch,
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
            judge_checks(&spec.checks, &names, &report, &mut t);
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

    for e in &spec.states {
        let what = format!("states of {} {}", e.package, e.path);
        let report = inspected.entry(e.package.as_str()).or_insert_with(|| {
            match fetched.iter().find(|f| f.name == e.package) {
                Some(f) => debgate_json(&exe, &["inspect", "--format", "json"], &[&f.deb])
                    .map_err(|err| format!("{err:#}")),
                None => Err("not fetched".to_string()),
            }
        });
        match report {
            Ok(report) => {
                let want: BTreeSet<String> = e.states.iter().cloned().collect();
                let got = reported_states(report, &e.path);
                let detail = format!("expected {want:?}, inspect reports {got:?}");
                t.record(got.as_ref() == Some(&want), &what, &detail);
            }
            Err(err) => t.record(false, &what, err),
        }
    }

    for s in &spec.synthetic {
        let what = format!("synthetic {} from {}", s.name, s.from);
        let Some(base) = fetched.iter().find(|f| f.name == s.from) else {
            t.record(false, &what, "its package was not fetched");
            continue;
        };
        match synthesize(root, s, &base.deb)
            .and_then(|deb| debgate_json(&exe, &["check", "--format", "json"], &[&deb]))
        {
            Ok(report) => {
                let names = BTreeMap::from([(s.from.as_str(), base.resolved.as_str())]);
                judge_checks(&s.checks, &names, &report, &mut t);
            }
            Err(err) => t.record(false, &what, &format!("{err:#}")),
        }
    }

    for (d, fetched) in spec.diffs.iter().zip(&diffs) {
        let f = match fetched {
            Ok(f) => f,
            Err(err) => {
                t.record(false, &format!("diff {}: fetch both versions", d.name), err);
                continue;
            }
        };
        let debs = [f.old.deb.as_path(), f.new.deb.as_path()];
        match debgate_json(&exe, &["diff", "--format", "json"], &debs) {
            Ok(report) => judge_diff(d, f, &report, &mut t),
            Err(err) => t.record(
                false,
                &format!("diff {} {} -> {}", d.name, f.old.version, f.new.version),
                &format!("{err:#}"),
            ),
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
        assert!(!spec.diffs.is_empty());
    }

    #[test]
    fn madison_versions_sort_by_dpkg_order() {
        let madison = "\
 pkg | 2.38.1-5+deb12u10 | http://deb.debian.org/debian bookworm/main amd64 Packages
 pkg | 2.38.1-5+deb12u3 | http://deb.debian.org/debian bookworm/main amd64 Packages
 pkg | 1:1.0-1 | http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
 pkg | 2.38.1-5+deb12u3 | http://deb.debian.org/debian bookworm/main i386 Packages
 pkg-doc | 9.0-1 | http://deb.debian.org/debian bookworm/main amd64 Packages
";
        let v = sorted_versions(madison, "pkg").unwrap();
        assert_eq!(v, ["2.38.1-5+deb12u3", "2.38.1-5+deb12u10", "1:1.0-1"]);
        assert_eq!(VersionPick::Oldest.pick(&v), Some("2.38.1-5+deb12u3"));
        assert_eq!(VersionPick::Newest.pick(&v), Some("1:1.0-1"));
        assert_eq!(
            VersionPick::parse("1:1.0-1").unwrap().pick(&v),
            Some("1:1.0-1")
        );
        assert_eq!(VersionPick::parse("3.0").unwrap().pick(&v), None);
        assert!(VersionPick::parse("not a version!").is_err());
        assert!(sorted_versions("", "pkg").unwrap().is_empty());
    }

    #[test]
    fn cache_files_are_read_by_package_and_version() {
        assert_eq!(
            file_version("pkg_2%3a4.0.2-3_amd64.deb", "pkg").as_deref(),
            Some("2:4.0.2-3")
        );
        assert_eq!(file_version("pkg-ng_1-1_amd64.deb", "pkg"), None);
        assert_eq!(file_version("pkg_1-1_amd64.txt", "pkg"), None);

        let dir = std::env::temp_dir().join(format!("xtask-cache-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for name in [
            "p_1.0-1+deb12u3_amd64.deb",
            "p_1.0-1+deb12u10_amd64.deb",
            "p-extra_9_amd64.deb",
        ] {
            fs::write(dir.join(name), b"").unwrap();
        }
        // By dpkg's order deb12u10 is newer, though it sorts first as a string.
        let newest = cached(&dir, "p").unwrap().unwrap();
        assert!(newest.ends_with("p_1.0-1+deb12u10_amd64.deb"), "{newest:?}");
        let exact = cached_version(&dir, "p", "1.0-1+deb12u3").unwrap().unwrap();
        assert!(exact.ends_with("p_1.0-1+deb12u3_amd64.deb"));
        assert!(cached_version(&dir, "p", "1.0-2").unwrap().is_none());
        fs::remove_dir_all(&dir).unwrap();
    }

    fn diff_spec(toml_text: &str) -> DiffSpec {
        let d: DiffSpec = toml::from_str(toml_text).unwrap();
        d.validate().unwrap();
        d
    }

    fn fetched_diff() -> FetchedDiff {
        let side = |v: &str| DiffSide {
            package: "k".into(),
            version: v.into(),
            deb: PathBuf::from(format!("k_{v}_amd64.deb")),
        };
        FetchedDiff {
            name: "k".into(),
            old: side("1"),
            new: side("2"),
        }
    }

    /// `(passed, failed)` of the diff expectations against `report`.
    fn judge(d: &DiffSpec, report: &Value) -> (usize, usize) {
        let mut t = Tally::default();
        judge_diff(d, &fetched_diff(), report, &mut t);
        (t.passed, t.failed)
    }

    #[test]
    fn diff_expectations_pass_and_fail() {
        let d = diff_spec(
            r#"
            name = "k"
            old = "oldest"
            new = "newest"
            version-change = "upgrade"
            paired-by = "abi"
            at-most = { files_added = 1, privileges = 0 }
            at-least = { content = 1 }
            [[verdict]]
            rule = "r"
            transition = "unchanged"
            new = "pass"
            [[unchanged]]
            path = "/bin/x"
            "#,
        );
        let pair = serde_json::json!({
            "package": "k-2", "old_package": "k-1", "paired_by": "abi",
            "old_version": "1", "new_version": "2", "version_change": "upgrade",
            "control": [], "conffiles_added": [], "conffiles_removed": [],
            "files_added": ["/lib/new"], "files_removed": [], "files_moved": [],
            "metadata": [{"path": "/usr/bin/x", "field": "size", "old": "1", "new": "2"}],
            "content": [{"path": "postinst"}], "kconfig": [], "privileges": []
        });
        let report = |pair: Value| {
            serde_json::json!({
                "errors": [], "added": [], "removed": [], "pairs": [pair], "summary": {},
                "verdicts": [{"rule": "r", "transition": "unchanged", "old": "pass", "new": "pass"}]
            })
        };
        // shape, version, pairing, 2 at-most, 1 at-least, 1 verdict, 1 unchanged.
        assert_eq!(judge(&d, &report(pair.clone())), (8, 0));

        let mut worse = pair.clone();
        worse["paired_by"] = Value::Null;
        worse["version_change"] = "downgrade".into();
        worse["files_added"] = serde_json::json!(["/a", "/b"]);
        worse["metadata"] =
            serde_json::json!([{"path": "/bin/x", "field": "mode", "old": "0755", "new": "4755"}]);
        worse["content"] = serde_json::json!([]);
        assert_eq!(judge(&d, &report(worse)), (3, 5));

        let mut moved = pair.clone();
        moved["files_moved"] = serde_json::json!([{"old": "/usr/bin/x", "new": "/usr/sbin/x"}]);
        assert_eq!(judge(&d, &report(moved)), (7, 1));

        let unpaired = serde_json::json!({
            "errors": [], "added": [{"package": "k-2"}], "removed": [{"package": "k-1"}],
            "pairs": [], "summary": {}, "verdicts": []
        });
        assert_eq!(judge(&d, &unpaired), (0, 1));
    }

    #[test]
    fn diff_specs_are_validated() {
        let bad = |extra: &str| {
            let text = format!(
                "name = \"k\"\nversion-change = \"upgrade\"\npaired-by = \"name\"\n{extra}"
            );
            toml::from_str::<DiffSpec>(&text)
                .map_err(anyhow::Error::from)
                .and_then(|d| d.validate())
                .is_err()
        };
        assert!(!bad("old = \"oldest\"\nnew = \"newest\""));
        assert!(bad("old = \"newest\"\nnew = \"newest\""));
        assert!(bad("old = \"oldest\"\nnew = \"latest\""));
        assert!(bad(
            "old = \"oldest\"\nnew = \"newest\"\nat-most = { filez = 1 }"
        ));
        assert!(bad(
            "old = \"oldest\"\nnew = \"newest\"\n[[verdict]]\nrule = \"r\"\nnew = \"passed\""
        ));
        assert!(bad(
            "old = \"oldest\"\nnew = \"newest\"\n[[unchanged]]\npath = \"/x\"\nfields = [\"perm\"]"
        ));
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
