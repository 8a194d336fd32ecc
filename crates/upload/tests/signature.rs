//! Signature verification against the real gpg and gpgv, with throwaway keys made in each
//! test's own temporary GNUPGHOME (never the user's), plus sqv's mapping checked against a
//! stand-in script, since sqv is not installed where these run.

use debgate_testkeys::{gpg_available, gpgv};
use debgate_upload::signature::{verify, SignatureError, SignatureOutcome, Signers, Verifier};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const BODY: &str = "Format: 1.8\n\
Source: hello\n\
Version: 2.10-3\n\
-dash line, dash-escaped when signed\n\
Description:\n hello - example package\n\
Files:\n 1234567890abcdef1234567890abcdef 1024 misc optional hello_2.10-3_amd64.deb\n";

/// A GNUPGHOME of our own with one fresh ed25519 signing key. Kept short and in /tmp: gpg-agent
/// puts its sockets there, and socket paths are limited to about 100 bytes.
struct Home {
    dir: TempDir,
    fpr: String,
}

impl Home {
    fn new(uid: &str) -> Home {
        Self::with_key(uid, "never", None)
    }

    /// A key valid for `expire` (gpg syntax), created at `faked_time` (seconds since the epoch)
    /// if given.
    fn with_key(uid: &str, expire: &str, faked_time: Option<u64>) -> Home {
        let dir = tempfile::Builder::new()
            .prefix("dg")
            .tempdir_in("/tmp")
            .expect("temporary GNUPGHOME");
        let mut home = Home {
            dir,
            fpr: String::new(),
        };
        let mut args: Vec<String> = Vec::new();
        if let Some(t) = faked_time {
            args.extend(["--faked-system-time".into(), format!("{t}!")]);
        }
        args.extend(
            ["--quick-gen-key", uid, "ed25519", "sign", expire]
                .iter()
                .map(|s| s.to_string()),
        );
        home.gpg(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let listing = home.gpg(&["--with-colons", "--list-keys"]);
        home.fpr = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| !f.is_empty()))
            .expect("fingerprint of the new key")
            .to_string();
        home
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Run gpg in batch mode with this home (set for the child only) and no passphrase.
    fn gpg(&self, args: &[&str]) -> Output {
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

    /// The public keys of this home as a binary keyring file.
    fn keyring(&self) -> PathBuf {
        let kr = self.path("keyring.gpg");
        let out = self.gpg(&["--export"]);
        std::fs::write(&kr, out.stdout).expect("write keyring");
        kr
    }

    /// `text` clearsigned with this home's key, written to `name`.
    fn clearsign(&self, text: &str, name: &str) -> PathBuf {
        self.clearsign_with(text, name, &[])
    }

    fn clearsign_with(&self, text: &str, name: &str, extra: &[&str]) -> PathBuf {
        let input = self.path(&format!("{name}.in"));
        std::fs::write(&input, text).expect("write text to sign");
        let signed = self.path(name);
        let mut args = extra.to_vec();
        args.extend(["--clearsign", "--output"]);
        let (s, i) = (signed.to_string_lossy(), input.to_string_lossy());
        args.extend([s.as_ref(), i.as_ref()]);
        self.gpg(&args);
        signed
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        // gpg starts a gpg-agent for this home; stop it before its directory goes away.
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.dir.path())
            .output();
    }
}

fn bad_detail(outcome: SignatureOutcome) -> String {
    match outcome {
        SignatureOutcome::Bad { detail } => detail,
        other => panic!("expected Bad, got {other:?}"),
    }
}

#[test]
fn good_signature_gives_the_signer_and_the_signed_text() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let keyring = home.keyring();
    let signed = home.clearsign(BODY, "hello.changes");
    let armoured = std::fs::read_to_string(&signed).expect("read signed file");
    assert!(
        armoured.contains("\n- -dash line"),
        "gpg dash-escapes the line: {armoured}"
    );

    let outcome = verify(&gpgv(), &signed, &keyring, Signers::ExactlyOne).expect("verify");
    assert_eq!(
        outcome,
        SignatureOutcome::Good {
            signer: home.fpr.clone(),
            signed_text: BODY.as_bytes().to_vec(),
        }
    );
}

