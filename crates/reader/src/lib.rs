//! Streaming, hostile-input-safe reader that turns a `.deb` into [`debgate_facts::Package`].
//!
//! One pass over the ar container; control.tar and data.tar are decompressed on the fly and
//! walked with the `tar` crate. Nothing is extracted or written, no member is buffered whole:
//! only the control files and the data files the caller asks for are kept, each capped. Every
//! resource a hostile package could inflate is bounded by a [`Limits`] value, and every
//! problem is a typed [`ReadError`] whose message is one line naming the member.
//!
//! The container rules are dpkg's (`man deb`): `debian-binary` (`2.x`), then
//! `control.tar{,.gz,.xz,.zst}`, then `data.tar{,.gz,.xz,.zst,.bz2,.lzma}`; `_`-prefixed
//! members are skipped; anything missing, repeated, misordered or unknown is an error. Bytes
//! after the data member that are no ar member are counted, not refused, since dpkg never
//! reads them (`Package::trailing_bytes`).

mod container;
mod control;
mod decode;
mod digests;
mod error;
mod limits;
mod pax;
mod tarwalk;

pub use digests::{ScriptTargets, TargetsOf};
pub use error::{At, ReadError};
pub use limits::*;

use container::MemberKind;
use debgate_facts::path::escape_name;
use debgate_facts::symlinks::Links;
use debgate_facts::{
    Compression, Conffile, Content, Control, Entry, EntryKind, FileDigest, Md5sums, Package,
};
use debgate_facts::{Script, ScriptName};
use decode::{drain, Counting, Probe};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use tarwalk::{Member, Refusals, Visit};

/// The most threads liblzma's multi-threaded decoder accepts (`LZMA_THREADS_MAX`); more is a
/// usage error, never the package's fault.
pub const MAX_XZ_THREADS: u32 = 16384;

/// How to read a package.
pub struct ReadOptions<'a> {
    pub limits: Limits,
    /// Called with the normalised path (`/etc/sysctl.d/x.conf`) of each data.tar regular file
    /// (and hard link); the content of those it returns true for is kept, capped at
    /// `limits.max_content_bytes`.
    pub want_content: &'a (dyn Fn(&str) -> bool + Sync),
    /// xz decoder threads; 1 is the single-threaded decoder. More threads only help streams
    /// written in several blocks (dpkg's threaded xz does that) and cost memory, bounded by
    /// `limits.xz_memlimit`.
    /// At most [`MAX_XZ_THREADS`].
    pub xz_threads: u32,
    /// Content digests, for `diff`: when set, control.tar's `md5sums` is kept
    /// (`Package::md5sums`) and the bytes of some data.tar files are hashed as they stream by
    /// (`Package::digests`; which ones is [`Package::hashed`]). It is told the maintainer
    /// scripts once control.tar has been read and says which files they may grant a privilege
    /// to. `None`: neither, at no cost.
    pub digests: Option<TargetsOf<'a>>,
}

fn want_nothing(_: &str) -> bool {
    false
}

impl Default for ReadOptions<'static> {
    /// Default limits, no content captured, single-threaded xz (callers that read one package
    /// at a time should raise `xz_threads`; those reading many in parallel should not).
    fn default() -> Self {
        ReadOptions {
            limits: Limits::default(),
            want_content: &want_nothing,
            xz_threads: 1,
            digests: None,
        }
    }
}

/// Read the `.deb` at `path`.
pub fn read_package(path: &Path, opts: &ReadOptions) -> Result<Package, ReadError> {
    let file = open_package(path, true)?;
    read_package_from(
        path.to_path_buf(),
        BufReader::with_capacity(64 * 1024, file),
        opts,
    )
}

/// Open `path` for [`read_package_from`], only if it is a regular file. A FIFO named `x.deb`
/// would otherwise block the run forever waiting for a writer, and a directory fails deep in
/// the ar reader with a misleading message. O_NONBLOCK lets the open of a FIFO return at once
/// (it changes nothing for a regular file), and the type is checked on the open handle, so a
/// path swapped after an earlier check is still caught. `follow_symlinks` is true for paths
/// the user gave; false for files an upload lists, which must be what was verified.
pub fn open_package(path: &Path, follow_symlinks: bool) -> Result<std::fs::File, ReadError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let flags = if follow_symlinks {
        libc::O_NONBLOCK
    } else {
        libc::O_NONBLOCK | libc::O_NOFOLLOW
    };
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if !follow_symlinks && e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(ReadError::NotAFile {
                kind: "a symbolic link",
            })
        }
        Err(e) => return Err(ReadError::Io(e)),
    };
    let t = file.metadata().map_err(ReadError::Io)?.file_type();
    if t.is_file() {
        return Ok(file);
    }
    let kind = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "another kind of file"
    };
    Err(ReadError::NotAFile { kind })
}

