//! Turning command-line paths into the list of package files to read.

use std::path::{Path, PathBuf};
use thiserror::Error;

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
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|_| InputError::Missing(p.clone()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(p).follow_links(false) {
                let entry = entry.map_err(|source| InputError::Walk {
                    path: p.clone(),
                    source,
                })?;
                if entry.file_type().is_file() && is_deb(entry.path()) {
                    found.push(entry.into_path());
                }
            }
            found.sort();
            out.extend(found);
        } else if meta.is_file() {
            // A file named explicitly is read whatever its name; the reader says if it is no .deb.
            out.push(p.clone());
        } else {
            return Err(InputError::NotADeb(p.clone()));
        }
    }
    Ok(out)
}

fn is_deb(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "deb" || x == "udeb")
}
