//! The facts cache: a package's facts and its scripts' analyses stored under its SHA-256 and
//! everything that shaped them ([`Key`]), so that a package seen before is neither downloaded,
//! decoded nor analysed again; only the effective state and the rules run again.
//!
//! The store is a directory of files under the user's cache directory
//! (`$XDG_CACHE_HOME/debgate`, else `~/.cache/debgate`): `objects/ab/abcdef…`, one file per
//! entry, named by its key's id. ARCHITECTURE.md says why a directory and not SQLite. Every
//! entry is written to a temporary file beside it and renamed into place, so a reader sees a
//! whole entry or none, and processes sharing the directory need no lock. An entry is read
//! without following a link, under a size cap, and checked (magic, format, key id, SHA-256 of
//! its payload, decompressed size, decoded form) before anything of it is used; a bad one is
//! removed and counted as a miss, never trusted.
//!
//! The checksum finds damage, not forgery: whoever can write the user's cache directory can
//! write the user's files, and a cache does not defend against its own user.
//!
//! The size stays bounded: an entry larger than [`CacheLimits::max_entry_bytes`] is not stored,
//! a hit touches its entry's modification time, and [`Cache::gc`] removes the least recently
//! used entries until the rest fit a bound. [`Cache::put`] runs it against
//! [`CacheLimits::max_bytes`] each time it has written a sixteenth of that bound.

pub mod entry;
pub mod key;

pub use entry::Corruption;
pub use key::{sha256_of, HashingReader, Key, KeyId, VERSION};

use debgate_facts::{Package, ScriptName};
use debgate_script::Analysis;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use thiserror::Error;

const MIB: u64 = 1024 * 1024;

/// Default for [`CacheLimits::max_bytes`]: 2 GiB. The facts of a whole suite's packages, with
/// the files default rules capture, take a few hundred MiB; an archive mirror's several suites
/// fit with room to spare, and a laptop's cache directory does not fill up.
pub const MAX_BYTES: u64 = 2048 * MIB;

/// Default for [`CacheLimits::max_entry_bytes`]: 64 MiB. The facts of the largest packages
/// (100k files, every file's digest) compress to a few MiB; an entry this large is not stored,
/// and a file this large at an entry's name is not read.
pub const MAX_ENTRY_BYTES: u64 = 64 * MIB;

/// Default for [`CacheLimits::max_decoded_bytes`]: 512 MiB. The JSON of the largest packages'
/// facts is some tens of MiB; this bounds the memory one entry may take when decompressed, and
/// facts whose JSON is larger are not stored.
pub const MAX_DECODED_BYTES: u64 = 512 * MIB;

/// How old a temporary file left in the store must be before [`Cache::gc`] removes it: a write
/// takes milliseconds, so one an hour old was left by a process that died.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// The store's subdirectory of entries, one further level by the id's first two hex digits so
/// that no directory holds more than a few hundred files.
const OBJECTS: &str = "objects";

/// What temporary files are named by, so that `gc` knows them from entries.
const TEMP_PREFIX: &str = ".tmp-";

/// The cache directory tag (<https://bford.info/cachedir/>), so that backup tools skip it.
const CACHEDIR_TAG: &[u8] = b"Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by debgate.\n\
# For information about cache directory tags, see https://bford.info/cachedir/\n";

/// What one entry holds: a package's facts and the analysis of each of its scripts, in the
/// package's script order (as `debgate_pipeline` makes them after a fresh read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub package: Package,
    pub analyses: Vec<(ScriptName, Analysis)>,
}

/// Bounds on the cache. See the `pub const` defaults for the reasoning behind each value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLimits {
    /// Bytes the store's entries may take in all; [`Cache::put`] trims to it as it goes.
    pub max_bytes: u64,
    /// Bytes of one entry on disk.
    pub max_entry_bytes: u64,
    /// Bytes of one entry's payload once decompressed.
    pub max_decoded_bytes: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_bytes: MAX_BYTES,
            max_entry_bytes: MAX_ENTRY_BYTES,
            max_decoded_bytes: MAX_DECODED_BYTES,
        }
    }
}

/// A cache that could not be used, or one entry that could not be read or written.
#[derive(Debug, Error)]
pub enum CacheError {
    #[error("no cache directory: neither XDG_CACHE_HOME nor HOME is set")]
    NoDefaultDir,
    #[error("cache directory {}: {source}", dir.display())]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cache directory {}: not a directory (a symbolic link or other file is in the way)", .0.display())]
    NotDir(PathBuf),
    #[error("cache entry {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("facts not stored: {0}")]
    Encode(#[from] entry::EncodeError),
}

/// What this process's use of the cache came to: what a front end reports after a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub hits: u64,
    /// Lookups that found no usable entry, the corrupt ones included.
    pub misses: u64,
    /// Entries found damaged (see [`Corruption`]), removed and counted as misses.
    pub corrupt: u64,
    pub stored: u64,
    /// Facts not stored because they are over a cap (or an analysis nests too deep to read
    /// back).
    pub too_large: u64,
    /// Lookups and stores that failed on I/O (the package is read as if uncached).
    pub failures: u64,
    /// The last problem (a corrupt entry, a failure), in words, for one warning line.
    pub last_problem: Option<String>,
}