/// Which member the container rules expect next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    DebianBinary,
    Control,
    Data,
    Done,
}

/// Buffer between a decoder and tar.
const DECODED_BUFFER: usize = 128 * 1024;

/// Longest `debian-binary` we accept; real ones are 4 bytes.
const DEBIAN_BINARY_MAX: u64 = 64;

/// Read a `.deb` from `input`; `file` is only recorded in the result.
pub fn read_package_from<R: Read>(
    file: PathBuf,
    input: R,
    opts: &ReadOptions,
) -> Result<Package, ReadError> {
    let mut archive = ar::Archive::new(container::ArGuard::new(input));
    let mut stage = Stage::DebianBinary;
    let mut scratch = vec![0u8; 64 * 1024];
    let mut control = ControlParts::default();
    let mut data = DataParts::new();
    let mut data_refusals = Refusals::default();
    let mut control_compression = Compression::None;
    let mut data_compression = Compression::None;
    let mut first = true;
    let mut select: Option<digests::Select> = None;

    while let Some(next) = archive.next_entry() {
        let mut member = next.map_err(|e| ar_error(e, first))?;
        first = false;
        let name = escape_name(member.header().identifier()).into_owned();
        let declared = member.header().size();
        let expected = match stage {
            Stage::DebianBinary => "debian-binary",
            Stage::Control => "control.tar",
            Stage::Data => "data.tar",
            Stage::Done => "",
        };
        let kind = if std::str::from_utf8(member.header().identifier()).is_ok() {
            container::classify(&name)?
        } else {
            MemberKind::Other
        };
        if declared > opts.limits.max_compressed_member_bytes {
            return Err(ReadError::MemberTooLarge {
                member: name,
                size: declared,
                limit: opts.limits.max_compressed_member_bytes,
            });
        }
        match (stage, kind) {
            (Stage::DebianBinary, MemberKind::DebianBinary) => {
                let probe = Probe::new(u64::MAX, 0);
                let mut raw = Counting::new(&mut member, declared, probe.clone());
                let mut content = Vec::new();
                let short = |probe: &Probe| ReadError::TruncatedMember {
                    member: name.clone(),
                    declared,
                    actual: probe.raw.get(),
                };
                (&mut raw)
                    .take(DEBIAN_BINARY_MAX + 1)
                    .read_to_end(&mut content)
                    .map_err(|e| {
                        if probe.raw_short.get() {
                            short(&probe)
                        } else {
                            ReadError::Io(e)
                        }
                    })?;
                let complete = content.len() as u64 <= DEBIAN_BINARY_MAX;
                container::check_debian_binary(&content, complete)?;
                stage = Stage::Control;
            }
            (Stage::DebianBinary, _) => {
                return Err(ReadError::UnexpectedMember {
                    member: name,
                    expected,
                })
            }
            (_, MemberKind::Reserved) => skip_member(&name, &mut member, declared, &mut scratch)?,
            (Stage::Control, MemberKind::Control(c)) => {
                control_compression = c;
                read_tar_member(
                    &name,
                    c,
                    &mut member,
                    declared,
                    opts,
                    &mut scratch,
                    // dpkg extracts control.tar with GNU tar (`dpkg-deb --control`), which
                    // reads every header type: only data.tar goes through dpkg's own
                    // extractor.
                    &mut Refusals::default(),
                    &mut |v| control.visit(&name, opts, v),
                )?;
                stage = Stage::Data;
                if let Some(targets_of) = opts.digests {
                    if control.md5sums == Md5sums::NotRead {
                        control.md5sums = Md5sums::Absent;
                    }
                    let targets = targets_of(&control.scripts);
                    select = Some(digests::Select::new(
                        &control.md5sums,
                        &control.conffiles,
                        &targets,
                    ));
                }
            }
            (Stage::Data, MemberKind::Data(c)) => {
                data_compression = c;
                read_tar_member(
                    &name,
                    c,
                    &mut member,
                    declared,
                    opts,
                    &mut scratch,
                    &mut data_refusals,
                    &mut |v| data.visit(&name, opts, select.as_ref(), v),
                )?;
                stage = Stage::Done;
            }
            (Stage::Done, _) => return Err(ReadError::ExtraMember { member: name }),
            (_, _) => {
                return Err(ReadError::UnexpectedMember {
                    member: name,
                    expected,
                })
            }
        }
        // Control parsing waits until the whole member has been read so a corrupt stream is
        // reported as such rather than as a missing file.
        if stage == Stage::Data && control.control.is_none() {
            return Err(ReadError::MissingControl { member: name });
        }
        if stage == Stage::Done {
            // dpkg reads nothing after the data member; what is there is read by hand below,
            // so that bytes that are no ar member are counted rather than refused.
            break;
        }
    }
    let mut trailing_bytes = 0;
    if stage == Stage::Done {
        let (rest, padding) = archive.into_inner().map_err(ReadError::Io)?.into_rest();
        trailing_bytes = container::after_data(rest, padding, &opts.limits, &mut scratch)?;
    }
    if first {
        return Err(ReadError::MissingMember {
            expected: "debian-binary",
        });
    }
    match stage {
        Stage::DebianBinary => {
            return Err(ReadError::MissingMember {
                expected: "debian-binary",
            })
        }
        Stage::Control => {
            return Err(ReadError::MissingMember {
                expected: "control.tar",
            })
        }
        Stage::Data => {
            return Err(ReadError::MissingMember {
                expected: "data.tar",
            })
        }
        Stage::Done => {}
    }
    let ControlParts {
        control: control_fields,
        conffiles,
        scripts,
        md5sums,
        ..
    } = control;
    Ok(Package {
        file,
        control: control_fields.unwrap_or_default(),
        conffiles,
        scripts,
        entries: data.entries,
        contents: data.contents,
        control_compression,
        data_compression,
        trailing_bytes,
        dpkg_refuses: data_refusals.kept,
        dpkg_refused: data_refusals.total,
        md5sums,
        digests: data.digests,
        hashed: select.as_ref().map(digests::Select::hashed),
    })
}

