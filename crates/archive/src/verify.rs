//! A package's bytes checked against its index entry as they stream into the reader: the
//! SHA-256 and the size `Packages` gives. Nothing is buffered; a mismatch is known when the
//! stream ends, and is that package's error.

use debgate_facts::hex;
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use thiserror::Error;

/// A reader that hashes and counts what passes through it, and refuses to give more than the
/// expected size (a file longer than its index says is not the file the index means).
pub struct Verifying<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    size: u64,
}

/// What did not match.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    #[error("{read} bytes where Packages says {size}")]
    Size { read: u64, size: u64 },
    #[error("SHA-256 {got}, where Packages says {want}")]
    Sha256 { got: String, want: String },
    #[error("reading it: {0}")]
    Io(String),
}

impl<R: Read> Verifying<R> {
    pub fn new(inner: R, size: u64) -> Verifying<R> {
        Verifying {
            inner,
            hasher: Sha256::new(),
            read: 0,
            size,
        }
    }

    /// Read what the consumer left (the reader stops at the end of what dpkg reads), then
    /// compare. Bounded: at most one byte past the expected size is read.
    pub fn finish(mut self, sha256: &[u8; 32]) -> Result<(), Mismatch> {
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    return Err(Mismatch::Size {
                        read: self.read,
                        size: self.size,
                    })
                }
                Err(e) => return Err(Mismatch::Io(e.to_string())),
            }
        }
        if self.read != self.size {
            return Err(Mismatch::Size {
                read: self.read,
                size: self.size,
            });
        }
        let got: [u8; 32] = self.hasher.finalize().into();
        if &got != sha256 {
            return Err(Mismatch::Sha256 {
                got: hex(&got),
                want: hex(sha256),
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for Verifying<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte more than expected is asked for, so that a longer file is noticed.
        let room = (self.size + 1).saturating_sub(self.read);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        if want == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("longer than the {} bytes Packages says", self.size),
            ));
        }
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("longer than the {} bytes Packages says", self.size),
            ));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(b: &[u8]) -> [u8; 32] {
        Sha256::digest(b).into()
    }

    #[test]
    fn matches_only_the_bytes_the_index_means() {
        let data = b"the package".to_vec();
        let mut v = Verifying::new(&data[..], data.len() as u64);
        let mut head = [0u8; 3];
        v.read_exact(&mut head).unwrap();
        v.finish(&sum(&data)).unwrap();

        let v = Verifying::new(&data[..], data.len() as u64);
        let e = v.finish(&sum(b"other")).unwrap_err();
        assert!(matches!(e, Mismatch::Sha256 { .. }), "{e}");

        let v = Verifying::new(&data[..5], data.len() as u64);
        assert!(matches!(
            v.finish(&sum(&data)),
            Err(Mismatch::Size { read: 5, .. })
        ));

        let v = Verifying::new(&data[..], 4);
        assert!(matches!(v.finish(&sum(&data)), Err(Mismatch::Size { .. })));
    }
}
