//! The member compressors, each at a fixed level so the bytes never change.
//!
//! Levels follow what `dpkg-deb` uses by default where that is cheap enough for fixtures
//! (gzip 9, xz and lzma preset 6, bzip2 9) and zstd's default 3 (dpkg's own default; Ubuntu
//! builds at 19, but the level changes only the size, not what a reader sees). gzip gets no
//! file name and an mtime of 0; everything runs single-threaded because multi-threaded xz
//! and zstd split their output into blocks that depend on the thread count.

use crate::WriterError;
use debgate_facts::Compression;
use std::io::Write;

const GZIP_LEVEL: u32 = 9;
const XZ_PRESET: u32 = 6;
const ZSTD_LEVEL: i32 = 3;
const BZIP2_LEVEL: u32 = 9;

/// Compress `data` as a `.deb` member of the given compression (`None` copies it).
pub fn compress(data: &[u8], c: Compression) -> Result<Vec<u8>, WriterError> {
    let what = format!("a{} stream", c.suffix());
    let err = |e: std::io::Error| WriterError::archive(what.clone(), e);
    match c {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
            enc.write_all(data).map_err(err)?;
            enc.finish().map_err(err)
        }
        Compression::Xz => {
            let mut enc = liblzma::write::XzEncoder::new(Vec::new(), XZ_PRESET);
            enc.write_all(data).map_err(err)?;
            enc.finish().map_err(err)
        }
        Compression::Lzma => {
            // The legacy `.lzma` ("lzma_alone") format: a 13-byte header, no container.
            let opts =
                liblzma::stream::LzmaOptions::new_preset(XZ_PRESET).map_err(|e| err(e.into()))?;
            let stream =
                liblzma::stream::Stream::new_lzma_encoder(&opts).map_err(|e| err(e.into()))?;
            let mut enc = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            enc.write_all(data).map_err(err)?;
            enc.finish().map_err(err)
        }
        Compression::Zstd => zstd::stream::encode_all(data, ZSTD_LEVEL).map_err(err),
        Compression::Bzip2 => {
            let mut enc =
                bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(BZIP2_LEVEL));
            enc.write_all(data).map_err(err)?;
            enc.finish().map_err(err)
        }
    }
}