/// An error from the `ar` crate: its own parse errors come as InvalidData/UnexpectedEof.
fn ar_error(e: io::Error, first: bool) -> ReadError {
    match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof if first => {
            ReadError::CorruptAr {
                detail: format!("not a .deb: {}", error::one_line(&e.to_string())),
            }
        }
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => ReadError::CorruptAr {
            detail: error::one_line(&e.to_string()),
        },
        _ => ReadError::Io(e),
    }
}

/// Skip a `_`-prefixed member, still noticing a file that ends inside it.
fn skip_member<R: Read>(
    name: &str,
    member: &mut R,
    declared: u64,
    scratch: &mut [u8],
) -> Result<(), ReadError> {
    let probe = Probe::new(u64::MAX, 0);
    let mut raw = Counting::new(member, declared, probe.clone());
    drain(&mut raw, scratch).map_err(|e| {
        if probe.raw_short.get() {
            ReadError::TruncatedMember {
                member: name.to_string(),
                declared,
                actual: probe.raw.get(),
            }
        } else {
            ReadError::Io(e)
        }
    })?;
    Ok(())
}

/// Decompress and walk one tar member, then check the ar member was complete.
#[allow(clippy::too_many_arguments)]
fn read_tar_member<R: Read>(
    name: &str,
    compression: Compression,
    member: &mut R,
    declared: u64,
    opts: &ReadOptions,
    scratch: &mut [u8],
    refusals: &mut Refusals,
    visit: &mut dyn FnMut(Visit) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let probe = Probe::new(opts.limits.max_member_bytes, tarwalk::header_budget(opts));
    let m = Member {
        name,
        compression,
        declared,
        opts,
        probe: probe.clone(),
    };
    let mut raw = Counting::new(member, declared, probe);
    {
        let decoder = decode::decoder(compression, &mut raw, opts).map_err(|e| {
            if decode::is_memlimit(&e) {
                ReadError::DecoderMemLimit {
                    member: name.to_string(),
                    limit: opts.limits.xz_memlimit,
                }
            } else {
                ReadError::Decompress {
                    member: name.to_string(),
                    source: e,
                }
            }
        })?;
        // tar reads 512-byte headers and small files; serving those from a buffer instead
        // of a decoder call each roughly halves the cost per entry.
        let buffered = BufReader::with_capacity(DECODED_BUFFER, decoder);
        tarwalk::walk(&m, buffered, scratch, refusals, visit)?;
    }
    // Whatever follows the compressed stream inside the member is ignored, as dpkg does, but
    // it must be there: a short member means a cut-off file.
    drain(&mut raw, scratch).map_err(|e| m.classify(e, 0))?;
    Ok(())
}

