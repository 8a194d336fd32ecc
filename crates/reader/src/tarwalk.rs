//! One pass over a tar stream: validates every entry and turns it into a `facts::Entry`.
//!
//! The same walk serves control.tar and data.tar; a visitor decides what to keep. Each entry's
//! data is read to its end (by the visitor or here) before the next header is requested, so
//! everything `tar` reads while looking for the next entry is header material: the probe
//! captures it (bounded) for our PAX parsing and the header budget.

use crate::decode::{drain, Guarded, Probe, Trip};
use crate::error::{one_line, At};
use crate::pax::{self, PaxProblem};
use crate::{ReadError, ReadOptions};
use debgate_facts::path::{escape_name, normalise, normalise_bytes};
use debgate_facts::{Compression, Device, DpkgRefusal, Entry, EntryKind, MAX_DPKG_REFUSALS};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::rc::Rc;
use tar::EntryType;

const BLOCK: u64 = 512;

fn round_up(n: u64) -> u64 {
    n.div_ceil(BLOCK) * BLOCK
}

/// Bytes the tar crate may read between two entries: the previous entry's padding, the header
/// blocks, two GNU long names (path and link) and one PAX header with a few xattrs.
pub(crate) fn header_budget(opts: &ReadOptions) -> usize {
    let l = &opts.limits;
    16 * 1024
        + 2 * (l.max_path_len.saturating_add(1024))
        + 8 * (l.max_xattr_bytes.saturating_mul(4) / 3 + 1024)
}

/// The member being walked, for error messages and limits.
pub(crate) struct Member<'m, 'o> {
    pub name: &'m str,
    pub compression: Compression,
    pub declared: u64,
    pub opts: &'m ReadOptions<'o>,
    pub probe: Rc<Probe>,
}

impl Member<'_, '_> {
    pub fn at(&self, index: u64, name: &str) -> At {
        Self::at_plain(self.name, index, name)
    }

    pub fn at_plain(member: &str, index: u64, name: &str) -> At {
        At {
            member: member.to_string(),
            index,
            name: name.to_string(),
        }
    }

    /// Turn an `io::Error` seen while reading this member into the most specific `ReadError`:
    /// a guard that tripped, a cut-off file, the decoder's own error, or else tar's.
    pub fn classify(&self, e: io::Error, after: u64) -> ReadError {
        let probe = &self.probe;
        match probe.tripped.take() {
            Some(Trip::MemberBytes) => {
                return ReadError::MemberBytes {
                    member: self.name.to_string(),
                    limit: self.opts.limits.max_member_bytes,
                }
            }
            Some(Trip::Headers) => {
                return ReadError::HeadersTooLarge {
                    member: self.name.to_string(),
                    index: after + 1,
                    limit: probe.capture_limit,
                }
            }
            None => {}
        }
        if probe.raw_short.get() {
            return ReadError::TruncatedMember {
                member: self.name.to_string(),
                declared: self.declared,
                actual: probe.raw.get(),
            };
        }
        if let Some(inner) = probe.inner_error.borrow_mut().take() {
            if crate::decode::is_memlimit(&inner) {
                return ReadError::DecoderMemLimit {
                    member: self.name.to_string(),
                    limit: self.opts.limits.xz_memlimit,
                };
            }
            if self.compression == Compression::None {
                return ReadError::Io(inner);
            }
            return ReadError::Decompress {
                member: self.name.to_string(),
                source: inner,
            };
        }
        ReadError::CorruptTar {
            member: self.name.to_string(),
            after,
            detail: one_line(&e.to_string()),
        }
    }
}

/// Counts what the visitor reads of an entry so the walker can check the total.
struct Counted<'r, R> {
    inner: &'r mut R,
    n: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// What the visitor gets for one entry.
pub(crate) struct Visit<'v> {
    pub index: u64,
    pub entry: Entry,
    /// The entry's data; whatever the visitor does not read is skipped afterwards.
    pub data: &'v mut dyn Read,
}

/// The headers of a tar stream that dpkg's extractor refuses, as they are met: the first
/// [`MAX_DPKG_REFUSALS`] with their names, and the count of all.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    pub kept: Vec<DpkgRefusal>,
    pub total: u64,
}

impl Refusals {
    fn add(&mut self, member: &str, typeflag: u8) {
        self.total = self.total.saturating_add(1);
        if self.kept.len() < MAX_DPKG_REFUSALS {
            self.kept.push(DpkgRefusal {
                member: member.to_string(),
                typeflag,
            });
        }
    }
}

