//! A repository served over loopback HTTP by a server that misbehaves on request
//! (`debgate_testkeys::server`), read as apt reads it: the same result as from disk when all is
//! well, and for each network fault its own outcome: a retry, a resumed download, or one clear
//! error for the index or the package it hit. Timeouts are 1 s and pauses milliseconds, so
//! every test is quick.

use chrono::{DateTime, Duration, Utc};
use debgate_archive::index::IndexEntry;
use debgate_archive::local::{open, ArchiveError, Options, Suite, Trust};
use debgate_archive::source::parse_line;
use debgate_archive::verify::Mismatch;
use debgate_signature::Verifier;
use debgate_testkeys::server::{Fault, Server};
use debgate_testkeys::{gpg_available, gpgv, Key};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tempfile::TempDir;

mod common;

/// How the suite is signed.
#[derive(Clone, Copy, PartialEq)]
enum Signed {
    InRelease,
    /// `Release` and `Release.gpg`, no `InRelease`.
    Detached,
}

/// A small package and a large one (large enough that a cut connection leaves a part to
/// resume), and the size of the large one.
const LARGE: usize = 256 * 1024;

fn large_body() -> Vec<u8> {
    // Not compressible, not periodic: a resume at the wrong offset cannot hash right.
    let mut x: u32 = 0x1234_5678;
    (0..LARGE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new(key: &Key, signed: Signed, until: Option<DateTime<Utc>>) -> Repo {
        Repo::with_names(
            key,
            signed,
            until,
            &["pool/main/a_1_amd64.deb", "pool/main/b_1_amd64.deb"],
        )
    }

    /// A repository whose two packages have these `Filename`s (written only when they stay
    /// inside it: a test must never write outside its directory).
    fn with_names(
        key: &Key,
        signed: Signed,
        until: Option<DateTime<Utc>>,
        names: &[&str; 2],
    ) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let bodies = [b"first package".to_vec(), large_body()];
        let release = common::write_suite(
            root,
            &[("a", names[0], &bodies[0]), ("b", names[1], &bodies[1])],
            Utc::now(),
            until,
        );
        let suite = root.join("dists/bookworm");
        match signed {
            Signed::InRelease => key.clearsign(&release, &suite.join("InRelease")),
            Signed::Detached => {
                std::fs::write(suite.join("Release"), &release).unwrap();
                key.detach_sign(release.as_bytes(), &suite.join("Release.gpg"));
            }
        }
        Repo { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn line(uri: &str) -> String {
    format!("deb [arch=amd64] {uri} bookworm main")
}

/// Quick network settings: 1 s timeouts, one retry after 10 ms.
fn options<'a>(keyring: &'a Path, verifier: &'a Verifier) -> Options<'a> {
    let mut o = Options::new(Some(keyring), Some(verifier), Utc::now());
    o.timeout = std::time::Duration::from_secs(1);
    o.retries = 1;
    o.backoff = std::time::Duration::from_millis(10);
    o
}

fn open_url(url: &str, opts: &Options<'_>) -> Result<Suite, ArchiveError> {
    open(&parse_line(&line(url)).unwrap(), opts)
}

fn entries(suite: &Suite) -> Vec<IndexEntry> {
    suite.indexes[0].entries().map(Result::unwrap).collect()
}

/// Read the whole package through its check: `Ok` only when every byte was the index's.
fn read(suite: &Suite, e: &IndexEntry) -> Result<usize, String> {
    let mut r = suite.open_package(e).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let n = r.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    r.finish(&e.sha256).map_err(|e| e.to_string())?;
    Ok(n)
}

/// A key, a repository served over HTTP, and its keyring; `None` without gpg.
fn setup(signed: Signed) -> Option<(Key, Repo, Server, PathBuf, Verifier)> {
    if !gpg_available() {
        return None;
    }
    let key = Key::new("Archive <a@example.org>");
    let repo = Repo::new(&key, signed, None);
    let server = Server::serve(repo.path());
    let kr = key.keyring();
    Some((key, repo, server, kr, gpgv()))
}

#[test]
fn over_http_a_repository_reads_as_it_does_from_disk() {
    let Some((_key, repo, server, kr, v)) = setup(Signed::InRelease) else {
        return;
    };
    let opts = options(&kr, &v);
    let local = open_url(&format!("file://{}", repo.path().display()), &opts).unwrap();
    // Credentials in the URL are sent, and never shown.
    let url = server.url().replace("http://", "http://me:secret@");
    let remote = open_url(&url, &opts).unwrap();
    assert!(matches!(remote.trust, Trust::Verified { .. }));
    assert_eq!(remote.release, local.release);
    assert_eq!(entries(&remote), entries(&local));
    assert_eq!(remote.root, PathBuf::from(server.url()));
    for e in entries(&remote) {
        assert_eq!(read(&remote, &e), read(&local, &e));
        let label = remote.package_label(&e);
        assert_eq!(
            label,
            PathBuf::from(format!("{}/{}", server.url(), e.filename))
        );
        assert!(!label.to_string_lossy().contains("secret"));
    }
    let source = parse_line(&line(&url)).unwrap();
    assert!(!source.label().contains("secret"), "{}", source.label());
    // Several threads read packages of one suite at once.
    let all = entries(&remote);
    std::thread::scope(|s| {
        for e in &all {
            let remote = &remote;
            s.spawn(move || read(remote, e).unwrap());
        }
    });
}

#[test]
fn release_and_release_gpg_verify_where_there_is_no_inrelease() {
    let Some((key, repo, server, kr, v)) = setup(Signed::Detached) else {
        return;
    };
    let opts = options(&kr, &v);
    for url in [server.url(), format!("file://{}", repo.path().display())] {
        let suite = open_url(&url, &opts).unwrap();
        assert!(matches!(suite.trust, Trust::Verified { .. }), "{url}");
        for e in entries(&suite) {
            read(&suite, &e).unwrap();
        }
    }
    // An armoured keyring, named by signed-by=.
    let asc = key.armoured_keyring();
    let signed_by = format!(
        "deb [arch=amd64 signed-by={}] {} bookworm main",
        asc.display(),
        server.url()
    );
    let other_key = Key::new("Other <o@example.org>");
    let other = other_key.keyring();
    open(&parse_line(&signed_by).unwrap(), &options(&other, &v)).unwrap();

    // Another key's keyring.
    let e = open_url(&server.url(), &options(&other, &v)).unwrap_err();
    assert!(matches!(e, ArchiveError::BadSignature { .. }), "{e}");
    // Release changed after signing.
    let release = repo.path().join("dists/bookworm/Release");
    let text = std::fs::read_to_string(&release).unwrap();
    std::fs::write(&release, text.replace("Suite: stable", "Suite: stabl3")).unwrap();
    let e = open_url(&server.url(), &opts).unwrap_err();
    assert!(matches!(e, ArchiveError::BadSignature { .. }), "{e}");
    // No Release.gpg at all: unsigned, refused.
    std::fs::write(&release, text).unwrap();
    server.fault("/dists/bookworm/Release.gpg", Fault::NotFound);
    let e = open_url(&server.url(), &opts).unwrap_err();
    assert!(e.to_string().contains("no Release.gpg"), "{e}");
    // Neither InRelease nor Release.
    server.fault("/dists/bookworm/Release", Fault::NotFound);
    let e = open_url(&server.url(), &opts).unwrap_err();
    assert!(matches!(e, ArchiveError::NoRelease { .. }), "{e}");
}

#[test]
fn an_expired_release_over_http_is_refused() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let (kr, v) = (key.keyring(), gpgv());
    for signed in [Signed::InRelease, Signed::Detached] {
        let repo = Repo::new(&key, signed, Some(Utc::now() - Duration::days(1)));
        let server = Server::serve(repo.path());
        let e = open_url(&server.url(), &options(&kr, &v)).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
    }
}

#[test]
fn an_index_with_other_bytes_stops_the_run() {
    let Some((_key, _repo, server, kr, v)) = setup(Signed::InRelease) else {
        return;
    };
    let packages = "/dists/bookworm/main/binary-amd64/Packages";
    server.fault(packages, Fault::WrongBytes);
    let e = open_url(&server.url(), &options(&kr, &v)).unwrap_err();
    assert!(matches!(e, ArchiveError::Index { .. }), "{e}");
    // Cut short every time: tried again, then one error naming the URL.
    server.clear_faults();
    server.fault(packages, Fault::Truncate);
    let e = open_url(&server.url(), &options(&kr, &v))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{}{packages}", server.url())) && e.contains("gave up after 2 tries"),
        "{e}"
    );
    // Missing: 404, said as such, not tried again.
    server.clear_faults();
    server.fault(packages, Fault::NotFound);
    let before = server.requests().len();
    let e = open_url(&server.url(), &options(&kr, &v))
        .unwrap_err()
        .to_string();
    assert!(e.contains("404 Not Found"), "{e}");
    let asked = server.requests()[before..]
        .iter()
        .filter(|r| r.path == packages)
        .count();
    assert_eq!(asked, 1);
}

#[test]
fn a_server_error_is_tried_again_and_then_reported() {
    let Some((_key, _repo, server, kr, v)) = setup(Signed::InRelease) else {
        return;
    };
    let in_release = "/dists/bookworm/InRelease";
    server.fault(in_release, Fault::ServerErrorOnce);
    open_url(&server.url(), &options(&kr, &v)).unwrap();
    server.clear_faults();
    server.fault(in_release, Fault::ServerError);
    let e = open_url(&server.url(), &options(&kr, &v))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("500 Internal Server Error") && e.contains("gave up"),
        "{e}"
    );
}

