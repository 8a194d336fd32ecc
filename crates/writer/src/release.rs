//! Fixture releases: `testdata/releases/REL/src/NAME/` trees built into
//! `testdata/releases/REL/NAME_VERSION_ARCH.deb`.
//!
//! The built `.deb` files are committed so that other crates' tests (and people) can read
//! them without building anything first; a test in this crate rebuilds them in memory and
//! fails when a tree and its committed `.deb` disagree.

use crate::{deb_bytes, load_package, WriterError};
use std::fs;
use std::path::{Path, PathBuf};

/// The directory under `testdata/` that holds one directory per release.
pub const RELEASES_DIR: &str = "releases";

/// Release directories under `testdata/releases/` (those with a `src/`), sorted.
pub fn release_dirs(testdata: &Path) -> Result<Vec<PathBuf>, WriterError> {
    let base = testdata.join(RELEASES_DIR);
    let mut dirs = Vec::new();
    for entry in fs::read_dir(&base).map_err(|e| WriterError::io(&base, e))? {
        let entry = entry.map_err(|e| WriterError::io(&base, e))?;
        if entry.path().join("src").is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Build every package tree in `dir/src/`, in name order, returning each `.deb`'s file name
/// (`NAME_VERSION_ARCH.deb`, the version without its epoch, as dpkg names files) and bytes.
pub fn build_release(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, WriterError> {
    let src = dir.join("src");
    let mut trees = Vec::new();
    for entry in fs::read_dir(&src).map_err(|e| WriterError::io(&src, e))? {
        let entry = entry.map_err(|e| WriterError::io(&src, e))?;
        if entry.path().is_dir() {
            trees.push(entry.path());
        }
    }
    trees.sort();

    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for tree in trees {
        let (spec, build) = load_package(&tree)?;
        let name = deb_file_name(&spec.control)
            .map_err(|msg| WriterError::tree(tree.join("DEBIAN/control"), msg))?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(WriterError::tree(
                &tree,
                format!("two trees in this release build {name}"),
            ));
        }
        out.push((name, deb_bytes(&spec, build.control, build.data)?));
    }
    Ok(out)
}

/// Rebuild every release under `testdata/releases/` on disk and delete `.deb` files there
/// that no tree builds any more. Files whose bytes are unchanged are not rewritten. Returns
/// the path of every `.deb` the trees build.
pub fn write_releases(testdata: &Path) -> Result<Vec<PathBuf>, WriterError> {
    let mut written = Vec::new();
    for dir in release_dirs(testdata)? {
        let debs = build_release(&dir)?;
        for entry in fs::read_dir(&dir).map_err(|e| WriterError::io(&dir, e))? {
            let path = entry.map_err(|e| WriterError::io(&dir, e))?.path();
            let stale = path.extension().is_some_and(|e| e == "deb")
                && !debs
                    .iter()
                    .any(|(n, _)| path.file_name().is_some_and(|f| f == n.as_str()));
            if stale {
                fs::remove_file(&path).map_err(|e| WriterError::io(&path, e))?;
            }
        }
        for (name, bytes) in debs {
            let path = dir.join(&name);
            if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                fs::write(&path, &bytes).map_err(|e| WriterError::io(&path, e))?;
            }
            written.push(path);
        }
    }
    Ok(written)
}

/// A field's value (its first line, trimmed) in a control paragraph the writer is given as text.
pub(crate) fn control_field<'a>(control: &'a str, name: &str) -> Option<&'a str> {
    control
        .lines()
        .filter(|l| !l.starts_with([' ', '\t']))
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// `NAME_VERSION_ARCH.deb` from a control paragraph, with the epoch dropped.
pub(crate) fn deb_file_name(control: &str) -> Result<String, String> {
    let field = |name: &str| -> Result<String, String> {
        control_field(control, name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("control has no {name} field"))
    };
    let version = field("Version")?;
    let version = version.split_once(':').map_or(version.as_str(), |(_, v)| v);
    Ok(format!(
        "{}_{}_{}.deb",
        field("Package")?,
        version,
        field("Architecture")?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_drops_the_epoch() {
        let c = "Package: p\nVersion: 2:1.0-1ubuntu2\nArchitecture: amd64\nDescription: x\n y\n";
        assert_eq!(deb_file_name(c).unwrap(), "p_1.0-1ubuntu2_amd64.deb");
        assert!(deb_file_name("Package: p\n").is_err());
    }
}
