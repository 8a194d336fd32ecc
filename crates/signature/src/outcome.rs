//! What a verification comes to: the outcome the caller judges, the errors that stop it, and
//! the decision each verifier's report maps to before any signed text is read.

use std::io;
use std::path::PathBuf;
use thiserror::Error;

/// How many signers a document may have, and which of its signatures must be good: the rule
/// differs between what an archive admits (an upload) and what apt trusts (a repository).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signers {
    /// An upload's `.changes`: exactly one signature, and it is good. Several signatures, even
    /// all good, are refused, because dak admits an upload on *its* signer and a second one
    /// leaves that open. Anything not good (expired, revoked, unknown key) refuses the file.
    ExactlyOne,
    /// A repository's `InRelease` or `Release.gpg`, as apt judges them (its `methods/gpgv.cc`):
    /// Debian signs with several archive keys at once (a release's key and the automatic
    /// signing key), and a keyring need not hold them all. Any BADSIG refuses the file; else at
    /// least one good signature by a key in the keyring accepts it, and signatures by keys the
    /// keyring lacks, by expired or revoked keys, or over a weak digest (MD5, SHA-1,
    /// RIPEMD-160) are passed over. With no good signature, an expired, revoked or weak one is
    /// [`SignatureOutcome::Bad`], and only unknown keys [`SignatureOutcome::UnknownKey`].
    AtLeastOne,
}

/// What the verifier says about a `.changes`. Only [`SignatureOutcome::Good`] carries text, and
/// that text is the only part of the file that is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureOutcome {
    /// Verified. `signer` is the primary key's fingerprint as the verifier reports it (upper-case
    /// hex, no spaces); under [`Signers::AtLeastOne`] with several good signatures, each good
    /// signer's once, joined by `", "`. `signed_text` is the text the
    /// signature covers, as the verifier wrote it out, dash-unescaped; the caller parses
    /// *this*, so nothing outside the signature can be smuggled in.
    Good {
        signer: String,
        signed_text: Vec<u8>,
    },
    /// The file is not an OpenPGP clearsigned message at all.
    Unsigned,
    /// Signed by a key that is not in the keyring. `key_id` is the issuer fingerprint when the
    /// signature names it, else the long key id.
    UnknownKey { key_id: String },
    /// The signature does not verify, the key is expired or revoked, the signature is
    /// malformed, or the file has text outside the signed block. `detail` is one human line.
    Bad { detail: String },
}

/// Why a signature could not be checked at all. These are not findings about the upload but
/// reasons no finding could be made.
#[derive(Debug, Error)]
pub enum SignatureError {
    /// Neither gpgv nor sqv is in `$PATH`.
    #[error("no OpenPGP verifier found: install gpgv (or sqv 1.3 or later) to check signatures")]
    NoVerifier,
    /// The keyring is missing or unreadable.
    #[error("keyring {path}: {source}")]
    Keyring {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An ASCII-armoured keyring (gpgv 2 reads binary keyrings only, so we dearmour it) whose
    /// armour cannot be read.
    #[error("keyring {path}: not a usable armoured keyring: {detail}")]
    KeyringArmour { path: PathBuf, detail: String },
    /// The `.changes` itself could not be read.
    #[error("cannot read the file: {0}")]
    Read(#[source] io::Error),
    /// Our private temporary directory or its files could not be made or read.
    #[error("temporary files for {verifier}: {source}")]
    Temp {
        verifier: &'static str,
        #[source]
        source: io::Error,
    },
    /// The verifier could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The installed sqv predates `--cleartext` (sqv 1.3), so it cannot verify a `.changes`.
    #[error(
        "{0}: this sqv cannot verify cleartext signatures (sqv 1.3 or later can; or install gpgv)"
    )]
    Unsupported(PathBuf),
    /// The verifier ran but said nothing we can turn into an outcome.
    #[error("{verifier}: unintelligible result: {detail}")]
    Unintelligible {
        verifier: &'static str,
        detail: String,
    },
}

/// What a verifier's report decides, before the signed text (for a good signature) is read.
pub(crate) enum Decision {
    Outcome(SignatureOutcome),
    Good { signer: String },
    Unintelligible(String),
}

/// Whether `s` is a key id or fingerprint as verifiers print them: hex digits, at least one.
pub(crate) fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What the gpgv and sqv mapping tests share.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Decision, SignatureOutcome};

    /// A primary key's fingerprint, as both verifiers report it.
    pub(crate) const FPR: &str = "FFFCB8AD3888D36110659B3F281BA829993AABA9";

    /// The outcome `d` stands for, with no signed text for a good signature.
    pub(crate) fn outcome(d: Decision) -> SignatureOutcome {
        match d {
            Decision::Outcome(o) => o,
            Decision::Good { signer } => SignatureOutcome::Good {
                signer,
                signed_text: Vec::new(),
            },
            Decision::Unintelligible(why) => panic!("unintelligible: {why}"),
        }
    }
}