/// Walk the tar stream `input` (already decompressed), calling `visit` for each entry and
/// noting in `refusals` each header dpkg's extractor would stop at.
pub(crate) fn walk<R: Read>(
    m: &Member,
    input: R,
    scratch: &mut [u8],
    refusals: &mut Refusals,
    visit: &mut dyn FnMut(Visit) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let limits = &m.opts.limits;
    let mut archive = tar::Archive::new(Guarded::new(input, m.probe.clone()));
    let mut index = 0u64;
    // What sparse files' holes expand to, read as zeros: a few bytes of map can claim a
    // terabyte, a decompression bomb like any other, so it counts against the same limit.
    let mut holes_and_data = 0u64;
    {
        let mut entries = archive.entries_with_seek().map_err(|e| m.classify(e, 0))?;
        loop {
            m.probe.begin_capture();
            let next = entries.next();
            m.probe.end_capture();
            let Some(next) = next else { break };
            let mut te = next.map_err(|e| m.classify(e, index))?;
            index += 1;
            if index > limits.max_entries {
                return Err(ReadError::TooManyEntries {
                    member: m.name.to_string(),
                    limit: limits.max_entries,
                });
            }
            let etype = te.header().entry_type();
            if etype.is_pax_global_extensions() {
                refusals.add(&String::from_utf8_lossy(&te.path_bytes()), b'g');
                check_global(m, index, &mut te, scratch)?;
                continue;
            }
            if etype.as_byte() == b'V' {
                // A GNU volume label names the archive, not a file: GNU tar and libarchive
                // create nothing for it, and dpkg refuses it.
                refusals.add(&String::from_utf8_lossy(&te.path_bytes()), b'V');
                drain(&mut te, scratch).map_err(|e| m.classify(e, index))?;
                continue;
            }
            if etype == EntryType::GNUSparse {
                holes_and_data = holes_and_data.saturating_add(te.size());
                if holes_and_data > limits.max_member_bytes {
                    return Err(ReadError::MemberBytes {
                        member: m.name.to_string(),
                        limit: limits.max_member_bytes,
                    });
                }
            }
            let entry = describe(m, index, &mut te)?;
            // A local PAX header describes the entry that follows it; dpkg refuses it there.
            if te.pax_extensions().ok().flatten().is_some() {
                refusals.add(&entry.path, b'x');
            }
            if DpkgRefusal::refused(etype.as_byte()) {
                refusals.add(&entry.path, etype.as_byte());
            }
            let size = entry.size;
            let path_for_error = |entry: &Entry| m.at(index, &entry.path);
            let at_truncated = path_for_error(&entry);
            let mut counted = Counted {
                inner: &mut te,
                n: 0,
            };
            visit(Visit {
                index,
                entry,
                data: &mut counted,
            })
            .map_err(|e| match e {
                // A read error inside the visitor is about the stream, not the visitor.
                ReadError::Io(io) => m.classify(io, index),
                other => other,
            })?;
            drain(&mut counted, scratch).map_err(|e| m.classify(e, index))?;
            if counted.n != size {
                return Err(ReadError::TruncatedTar {
                    at: at_truncated,
                    declared: size,
                    actual: counted.n,
                });
            }
        }
    }
    // Read past the end-of-archive blocks to the end of the stream, so a corrupt or cut-off
    // compressed stream is noticed even after the last entry.
    let mut rest = archive.into_inner();
    drain(&mut rest, scratch).map_err(|e| m.classify(e, index))?;
    Ok(())
}

/// Read a global PAX header's records and refuse the ones that would change later entries.
fn check_global<R: Read>(
    m: &Member,
    index: u64,
    te: &mut tar::Entry<R>,
    scratch: &mut [u8],
) -> Result<(), ReadError> {
    let at = || m.at(index, "<global PAX header>");
    let limit = m.probe.capture_limit as u64;
    if te.size() > limit {
        return Err(ReadError::HeadersTooLarge {
            member: m.name.to_string(),
            index,
            limit: m.probe.capture_limit,
        });
    }
    let mut body = Vec::with_capacity(te.size() as usize);
    te.read_to_end(&mut body)
        .map_err(|e| m.classify(e, index))?;
    drain(te, scratch).map_err(|e| m.classify(e, index))?;
    for record in pax::records(&body) {
        let (key, _) = record.map_err(|e| ReadError::BadPax {
            at: at(),
            detail: e.to_string(),
        })?;
        if !pax::global_key_allowed(key) {
            return Err(ReadError::BadPax {
                at: at(),
                detail: format!(
                    "global header sets `{}`, which unpackers disagree on applying",
                    String::from_utf8_lossy(key).escape_debug()
                ),
            });
        }
    }
    Ok(())
}

fn corrupt(m: &Member, index: u64, e: io::Error) -> ReadError {
    ReadError::CorruptTar {
        member: m.name.to_string(),
        after: index.saturating_sub(1),
        detail: one_line(&e.to_string()),
    }
}

