//! The SARIF validation step of `cargo xtask ci`: generate SARIF for the fixture release
//! focal-like with a waiver file (so that suppressions appear) and for a broken upload, and
//! validate each with Microsoft's
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

/// What the SARIF step validates: (name, debgate check arguments, text the output must hold).
/// focal-like with a waiver file shows suppressions; a broken upload shows the built-in upload
/// checks as rules and results pointing at a `.changes`.
const CASES: [(&str, &[&str], &str); 2] = [
    (
        "focal-like",
        &[
            "--waivers",
            "testdata/waivers/focal-like.toml",
            "testdata/releases/focal-like",
        ],
        "\"suppressions\"",
    ),
    (
        "upload-checksum-mismatch",
        &["testdata/uploads/checksum-mismatch"],
        "\"changes-checksum-mismatch\"",
    ),
];

/// Generate and validate; Ok(Err(why)) is a validation failure.
pub fn validate(root: &Path) -> Result<std::result::Result<(), String>> {
    let tool = multitool(root)?;
    let debgate = util::build_release_debgate(root)?;
    for (name, args, must_hold) in CASES {
        let out = Command::new(&debgate)
            .current_dir(root)
            .args(["check", "--format", "sarif"])
            .args(args)
            .output()
            .context("run debgate check --format sarif")?;
        // Exit 1 is expected: each case fails something.
        if out.status.code() == Some(2) {
            return Ok(Err(format!(
                "{name}: debgate exited 2:\n{}",
                util::tail(&out.stderr, 20)
            )));
        }
        let file = util::target_dir(root).join(format!("tools/{name}.sarif"));
        std::fs::write(&file, &out.stdout)?;
        if !String::from_utf8_lossy(&out.stdout).contains(must_hold) {
            return Ok(Err(format!("{name}: the SARIF output has no {must_hold}")));
        }
        let v = Command::new(&tool)
            .arg("validate")
            .arg(&file)
            .output()
            .context("run sarif-multitool validate")?;
        let text = String::from_utf8_lossy(&v.stdout);
        // The multitool reports problems as `file(line,col): error|warning CODE: …`; warnings
        // are advice (a .deb has no line region to point at), errors fail the step.
        if !v.status.success() || text.contains(": error ") {
            return Ok(Err(format!(
                "sarif-multitool validate {} failed:\n{}{}",
                file.display(),
                util::tail(&v.stdout, 30),
                util::tail(&v.stderr, 10)
            )));
        }
        println!("sarif: {} validates", file.display());
    }
    Ok(Ok(()))
}