#[test]
fn a_stalled_server_times_out() {
    let Some((_key, _repo, server, kr, v)) = setup(Signed::InRelease) else {
        return;
    };
    let mut opts = options(&kr, &v);
    opts.retries = 0;
    server.fault("/dists/bookworm/InRelease", Fault::Stall);
    let start = Instant::now();
    let e = open_url(&server.url(), &opts).unwrap_err().to_string();
    assert!(start.elapsed() < std::time::Duration::from_secs(3), "{e}");
    assert!(e.contains("InRelease") && e.contains("timeout"), "{e}");

    // A package that stalls is that package's error.
    server.clear_faults();
    let suite = open_url(&server.url(), &opts).unwrap();
    let all = entries(&suite);
    server.fault(&format!("/{}", all[0].filename), Fault::Stall);
    let start = Instant::now();
    let e = read(&suite, &all[0]).unwrap_err();
    assert!(start.elapsed() < std::time::Duration::from_secs(3), "{e}");
    assert!(e.contains("timeout"), "{e}");
    read(&suite, &all[1]).unwrap();
}

#[test]
fn each_package_fault_is_that_packages_outcome() {
    let Some((_key, _repo, server, kr, v)) = setup(Signed::InRelease) else {
        return;
    };
    let suite = open_url(&server.url(), &options(&kr, &v)).unwrap();
    let all = entries(&suite);
    let (a, b) = (&all[0], &all[1]);
    let path = |e: &IndexEntry| format!("/{}", e.filename);

    // Other bytes: the hash says so when the stream ends.
    server.fault(&path(a), Fault::WrongBytes);
    let mut r = suite.open_package(a).unwrap();
    std::io::copy(&mut r, &mut std::io::sink()).unwrap();
    assert!(matches!(r.finish(&a.sha256), Err(Mismatch::Sha256 { .. })));
    read(&suite, b).unwrap();

    // More bytes than the index says: refused.
    server.clear_faults();
    server.fault(&path(a), Fault::ExtraBytes);
    let e = read(&suite, a).unwrap_err();
    assert!(e.contains("Packages says"), "{e}");

    // Not there: that package's error, said plainly.
    server.clear_faults();
    server.fault(&path(a), Fault::NotFound);
    let e = suite.open_package(a).err().unwrap().to_string();
    assert!(
        e.contains("404 Not Found") && e.contains(&a.filename),
        "{e}"
    );
    read(&suite, b).unwrap();
}