/// Read at most `cap` bytes of an entry's data; the walker skips and checks the rest.
fn read_head(data: &mut dyn Read, size: u64, cap: u64) -> Result<Vec<u8>, ReadError> {
    let keep = size.min(cap);
    // `keep` is bounded by the cap, so a header claiming a terabyte allocates only the cap.
    let mut buf = Vec::with_capacity(usize::try_from(keep).unwrap_or(0));
    data.take(keep)
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    Ok(buf)
}

/// What control.tar yields.
#[derive(Default)]
struct ControlParts {
    control: Option<Control>,
    conffiles: Vec<Conffile>,
    scripts: Vec<Script>,
    seen_conffiles: bool,
    md5sums: Md5sums,
}

impl ControlParts {
    fn visit(&mut self, member: &str, opts: &ReadOptions, v: Visit) -> Result<(), ReadError> {
        if v.entry.kind != EntryKind::File {
            return Ok(());
        }
        let file = &v.entry.path[1..];
        if file == "md5sums" && opts.digests.is_some() {
            // A second md5sums is no reason to refuse a package that dpkg-deb builds from a
            // tree; which one to believe is unknown, so neither is.
            self.md5sums = if self.md5sums == Md5sums::NotRead {
                digests::read_md5sums(v.data, v.entry.size, &opts.limits).map_err(ReadError::Io)?
            } else {
                Md5sums::Unusable("control.tar has two md5sums".to_string())
            };
            return Ok(());
        }
        let script = ScriptName::from_member(file);
        let seen = match file {
            "control" => self.control.is_some(),
            "conffiles" => self.seen_conffiles,
            _ => match script {
                Some(s) => self.scripts.iter().any(|x| x.name == s),
                None => return Ok(()),
            },
        };
        let at = || tarwalk::Member::at_plain(member, v.index, &v.entry.path);
        if seen {
            return Err(ReadError::DuplicatePath {
                at: at(),
                path: v.entry.path.clone(),
            });
        }
        let cap = opts.limits.max_control_file_bytes;
        if script.is_none() && v.entry.size > cap {
            // A cut-off control paragraph or conffiles list would silently lose fields.
            return Err(ReadError::ControlFileTooLarge {
                member: member.to_string(),
                file: file.to_string(),
                limit: cap,
            });
        }
        let bytes = read_head(v.data, v.entry.size, cap)?;
        match (file, script) {
            ("control", _) => self.control = Some(control::parse_control(&bytes)?),
            ("conffiles", _) => {
                self.conffiles = control::parse_conffiles(&bytes)?;
                self.seen_conffiles = true;
            }
            (_, Some(name)) => self.scripts.push(Script {
                name,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                truncated: v.entry.size > cap,
            }),
            _ => {}
        }
        Ok(())
    }
}

/// What data.tar yields, plus an index from path to entry for hard links and duplicates.
struct DataParts {
    entries: Vec<Entry>,
    contents: BTreeMap<String, Content>,
    /// Hash of a path → index of the first entry with that hash. Keyed by hash rather than
    /// by path so indexing costs no allocation per entry; collisions fall back to a scan.
    by_hash: HashMap<u64, u32>,
    hasher: RandomState,
    /// The symlinks met so far, which later members may be written through.
    links: Links,
    /// For each name component shown with a `\x` in it, the bytes it stands for; see
    /// [`DataParts::one_meaning`].
    escaped: HashMap<String, Vec<u8>>,
    /// Digests of the files hashed, by path.
    digests: BTreeMap<String, FileDigest>,
    /// Reused for hashing files' bytes.
    buf: Vec<u8>,
}

impl DataParts {
    fn new() -> Self {
        DataParts {
            entries: Vec::new(),
            contents: BTreeMap::new(),
            by_hash: HashMap::new(),
            hasher: RandomState::new(),
            links: Links::new(),
            escaped: HashMap::new(),
            digests: BTreeMap::new(),
            buf: Vec::new(),
        }
    }

