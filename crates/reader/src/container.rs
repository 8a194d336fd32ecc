//! The ar container: member names, their order, `debian-binary`, and a guard for the `ar` crate.

use crate::{Limits, ReadError};
use debgate_facts::path::escape_name;
use debgate_facts::Compression;
use std::io::{self, Read};

/// What a member name is, relative to what the container rules allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberKind {
    DebianBinary,
    Control(Compression),
    Data(Compression),
    /// `_`-prefixed: reserved for local use, skipped (as dpkg does).
    Reserved,
    Other,
}

pub(crate) const CONTROL_ALLOWED: &str = "control.tar may be uncompressed, .gz, .xz or .zst";
pub(crate) const DATA_ALLOWED: &str = "data.tar may be uncompressed, .gz, .xz, .zst, .bz2 or .lzma";

/// Classify a member name (the `ar` crate has already dropped GNU's trailing `/`).
pub(crate) fn classify(name: &str) -> Result<MemberKind, ReadError> {
    if name == "debian-binary" {
        return Ok(MemberKind::DebianBinary);
    }
    if name.starts_with('_') {
        return Ok(MemberKind::Reserved);
    }
    for (base, allowed, is_control) in [
        ("control.tar", CONTROL_ALLOWED, true),
        ("data.tar", DATA_ALLOWED, false),
    ] {
        let Some(rest) = name.strip_prefix(base) else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with('.') {
            return Ok(MemberKind::Other);
        }
        let compression = Compression::ALL.into_iter().find(|c| c.suffix() == rest);
        let ok_for_control = |c: &Compression| {
            matches!(
                c,
                Compression::None | Compression::Gzip | Compression::Xz | Compression::Zstd
            )
        };
        return match compression {
            Some(c) if is_control && ok_for_control(&c) => Ok(MemberKind::Control(c)),
            Some(c) if !is_control => Ok(MemberKind::Data(c)),
            _ => Err(ReadError::UnknownCompression {
                member: name.to_string(),
                allowed,
            }),
        };
    }
    Ok(MemberKind::Other)
}

/// Check `debian-binary`'s content: a `MAJOR.MINOR` line with major 2 (the minor and anything
/// after the first line are ignored, as dpkg does).
pub(crate) fn check_debian_binary(content: &[u8], complete: bool) -> Result<(), ReadError> {
    let bad = |detail: &str| ReadError::BadDebianBinary {
        detail: detail.to_string(),
    };
    if !complete {
        return Err(bad("longer than a version line"));
    }
    let Some(end) = content.iter().position(|&b| b == b'\n') else {
        return Err(bad("no newline-terminated version line"));
    };
    let line = std::str::from_utf8(&content[..end]).map_err(|_| bad("not text"))?;
    let not_version = || bad(&format!("`{}` is not MAJOR.MINOR", line.escape_debug()));
    let (major, minor) = line.split_once('.').ok_or_else(not_version)?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(major) || !numeric(minor) {
        return Err(not_version());
    }
    if major.trim_start_matches('0') != "2" {
        return Err(ReadError::UnsupportedFormat {
            version: line.to_string(),
        });
    }
    Ok(())
}

