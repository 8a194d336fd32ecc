//! Throwaway OpenPGP keys for tests that sign what debgate verifies (uploads, a repository's
//! `InRelease`): gpg run in a private `GNUPGHOME` under `/tmp`, never the user's, and the gpgv
//! that verifies; and [`server`], a loopback HTTP server that serves a directory and misbehaves
//! on request, for the tests of reading a repository over the network. A dev-dependency only;
//! nothing here ships in the binary.

pub mod server;

use debgate_signature::Verifier;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
}

/// Whether gpg, gpgv and gpgconf are here. In CI (which installs gnupg) their absence is a
/// failure, not a reason to pass quietly.
pub fn gpg_available() -> bool {
    let missing: Vec<&str> = ["gpg", "gpgv", "gpgconf"]
        .into_iter()
        .filter(|t| !on_path(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} not installed: CI must install gnupg",
        missing.join(", ")
    );
    eprintln!(
        "skipping: gpg not installed ({} missing)",
        missing.join(", ")
    );
    false
}

/// gpgv from `PATH`, built directly rather than through `Verifier::find`, so that an sqv on a
/// developer's `PATH` cannot change which verifier a test exercises.
pub fn gpgv() -> Verifier {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dir = std::env::split_paths(&path)
        .find(|d| d.join("gpgv").is_file())
        .expect("gpgv on PATH");
    Verifier::Gpgv(dir.join("gpgv"))
}

/// A private `GNUPGHOME` with one fresh ed25519 signing key. Kept short and in `/tmp`:
/// gpg-agent puts its sockets there, and socket paths are limited to about 100 bytes.
pub struct Key {
    dir: TempDir,
}

impl Key {
    /// A key that never expires, for `uid`.
    pub fn new(uid: &str) -> Key {
        let dir = tempfile::Builder::new()
            .prefix("dgk")
            .tempdir_in("/tmp")
            .expect("temporary GNUPGHOME");
        let k = Key { dir };
        k.gpg(&["--quick-gen-key", uid, "ed25519", "sign", "never"]);
        k
    }

    /// The private home, for files a test keeps beside the key.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// Run gpg in batch mode with this home (set for the child only) and no passphrase.
    pub fn gpg(&self, args: &[&str]) -> Output {
        let out = Command::new("gpg")
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .env("GNUPGHOME", self.dir.path())
            .output()
            .expect("run gpg");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The public key as a binary keyring file (what gpgv reads).
    pub fn keyring(&self) -> PathBuf {
        let p = self.dir.path().join("keyring.gpg");
        std::fs::write(&p, self.gpg(&["--export"]).stdout).expect("write keyring");
        p
    }

    /// The public key as an ASCII-armoured keyring (`gpg --export --armor`, a `.asc` file).
    pub fn armoured_keyring(&self) -> PathBuf {
        let p = self.dir.path().join("keyring.asc");
        std::fs::write(&p, self.gpg(&["--export", "--armor"]).stdout).expect("write keyring");
        p
    }

    /// A detached, armoured signature of `data` with this key, written to `out` (replacing
    /// it): what apt's `Release.gpg` is to `Release`.
    pub fn detach_sign(&self, data: &[u8], out: &Path) {
        let input = self.dir.path().join("detach.in");
        std::fs::write(&input, data).expect("write data to sign");
        let _ = std::fs::remove_file(out);
        self.gpg(&[
            "--detach-sign",
            "--armor",
            "--output",
            &out.to_string_lossy(),
            &input.to_string_lossy(),
        ]);
    }

    /// `text` clearsigned with this key, written to `out` (replacing it).
    pub fn clearsign(&self, text: &str, out: &Path) {
        let input = self.dir.path().join("clearsign.in");
        std::fs::write(&input, text).expect("write text to sign");
        let _ = std::fs::remove_file(out);
        self.gpg(&[
            "--clearsign",
            "--output",
            &out.to_string_lossy(),
            &input.to_string_lossy(),
        ]);
    }
}
