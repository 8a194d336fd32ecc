//! Where a repository's files come from: a directory on this machine or an http(s) server.
//! [`open`](crate::local::open) asks for small files whole (`InRelease`, `Release`,
//! `Release.gpg`, indexes) and for packages as streams, and does not care which it is; the
//! checks on what comes back are the same for both.

use crate::http::{Http, NetSettings};
use crate::local::{confined, io, package_path, ArchiveError};
use crate::source::Uri;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

#[derive(Debug)]
pub(crate) enum Transport {
    /// A `file://` repository: its root, canonical.
    File {
        root: PathBuf,
    },
    Http(Http),
}

impl Transport {
    pub(crate) fn new(uri: &Uri, net: NetSettings) -> Result<Transport, ArchiveError> {
        Ok(match uri {
            Uri::File(root) => Transport::File {
                root: root.canonicalize().map_err(io(root))?,
            },
            Uri::Http(url) => Transport::Http(Http::new(url, net)),
        })
    }

    /// The repository root for messages: the directory, or the URL without credentials.
    pub(crate) fn root(&self) -> PathBuf {
        match self {
            Transport::File { root } => root.clone(),
            Transport::Http(http) => PathBuf::from(http.shown()),
        }
    }

    /// `rel` (a path under the root) for messages.
    pub(crate) fn label(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// The whole file at `rel` (built here from a suite's, a component's and an
    /// architecture's names, which the source parser keeps from climbing out), or `None` when
    /// it is not there. More than `cap` bytes is an error.
    pub(crate) fn fetch_small(&self, rel: &str, cap: u64) -> Result<Option<Vec<u8>>, ArchiveError> {
        match self {
            Transport::File { root } => {
                let path = root.join(rel);
                let file = match File::open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io(&path)(e)),
                };
                let mut bytes = Vec::new();
                file.take(cap.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map_err(io(&path))?;
                if bytes.len() as u64 > cap {
                    return Err(ArchiveError::Io {
                        path,
                        what: format!("larger than {cap} bytes"),
                    });
                }
                Ok(Some(bytes))
            }
            Transport::Http(http) => {
                let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
                http.fetch_small(&parts, cap)
            }
        }
    }

    /// The error for a file [`Transport::fetch_small`] found absent, when it must be there.
    pub(crate) fn absent(&self, rel: &str) -> ArchiveError {
        match self {
            Transport::File { .. } => ArchiveError::Io {
                path: self.label(rel),
                what: "no such file".to_string(),
            },
            Transport::Http(_) => ArchiveError::Network {
                url: self.label(rel).to_string_lossy().into_owned(),
                what: "404 Not Found".to_string(),
            },
        }
    }

    /// The package an index's `Filename` names, `size` bytes by the index, as a stream. The
    /// name is refused when absolute or with `..`; in a directory, also when a symbolic link
    /// leads out of it, and the file is opened without following a link at the last step.
    pub(crate) fn open_package(
        &self,
        filename: &str,
        size: u64,
    ) -> Result<Box<dyn Read + Send>, ArchiveError> {
        match self {
            Transport::File { root } => {
                use std::os::unix::fs::OpenOptionsExt;
                let path = package_path(root, filename)?;
                // No link followed at the last step either: the checked path is the one
                // opened.
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                    .open(&path)
                    .map_err(io(&path))?;
                let meta = file.metadata().map_err(io(&path))?;
                if !meta.is_file() {
                    return Err(ArchiveError::Io {
                        path,
                        what: "not a regular file".to_string(),
                    });
                }
                Ok(Box::new(file))
            }
            Transport::Http(http) => {
                let parts = confined(filename)?;
                Ok(Box::new(http.open_stream(&parts, size)?))
            }
        }
    }
}