/// Validate one entry's header and build its `Entry` (without data).
fn describe<R: Read>(m: &Member, index: u64, te: &mut tar::Entry<R>) -> Result<Entry, ReadError> {
    let limits = &m.opts.limits;
    // A name is bytes (dpkg installs one that is not UTF-8); it is shown with `\xNN` escapes
    // and its bytes are kept beside it (GNU long names and PAX `path` records alike).
    let raw_name = te.path_bytes();
    let name = escape_name(&raw_name);
    let at = || m.at(index, &name);
    if raw_name.len() > limits.max_path_len {
        return Err(ReadError::PathTooLong {
            at: at(),
            what: "name",
            len: raw_name.len(),
            limit: limits.max_path_len,
        });
    }
    if name.starts_with('/') {
        return Err(ReadError::AbsolutePath { at: at() });
    }
    let path = normalise(&name).ok_or_else(|| ReadError::PathEscapes { at: at() })?;
    let raw_path = (name.as_bytes() != &raw_name[..])
        .then(|| normalise_bytes(&raw_name))
        .flatten();

    let kind = entry_kind(m, te, at)?;
    let header = te.header();
    let mode = header.mode().map_err(|e| corrupt(m, index, e))? & 0o7777;
    let device = match kind {
        EntryKind::CharDevice | EntryKind::BlockDevice => Some(device_numbers(m, index, header)?),
        _ => None,
    };
    let uid = header.uid().map_err(|e| corrupt(m, index, e))?;
    let gid = header.gid().map_err(|e| corrupt(m, index, e))?;
    let name_of = |b: Option<&[u8]>| {
        b.filter(|b| !b.is_empty())
            .map(|b| escape_name(b).into_owned())
    };
    let mut owner = name_of(header.username_bytes());
    let mut group = name_of(header.groupname_bytes());

    let (link_target, raw_link_target) = match kind {
        EntryKind::Symlink | EntryKind::HardLink => {
            let raw = te.link_name_bytes().unwrap_or_default();
            if raw.len() > limits.max_path_len {
                return Err(ReadError::PathTooLong {
                    at: at(),
                    what: "link target",
                    len: raw.len(),
                    limit: limits.max_path_len,
                });
            }
            let text = escape_name(&raw);
            if kind == EntryKind::HardLink {
                // Hard-link targets name another member; give them the member's normal form.
                let target = normalise(&text).ok_or_else(|| ReadError::HardLink {
                    at: at(),
                    target: text.to_string(),
                    problem: "which escapes the package root",
                })?;
                (
                    Some(target),
                    (text.as_bytes() != &raw[..])
                        .then(|| normalise_bytes(&raw))
                        .flatten(),
                )
            } else {
                (
                    Some(text.to_string()),
                    (text.as_bytes() != &raw[..]).then(|| raw.to_vec()),
                )
            }
        }
        _ => (None, None),
    };

    let mut xattrs = BTreeMap::new();
    if let Some(body) = local_pax(&m.probe, te.raw_header_position()) {
        let bad = |detail: String| ReadError::BadPax { at: at(), detail };
        let extra = pax::parse_local(&body, limits.max_xattr_bytes).map_err(|p| match p {
            PaxProblem::Malformed(d) => bad(d),
            PaxProblem::XattrName => ReadError::NonUtf8 {
                at: at(),
                what: "extended attribute name",
            },
            PaxProblem::XattrTooLarge { name, size } => ReadError::XattrTooLarge {
                at: at(),
                name,
                size,
                limit: limits.max_xattr_bytes,
            },
            PaxProblem::BadXattr(detail) => ReadError::BadXattr { at: at(), detail },
        })?;
        check_agreement(te, &body, &extra).map_err(|what| {
            bad(format!(
                "its `{what}` record reads differently to other tar readers"
            ))
        })?;
        if extra.uname.is_some() {
            owner = extra.uname.filter(|s| !s.is_empty());
        }
        if extra.gname.is_some() {
            group = extra.gname.filter(|s| !s.is_empty());
        }
        xattrs = extra.xattrs;
    }

    Ok(Entry {
        path,
        raw_path,
        raw_link_target,
        kind,
        mode,
        uid,
        gid,
        owner,
        group,
        size: te.size(),
        link_target,
        xattrs,
        member: None,
        through: Vec::new(),
        device,
    })
}

