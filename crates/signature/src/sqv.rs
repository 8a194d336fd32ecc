//! Sequoia's `sqv`: its arguments, and its exit status and output mapped to an outcome.

use crate::outcome::{is_hex, Decision, SignatureError, SignatureOutcome, Signers};
use crate::process::{last_line, one_line, read_signed_text, Input};
use std::ffi::{OsStr, OsString};
use std::path::Path;

/// sqv, best effort: sqv has no status protocol, so this follows its documented CLI and what
/// apt's sqv method relies on:
///
/// - `sqv --keyring FILE --cleartext --output OUT FILE` (sqv 1.3+; older sqv verifies detached
///   signatures only, which we detect from `--help` and report as [`SignatureError::Unsupported`]),
///   or `sqv --keyring FILE SIG DATA` for a detached signature;
/// - exit status 0 when enough signatures (one, by default) are good, and then the fingerprint
///   of each good signer's certificate on stdout, one per line (apt reads them the same way);
/// - a failing exit status with prose on stderr otherwise; usage errors exit with 2 (clap).
///
/// Uncertain, since sqv is not tested here: the wording of its failure messages. We look for
/// "Missing key" (sqv's verbose note for a signature whose key is not in the keyring) to report
/// an unknown key, and otherwise report its last stderr line as a bad signature. Unlike gpgv,
/// sqv counts good signatures and may accept a file with one good signature and another by an
/// unknown key; we cannot see that second signature.
///
/// Both rules run sqv the same way, with its default threshold (`--signatures 1`: at least one
/// good signature by a key in the keyring), which is apt's rule for a repository as apt's own
/// sqv method relies on it; [`Signers::ExactlyOne`] then refuses more than one good signer
/// on stdout, and [`Signers::AtLeastOne`] takes them all.
pub(crate) fn run(
    program: &Path,
    keyring: &Path,
    input: Input<'_>,
    dir: &Path,
    signers: Signers,
) -> Result<SignatureOutcome, SignatureError> {
    let help = crate::process::run("sqv", program, &["--help".as_ref()], dir, "sqv-help")?;
    let help_text = format!("{}{}", help.stdout, help.stderr);
    // Every sqv verifies a detached signature; only 1.3 and later a clearsigned file.
    if matches!(input, Input::Clearsigned(_)) && !help_text.contains("--cleartext") {
        return Err(SignatureError::Unsupported(program.to_path_buf()));
    }

    let output = dir.join("sqv.out");
    let mut args: Vec<OsString> = Vec::new();
    if help_text.contains("--verbose") {
        // Verbose makes sqv say why each signature failed, which is how we tell an unknown key.
        args.push("--verbose".into());
    }
    args.extend(["--keyring".into(), keyring.as_os_str().to_owned()]);
    match input {
        Input::Clearsigned(file) => args.extend([
            "--cleartext".into(),
            "--output".into(),
            output.as_os_str().to_owned(),
            file.as_os_str().to_owned(),
        ]),
        // `sqv --keyring K SIG DATA`, as apt's sqv method runs it for Release.gpg.
        Input::Detached { signature, data } => args.extend([
            signature.as_os_str().to_owned(),
            data.as_os_str().to_owned(),
        ]),
    }
    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    let run = crate::process::run("sqv", program, &args, dir, "sqv")?;
    match sqv_decision(run.status.code(), &run.stdout, &run.stderr, signers) {
        Decision::Outcome(o) => Ok(o),
        Decision::Good { signer } => Ok(SignatureOutcome::Good {
            signer,
            signed_text: read_signed_text(
                "sqv",
                match input {
                    Input::Clearsigned(_) => &output,
                    Input::Detached { data, .. } => data,
                },
            )?,
        }),
        Decision::Unintelligible(why) => Err(SignatureError::Unintelligible {
            verifier: "sqv",
            detail: why,
        }),
    }
}