/// What [`Cache::gc`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Entries and their bytes before.
    pub entries: u64,
    pub bytes: u64,
    /// Entries removed, least recently used first, and their bytes.
    pub removed: u64,
    pub removed_bytes: u64,
    /// Temporary files left by a process that died, removed.
    pub stale_temps: u64,
}

impl GcReport {
    /// Entries kept and their bytes.
    pub fn kept(&self) -> (u64, u64) {
        (self.entries - self.removed, self.bytes - self.removed_bytes)
    }
}

/// Entries in the store and their bytes, as [`Cache::usage`] counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub entries: u64,
    pub bytes: u64,
}

/// One cache directory. Shared by the threads of a run (`&Cache` is `Sync`) and by any number
/// of processes.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    limits: CacheLimits,
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    stored: AtomicU64,
    too_large: AtomicU64,
    failures: AtomicU64,
    last_problem: Mutex<Option<String>>,
    /// Bytes written since the last automatic trim.
    written: AtomicU64,
}

impl Cache {
    /// `$XDG_CACHE_HOME/debgate` (when it is an absolute path, as the XDG base directory
    /// specification requires), else `$HOME/.cache/debgate`.
    pub fn default_dir() -> Result<PathBuf, CacheError> {
        default_dir_from(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
    }

    /// The cache in `dir`, created (private to the user) if need be, with the default limits.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Cache, CacheError> {
        Cache::open_with(dir, CacheLimits::default())
    }

    /// [`Cache::open`] with other limits.
    pub fn open_with(dir: impl Into<PathBuf>, limits: CacheLimits) -> Result<Cache, CacheError> {
        let dir = dir.into();
        // The directory the user names may be a link (a cache moved to another disk); nothing
        // inside it is followed.
        private_dir_all(&dir).map_err(|source| CacheError::Dir {
            dir: dir.clone(),
            source,
        })?;
        let objects = dir.join(OBJECTS);
        ensure_dir(&objects)?;
        let tag = dir.join("CACHEDIR.TAG");
        if let Ok(mut f) = OpenOptions::new().write(true).create_new(true).open(&tag) {
            // A missing tag only means backups include the cache.
            let _ = f.write_all(CACHEDIR_TAG);
        }
        Ok(Cache {
            dir,
            limits,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            stored: AtomicU64::new(0),
            too_large: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_problem: Mutex::new(None),
            written: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn limits(&self) -> &CacheLimits {
        &self.limits
    }

    /// Where the entry of `id` is, whether or not it exists.
    pub fn entry_path(&self, id: KeyId) -> PathBuf {
        let name = id.to_string();
        self.dir.join(OBJECTS).join(&name[..2]).join(name)
    }

    /// The facts and analyses stored under `key`, if a whole entry is there. A damaged entry
    /// (or one whose analyses do not fit its package) is removed and counted, and is a miss; an
    /// error is an I/O failure other than a missing entry (also counted), which a caller treats
    /// as a miss too.
    pub fn get(&self, key: &Key) -> Result<Option<Facts>, CacheError> {
        let id = key.id();
        let path = self.entry_path(id);
        match self.read_entry(&path, id) {
            Ok(Ok(package)) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Ok(Some(package))
            }
            Ok(Err(None)) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Ok(Err(Some(corruption))) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                self.corrupt.fetch_add(1, Ordering::Relaxed);
                self.note(format!(
                    "cache entry {} removed: {corruption}",
                    path.display()
                ));
                remove_entry(&path);
                Ok(None)
            }
            Err(source) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                self.failures.fetch_add(1, Ordering::Relaxed);
                let e = CacheError::Io { path, source };
                self.note(e.to_string());
                Err(e)
            }
        }
    }

