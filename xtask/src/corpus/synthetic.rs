//! `[[synthetic]]` packages: a corpus package with text put into its postinst, built with
//! dpkg-deb (test code, under target/; debgate itself never unpacks).

use super::spec::SyntheticSpec;
use crate::util::tail;
use anyhow::{bail, Context, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run a command, failing with its standard error when it exits non-zero.
fn run_ok(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} exited with {}: {}",
            out.status,
            tail(&out.stderr, 5)
        );
    }
    Ok(())
}

/// Build a `[[synthetic]]` package: the corpus package unpacked with `dpkg-deb -R` (test code,
/// in target/; debgate itself never unpacks), its postinst given the text after its first line,
/// and packed again with `dpkg-deb -b`.
pub(super) fn synthesize(root: &Path, s: &SyntheticSpec, base: &Path) -> Result<PathBuf> {
    let work = root.join("target/corpus-synthetic").join(&s.name);
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("clear {}", work.display()))?;
    }
    fs::create_dir_all(&work)?;
    let tree = work.join("tree");
    run_ok(Command::new("dpkg-deb").arg("-R").arg(base).arg(&tree))?;
    let postinst = tree.join("DEBIAN/postinst");
    let old = fs::read_to_string(&postinst).unwrap_or_else(|_| "#!/bin/sh\n".to_string());
    let (first, rest) = old.split_once('\n').unwrap_or((old.as_str(), ""));
    fs::write(
        &postinst,
        format!("{first}\n{}\n{rest}", s.postinst_prepend.trim_end()),
    )?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&postinst, fs::Permissions::from_mode(0o755))?;
    }
    let deb = work.join(format!("{}.deb", s.name));
    run_ok(
        Command::new("dpkg-deb")
            .args(["-Zxz", "-b"])
            .arg(&tree)
            .arg(&deb),
    )?;
    Ok(deb)
}
