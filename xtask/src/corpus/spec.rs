//! The corpus spec: `xtask/corpus.toml` as data, parsed and checked for consistency before
//! anything is fetched.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

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
    /// Paths that must be among `content_changes.changed[].path` (usrmerge aliases folded).
    #[serde(default)]
    pub content_changed: Vec<String>,
    /// Path prefixes each of which some `content_changes.changed[]` entry must have both as
    /// its `path` and as a different `old_path` (content compared across a rename).
    #[serde(default)]
    pub content_renamed: Vec<String>,
    /// `changelog.entries[].version`, exactly and in order, with `changelog.truncated` false.
    pub changelog_versions: Option<Vec<String>>,
    /// Ids that must be among the pair's `references[].id`; a `CVE-` one must also be in the
    /// report's top-level `cves`.
    #[serde(default)]
    pub references: Vec<String>,
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
/// may count, and `content_changed`: the length of `content_changes.changed`.
const PAIR_LISTS: [&str; 11] = [
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
    "content_changed",
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
    pub(super) fn pick<'a>(&self, versions: &'a [String]) -> Option<&'a str> {
        match self {
            VersionPick::Oldest => versions.first(),
            VersionPick::Newest => versions.last(),
            VersionPick::Exact(v) => versions.iter().find(|x| *x == v),
        }
        .map(String::as_str)
    }
}

impl DiffSpec {
    pub(super) fn validate(&self) -> Result<()> {
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
        for p in &self.content_changed {
            if !p.starts_with('/') {
                bail!("{what}: content-changed {p:?} is not an absolute path");
            }
        }
        for p in &self.content_renamed {
            if !p.starts_with('/') {
                bail!("{what}: content-renamed {p:?} is not an absolute path prefix");
            }
        }
        if let Some(versions) = &self.changelog_versions {
            for v in versions {
                // As for old/new: the parser alone would take a word for a version.
                let parsed = v.parse::<debversion::Version>();
                if !v.starts_with(|c: char| c.is_ascii_digit()) || parsed.is_err() {
                    bail!("{what}: changelog-versions {v:?} is not a Debian version");
                }
            }
        }
        for r in &self.references {
            if r.trim().is_empty() || r.trim() != r {
                bail!("{what}: references {r:?} is not an id");
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
    /// Only in the privilege allow-list's runs, not in the corpus set that `[[check]]`
    /// judges: a package whose unresolved-target change would, soundly, make every file rule
    /// of the set fail closed.
    #[serde(default)]
    pub privileges_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckExpect {
    /// `--policy` for the run this result comes from; none: the default set.
    pub policy: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_toml_parses_and_is_consistent() {
        let spec = CorpusSpec::load(&crate::workspace_root()).unwrap();
        assert!(!spec.packages.is_empty());
        assert!(!spec.checks.is_empty());
        assert!(!spec.inspects.is_empty());
        assert!(!spec.diffs.is_empty());
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
        assert!(!bad(
            "old = \"oldest\"\nnew = \"newest\"\nat-least = { content_changed = 1 }"
        ));
        assert!(bad(
            "old = \"oldest\"\nnew = \"newest\"\ncontent-changed = [\"bin/x\"]"
        ));
        assert!(bad(
            "old = \"oldest\"\nnew = \"newest\"\ncontent-renamed = [\"boot/\"]"
        ));
        assert!(bad(
            "old = \"oldest\"\nnew = \"newest\"\nchangelog-versions = [\"latest\"]"
        ));
        assert!(bad(
            "old = \"oldest\"\nnew = \"newest\"\nreferences = [\" CVE-1\"]"
        ));
    }
}
