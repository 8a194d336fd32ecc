//! The facts cache as its callers use it: hits and misses, what makes a key another key, damaged
//! entries of every kind (each removed, a miss, never a wrong package), atomic writes, the
//! least-recently-used bound, and concurrent stores.

use debgate_cache::{Cache, CacheLimits, Key};
use debgate_facts::{Content, FileDigest, Hashed, Md5sums, Package};
use debgate_reader::Limits;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A package with captured bytes and digests, so that what the public JSON leaves out is
/// stored too.
fn package(name: &str) -> Package {
    Package {
        file: format!("pool/{name}.deb").into(),
        control: debgate_facts::Control {
            fields: vec![("Package".into(), name.into())],
        },
        contents: BTreeMap::from([(
            "/etc/x.conf".into(),
            Content {
                bytes: format!("{name} = 1\n").into_bytes(),
                truncated: false,
            },
        )]),
        md5sums: Md5sums::Absent,
        digests: BTreeMap::from([(
            "/usr/bin/x".into(),
            FileDigest {
                md5: [1; 16],
                sha256: [2; 32],
            },
        )]),
        hashed: Some(Hashed::AllNoMd5sums),
        ..Package::default()
    }
}

fn key(n: u8) -> Key {
    Key::new([n; 32]).wants("w").limits(&Limits::default())
}

fn open(dir: &Path) -> Cache {
    Cache::open(dir.join("cache")).unwrap()
}

/// Every file in the store's shard directories, by name.
fn files(cache: &Cache) -> Vec<String> {
    let mut out = Vec::new();
    for shard in std::fs::read_dir(cache.dir().join("objects")).unwrap() {
        for f in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            out.push(f.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

#[test]
fn a_stored_package_is_a_hit_and_an_unknown_one_a_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    assert_eq!(cache.get(&key(1)).unwrap(), None);
    cache.put(&key(1), &package("a"), &[]).unwrap();
    assert_eq!(
        cache.get(&key(1)).unwrap().map(|f| f.package),
        Some(package("a"))
    );
    assert_eq!(cache.get(&key(2)).unwrap(), None);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.stored), (1, 2, 1));
    assert_eq!((stats.corrupt, stats.failures, stats.too_large), (0, 0, 0));
    // Another process (another `Cache`) sees it too.
    assert_eq!(
        open(tmp.path()).get(&key(1)).unwrap().map(|f| f.package),
        Some(package("a"))
    );
    // The directory is tagged for backup tools and private.
    assert!(cache.dir().join("CACHEDIR.TAG").is_file());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(cache.dir()).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}

#[test]
fn whatever_shaped_the_facts_is_part_of_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    cache.put(&key(1), &package("a"), &[]).unwrap();
    let limits = Limits {
        max_content_bytes: 4096,
        ..Limits::default()
    };
    let others = [
        ("package", key(2)),
        ("limits", key(1).limits(&limits)),
        ("wanted content", key(1).wants("w2")),
        ("digests", key(1).digests(true)),
        (
            "facts format",
            key(1).format(debgate_facts::stored::FACTS_FORMAT + 1),
        ),
        (
            "analysis format",
            key(1).analysis_format(debgate_script::ANALYSIS_FORMAT + 1),
        ),
        ("version", key(1).version("0.0.0-old")),
    ];
    for (what, other) in &others {
        assert_eq!(cache.get(other).unwrap(), None, "{what}");
    }
    // The misses removed nothing: the original key still hits.
    assert_eq!(
        cache.get(&key(1)).unwrap().map(|f| f.package),
        Some(package("a"))
    );
    assert_eq!(cache.stats().corrupt, 0);
}

/// Damage the entry of `key(1)` with `damage`, then look it up: a miss, the entry gone, counted.
fn damaged(damage: &dyn Fn(&Cache, &Path)) -> debgate_cache::Stats {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open_with(
        tmp.path().join("cache"),
        CacheLimits {
            max_entry_bytes: 1 << 20,
            ..CacheLimits::default()
        },
    )
    .unwrap();
    cache.put(&key(1), &package("a"), &[]).unwrap();
    let path = cache.entry_path(key(1).id());
    damage(&cache, &path);
    assert_eq!(cache.get(&key(1)).unwrap(), None);
    assert!(
        std::fs::symlink_metadata(&path).is_err(),
        "a damaged entry is removed"
    );
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.corrupt), (0, 1, 1));
    assert!(stats.last_problem.is_some());
    // A store afterwards works as usual.
    cache.put(&key(1), &package("a"), &[]).unwrap();
    assert_eq!(
        cache.get(&key(1)).unwrap().map(|f| f.package),
        Some(package("a"))
    );
    stats
}