#[test]
fn tampered_body_is_bad() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let keyring = home.keyring();
    let signed = home.clearsign(BODY, "hello.changes");
    let text = std::fs::read_to_string(&signed).expect("read signed file");
    let tampered = text.replace("Version: 2.10-3", "Version: 2.10-4");
    assert_ne!(text, tampered);
    std::fs::write(&signed, tampered).expect("write tampered file");

    let detail =
        bad_detail(verify(&gpgv(), &signed, &keyring, Signers::ExactlyOne).expect("verify"));
    assert!(detail.contains("BAD signature"), "{detail}");
}

#[test]
fn key_not_in_the_keyring_is_unknown() {
    if !gpg_available() {
        return;
    }
    let trusted = Home::new("debgate test <test@example.invalid>");
    let stranger = Home::new("stranger <stranger@example.invalid>");
    let keyring = trusted.keyring();
    let signed = stranger.clearsign(BODY, "hello.changes");

    match verify(&gpgv(), &signed, &keyring, Signers::ExactlyOne).expect("verify") {
        SignatureOutcome::UnknownKey { key_id } => assert!(
            stranger.fpr.ends_with(&key_id.to_ascii_uppercase()),
            "{key_id} names the stranger's key {}",
            stranger.fpr
        ),
        other => panic!("expected UnknownKey, got {other:?}"),
    }
}

#[test]
fn plain_file_is_unsigned() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let keyring = home.keyring();
    let plain = home.path("plain.changes");
    std::fs::write(&plain, BODY).expect("write plain file");

    assert_eq!(
        verify(&gpgv(), &plain, &keyring, Signers::ExactlyOne).expect("verify"),
        SignatureOutcome::Unsigned
    );
}

#[test]
fn text_after_the_signature_is_bad() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let keyring = home.keyring();
    let signed = home.clearsign(BODY, "hello.changes");
    let mut bytes = std::fs::read(&signed).expect("read signed file");
    bytes
        .extend_from_slice(b"Files:\n 00000000000000000000000000000000 1 misc optional evil.deb\n");
    std::fs::write(&signed, bytes).expect("write file");

    // gpgv alone calls this a good signature; the text after it is not signed.
    let detail =
        bad_detail(verify(&gpgv(), &signed, &keyring, Signers::ExactlyOne).expect("verify"));
    assert!(detail.contains("after"), "{detail}");
}

#[test]
fn text_before_the_signed_message_is_bad() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let keyring = home.keyring();
    let signed = home.clearsign(BODY, "hello.changes");
    let mut bytes = b"Source: evil\n".to_vec();
    bytes.extend(std::fs::read(&signed).expect("read signed file"));
    std::fs::write(&signed, bytes).expect("write file");

    let detail =
        bad_detail(verify(&gpgv(), &signed, &keyring, Signers::ExactlyOne).expect("verify"));
    assert!(detail.contains("before"), "{detail}");
}

#[test]
fn two_signed_blocks_are_bad() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let keyring = home.keyring();
    let first = home.clearsign(BODY, "a.changes");
    let second = home.clearsign("Source: other\n", "b.changes");
    let mut bytes = std::fs::read(&first).expect("read");
    bytes.extend(std::fs::read(&second).expect("read"));
    std::fs::write(&first, bytes).expect("write");

    let detail =
        bad_detail(verify(&gpgv(), &first, &keyring, Signers::ExactlyOne).expect("verify"));
    assert!(detail.contains("more than one"), "{detail}");
}

#[test]
fn detached_and_inline_signatures_are_not_a_signed_changes() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let keyring = home.keyring();
    let input = home.path("body");
    std::fs::write(&input, BODY).expect("write");
    let input = input.to_string_lossy().into_owned();
    let cases = [
        (
            "detached.asc",
            &["--armor", "--detach-sign"][..],
            "detached",
        ),
        ("inline.asc", &["--armor", "--sign"][..], "inline"),
        ("inline.gpg", &["--sign"][..], "binary"),
    ];
    for (name, how, expect) in cases {
        let out = home.path(name);
        let out_s = out.to_string_lossy().into_owned();
        let mut args = how.to_vec();
        args.extend(["--output", out_s.as_str(), input.as_str()]);
        home.gpg(&args);
        let detail =
            bad_detail(verify(&gpgv(), &out, &keyring, Signers::ExactlyOne).expect("verify"));
        assert!(detail.contains(expect), "{name}: {detail}");
    }
}

