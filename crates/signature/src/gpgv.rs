//! GnuPG's `gpgv`: its arguments, and its `--status-fd` lines mapped to an outcome.

use crate::outcome::{is_hex, Decision, SignatureError, SignatureOutcome, Signers};
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
    signers: Signers,
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
    let decision = match signers {
        Signers::ExactlyOne => status.outcome(run.status.success()),
        Signers::AtLeastOne => status.at_least_one(run.status.success()),
    };
    match decision {
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
    /// The same lines again, grouped by signature (each NEWSIG starts one), for the rule that
    /// judges each signature on its own ([`Signers::AtLeastOne`]).
    sigs: Vec<Sig>,
}

/// One signature's status lines: what gpgv concluded about it, and its VALIDSIG.
#[derive(Debug, Default)]
struct Sig {
    /// GOODSIG <keyid>.
    good: Option<String>,
    /// BADSIG, as the reason.
    bad: Option<String>,
    /// EXPKEYSIG / REVKEYSIG / EXPSIG, as the reason: checked, and not good.
    not_good: Option<String>,
    /// ERRSIG: (keyid or fpr, rc).
    error: Option<(String, String)>,
    /// NO_PUBKEY <keyid>.
    no_pubkey: Option<String>,
    /// VALIDSIG.
    valid: Option<Valid>,
}

impl Sig {
    /// Whether gpgv has already said what it thinks of this signature.
    fn has_verdict(&self) -> bool {
        self.good.is_some() || self.bad.is_some() || self.not_good.is_some() || self.error.is_some()
    }
}

/// VALIDSIG <fpr> <date> <time> <expire> <version> <reserved> <pkalgo> <hashalgo> <class>
/// [<primary-fpr>].
#[derive(Debug)]
struct Valid {
    /// The signing (sub)key's fingerprint, which GOODSIG's key id is the tail of.
    signing: String,
    /// The primary key's fingerprint if given, else the signing key's.
    primary: String,
    /// The digest algorithm's number (RFC 4880 9.4).
    hash_algo: String,
}

/// What one signature comes to under [`Signers::AtLeastOne`].
enum Judged {
    Good(String),
    Bad(String),
    /// By a key the keyring holds, but expired, revoked or over a weak digest; apt calls these
    /// worthless, and passes over them when another signature is good.
    NotGood(String),
    Missing(String),
    /// Status lines we cannot make sense of for this signature.
    Unclear(String),
}

/// The digests apt no longer trusts a signature over (its `Digests` table: MD5, SHA-1,
/// RIPEMD-160), by RFC 4880 number, with their names for the report.
fn weak_digest(algo: &str) -> Option<&'static str> {
    match algo {
        "1" => Some("MD5"),
        "2" => Some("SHA-1"),
        "3" => Some("RIPEMD-160"),
        _ => None,
    }
}

impl Sig {
    fn judge(&self) -> Judged {
        if let Some(reason) = &self.bad {
            return Judged::Bad(reason.clone());
        }
        if let Some(reason) = &self.not_good {
            return Judged::NotGood(reason.clone());
        }
        if let Some((key, rc)) = &self.error {
            // rc 9: no public key; NO_PUBKEY after it says the same.
            if rc == "9" || self.no_pubkey.is_some() {
                return Judged::Missing(key.clone());
            }
            return Judged::NotGood(format!(
                "cannot check the signature by key {key}: {} (gpgv ERRSIG code {rc})",
                errsig_reason(rc)
            ));
        }
        if let Some(key) = &self.no_pubkey {
            return Judged::Missing(key.clone());
        }
        match (&self.good, &self.valid) {
            (Some(key), Some(valid)) => {
                // The key id is the fingerprint's tail (or, in newer gpg, the fingerprint): a
                // VALIDSIG about another key than the GOODSIG, or either not hex, is not
                // something we take as this signature's signer.
                // Bytes, not a str slice: a tail cut inside a character must not panic.
                let (signing, id) = (valid.signing.as_bytes(), key.as_bytes());
                let same = is_hex(key)
                    && is_hex(&valid.signing)
                    && signing.len() >= id.len()
                    && signing[signing.len() - id.len()..].eq_ignore_ascii_case(id);
                if !same {
                    return Judged::Unclear(format!(
                        "GOODSIG {key} but VALIDSIG {}",
                        valid.signing
                    ));
                }
                match weak_digest(&valid.hash_algo) {
                    Some(name) => Judged::NotGood(format!(
                        "the signature by key {key} is over the weak digest {name}"
                    )),
                    None => Judged::Good(valid.primary.clone()),
                }
            }
            (Some(_), None) => Judged::Unclear("GOODSIG without VALIDSIG".into()),
            (None, _) => Judged::Unclear("a signature without a verdict".into()),
        }
    }
}

