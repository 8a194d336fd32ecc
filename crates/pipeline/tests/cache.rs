//! The facts cache in the pipeline: every fixture package's facts read back equal (through the
//! full stored form and through a cache), a hit reads nothing and takes the caller's label, a
//! failed read stores nothing, and a local file is cached by the bytes it holds.

use debgate_facts::stored::Stored;
use debgate_facts::Package;
use debgate_pipeline::{
    analyze_cached, analyze_file, analyze_file_cached, cache_key, Cache, Cached, Settings,
};
use std::cell::Cell;
use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Every fixture `.deb` of the release sets.
fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for set in std::fs::read_dir(testdata().join("releases")).unwrap() {
        for f in std::fs::read_dir(set.unwrap().path()).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "deb") {
                out.push(f);
            }
        }
    }
    out.sort();
    assert!(out.len() >= 10, "{out:?}");
    out
}

/// Everything captured and hashed, so that every field of the facts is filled somewhere.
fn settings() -> Settings {
    Settings {
        digests: true,
        xz_threads: 1,
        ..Settings::default()
    }
}

fn everything(_: &str) -> bool {
    true
}

#[test]
fn every_fixture_package_reads_back_equal() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path()).unwrap();
    let (mut contents, mut digests) = (0, 0);
    for (i, deb) in fixtures().iter().enumerate() {
        let package = analyze_file(deb, &settings(), &everything).unwrap().package;
        contents += package.contents.len();
        digests += package.digests.len();
        // The full form, as the cache encodes it.
        let text = serde_json::to_string(&package.stored()).unwrap();
        let back: Stored = serde_json::from_str(&text).unwrap();
        assert_eq!(back.into_package().unwrap(), package, "{}", deb.display());
        // The public form reads back too, without what it leaves out.
        let public: Package =
            serde_json::from_str(&serde_json::to_string(&package).unwrap()).unwrap();
        assert_eq!(public.entries, package.entries, "{}", deb.display());
        assert_eq!(public.control, package.control);
        assert_eq!(public.scripts, package.scripts);
        // And through a cache.
        let key = cache_key([i as u8; 32], &settings(), "everything");
        cache.put(&key, &package).unwrap();
        assert_eq!(cache.get(&key).unwrap(), Some(package));
    }
    assert!(contents > 0 && digests > 0, "{contents} {digests}");
}

#[test]
fn a_hit_reads_nothing_and_takes_the_callers_label() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path()).unwrap();
    let s = settings();
    let deb = fixtures().remove(0);
    let key = cache_key([1; 32], &s, "everything");
    let opened = Cell::new(0);
    let open = || {
        opened.set(opened.get() + 1);
        analyze_file(&deb, &s, &everything)
    };
    let (first, how) = analyze_cached(Some(&cache), Some(&key), &deb, &s.limits, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Miss, 1));
    let mirror = Path::new("/srv/other-mirror/pool/x.deb");
    let (again, how) = analyze_cached(Some(&cache), Some(&key), mirror, &s.limits, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Hit, 1), "a hit reads nothing");
    assert_eq!(again.package.file, mirror);
    assert_eq!(
        Package {
            file: deb.clone(),
            ..again.package.clone()
        },
        first.package
    );
    // The analysis, run again on the stored facts, is the one the read gave.
    assert_eq!(again.changes, first.changes);
    assert_eq!(format!("{:?}", again.state), format!("{:?}", first.state));
    assert_eq!(
        format!("{:?}", again.diagnostics),
        format!("{:?}", first.diagnostics)
    );
    // Other settings are another key: read again.
    let other = Settings {
        digests: false,
        ..s.clone()
    };
    let key = cache_key([1; 32], &other, "everything");
    let (_, how) = analyze_cached(Some(&cache), Some(&key), &deb, &s.limits, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Miss, 2));
    // No cache, or no key: read every time.
    let (_, how) = analyze_cached(None, Some(&key), &deb, &s.limits, open).unwrap();
    assert_eq!(how, Cached::Off);
    let (_, how) = analyze_cached(Some(&cache), None, &deb, &s.limits, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Off, 4));
}

#[test]
fn a_failed_read_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path()).unwrap();
    let s = settings();
    let key = cache_key([2; 32], &s, "");
    let r = analyze_cached(Some(&cache), Some(&key), Path::new("x"), &s.limits, || {
        Err::<debgate_pipeline::AnalyzedPackage, _>("not the package Packages lists")
    });
    assert_eq!(r.err(), Some("not the package Packages lists"));
    assert_eq!(cache.get(&key).unwrap(), None);
    assert_eq!(cache.stats().stored, 0);
}

#[test]
fn a_local_file_is_cached_by_the_bytes_it_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path().join("cache")).unwrap();
    let s = settings();
    let debs = fixtures();
    let deb = tmp.path().join("p.deb");
    std::fs::copy(&debs[0], &deb).unwrap();
    let read = |c: Option<&Cache>| analyze_file_cached(&deb, &s, &everything, c, "all").unwrap();
    let (first, how) = read(Some(&cache));
    assert_eq!(how, Cached::Miss);
    let (again, how) = read(Some(&cache));
    assert_eq!(how, Cached::Hit);
    assert_eq!(again.package, first.package);
    // Other bytes at the same path are another package.
    std::fs::copy(&debs[1], &deb).unwrap();
    let (other, how) = read(Some(&cache));
    assert_eq!(how, Cached::Miss);
    assert_ne!(other.package, first.package);
    assert_eq!(read(None).1, Cached::Off);
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.stored, stats.corrupt), (1, 2, 0));
}

#[test]
fn a_label_that_is_not_utf8_is_still_cached() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path().join("cache")).unwrap();
    let s = settings();
    let deb = tmp.path().join(std::ffi::OsStr::from_bytes(b"p\xff.deb"));
    std::fs::copy(&fixtures()[0], &deb).unwrap();
    let read = || analyze_file_cached(&deb, &s, &everything, Some(&cache), "all").unwrap();
    assert_eq!(read().1, Cached::Miss);
    let (hit, how) = read();
    assert_eq!(how, Cached::Hit);
    assert_eq!(hit.package.file, deb);
    assert_eq!(cache.stats().failures, 0);
}
