//! Verifying a clearsigned `.changes` with an external verifier (gpgv or sqv): we write no crypto.
//!
//! What we do ourselves is only bookkeeping around the verifier:
//!
//! - a structural check of the armour before anything runs, so that a file with text before
//!   `-----BEGIN PGP SIGNED MESSAGE-----` or after `-----END PGP SIGNATURE-----`, or with more
//!   than one signed block, is rejected: gpgv happily says "good signature" for such a file
//!   while a naive parser would read the unsigned text too (dak rejects these for that reason);
//! - running the verifier on a private copy of the bytes we checked (so the file cannot change
//!   between our check and its read), in an empty temporary home, with the keyring named by an
//!   absolute path, stdin closed, and every output going to a file of ours (no pipe to
//!   deadlock on);
//! - mapping what it reports to a [`SignatureOutcome`], and handing back the text the
//!   signature covers *as the verifier wrote it*, which is the only text the caller may parse.

use crate::armour::{self, Framing};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use thiserror::Error;

/// The largest signed `.changes` we verify: the parser's cap, so that what verifies can be
/// parsed. It bounds what we copy and what we read back as signed text.
pub const MAX_SIGNED_BYTES: u64 = crate::changes::MAX_CHANGES_BYTES;

/// The most we read of a verifier's status output or its diagnostics. gpgv writes a few hundred
/// bytes per signature; more than this means something is wrong, not that we should read on.
pub const MAX_VERIFIER_OUTPUT: u64 = 1024 * 1024;

/// The longest `detail` we pass on: one line a human reads in a report.
const MAX_DETAIL_CHARS: usize = 200;

/// Which program verifies, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verifier {
    /// GnuPG's `gpgv`: reports through machine-readable `--status-fd` lines.
    Gpgv(PathBuf),
    /// Sequoia's `sqv`: reports through its exit status, the fingerprints of good signers on
    /// stdout, and prose on stderr. Needs sqv 1.3 or later for `--cleartext`.
    Sqv(PathBuf),
}

impl Verifier {
    /// Look for `gpgv`, then `sqv`, in `$PATH`. gpgv is preferred because its status lines say
    /// exactly what happened; sqv's failures are prose. `None` if neither is installed.
    pub fn find() -> Option<Verifier> {
        Self::find_in(&std::env::var_os("PATH")?)
    }

    /// [`Verifier::find`] over an explicit search path (same syntax as `$PATH`).
    pub fn find_in(search_path: &OsStr) -> Option<Verifier> {
        if let Some(p) = find_program(search_path, "gpgv") {
            return Some(Verifier::Gpgv(p));
        }
        find_program(search_path, "sqv").map(Verifier::Sqv)
    }

    /// The program's name, for messages: `gpgv` or `sqv`.
    pub fn name(&self) -> &'static str {
        match self {
            Verifier::Gpgv(_) => "gpgv",
            Verifier::Sqv(_) => "sqv",
        }
    }

    /// Where the program is.
    pub fn program(&self) -> &Path {
        match self {
            Verifier::Gpgv(p) | Verifier::Sqv(p) => p,
        }
    }
}

/// The first executable regular file called `name` in the directories of `search_path`.
fn find_program(search_path: &OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        // An empty entry means the current directory to a shell; running a verifier found
        // there would let whoever controls the working directory decide what "good" means.
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|p| is_executable_file(p))
}

