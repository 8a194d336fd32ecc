//! Verifying an OpenPGP clearsigned document (an upload's `.changes`; apt's `InRelease` has the
//! same form) with an external verifier (gpgv or sqv): we write no crypto.
//!
//! What we do ourselves is only bookkeeping around the verifier:
//!
//! - a structural check of the armour before anything runs ([`armour`]), so that a file with
//!   text before `-----BEGIN PGP SIGNED MESSAGE-----` or after `-----END PGP SIGNATURE-----`, or
//!   with more than one signed block, is rejected: gpgv happily says "good signature" for such a
//!   file while a naive parser would read the unsigned text too (dak rejects these for that
//!   reason);
//! - running the verifier on a private copy of the bytes we checked (so the file cannot change
//!   between our check and its read), in an empty temporary home, with the keyring named by an
//!   absolute path, stdin closed, and every output going to a file of ours (no pipe to
//!   deadlock on): module `process`, with `gpgv` and `sqv` for each verifier's arguments and
//!   the reading of its report;
//! - mapping what it reports to a [`SignatureOutcome`], and handing back the text the
//!   signature covers *as the verifier wrote it*, which is the only text the caller may parse.

pub mod armour;
mod gpgv;
mod outcome;
mod process;
mod sqv;
mod verifier;

pub use outcome::{SignatureError, SignatureOutcome};
pub use process::MAX_VERIFIER_OUTPUT;
pub use verifier::Verifier;

use armour::Framing;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest signed document we verify. It bounds what we copy and what we read back as
/// signed text. It is the `.changes` parser's cap too (upload asserts the two agree), so that
/// what verifies can be parsed.
pub const MAX_SIGNED_BYTES: u64 = 8 * 1024 * 1024;

/// Verify the clearsigned `changes` against the keys in `keyring` with `verifier`.
///
/// A file that is not a single, complete clearsigned block with nothing around it never
/// reaches the verifier: it is [`SignatureOutcome::Unsigned`] (no OpenPGP armour at all) or
/// [`SignatureOutcome::Bad`] (anything else).
pub fn verify(
    verifier: &Verifier,
    changes: &Path,
    keyring: &Path,
) -> Result<SignatureOutcome, SignatureError> {
    // The keyring first: a missing keyring is the caller's mistake whatever the file holds.
    let keyring = check_keyring(verifier, keyring)?;

    let Some(bytes) =
        process::read_capped(changes, MAX_SIGNED_BYTES).map_err(SignatureError::Read)?
    else {
        return Ok(SignatureOutcome::Bad {
            detail: format!(
                "the file is larger than {} MiB; not verified",
                MAX_SIGNED_BYTES >> 20
            ),
        });
    };
    if let Some(outcome) = check_armour(&bytes) {
        return Ok(outcome);
    }

    let temp_err = |source| SignatureError::Temp {
        verifier: verifier.name(),
        source,
    };
    let dir = tempfile::Builder::new()
        .prefix("debgate-sig-")
        .tempdir()
        .map_err(temp_err)?;
    // The verifier reads our copy: the bytes we checked are the bytes it verifies.
    let input = dir.path().join("signed.changes");
    std::fs::write(&input, &bytes).map_err(temp_err)?;

    match verifier {
        Verifier::Gpgv(program) => gpgv::run(program, &keyring, &input, dir.path()),
        Verifier::Sqv(program) => sqv::run(program, &keyring, &input, dir.path()),
    }
}

/// The keyring as an absolute path (gpgv takes a bare name as relative to its home), after
/// making sure it can be read.
fn check_keyring(verifier: &Verifier, keyring: &Path) -> Result<PathBuf, SignatureError> {
    let err = |source| SignatureError::Keyring {
        path: keyring.to_path_buf(),
        source,
    };
    let abs = keyring.canonicalize().map_err(err)?;
    // Reading (not just opening) also turns away a directory.
    let mut head = Vec::new();
    File::open(&abs)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(err)?;
    if matches!(verifier, Verifier::Gpgv(_)) && head.starts_with(b"-----BEGIN PGP") {
        return Err(SignatureError::ArmouredKeyring(keyring.to_path_buf()));
    }
    Ok(abs)
}

/// The armour check. `None` means: one complete clearsigned block, nothing outside it but
/// trailing blank lines; hand it to the verifier. Otherwise the outcome, decided here.
fn check_armour(bytes: &[u8]) -> Option<SignatureOutcome> {
    match armour::frame(bytes) {
        Ok(Framing::Clearsigned { .. }) => None,
        Ok(Framing::Plain) => Some(SignatureOutcome::Unsigned),
        Err(detail) => Some(SignatureOutcome::Bad { detail }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::armour::{BEGIN_SIGNED, END_SIGNATURE};

    fn bad(o: Option<SignatureOutcome>) -> String {
        match o {
            Some(SignatureOutcome::Bad { detail }) => detail,
            other => panic!("expected Bad, got {other:?}"),
        }
    }

    const SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nFormat: 1.8\n- -dash\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=AAAA\n-----END PGP SIGNATURE-----\n";

    #[test]
    fn armour_accepts_one_block_and_trailing_blank_lines() {
        assert_eq!(check_armour(SIGNED.as_bytes()), None);
        assert_eq!(check_armour(format!("{SIGNED}\n \n").as_bytes()), None);
        assert_eq!(check_armour(SIGNED.replace('\n', "\r\n").as_bytes()), None);
    }

    #[test]
    fn armour_rejects_text_around_the_block() {
        assert!(bad(check_armour(format!("Source: evil\n{SIGNED}").as_bytes())).contains("before"));
        assert!(bad(check_armour(format!("\n{SIGNED}").as_bytes())).contains("before"));
        assert!(bad(check_armour(format!("{SIGNED}Source: evil\n").as_bytes())).contains("after"));
        assert!(bad(check_armour(format!("{SIGNED}{SIGNED}").as_bytes())).contains("more than one"));
        let nested = SIGNED.replace("- -dash", BEGIN_SIGNED);
        assert!(bad(check_armour(nested.as_bytes())).contains("unescaped"));
        let truncated = &SIGNED[..SIGNED.find(END_SIGNATURE).unwrap_or(0)];
        assert!(bad(check_armour(truncated.as_bytes())).contains("END"));
    }

    #[test]
    fn armour_tells_unsigned_from_other_openpgp() {
        assert_eq!(
            check_armour(b"Format: 1.8\nSource: foo\n"),
            Some(SignatureOutcome::Unsigned)
        );
        assert_eq!(check_armour(b""), Some(SignatureOutcome::Unsigned));
        // A UTF-8 byte-order mark is not a packet header.
        assert_eq!(
            check_armour("\u{feff}Format: 1.8\n".as_bytes()),
            Some(SignatureOutcome::Unsigned)
        );
        assert!(bad(check_armour(b"-----BEGIN PGP SIGNATURE-----\n\nAA\n")).contains("detached"));
        assert!(bad(check_armour(b"-----BEGIN PGP MESSAGE-----\n\nAA\n")).contains("inline"));
        assert!(bad(check_armour(&[0x90, 0x0d, 0x03])).contains("binary"));
        assert!(bad(check_armour(&[0xc4, 0x0d, 0x03])).contains("binary"));
        assert!(bad(check_armour(&[0xa3, 0x01])).contains("binary"));
    }
}
