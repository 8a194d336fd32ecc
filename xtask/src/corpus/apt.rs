//! Fetching the corpus with apt: `apt-get download` into a cache under `target/corpus/`, reused
//! from there, with `apt-get update` run only when a look-up or a download fails.

use super::spec::{CorpusSpec, DiffSpec, VersionPick};
use crate::util::{self, tail};
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
