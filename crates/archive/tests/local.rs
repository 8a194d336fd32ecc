//! A repository on disk, built here and signed with a throwaway key, read as apt reads it: the
//! chain from `InRelease` to each package's bytes, and every way it must break.

use chrono::{DateTime, Duration, Utc};
use debgate_archive::local::{open, ArchiveError, Options, Trust, MAX_INDEX_BYTES};
use debgate_archive::source::parse_line;
use debgate_signature::Verifier;
use debgate_testkeys::{gpg_available, gpgv, Key};
use std::io::Read;
use std::path::Path;
use tempfile::TempDir;

mod common;

/// A repository with two packages in `main` for amd64, its Release valid from `from` until
/// `until`, signed by `key`.
struct Repo {
    dir: TempDir,
    /// The Release text InRelease signs.
    release: String,
}

impl Repo {
    fn new(key: &Key, from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Repo {
        Repo::signed_by(&[key], from, until)
    }

    /// The same repository, its InRelease signed by every one of `keys` as Debian's is.
    fn signed_by(keys: &[&Key], from: DateTime<Utc>, until: Option<DateTime<Utc>>) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let release = common::write_suite(
            root,
            &[
                ("a", "pool/main/a_1_amd64.deb", b"first package"),
                ("b", "pool/main/b_1_amd64.deb", b"second package"),
            ],
            from,
            until,
        );
        let in_release = root.join("dists/bookworm/InRelease");
        match keys {
            [key] => key.clearsign(&release, &in_release),
            keys => Key::clearsign_with(keys, &release, &in_release),
        }
        Repo { dir, release }
    }

    fn line(&self, opts: &str) -> String {
        format!(
            "deb [arch=amd64{opts}] file://{} bookworm main",
            self.dir.path().display()
        )
    }
}

fn options<'a>(keyring: Option<&'a Path>, verifier: &'a Verifier) -> Options<'a> {
    let opts = Options::new(keyring, Some(verifier), Utc::now());
    assert_eq!(opts.max_index_bytes, MAX_INDEX_BYTES);
    opts
}

#[test]
fn a_signed_repository_is_read_down_to_each_packages_bytes() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let repo = Repo::new(&key, Utc::now(), Some(Utc::now() + Duration::days(7)));
    let (v, kr) = (gpgv(), key.keyring());
    let suite = open(
        &parse_line(&repo.line("")).unwrap(),
        &options(Some(&kr), &v),
    )
    .unwrap();
    assert!(matches!(suite.trust, Trust::Verified { .. }));
    let entries: Vec<_> = suite.indexes[0].entries().map(Result::unwrap).collect();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        let mut r = suite.open_package(e).unwrap();
        let mut head = [0u8; 4];
        r.read_exact(&mut head).unwrap();
        r.finish(&e.sha256).unwrap();
    }
    // signed-by= names the keyring itself.
    let line = repo.line(&format!(" signed-by={}", kr.display()));
    open(&parse_line(&line).unwrap(), &options(None, &v)).unwrap();

    // A package changed after the index was made is that package's error.
    std::fs::write(
        repo.dir.path().join("pool/main/a_1_amd64.deb"),
        "first packagX",
    )
    .unwrap();
    let mut r = suite.open_package(&entries[0]).unwrap();
    std::io::copy(&mut r, &mut std::io::sink()).unwrap();
    let e = r.finish(&entries[0].sha256).unwrap_err().to_string();
    assert!(e.contains("SHA-256"), "{e}");
}

