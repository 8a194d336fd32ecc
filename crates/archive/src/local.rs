//! A repository on this machine (`file:///srv/mirror`), opened as apt opens one: the suite's
//! `InRelease` verified against the archive keyring (never an uploader's), its `Release`
//! judged, each `Packages` index checked against the SHA-256 `Release` lists (by hash where
//! `Release` offers it), and each package opened only when its `Filename` stays inside the
//! repository, to be checked against its index entry as it streams.

use crate::index::{entries, IndexEntry, IndexError};
use crate::release::{Release, ReleaseError};
use crate::source::{SignedBy, Source, Uri};
use crate::verify::Verifying;
use chrono::{DateTime, Utc};
use debgate_signature::{SignatureError, SignatureOutcome, Verifier};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

/// Default for [`Options::max_index_bytes`]: 256 MiB of compressed index. Debian 12's main
/// amd64 `Packages.xz` is about 9 MiB.
pub const MAX_INDEX_BYTES: u64 = 256 * 1024 * 1024;

/// How a repository is opened.
pub struct Options<'a> {
    /// The archive keyring when the source has no `signed-by=`. Never an uploader's keyring.
    pub keyring: Option<&'a Path>,
    /// gpgv or sqv; `None` when none is installed (then only `trusted=yes` can be read).
    pub verifier: Option<&'a Verifier>,
    /// The clock `Date` and `Valid-Until` are judged by.
    pub now: DateTime<Utc>,
    pub max_index_bytes: u64,
}

/// Whether the chain was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The `InRelease` signature verified against the archive keyring.
    Verified { signer: String },
    /// `trusted=yes`: nothing was verified, which the caller says once, plainly.
    Unverified,
}

/// Why a repository cannot be read at all (a package's own problems are its errors only).
#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("{0}: only file:// repositories can be read so far")]
    NotLocal(String),
    #[error("{spec}: no archive keyring: give signed-by= or --archive-keyring (or trusted=yes to read it unverified, as apt would)")]
    NoKeyring { spec: String },
    #[error("{path}: {what}")]
    Io { path: PathBuf, what: String },
    #[error("{path}: the signature does not verify: {detail}")]
    BadSignature { path: PathBuf, detail: String },
    #[error("{path}: {source}")]
    Signature {
        path: PathBuf,
        #[source]
        source: SignatureError,
    },
    #[error("{path}: {source}")]
    Release {
        path: PathBuf,
        #[source]
        source: ReleaseError,
    },
    #[error("{path}: {what}")]
    Index { path: PathBuf, what: String },
    #[error("{filename}: {why}")]
    UnsafeFilename { filename: String, why: &'static str },
    #[error("no architecture given (arch=) and this machine's ({0}) has no Debian name")]
    NoArchitecture(String),
}

/// One verified index: its name under the suite, and its compressed bytes.
#[derive(Debug)]
pub struct Index {
    pub path: String,
    bytes: Vec<u8>,
}

impl Index {
    /// Its packages, read as a stream.
    pub fn entries(&self) -> impl Iterator<Item = Result<IndexEntry, IndexError>> + '_ {
        entries(&self.path, &self.bytes)
    }
}

/// A suite opened and verified down to its indexes.
#[derive(Debug)]
pub struct Suite {
    pub root: PathBuf,
    pub release: Release,
    pub trust: Trust,
    pub indexes: Vec<Index>,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
    move |e| ArchiveError::Io {
        path: path.to_path_buf(),
        what: e.to_string(),
    }
}

/// The Debian name of this machine's architecture, apt's default when no `arch=` is given.
fn native() -> Result<&'static str, ArchiveError> {
    Ok(match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => return Err(ArchiveError::NoArchitecture(other.to_string())),
    })
}

/// Read at most `limit` bytes of `path`; more is an error.
fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(io(path))?;
    if bytes.len() as u64 > limit {
        return Err(ArchiveError::Io {
            path: path.to_path_buf(),
            what: format!("larger than {limit} bytes"),
        });
    }
    Ok(bytes)
}

