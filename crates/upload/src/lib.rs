//! Checking a Debian upload as dak and Launchpad do before it enters an archive: the `.changes`
//! file, the files it lists, their checksums, and its OpenPGP signature.

pub mod changes;
pub mod verify;

/// The signature check is its own crate, shared with apt repositories (InRelease); an upload's
/// callers name it through here, as before it moved.
pub use debgate_signature as signature;

pub use changes::{Changes, ChangesError, MAX_CHANGES_BYTES};
pub use signature::{SignatureError, SignatureOutcome, Verifier};
pub use verify::{control_agrees, BinaryControl, Check, Problem};

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why an upload could not be checked at all (exit 2), as opposed to problems found in it.
#[derive(Debug, Error)]
pub enum UploadError {
    #[error(transparent)]
    Changes(#[from] ChangesError),
    #[error("{path}: {source}")]
    Signature {
        path: PathBuf,
        #[source]
        source: SignatureError,
    },
}

/// What checking a `.changes` found.
#[derive(Debug)]
pub struct UploadReport {
    /// The parsed `.changes`: with a keyring and a good signature, parsed from the text the
    /// verifier says was signed, so no unsigned text can reach us.
    pub changes: Changes,
    /// The checks that ran (the signature checks only with a keyring).
    pub checks: Vec<Check>,
    pub problems: Vec<Problem>,
    /// The binary packages to read and judge: (listed name, path beside the `.changes`).
    pub packages: Vec<(String, PathBuf)>,
    /// Who signed it, when a keyring was given and the signature is good.
    pub signer: Option<String>,
}

/// Parse `path`, verify its signature against `keyring` when one is given, and check the files
/// it lists. Control agreement needs the packages read; see [`control_agrees`].
pub fn check_upload(path: &Path, keyring: Option<&Path>) -> Result<UploadReport, UploadError> {
    let mut problems = Vec::new();
    let mut signer = None;
    let changes = match keyring {
        None => Changes::read(path)?,
        Some(keyring) => {
            let sig_err = |source| UploadError::Signature {
                path: path.to_path_buf(),
                source,
            };
            let verifier = Verifier::find().ok_or_else(|| sig_err(SignatureError::NoVerifier))?;
            let outcome =
                signature::verify(&verifier, path, keyring, signature::Signers::ExactlyOne)
                    .map_err(sig_err)?;
            let mut failed = |check: Check, message: String| {
                problems.push(Problem {
                    check,
                    name: None,
                    message,
                })
            };
            match outcome {
                SignatureOutcome::Good {
                    signer: who,
                    signed_text,
                } => {
                    signer = Some(who);
                    Changes::parse(path, &signed_text)?
                }
                SignatureOutcome::Unsigned => {
                    failed(
                        Check::Unsigned,
                        "the .changes is not signed, and a keyring was given".to_string(),
                    );
                    Changes::read(path)?
                }
                SignatureOutcome::UnknownKey { key_id } => {
                    failed(
                        Check::UnknownKey,
                        format!(
                            "signed by key {key_id}, which is not in {}",
                            keyring.display()
                        ),
                    );
                    Changes::read(path)?
                }
                SignatureOutcome::Bad { detail } => {
                    failed(
                        Check::BadSignature,
                        format!("the signature does not verify: {detail}"),
                    );
                    // The armour may be what is wrong; then there is nothing more to check.
                    Changes::read(path)?
                }
            }
        }
    };
    let files = verify::check_files(&changes);
    problems.extend(files.problems);
    let checks = Check::ALL
        .into_iter()
        .filter(|c| keyring.is_some() || !c.needs_keyring())
        .collect();
    Ok(UploadReport {
        changes,
        checks,
        problems,
        packages: files.packages,
        signer,
    })
}
