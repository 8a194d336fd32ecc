//! `debgate check --archive`: the seed release served as a `file://` apt repository signed
//! with a throwaway key gives the verdicts a check of the same files gives; a package whose
//! bytes are not its index's is that package's error; a chain that does not verify stops the
//! run; `trusted=yes` says once that nothing was verified.

mod common;

use common::*;
use debgate_testkeys::{gpg_available, Key};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The seed's groovy-like release as a signed repository: (repository, its key, keyring).
fn repository() -> (TempDir, Key, PathBuf) {
    let key = Key::new("Archive <a@example.org>");
    let keyring = key.keyring();

    let repo = tempfile::tempdir().unwrap();
    let pool = repo.path().join("pool/main");
    std::fs::create_dir_all(&pool).unwrap();
    let mut packages = String::new();
    let release_dir = root().join("testdata/releases/groovy-like");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&release_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    debs.sort();
    for deb in debs {
        let name = deb.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&deb).unwrap();
        std::fs::write(pool.join(&name), &bytes).unwrap();
        let package = name.split('_').next().unwrap();
        packages.push_str(&format!(
            "Package: {package}\nVersion: 1\nArchitecture: amd64\nFilename: pool/main/{name}\nSize: {}\nSHA256: {}\n\n",
            bytes.len(),
            hex(&Sha256::digest(&bytes))
        ));
    }
    let dists = repo.path().join("dists/groovy");
    std::fs::create_dir_all(dists.join("main/binary-amd64")).unwrap();
    std::fs::write(dists.join("main/binary-amd64/Packages"), &packages).unwrap();
    let release = format!(
        "Suite: groovy\nCodename: groovy\nDate: {}\nSHA256:\n {} {} main/binary-amd64/Packages\n",
        chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S UTC"),
        hex(&Sha256::digest(packages.as_bytes())),
        packages.len()
    );
    key.clearsign(&release, &dists.join("InRelease"));
    (repo, key, keyring)
}

fn spec(repo: &Path, opts: &str) -> String {
    format!(
        "deb [arch=amd64{opts}] file://{} groovy main",
        repo.display()
    )
}

/// Each rule's statuses over the report, by package name, to compare two runs.
fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap_or("").to_string(),
                r["package"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_repository_gives_the_verdicts_of_its_files() {
    if !gpg_available() {
        return;
    }
    let (repo, _key, keyring) = repository();
    let direct = debgate(&["check", "--format", "json", "testdata/releases/groovy-like"]);
    let s = spec(repo.path(), "");
    let kr = keyring.to_string_lossy();
    let via = debgate(&[
        "check",
        "--format",
        "json",
        "--archive",
        &s,
        "--archive-keyring",
        &kr,
    ]);
    assert_eq!(
        via.status.code(),
        direct.status.code(),
        "{}",
        String::from_utf8_lossy(&via.stderr)
    );
    let (d, a) = (json(&direct), json(&via));
    assert_eq!(verdicts(&a), verdicts(&d));
    assert_eq!(a["packages"].as_array().unwrap().len(), 4);

    // signed-by= in the source does the same; --package selects.
    let s = spec(repo.path(), &format!(" signed-by={kr}"));
    let one = debgate(&[
        "check",
        "--format",
        "json",
        "--archive",
        &s,
        "--package",
        "linux-image-*",
    ]);
    let packages = json(&one)["packages"].as_array().unwrap().clone();
    assert_eq!(packages.len(), 1, "{packages:?}");
    assert!(packages[0]["package"]
        .as_str()
        .unwrap()
        .starts_with("linux-image-"));
}

#[test]
fn a_changed_package_is_its_own_error_and_a_broken_chain_stops_the_run() {
    if !gpg_available() {
        return;
    }
    let (repo, _key, keyring) = repository();
    let kr = keyring.to_string_lossy();
    // One package replaced after the index was made: that package is unreadable (exit 2), the
    // other three are judged.
    let pool = repo.path().join("pool/main");
    let victim = std::fs::read_dir(&pool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    std::fs::write(&victim, bytes).unwrap();
    let s = spec(repo.path(), "");
    let out = debgate(&[
        "check",
        "--format",
        "json",
        "--archive",
        &s,
        "--archive-keyring",
        &kr,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let packages = report["packages"].as_array().unwrap();
    let failed: Vec<&Value> = packages.iter().filter(|p| !p["error"].is_null()).collect();
    assert_eq!(failed.len(), 1, "{packages:?}");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("SHA-256"),
        "{failed:?}"
    );
    assert_eq!(packages.len() - failed.len(), 3);

    // No keyring: no run, as apt.
    let out = debgate(&["check", "--archive", &s]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no archive keyring"));
    // --keyring (uploaders') is not an archive keyring.
    let out = debgate(&["check", "--archive", &s, "--keyring", &kr]);
    assert_eq!(out.status.code(), Some(2));
    // trusted=yes reads it, and says once that nothing was verified.
    let s = spec(repo.path(), " trusted=yes");
    let out = debgate(&["check", "--archive", &s]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("nothing in this repository was verified")
            .count(),
        1,
        "{err}"
    );
}
