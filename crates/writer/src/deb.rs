//! Assembling a well-formed `.deb` from a [`PackageSpec`].
//!
//! This is the layer that adds what `dpkg-deb` would: the root `./` entry, the directories
//! implied by file paths, a stable order, and the member layout `debian-binary`,
//! `control.tar.X`, `data.tar.X`. The low-level builders underneath stay literal so
//! hostile-input tests can bypass all of it.

use crate::{ar_bytes, compress, tar_bytes, FileSpec, PackageSpec, WriterError};
use debgate_facts::Compression;
use std::collections::BTreeMap;
use std::io::Write;

/// The content of the `debian-binary` member: format 2.0.
const DEBIAN_BINARY: &[u8] = b"2.0\n";

/// Sort key that orders a directory before its contents and siblings by name, the way
/// `find | sort` lists a tree: compare the paths component by component.
fn tree_key(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty()).collect()
}

/// `/usr/bin/` and `/usr/bin` are the same entry.
fn canonical(path: &str) -> String {
    if path.len() > 1 {
        path.trim_end_matches('/').to_string()
    } else {
        path.to_string()
    }
}

/// The data.tar entries [`write_deb`] writes for `files`: the root `/` and every directory
/// implied by an absolute path are added (mode 0755, root:root) unless listed, a path listed
/// twice keeps its last spec, and entries are sorted in tree order with the root first.
pub fn normalize_files(files: &[FileSpec]) -> Vec<FileSpec> {
    let mut by_path: BTreeMap<Vec<String>, FileSpec> = BTreeMap::new();
    let key = |p: &str| -> Vec<String> { tree_key(p).into_iter().map(String::from).collect() };
    for f in files {
        let mut f = f.clone();
        f.path = canonical(&f.path);
        by_path.insert(key(&f.path), f);
    }
    let mut implied = vec!["/".to_string()];
    for f in files.iter().filter(|f| f.path.starts_with('/')) {
        let parts = tree_key(&f.path);
        for n in 1..parts.len() {
            implied.push(format!("/{}", parts[..n].join("/")));
        }
    }
    for dir in implied {
        by_path
            .entry(key(&dir))
            .or_insert_with(|| FileSpec::dir(&dir));
    }
    // BTreeMap orders Vec<String> keys component-wise, and the root (no components) first.
    by_path.into_values().collect()
}

/// The uncompressed control.tar: `./`, then `conffiles` (when there are lines), `control`
/// and the maintainer scripts, sorted by name as `dpkg-deb` does.
pub fn control_tar_bytes(spec: &PackageSpec) -> Result<Vec<u8>, WriterError> {
    control_tar_with(spec, Vec::new())
}

/// [`control_tar_bytes`] with further control members (such as debconf's `templates`, which
/// [`PackageSpec`] has no field for), sorted in with the rest.
pub(crate) fn control_tar_with(
    spec: &PackageSpec,
    mut members: Vec<FileSpec>,
) -> Result<Vec<u8>, WriterError> {
    let mut control = spec.control.clone();
    if !control.ends_with('\n') {
        control.push('\n');
    }
    members.push(FileSpec::file("/control", 0o644, control));
    if !spec.conffiles.is_empty() {
        let mut text = spec.conffiles.join("\n");
        text.push('\n');
        members.push(FileSpec::file("/conffiles", 0o644, text));
    }
    if let Some(text) = &spec.md5sums {
        members.push(FileSpec::file("/md5sums", 0o644, text.as_bytes()));
    }
    for (name, text) in &spec.scripts {
        members.push(FileSpec::file(
            &format!("/{}", name.as_str()),
            0o755,
            text.as_bytes(),
        ));
    }
    members.sort_by(|a, b| a.path.cmp(&b.path));
    members.insert(0, FileSpec::dir("/"));
    tar_bytes(&members)
}

/// Write `spec` as a `.deb` with the given member compressions to `out`: `debian-binary`,
/// any [`PackageSpec::extra_members`], `control.tar` and `data.tar` with the matching
/// suffixes. The same spec and compressions always give the same bytes; the whole archive
/// is built in memory first, so `out` sees one `write_all`.
///
/// dpkg reads every [`Compression`] for data.tar but only none, gz, xz and zst for
/// control.tar; the others are still written when asked, for hostile-input tests.
pub fn write_deb(
    spec: &PackageSpec,
    control: Compression,
    data: Compression,
    mut out: impl Write,
) -> Result<(), WriterError> {
    let bytes = deb_bytes(spec, control, data)?;
    out.write_all(&bytes)
        .map_err(|e| WriterError::archive("the .deb output", e))
}

/// The bytes of the `.deb` [`write_deb`] writes, for tests that keep packages in memory.
pub fn deb_bytes(
    spec: &PackageSpec,
    control: Compression,
    data: Compression,
) -> Result<Vec<u8>, WriterError> {
    let data_tar = tar_bytes(&normalize_files(&spec.files))?;
    deb_bytes_with(spec, control_tar_bytes(spec)?, data_tar, control, data)
}

/// [`deb_bytes`] with control.tar and data.tar built by the caller (uncompressed).
pub(crate) fn deb_bytes_with(
    spec: &PackageSpec,
    control_tar: Vec<u8>,
    data_tar: Vec<u8>,
    control: Compression,
    data: Compression,
) -> Result<Vec<u8>, WriterError> {
    let control_tar = compress(&control_tar, control)?;
    let data_tar = compress(&data_tar, data)?;
    let control_name = format!("control.tar{}", control.suffix());
    let data_name = format!("data.tar{}", data.suffix());
    let mut members: Vec<(&str, &[u8])> = vec![("debian-binary", DEBIAN_BINARY)];
    for (name, bytes) in &spec.extra_members {
        members.push((name, bytes));
    }
    members.push((&control_name, &control_tar));
    members.push((&data_name, &data_tar));
    Ok(ar_bytes(&members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use debgate_facts::EntryKind;

    #[test]
    fn implied_directories_come_first_in_tree_order() {
        let files = vec![
            FileSpec::file("/usr/bin/x", 0o755, "x"),
            FileSpec::file("/usr-local", 0o644, ""),
            FileSpec {
                mode: 0o700,
                ..FileSpec::dir("/usr/")
            },
            FileSpec::file("/etc/a.conf", 0o644, "a"),
        ];
        let out = normalize_files(&files);
        let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/",
                "/etc",
                "/etc/a.conf",
                "/usr",
                "/usr/bin",
                "/usr/bin/x",
                "/usr-local"
            ]
        );
        // A listed directory keeps its own mode; implied ones are 0755.
        assert_eq!(out[3].mode, 0o700);
        assert_eq!(out[4].mode, 0o755);
        assert_eq!(out[4].kind, EntryKind::Dir);
    }
}