/// The entry's type as a fact. dpkg refuses sparse, contiguous, dumpdir and unknown types (the
/// walker notes that); the entry is read as the other unpackers read it: POSIX says an unknown
/// type is a regular file, and GNU tar and libarchive extract sparse, contiguous and unknown
/// types as regular files (holes filled) and a dumpdir as a directory.
fn entry_kind<R: Read>(
    m: &Member,
    te: &tar::Entry<R>,
    at: impl Fn() -> At,
) -> Result<EntryKind, ReadError> {
    let limits = &m.opts.limits;
    let etype = te.header().entry_type();
    Ok(match etype {
        EntryType::Regular | EntryType::Continuous => EntryKind::File,
        EntryType::Directory => EntryKind::Dir,
        EntryType::Symlink => EntryKind::Symlink,
        EntryType::Link => EntryKind::HardLink,
        EntryType::Fifo => EntryKind::Fifo,
        EntryType::Char | EntryType::Block if !limits.allow_device_nodes => {
            let kind = if etype == EntryType::Char {
                "character"
            } else {
                "block"
            };
            return Err(ReadError::DeviceNode { at: at(), kind });
        }
        EntryType::Char => EntryKind::CharDevice,
        EntryType::Block => EntryKind::BlockDevice,
        EntryType::GNUSparse => EntryKind::File,
        other => {
            let byte = other.as_byte();
            let what = match byte {
                b'L' | b'K' => " (misplaced GNU long name)",
                b'x' => " (misplaced PAX header)",
                b'X' => " (Solaris extended header: attributes for the next member)",
                b'A' => " (Solaris ACL for the next member)",
                b'M' => " (GNU multi-volume continuation)",
                b'N' => " (GNU list of renamed long names)",
                b'D' => return Ok(EntryKind::Dir),
                _ => return Ok(EntryKind::File),
            };
            // These describe another member, or change files by other means, in ways the
            // unpackers do not agree on and debgate does not read: fail closed (dpkg refuses
            // them too).
            return Err(ReadError::UnsupportedEntry {
                at: at(),
                kind: format!("`{}`{what}", (byte as char).escape_debug()),
            });
        }
    })
}

/// A device node's numbers. An empty field (NULs or spaces) reads as 0, as in dpkg
/// (`tar_atol8`) and GNU tar; one that is not a number is a corrupt header. A header of the
/// old format has no such fields: 0 too.
fn device_numbers(m: &Member, index: u64, header: &tar::Header) -> Result<Device, ReadError> {
    let fields = match (header.as_ustar(), header.as_gnu()) {
        (Some(u), _) => Some((u.dev_major, u.dev_minor)),
        (None, Some(g)) => Some((g.dev_major, g.dev_minor)),
        (None, None) => None,
    };
    let Some((major_field, minor_field)) = fields else {
        return Ok(Device { major: 0, minor: 0 });
    };
    let blank = |f: &[u8; 8]| f.iter().all(|&b| b == 0 || b == b' ');
    let number = |field: &[u8; 8], read: io::Result<Option<u32>>| {
        if blank(field) {
            Ok(0)
        } else {
            read.map(Option::unwrap_or_default)
                .map_err(|e| corrupt(m, index, e))
        }
    };
    Ok(Device {
        major: number(&major_field, header.device_major())?,
        minor: number(&minor_field, header.device_minor())?,
    })
}

/// The body of the local PAX header that preceded the entry whose header is at `header_pos`,
/// found in the bytes captured while tar looked for that entry.
fn local_pax(probe: &Probe, header_pos: u64) -> Option<Vec<u8>> {
    let start = probe.capture_start.get();
    let mut pos = round_up(start);
    if pos >= header_pos {
        // The usual case: no extension headers before this entry.
        return None;
    }
    let capture = probe.capture.borrow();
    let mut found = None;
    while pos < header_pos {
        let off = usize::try_from(pos - start).ok()?;
        let block = capture.get(off..off + BLOCK as usize)?;
        let h = tar::Header::from_byte_slice(block);
        let size = h.entry_size().ok()?;
        if h.entry_type().is_pax_local_extensions() {
            let body = off + BLOCK as usize;
            found = capture.get(body..body + usize::try_from(size).ok()?);
        }
        pos = pos.checked_add(BLOCK + round_up(size))?;
    }
    found.map(<[u8]>::to_vec)
}

/// Check that what `tar` applied from the PAX header matches our length-framed reading.
fn check_agreement<R: Read>(
    te: &tar::Entry<R>,
    body: &[u8],
    extra: &pax::Extra,
) -> Result<(), &'static str> {
    if !pax::tar_agrees(body) {
        return Err("records");
    }
    let number = |v: &[u8]| std::str::from_utf8(v).ok()?.parse::<u64>().ok();
    if let Some(size) = &extra.size {
        if number(size) != Some(te.size()) {
            return Err("size");
        }
    }
    if let Some(uid) = &extra.uid {
        if number(uid) != te.header().uid().ok() {
            return Err("uid");
        }
    }
    if let Some(gid) = &extra.gid {
        if number(gid) != te.header().gid().ok() {
            return Err("gid");
        }
    }
    if let Some(path) = &extra.path {
        if path.as_slice() != &*te.path_bytes() {
            return Err("path");
        }
    }
    if let Some(link) = &extra.linkpath {
        if Some(link.as_slice()) != te.link_name_bytes().as_deref() {
            return Err("linkpath");
        }
    }
    Ok(())
}
