//! The facts cache in the pipeline: every fixture package's facts and script analyses read back
//! equal (through the full stored form and through a cache), and a hit is the very analysed
//! package a fresh read gives; a hit reads nothing and takes the caller's label, a failed read
//! stores nothing, a local file is cached by the bytes it holds, another analyzer format is
//! another key, and stored analyses that do not fit the package are a miss.

use debgate_facts::stored::Stored;
use debgate_facts::Package;
use debgate_facts::ScriptName;
use debgate_pipeline::{
    analyze_cached, analyze_file, analyze_file_cached, cache_key, AnalyzedPackage, Cache, Cached,
    Settings,
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

/// `hit` is `fresh` in every part the policies and reports use: facts, changes (with their
/// command texts), diagnostics, analyses, effective state (by its Debug text: it has no
/// `PartialEq`, and holds no hash map whose order could differ).
fn assert_same(hit: &AnalyzedPackage, fresh: &AnalyzedPackage, what: &str) {
    assert_eq!(hit.package, fresh.package, "{what}");
    assert_eq!(hit.changes, fresh.changes, "{what}");
    for (h, f) in hit.changes.iter().zip(&fresh.changes) {
        assert_eq!(&*h.command, &*f.command, "{what}");
    }
    assert_eq!(hit.diagnostics, fresh.diagnostics, "{what}");
    assert_eq!(hit.analyses, fresh.analyses, "{what}");
    assert_eq!(
        format!("{:?}", hit.state),
        format!("{:?}", fresh.state),
        "{what}"
    );
}

fn never_read() -> Result<AnalyzedPackage, String> {
    Err("a hit reads nothing".into())
}

#[test]
fn every_fixture_package_reads_back_equal() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path()).unwrap();
    let (mut contents, mut digests, mut changes, mut runs) = (0, 0, 0, 0);
    for (i, deb) in fixtures().iter().enumerate() {
        let fresh = analyze_file(deb, &settings(), &everything).unwrap();
        let package = fresh.package.clone();
        changes += fresh.changes.len();
        runs += fresh
            .analyses
            .iter()
            .map(|(_, a)| a.runs.len())
            .sum::<usize>();
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
        // And through a cache, with the scripts' analyses.
        let key = cache_key([i as u8; 32], &settings(), "everything");
        cache.put(&key, &package, &fresh.analyses).unwrap();
        let facts = cache.get(&key).unwrap().unwrap();
        assert_eq!(facts.package, package, "{}", deb.display());
        assert_eq!(facts.analyses, fresh.analyses, "{}", deb.display());
        // A hit is the analysed package a fresh read gives, built from what was stored.
        let (hit, how) = analyze_cached(Some(&cache), Some(&key), deb, never_read).unwrap();
        assert_eq!(how, Cached::Hit);
        assert_same(&hit, &fresh, &deb.display().to_string());
    }
    assert!(contents > 0 && digests > 0, "{contents} {digests}");
    assert!(changes > 0 && runs > 0, "{changes} {runs}");
    assert_eq!(cache.stats().corrupt, 0);
}

#[test]
fn another_analyzer_format_is_a_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path()).unwrap();
    let s = settings();
    let deb = fixtures().remove(0);
    let opened = Cell::new(0);
    let open = || {
        opened.set(opened.get() + 1);
        analyze_file(&deb, &s, &everything)
    };
    let key = cache_key([3; 32], &s, "everything");
    assert_eq!(key.clone().id(), key.id());
    assert_eq!(
        analyze_cached(Some(&cache), Some(&key), &deb, open)
            .unwrap()
            .1,
        Cached::Miss
    );
    assert_eq!(
        analyze_cached(Some(&cache), Some(&key), &deb, open)
            .unwrap()
            .1,
        Cached::Hit
    );
    let newer = key
        .clone()
        .analysis_format(debgate_script::ANALYSIS_FORMAT + 1);
    assert_ne!(newer.id(), key.id());
    let (_, how) = analyze_cached(Some(&cache), Some(&newer), &deb, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Miss, 2));
}

#[test]
fn stored_analyses_that_do_not_fit_the_package_are_a_miss() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path()).unwrap();
    let s = settings();
    let (deb, fresh) = fixtures()
        .into_iter()
        .map(|d| {
            let a = analyze_file(&d, &s, &everything).unwrap();
            (d, a)
        })
        .find(|(_, a)| !a.analyses.is_empty())
        .expect("a fixture with maintainer scripts");
    let key = cache_key([4; 32], &s, "everything");
    let opened = Cell::new(0);
    let open = || {
        opened.set(opened.get() + 1);
        analyze_file(&deb, &s, &everything)
    };
    // An analysis of a script the package does not have: checksummed, well formed, not trusted.
    let missing = ScriptName::ALL
        .into_iter()
        .find(|n| !fresh.package.scripts.iter().any(|s| s.name == *n))
        .expect("a script the package lacks");
    let mut analyses = fresh.analyses.clone();
    analyses[0].0 = missing;
    for c in &mut analyses[0].1.changes {
        c.script = missing;
    }
    for d in &mut analyses[0].1.diagnostics {
        d.script = missing;
    }
    let bad: [(&str, &[(ScriptName, debgate_script::Analysis)]); 3] = [
        ("another script", &analyses),
        ("no analyses", &[]),
        (
            "one more",
            &[fresh.analyses.clone(), analyses.clone()].concat(),
        ),
    ];
    for (n, (what, analyses)) in bad.into_iter().enumerate() {
        cache.put(&key, &fresh.package, analyses).unwrap();
        let path = cache.entry_path(key.id());
        assert!(path.exists(), "{what}");
        let (again, how) = analyze_cached(Some(&cache), Some(&key), &deb, open).unwrap();
        assert_eq!((how, opened.get()), (Cached::Miss, n + 1), "{what}");
        assert_same(&again, &fresh, what);
        assert_eq!(cache.stats().corrupt, n as u64 + 1, "{what}");
        // The miss stored the package's own analyses in its place.
        let (hit, how) = analyze_cached(Some(&cache), Some(&key), &deb, never_read).unwrap();
        assert_eq!(how, Cached::Hit, "{what}");
        assert_same(&hit, &fresh, what);
    }
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
    let (first, how) = analyze_cached(Some(&cache), Some(&key), &deb, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Miss, 1));
    let mirror = Path::new("/srv/other-mirror/pool/x.deb");
    let (again, how) = analyze_cached(Some(&cache), Some(&key), mirror, open).unwrap();
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
    let (_, how) = analyze_cached(Some(&cache), Some(&key), &deb, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Miss, 2));
    // No cache, or no key: read every time.
    let (_, how) = analyze_cached(None, Some(&key), &deb, open).unwrap();
    assert_eq!(how, Cached::Off);
    let (_, how) = analyze_cached(Some(&cache), None, &deb, open).unwrap();
    assert_eq!((how, opened.get()), (Cached::Off, 4));
}

#[test]
fn a_failed_read_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = Cache::open(tmp.path()).unwrap();
    let s = settings();
    let key = cache_key([2; 32], &s, "");
    let r = analyze_cached(Some(&cache), Some(&key), Path::new("x"), || {
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