/// Read what follows the data member and return how many trailing bytes there are.
///
/// dpkg (1.21.22, `dpkg-deb` and `dpkg --unpack` alike) stops reading a `.deb` at the end of the
/// data member: whatever follows is never looked at, so garbage, a cut-off header, a missing or
/// odd padding byte, a `_` member cut short, even another whole member do not stop it
/// installing. debgate reads on, to see what is there: the data member's padding byte (any
/// value, or none at the end of the file, as dpkg does not read it either), then `_` members
/// (signatures such as debsigs' `_gpgorigin` are appended there), skipped as before. A whole
/// member of any other name stays an error (`man deb` calls it invalid, and a second
/// `data.tar` could be what another unpacker takes). Anything else, from the first byte that
/// does not start a complete member to the end of the file, is trailing: counted, up to
/// `max-trailing-bytes`, and reported by the `trailing-bytes` check.
pub(crate) fn after_data<R: Read>(
    mut input: R,
    padding: u64,
    limits: &Limits,
    scratch: &mut [u8],
) -> Result<u64, ReadError> {
    skip(&mut input, padding, scratch)?;
    loop {
        let mut header = [0u8; HEADER_LEN];
        let got = fill(&mut input, &mut header)?;
        if got == 0 {
            return Ok(0);
        }
        let parsed = (got == HEADER_LEN)
            .then(|| member_header(&header))
            .flatten();
        let Some((name, size)) = parsed else {
            // Not the start of an ar member: all of it, to the end, is trailing.
            return count_rest(&mut input, got as u64, limits, scratch);
        };
        if !name.starts_with(b"_") {
            if limits.allow_extra_members {
                // As dpkg reads it: never. The member and all after it are trailing.
                return count_rest(&mut input, got as u64, limits, scratch);
            }
            return Err(ReadError::ExtraMember {
                member: escape_name(name).into_owned(),
            });
        }
        if size > limits.max_compressed_member_bytes {
            return Err(ReadError::MemberTooLarge {
                member: escape_name(name).into_owned(),
                size,
                limit: limits.max_compressed_member_bytes,
            });
        }
        let body = skip(&mut input, size + size % 2, scratch)?;
        if body < size {
            // A reserved member cut short: dpkg never reads it, so it is trailing too.
            let read = HEADER_LEN as u64 + body;
            if read > limits.max_trailing_bytes {
                return Err(ReadError::TrailingBytes {
                    limit: limits.max_trailing_bytes,
                });
            }
            return Ok(read);
        }
    }
}

/// A complete ar member header as dpkg checks one (the end marker and a decimal size): its name
/// (without GNU's trailing `/` and the padding spaces) and declared size.
fn member_header(h: &[u8; HEADER_LEN]) -> Option<(&[u8], u64)> {
    if h[58..60] != *b"`\n" {
        return None;
    }
    let size = std::str::from_utf8(&h[48..58]).ok()?.trim_end_matches(' ');
    if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let size = size.parse().ok()?;
    let mut name = &h[..16];
    while let [rest @ .., b' '] = name {
        name = rest;
    }
    if let [rest @ .., b'/'] = name {
        if !rest.is_empty() {
            name = rest;
        }
    }
    Some((name, size))
}

/// Read into `buf` until it is full or the input ends; how many bytes came.
fn fill<R: Read>(input: &mut R, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e)),
        }
    }
    Ok(filled)
}

/// Read and drop up to `n` bytes; how many there were before the input ended.
fn skip<R: Read>(input: &mut R, n: u64, scratch: &mut [u8]) -> Result<u64, ReadError> {
    let mut done = 0;
    while done < n {
        let want = usize::try_from(n - done)
            .unwrap_or(usize::MAX)
            .min(scratch.len());
        let got = fill(input, &mut scratch[..want])?;
        done += got as u64;
        if got < want {
            break;
        }
    }
    Ok(done)
}

/// Count the rest of the input, `already` bytes of it read, up to `max-trailing-bytes`.
fn count_rest<R: Read>(
    input: &mut R,
    already: u64,
    limits: &Limits,
    scratch: &mut [u8],
) -> Result<u64, ReadError> {
    let limit = limits.max_trailing_bytes;
    let over = || ReadError::TrailingBytes { limit };
    if already > limit {
        return Err(over());
    }
    // One byte past the limit is enough to know it is exceeded.
    let rest = skip(input, limit - already + 1, scratch)?;
    let total = already + rest;
    if total > limit {
        return Err(over());
    }
    Ok(total)
}

const GLOBAL_MAGIC_LEN: usize = 8;
const HEADER_LEN: usize = 60;

#[derive(Debug, Clone, Copy)]
enum Phase {
    Magic(usize),
    Header,
    Serve { at: usize, len: usize, body: u64 },
    Body(u64),
}

/// Sits between the file and the `ar` crate and refuses member headers whose name starts with
/// `/` or `#1/` before the crate sees them.
///
/// Why: `ar` 0.9 allocates a GNU name table (`//`) or BSD long name (`#1/N`) at the size the
/// header declares (up to 10 GB) and indexes the name table without bounds checks (`/123`
/// panics). No `.deb` member uses either form: dpkg writes plain names of at most 16 bytes.
/// This looks only at each header's name and size field, to know where the next one is.
pub(crate) struct ArGuard<R> {
    inner: R,
    phase: Phase,
    header: [u8; HEADER_LEN],
}

impl<R: Read> ArGuard<R> {
    /// The reader underneath, once the ar crate is done with it, and how many bytes of the
    /// current member's body (its padding byte, once its data has been read) are still unread.
    pub fn into_rest(self) -> (R, u64) {
        let pending = match self.phase {
            Phase::Body(left) => left,
            _ => 0,
        };
        (self.inner, pending)
    }