#[test]
fn a_broken_download_resumes_where_it_stopped() {
    let Some((_key, _repo, server, kr, v)) = setup(Signed::InRelease) else {
        return;
    };
    let suite = open_url(&server.url(), &options(&kr, &v)).unwrap();
    let b = entries(&suite).remove(1);
    let path = format!("/{}", b.filename);

    // Cut once: resumed with Range from where it broke, and the whole hashes right.
    server.fault(&path, Fault::TruncateOnce);
    assert_eq!(read(&suite, &b), Ok(LARGE));
    let asked: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0].range_from, None);
    assert_eq!(asked[1].range_from, Some(LARGE as u64 / 2));

    // A server that ignores Range sends it all again; the part already read is skipped.
    server.clear_faults();
    server.fault(&path, Fault::TruncateOnce);
    server.fault(&path, Fault::NoRange);
    assert_eq!(read(&suite, &b), Ok(LARGE));

    // Cut every time: after the retries, one error naming the URL and how far it got, said
    // again by the check at the end.
    server.clear_faults();
    server.fault(&path, Fault::Truncate);
    let mut r = suite.open_package(&b).unwrap();
    let e = std::io::copy(&mut r, &mut std::io::sink())
        .unwrap_err()
        .to_string();
    let at_finish = r.finish(&b.sha256).unwrap_err().to_string();
    assert!(at_finish.contains(&e), "{at_finish}");
    assert!(
        e.contains(&format!("{}{path}", server.url()))
            && e.contains("gave up after 1 retries")
            && e.contains(&format!(
                "{} of {LARGE} bytes received",
                LARGE / 2 + LARGE / 4
            )),
        "{e}"
    );
}