#[test]
fn expired_key_is_bad() {
    if !gpg_available() {
        return;
    }
    // A key made three days ago that expired after one, and a signature from while it was
    // valid: gpgv exits 0 here and says so only in an EXPKEYSIG status line.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let then = now - 3 * 86_400;
    let home = Home::with_key("expired <expired@example.invalid>", "1d", Some(then));
    let keyring = home.keyring();
    let faked = format!("{}!", then + 60);
    let signed = home.clearsign_with(BODY, "hello.changes", &["--faked-system-time", &faked]);

    let detail =
        bad_detail(verify(&gpgv(), &signed, &keyring, Signers::ExactlyOne).expect("verify"));
    assert!(detail.contains("expired"), "{detail}");
}

#[test]
fn revoked_key_is_bad() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("revoked <revoked@example.invalid>");
    let signed = home.clearsign(BODY, "hello.changes");
    // gpg leaves a revocation certificate behind, disarmed by a leading ':'.
    let rev = home.path(&format!("openpgp-revocs.d/{}.rev", home.fpr));
    let text = std::fs::read_to_string(&rev).expect("revocation certificate");
    let armed = home.path("revoke.asc");
    std::fs::write(&armed, text.replace(":-----BEGIN", "-----BEGIN")).expect("write");
    home.gpg(&["--import", &armed.to_string_lossy()]);
    let keyring = home.keyring();

    let detail =
        bad_detail(verify(&gpgv(), &signed, &keyring, Signers::ExactlyOne).expect("verify"));
    assert!(detail.contains("revoked"), "{detail}");
}

#[test]
fn missing_keyring_is_an_error() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let signed = home.clearsign(BODY, "hello.changes");
    let missing = home.path("no-such-keyring.gpg");

    match verify(&gpgv(), &signed, &missing, Signers::ExactlyOne) {
        Err(SignatureError::Keyring { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected a keyring error, got {other:?}"),
    }
    // A directory is no keyring either.
    assert!(matches!(
        verify(&gpgv(), &signed, home.dir.path(), Signers::ExactlyOne),
        Err(SignatureError::Keyring { .. })
    ));
}

#[test]
fn armoured_keyring_is_dearmoured_for_gpgv() {
    if !gpg_available() {
        return;
    }
    let home = Home::new("debgate test <test@example.invalid>");
    let signed = home.clearsign(BODY, "hello.changes");
    let armoured = home.path("keyring.asc");
    std::fs::write(&armoured, home.gpg(&["--armor", "--export"]).stdout).expect("write");

    assert!(matches!(
        verify(&gpgv(), &signed, &armoured, Signers::ExactlyOne),
        Ok(SignatureOutcome::Good { .. })
    ));
}

#[cfg(unix)]
mod without_gpg {
    //! What needs no gpg: finding the verifier, and sqv's mapping through a stand-in script
    //! that behaves as sqv's manual and apt's sqv method say sqv does.

    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn executable(dir: &Path, name: &str, script: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, script).expect("write script");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    #[test]
    fn find_prefers_gpgv_then_sqv() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let sqv = executable(a.path(), "sqv", "#!/bin/sh\n");
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).expect("join paths");

        assert_eq!(
            Verifier::find_in(&path(&[a.path()])),
            Some(Verifier::Sqv(sqv))
        );
        let gpgv = executable(b.path(), "gpgv", "#!/bin/sh\n");
        let found = Verifier::find_in(&path(&[a.path(), b.path()]));
        assert_eq!(found, Some(Verifier::Gpgv(gpgv)));
        assert_eq!(found.map(|v| v.name()), Some("gpgv"));
        assert_eq!(Verifier::find_in(&OsString::new()), None);

        // Not executable, or a directory: not a verifier. Relative entries are never searched.
        let c = tempfile::tempdir().expect("tempdir");
        std::fs::write(c.path().join("gpgv"), "").expect("write");
        std::fs::create_dir(c.path().join("sqv")).expect("mkdir");
        assert_eq!(Verifier::find_in(&path(&[c.path()])), None);
        assert_eq!(Verifier::find_in(&OsString::from("relative/dir")), None);
    }

    const CLEARSIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n\
        Format: 1.8\n- -dash\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=AAAA\n\
        -----END PGP SIGNATURE-----\n";

    /// A stand-in sqv: `--help` mentions `--cleartext` (or not); a keyring whose name says
    /// "stranger" gets sqv's missing-key note and exit 1, "tampered" a bad-signature error,
    /// anything else success with the signed text written and a fingerprint on stdout.
    fn fake_sqv(dir: &Path, cleartext: bool) -> PathBuf {
        let help = if cleartext {
            "      --cleartext  Verify a message using the Cleartext Signature Framework\n  -v, --verbose  Be verbose"
        } else {
            "  -v, --verbose  Be verbose"
        };
        let script = format!(
            r#"#!/bin/sh
if [ "$1" = --help ]; then printf '%s\n' "Usage: sqv [OPTIONS] FILE" "{help}"; exit 0; fi
out= keyring=
while [ $# -gt 0 ]; do
  case "$1" in --output) out=$2; shift;; --keyring) keyring=$2; shift;; esac
  shift
done
case "$keyring" in
  *stranger*) echo "Missing key 281BA829993AABA9, which is needed to verify signature." >&2
              echo "Error: 0 of 1 signatures are valid (threshold is: 1)." >&2; exit 1;;
  *tampered*) echo "Error: Signature is bad" >&2; exit 1;;
