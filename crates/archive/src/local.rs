//! A repository opened as apt opens one, on this machine (`file:///srv/mirror`) or over
//! `http://` and `https://` (through [`crate::http`]): the suite's `InRelease` verified against
//! the archive keyring (never an uploader's), or where there is none its `Release` against
//! `Release.gpg`; the `Release` judged; each `Packages` index checked against the SHA-256
//! `Release` lists (by hash where `Release` offers it); and each package opened only when its
//! `Filename` stays inside the repository, to be checked against its index entry as it
//! streams.

use crate::http::NetSettings;
use crate::index::{entries, IndexEntry, IndexError};
use crate::release::{Release, ReleaseError};
use crate::source::{SignedBy, Source};
use crate::transport::Transport;
use crate::verify::Verifying;
use chrono::{DateTime, Utc};
use debgate_signature::{SignatureError, SignatureOutcome, Signers, Verifier};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Default for [`Options::max_index_bytes`]: 256 MiB of compressed index. Debian 12's main
/// amd64 `Packages.xz` is about 9 MiB.
pub const MAX_INDEX_BYTES: u64 = 256 * 1024 * 1024;

/// Default for [`Options::timeout`]: apt's `Acquire::http::Timeout` is 30 s too.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default for [`Options::retries`]: apt's `Acquire::Retries` is 3 since apt 2.3.
pub const DEFAULT_RETRIES: u32 = 3;

/// Default for [`Options::backoff`]: the first pause before a retry, doubled for each next one
/// (0.5 s, 1 s, 2 s), which is the shape of apt's retry delay.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(500);

/// How a repository is opened. [`Options::new`] gives the defaults; the fields are there to
/// change them.
pub struct Options<'a> {
    /// The archive keyring when the source has no `signed-by=`. Never an uploader's keyring.
    pub keyring: Option<&'a Path>,
    /// gpgv or sqv; `None` when none is installed (then only `trusted=yes` can be read).
    pub verifier: Option<&'a Verifier>,
    /// The clock `Date` and `Valid-Until` are judged by.
    pub now: DateTime<Utc>,
    pub max_index_bytes: u64,
    /// Over the network: the longest wait to connect, and for each read or write. A slow
    /// package is fine as long as bytes keep coming.
    pub timeout: Duration,
    /// Over the network: how many times a failed request (5xx, a timeout, a broken
    /// connection) is tried again, and how many times a package's broken stream is resumed.
    /// A 404 is never tried again.
    pub retries: u32,
    /// Over the network: the pause before the first retry, doubled for each next one.
    pub backoff: Duration,
}

impl<'a> Options<'a> {
    /// The defaults: [`MAX_INDEX_BYTES`], [`DEFAULT_TIMEOUT`], [`DEFAULT_RETRIES`],
    /// [`DEFAULT_BACKOFF`].
    pub fn new(
        keyring: Option<&'a Path>,
        verifier: Option<&'a Verifier>,
        now: DateTime<Utc>,
    ) -> Options<'a> {
        Options {
            keyring,
            verifier,
            now,
            max_index_bytes: MAX_INDEX_BYTES,
            timeout: DEFAULT_TIMEOUT,
            retries: DEFAULT_RETRIES,
            backoff: DEFAULT_BACKOFF,
        }
    }

    fn net(&self) -> NetSettings {
        NetSettings {
            timeout: self.timeout,
            retries: self.retries,
            backoff: self.backoff,
        }
    }
}

/// Whether the chain was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The `InRelease` signature (or `Release.gpg`'s) verified against the archive keyring.
    /// `signer` is each good signer's fingerprint, joined by `", "` when there are several.
    Verified { signer: String },
    /// `trusted=yes`: nothing was verified, which the caller says once, plainly.
    Unverified,
}