/// sqv's exit status and outputs, mapped. Kept apart from running it so it can be tested
/// without sqv.
fn sqv_decision(code: Option<i32>, stdout: &str, stderr: &str, rule: Signers) -> Decision {
    match code {
        Some(0) => {
            let mut signers: Vec<&str> = stdout
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            signers.sort_unstable();
            signers.dedup();
            match signers.as_slice() {
                [one] if is_hex(one) => Decision::Good {
                    signer: one.to_ascii_uppercase(),
                },
                [] => Decision::Unintelligible("success but no signer fingerprint".into()),
                [_] => Decision::Unintelligible(format!(
                    "success but stdout is not a fingerprint: {}",
                    one_line(signers[0])
                )),
                many if rule == Signers::ExactlyOne => Decision::Outcome(SignatureOutcome::Bad {
                    detail: format!("{} signers; a .changes has exactly one", many.len()),
                }),
                many => match many.iter().find(|s| !is_hex(s)) {
                    Some(not_hex) => Decision::Unintelligible(format!(
                        "success but stdout is not a fingerprint: {}",
                        one_line(not_hex)
                    )),
                    None => {
                        let mut upper: Vec<String> =
                            many.iter().map(|s| s.to_ascii_uppercase()).collect();
                        upper.sort_unstable();
                        upper.dedup();
                        Decision::Good {
                            signer: upper.join(", "),
                        }
                    }
                },
            }
        }
        Some(1) => {
            if let Some(key_id) = sqv_missing_key(stderr) {
                return Decision::Outcome(SignatureOutcome::UnknownKey { key_id });
            }
            let line = last_line(stderr);
            let detail = match line.strip_prefix("; ") {
                Some(l) => format!("sqv: {l}"),
                None => "sqv found no good signature".to_string(),
            };
            Decision::Outcome(SignatureOutcome::Bad { detail })
        }
        other => Decision::Unintelligible(format!(
            "{}{}",
            other.map_or_else(
                || "killed by a signal".to_string(),
                |c| format!("exit status {c}")
            ),
            last_line(stderr)
        )),
    }
}

/// The key id in sqv's "Missing key XXXX, which is needed to verify signature." note.
fn sqv_missing_key(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|l| {
        let rest = &l[l.find("Missing key ")? + "Missing key ".len()..];
        let id: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
        (!id.is_empty()).then(|| id.to_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::testing::{outcome, FPR};

    #[test]
    fn sqv_mapping() {
        assert_eq!(
            outcome(sqv_decision(
                Some(0),
                &format!("{}\n", FPR.to_lowercase()),
                "",
                Signers::ExactlyOne
            )),
            SignatureOutcome::Good {
                signer: FPR.to_string(),
                signed_text: Vec::new()
            }
        );
        assert!(matches!(
            outcome(sqv_decision(
                Some(0),
                &format!("{FPR}\n1111\n"),
                "",
                Signers::ExactlyOne
            )),
            SignatureOutcome::Bad { .. }
        ));
        assert!(matches!(
            sqv_decision(Some(0), "", "", Signers::ExactlyOne),
            Decision::Unintelligible(_)
        ));
        assert_eq!(
            outcome(sqv_decision(
                Some(1),
                "",
                "Missing key 281BA829993AABA9, which is needed to verify signature.\n\
                 Error: 0 of 1 signatures are valid (threshold is: 1).\n",
                Signers::ExactlyOne
            )),
            SignatureOutcome::UnknownKey {
                key_id: "281BA829993AABA9".to_string()
            }
        );
        assert_eq!(
            outcome(sqv_decision(
                Some(1),
                "",
                "Error: Signature is bad\n",
                Signers::ExactlyOne
            )),
            SignatureOutcome::Bad {
                detail: "sqv: Error: Signature is bad".to_string()
            }
        );
        assert!(matches!(
            sqv_decision(
                Some(2),
                "",
                "error: unexpected argument '--cleartext'\n",
                Signers::ExactlyOne
            ),
            Decision::Unintelligible(_)
        ));
        assert!(matches!(
            sqv_decision(None, "", "", Signers::AtLeastOne),
            Decision::Unintelligible(_)
        ));
    }

    #[test]
    fn sqv_at_least_one_takes_every_good_signer() {
        let two = format!("{FPR}\n{}\n", "1111111111111111111111111111111111111111");
        assert_eq!(
            outcome(sqv_decision(Some(0), &two, "", Signers::AtLeastOne)),
            SignatureOutcome::Good {
                signer: format!("1111111111111111111111111111111111111111, {FPR}"),
                signed_text: Vec::new()
            }
        );
        // The same signer twice, whatever its case, is one.
        let twice = format!("{FPR}\n{}\n", FPR.to_lowercase());
        assert_eq!(
            outcome(sqv_decision(Some(0), &twice, "", Signers::AtLeastOne)),
            SignatureOutcome::Good {
                signer: FPR.to_string(),
                signed_text: Vec::new()
            }
        );
        // The upload rule still refuses two signers.
        assert!(matches!(
            outcome(sqv_decision(Some(0), &two, "", Signers::ExactlyOne)),
            SignatureOutcome::Bad { .. }
        ));
        assert!(matches!(
            sqv_decision(
                Some(0),
                &format!("{FPR}\nnot hex\n"),
                "",
                Signers::AtLeastOne
            ),
            Decision::Unintelligible(_)
        ));
        // No good signature: what sqv says is judged as under the upload rule.
        assert_eq!(
            outcome(sqv_decision(
                Some(1),
                "",
                "Missing key 281BA829993AABA9, which is needed to verify signature.\n",
                Signers::AtLeastOne
            )),
            SignatureOutcome::UnknownKey {
                key_id: "281BA829993AABA9".to_string()
            }
        );
    }
}
