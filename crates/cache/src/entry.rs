//! One entry's bytes: a fixed header (magic, format, the key's id, the payload's SHA-256 and
//! length) and the payload, the facts' full form ([`debgate_facts::stored`]) and the scripts'
//! analyses ([`debgate_script::stored`]) as JSON compressed with zstd. Decoding trusts nothing:
//! every header field is checked, the checksum before the payload is decompressed,
//! decompression is capped, and the analyses must fit the package's scripts.

use crate::key::KeyId;
use crate::Facts;
use debgate_facts::stored::{Stored, StoredRef};
use debgate_facts::{Package, ScriptName};
use debgate_script::stored::{StoredAnalysis, StoredAnalysisError, StoredAnalysisRef};
use debgate_script::Analysis;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use thiserror::Error;

/// The first bytes of every entry.
pub const MAGIC: &[u8; 8] = b"DGFACTS\n";

/// The version of this layout. Bump it when the header or the payload's encoding changes; it
/// is in the key too, so entries of another layout are never even opened. 2: the payload holds
/// the scripts' analyses beside the facts.
pub const ENTRY_FORMAT: u32 = 2;

/// Header bytes: magic, format, key id, payload SHA-256, payload length.
pub const HEADER_LEN: usize = 8 + 4 + 32 + 32 + 8;

/// zstd's default level: JSON of facts shrinks about tenfold, and an entry is written once
/// per package and key.
const LEVEL: i32 = 3;

/// Why an entry was not used. Each one removes the entry and counts as a miss.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Corruption {
    #[error("not a regular file (a symbolic link or other file is in the way)")]
    NotRegular,
    #[error("{size} bytes, over the per-entry cap of {cap}")]
    TooLarge { size: u64, cap: u64 },
    #[error("shorter than its header says ({len} bytes)")]
    Truncated { len: usize },
    #[error("not a debgate facts entry")]
    BadMagic,
    #[error("entry format {0}, not {ENTRY_FORMAT}")]
    OtherFormat(u32),
    #[error("holds the facts of another key")]
    WrongKey,
    #[error("its payload does not match its checksum")]
    BadChecksum,
    #[error("longer than its header says")]
    TrailingBytes,
    #[error("its payload decompresses past the cap of {cap} bytes")]
    DecodedTooLarge { cap: u64 },
    #[error("its payload cannot be decoded: {0}")]
    Undecodable(String),
    #[error("its analyses do not fit its facts: {0}")]
    Inconsistent(#[from] StoredAnalysisError),
}

/// Why facts were not encoded.
#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("{what} is over the cap of {cap} bytes")]
    TooLarge { what: &'static str, cap: u64 },
    #[error("{0}")]
    Serialize(String),
    /// An analysis that could not be read back (see [`debgate_script::stored::stored`]).
    #[error("{0}")]
    Analyses(#[from] StoredAnalysisError),
}

/// A writer that refuses to take more than `left` bytes, so that encoding a huge package stops
/// at the cap rather than after building all of it.
struct Capped<W> {
    inner: W,
    left: u64,
    over: OverCap,
}

/// The error a [`Capped`] writer stops with, found again in the I/O error that carries it.
#[derive(Debug, Clone, Copy, Error)]
#[error("{what} is over the cap of {cap} bytes")]
struct OverCap {
    what: &'static str,
    cap: u64,
}

impl<W: Write> Write for Capped<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = u64::try_from(buf.len()).unwrap_or(u64::MAX);
        if n > self.left {
            return Err(std::io::Error::other(self.over));
        }
        let written = self.inner.write(buf)?;
        self.left -= u64::try_from(written).unwrap_or(n).min(n);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn encode_error(e: std::io::Error) -> EncodeError {
    match e.get_ref().and_then(|i| i.downcast_ref::<OverCap>()) {
        Some(over) => EncodeError::TooLarge {
            what: over.what,
            cap: over.cap,
        },
        None => EncodeError::Serialize(e.to_string()),
    }
}

/// The payload as written: the package's full form and its analyses' stored form.
#[derive(Serialize)]
struct PayloadRef<'a> {
    facts: StoredRef<'a>,
    analyses: Vec<StoredAnalysisRef<'a>>,
}

/// The payload as read back, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    facts: Stored,
    analyses: Vec<StoredAnalysis>,
}

