//! GnuPG's `gpgv`: its arguments, and its `--status-fd` lines mapped to an outcome.

use crate::outcome::{is_hex, Decision, SignatureError, SignatureOutcome};
use crate::process::{describe_exit, last_line, read_signed_text, Input};
use std::ffi::OsStr;
use std::io;
use std::path::Path;

/// Run gpgv on `input` against `keyring`, in a home of its own under `dir`.
pub(crate) fn run(
    program: &Path,
    keyring: &Path,
    input: Input<'_>,
    dir: &Path,
) -> Result<SignatureOutcome, SignatureError> {
    // An empty home of our own: the user's ~/.gnupg, its trustedkeys.kbx and its gpg.conf are
    // never consulted, so the keyring we name is the only source of keys.
    let home = dir.join("home");
    make_private_dir(&home).map_err(|source| SignatureError::Temp {
        verifier: "gpgv",
        source,
    })?;
    let output = dir.join("gpgv.out");
    let mut args: Vec<&OsStr> = vec![
        "--homedir".as_ref(),
        home.as_os_str(),
        "--keyring".as_ref(),
        keyring.as_os_str(),
        "--status-fd".as_ref(),
        "1".as_ref(),
    ];
    match input {
        Input::Clearsigned(file) => {
            // Status lines go to stdout (fd 1) and the signed text to a file: the two never
            // mix, so a line in the signed text can never pass for a status line.
            args.extend::<[&OsStr; 4]>([
                "--output".as_ref(),
                output.as_os_str(),
                "--".as_ref(),
                file.as_os_str(),
            ]);
        }
        Input::Detached { signature, data } => {
            args.extend::<[&OsStr; 3]>(["--".as_ref(), signature.as_os_str(), data.as_os_str()]);
        }
    }
    let run = crate::process::run("gpgv", program, &args, dir, "gpgv")?;
    let status = GpgvStatus::parse(&run.stdout);
    match status.outcome(run.status.success()) {
        Decision::Outcome(o) => Ok(o),
        Decision::Good { signer } => Ok(SignatureOutcome::Good {
            signer,
            // Detached: the signed text is our private copy of the data, the bytes gpgv read.
            signed_text: read_signed_text(
                "gpgv",
                match input {
                    Input::Clearsigned(_) => &output,
                    Input::Detached { data, .. } => data,
                },
            )?,
        }),
        Decision::Unintelligible(why) => Err(SignatureError::Unintelligible {
            verifier: "gpgv",
            detail: format!(
                "{why} ({}{})",
                describe_exit(run.status),
                last_line(&run.stderr)
            ),
        }),
    }
}

#[cfg(unix)]
fn make_private_dir(p: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // 0700 as gpg wants its home, or it warns about unsafe permissions on stderr.
    std::fs::DirBuilder::new().mode(0o700).create(p)
}

#[cfg(not(unix))]
fn make_private_dir(p: &Path) -> io::Result<()> {
    std::fs::create_dir(p)
}

/// What gpgv's `--status-fd` lines say, gathered. See GnuPG's `doc/DETAILS`.
#[derive(Debug, Default)]
struct GpgvStatus {
    /// NEWSIG: one per signature gpgv starts to check.
    signatures: usize,
    /// PLAINTEXT: one per signed text.
    plaintexts: usize,
    /// GOODSIG <keyid> <uid>.
    good: Vec<String>,
    /// VALIDSIG <fpr> ... [<primary-fpr>]: the primary fingerprint if given, else the signing
    /// key's.
    valid: Vec<String>,
    /// BADSIG / EXPKEYSIG / REVKEYSIG / EXPSIG <keyid> <uid>, as a reason each.
    bad: Vec<String>,
    /// ERRSIG <keyid> <pkalgo> <hashalgo> <class> <time> <rc> [<fpr>]: (keyid or fpr, rc).
    errors: Vec<(String, String)>,
    /// NO_PUBKEY <keyid>.
    no_pubkey: Vec<String>,
    /// NODATA <what>.
    nodata: Vec<String>,
}