/// What an ERRSIG return code other than 9 (no public key) stands for.
fn errsig_reason(rc: &str) -> &'static str {
    match rc {
        "4" => "unsupported algorithm",
        "5" => "unsupported signature class",
        _ => "error",
    }
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
            let reason = match keyword {
                "BADSIG" => Some(format!(
                    "BAD signature by key {}: the signed text or the signature was altered",
                    field(0)
                )),
                "EXPKEYSIG" => Some(format!("signed by key {}, which has expired", field(0))),
                "REVKEYSIG" => Some(format!("signed by key {}, which is revoked", field(0))),
                "EXPSIG" => Some(format!("the signature by key {} has expired", field(0))),
                _ => None,
            };
            let verdict = matches!(
                keyword,
                "GOODSIG" | "BADSIG" | "EXPKEYSIG" | "REVKEYSIG" | "EXPSIG" | "ERRSIG"
            );
            // NEWSIG starts a signature; so does a second verdict with no NEWSIG between (a
            // gpgv that does not print NEWSIG), so two signatures are never taken for one.
            if keyword == "NEWSIG"
                || (verdict && s.sigs.last().is_none_or(Sig::has_verdict))
                || (matches!(keyword, "VALIDSIG" | "NO_PUBKEY") && s.sigs.is_empty())
            {
                s.sigs.push(Sig::default());
            }
            let sig = s.sigs.last_mut();
            match keyword {
                "NEWSIG" => s.signatures += 1,
                "PLAINTEXT" => s.plaintexts += 1,
                "GOODSIG" => {
                    s.good.push(field(0));
                    if let Some(sig) = sig {
                        sig.good = Some(field(0));
                    }
                }
                "VALIDSIG" => {
                    // Field 10 (index 9) is the primary key's fingerprint when gpg knows it.
                    let primary = fields.get(9).filter(|f| is_hex(f)).or(fields.first());
                    let primary = primary.copied().unwrap_or("?").to_string();
                    s.valid.push(primary.clone());
                    if let Some(sig) = sig {
                        sig.valid = Some(Valid {
                            signing: field(0),
                            primary,
                            hash_algo: field(7),
                        });
                    }
                }
                "BADSIG" => {
                    let reason = reason.unwrap_or_default();
                    s.bad.push(reason.clone());
                    if let Some(sig) = sig {
                        sig.bad = Some(reason);
                    }
                }
                "EXPKEYSIG" | "REVKEYSIG" | "EXPSIG" => {
                    let reason = reason.unwrap_or_default();
                    s.bad.push(reason.clone());
                    if let Some(sig) = sig {
                        sig.not_good = Some(reason);
                    }
                }
                "ERRSIG" => {
                    let fpr = fields.get(6).filter(|f| is_hex(f)).copied();
                    let error = (fpr.map_or_else(|| field(0), str::to_string), field(5));
                    s.errors.push(error.clone());
                    if let Some(sig) = sig {
                        sig.error = Some(error);
                    }
                }
                "NO_PUBKEY" => {
                    s.no_pubkey.push(field(0));
                    if let Some(sig) = sig {
                        sig.no_pubkey.get_or_insert_with(|| field(0));
                    }
                }
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
            let why = errsig_reason(rc);
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

    /// The outcome under apt's rule for a repository ([`Signers::AtLeastOne`]): any BADSIG is
    /// Bad; else one or more good signatures are Good, whatever the others (by keys the keyring
    /// lacks, expired, revoked, over a weak digest); else an expired, revoked or weak one is
    /// Bad, and unknown keys alone are UnknownKey.
    ///
    /// Unlike apt we do not accept what we cannot read: a signature whose status lines make no
    /// sense, or a failing exit status that no passed-over signature explains, is
    /// unintelligible rather than ignored.
    fn at_least_one(&self, exit_ok: bool) -> Decision {
        let bad = |detail: String| Decision::Outcome(SignatureOutcome::Bad { detail });
        let judged: Vec<Judged> = self.sigs.iter().map(Sig::judge).collect();
        if let Some(reason) = judged.iter().find_map(|j| match j {
            Judged::Bad(r) => Some(r),
            _ => None,
        }) {
            return bad(reason.clone());
        }
        if self.plaintexts > 1 {
            return bad("more than one signed text in the file".to_string());
        }
        if let Some(why) = judged.iter().find_map(|j| match j {
            Judged::Unclear(w) => Some(w),
            _ => None,
        }) {
            return Decision::Unintelligible(why.clone());
        }
        let mut good: Vec<&str> = Vec::new();
        for j in &judged {
            if let Judged::Good(fpr) = j {
                if !good.contains(&fpr.as_str()) {
                    good.push(fpr);
                }
            }
        }
        let passed_over = judged
            .iter()
            .any(|j| matches!(j, Judged::NotGood(_) | Judged::Missing(_)));
        if !good.is_empty() {
            // gpgv fails when any signature cannot be checked; that is expected beside a key
            // the keyring lacks, and unexplained otherwise.
            if !exit_ok && !passed_over {
                return Decision::Unintelligible(
                    "good signatures but a failing exit status".into(),
                );
            }
            return Decision::Good {
                signer: good.join(", "),
            };
        }
        for j in &judged {
            if let Judged::NotGood(reason) = j {
                return bad(reason.clone());
            }
        }
        for j in &judged {
            if let Judged::Missing(key) = j {
                return Decision::Outcome(SignatureOutcome::UnknownKey {
                    key_id: key.clone(),
                });
            }
        }
        if self.sigs.is_empty() && !self.nodata.is_empty() {
            // As in the one-signer rule: the framing was checked, so the block is broken.
            return bad(format!(
                "malformed signature: no valid OpenPGP data in the signature block (gpgv NODATA {})",
                self.nodata.join(",")
            ));
        }
        Decision::Unintelligible("no signature status reported".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::testing::{outcome, FPR};

    fn decide(status: &str, ok: bool) -> Decision {
        GpgvStatus::parse(status).outcome(ok)
    }

    fn repo(status: &str, ok: bool) -> Decision {
        GpgvStatus::parse(status).at_least_one(ok)
    }

    /// A second primary fingerprint, and its long key id.
    const FPR2: &str = "C2B7578FF9D8D6ED831E52D64B786DA3C3D5B373";
    const ID2: &str = "4B786DA3C3D5B373";
    const ID: &str = "281BA829993AABA9";

    /// A good signature's status lines by `fpr` (key id `id`) over the digest `hash`.
    fn good(id: &str, fpr: &str, hash: u8) -> String {
        format!(
            "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {id} u <u@x>\n\
             [GNUPG:] VALIDSIG {fpr} 2026-12-03 1796335810 0 4 0 22 {hash} 01 {fpr}\n"
        )
    }

    /// A signature by `fpr`, a key the keyring lacks.
    fn missing(id: &str, fpr: &str) -> String {
        format!(
            "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG {id} 22 8 01 1796335810 9 {fpr}\n\
             [GNUPG:] NO_PUBKEY {id}\n"
        )
    }

    /// A signature by `fpr`, whose key has expired.
    fn expired(id: &str, fpr: &str) -> String {
        format!(
            "[GNUPG:] NEWSIG\n[GNUPG:] KEYEXPIRED 1577923200\n[GNUPG:] EXPKEYSIG {id} e <e@x>\n\
             [GNUPG:] VALIDSIG {fpr} 2020-01-01 1577840400 0 4 0 22 8 01 {fpr}\n"
        )
    }

    fn good_signer(d: Decision) -> String {
        match outcome(d) {
            SignatureOutcome::Good { signer, .. } => signer,
            other => panic!("expected Good, got {other:?}"),
        }
    }

    fn bad_detail(d: Decision) -> String {
        match outcome(d) {
            SignatureOutcome::Bad { detail } => detail,
            other => panic!("expected Bad, got {other:?}"),
        }
    }

    #[test]
    fn at_least_one_takes_every_good_signer_and_passes_over_the_rest() {
        let plain = "[GNUPG:] PLAINTEXT 74 0 \n";
        let both = format!("{plain}{}{}", good(ID, FPR, 8), good(ID2, FPR2, 10));
        assert_eq!(good_signer(repo(&both, true)), format!("{FPR}, {FPR2}"));
        // The upload rule on the same lines: two signers, refused.
        assert!(bad_detail(decide(&both, true)).contains("2 signatures"));

        // One key in the keyring: gpgv fails for the other, and apt ignores it.
        let one = format!("{plain}{}{}", good(ID, FPR, 8), missing(ID2, FPR2));
        assert_eq!(good_signer(repo(&one, false)), FPR);
        let first_missing = format!("{plain}{}{}", missing(ID2, FPR2), good(ID, FPR, 8));
        assert_eq!(good_signer(repo(&first_missing, false)), FPR);

        // Neither: the first unknown key.
        let neither = format!("{plain}{}{}", missing(ID, FPR), missing(ID2, FPR2));
        assert_eq!(
            outcome(repo(&neither, false)),
            SignatureOutcome::UnknownKey {
                key_id: FPR.to_string()
            }
        );

        // An expired key's signature is not good; beside a good one it is passed over.
        assert!(bad_detail(repo(&expired(ID, FPR), true)).contains("expired"));
        let mixed = format!("{}{}", expired(ID, FPR), good(ID2, FPR2, 8));
        assert_eq!(good_signer(repo(&mixed, true)), FPR2);
        // Expired and unknown, nothing good: the expiry is the news.
        let stale = format!("{}{}", missing(ID2, FPR2), expired(ID, FPR));
        assert!(bad_detail(repo(&stale, false)).contains("expired"));
        let revoked = format!("[GNUPG:] NEWSIG\n[GNUPG:] REVKEYSIG {ID} r\n");
        assert!(bad_detail(repo(&revoked, true)).contains("revoked"));

        // A weak digest (SHA-1 is 2, MD5 1) is not good; SHA-256 beside it is.
        assert!(bad_detail(repo(&good(ID, FPR, 2), true)).contains("SHA-1"));
        assert!(bad_detail(repo(&good(ID, FPR, 1), true)).contains("MD5"));
        let weak_and_strong = format!("{}{}", good(ID, FPR, 2), good(ID2, FPR2, 8));
        assert_eq!(good_signer(repo(&weak_and_strong, true)), FPR2);
    }

    #[test]
    fn at_least_one_any_bad_signature_refuses() {
        let bad_one = format!("[GNUPG:] NEWSIG\n[GNUPG:] BADSIG {ID2} b\n");
        for status in [
            format!("{}{bad_one}", good(ID, FPR, 8)),
            format!("{bad_one}{}", good(ID, FPR, 8)),
        ] {
            assert!(bad_detail(repo(&status, false)).contains("BAD"), "{status}");
        }
        let two_texts = format!(
            "[GNUPG:] PLAINTEXT 74 0 \n{}[GNUPG:] PLAINTEXT 74 0 \n",
            good(ID, FPR, 8)
        );
        assert!(bad_detail(repo(&two_texts, true)).contains("more than one"));
        assert!(bad_detail(repo("[GNUPG:] NODATA 3\n", false)).contains("malformed"));
        let unsupported = format!("[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG {ID} 99 8 01 1 4\n");
        assert!(bad_detail(repo(&unsupported, false)).contains("unsupported algorithm"));
    }

    #[test]
    fn at_least_one_does_not_guess() {
        let unclear = |status: &str, ok: bool| {
            assert!(
                matches!(repo(status, ok), Decision::Unintelligible(_)),
                "{status}"
            )
        };
        // Good signatures only, yet gpgv failed: nothing we passed over explains it.
        unclear(&good(ID, FPR, 8), false);
        unclear(&format!("[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {ID} a\n"), true);
        // A VALIDSIG about another key than the GOODSIG before it.
        unclear(
            &format!(
                "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG {ID} a\n\
                 [GNUPG:] VALIDSIG {FPR2} d 1 0 4 0 22 8 01 {FPR2}\n"
            ),
            true,
        );
        unclear("", false);
        // Not hex, not ASCII: judged, never a panic.
        unclear(
            "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG \u{e9}\u{e9} a\n\
             [GNUPG:] VALIDSIG \u{e9}\u{e9}\u{e9} d 1 0 4 0 22 8 01\n",
            true,
        );
        unclear(
            &format!(
                "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG A{ID} a\n[GNUPG:] VALIDSIG \u{e9} d 1 0 4 0 22 8 01\n"
            ),
            true,
        );
        // Two verdicts with no NEWSIG between are two signatures, not one.
        let no_newsig = format!(
            "[GNUPG:] GOODSIG {ID} a\n[GNUPG:] VALIDSIG {FPR} d 1 0 4 0 22 8 01 {FPR}\n\
             [GNUPG:] GOODSIG {ID2} b\n[GNUPG:] VALIDSIG {FPR2} d 1 0 4 0 22 8 01 {FPR2}\n"
        );
        assert_eq!(
            good_signer(repo(&no_newsig, true)),
            format!("{FPR}, {FPR2}")
        );
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
