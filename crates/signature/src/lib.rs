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
//! - for gpgv, an armoured (`.asc`) keyring dearmoured into a binary one in that private
//!   directory (module `keyring`, up to [`MAX_KEYRING_BYTES`]), since gpgv 2.2 cannot read
//!   armour;
//! - a detached signature (apt's `Release.gpg`) checked to be one before it is handed over with
//!   a private copy of the data it signs ([`verify_detached`]);
//! - mapping what it reports to a [`SignatureOutcome`] under the caller's rule ([`Signers`]:
//!   an upload's exactly one signer, or apt's at least one good signature for a repository),
//!   and handing back the text the signature covers *as the verifier wrote it*, which is the
//!   only text the caller may parse.

pub mod armour;
mod gpgv;
mod keyring;
mod outcome;
mod process;
mod sqv;
mod verifier;

pub use keyring::MAX_KEYRING_BYTES;
pub use outcome::{SignatureError, SignatureOutcome, Signers};
pub use process::MAX_VERIFIER_OUTPUT;
pub use verifier::Verifier;

use armour::Framing;
use process::Input;
use std::path::Path;

/// The largest signed document we verify. It bounds what we copy and what we read back as
/// signed text. It is the `.changes` parser's cap too (upload asserts the two agree), so that
/// what verifies can be parsed.
pub const MAX_SIGNED_BYTES: u64 = 8 * 1024 * 1024;

/// The largest detached signature we pass on. Debian's `Release.gpg` holds a few signatures in
/// about 3 KiB.
pub const MAX_DETACHED_SIGNATURE_BYTES: u64 = 1024 * 1024;

/// Verify the clearsigned `changes` against the keys in `keyring` with `verifier`, under the
/// rule `signers` ([`Signers::ExactlyOne`] for an upload).
///
/// A file that is not a single, complete clearsigned block with nothing around it never
/// reaches the verifier: it is [`SignatureOutcome::Unsigned`] (no OpenPGP armour at all) or
/// [`SignatureOutcome::Bad`] (anything else).
pub fn verify(
    verifier: &Verifier,
    changes: &Path,
    keyring: &Path,
    signers: Signers,
) -> Result<SignatureOutcome, SignatureError> {
    // The keyring first: a missing keyring is the caller's mistake whatever the file holds.
    let keyring = keyring::check(keyring)?;
    let Some(bytes) =
        process::read_capped(changes, MAX_SIGNED_BYTES).map_err(SignatureError::Read)?
    else {
        return Ok(too_large());
    };
    verify_clearsigned(verifier, &keyring, &bytes, signers)
}

/// [`verify`] for a clearsigned document already in memory (an `InRelease` fetched over the
/// network): the same armour check, the same private copy for the verifier. A repository's
/// is verified with [`Signers::AtLeastOne`], as apt does.
pub fn verify_bytes(
    verifier: &Verifier,
    signed: &[u8],
    keyring: &Path,
    signers: Signers,
) -> Result<SignatureOutcome, SignatureError> {
    let keyring = keyring::check(keyring)?;
    if signed.len() as u64 > MAX_SIGNED_BYTES {
        return Ok(too_large());
    }
    verify_clearsigned(verifier, &keyring, signed, signers)
}

/// Verify `data` against the detached `signature` (apt's `Release` and `Release.gpg`), with
/// the keys in `keyring`, under the rule `signers` ([`Signers::AtLeastOne`] for a repository:
/// Debian's `Release.gpg` holds several signatures). [`SignatureOutcome::Good`] hands back
/// `data`, as the verifier read it from our private copy.
///
/// A signature that is not one armoured `PGP SIGNATURE` block, or binary OpenPGP starting with
/// a signature packet, never reaches the verifier: it is [`SignatureOutcome::Bad`]. So a
/// clearsigned or inline-signed file offered as the signature cannot make the verifier check
/// something other than `data`.
pub fn verify_detached(
    verifier: &Verifier,
    signature: &[u8],
    data: &[u8],
    keyring: &Path,
    signers: Signers,
) -> Result<SignatureOutcome, SignatureError> {
    let keyring = keyring::check(keyring)?;
    if data.len() as u64 > MAX_SIGNED_BYTES {
        return Ok(too_large());
    }
    if signature.len() as u64 > MAX_DETACHED_SIGNATURE_BYTES {
        return Ok(SignatureOutcome::Bad {
            detail: format!(
                "the signature is larger than {} KiB; not verified",
                MAX_DETACHED_SIGNATURE_BYTES >> 10
            ),
        });
    }
    if let Err(detail) = armour::detached(signature) {
        return Ok(SignatureOutcome::Bad { detail });
    }
    let dir = private_dir(verifier)?;
    let keyring = keyring.for_verifier(verifier, dir.path())?;
    let sig_path = dir.path().join("detached.sig");
    let data_path = dir.path().join("detached.data");
    for (path, bytes) in [(&sig_path, signature), (&data_path, data)] {
        std::fs::write(path, bytes).map_err(|source| SignatureError::Temp {
            verifier: verifier.name(),
            source,
        })?;
    }
    let input = Input::Detached {
        signature: &sig_path,
        data: &data_path,
    };
    run(verifier, &keyring, input, dir.path(), signers)
}

/// The outcome for a document past [`MAX_SIGNED_BYTES`].
fn too_large() -> SignatureOutcome {
    SignatureOutcome::Bad {
        detail: format!(
            "the file is larger than {} MiB; not verified",
            MAX_SIGNED_BYTES >> 20
        ),
    }
}

/// A private temporary directory for one verifier run: its home, its inputs, its outputs.
fn private_dir(verifier: &Verifier) -> Result<tempfile::TempDir, SignatureError> {
    tempfile::Builder::new()
        .prefix("debgate-sig-")
        .tempdir()
        .map_err(|source| SignatureError::Temp {
            verifier: verifier.name(),
            source,
        })
}

fn verify_clearsigned(
    verifier: &Verifier,
    keyring: &keyring::Keyring,
    bytes: &[u8],
    signers: Signers,
) -> Result<SignatureOutcome, SignatureError> {
    if let Some(outcome) = check_armour(bytes) {
        return Ok(outcome);
    }
    let dir = private_dir(verifier)?;
    let keyring = keyring.for_verifier(verifier, dir.path())?;
    // The verifier reads our copy: the bytes we checked are the bytes it verifies.
    let input = dir.path().join("signed.changes");
    std::fs::write(&input, bytes).map_err(|source| SignatureError::Temp {
        verifier: verifier.name(),
        source,
    })?;
    run(
        verifier,
        &keyring,
        Input::Clearsigned(&input),
        dir.path(),
        signers,
    )
}

fn run(
    verifier: &Verifier,
    keyring: &Path,
    input: Input<'_>,
    dir: &Path,
    signers: Signers,
) -> Result<SignatureOutcome, SignatureError> {
    match verifier {
        Verifier::Gpgv(program) => gpgv::run(program, keyring, input, dir, signers),
        Verifier::Sqv(program) => sqv::run(program, keyring, input, dir, signers),
    }
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