impl GpgvStatus {
    fn parse(text: &str) -> GpgvStatus {
        let mut s = GpgvStatus::default();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("[GNUPG:] ") else {
                continue;
            };
            let mut f = rest.split(' ');
            let keyword = f.next().unwrap_or_default();
            let fields: Vec<&str> = f.collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or("?").to_string();
            match keyword {
                "NEWSIG" => s.signatures += 1,
                "PLAINTEXT" => s.plaintexts += 1,
                "GOODSIG" => s.good.push(field(0)),
                "VALIDSIG" => {
                    // Field 10 (index 9) is the primary key's fingerprint when gpg knows it.
                    let primary = fields.get(9).filter(|f| is_hex(f)).or(fields.first());
                    s.valid.push(primary.copied().unwrap_or("?").to_string());
                }
                "BADSIG" => s.bad.push(format!(
                    "BAD signature by key {}: the signed text or the signature was altered",
                    field(0)
                )),
                "EXPKEYSIG" => s
                    .bad
                    .push(format!("signed by key {}, which has expired", field(0))),
                "REVKEYSIG" => s
                    .bad
                    .push(format!("signed by key {}, which is revoked", field(0))),
                "EXPSIG" => s
                    .bad
                    .push(format!("the signature by key {} has expired", field(0))),
                "ERRSIG" => {
                    let fpr = fields.get(6).filter(|f| is_hex(f)).copied();
                    s.errors
                        .push((fpr.map_or_else(|| field(0), str::to_string), field(5)));
                }
                "NO_PUBKEY" => s.no_pubkey.push(field(0)),
                "NODATA" => s.nodata.push(field(0)),
                _ => {}
            }
        }
        s
    }

    /// The outcome. Good needs exit status 0, exactly one signature, a GOODSIG and a VALIDSIG,
    /// and nothing bad; anything bad wins over anything good.
    fn outcome(&self, exit_ok: bool) -> Decision {
        let bad = |detail: String| Decision::Outcome(SignatureOutcome::Bad { detail });
        if let Some(reason) = self.bad.first() {
            return bad(reason.clone());
        }
        if self.signatures > 1 || self.good.len() > 1 || self.valid.len() > 1 {
            // gpg accepts several signatures in one armour block; which one "signed the
            // upload"? dak wants one signer, and so do we.
            return bad(format!(
                "{} signatures; a .changes has exactly one signer",
                self.signatures.max(self.good.len()).max(self.valid.len())
            ));
        }
        if self.plaintexts > 1 {
            return bad("more than one signed text in the file".to_string());
        }
        if let Some((key, rc)) = self.errors.first() {
            // rc 9: no public key. NO_PUBKEY says the same; either will do.
            if rc == "9" || !self.no_pubkey.is_empty() {
                return Decision::Outcome(SignatureOutcome::UnknownKey {
                    key_id: key.clone(),
                });
            }
            let why = match rc.as_str() {
                "4" => "unsupported algorithm",
                "5" => "unsupported signature class",
                _ => "error",
            };
            return bad(format!(
                "cannot check the signature by key {key}: {why} (gpgv ERRSIG code {rc})"
            ));
        }
        if let Some(key) = self.no_pubkey.first() {
            return Decision::Outcome(SignatureOutcome::UnknownKey {
                key_id: key.clone(),
            });
        }
        if self.signatures == 0 && !self.nodata.is_empty() {
            // The armour framing was checked before gpgv ran, so no data here means the
            // signature block itself is broken (bad base64, not a signature packet).
            return bad(format!(
                "malformed signature: no valid OpenPGP data in the signature block (gpgv NODATA {})",
                self.nodata.join(",")
            ));
        }
        match (self.good.first(), self.valid.first()) {
            (Some(_), Some(fpr)) if exit_ok => Decision::Good {
                signer: fpr.clone(),
            },
            (Some(_), Some(_)) => {
                Decision::Unintelligible("GOODSIG and VALIDSIG but a failing exit status".into())
            }
            (Some(_), None) => Decision::Unintelligible("GOODSIG without VALIDSIG".into()),
            _ => Decision::Unintelligible("no signature status reported".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::testing::{outcome, FPR};

    fn decide(status: &str, ok: bool) -> Decision {
        GpgvStatus::parse(status).outcome(ok)
    }

    #[test]
    fn gpgv_good_needs_goodsig_validsig_and_success() {
        let good = format!(
            "[GNUPG:] PLAINTEXT 74 0 \n[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 281BA829993AABA9 a <a@b>\n\
             [GNUPG:] VALIDSIG 1111111111111111111111111111111111111111 2026-11-28 1 0 4 0 22 8 01 {FPR}\n"
        );
        assert_eq!(
            outcome(decide(&good, true)),
            SignatureOutcome::Good {
                signer: FPR.to_string(),
                signed_text: Vec::new()
            }
        );
        assert!(matches!(decide(&good, false), Decision::Unintelligible(_)));
        assert!(matches!(
            decide(
                "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 281BA829993AABA9 a\n",
                true
            ),
            Decision::Unintelligible(_)
        ));
        assert!(matches!(decide("", false), Decision::Unintelligible(_)));
    }

    #[test]
    fn gpgv_bad_statuses_say_why() {
        let o = |s: &str| outcome(decide(s, false));
        let detail = |s: &str| match o(s) {
            SignatureOutcome::Bad { detail } => detail,
            other => panic!("expected Bad, got {other:?}"),
        };
        assert!(detail("[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 281BA829993AABA9 a\n").contains("BAD"));
        assert!(detail(&format!(
            "[GNUPG:] NEWSIG\n[GNUPG:] EXPKEYSIG 281BA829993AABA9 a\n[GNUPG:] VALIDSIG {FPR}\n"
        ))
        .contains("expired"));
        assert!(
            detail("[GNUPG:] NEWSIG\n[GNUPG:] REVKEYSIG 281BA829993AABA9 a\n").contains("revoked")
        );
        assert!(
            detail("[GNUPG:] NEWSIG\n[GNUPG:] EXPSIG 281BA829993AABA9 a\n").contains("signature")
        );
        assert!(
            detail("[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 281BA829993AABA9 99 8 01 1 4\n")
                .contains("unsupported algorithm")
        );
        assert!(detail("[GNUPG:] NODATA 3\n").contains("malformed"));
        // Two signatures, even both good: not one signer.
        let two = format!(
            "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG A a\n[GNUPG:] VALIDSIG {FPR}\n\
             [GNUPG:] NEWSIG\n[GNUPG:] GOODSIG B b\n[GNUPG:] VALIDSIG {FPR}\n"
        );
        assert!(matches!(
            outcome(decide(&two, true)),
            SignatureOutcome::Bad { .. }
        ));
    }

    #[test]
    fn gpgv_unknown_key_prefers_the_fingerprint() {
        let with_fpr = format!(
            "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 281BA829993AABA9 22 8 01 1795878839 9 {FPR}\n\
             [GNUPG:] NO_PUBKEY 281BA829993AABA9\n"
        );
        assert_eq!(
            outcome(decide(&with_fpr, false)),
            SignatureOutcome::UnknownKey {
                key_id: FPR.to_string()
            }
        );
        let without = "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 281BA829993AABA9 22 8 01 1795878839 9 -\n";
        assert_eq!(
            outcome(decide(without, false)),
            SignatureOutcome::UnknownKey {
                key_id: "281BA829993AABA9".to_string()
            }
        );
    }
}
