//! Turning command-line paths into the list of package files to read.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// What `debgate check` was given: loose packages (judged together as one set) and `.changes`
/// files (each judged as its own set).
#[derive(Debug, Clone, Default)]
pub struct CheckInputs {
    pub debs: Vec<PathBuf>,
    pub uploads: Vec<PathBuf>,
}

impl CheckInputs {
    pub fn is_empty(&self) -> bool {
        self.debs.is_empty() && self.uploads.is_empty()
    }
}

#[derive(Debug, Error)]
pub enum InputError {
    #[error("{0}: no such file or directory")]
    Missing(PathBuf),
    #[error("{0}: not a .deb file or a directory")]
    NotADeb(PathBuf),
    #[error("`-` (standard input) can be given once: it holds one package")]
    StdinTwice,
    #[error("{path}: {source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
}

/// How many symlinks in a row a `.deb` link in a walked directory may go through.
pub const MAX_LINK_HOPS: usize = 16;

/// Expand each path: a `.deb` is taken as is; a directory is walked for `*.deb`. In a directory
/// the user names, a `*.deb` that is a symlink (a pool, a build farm's output) is followed, at
/// most [`MAX_LINK_HOPS`] links, and taken only when it ends at a regular file, whose own path is
/// what the reader then opens (without following links). Symlinked directories are not entered,
/// so the walk cannot loop or wander. Sorted within each directory for reproducible output.
pub fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    Ok(collect(paths, false)?.debs)
}

/// Like [`collect_inputs`], but a `.changes` (named, or found in a directory) is an upload:
/// its listed packages are judged with it as one set, apart from the loose packages.
pub fn collect_check_inputs(paths: &[PathBuf]) -> Result<CheckInputs, InputError> {
    collect(paths, true)
}

/// One walk per directory, taking `.deb`s and, with `uploads`, `.changes` files.
fn collect(paths: &[PathBuf], uploads: bool) -> Result<CheckInputs, InputError> {
    let mut inputs = CheckInputs::default();
    for p in paths {
        if p == Path::new(crate::STDIN) {
            if inputs.debs.iter().any(|d| d == p) {
                return Err(InputError::StdinTwice);
            }
            inputs.debs.push(p.clone());
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|_| InputError::Missing(p.clone()))?;
        if meta.is_dir() {
            let mut found = CheckInputs::default();
            for entry in walkdir::WalkDir::new(p).follow_links(false) {
                let entry = entry.map_err(|source| InputError::Walk {
                    path: p.clone(),
                    source,
                })?;
                // What the entry is comes from its name in the directory, which for a link may
                // differ from its target's (a content-addressed store).
                let (deb, changes) = (is_deb(entry.path()), uploads && is_changes(entry.path()));
                if !deb && !changes {
                    continue;
                }
                let path = if entry.file_type().is_file() {
                    entry.into_path()
                } else if entry.file_type().is_symlink() {
                    // Its directories resolved too, so that two links to one file are one input.
                    match regular_file_behind(entry.path()) {
                        Some(target) => std::fs::canonicalize(&target).unwrap_or(target),
                        None => continue,
                    }
                } else {
                    continue;
                };
                if deb {
                    found.debs.push(path);
                } else {
                    found.uploads.push(path);
                }
            }
            found.debs.sort();
            found.debs.dedup();
            found.uploads.sort();
            found.uploads.dedup();
            inputs.debs.extend(found.debs);
            inputs.uploads.extend(found.uploads);
        } else if meta.is_file() && uploads && is_changes(p) {
            inputs.uploads.push(p.clone());
        } else if meta.is_file() {
            // A file named explicitly is read whatever its name; the reader says if it is no .deb.
            inputs.debs.push(p.clone());
        } else {
            return Err(InputError::NotADeb(p.clone()));
        }
    }
    Ok(inputs)
}

/// The regular file a symlink ends at, following at most [`MAX_LINK_HOPS`] links; `None` for a
/// dangling link, a loop, or a link to anything but a regular file.
pub fn regular_file_behind(link: &Path) -> Option<PathBuf> {
    let mut current = link.to_path_buf();
    for _ in 0..=MAX_LINK_HOPS {
        let meta = std::fs::symlink_metadata(&current).ok()?;
        if meta.is_file() {
            return Some(current);
        }
        if !meta.file_type().is_symlink() {
            return None;
        }
        let target = std::fs::read_link(&current).ok()?;
        current = match current.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    None
}

fn is_changes(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "changes")
}

fn is_deb(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "deb" || x == "udeb")
}

#[cfg(test)]
mod tests {
    use super::{collect_inputs, regular_file_behind, MAX_LINK_HOPS};
    use std::os::unix::fs::symlink;

    #[test]
    fn deb_links_in_a_directory_are_followed_to_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("pool")).unwrap();
        std::fs::create_dir(d.join("store")).unwrap();
        std::fs::write(d.join("store/abc123"), b"not read here").unwrap();
        symlink("../store/abc123", d.join("pool/a_1_all.deb")).unwrap();
        symlink("a_1_all.deb", d.join("pool/b_1_all.deb")).unwrap();
        symlink("../store", d.join("pool/c_1_all.deb")).unwrap();
        symlink("nowhere", d.join("pool/d_1_all.deb")).unwrap();
        symlink("e_1_all.deb", d.join("pool/e_1_all.deb")).unwrap();
        let found = collect_inputs(&[d.join("pool")]).unwrap();
        let target = std::fs::canonicalize(d.join("store/abc123")).unwrap();
        // a (one link) and b (two links) reach the file, which is read once; a directory, a
        // dangling link and a loop are skipped.
        assert_eq!(found, [target]);
        assert_eq!(regular_file_behind(&d.join("pool/e_1_all.deb")), None);
        // A chain longer than the bound is refused.
        let mut prev = "../store/abc123".to_string();
        for i in 0..=MAX_LINK_HOPS {
            let name = format!("l{i}.deb");
            symlink(&prev, d.join("pool").join(&name)).unwrap();
            prev = name;
        }
        assert_eq!(regular_file_behind(&d.join("pool").join(&prev)), None);
        assert!(regular_file_behind(&d.join("pool/l0.deb")).is_some());
    }
}
