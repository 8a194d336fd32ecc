//! Which verifier program to run, and finding it in `$PATH`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

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
