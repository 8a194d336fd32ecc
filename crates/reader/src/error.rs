//! The reader's typed errors; each displays as one line naming the member and the problem.

use std::fmt;
use std::io;
use thiserror::Error;

/// Where in a tar member a problem is: ``data.tar.xz: entry 12 `/usr/../x` ``.
///
/// `index` counts tar entries from 1 in archive order; `name` is the member name as written
/// (shown with `\xNN` escapes when it is not UTF-8) when the problem is with the name itself,
/// else the normalised path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At {
    pub member: String,
    pub index: u64,
    pub name: String,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // one_line keeps a hostile name with newlines or escapes on one harmless line, and
        // leaves a backslash alone, so a name that is not UTF-8 reads `\xNN` here as in every
        // other output.
        write!(
            f,
            "{}: entry {} `{}`",
            self.member,
            self.index,
            debgate_facts::text::one_line(&self.name)
        )
    }
}

/// Why a package could not be read. Display is one line; the CLI prefixes the `.deb` name.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The file could not be opened or read (an operating-system error, not bad content).
    #[error("cannot read the file: {0}")]
    Io(#[source] io::Error),

    /// The path names a directory, FIFO, socket or device, not a regular file (or, where links
    /// are not followed, a symbolic link).
    #[error("not a regular file but {kind}")]
    NotAFile { kind: &'static str },

    /// The ar container is malformed: bad magic, bad header, or an extended name form.
    #[error("ar archive is corrupt: {detail}")]
    CorruptAr { detail: String },

    /// An ar member is shorter than its header says (the file was cut off).
    #[error("{member}: truncated: the ar header declares {declared} bytes but the file ends after {actual}")]
    TruncatedMember {
        member: String,
        declared: u64,
        actual: u64,
    },

    /// An ar member's declared size is larger than `max-compressed-member-bytes`.
    #[error("{member}: declared size {size} bytes exceeds max-compressed-member-bytes ({limit}); raise it with --limit max-compressed-member-bytes=BYTES")]
    MemberTooLarge {
        member: String,
        size: u64,
        limit: u64,
    },

    /// A required member is absent.
    #[error("ar archive: missing member `{expected}`")]
    MissingMember { expected: &'static str },

    /// A member appears where another was required (misordered, duplicated or unknown).
    #[error("ar archive: unexpected member `{member}` where `{expected}` was expected")]
    UnexpectedMember {
        member: String,
        expected: &'static str,
    },

    /// More bytes follow the last ar member than `max-trailing-bytes` lets the reader count.
    #[error("more than max-trailing-bytes ({limit}) bytes after the last ar member (dpkg does not read them, debgate counts them); raise it with --limit max-trailing-bytes=BYTES")]
    TrailingBytes { limit: u64 },

    /// A member that is not `_`-prefixed follows data.tar.
    #[error("ar archive: unexpected member `{member}` after the data member (only `_`-prefixed members may follow; dpkg ignores it: --limit allow-extra-members=true reads it as dpkg does)")]
    ExtraMember { member: String },

    /// control.tar/data.tar with a compression suffix dpkg does not accept for that member.
    #[error("{member}: unknown compression; {allowed}")]
    UnknownCompression {
        member: String,
        allowed: &'static str,
    },

    /// `debian-binary` is not a version line.
    #[error("debian-binary: {detail}")]
    BadDebianBinary { detail: String },

    /// `debian-binary` names a format whose major version is not 2.
    #[error(
        "debian-binary: format version `{version}` is not supported (the major version must be 2)"
    )]
    UnsupportedFormat { version: String },

    /// The compressed stream of a member is corrupt or cut short.
    #[error("{member}: corrupt compressed stream: {source}")]
    Decompress {
        member: String,
        #[source]
        source: io::Error,
    },

    /// The decoder needs more memory than `xz-memlimit` allows.
    #[error("{member}: the decoder needs more memory than xz-memlimit ({limit} bytes); raise it with --limit xz-memlimit=BYTES")]
    DecoderMemLimit { member: String, limit: u64 },

    /// A member decompresses to more than `max-member-bytes`.
    #[error("{member}: decompressed size exceeds max-member-bytes ({limit} bytes), a possible decompression bomb; raise it with --limit max-member-bytes=BYTES")]
    MemberBytes { member: String, limit: u64 },

    /// The tar stream is malformed (checksum, field syntax, structure).
    #[error("{member}: corrupt tar after entry {after}: {detail}")]
    CorruptTar {
        member: String,
        after: u64,
        detail: String,
    },

    /// A tar entry declares more data than the stream holds.
    #[error("{at}: truncated: the tar header declares {declared} bytes but the stream ends after {actual}")]
    TruncatedTar { at: At, declared: u64, actual: u64 },

    /// A member name or hard-link target with a `..` component.
    #[error("{at}: path escapes the package root")]
    PathEscapes { at: At },

    /// A member name that is absolute (`/etc/x`) instead of relative (`./etc/x`).
    #[error("{at}: absolute member name (packages use `./path`)")]
    AbsolutePath { at: At },

    /// An xattr name that is not UTF-8. (Member names and link targets that are not UTF-8 are
    /// read, shown with `\xNN` escapes.)
    #[error("{at}: {what} is not valid UTF-8")]
    NonUtf8 { at: At, what: &'static str },

    /// One shown name stands for two different byte strings in one package: a name that is not
    /// UTF-8 shows each invalid byte as `\xNN`, and another name holds that text literally.
    /// Every rule and lookup goes by the shown name, so which file is meant cannot be told.
    #[error("{at}: `{shown}` stands for two different byte strings in this package (a name that is not UTF-8 is shown with \\xNN escapes, and another name holds the same text); refused rather than judge the wrong file")]
    AmbiguousName { at: At, shown: String },

    /// A member name or link target longer than `max-path-len`.
    #[error("{at}: {what} is {len} bytes, more than max-path-len ({limit}); raise it with --limit max-path-len=BYTES")]
    PathTooLong {
        at: At,
        what: &'static str,
        len: usize,
        limit: usize,
    },

    /// A tar member holds more than `max-entries` entries.
    #[error(
        "{member}: more than max-entries ({limit}) entries; raise it with --limit max-entries=N"
    )]
    TooManyEntries { member: String, limit: u64 },

    /// The extension headers (GNU long names, PAX records) before one entry are too large.
    #[error("{member}: entry {index}: tar extension headers (long names, PAX records) exceed {limit} bytes; raise --limit max-path-len or max-xattr-bytes")]
    HeadersTooLarge {
        member: String,
        index: u64,
        limit: usize,
    },

    /// A hard link whose target is not an earlier member or escapes the root.
    #[error("{at}: hard link to `{target}`, {problem}")]
    HardLink {
        at: At,
        target: String,
        problem: &'static str,
    },

    /// A character or block device, refused when `allow-device-nodes` is false.
    #[error("{at}: {kind} device node; packages create devices from maintainer scripts (refused by --limit allow-device-nodes=false)")]
    DeviceNode { at: At, kind: &'static str },

    /// A tar entry type dpkg does not install (GNU sparse, volume label, ...).
    #[error("{at}: unsupported tar entry type {kind}")]
    UnsupportedEntry { at: At, kind: String },

    /// A member (or a hard link's target) written through a directory the package ships as a
    /// symlink that leads nowhere known: a loop, above `/`, an empty target.
    #[error("{at}: cannot be placed: written {source}")]
    Unresolvable {
        at: At,
        #[source]
        source: debgate_facts::symlinks::LinkError,
    },

    /// The same path appears twice; which one wins would depend on the unpacker.
    #[error("{at}: path `{path}` appears twice in the archive")]
    DuplicatePath { at: At, path: String },

    /// An extended attribute value larger than `max-xattr-bytes`.
    #[error("{at}: extended attribute `{name}` is {size} bytes, more than max-xattr-bytes ({limit}); raise it with --limit max-xattr-bytes=BYTES")]
    XattrTooLarge {
        at: At,
        name: String,
        size: usize,
        limit: usize,
    },

    /// A malformed or conflicting extended attribute record.
    #[error("{at}: bad extended attribute: {detail}")]
    BadXattr { at: At, detail: String },

    /// A malformed or ambiguous PAX extended header.
    #[error("{at}: bad PAX header: {detail}")]
    BadPax { at: At, detail: String },

    /// control.tar has no `control` file.
    #[error("{member}: no `control` file")]
    MissingControl { member: String },

    /// `control` or `conffiles` was larger than `max-control-file-bytes`.
    #[error("{member}: `{file}` exceeds max-control-file-bytes ({limit}); raise it with --limit max-control-file-bytes=BYTES")]
    ControlFileTooLarge {
        member: String,
        file: String,
        limit: u64,
    },

    /// The `control` paragraph could not be parsed.
    #[error("control: {detail}")]
    BadControl { detail: String },

    /// A `conffiles` line could not be parsed.
    #[error("conffiles: line {line}: {detail}")]
    BadConffiles { line: usize, detail: String },
}

/// Escape control and bidi characters in text taken from other crates' errors, which may quote
/// bytes of the hostile input (tar quotes header fields and paths), so a message stays on one
/// harmless line.
pub(crate) fn one_line(s: &str) -> String {
    debgate_facts::text::one_line(s).into_owned()
}
