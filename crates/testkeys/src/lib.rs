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
    /// The clock gpg runs on (`--faked-system-time`), for a key that has expired by now.
    faked_time: Option<&'static str>,
}

/// When an expired key lives: made at this instant (the clock stopped there, `!`), valid for
/// a day, so long expired today.
const EXPIRED_KEY_TIME: &str = "20200101T010000!";

impl Key {
    /// A home with no key yet.
    fn empty(faked_time: Option<&'static str>) -> Key {
        let dir = tempfile::Builder::new()
            .prefix("dgk")
            .tempdir_in("/tmp")
            .expect("temporary GNUPGHOME");
        Key { dir, faked_time }
    }

    /// A key that never expires, for `uid`.
    pub fn new(uid: &str) -> Key {
        let k = Key::empty(None);
        k.gpg(&["--quick-gen-key", uid, "ed25519", "sign", "never"]);
        k
    }

    /// A key for `uid` that expired long ago (made on 2020-01-01, valid for a day). It signs
    /// on that day, so its signatures are sound and gpgv reports EXPKEYSIG for them today.
    /// It cannot sign with others in [`Key::clearsign_with`] (gpg will not sign with it now).
    pub fn expired(uid: &str) -> Key {
        let k = Key::empty(Some(EXPIRED_KEY_TIME));
        k.gpg(&["--quick-gen-key", uid, "ed25519", "sign", "1d"]);
        k
    }

    /// The primary key's fingerprint, upper-case hex, as gpgv reports signers.
    pub fn fingerprint(&self) -> String {
        let out = self.gpg(&["--with-colons", "--list-secret-keys"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|f| !f.is_empty()))
            .expect("a fingerprint in gpg's listing")
            .to_string()
    }

    /// One binary keyring at `out` holding the public keys of all of `keys`: binary OpenPGP
    /// keyrings are a sequence of keys, so their exports concatenated are one.
    pub fn keyring_of(keys: &[&Key], out: &Path) -> PathBuf {
        let mut bytes = Vec::new();
        for k in keys {
            bytes.extend(k.gpg(&["--export"]).stdout);
        }
        std::fs::write(out, bytes).expect("write keyring");
        out.to_path_buf()
    }

    /// `text` clearsigned by every one of `keys` in one signature block, written to `out`:
    /// what Debian's `InRelease` is, signed by several archive keys at once.
    pub fn clearsign_with(keys: &[&Key], text: &str, out: &Path) {
        Key::signed_with(keys, text.as_bytes(), out, &["--clearsign"]);
    }

    /// A detached, armoured signature of `data` by every one of `keys`, in one armour block,
    /// written to `out`: Debian's `Release.gpg`.
    pub fn detach_sign_with(keys: &[&Key], data: &[u8], out: &Path) {
        Key::signed_with(keys, data, out, &["--detach-sign", "--armor"]);
    }

    /// gpg signs with several keys at once only when it holds them all, so the secret keys are
    /// copied into a home of their own for the one run (each key's home keeps only its own,
    /// so its [`Key::keyring`] stays one key).
    fn signed_with(keys: &[&Key], data: &[u8], out: &Path, how: &[&str]) {
        let joint = Key::empty(None);
        let mut args: Vec<String> = Vec::new();
        for k in keys {
            let secret = joint.home().join("secret.gpg");
            std::fs::write(&secret, k.gpg(&["--export-secret-keys"]).stdout)
                .expect("write secret key");
            joint.gpg(&["--import", &secret.to_string_lossy()]);
            // `!`: this very key, not a subkey gpg might prefer.
            args.extend(["--local-user".to_string(), format!("{}!", k.fingerprint())]);
        }
        let input = joint.home().join("sign.in");
        std::fs::write(&input, data).expect("write data to sign");
        let _ = std::fs::remove_file(out);
        args.extend(how.iter().map(|a| a.to_string()));
        args.extend([
            "--output".to_string(),
            out.to_string_lossy().into_owned(),
            input.to_string_lossy().into_owned(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        joint.gpg(&args);
        // The agent this home started has no more use; its home is about to go.
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", joint.home())
            .output();
    }

    /// The private home, for files a test keeps beside the key.
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// Run gpg in batch mode with this home (set for the child only) and no passphrase.
    pub fn gpg(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("gpg");
        cmd.args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""]);
        if let Some(t) = self.faked_time {
            cmd.args(["--faked-system-time", t]);
        }
        let out = cmd
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

    /// A detached signature of `data` with this key as binary OpenPGP: one signature packet.
    /// Several of them concatenated are one detached signature by several keys, each made on
    /// its own key's clock (so an expired key's can sit beside a current one's).
    pub fn detach_sign_binary(&self, data: &[u8]) -> Vec<u8> {
        let input = self.dir.path().join("detach.in");
        let out = self.dir.path().join("detach.sig");
        std::fs::write(&input, data).expect("write data to sign");
        let _ = std::fs::remove_file(&out);
        self.gpg(&[
            "--detach-sign",
            "--output",
            &out.to_string_lossy(),
            &input.to_string_lossy(),
        ]);
        std::fs::read(&out).expect("read the signature")
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