#[test]
fn redirects_are_followed_up_to_a_limit() {
    let Some((_key, repo, server, kr, v)) = setup(Signed::InRelease) else {
        return;
    };
    let moved = repo.path().join("moved");
    std::fs::create_dir_all(&moved).unwrap();
    std::fs::copy(
        repo.path().join("dists/bookworm/InRelease"),
        moved.join("InRelease"),
    )
    .unwrap();
    server.fault(
        "/dists/bookworm/InRelease",
        Fault::Redirect("/moved/InRelease".to_string()),
    );
    open_url(&server.url(), &options(&kr, &v)).unwrap();
    // A loop ends with an error, not a hang.
    server.fault(
        "/moved/InRelease",
        Fault::Redirect("/dists/bookworm/InRelease".to_string()),
    );
    let e = open_url(&server.url(), &options(&kr, &v))
        .unwrap_err()
        .to_string();
    assert!(e.to_lowercase().contains("redirect"), "{e}");
}

#[test]
fn a_filename_cannot_leave_the_repository_over_http_either() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let repo = Repo::with_names(
        &key,
        Signed::InRelease,
        None,
        &["../../etc/passwd", "/etc/passwd"],
    );
    let server = Server::serve(repo.path());
    let (kr, v) = (key.keyring(), gpgv());
    let suite = open_url(&server.url(), &options(&kr, &v)).unwrap();
    let before = server.requests().len();
    for (e, why) in entries(&suite).iter().zip(["`..`", "absolute"]) {
        let err = suite.open_package(e).err().unwrap();
        assert!(matches!(err, ArchiveError::UnsafeFilename { .. }), "{err}");
        assert!(err.to_string().contains(why), "{err}");
    }
    assert_eq!(server.requests().len(), before, "nothing was asked for");
}