#[test]
fn a_truncated_entry_is_a_miss() {
    for keep in [0, 10, 84, 100] {
        damaged(&|_, path| {
            let bytes = std::fs::read(path).unwrap();
            std::fs::write(path, &bytes[..keep.min(bytes.len() - 1)]).unwrap();
        });
    }
}

#[test]
fn an_entry_with_any_byte_flipped_is_a_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    cache.put(&key(1), &package("a"), &[]).unwrap();
    let len = std::fs::read(cache.entry_path(key(1).id())).unwrap().len();
    for at in (0..len).step_by(7).chain([len - 1]) {
        damaged(&|_, path| {
            let mut bytes = std::fs::read(path).unwrap();
            bytes[at] ^= 0x20;
            std::fs::write(path, bytes).unwrap();
        });
    }
}

#[test]
fn another_keys_entry_at_this_keys_name_is_a_miss() {
    damaged(&|cache, path| {
        cache.put(&key(2), &package("b"), &[]).unwrap();
        std::fs::copy(cache.entry_path(key(2).id()), path).unwrap();
    });
}

#[test]
fn a_symlink_at_an_entry_is_never_followed() {
    damaged(&|cache, path| {
        // The link leads to a whole entry of this very key: still not read through it.
        let elsewhere = cache.dir().join("elsewhere");
        std::fs::rename(path, &elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, path).unwrap();
    });
    // The link is removed, not what it leads to.
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    let target = tmp.path().join("precious");
    std::fs::write(&target, b"keep me").unwrap();
    let path = cache.entry_path(key(1).id());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert_eq!(cache.get(&key(1)).unwrap(), None);
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    assert!(std::fs::symlink_metadata(&path).is_err());
}

#[test]
fn a_symlinked_shard_directory_is_never_entered() {
    damaged(&|cache, path| {
        let shard = path.parent().unwrap();
        let moved = cache.dir().join("moved-shard");
        std::fs::rename(shard, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, shard).unwrap();
    });
}

#[test]
fn an_oversized_entry_is_a_miss_and_not_read() {
    damaged(&|_, path| {
        let f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        // Sparse: over the 1 MiB cap without writing it.
        f.set_len(2 << 20).unwrap();
    });
}

#[test]
fn a_fifo_at_an_entry_is_a_miss_and_never_waited_on() {
    damaged(&|_, path| {
        std::fs::remove_file(path).unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    });
}

#[test]
fn an_entry_over_the_cap_is_not_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = CacheLimits {
        max_entry_bytes: 200,
        ..CacheLimits::default()
    };
    let cache = Cache::open_with(tmp.path().join("cache"), limits).unwrap();
    let mut big = package("a");
    // Random bytes, which zstd cannot shrink below the cap.
    let mut rng = fastrand::Rng::with_seed(7);
    big.contents.get_mut("/etc/x.conf").unwrap().bytes =
        std::iter::repeat_with(|| rng.u8(..)).take(4096).collect();
    assert!(cache.put(&key(1), &big, &[]).is_err());
    assert_eq!(cache.stats().too_large, 1);
    assert_eq!(cache.stats().stored, 0);
    assert!(files(&cache).is_empty(), "{:?}", files(&cache));
    // The decoded cap refuses too, before anything is compressed past it.
    let cache = Cache::open_with(
        tmp.path().join("cache2"),
        CacheLimits {
            max_decoded_bytes: 100,
            ..CacheLimits::default()
        },
    )
    .unwrap();
    assert!(cache.put(&key(1), &package("a"), &[]).is_err());
    assert_eq!(cache.stats().too_large, 1);
}