    /// Refuse a package in which one shown name component stands for two byte strings.
    ///
    /// A name that is not UTF-8 is shown with `\xNN` escapes while a backslash in a valid name
    /// stays as it is (systemd unit names hold a literal `\x2d`), so `a\xff` may be four
    /// characters or `a` and the byte 0xff. Everything after the reader (paths, hard-link and
    /// symlink resolution, globs, output) compares shown names; that is sound exactly when no
    /// shown component means two byte strings in one package, since `/` is never part of an
    /// escape. Only components with `\x` in them are recorded.
    fn one_meaning(&mut self, at: &At, shown: &str, raw: Option<&[u8]>) -> Result<(), ReadError> {
        if !shown.contains("\\x") {
            return Ok(());
        }
        let raw = raw.unwrap_or(shown.as_bytes());
        for (part, bytes) in shown.split('/').zip(raw.split(|&b| b == b'/')) {
            if !part.contains("\\x") {
                continue;
            }
            match self.escaped.get(part) {
                Some(known) if known.as_slice() != bytes => {
                    return Err(ReadError::AmbiguousName {
                        at: at.clone(),
                        shown: debgate_facts::text::one_line(part).into_owned(),
                    })
                }
                Some(_) => {}
                None => {
                    self.escaped.insert(part.to_string(), bytes.to_vec());
                }
            }
        }
        Ok(())
    }

    fn lookup(&self, path: &str) -> Option<usize> {
        let i = *self.by_hash.get(&self.hasher.hash_one(path))? as usize;
        if self.entries[i].path == path {
            Some(i)
        } else {
            self.entries.iter().position(|e| e.path == path)
        }
    }

    fn visit(
        &mut self,
        member: &str,
        opts: &ReadOptions,
        select: Option<&digests::Select>,
        mut v: Visit,
    ) -> Result<(), ReadError> {
        let own = tarwalk::Member::at_plain(member, v.index, &v.entry.path);
        self.one_meaning(&own, &v.entry.path, v.entry.raw_path.as_deref())?;
        if let Some(target) = &v.entry.link_target {
            self.one_meaning(&own, target, v.entry.raw_link_target.as_deref())?;
        }
        self.land(member, &mut v)?;
        let name = v.entry.member.as_deref().unwrap_or(&v.entry.path);
        let at = || tarwalk::Member::at_plain(member, v.index, name);
        if self.lookup(&v.entry.path).is_some() {
            return Err(ReadError::DuplicatePath {
                at: at(),
                path: v.entry.path.clone(),
            });
        }
        let regular = matches!(v.entry.kind, EntryKind::File | EntryKind::HardLink);
        let wanted = regular && (opts.want_content)(&v.entry.path);
        let hash = regular && select.is_some_and(|s| s.wants(&v.entry));
        if v.entry.kind == EntryKind::HardLink {
            let target = v.entry.link_target.as_deref().unwrap_or("");
            let problem = match self.lookup(target) {
                None => Some("which is not an earlier member"),
                Some(i) if self.entries[i].kind == EntryKind::Dir => Some("which is a directory"),
                Some(i) => {
                    if wanted {
                        if let Some(c) = self.linked_content(i) {
                            let c = c.clone();
                            self.contents.insert(v.entry.path.clone(), c);
                        }
                    }
                    // A link is its target's bytes: it has the target's digest when the
                    // target was hashed (free), and none otherwise (the bytes went by
                    // unhashed; the caller says its content is unknown if it needs it).
                    if select.is_some() {
                        if let Some(d) = self.linked_digest(i) {
                            self.digests.insert(v.entry.path.clone(), d);
                        }
                    }
                    None
                }
            };
            if let Some(problem) = problem {
                return Err(ReadError::HardLink {
                    at: at(),
                    target: target.to_string(),
                    problem,
                });
            }
        } else if hash {
            let cap = if wanted {
                opts.limits.max_content_bytes
            } else {
                0
            };
            let (kept, digest) = self.hash_entry(v.data, v.entry.size, cap)?;
            if wanted {
                self.contents.insert(
                    v.entry.path.clone(),
                    Content {
                        bytes: kept,
                        truncated: v.entry.size > cap,
                    },
                );
            }
            self.digests.insert(v.entry.path.clone(), digest);
        } else if wanted {
            let cap = opts.limits.max_content_bytes;
            let bytes = read_head(v.data, v.entry.size, cap)?;
            self.contents.insert(
                v.entry.path.clone(),
                Content {
                    bytes,
                    truncated: v.entry.size > cap,
                },
            );
        }
        if let (EntryKind::Symlink, Some(target)) = (v.entry.kind, &v.entry.link_target) {
            self.links.add(&v.entry.path, target);
        }
        let index = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        self.by_hash
            .entry(self.hasher.hash_one(v.entry.path.as_str()))
            .or_insert(index);
        self.entries.push(v.entry);
        Ok(())
    }

