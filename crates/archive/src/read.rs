//! Packages from apt repositories (`--archive SPEC`) for every command that reads packages:
//! [`Repositories::open`] verifies each repository's chain down to its `Packages` indexes (a
//! chain that does not verify stops the run, as apt stops) and selects the packages to read
//! (`--package GLOB`, `--shard K/N`); [`Repositories::read_each`] reads each one through its
//! index entry's size and SHA-256 check as it streams into the reader (`debgate_pipeline`), so
//! that a package whose bytes are not what the index says is that package's error and the
//! others are still read.

use crate::index::IndexEntry;
use crate::local::{open, Options, Suite, Trust};
use crate::source::load;
use debgate_pipeline::{
    analyze_cached, analyze_reader, cache_key, schedule_each, AnalyzedPackage, Cache, Cached,
    Settings,
};
use debgate_signature::Verifier;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What `--archive` was given.
pub struct ArchiveArgs<'a> {
    /// apt's one-line sources, or `.list` / `.sources` files.
    pub specs: &'a [String],
    /// The archive keyring when a source has no `signed-by=`.
    pub keyring: Option<&'a Path>,
    /// `--package GLOB`: only the packages whose name one of these matches; all when empty.
    pub packages: &'a [String],
    /// `--shard K/N`: only this shard's part of the selected packages.
    pub shard: Option<Shard>,
    /// `--timeout`: how long a connection or a read may wait (the default otherwise).
    pub timeout: Option<std::time::Duration>,
    /// `--retries`: how often a failed download is tried again (the default otherwise).
    pub retries: Option<u32>,
    /// The facts cache's directory (`--cache DIR`, else the user's cache directory), or `None`
    /// for no cache (`--no-cache`).
    pub cache: Option<&'a Path>,
}

/// `--shard K/N`: the K-th of N parts (1-based, as nextest's `--partition hash:K/N`), so that N
/// runners each read a part of one archive and `debgate merge` judges the whole.
///
/// A package's part is a stable hash (SHA-256) of its pairing key, not of its name: the key is
/// what `[[pairing]]` rules make of a name that carries an ABI (a kernel's), so both ABIs of a
/// kernel land in the same part and a sharded `diff` still pairs them. The hash is of bytes
/// only, so every machine and every release of debgate puts a package in the same part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u64,
    pub n: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard takes K/N with 1 <= K <= N (1-based), got `{s}`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Shard {
    /// Whether the package whose pairing key is `key` is in this part (the key: the
    /// `[[pairing]]` key of its name, or the name itself).
    pub fn holds(&self, key: &str) -> bool {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % self.n + 1 == self.k
    }
}

/// The verified repositories and the packages selected from them.
pub struct Repositories {
    suites: Vec<Suite>,
    /// (suite, entry) of each package to read, in index order.
    selected: Vec<(usize, IndexEntry)>,
    /// Each selected package's place among every entry of every index, before `--package`
    /// and `--shard` chose: what puts the packages of N shards back in one run's order.
    ordinals: Vec<usize>,
    /// Index paragraphs that cannot be used, (index, why): each is that package's error.
    pub unusable: Vec<(PathBuf, String)>,
    /// What the user must be told once (a repository read unverified).
    pub notices: Vec<String>,
    /// The facts cache and the fingerprint of what the caller captures. A package whose facts
    /// are stored under its index SHA-256 (with the reader limits, the digests setting and this
    /// fingerprint) is neither downloaded nor decoded; one that is not is read, checked against
    /// its index entry, and only then stored.
    cache: Option<(Cache, String)>,
    /// Packages answered from the cache, and bytes of packages done so far (for progress).
    hits: AtomicUsize,
    bytes_done: AtomicU64,
}

/// How far a read of the selected packages has got, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tick {
    pub done: usize,
    pub total: usize,
    /// Bytes of the packages done, by their index sizes (a cache hit counts its size too).
    pub bytes: u64,
    pub total_bytes: u64,
    /// Packages answered from the facts cache without a download or a decode.
    pub cached: usize,
}

/// One package read from a repository: its label (the path or URL it came from) and the
/// analysis, or why it could not be used.
pub type ReadPackage = (PathBuf, Result<AnalyzedPackage, String>);

