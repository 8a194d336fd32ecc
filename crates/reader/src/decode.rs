//! Decompressors for control.tar/data.tar and the guard readers around them.
//!
//! The layers for one member, innermost first:
//! `ar::Entry` → [`Counting`] (raw bytes, detects a cut-off file) → decoder →
//! [`Guarded`] (decompressed bytes: bomb guard, tar header capture) → `tar::Archive`.
//! The tar crate owns the reader while it iterates, so the layers report what they saw through a
//! shared [`Probe`] instead of return values; the walker reads it to classify an `io::Error`.

use crate::ReadOptions;
use debgate_facts::Compression;
use std::cell::{Cell, RefCell};
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::rc::Rc;

/// Which guard stopped the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trip {
    /// More than `max_member_bytes` decompressed bytes.
    MemberBytes,
    /// More than the header budget read while the tar crate looked for the next entry.
    Headers,
}

/// What the reader layers of one member observed.
#[derive(Debug)]
pub(crate) struct Probe {
    /// Raw bytes read from the ar member so far.
    pub raw: Cell<u64>,
    /// The file ended before the ar member's declared size.
    pub raw_short: Cell<bool>,
    /// Decompressed bytes handed to tar so far.
    pub pos: Cell<u64>,
    pub tripped: Cell<Option<Trip>>,
    /// The first error the decoder (or the file beneath it) returned, kept whole so the walker
    /// can report it even when tar wraps or replaces it.
    pub inner_error: RefCell<Option<io::Error>>,
    /// While set, every byte tar reads is also copied to `capture` (bounded by
    /// `capture_limit`): these are the header blocks and extension records of the next entry.
    pub capturing: Cell<bool>,
    pub capture: RefCell<Vec<u8>>,
    pub capture_start: Cell<u64>,
    pub capture_limit: usize,
    pub max_member_bytes: u64,
}

impl Probe {
    pub fn new(max_member_bytes: u64, capture_limit: usize) -> Rc<Probe> {
        Rc::new(Probe {
            raw: Cell::new(0),
            raw_short: Cell::new(false),
            pos: Cell::new(0),
            tripped: Cell::new(None),
            inner_error: RefCell::new(None),
            capturing: Cell::new(false),
            capture: RefCell::new(Vec::with_capacity(4096)),
            capture_start: Cell::new(0),
            capture_limit,
            max_member_bytes,
        })
    }

    pub fn begin_capture(&self) {
        self.capture.borrow_mut().clear();
        self.capture_start.set(self.pos.get());
        self.capturing.set(true);
    }

    pub fn end_capture(&self) {
        self.capturing.set(false);
    }
}

/// Counts raw member bytes and turns a file that ends before the ar header's declared size
/// into an error, instead of the silent short read `ar::Entry` gives.
pub(crate) struct Counting<R> {
    inner: R,
    declared: u64,
    probe: Rc<Probe>,
}

impl<R: Read> Counting<R> {
    pub fn new(inner: R, declared: u64, probe: Rc<Probe>) -> Self {
        Counting {
            inner,
            declared,
            probe,
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let raw = self.probe.raw.get() + n as u64;
        self.probe.raw.set(raw);
        if n == 0 && !buf.is_empty() && raw < self.declared {
            self.probe.raw_short.set(true);
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file ends inside this ar member",
            ));
        }
        Ok(n)
    }
}

/// Sits between the decoder and tar: enforces `max_member_bytes`, captures header bytes, and
/// remembers the decoder's own error.
pub(crate) struct Guarded<R> {
    inner: R,
    probe: Rc<Probe>,
}

impl<R: Read> Guarded<R> {
    pub fn new(inner: R, probe: Rc<Probe>) -> Self {
        Guarded { inner, probe }
    }
}

fn tripped(what: &str) -> io::Error {
    io::Error::other(what.to_string())
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let p = &*self.probe;
        let mut want = buf.len();
        if p.capturing.get() {
            let room = p.capture_limit.saturating_sub(p.capture.borrow().len());
            if room == 0 {
                p.tripped.set(Some(Trip::Headers));
                return Err(tripped("tar extension headers too large"));
            }
            want = want.min(room);
        }
        let pos = p.pos.get();
        let left = p.max_member_bytes.saturating_sub(pos);
        if left == 0 {
            // At the limit exactly: only an error if the stream really has more.
            let mut probe_byte = [0u8; 1];
            return match self.inner.read(&mut probe_byte) {
                Ok(0) => Ok(0),
                Ok(_) => {
                    p.tripped.set(Some(Trip::MemberBytes));
                    Err(tripped("decompressed size limit exceeded"))
                }
                Err(e) => Err(self.keep(e)),
            };
        }
        want = want.min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => return Err(self.keep(e)),
        };
        p.pos.set(pos + n as u64);
        if p.capturing.get() {
            p.capture.borrow_mut().extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }
}