    /// Read and check one entry: `Ok(Err(None))` when there is none, `Ok(Err(Some(_)))` when it
    /// is damaged.
    fn read_entry(
        &self,
        path: &Path,
        id: KeyId,
    ) -> std::io::Result<Result<Facts, Option<Corruption>>> {
        let shard = path.parent().unwrap_or(path);
        match std::fs::symlink_metadata(shard) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                // A link or file where the shard directory belongs: nothing is read through it.
                remove_entry(shard);
                return Ok(Err(Some(Corruption::NotRegular)));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Err(None)),
            Err(e) => return Err(e),
        }
        let file = OpenOptions::new()
            .read(true)
            // O_NONBLOCK: a FIFO at the entry's name is refused below, never waited on.
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Err(None)),
            // ELOOP: the name is a symbolic link.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Ok(Err(Some(Corruption::NotRegular)))
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(Err(Some(Corruption::NotRegular)));
        }
        let cap = self.limits.max_entry_bytes;
        if meta.len() > cap {
            return Ok(Err(Some(Corruption::TooLarge {
                size: meta.len(),
                cap,
            })));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        // The file may grow after the check above: read no more than the cap either way.
        (&mut file)
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)?;
        let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if read > cap {
            return Ok(Err(Some(Corruption::TooLarge { size: read, cap })));
        }
        match entry::decode(&bytes, id, self.limits.max_decoded_bytes) {
            Ok(package) => {
                // Least recently used is what `gc` removes first. A failed touch only makes
                // the entry look older than it is.
                let _ = file.set_modified(SystemTime::now());
                Ok(Ok(package))
            }
            Err(corruption) => Ok(Err(Some(corruption))),
        }
    }

    /// Store `package`'s facts and its scripts' `analyses` (one per script, in the package's
    /// order, as made under `key`'s limits) under `key`, replacing any entry there at once. A
    /// failure is counted (see [`Stats`]) and returned; the caller goes on without the cache.
    pub fn put(
        &self,
        key: &Key,
        package: &Package,
        analyses: &[(ScriptName, Analysis)],
    ) -> Result<(), CacheError> {
        let result = self.write_entry(key, package, analyses);
        match &result {
            Ok(written) => {
                self.stored.fetch_add(1, Ordering::Relaxed);
                let since = self.written.fetch_add(*written, Ordering::Relaxed) + written;
                if since > self.limits.max_bytes / 16 {
                    self.written.store(0, Ordering::Relaxed);
                    if let Err(e) = self.gc(self.limits.max_bytes) {
                        self.failures.fetch_add(1, Ordering::Relaxed);
                        self.note(e.to_string());
                    }
                }
            }
            Err(e) => {
                match e {
                    CacheError::Encode(
                        entry::EncodeError::TooLarge { .. } | entry::EncodeError::Analyses(_),
                    ) => &self.too_large,
                    _ => &self.failures,
                }
                .fetch_add(1, Ordering::Relaxed);
                self.note(e.to_string());
            }
        }
        result.map(|_| ())
    }

    /// Write one entry; the bytes written.
    fn write_entry(
        &self,
        key: &Key,
        package: &Package,
        analyses: &[(ScriptName, Analysis)],
    ) -> Result<u64, CacheError> {
        let id = key.id();
        let bytes = entry::encode(
            id,
            package,
            analyses,
            self.limits.max_decoded_bytes,
            self.limits.max_entry_bytes,
        )?;
        let path = self.entry_path(id);
        let shard = path.parent().unwrap_or(&path);
        ensure_dir(shard)?;
        let io = |source| CacheError::Io {
            path: path.clone(),
            source,
        };
        // A temporary file in the same directory, renamed over the entry: readers see the old
        // entry or the new one, never part of one, and two processes storing the same key
        // each rename a whole entry. No fsync: an entry a crash cuts short fails its checksum
        // and is read again from the package.
        let mut temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(shard)
            .map_err(io)?;
        temp.write_all(&bytes).map_err(io)?;
        temp.persist(&path).map_err(|e| io(e.error))?;
        Ok(u64::try_from(bytes.len()).unwrap_or(u64::MAX))
    }

    /// This process's counts so far.
    pub fn stats(&self) -> Stats {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            hits: n(&self.hits),
            misses: n(&self.misses),
            corrupt: n(&self.corrupt),
            stored: n(&self.stored),
            too_large: n(&self.too_large),
            failures: n(&self.failures),
            last_problem: self.last_problem.lock().ok().and_then(|p| p.clone()),
        }
    }

    fn note(&self, problem: String) {
        if let Ok(mut last) = self.last_problem.lock() {
            *last = Some(problem);
        }
    }

    /// The entries in the store and their bytes.
    pub fn usage(&self) -> Result<Usage, CacheError> {
        let (entries, _) = self.scan()?;
        Ok(Usage {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.bytes).sum(),
        })
    }

    /// Remove the least recently used entries until the rest take at most `max_bytes`, and
    /// temporary files older than [`STALE_TEMP_AGE`]. Entries another process removes or
    /// replaces meanwhile are taken as they are; nothing but entries and temporary files in
    /// the store's own directories is touched.
    pub fn gc(&self, max_bytes: u64) -> Result<GcReport, CacheError> {
        let (mut entries, stale) = self.scan()?;
        let mut report = GcReport {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.bytes).sum(),
            ..GcReport::default()
        };
        for temp in stale {
            if std::fs::remove_file(&temp).is_ok() {
                report.stale_temps += 1;
            }
        }
        // Oldest use first; the path breaks ties, so that a run is repeatable.
        entries.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
        let mut left = report.bytes;
        for e in entries {
            if left <= max_bytes {
                break;
            }
            match std::fs::remove_file(&e.path) {
                Ok(()) => {
                    report.removed += 1;
                    report.removed_bytes += e.bytes;
                }
                // Another process removed it first: it is gone all the same.
                Err(err) if err.kind() == ErrorKind::NotFound => {
                    report.removed += 1;
                    report.removed_bytes += e.bytes;
                }
                Err(source) => {
                    return Err(CacheError::Io {
                        path: e.path,
                        source,
                    })
                }
            }
            left -= e.bytes;
        }
        Ok(report)
    }

    /// Every entry (a regular file named by an id) in the store, and the stale temporary files.
    fn scan(&self) -> Result<(Vec<Found>, Vec<PathBuf>), CacheError> {
        let objects = self.dir.join(OBJECTS);
        let dir_err = |dir: &Path| {
            let dir = dir.to_path_buf();
            move |source| CacheError::Dir { dir, source }
        };
        let mut found = Vec::new();
        let mut stale = Vec::new();
        let now = SystemTime::now();
        for shard in std::fs::read_dir(&objects).map_err(dir_err(&objects))? {
            let shard = shard.map_err(dir_err(&objects))?;
            // `file_type` does not follow links: a linked shard is not entered.
            if !shard.file_type().is_ok_and(|t| t.is_dir()) || !is_shard_name(&shard.file_name()) {
                continue;
            }
            let shard_path = shard.path();
            let listing = match std::fs::read_dir(&shard_path) {
                Ok(l) => l,
                // Removed by another process's gc meanwhile.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(CacheError::Dir {
                        dir: shard_path,
                        source,
                    })
                }
            };
            for item in listing {
                let Ok(item) = item else { continue };
                let Ok(meta) = item.metadata() else { continue };
                if !meta.is_file() {
                    continue;
                }
                let name = item.file_name();
                let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                if is_entry_name(&name) {
                    found.push(Found {
                        path: item.path(),
                        bytes: meta.len(),
                        used,
                    });
                } else if name.to_string_lossy().starts_with(TEMP_PREFIX)
                    && now.duration_since(used).unwrap_or_default() > STALE_TEMP_AGE
                {
                    stale.push(item.path());
                }
            }
        }
        Ok((found, stale))
    }
}

