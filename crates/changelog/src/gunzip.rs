//! Decompressing a `.gz` changelog as the `.deb` reader captured it: maybe cut off, maybe
//! corrupt, maybe a gzip bomb. What decoded is kept, and the caller learns whether it is whole.

use std::io::Read;

/// The decompressed text and whether it is the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The decompressed bytes as UTF-8, invalid sequences replaced (changelogs are UTF-8 by
    /// policy; old ones in Latin-1 still read, with replacement characters).
    pub text: String,
    /// True when the gzip stream ended normally (its checksum and length matched) and nothing
    /// was cut by `max_out`. False for a capture cut off by the reader, a corrupt stream, or
    /// output over the budget: `text` then holds what decoded before.
    pub complete: bool,
}

/// Decompress `bytes` (one gzip member or several, as `gzip` and `MultiGzDecoder` allow),
/// producing at most `max_out` bytes: a gzip bomb costs at most that much memory and the time
/// to inflate it. A truncated or corrupt stream keeps what decoded before the error, with
/// `complete: false`. Never panics.
pub fn gunzip(bytes: &[u8], max_out: u64) -> Decoded {
    let mut out = Vec::new();
    // One byte over the budget tells "exactly max_out and then the end" from "more follows".
    let limit = max_out.saturating_add(1);
    let mut decoder = flate2::read::MultiGzDecoder::new(bytes).take(limit);
    let mut buf = [0u8; 16 * 1024];
    let mut ended = false;
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => {
                // End of the stream, or `take` reached `limit`: only the first is complete.
                ended = decoder.limit() > 0;
                break;
            }
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let cut = out.len() as u64 > max_out;
    // `max_out` bounds `out.len()` + 1, so it fits in a usize here.
    out.truncate(usize::try_from(max_out).unwrap_or(usize::MAX));
    Decoded {
        text: String::from_utf8_lossy(&out).into_owned(),
        complete: ended && !cut,
    }
}
