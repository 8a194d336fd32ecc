//! The repository the archive tests build on disk: packages, their `Packages` index and the
//! `Release` text that lists it, for each test file to sign as its case needs.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S UTC").to_string()
}

/// Writes each `(name, Filename, body)` under `root` (a body only where the `Filename` stays
/// inside it: a test must never write outside its directory) and the `Packages` index of
/// `dists/bookworm` `main` for amd64; returns the `Release` text of suite `stable`, codename
/// `bookworm`, dated `from` and valid until `until`, that lists the index.
pub fn write_suite(
    root: &Path,
    packages: &[(&str, &str, &[u8])],
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
) -> String {
    std::fs::create_dir_all(root.join("pool/main")).unwrap();
    let mut index = String::new();
    for (name, rel, body) in packages {
        if !rel.contains("..") && !rel.starts_with('/') {
            std::fs::write(root.join(rel), body).unwrap();
        }
        index.push_str(&format!(
            "Package: {name}\nVersion: 1\nArchitecture: amd64\nFilename: {rel}\nSize: {}\nSHA256: {}\n\n",
            body.len(),
            hex(&Sha256::digest(body))
        ));
    }
    let dists = root.join("dists/bookworm/main/binary-amd64");
    std::fs::create_dir_all(&dists).unwrap();
    std::fs::write(dists.join("Packages"), &index).unwrap();
    let mut release = format!("Suite: stable\nCodename: bookworm\nDate: {}\n", date(from));
    if let Some(u) = until {
        release.push_str(&format!("Valid-Until: {}\n", date(u)));
    }
    release.push_str(&format!(
        "SHA256:\n {} {} main/binary-amd64/Packages\n",
        hex(&Sha256::digest(index.as_bytes())),
        index.len()
    ));
    release
}
