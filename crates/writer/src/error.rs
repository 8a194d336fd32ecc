//! The one error type of this crate.
//!
//! Callers are tests and the `xtask fixtures` command, so each variant carries enough context
//! (the file or the package path) to fix the fixture without a debugger.

use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WriterError {
    /// Reading a fixture tree or writing a `.deb` failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing into an in-memory archive or a compressor failed; with in-memory sinks this
    /// only happens when a header field cannot hold a value (a name longer than tar allows, a
    /// non-UTF-8 path, a bad compressor option).
    #[error("writing {what}: {source}")]
    Archive {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// `meta.toml` is not valid TOML or does not match the documented schema.
    #[error("{}: {source}", path.display())]
    Meta {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A fixture tree is structurally wrong: a missing `DEBIAN/control`, a bad mode string,
    /// an unknown owner name without an id, a declared file with no content, and so on.
    #[error("{}: {message}", path.display())]
    Tree { path: PathBuf, message: String },
    /// A `caps = "..."` value in `meta.toml` is not valid `cap_from_text` syntax.
    #[error("{}: capability text for {entry}: {source}", path.display())]
    Caps {
        path: PathBuf,
        entry: String,
        #[source]
        source: debgate_facts::caps::CapTextError,
    },
}

impl WriterError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> WriterError {
        WriterError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn archive(what: impl Into<String>, source: std::io::Error) -> WriterError {
        WriterError::Archive {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn tree(path: impl Into<PathBuf>, message: impl Into<String>) -> WriterError {
        WriterError::Tree {
            path: path.into(),
            message: message.into(),
        }
    }
}
