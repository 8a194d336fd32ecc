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
    #[error("{path}: {source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
}

/// Expand each path: a `.deb` is taken as is; a directory is walked for `*.deb` (symlinks are
/// not followed, so a hostile tree cannot lead us elsewhere on the host). Sorted within each
/// directory for reproducible output.
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
        let meta = std::fs::metadata(p).map_err(|_| InputError::Missing(p.clone()))?;
        if meta.is_dir() {
            let mut found = CheckInputs::default();
            for entry in walkdir::WalkDir::new(p).follow_links(false) {
                let entry = entry.map_err(|source| InputError::Walk {
                    path: p.clone(),
                    source,
                })?;
                if !entry.file_type().is_file() {
                    continue;
                }
                if is_deb(entry.path()) {
                    found.debs.push(entry.into_path());
                } else if uploads && is_changes(entry.path()) {
                    found.uploads.push(entry.into_path());
                }
            }
            found.debs.sort();
            found.uploads.sort();
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

fn is_changes(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "changes")
}

fn is_deb(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "deb" || x == "udeb")
}