    pub fn new(inner: R) -> Self {
        ArGuard {
            inner,
            phase: Phase::Magic(GLOBAL_MAGIC_LEN),
            header: [0; HEADER_LEN],
        }
    }

    fn load_header(&mut self) -> io::Result<usize> {
        let mut filled = 0;
        while filled < HEADER_LEN {
            match self.inner.read(&mut self.header[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(filled)
    }
}

impl<R: Read> Read for ArGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            match self.phase {
                Phase::Magic(left) => {
                    if left == 0 {
                        self.phase = Phase::Header;
                        continue;
                    }
                    let want = left.min(out.len());
                    let n = self.inner.read(&mut out[..want])?;
                    self.phase = Phase::Magic(left - n);
                    return Ok(n);
                }
                Phase::Header => {
                    let len = self.load_header()?;
                    if len == 0 {
                        return Ok(0);
                    }
                    let mut body = 0;
                    if len == HEADER_LEN {
                        let h = &self.header;
                        if h[0] == b'/' || h.starts_with(b"#1/") {
                            let name = String::from_utf8_lossy(&h[..16]);
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "member name `{}` uses the GNU/BSD extended-name form, which no .deb uses",
                                    name.trim_end().escape_debug()
                                ),
                            ));
                        }
                        // dpkg refuses a member header whose end marker (`ar_fmag`) is not "`\n";
                        // the ar crate does not look at it.
                        if h[58..60] != *b"`\n" {
                            let name = String::from_utf8_lossy(&h[..16]);
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "member header of `{}` ends with {:?}, not \"`\\n\" (a corrupt ar header, which dpkg refuses)",
                                    name.trim_end().escape_debug(),
                                    String::from_utf8_lossy(&h[58..60])
                                ),
                            ));
                        }
                        // An unparsable size is left for the ar crate to report.
                        body = std::str::from_utf8(&h[48..58])
                            .ok()
                            .and_then(|s| s.trim_end().parse::<u64>().ok())
                            .map_or(0, |size| size + size % 2);
                    }
                    self.phase = Phase::Serve { at: 0, len, body };
                }
                Phase::Serve { at, len, body } => {
                    if at == len {
                        self.phase = Phase::Body(body);
                        continue;
                    }
                    let n = (len - at).min(out.len());
                    out[..n].copy_from_slice(&self.header[at..at + n]);
                    self.phase = Phase::Serve {
                        at: at + n,
                        len,
                        body,
                    };
                    return Ok(n);
                }
                Phase::Body(left) => {
                    if left == 0 {
                        self.phase = Phase::Header;
                        continue;
                    }
                    let want = usize::try_from(left).unwrap_or(usize::MAX).min(out.len());
                    let n = self.inner.read(&mut out[..want])?;
                    self.phase = Phase::Body(left - n as u64);
                    return Ok(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_member_names() {
        assert_eq!(classify("debian-binary").unwrap(), MemberKind::DebianBinary);
        assert_eq!(
            classify("control.tar.zst").unwrap(),
            MemberKind::Control(Compression::Zstd)
        );
        assert_eq!(
            classify("data.tar").unwrap(),
            MemberKind::Data(Compression::None)
        );
        assert_eq!(classify("_gpgbuilder").unwrap(), MemberKind::Reserved);
        assert_eq!(classify("data.tarx").unwrap(), MemberKind::Other);
        assert!(matches!(
            classify("control.tar.bz2"),
            Err(ReadError::UnknownCompression { .. })
        ));
        assert!(matches!(
            classify("data.tar.lz4"),
            Err(ReadError::UnknownCompression { .. })
        ));
    }

    #[test]
    fn checks_debian_binary() {
        assert!(check_debian_binary(b"2.0\n", true).is_ok());
        assert!(check_debian_binary(b"2.1\nextra\n", true).is_ok());
        assert!(matches!(
            check_debian_binary(b"3.0\n", true),
            Err(ReadError::UnsupportedFormat { .. })
        ));
        assert!(matches!(
            check_debian_binary(b"2.0", true),
            Err(ReadError::BadDebianBinary { .. })
        ));
        assert!(matches!(
            check_debian_binary(b"two\n", true),
            Err(ReadError::BadDebianBinary { .. })
        ));
    }
}