impl Repositories {
    /// Open and verify every repository `args` names and select its packages. `Err` is why no
    /// run can happen (a bad SPEC, a chain that does not verify): exit 2, as apt stops.
    /// `shard_key` gives a package name's pairing key (see [`Shard`]); `wants` is the
    /// fingerprint of the content the caller captures, part of each facts cache key. A cache
    /// that cannot be opened is said once in `notices` and the run goes on without it.
    pub fn open(
        args: &ArchiveArgs<'_>,
        shard_key: &dyn Fn(&str) -> String,
        wants: &str,
    ) -> Result<Repositories, String> {
        let mut globs = globset::GlobSetBuilder::new();
        for g in args.packages {
            globs.add(globset::Glob::new(g).map_err(|e| format!("--package {g}: {e}"))?);
        }
        let globs = globs.build().map_err(|e| e.to_string())?;
        let verifier = Verifier::find();
        let mut suites: Vec<Suite> = Vec::new();
        let mut notices = Vec::new();
        for spec in args.specs {
            for source in load(spec).map_err(|e| format!("--archive {spec}: {e}"))? {
                let mut opts = Options::new(args.keyring, verifier.as_ref(), chrono::Utc::now());
                if let Some(t) = args.timeout {
                    opts.timeout = t;
                }
                if let Some(r) = args.retries {
                    opts.retries = r;
                }
                let suite = open(&source, &opts).map_err(|e| e.to_string())?;
                if suite.trust == Trust::Unverified {
                    notices.push(format!(
                        "{}: trusted=yes: nothing in this repository was verified (no signature, no index or package hash is trusted)",
                        source.label()
                    ));
                }
                suites.push(suite);
            }
        }
        let mut selected = Vec::new();
        let mut ordinals = Vec::new();
        let mut unusable = Vec::new();
        let mut ordinal = 0;
        for (s, suite) in suites.iter().enumerate() {
            for index in &suite.indexes {
                for entry in index.entries() {
                    ordinal += 1;
                    match entry {
                        Ok(e) => {
                            let named = args.packages.is_empty() || globs.is_match(&e.package);
                            let in_shard =
                                args.shard.is_none_or(|k| k.holds(&shard_key(&e.package)));
                            if named && in_shard {
                                selected.push((s, e));
                                ordinals.push(ordinal);
                            }
                        }
                        // A paragraph without a usable name has no part: with shards, the
                        // first reports it, so that a merge lists it once.
                        Err(_) if args.shard.is_some_and(|k| k.k != 1) => {}
                        Err(e) => unusable
                            .push((suite.root.join("dists").join(&index.path), e.to_string())),
                    }
                }
            }
        }
        let cache = match args.cache.map(Cache::open).transpose() {
            Ok(c) => c.map(|c| (c, wants.to_string())),
            Err(e) => {
                notices.push(format!("facts cache not used: {e}"));
                None
            }
        };
        Ok(Repositories {
            suites,
            selected,
            ordinals,
            unusable,
            notices,
            cache,
            hits: AtomicUsize::new(0),
            bytes_done: AtomicU64::new(0),
        })
    }

    /// The cache's counts so far, when there is one.
    pub fn cache_stats(&self) -> Option<debgate_pipeline::CacheStats> {
        self.cache.as_ref().map(|(c, _)| c.stats())
    }

    /// Whether every selected package's facts go through the facts cache: there is one, and no
    /// repository was read under `trusted=yes` (whose packages are never cached). A run may
    /// then read the packages once, keep little, and read each again from the cache.
    pub fn caches_every_package(&self) -> bool {
        self.cache.is_some() && self.suites.iter().all(|s| s.trust != Trust::Unverified)
    }

    /// The sum of the selected packages' sizes, as their indexes give them.
    pub fn total_bytes(&self) -> u64 {
        self.selected.iter().map(|(_, e)| e.size).sum()
    }

    /// Package `i`'s place among every entry of the indexes (see `ordinals`).
    pub fn ordinal(&self, i: usize) -> usize {
        self.ordinals[i]
    }

    /// How many packages are selected.
    pub fn len(&self) -> usize {
        self.selected.len()
    }

    pub fn is_empty(&self) -> bool {
        self.selected.is_empty()
    }

    /// Where package `i` comes from, as messages and reports name it.
    pub fn label(&self, i: usize) -> PathBuf {
        let (s, e) = &self.selected[i];
        self.suites[*s].package_label(e)
    }

