//! Running a verifier program: stdin closed, every output into a file of ours with its size
//! bounded, and what it prints made into one harmless line for a report.

use crate::outcome::SignatureError;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// The most we read of a verifier's status output or its diagnostics. gpgv writes a few hundred
/// bytes per signature; more than this means something is wrong, not that we should read on.
pub const MAX_VERIFIER_OUTPUT: u64 = 1024 * 1024;

/// The longest `detail` we pass on: one line a human reads in a report.
const MAX_DETAIL_CHARS: usize = 200;

/// The whole file, or `None` if it is longer than `limit`.
pub(crate) fn read_capped(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// What a verifier is given: a clearsigned file, whose signed text it writes out, or a detached
/// signature and the file it signs (apt's `Release.gpg` and `Release`), which it only checks.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    Clearsigned(&'a Path),
    Detached { signature: &'a Path, data: &'a Path },
}

/// What a verifier run leaves us: its exit status, stdout and stderr.
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Run `program args...` with stdin closed, stdout and stderr into files in `dir`, and the
/// C locale so its prose is English and its formats stable.
pub(crate) fn run(
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
pub(crate) fn read_signed_text(
    verifier: &'static str,
    path: &Path,
) -> Result<Vec<u8>, SignatureError> {
    read_capped(path, crate::MAX_SIGNED_BYTES)
        .map_err(|source| SignatureError::Temp { verifier, source })?
        .ok_or_else(|| SignatureError::Unintelligible {
            verifier,
            detail: "signed text larger than the file it came from".to_string(),
        })
}

pub(crate) fn describe_exit(status: ExitStatus) -> String {
    match status.code() {
        Some(c) => format!("exit status {c}"),
        None => "killed by a signal".to_string(),
    }
}

/// `"; " + ` the last non-blank line of a program's stderr, made safe for one line.
pub(crate) fn last_line(stderr: &str) -> String {
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
pub(crate) fn one_line(s: &str) -> String {
    // The escaping is everyone's (facts::text); the cap is ours: a verifier's report can be long.
    let out = debgate_facts::text::one_line(s);
    if out.chars().count() > MAX_DETAIL_CHARS {
        return out.chars().take(MAX_DETAIL_CHARS).collect::<String>() + "…";
    }
    out.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_one_capped_line() {
        let l = one_line("a\nb\u{202e}c");
        assert!(!l.contains('\n') && !l.contains('\u{202e}'));
        assert!(one_line(&"x".repeat(1000)).chars().count() <= MAX_DETAIL_CHARS + 1);
    }
}