fn default_dir_from(
    xdg_cache_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf, CacheError> {
    let absolute = |v: Option<std::ffi::OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    match absolute(xdg_cache_home) {
        Some(xdg) => Ok(xdg.join("debgate")),
        None => absolute(home)
            .map(|home| home.join(".cache").join("debgate"))
            .ok_or(CacheError::NoDefaultDir),
    }
}

/// One entry as `scan` finds it.
struct Found {
    path: PathBuf,
    bytes: u64,
    used: SystemTime,
}

fn is_entry_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_shard_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Create `dir` and its parents as needed, those created private to the user (the facts hold
/// captured file text).
fn private_dir_all(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Make sure `dir` is a directory of its own, not a link to one: create it if missing, remove a
/// link or file in its place and create it then.
fn ensure_dir(dir: &Path) -> Result<(), CacheError> {
    let err = |source| CacheError::Dir {
        dir: dir.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(m) if m.is_symlink() || m.is_file() => std::fs::remove_file(dir).map_err(err)?,
        Ok(_) => return Err(CacheError::NotDir(dir.to_path_buf())),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        // Another process or thread made it meanwhile.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => match std::fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => Ok(()),
            _ => Err(CacheError::NotDir(dir.to_path_buf())),
        },
        Err(e) => Err(err(e)),
    }
}

/// Remove what is at an entry's name: a file or a link (never what a link points to). A
/// directory there is left, and the entry stays unreadable: a miss each time.
fn remove_entry(path: &Path) {
    // Already gone, or not ours to remove: a miss either way.
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_dir_follows_xdg_then_home() {
        let d = |x: Option<&str>, h: Option<&str>| {
            default_dir_from(x.map(Into::into), h.map(Into::into)).ok()
        };
        assert_eq!(d(Some("/x"), Some("/h")), Some("/x/debgate".into()));
        // A relative XDG_CACHE_HOME is ignored, as the specification says.
        assert_eq!(d(Some("x"), Some("/h")), Some("/h/.cache/debgate".into()));
        assert_eq!(d(Some(""), Some("/h")), Some("/h/.cache/debgate".into()));
        assert_eq!(d(None, Some("/h")), Some("/h/.cache/debgate".into()));
        assert_eq!(d(None, None), None);
        assert_eq!(d(None, Some("h")), None);
    }
}
