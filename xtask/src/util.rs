//! Helpers shared by the subcommands: where the workspace is, running cargo and other tools,
//! building the release `debgate` binary.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root: xtask lives one directory below it. Taken from the compile-time manifest
/// path so that the tests under `xtask/tests/` and `cargo xtask` agree wherever they run from.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.to_path_buf())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when the developer shares one, else `target/`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    }
}

/// The cargo that runs us (`cargo run` sets `CARGO`), so nested builds use the same toolchain
/// as the outer one instead of whatever `cargo` is first on PATH.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    Command::new(program)
}

/// Whether `program` can be found on PATH (what `command -v` answers for a program).
pub fn on_path(program: &str) -> bool {
    let Some(paths) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&paths).any(|dir| {
        let candidate = dir.join(program);
        candidate.metadata().is_ok_and(|m| {
            m.is_file() && std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
        })
    })
}

/// Builds `debgate` in release mode and returns the executable's path, read from cargo's JSON
/// messages rather than guessed, so a shared `CARGO_TARGET_DIR` or a cross target still works.
///
/// `XTASK_DEBGATE=/path/to/debgate` skips the build and uses that binary instead: for trying a
/// debug build, or a stand-in while developing the corpus expectations themselves.
pub fn build_release_debgate(root: &Path) -> Result<PathBuf> {
    if let Some(exe) = std::env::var_os("XTASK_DEBGATE").filter(|v| !v.is_empty()) {
        eprintln!("using XTASK_DEBGATE={}", Path::new(&exe).display());
        return Ok(PathBuf::from(exe));
    }
    eprintln!("building: cargo build --release -p debgate");
    let output = cargo()
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "debgate",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!(
            "cargo build --release -p debgate failed ({})",
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let is_bin = msg["reason"] == "compiler-artifact"
            && msg["target"]["name"] == "debgate"
            && msg["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|x| x == "bin"));
        if let (true, Some(exe)) = (is_bin, msg["executable"].as_str()) {
            return Ok(PathBuf::from(exe));
        }
    }
    bail!("cargo build reported no `debgate` executable")
}

/// Folds the usrmerge aliases (`/bin`, `/sbin`, `/lib*` → `/usr/...`) so that a package that
/// still ships `/bin/x` and a report that says `/usr/bin/x` compare equal.
pub fn usrmerge_canonical(path: &str) -> String {
    let merged = ["/bin/", "/sbin/", "/lib"];
    if merged.iter().any(|p| path.starts_with(p)) {
        format!("/usr{path}")
    } else {
        path.to_string()
    }
}

/// Last lines of a tool's output, for error messages that stay readable.
pub fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usrmerge_folds_only_the_aliases() {
        assert_eq!(usrmerge_canonical("/bin/ping"), "/usr/bin/ping");
        assert_eq!(usrmerge_canonical("/lib64/ld.so"), "/usr/lib64/ld.so");
        assert_eq!(usrmerge_canonical("/usr/bin/ping"), "/usr/bin/ping");
        assert_eq!(usrmerge_canonical("/binary"), "/binary");
        assert_eq!(usrmerge_canonical("/etc/x"), "/etc/x");
    }
}