#[test]
fn every_broken_link_of_the_chain_stops_the_run() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let v = gpgv();
    let kr = key.keyring();
    let now = Utc::now();

    // No keyring, and no trusted=yes: no run, as apt.
    let repo = Repo::new(&key, now, None);
    let e = open(&parse_line(&repo.line("")).unwrap(), &options(None, &v)).unwrap_err();
    assert!(matches!(e, ArchiveError::NoKeyring { .. }), "{e}");
    // trusted=yes reads it unverified, and says so.
    let s = open(
        &parse_line(&repo.line(" trusted=yes")).unwrap(),
        &options(None, &v),
    )
    .unwrap();
    assert_eq!(s.trust, Trust::Unverified);

    // Another key's keyring (an uploader's, say) never validates the archive.
    let other_key = Key::new("Archive <a@example.org>");
    let other = other_key.keyring();
    let e = open(
        &parse_line(&repo.line("")).unwrap(),
        &options(Some(&other), &v),
    )
    .unwrap_err();
    assert!(matches!(e, ArchiveError::BadSignature { .. }), "{e}");

    // A signed text changed after signing.
    let inr = repo.dir.path().join("dists/bookworm/InRelease");
    let text = std::fs::read_to_string(&inr)
        .unwrap()
        .replace("Suite: stable", "Suite: stabl3");
    std::fs::write(&inr, text).unwrap();
    let e = open(
        &parse_line(&repo.line("")).unwrap(),
        &options(Some(&kr), &v),
    )
    .unwrap_err();
    assert!(matches!(e, ArchiveError::BadSignature { .. }), "{e}");

    // Expired, and not valid yet.
    let repo = Repo::new(&key, now - Duration::days(9), Some(now - Duration::days(1)));
    let e = open(
        &parse_line(&repo.line("")).unwrap(),
        &options(Some(&kr), &v),
    )
    .unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    let repo = Repo::new(&key, now + Duration::days(11), None);
    let e = open(
        &parse_line(&repo.line("")).unwrap(),
        &options(Some(&kr), &v),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not valid yet"), "{e}");

    // Another suite than the one asked for.
    let repo = Repo::new(&key, now, None);
    std::fs::rename(
        repo.dir.path().join("dists/bookworm"),
        repo.dir.path().join("dists/trixie"),
    )
    .unwrap();
    let line = repo.line("").replace(" bookworm ", " trixie ");
    let e = open(&parse_line(&line).unwrap(), &options(Some(&kr), &v)).unwrap_err();
    assert!(e.to_string().contains("not trixie"), "{e}");

    // An index Release does not list, and one whose bytes are not what it lists.
    let repo = Repo::new(&key, now, None);
    let line = repo.line("").replace("arch=amd64", "arch=arm64");
    let e = open(&parse_line(&line).unwrap(), &options(Some(&kr), &v)).unwrap_err();
    assert!(e.to_string().contains("lists no SHA256"), "{e}");
    let packages = repo
        .dir
        .path()
        .join("dists/bookworm/main/binary-amd64/Packages");
    let mut p = std::fs::read_to_string(&packages).unwrap();
    p.push('\n');
    std::fs::write(&packages, p).unwrap();
    let e = open(
        &parse_line(&repo.line("")).unwrap(),
        &options(Some(&kr), &v),
    )
    .unwrap_err();
    assert!(matches!(e, ArchiveError::Index { .. }), "{e}");
}

#[test]
fn a_repository_signed_by_several_keys_opens_with_one_of_them() {
    if !gpg_available() {
        return;
    }
    // Debian signs InRelease with a release's archive key and the automatic signing key; a
    // keyring may hold either.
    let (release_key, automatic) = (
        Key::new("Release key <r@example.org>"),
        Key::new("Automatic key <auto@example.org>"),
    );
    let v = gpgv();
    let repo = Repo::signed_by(&[&release_key, &automatic], Utc::now(), None);
    let source = parse_line(&repo.line("")).unwrap();
    for key in [&release_key, &automatic] {
        let kr = key.keyring();
        let suite = open(&source, &options(Some(&kr), &v)).unwrap();
        assert_eq!(
            suite.trust,
            Trust::Verified {
                signer: key.fingerprint()
            }
        );
        assert_eq!(suite.indexes[0].entries().count(), 2);
    }
    // Neither key: refused, as before.
    let stranger = Key::new("Stranger <s@example.org>");
    let e = open(&source, &options(Some(&stranger.keyring()), &v)).unwrap_err();
    assert!(e.to_string().contains("does not hold"), "{e}");

    // No InRelease: Release and a Release.gpg with both signatures in one armour block.
    let dists = repo.dir.path().join("dists/bookworm");
    std::fs::remove_file(dists.join("InRelease")).unwrap();
    std::fs::write(dists.join("Release"), &repo.release).unwrap();
    Key::detach_sign_with(
        &[&release_key, &automatic],
        repo.release.as_bytes(),
        &dists.join("Release.gpg"),
    );
    let kr = automatic.keyring();
    let suite = open(&source, &options(Some(&kr), &v)).unwrap();
    assert_eq!(
        suite.trust,
        Trust::Verified {
            signer: automatic.fingerprint()
        }
    );
}