#[test]
fn writes_go_through_a_temporary_name_and_readers_see_whole_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    let mut big = package("a");
    big.contents.get_mut("/etc/x.conf").unwrap().bytes = vec![b'x'; 512 * 1024];
    cache.put(&key(1), &big, &[]).unwrap();
    // Rewrites and reads at once: every read is the whole entry, never a part.
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..30 {
                cache.put(&key(1), &big, &[]).unwrap();
            }
        });
        s.spawn(|| {
            for _ in 0..30 {
                assert_eq!(
                    cache.get(&key(1)).unwrap().map(|f| f.package).as_ref(),
                    Some(&big)
                );
            }
        });
    });
    assert_eq!(cache.stats().corrupt, 0);
    // Nothing but the entry is left behind.
    assert_eq!(files(&cache), [key(1).id().to_string()]);
}

#[test]
fn a_temporary_file_is_never_an_entry_and_gc_removes_stale_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    cache.put(&key(1), &package("a"), &[]).unwrap();
    let shard = cache.entry_path(key(1).id());
    let shard = shard.parent().unwrap();
    let fresh = shard.join(".tmp-fresh");
    let stale = shard.join(".tmp-stale");
    for t in [&fresh, &stale] {
        std::fs::write(t, b"half an entry").unwrap();
    }
    let old = SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    assert_eq!(cache.usage().unwrap().entries, 1);
    let report = cache.gc(u64::MAX).unwrap();
    assert_eq!(
        (report.entries, report.removed, report.stale_temps),
        (1, 0, 1)
    );
    assert!(fresh.exists(), "a write in progress is left alone");
    assert!(!stale.exists());
}

fn set_used(cache: &Cache, key: &Key, secs_ago: u64) {
    std::fs::File::options()
        .write(true)
        .open(cache.entry_path(key.id()))
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
        .unwrap();
}

#[test]
fn gc_removes_the_least_recently_used_entries_down_to_the_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    for n in 1..=4 {
        cache.put(&key(n), &package("a"), &[]).unwrap();
        // Entry 1 is the oldest, 4 the newest.
        set_used(&cache, &key(n), 1000 - u64::from(n) * 100);
    }
    // A hit makes entry 1 the most recently used.
    assert!(cache.get(&key(1)).unwrap().is_some());
    let usage = cache.usage().unwrap();
    assert_eq!(usage.entries, 4);
    let one = usage.bytes / 4;
    let report = cache.gc(2 * one + one / 2).unwrap();
    assert_eq!((report.entries, report.removed), (4, 2));
    assert!(report.kept().1 <= 2 * one + one / 2);
    assert_eq!(cache.usage().unwrap().entries, 2);
    let kept: Vec<u8> = (1..=4)
        .filter(|&n| cache.entry_path(key(n).id()).exists())
        .collect();
    assert_eq!(kept, [1, 4]);
    // A bound everything fits removes nothing; zero removes everything.
    assert_eq!(cache.gc(u64::MAX).unwrap().removed, 0);
    assert_eq!(cache.gc(0).unwrap().removed, 2);
    assert_eq!(cache.usage().unwrap(), debgate_cache::Usage::default());
}

#[test]
fn put_keeps_the_store_near_its_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let probe = open(&tmp.path().join("probe"));
    probe.put(&key(0), &package("a"), &[]).unwrap();
    let one = probe.usage().unwrap().bytes;
    let max = 4 * one;
    let cache = Cache::open_with(
        tmp.path().join("cache"),
        CacheLimits {
            max_bytes: max,
            ..CacheLimits::default()
        },
    )
    .unwrap();
    for n in 1..=20 {
        cache.put(&key(n), &package("a"), &[]).unwrap();
        // Past a sixteenth of the bound written, each store trims: never more than the bound
        // and the one entry written since.
        assert!(cache.usage().unwrap().bytes <= max + one, "after {n}");
    }
}

#[test]
fn threads_storing_one_key_at_once_leave_one_whole_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = open(tmp.path());
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10 {
                    cache.put(&key(1), &package("a"), &[]).unwrap();
                    assert!(cache.get(&key(1)).unwrap().is_some());
                }
            });
        }
    });
    let stats = cache.stats();
    assert_eq!((stats.stored, stats.hits, stats.corrupt), (80, 80, 0));
    assert_eq!(files(&cache), [key(1).id().to_string()]);
}

#[test]
fn a_cache_directory_in_the_way_of_a_file_is_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let e = Cache::open(&file).unwrap_err();
    assert!(e.to_string().contains("cache directory"), "{e}");
}