/// Forward skips only, done by reading. Why: `tar` 0.4 zeroes a 32 KiB buffer on every skip
/// (once per entry, even to skip nothing) unless the reader can seek; with this it calls
/// `seek(Current(padding))` instead, and the padding still passes through `read`'s guards.
impl<R: Read> Seek for Guarded<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Current(delta) = pos else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "decompressed streams only skip forward",
            ));
        };
        let mut left = u64::try_from(delta)
            .map_err(|_| io::Error::new(io::ErrorKind::Unsupported, "cannot skip backwards"))?;
        // Padding is under one 512-byte block; larger skips loop.
        let mut buf = [0u8; 512];
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            match self.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "unexpected EOF during skip",
                    ))
                }
                Ok(n) => left -= n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.probe.pos.get())
    }
}

impl<R> Guarded<R> {
    /// Stash the decoder's error for the walker and hand tar a copy of its message.
    fn keep(&self, e: io::Error) -> io::Error {
        if e.kind() == io::ErrorKind::Interrupted {
            return e;
        }
        let copy = io::Error::new(e.kind(), e.to_string());
        let mut slot = self.probe.inner_error.borrow_mut();
        if slot.is_none() {
            *slot = Some(e);
        }
        copy
    }
}

/// Whether `e` is a decoder running out of its memory limit.
pub(crate) fn is_memlimit(e: &io::Error) -> bool {
    if let Some(inner) = e.get_ref() {
        if let Some(lz) = inner.downcast_ref::<liblzma::stream::Error>() {
            return matches!(lz, liblzma::stream::Error::MemLimit);
        }
    }
    // zstd reports a too-large window as text only ("Frame requires too much memory ...").
    e.to_string().contains("too much memory")
}

/// Buffer size between the ar member and the decoders: large enough that decoding, not
/// syscalls or copies, dominates.
const INPUT_BUFFER: usize = 64 * 1024;

/// Build the decoder for `compression` over the raw member bytes.
pub(crate) fn decoder<'a, R: Read + 'a>(
    compression: Compression,
    input: R,
    opts: &ReadOptions,
) -> io::Result<Box<dyn Read + 'a>> {
    let memlimit = opts.limits.xz_memlimit;
    Ok(match compression {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Compression::Xz => {
            // Like dpkg, decode one xz stream (flags 0): what follows it is ignored.
            let stream = if opts.xz_threads > 1 {
                liblzma::stream::MtStreamBuilder::new()
                    .threads(opts.xz_threads)
                    // Over the threading limit liblzma drops to one thread; over the stop limit
                    // it fails. Both bound memory by the same budget.
                    .memlimit_threading(memlimit)
                    .memlimit_stop(memlimit)
                    .decoder()
            } else {
                liblzma::stream::Stream::new_stream_decoder(memlimit, 0)
            }
            .map_err(io::Error::from)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(
                BufReader::with_capacity(INPUT_BUFFER, input),
                stream,
            ))
        }
        Compression::Lzma => {
            let stream =
                liblzma::stream::Stream::new_lzma_decoder(memlimit).map_err(io::Error::from)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(
                BufReader::with_capacity(INPUT_BUFFER, input),
                stream,
            ))
        }
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(
                INPUT_BUFFER,
                input,
            ))?;
            d.window_log_max(zstd_window_log(memlimit))?;
            Box::new(d)
        }
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
    })
}

/// The largest zstd window (as log2) that fits the decoder memory limit; zstd accepts 10..=31.
fn zstd_window_log(memlimit: u64) -> u32 {
    let log = 63 - memlimit.max(1).leading_zeros();
    log.clamp(10, 31)
}

/// Read `r` to its end without keeping anything; returns the byte count.
pub(crate) fn drain<R: Read + ?Sized>(r: &mut R, scratch: &mut [u8]) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match r.read(scratch) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_window_follows_memlimit() {
        assert_eq!(zstd_window_log(512 << 20), 29);
        assert_eq!(zstd_window_log(1), 10);
        assert_eq!(zstd_window_log(u64::MAX), 31);
    }
}