/// The entry for `package` and its scripts' `analyses` under `id`. `max_decoded` caps the
/// JSON, `max_entry` the whole entry: what is stored can always be read back under the same
/// caps.
pub fn encode(
    id: KeyId,
    package: &Package,
    analyses: &[(ScriptName, Analysis)],
    max_decoded: u64,
    max_entry: u64,
) -> Result<Vec<u8>, EncodeError> {
    let payload = PayloadRef {
        facts: package.stored(),
        analyses: debgate_script::stored::stored(analyses)?,
    };
    let sink = Capped {
        inner: Vec::new(),
        left: max_entry.saturating_sub(HEADER_LEN as u64),
        over: OverCap {
            what: "the entry",
            cap: max_entry,
        },
    };
    let mut encoder = zstd::stream::write::Encoder::new(sink, LEVEL).map_err(encode_error)?;
    let mut json = Capped {
        inner: &mut encoder,
        left: max_decoded,
        over: OverCap {
            what: "the facts' JSON",
            cap: max_decoded,
        },
    };
    serde_json::to_writer(&mut json, &payload)
        .map_err(|e| encode_error(std::io::Error::from(e)))?;
    let payload = encoder.finish().map_err(encode_error)?.inner;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&ENTRY_FORMAT.to_le_bytes());
    out.extend_from_slice(&id.0);
    out.extend_from_slice(&Sha256::digest(&payload));
    out.extend_from_slice(
        &u64::try_from(payload.len())
            .unwrap_or(u64::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The package and analyses an entry holds, if it is whole, is the one for `id`, and its
/// analyses are those of the package's scripts.
pub fn decode(bytes: &[u8], id: KeyId, max_decoded: u64) -> Result<Facts, Corruption> {
    let truncated = Corruption::Truncated { len: bytes.len() };
    let (header, payload) = bytes
        .split_at_checked(HEADER_LEN)
        .ok_or(truncated.clone())?;
    let (magic, rest) = header.split_at(8);
    if magic != MAGIC {
        return Err(Corruption::BadMagic);
    }
    let (format, rest) = rest.split_at(4);
    let format = u32::from_le_bytes(format.try_into().map_err(|_| Corruption::BadMagic)?);
    if format != ENTRY_FORMAT {
        return Err(Corruption::OtherFormat(format));
    }
    let (key, rest) = rest.split_at(32);
    if key != id.0 {
        return Err(Corruption::WrongKey);
    }
    let (sum, len) = rest.split_at(32);
    let len = u64::from_le_bytes(len.try_into().map_err(|_| Corruption::BadMagic)?);
    let have = u64::try_from(payload.len()).unwrap_or(u64::MAX);
    if have < len {
        return Err(truncated);
    }
    if have > len {
        return Err(Corruption::TrailingBytes);
    }
    if Sha256::digest(payload).as_slice() != sum {
        return Err(Corruption::BadChecksum);
    }
    let mut json = Vec::new();
    zstd::stream::read::Decoder::new(payload)
        .map_err(|e| Corruption::Undecodable(e.to_string()))?
        .take(max_decoded.saturating_add(1))
        .read_to_end(&mut json)
        .map_err(|e| Corruption::Undecodable(e.to_string()))?;
    if u64::try_from(json.len()).unwrap_or(u64::MAX) > max_decoded {
        return Err(Corruption::DecodedTooLarge { cap: max_decoded });
    }
    let payload: Payload =
        serde_json::from_slice(&json).map_err(|e| Corruption::Undecodable(e.to_string()))?;
    let package = payload
        .facts
        .into_package()
        .map_err(|e| Corruption::Undecodable(e.to_string()))?;
    let analyses = debgate_script::stored::restore(&package.scripts, payload.analyses)?;
    Ok(Facts { package, analyses })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package() -> Package {
        Package {
            file: "x.deb".into(),
            trailing_bytes: 3,
            ..Package::default()
        }
    }

    const BIG: u64 = 1 << 30;

    #[test]
    fn an_entry_reads_back_under_its_own_key_only() {
        let id = KeyId([7; 32]);
        let bytes = encode(id, &package(), &[], BIG, BIG).unwrap();
        assert_eq!(decode(&bytes, id, BIG).map(|f| f.package), Ok(package()));
        assert_eq!(
            decode(&bytes, KeyId([8; 32]), BIG),
            Err(Corruption::WrongKey)
        );
    }

    #[test]
    fn every_damage_is_named() {
        let id = KeyId([7; 32]);
        let good = encode(id, &package(), &[], BIG, BIG).unwrap();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            decode(&b, id, BIG)
        };
        assert_eq!(
            with(&|b| b.truncate(10)),
            Err(Corruption::Truncated { len: 10 })
        );
        let short = good.len() - 1;
        assert_eq!(
            with(&|b| b.truncate(short)),
            Err(Corruption::Truncated { len: short })
        );
        assert_eq!(with(&|b| b.push(0)), Err(Corruption::TrailingBytes));
        assert_eq!(with(&|b| b[0] ^= 1), Err(Corruption::BadMagic));
        assert_eq!(
            with(&|b| b[8] ^= 1),
            Err(Corruption::OtherFormat(ENTRY_FORMAT ^ 1))
        );
        let last = good.len() - 1;
        assert_eq!(with(&|b| b[last] ^= 1), Err(Corruption::BadChecksum));
        assert_eq!(
            with(&|b| b[HEADER_LEN - 20] ^= 1),
            Err(Corruption::BadChecksum)
        );
        // A checksum that matches a payload that is not facts.
        let mut forged = good[..HEADER_LEN].to_vec();
        let payload = zstd::encode_all(&b"{\"not\": 1}"[..], 1).unwrap();
        forged[HEADER_LEN - 40..HEADER_LEN - 8].copy_from_slice(&Sha256::digest(&payload));
        forged[HEADER_LEN - 8..].copy_from_slice(&(payload.len() as u64).to_le_bytes());
        forged.extend_from_slice(&payload);
        assert!(matches!(
            decode(&forged, id, BIG),
            Err(Corruption::Undecodable(_))
        ));
    }

    #[test]
    fn decoding_stops_at_its_cap_and_encoding_refuses_past_it() {
        let id = KeyId([7; 32]);
        let bytes = encode(id, &package(), &[], BIG, BIG).unwrap();
        assert_eq!(
            decode(&bytes, id, 10),
            Err(Corruption::DecodedTooLarge { cap: 10 })
        );
        assert!(matches!(
            encode(id, &package(), &[], 10, BIG),
            Err(EncodeError::TooLarge { cap: 10, .. })
        ));
        assert!(matches!(
            encode(id, &package(), &[], BIG, HEADER_LEN as u64 + 5),
            Err(EncodeError::TooLarge { .. })
        ));
    }

    /// A package with one script, and its analysis.
    fn with_script() -> (Package, Vec<(ScriptName, Analysis)>) {
        let script = debgate_facts::Script {
            name: ScriptName::Postinst,
            text: "#!/bin/sh\nchmod 4755 /usr/bin/x\n".into(),
            truncated: false,
        };
        let analyses = vec![(script.name, debgate_script::analyze(&script))];
        let package = Package {
            scripts: vec![script],
            ..package()
        };
        (package, analyses)
    }

    #[test]
    fn analyses_read_back_with_their_package() {
        let id = KeyId([7; 32]);
        let (package, analyses) = with_script();
        assert_eq!(analyses[0].1.changes.len(), 1);
        let bytes = encode(id, &package, &analyses, BIG, BIG).unwrap();
        assert_eq!(decode(&bytes, id, BIG), Ok(Facts { package, analyses }));
    }

    #[test]
    fn analyses_of_scripts_the_package_lacks_are_refused() {
        let id = KeyId([7; 32]);
        let (package, analyses) = with_script();
        // Checksummed and well formed, but not this package's: as a bug or a hand could make.
        let other = Package {
            scripts: Vec::new(),
            ..package.clone()
        };
        let bytes = encode(id, &other, &analyses, BIG, BIG).unwrap();
        assert!(matches!(
            decode(&bytes, id, BIG),
            Err(Corruption::Inconsistent(
                StoredAnalysisError::Scripts { .. }
            ))
        ));
        let bytes = encode(id, &package, &[], BIG, BIG).unwrap();
        assert!(matches!(
            decode(&bytes, id, BIG),
            Err(Corruption::Inconsistent(_))
        ));
    }
}