/// Why a repository cannot be read at all (a package's own problems are its errors only).
#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("{spec}: no archive keyring: give signed-by= or --archive-keyring (or trusted=yes to read it unverified, as apt would)")]
    NoKeyring { spec: String },
    #[error("{path}: {what}")]
    Io { path: PathBuf, what: String },
    #[error("{url}: {what}")]
    Network { url: String, what: String },
    #[error("{path}: neither InRelease nor Release is there")]
    NoRelease { path: PathBuf },
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

/// A suite opened and verified down to its indexes. `Sync`: packages may be opened from
/// several threads at once.
#[derive(Debug)]
pub struct Suite {
    /// The repository root, for messages: the canonical directory, or the URL without
    /// `user:password@`.
    pub root: PathBuf,
    pub release: Release,
    pub trust: Trust,
    pub indexes: Vec<Index>,
    transport: Transport,
}

// Packages are read on several threads from one Suite (check's scheduler): it must stay so.
const _: fn() = || {
    fn shared<T: Sync + Send>() {}
    shared::<Suite>();
};

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> ArchiveError + '_ {
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

/// What a verifier said, as the text to parse and its trust, or the error that stops the run.
fn judged(
    result: Result<SignatureOutcome, SignatureError>,
    path: PathBuf,
) -> Result<(Vec<u8>, Trust), ArchiveError> {
    let bad = |path, detail| Err(ArchiveError::BadSignature { path, detail });
    match result {
        Ok(SignatureOutcome::Good {
            signer,
            signed_text,
        }) => Ok((signed_text, Trust::Verified { signer })),
        Ok(SignatureOutcome::Unsigned) => bad(path, "it is not signed".to_string()),
        Ok(SignatureOutcome::UnknownKey { key_id }) => bad(
            path,
            format!("signed by {key_id}, which the archive keyring does not hold"),
        ),
        Ok(SignatureOutcome::Bad { detail }) => bad(path, detail),
        Err(source) => Err(ArchiveError::Signature { path, source }),
    }
}

