//! The host programs the sandbox borrows (read-only bind mounts) and the libraries they need.
//!
//! Found once per process: each tool by name in the host's `/usr/bin`, `/usr/sbin`, `/bin`,
//! `/sbin`, and the shared objects of all of them from one `ldd` call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Tools the oracle cannot work without: the shell, the privilege commands it wraps, and what
/// the driver itself uses to unpack files and record their state.
pub const REQUIRED: &[&str] = &[
    "dash", "chmod", "chown", "chgrp", "install", "setcap", "getcap", "stat", "find", "grep",
    "xargs", "timeout", "mv", "ln", "rm", "mkdir", "cat", "getent",
];

/// Further real tools that maintainer scripts commonly call; bound when the host has them.
/// Anything else a script names becomes a stub (see `sandbox`).
pub const OPTIONAL: &[&str] = &[
    "bash",
    "cp",
    "rmdir",
    "touch",
    "readlink",
    "realpath",
    "basename",
    "dirname",
    "head",
    "tail",
    "cut",
    "tr",
    "sort",
    "uniq",
    "wc",
    "sed",
    "id",
    "env",
    "true",
    "false",
    "sleep",
    "expr",
    "tee",
    "ls",
    "awk",
    "seq",
    "date",
    "uname",
    "mktemp",
    "whoami",
    "cmp",
    "md5sum",
    "sha256sum",
    "yes",
    "sync",
    "nproc",
    "printf",
    "echo",
    "test",
];

#[derive(Debug, Clone)]
pub struct HostTools {
    /// (name, host path) of every tool found.
    pub tools: Vec<(String, PathBuf)>,
    /// Shared objects and the program interpreter, as `ldd` names them (the path the loader
    /// opens, so the sandbox must have it at the same place).
    pub libs: Vec<PathBuf>,
    /// `bwrap`.
    pub bwrap: PathBuf,
    /// The host's `timeout`, which bounds a whole sandbox run from outside.
    pub timeout: PathBuf,
}

impl HostTools {
    pub fn tool(&self, name: &str) -> Option<&Path> {
        self.tools
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.as_path())
    }
}

fn find_tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// The host tools, found once per process.
pub fn host_tools() -> Result<&'static HostTools, String> {
    static TOOLS: OnceLock<Result<HostTools, String>> = OnceLock::new();
    TOOLS.get_or_init(discover).as_ref().map_err(Clone::clone)
}

fn discover() -> Result<HostTools, String> {
    let bwrap = find_tool("bwrap").ok_or("bwrap (bubblewrap) is not installed")?;
    let mut tools = Vec::new();
    let mut missing = Vec::new();
    for name in REQUIRED {
        match find_tool(name) {
            Some(p) => tools.push((name.to_string(), p)),
            None => missing.push(*name),
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "host tools missing: {} (setcap/getcap come with libcap2-bin)",
            missing.join(", ")
        ));
    }
    for name in OPTIONAL {
        if let Some(p) = find_tool(name) {
            tools.push((name.to_string(), p));
        }
    }
    // Resolve alternatives (`awk` -> mawk): bind the real program, not a link into /etc.
    for (_, p) in &mut tools {
        if let Ok(real) = std::fs::canonicalize(&*p) {
            *p = real;
        }
    }
    let timeout = tools
        .iter()
        .find(|(n, _)| n == "timeout")
        .map(|(_, p)| p.clone())
        .ok_or("no timeout")?;

    let ldd = find_tool("ldd").ok_or("ldd is not installed (libc-bin)")?;
    let out = Command::new(ldd)
        .args(tools.iter().map(|(_, p)| p))
        .output()
        .map_err(|e| format!("running ldd: {e}"))?;
    let mut libs = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line = line.trim();
        // `ldd A B` heads each program's list with `A:`.
        if line.ends_with(':') {
            continue;
        }
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.trim(),
            None => line,
        };
        let path = path.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            libs.insert(PathBuf::from(path));
        }
    }
    if libs.is_empty() {
        return Err("ldd listed no shared objects for the host tools".into());
    }
    Ok(HostTools {
        tools,
        libs: libs.into_iter().collect(),
        bwrap,
        timeout,
    })
}

/// Where a host path lands in the sandbox's merged-/usr root: `/lib/x` is `/usr/lib/x` there
/// (the sandbox's `/lib` is a link), so bind mounts target the `/usr` spelling.
pub fn merged_usr(path: &Path) -> PathBuf {
    let s = path.to_string_lossy();
    // The aliases themselves are links: a package's `/bin` directory is `/usr/bin` there.
    if ["/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"].contains(&s.as_ref()) {
        return PathBuf::from(format!("/usr{s}"));
    }
    for alias in ["/bin/", "/sbin/", "/lib/", "/lib64/", "/lib32/", "/libx32/"] {
        if let Some(rest) = s.strip_prefix(alias) {
            return PathBuf::from(format!("/usr{alias}{rest}"));
        }
    }
    path.to_path_buf()
}