    /// The bytes a shown name made of this package's names stands for, when they are not its
    /// text (it is not UTF-8): each component through the record [`DataParts::one_meaning`]
    /// keeps. For a path a member lands at through the package's symlinks.
    fn raw_of(&self, shown: &str) -> Option<Vec<u8>> {
        if !shown.contains("\\x") {
            return None;
        }
        let mut out = Vec::with_capacity(shown.len());
        let mut differs = false;
        for (i, part) in shown.split('/').enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            let bytes = self
                .escaped
                .get(part)
                .map_or(part.as_bytes(), Vec::as_slice);
            differs |= bytes != part.as_bytes();
            out.extend_from_slice(bytes);
        }
        differs.then_some(out)
    }

    /// Give a member written through a directory the package shipped as a symlink earlier in
    /// data.tar the path it lands at, keeping its own name in `member`; a hard link's target is
    /// resolved the same way (dpkg links to the name on the installed system). Done before
    /// anything looks at the path, so duplicates, hard links and `want_content` all see where
    /// the file lands. A member whose place cannot be known is an error, never a guess.
    fn land(&mut self, member: &str, v: &mut Visit) -> Result<(), ReadError> {
        if self.links.is_empty() {
            return Ok(());
        }
        let at = |name: &str| tarwalk::Member::at_plain(member, v.index, name);
        match self.links.resolve(&v.entry.path) {
            Ok(None) => {}
            Ok(Some(r)) => {
                let name = std::mem::replace(&mut v.entry.path, r.path);
                v.entry.raw_path = self.raw_of(&v.entry.path);
                v.entry.member = Some(name);
                v.entry.through = r.links;
            }
            Err(source) => {
                return Err(ReadError::Unresolvable {
                    at: at(&v.entry.path),
                    source,
                })
            }
        }
        if v.entry.kind == EntryKind::HardLink {
            if let Some(target) = v.entry.link_target.as_deref() {
                match self.links.resolve(target) {
                    Ok(None) => {}
                    Ok(Some(r)) => {
                        v.entry.raw_link_target = self.raw_of(&r.path);
                        v.entry.link_target = Some(r.path);
                    }
                    Err(source) => {
                        return Err(ReadError::Unresolvable {
                            at: at(v.entry.member.as_deref().unwrap_or(&v.entry.path)),
                            source,
                        })
                    }
                }
            }
        }
        Ok(())
    }

    /// Hash all `size` bytes of an entry's data, keeping the first `cap` of them.
    fn hash_entry(
        &mut self,
        data: &mut dyn Read,
        size: u64,
        cap: u64,
    ) -> Result<(Vec<u8>, FileDigest), ReadError> {
        let mut kept = Vec::with_capacity(usize::try_from(size.min(cap)).unwrap_or(0));
        let mut h = digests::Hasher::new();
        self.buf.resize(64 * 1024, 0);
        let mut data = data.take(size);
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Io(e)),
            };
            let chunk = &self.buf[..n];
            h.update(chunk);
            let room = usize::try_from(cap.saturating_sub(kept.len() as u64)).unwrap_or(0);
            kept.extend_from_slice(&chunk[..n.min(room)]);
        }
        Ok((kept, h.finish()))
    }

    /// The digest of entry `i`, following a chain of hard links to the original file.
    fn linked_digest(&self, mut i: usize) -> Option<FileDigest> {
        loop {
            let e = &self.entries[i];
            if let Some(d) = self.digests.get(&e.path) {
                return Some(*d);
            }
            if e.kind != EntryKind::HardLink {
                return None;
            }
            i = self.lookup(e.link_target.as_deref()?)?;
        }
    }

    /// Captured content of entry `i`, following a chain of hard links to the original file.
    /// Each link points to an earlier entry, so the walk ends.
    fn linked_content(&self, mut i: usize) -> Option<&Content> {
        loop {
            let e = &self.entries[i];
            if let Some(c) = self.contents.get(&e.path) {
                return Some(c);
            }
            if e.kind != EntryKind::HardLink {
                return None;
            }
            i = self.lookup(e.link_target.as_deref()?)?;
        }
    }
}