/// Open `source`'s suite and verify it down to its `Packages` indexes.
pub fn open(source: &Source, opts: &Options<'_>) -> Result<Suite, ArchiveError> {
    let transport = Transport::new(&source.uri, opts.net())?;
    let dists = format!("dists/{}", source.suite);
    let keyring = match &source.signed_by {
        Some(SignedBy::Keyring(k)) => Some(k.as_path()),
        None => opts.keyring,
    };
    // What verifies, decided before anything is fetched: with no keyring there is no run.
    let check = if source.trusted {
        None
    } else {
        let Some(keyring) = keyring else {
            return Err(ArchiveError::NoKeyring {
                spec: source.label(),
            });
        };
        let verifier = opts.verifier.ok_or_else(|| ArchiveError::Signature {
            path: transport.label(&dists),
            source: SignatureError::NoVerifier,
        })?;
        Some((verifier, keyring))
    };

    let in_release = format!("{dists}/InRelease");
    let (text, trust, release_path) = match transport
        .fetch_small(&in_release, debgate_signature::MAX_SIGNED_BYTES)?
    {
        Some(bytes) => {
            let path = transport.label(&in_release);
            let (text, trust) = match check {
                Some((verifier, keyring)) => judged(
                    debgate_signature::verify_bytes(verifier, &bytes, keyring, Signers::AtLeastOne),
                    path.clone(),
                )?,
                None => match debgate_signature::armour::frame(&bytes) {
                    Ok(debgate_signature::armour::Framing::Clearsigned { text }) => {
                        (text, Trust::Unverified)
                    }
                    Ok(debgate_signature::armour::Framing::Plain) => (bytes, Trust::Unverified),
                    Err(detail) => return Err(ArchiveError::BadSignature { path, detail }),
                },
            };
            (text, trust, path)
        }
        // No InRelease: Release and its detached signature, as apt falls back.
        None => {
            let release = format!("{dists}/Release");
            let path = transport.label(&release);
            let Some(data) =
                transport.fetch_small(&release, debgate_signature::MAX_SIGNED_BYTES)?
            else {
                return Err(ArchiveError::NoRelease {
                    path: transport.label(&dists),
                });
            };
            let (text, trust) = match check {
                Some((verifier, keyring)) => {
                    let gpg = format!("{dists}/Release.gpg");
                    let Some(signature) = transport
                        .fetch_small(&gpg, debgate_signature::MAX_DETACHED_SIGNATURE_BYTES)?
                    else {
                        return Err(ArchiveError::BadSignature {
                            path,
                            detail: "there is no InRelease, and no Release.gpg beside Release"
                                .to_string(),
                        });
                    };
                    judged(
                        debgate_signature::verify_detached(
                            verifier,
                            &signature,
                            &data,
                            keyring,
                            Signers::AtLeastOne,
                        ),
                        path.clone(),
                    )?
                }
                None => (data, Trust::Unverified),
            };
            (text, trust, path)
        }
    };
    let release_err = |source| ArchiveError::Release {
        path: release_path.clone(),
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
            let by_hash = format!(
                "{dists}/{dir}/by-hash/SHA256/{}",
                debgate_facts::hex(&sum.sha256)
            );
            let plain = format!("{dists}/{name}");
            let mut fetched = None;
            if release.acquire_by_hash {
                fetched = transport
                    .fetch_small(&by_hash, opts.max_index_bytes)?
                    .map(|b| (b, by_hash));
            }
            let (bytes, rel) = match fetched {
                Some(found) => found,
                None => match transport.fetch_small(&plain, opts.max_index_bytes)? {
                    Some(b) => (b, plain),
                    None => return Err(transport.absent(&plain)),
                },
            };
            let got: [u8; 32] = Sha256::digest(&bytes).into();
            if bytes.len() as u64 != sum.size || got != sum.sha256 {
                return Err(ArchiveError::Index {
                    path: transport.label(&rel),
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
        root: transport.root(),
        release,
        trust,
        indexes,
        transport,
    })
}

/// `filename` (an index's `Filename:`) as the path segments it names, refused when it is
/// empty, absolute or has a `..` component: a repository's names stay inside it.
pub(crate) fn confined(filename: &str) -> Result<Vec<&str>, ArchiveError> {
    let unsafe_name = |why| ArchiveError::UnsafeFilename {
        filename: filename.to_string(),
        why,
    };
    if filename.is_empty() || filename.contains('\0') {
        return Err(unsafe_name("an empty name"));
    }
    let mut parts = Vec::new();
    for c in Path::new(filename).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or_default()),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_name("a `..` component")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_name("an absolute path"))
            }
        }
    }
    if parts.is_empty() {
        return Err(unsafe_name("an empty name"));
    }
    Ok(parts)
}

/// Where `filename` (an index's `Filename:`) is, refused unless it stays inside `root`: no
/// absolute path, no `..`, and no symlink that leads out, so that a `file://` repository cannot
/// be made to read the host's files.
pub fn package_path(root: &Path, filename: &str) -> Result<PathBuf, ArchiveError> {
    let unsafe_name = |why| ArchiveError::UnsafeFilename {
        filename: filename.to_string(),
        why,
    };
    confined(filename)?;
    let rel = Path::new(filename);
    let full = root.join(rel);
    let real = full.canonicalize().map_err(io(&full))?;
    if !real.starts_with(root) {
        return Err(unsafe_name("a symbolic link out of the repository"));
    }
    Ok(real)
}

impl Suite {
    /// Open the package `e` names, to be read through [`Verifying`] and then
    /// [`Verifying::finish`]ed against `e.sha256`. Over the network, a broken connection is
    /// resumed where it stopped; the hash still covers every byte.
    pub fn open_package(
        &self,
        e: &IndexEntry,
    ) -> Result<Verifying<Box<dyn Read + Send>>, ArchiveError> {
        let stream = self.transport.open_package(&e.filename, e.size)?;
        Ok(Verifying::new(stream, e.size))
    }

    /// The package `e` names, for messages and results: its path in a directory, its URL
    /// (without credentials) on a server.
    pub fn package_label(&self, e: &IndexEntry) -> PathBuf {
        self.transport.label(&e.filename)
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