    /// Read package `i`, keeping the content `want` asks for. The facts count only if the
    /// bytes were the index's: otherwise the package is this error, never judged.
    pub fn read(
        &self,
        i: usize,
        settings: &Settings,
        want: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<AnalyzedPackage, String> {
        let (s, e) = &self.selected[i];
        let label = self.label(i);
        let download = || {
            let mut input = self.suites[*s]
                .open_package(e)
                .map_err(|err| err.to_string())?;
            let analysed = analyze_reader(&label, &mut input, settings, want)
                .map_err(|err| err.to_string())?;
            input
                .finish(&e.sha256)
                .map_err(|m| format!("not the package Packages lists: {m}"))?;
            Ok(analysed)
        };
        // Under `trusted=yes` nothing vouches for the index's SHA-256, so it cannot name facts.
        let cache = self
            .cache
            .as_ref()
            .filter(|_| self.suites[*s].trust != Trust::Unverified);
        let result = match cache {
            Some((cache, wants)) => {
                let key = cache_key(e.sha256, settings, wants);
                analyze_cached(Some(cache), Some(&key), &label, download).map(|(a, how)| {
                    if how == Cached::Hit {
                        self.hits.fetch_add(1, Ordering::Relaxed);
                    }
                    a
                })
            }
            None => download(),
        };
        self.bytes_done.fetch_add(e.size, Ordering::Relaxed);
        result
    }

    /// Whether `label` is one of the selected packages' labels.
    pub fn holds(&self, label: &Path) -> bool {
        (0..self.len()).any(|i| self.label(i) == label)
    }

    /// Read the package labelled `label` again with `opts` (what `diff` does to hash a file
    /// privileged on the other side only), through its index entry's check as the first read
    /// was, never the cache: the bytes must be the index's again.
    pub fn reread(
        &self,
        label: &Path,
        opts: &debgate_reader::ReadOptions<'_>,
    ) -> Result<debgate_facts::Package, String> {
        let i = (0..self.len())
            .find(|&i| self.label(i) == label)
            .ok_or_else(|| format!("{}: not a package of the repositories", label.display()))?;
        let (s, e) = &self.selected[i];
        let mut input = self.suites[*s]
            .open_package(e)
            .map_err(|err| err.to_string())?;
        let package = debgate_reader::read_package_from(
            label.to_path_buf(),
            std::io::BufReader::with_capacity(64 * 1024, &mut input),
            opts,
        )
        .map_err(|err| err.to_string())?;
        input
            .finish(&e.sha256)
            .map_err(|m| format!("not the package Packages lists: {m}"))?;
        Ok(package)
    }

    /// Read every selected package over the cores as `settings` says, handing each to
    /// `sink(i, (label, result))` as it finishes (one at a time, in the order they finish), so
    /// that a caller streaming its output holds one package per reader, not the archive.
    pub fn read_each(
        &self,
        settings: &Settings,
        want: &(dyn Fn(&str) -> bool + Sync),
        sink: &(dyn Fn(usize, ReadPackage) + Sync),
    ) {
        schedule_each(
            self.len(),
            settings,
            &|i, per_package| (self.label(i), self.read(i, per_package, want)),
            sink,
        )
    }

    /// How far reading has got, with `done` packages done.
    pub fn tick(&self, done: usize) -> Tick {
        Tick {
            done,
            total: self.len(),
            bytes: self.bytes_done.load(Ordering::Relaxed),
            total_bytes: self.total_bytes(),
            cached: self.hits.load(Ordering::Relaxed),
        }
    }

    /// [`Repositories::read_each`], kept in the selection's order, telling `progress` how far
    /// it has got after each package.
    pub fn read_all(
        &self,
        settings: &Settings,
        want: &(dyn Fn(&str) -> bool + Sync),
        progress: &(dyn Fn(Tick) + Sync),
    ) -> Vec<ReadPackage> {
        let total = self.len();
        let slots: std::sync::Mutex<Vec<Option<ReadPackage>>> =
            std::sync::Mutex::new((0..total).map(|_| None).collect());
        let done = AtomicUsize::new(0);
        self.read_each(settings, want, &|i, r| {
            if let Ok(mut s) = slots.lock() {
                s[i] = Some(r);
            }
            progress(self.tick(done.fetch_add(1, Ordering::Relaxed) + 1));
        });
        slots
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_one_based_parts_only() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { k: 2, n: 5 }));
        for bad in ["0/5", "6/5", "1/0", "1", "a/b", "1/2/3", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("1-based"), "{bad}: {e}");
        }
    }

    #[test]
    fn shards_partition_the_names() {
        let names: Vec<String> = (0..500).map(|i| format!("pkg{i}")).collect();
        let n = 4;
        let mut counts = vec![0usize; n as usize];
        for name in &names {
            let owners: Vec<u64> = (1..=n).filter(|&k| Shard { k, n }.holds(name)).collect();
            assert_eq!(owners.len(), 1, "{name} is in exactly one part: {owners:?}");
            counts[(owners[0] - 1) as usize] += 1;
        }
        // A hash, not a range: every part gets a fair share of 500 names.
        assert!(counts.iter().all(|&c| c > 80), "{counts:?}");
    }
}