/// Open `source`'s suite and verify it down to its `Packages` indexes.
pub fn open(source: &Source, opts: &Options<'_>) -> Result<Suite, ArchiveError> {
    let Uri::File(root) = &source.uri else {
        return Err(ArchiveError::NotLocal(source.label()));
    };
    let root = root.canonicalize().map_err(io(root))?;
    let dists = root.join("dists").join(&source.suite);
    let in_release = dists.join("InRelease");
    let keyring = match &source.signed_by {
        Some(SignedBy::Keyring(k)) => Some(k.as_path()),
        None => opts.keyring,
    };
    let (text, trust) = if source.trusted {
        let bytes = read_capped(&in_release, debgate_signature::MAX_SIGNED_BYTES)?;
        let text = match debgate_signature::armour::frame(&bytes) {
            Ok(debgate_signature::armour::Framing::Clearsigned { text }) => text,
            Ok(debgate_signature::armour::Framing::Plain) => bytes,
            Err(detail) => {
                return Err(ArchiveError::BadSignature {
                    path: in_release,
                    detail,
                })
            }
        };
        (text, Trust::Unverified)
    } else {
        let Some(keyring) = keyring else {
            return Err(ArchiveError::NoKeyring {
                spec: source.label(),
            });
        };
        let verifier = opts.verifier.ok_or_else(|| ArchiveError::Signature {
            path: in_release.clone(),
            source: SignatureError::NoVerifier,
        })?;
        match debgate_signature::verify(verifier, &in_release, keyring) {
            Ok(SignatureOutcome::Good {
                signer,
                signed_text,
            }) => (signed_text, Trust::Verified { signer }),
            Ok(SignatureOutcome::Unsigned) => {
                return Err(ArchiveError::BadSignature {
                    path: in_release,
                    detail: "it is not signed".to_string(),
                })
            }
            Ok(SignatureOutcome::UnknownKey { key_id }) => {
                return Err(ArchiveError::BadSignature {
                    path: in_release,
                    detail: format!("signed by {key_id}, which the archive keyring does not hold"),
                })
            }
            Ok(SignatureOutcome::Bad { detail }) => {
                return Err(ArchiveError::BadSignature {
                    path: in_release,
                    detail,
                })
            }
            Err(source) => {
                return Err(ArchiveError::Signature {
                    path: in_release,
                    source,
                })
            }
        }
    };
    let release_err = |source| ArchiveError::Release {
        path: in_release.clone(),
        source,
    };
    let release = Release::parse(&String::from_utf8_lossy(&text)).map_err(release_err)?;
    release
        .check(&source.suite, opts.now)
        .map_err(release_err)?;

    let archs: Vec<String> = if source.architectures.is_empty() {
        vec![native()?.to_string()]
    } else {
        source.architectures.clone()
    };
    let mut indexes = Vec::new();
    for comp in &source.components {
        for arch in &archs {
            let dir = format!("{comp}/binary-{arch}");
            let names = ["Packages.xz", "Packages.gz", "Packages"].map(|n| format!("{dir}/{n}"));
            let Some(name) = names.iter().find(|n| release.sha256.contains_key(*n)) else {
                return Err(release_err(ReleaseError::NotListed(names[0].clone())));
            };
            let sum = release.sum(name).map_err(release_err)?;
            // By hash where offered: the file named by its own hash cannot be a newer index
            // that a mirror swapped in after this Release.
            let by_hash = dists
                .join(&dir)
                .join("by-hash/SHA256")
                .join(debgate_facts::hex(&sum.sha256));
            let path = if release.acquire_by_hash && by_hash.is_file() {
                by_hash
            } else {
                dists.join(name)
            };
            let bytes = read_capped(&path, opts.max_index_bytes)?;
            let got: [u8; 32] = Sha256::digest(&bytes).into();
            if bytes.len() as u64 != sum.size || got != sum.sha256 {
                return Err(ArchiveError::Index {
                    path,
                    what: "its size or SHA-256 is not what Release lists".to_string(),
                });
            }
            indexes.push(Index {
                path: name.clone(),
                bytes,
            });
        }
    }
    Ok(Suite {
        root,
        release,
        trust,
        indexes,
    })
}

/// Where `filename` (an index's `Filename:`) is, refused unless it stays inside `root`: no
/// absolute path, no `..`, and no symlink that leads out, so that a `file://` repository cannot
/// be made to read the host's files.
pub fn package_path(root: &Path, filename: &str) -> Result<PathBuf, ArchiveError> {
    let unsafe_name = |why| ArchiveError::UnsafeFilename {
        filename: filename.to_string(),
        why,
    };
    let rel = Path::new(filename);
    if filename.is_empty() || filename.contains('\0') {
        return Err(unsafe_name("an empty name"));
    }
    for c in rel.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_name("a `..` component")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_name("an absolute path"))
            }
        }
    }
    let full = root.join(rel);
    let real = full.canonicalize().map_err(io(&full))?;
    if !real.starts_with(root) {
        return Err(unsafe_name("a symbolic link out of the repository"));
    }
    Ok(real)
}

impl Suite {
    /// Open the package `e` names, to be read through [`Verifying`] and then
    /// [`Verifying::finish`]ed against `e.sha256`.
    pub fn open_package(&self, e: &IndexEntry) -> Result<Verifying<File>, ArchiveError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = package_path(&self.root, &e.filename)?;
        // No link followed at the last step either: the checked path is the one opened.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(io(&path))?;
        let meta = file.metadata().map_err(io(&path))?;
        if !meta.is_file() {
            return Err(ArchiveError::Io {
                path,
                what: "not a regular file".to_string(),
            });
        }
        Ok(Verifying::new(file, e.size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filename_must_stay_inside_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("pool/main")).unwrap();
        std::fs::write(root.join("pool/main/a.deb"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("pool/main/out.deb")).unwrap();
        std::os::unix::fs::symlink("a.deb", root.join("pool/main/in.deb")).unwrap();
        assert!(package_path(&root, "pool/main/a.deb").is_ok());
        assert!(package_path(&root, "./pool/main/in.deb").is_ok());
        for (name, why) in [
            ("/etc/passwd", "absolute"),
            ("pool/../../etc/passwd", "`..`"),
            ("pool/main/out.deb", "symbolic link"),
            ("", "empty"),
        ] {
            let e = package_path(&root, name).unwrap_err().to_string();
            assert!(e.contains(why), "{name}: {e}");
        }
    }
}