#[cfg(unix)]
fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable_file(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// What the verifier says about a `.changes`. Only [`SignatureOutcome::Good`] carries text, and
/// that text is the only part of the file that is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureOutcome {
    /// Verified. `signer` is the primary key's fingerprint as the verifier reports it (upper-case
    /// hex, no spaces). `signed_text` is the text the signature covers, as the verifier wrote
    /// it out, dash-unescaped; the caller parses *this*, so nothing outside the signature can
    /// be smuggled in.
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
    /// gpgv 2 reads binary keyrings (and keyboxes) only; an armoured one would make every
    /// signature look like an unknown key.
    #[error(
        "keyring {0}: ASCII-armoured; gpgv needs a binary keyring (convert with gpg --dearmor)"
    )]
    ArmouredKeyring(PathBuf),
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

    let Some(bytes) = read_capped(changes, MAX_SIGNED_BYTES).map_err(SignatureError::Read)? else {
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
        Verifier::Gpgv(program) => run_gpgv(program, &keyring, &input, dir.path()),
        Verifier::Sqv(program) => run_sqv(program, &keyring, &input, dir.path()),
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

/// The whole file, or `None` if it is longer than `limit`.
fn read_capped(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
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

/// What a verifier run leaves us: its exit status, stdout and stderr.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Run `program args...` with stdin closed, stdout and stderr into files in `dir`, and the
/// C locale so its prose is English and its formats stable.
fn run(
    verifier: &'static str,
    program: &Path,
    args: &[&OsStr],
    dir: &Path,
    tag: &str,
) -> Result<Run, SignatureError> {
    let temp_err = |source| SignatureError::Temp { verifier, source };
    let out_path = dir.join(format!("{tag}.stdout"));
    let err_path = dir.join(format!("{tag}.stderr"));
    let stdout = File::create(&out_path).map_err(temp_err)?;
    let stderr = File::create(&err_path).map_err(temp_err)?;
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .env("LC_ALL", "C")
        .env_remove("LANGUAGE")
        .status()
        .map_err(|source| SignatureError::Spawn {
            program: program.to_path_buf(),
            source,
        })?;
    let read = |p: &Path| -> Result<String, SignatureError> {
        let bytes = read_capped(p, MAX_VERIFIER_OUTPUT)
            .map_err(temp_err)?
            .ok_or_else(|| SignatureError::Unintelligible {
                verifier,
                detail: format!("more than {} KiB of output", MAX_VERIFIER_OUTPUT >> 10),
            })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    Ok(Run {
        status,
        stdout: read(&out_path)?,
        stderr: read(&err_path)?,
    })
}

/// The signed text the verifier wrote to `path`, capped (it cannot be longer than the input,
/// but we do not take a program's word for that).
fn read_signed_text(verifier: &'static str, path: &Path) -> Result<Vec<u8>, SignatureError> {
    read_capped(path, MAX_SIGNED_BYTES)
        .map_err(|source| SignatureError::Temp { verifier, source })?
        .ok_or_else(|| SignatureError::Unintelligible {
            verifier,
            detail: "signed text larger than the file it came from".to_string(),
        })
}

fn run_gpgv(
    program: &Path,
    keyring: &Path,
    input: &Path,
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
    // Status lines go to stdout (fd 1) and the signed text to a file: the two never mix, so a
    // line in the signed text can never pass for a status line.
    let args: [&OsStr; 10] = [
        "--homedir".as_ref(),
        home.as_os_str(),
        "--keyring".as_ref(),
        keyring.as_os_str(),
        "--status-fd".as_ref(),
        "1".as_ref(),
        "--output".as_ref(),
        output.as_os_str(),
        "--".as_ref(),
        input.as_os_str(),
    ];
    let run = run("gpgv", program, &args, dir, "gpgv")?;
    let status = GpgvStatus::parse(&run.stdout);
    match status.outcome(run.status.success()) {
        Decision::Outcome(o) => Ok(o),
        Decision::Good { signer } => Ok(SignatureOutcome::Good {
            signer,
            signed_text: read_signed_text("gpgv", &output)?,
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

enum Decision {
    Outcome(SignatureOutcome),
    Good { signer: String },
    Unintelligible(String),
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

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn describe_exit(status: ExitStatus) -> String {
    match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    }
}

/// `"; " + ` the last non-blank line of a program's stderr, made safe for one line.
fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| format!("; {}", one_line(l)))
        .unwrap_or_default()
}

/// `s` as one harmless line: control and bidirectional-override characters escaped (a hostile
/// user id must not rewrite a terminal line), length capped by characters so that no
/// character is cut in two.
fn one_line(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if out.chars().count() > MAX_DETAIL_CHARS {
        out = out.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "…";
    }
    out
}

/// sqv, best effort: sqv has no status protocol, so this follows its documented CLI and what
/// apt's sqv method relies on:
///
/// - `sqv --keyring FILE --cleartext --output OUT FILE` (sqv 1.3+; older sqv verifies detached
///   signatures only, which we detect from `--help` and report as [`SignatureError::Unsupported`]);
/// - exit status 0 when enough signatures (one, by default) are good, and then the fingerprint
///   of each good signer's certificate on stdout, one per line (apt reads them the same way);
/// - a failing exit status with prose on stderr otherwise; usage errors exit with 2 (clap).
///
/// Uncertain, since sqv is not tested here: the wording of its failure messages. We look for
/// "Missing key" (sqv's verbose note for a signature whose key is not in the keyring) to report
/// an unknown key, and otherwise report its last stderr line as a bad signature. Unlike gpgv,
/// sqv counts good signatures and may accept a file with one good signature and another by an
/// unknown key; we cannot see that second signature.
fn run_sqv(
    program: &Path,
    keyring: &Path,
    input: &Path,
    dir: &Path,
) -> Result<SignatureOutcome, SignatureError> {
    let help = run("sqv", program, &["--help".as_ref()], dir, "sqv-help")?;
    let help_text = format!("{}{}", help.stdout, help.stderr);
    if !help_text.contains("--cleartext") {
        return Err(SignatureError::Unsupported(program.to_path_buf()));
    }

    let output = dir.join("sqv.out");
    let mut args: Vec<OsString> = Vec::new();
    if help_text.contains("--verbose") {
        // Verbose makes sqv say why each signature failed, which is how we tell an unknown key.
        args.push("--verbose".into());
    }
    args.extend([
        "--keyring".into(),
        keyring.as_os_str().to_owned(),
        "--cleartext".into(),
        "--output".into(),
        output.as_os_str().to_owned(),
        input.as_os_str().to_owned(),
    ]);
    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    let run = run("sqv", program, &args, dir, "sqv")?;
    match sqv_decision(run.status.code(), &run.stdout, &run.stderr) {
        Decision::Outcome(o) => Ok(o),
        Decision::Good { signer } => Ok(SignatureOutcome::Good {
            signer,
            signed_text: read_signed_text("sqv", &output)?,
        }),
        Decision::Unintelligible(why) => Err(SignatureError::Unintelligible {
            verifier: "sqv",
            detail: why,
        }),
    }
}

/// sqv's exit status and outputs, mapped. Kept apart from running it so it can be tested
/// without sqv.
fn sqv_decision(code: Option<i32>, stdout: &str, stderr: &str) -> Decision {
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
                many => Decision::Outcome(SignatureOutcome::Bad {
                    detail: format!("{} signers; a .changes has exactly one", many.len()),
                }),
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

    fn decide(status: &str, ok: bool) -> Decision {
        GpgvStatus::parse(status).outcome(ok)
    }

    fn outcome(d: Decision) -> SignatureOutcome {
        match d {
            Decision::Outcome(o) => o,
            Decision::Good { signer } => SignatureOutcome::Good {
                signer,
                signed_text: Vec::new(),
            },
            Decision::Unintelligible(why) => panic!("unintelligible: {why}"),
        }
    }

    const FPR: &str = "FFFCB8AD3888D36110659B3F281BA829993AABA9";

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

    #[test]
    fn sqv_mapping() {
        assert_eq!(
            outcome(sqv_decision(
                Some(0),
                &format!("{}\n", FPR.to_lowercase()),
                ""
            )),
            SignatureOutcome::Good {
                signer: FPR.to_string(),
                signed_text: Vec::new()
            }
        );
        assert!(matches!(
            outcome(sqv_decision(Some(0), &format!("{FPR}\n1111\n"), "")),
            SignatureOutcome::Bad { .. }
        ));
        assert!(matches!(
            sqv_decision(Some(0), "", ""),
            Decision::Unintelligible(_)
        ));
        assert_eq!(
            outcome(sqv_decision(
                Some(1),
                "",
                "Missing key 281BA829993AABA9, which is needed to verify signature.\n\
                 Error: 0 of 1 signatures are valid (threshold is: 1).\n"
            )),
            SignatureOutcome::UnknownKey {
                key_id: "281BA829993AABA9".to_string()
            }
        );
        assert_eq!(
            outcome(sqv_decision(Some(1), "", "Error: Signature is bad\n")),
            SignatureOutcome::Bad {
                detail: "sqv: Error: Signature is bad".to_string()
            }
        );
        assert!(matches!(
            sqv_decision(Some(2), "", "error: unexpected argument '--cleartext'\n"),
            Decision::Unintelligible(_)
        ));
        assert!(matches!(
            sqv_decision(None, "", ""),
            Decision::Unintelligible(_)
        ));
    }

    #[test]
    fn details_are_one_capped_line() {
        let l = one_line("a\nb\u{202e}c");
        assert!(!l.contains('\n') && !l.contains('\u{202e}'));
        assert!(one_line(&"x".repeat(1000)).chars().count() <= MAX_DETAIL_CHARS + 1);
    }
}
