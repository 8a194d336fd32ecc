//! The SARIF validation step of `cargo xtask ci`: generate SARIF for the fixture release
//! focal-like with a waiver file (so that suppressions appear) and validate it with Microsoft's
//! `sarif-multitool validate`, installed with npm into `target/tools/sarif-multitool` when
//! missing. CI machines have node and npm, so a missing npm fails the step rather than
//! skipping it: an unvalidated SARIF output must not pass.

use crate::util;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "@microsoft/sarif-multitool";

/// The multitool's launcher, installing it first when absent.
fn multitool(root: &Path) -> Result<PathBuf> {
    let dir = util::target_dir(root).join("tools/sarif-multitool");
    let bin = dir.join("node_modules/.bin/sarif-multitool");
    if bin.exists() {
        return Ok(bin);
    }
    if !util::on_path("npm") {
        bail!("npm is not on PATH; install node and npm to validate SARIF ({PACKAGE})");
    }
    std::fs::create_dir_all(&dir)?;
    println!("sarif: installing {PACKAGE} into {}", dir.display());
    let out = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(PACKAGE)
        .output()
        .context("run npm install")?;
    if !out.status.success() || !bin.exists() {
        bail!(
            "npm install {PACKAGE} failed:\n{}",
            util::tail(&out.stderr, 20)
        );
    }
    Ok(bin)
}

/// Generate and validate; Ok(Err(why)) is a validation failure.
pub fn validate(root: &Path) -> Result<std::result::Result<(), String>> {
    let tool = multitool(root)?;
    let debgate = util::build_release_debgate(root)?;
    let out = Command::new(&debgate)
        .current_dir(root)
        .args([
            "check",
            "--format",
            "sarif",
            "--waivers",
            "testdata/waivers/focal-like.toml",
            "testdata/releases/focal-like",
        ])
        .output()
        .context("run debgate check --format sarif")?;
    // Exit 1 is expected: focal-like fails the policy.
    if out.status.code() == Some(2) {
        return Ok(Err(format!(
            "debgate exited 2:\n{}",
            util::tail(&out.stderr, 20)
        )));
    }
    let file = util::target_dir(root).join("tools/focal-like.sarif");
    std::fs::write(&file, &out.stdout)?;
    if !String::from_utf8_lossy(&out.stdout).contains("\"suppressions\"") {
        return Ok(Err("the SARIF output has no suppressions".to_string()));
    }
    let v = Command::new(&tool)
        .arg("validate")
        .arg(&file)
        .output()
        .context("run sarif-multitool validate")?;
    let text = String::from_utf8_lossy(&v.stdout);
    // The multitool reports problems as `file(line,col): error|warning CODE: …`; warnings are
    // advice (a .deb has no line region to point at), errors fail the step.
    if !v.status.success() || text.contains(": error ") {
        return Ok(Err(format!(
            "sarif-multitool validate {} failed:\n{}{}",
            file.display(),
            util::tail(&v.stdout, 30),
            util::tail(&v.stderr, 10)
        )));
    }
    println!("sarif: {} validates", file.display());
    Ok(Ok(()))
}