esac
printf 'Format: 1.8\n-dash\n' > "$out"
echo ffFCB8AD3888D36110659B3F281BA829993AABA9
"#
        );
        executable(dir, "sqv", &script)
    }

    /// verify, retrying when the script just written is still open for writing in a process
    /// another test thread is forking (ETXTBSY), which is this harness's race, not verify's.
    fn verify_retrying(
        v: &Verifier,
        file: &Path,
        keyring: &Path,
    ) -> Result<SignatureOutcome, SignatureError> {
        for _ in 0..20 {
            match verify(v, file, keyring, Signers::ExactlyOne) {
                Err(SignatureError::Spawn { source, .. }) if source.raw_os_error() == Some(26) => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
        verify(v, file, keyring, Signers::ExactlyOne)
    }

    #[test]
    fn sqv_outcomes_follow_its_exit_status_and_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqv = Verifier::Sqv(fake_sqv(dir.path(), true));
        let file = dir.path().join("hello.changes");
        std::fs::write(&file, CLEARSIGNED).expect("write");
        let keyring = |name: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, b"\x99").expect("write keyring");
            p
        };

        assert_eq!(
            verify_retrying(&sqv, &file, &keyring("good.pgp")).expect("verify"),
            SignatureOutcome::Good {
                signer: "FFFCB8AD3888D36110659B3F281BA829993AABA9".to_string(),
                signed_text: b"Format: 1.8\n-dash\n".to_vec(),
            }
        );
        assert_eq!(
            verify_retrying(&sqv, &file, &keyring("stranger.pgp")).expect("verify"),
            SignatureOutcome::UnknownKey {
                key_id: "281BA829993AABA9".to_string()
            }
        );
        let detail =
            bad_detail(verify_retrying(&sqv, &file, &keyring("tampered.pgp")).expect("verify"));
        assert!(detail.contains("Signature is bad"), "{detail}");
        // The armour check runs before sqv does, for sqv too.
        let plain = dir.path().join("plain.changes");
        std::fs::write(&plain, "Format: 1.8\n").expect("write");
        assert_eq!(
            verify_retrying(&sqv, &plain, &keyring("good.pgp")).expect("verify"),
            SignatureOutcome::Unsigned
        );
        // sqv reads armoured keyrings; only gpgv needs them binary.
        let armoured = dir.path().join("good.asc");
        std::fs::write(&armoured, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n").expect("write");
        assert!(matches!(
            verify_retrying(&sqv, &file, &armoured),
            Ok(SignatureOutcome::Good { .. })
        ));
    }

    #[test]
    fn sqv_without_cleartext_support_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sqv = Verifier::Sqv(fake_sqv(dir.path(), false));
        let file = dir.path().join("hello.changes");
        std::fs::write(&file, CLEARSIGNED).expect("write");
        let keyring = dir.path().join("keyring.pgp");
        std::fs::write(&keyring, b"\x99").expect("write");

        assert!(matches!(
            verify_retrying(&sqv, &file, &keyring),
            Err(SignatureError::Unsupported(_))
        ));
    }

    #[test]
    fn missing_verifier_program_is_a_spawn_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("hello.changes");
        std::fs::write(&file, CLEARSIGNED).expect("write");
        let keyring = dir.path().join("keyring.pgp");
        std::fs::write(&keyring, b"\x99").expect("write");
        let gone = Verifier::Gpgv(dir.path().join("no-such-gpgv"));

        assert!(matches!(
            verify(&gone, &file, &keyring, Signers::ExactlyOne),
            Err(SignatureError::Spawn { .. })
        ));
    }
}
