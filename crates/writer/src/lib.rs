//! A small, deterministic `.deb` writer.
//!
//! debgate reads packages; its tests need packages to read. Building them with `dpkg-deb`
//! would make the fixtures depend on the host's dpkg version, clock and umask, and it cannot
//! build the malformed archives the reader must survive. This crate writes `.deb` files
//! itself, byte for byte the same on every run:
//!
//! - every timestamp is [`MTIME`], every owner is root (id 0) unless the spec says otherwise;
//! - entries are sorted, directories implied by file paths are added, the root `./` comes
//!   first, and names look like the `./usr/bin/x` that `dpkg-deb` writes;
//! - each compressor runs at a fixed level with no embedded file name or time.
//!
//! The high-level entry points are [`write_deb`] / [`deb_bytes`] for one package described by
//! a [`PackageSpec`], [`load_tree`] for a package kept as a plain directory tree (the format
//! is documented in `testdata/README.md`) and [`build_release`] / [`write_releases`] for the
//! committed fixture releases. The low-level builders [`ar_bytes`], [`tar_bytes`] and
//! [`compress`] do exactly what they are told, so hostile-input tests can assemble archives
//! that no well-behaved tool would write.

mod archive;
pub mod case;
mod compress;
mod deb;
mod error;
mod release;
mod tarball;
mod tree;
mod upload;

pub use archive::{ar_bytes, gnu_ar_bytes};
pub use compress::compress;
pub use deb::{control_tar_bytes, deb_bytes, normalize_files, write_deb};
pub use error::WriterError;
pub use release::{build_release, release_dirs, write_releases, RELEASES_DIR};
pub use tarball::{name_bytes, pax_record, tar_bytes};
pub use tree::{load_package, load_tree, BuildOptions};
pub use upload::{
    build_upload, build_uploads, upload_cases, write_uploads, UploadCase, UPLOADS_DIR,
};

pub use debgate_facts::{Compression, EntryKind, ScriptName};

/// The modification time written into every ar and tar header (the Unix epoch). A constant,
/// so the output never depends on when or where it was built.
pub const MTIME: u64 = 0;

/// Everything needed to write one `.deb`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageSpec {
    /// The deb822 paragraph written as control.tar's `control` (a final newline is added if
    /// missing).
    pub control: String,
    /// Raw lines of control.tar's `conffiles`, written as given; no file when empty.
    pub conffiles: Vec<String>,
    /// Maintainer scripts, written with mode 0755.
    pub scripts: Vec<(ScriptName, String)>,
    /// control.tar's `md5sums`, written as given; no file when `None`. [`dh_md5sums`] makes
    /// the one debhelper would.
    pub md5sums: Option<String>,
    /// data.tar entries. [`write_deb`] adds implied directories and sorts them; see
    /// [`normalize_files`].
    pub files: Vec<FileSpec>,
    /// Extra ar members, written right after `debian-binary` in the given order. dpkg skips
    /// members whose name starts with `_`; any other name makes the package invalid, which is
    /// sometimes exactly what a test wants.
    pub extra_members: Vec<(String, Vec<u8>)>,
}

/// One data.tar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Absolute path such as `/usr/bin/x`; `/` is the root directory. In the tar it becomes
    /// `./usr/bin/x` (with a trailing `/` for directories). A path that does not start with
    /// `/` is written verbatim, for hostile-input tests.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky; masked with `0o7777`.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// User and group names for the tar header; empty leaves the field empty.
    pub owner: String,
    pub group: String,
    /// File content; ignored for everything but [`EntryKind::File`].
    pub content: Vec<u8>,
    /// Symlink target (written as given), or the absolute path of a hard link's target
    /// (written `./`-prefixed like the member names).
    pub link_target: Option<String>,
    /// Extended attributes, written as PAX `SCHILY.xattr.NAME` records in this order.
    pub xattrs: Vec<(String, Vec<u8>)>,
    /// When true, each `\xNN` in `path` and `link_target` is written as the byte NN
    /// ([`name_bytes`]): how a fixture gives a name that is not UTF-8, in the form debgate shows
    /// it. False by default, so a backslash is text (systemd unit names hold a literal `\x2d`).
    pub escaped: bool,
}

impl FileSpec {
    /// A root-owned regular file.
    pub fn file(path: &str, mode: u32, content: impl Into<Vec<u8>>) -> FileSpec {
        FileSpec {
            path: path.to_string(),
            kind: EntryKind::File,
            mode,
            uid: 0,
            gid: 0,
            owner: "root".to_string(),
            group: "root".to_string(),
            content: content.into(),
            link_target: None,
            xattrs: Vec::new(),
            escaped: false,
        }
    }

    /// A root-owned directory, mode 0755.
    pub fn dir(path: &str) -> FileSpec {
        FileSpec {
            kind: EntryKind::Dir,
            ..FileSpec::file(path, 0o755, Vec::new())
        }
    }

    /// A root-owned symlink, mode 0777 as `ls` shows links.
    pub fn symlink(path: &str, target: &str) -> FileSpec {
        FileSpec {
            kind: EntryKind::Symlink,
            link_target: Some(target.to_string()),
            ..FileSpec::file(path, 0o777, Vec::new())
        }
    }

    /// A hard link to another member, named by its absolute path.
    pub fn hardlink(path: &str, target: &str, mode: u32) -> FileSpec {
        FileSpec {
            kind: EntryKind::HardLink,
            link_target: Some(target.to_string()),
            ..FileSpec::file(path, mode, Vec::new())
        }
    }
}

/// The `md5sums` debhelper's `dh_md5sums` writes for `spec`: one `MD5  PATH` line per regular
/// file (hard links included, by their own content), conffiles left out, sorted by path, the
/// path without its leading `/`.
pub fn dh_md5sums(spec: &PackageSpec) -> String {
    use md5::Digest;
    use std::collections::BTreeMap;
    let content: BTreeMap<&str, &[u8]> = spec
        .files
        .iter()
        .filter(|f| f.kind == EntryKind::File)
        .map(|f| (f.path.as_str(), f.content.as_slice()))
        .collect();
    let mut lines: Vec<(String, String)> = Vec::new();
    for f in &spec.files {
        let bytes = match f.kind {
            EntryKind::File => Some(f.content.as_slice()),
            EntryKind::HardLink => f
                .link_target
                .as_deref()
                .and_then(|t| content.get(t).copied()),
            _ => None,
        };
        let Some(bytes) = bytes else { continue };
        if spec.conffiles.iter().any(|c| c.trim() == f.path) {
            continue;
        }
        let hex = debgate_facts::hex(&md5::Md5::digest(bytes));
        lines.push((f.path.trim_start_matches('/').to_string(), hex));
    }
    lines.sort();
    lines
        .into_iter()
        .map(|(path, hex)| format!("{hex}  {path}\n"))
        .collect()
}
