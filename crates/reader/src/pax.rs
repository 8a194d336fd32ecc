//! PAX extended header records: framing, xattrs (`SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`),
//! owner names, and a consistency check against the `tar` crate's reading.
//!
//! Why our own record parser: `tar` 0.4 splits PAX data on `\n`, but records are
//! length-prefixed and binary xattr values (a `security.capability` with byte 0x0a, i.e. some
//! capability sets) contain newlines. Its split would drop such an xattr, hiding a capability,
//! and lets a crafted value smuggle a fake `size`/`path` record. We frame records by their
//! length, and refuse a header on which the two readings disagree about what `tar` acts on.

use base64::Engine;
use debgate_facts::path::escape_name;
use std::collections::BTreeMap;

/// One `LEN KEY=VALUE\n` record after another.
pub(crate) struct Records<'a> {
    rest: &'a [u8],
}

pub(crate) fn records(body: &[u8]) -> Records<'_> {
    Records { rest: body }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        // Some writers pad the data with NULs; nothing after them is a record.
        if self.rest.is_empty() || self.rest[0] == 0 {
            return None;
        }
        let result = (|| {
            let space = self
                .rest
                .iter()
                .take(20)
                .position(|&b| b == b' ')
                .ok_or("record has no length")?;
            let len: usize = std::str::from_utf8(&self.rest[..space])
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse().ok())
                .ok_or("record length is not a number")?;
            if len < space + 3 || len > self.rest.len() {
                return Err("record length is out of range");
            }
            let record = &self.rest[..len];
            if record[len - 1] != b'\n' {
                return Err("record does not end with a newline");
            }
            let kv = &record[space + 1..len - 1];
            let eq = kv
                .iter()
                .position(|&b| b == b'=')
                .ok_or("record has no `=`")?;
            self.rest = &self.rest[len..];
            Ok((&kv[..eq], &kv[eq + 1..]))
        })();
        if result.is_err() {
            self.rest = &[];
        }
        Some(result)
    }
}

/// What a local PAX header adds to the entry beyond what `tar` already applies.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    pub uname: Option<String>,
    pub gname: Option<String>,
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// The last value of each record `tar` itself acts on, for the consistency check.
    pub path: Option<Vec<u8>>,
    pub linkpath: Option<Vec<u8>>,
    pub size: Option<Vec<u8>>,
    pub uid: Option<Vec<u8>>,
    pub gid: Option<Vec<u8>>,
}

/// Problems found in a PAX header, turned into `ReadError`s by the walker (which knows where).
#[derive(Debug)]
pub(crate) enum PaxProblem {
    Malformed(String),
    XattrName,
    XattrTooLarge { name: String, size: usize },
    BadXattr(String),
}

/// The keys `tar` 0.4 reads from PAX headers; both readings must agree on them.
const TAR_KEYS: [&[u8]; 5] = [b"path", b"linkpath", b"size", b"uid", b"gid"];

const SCHILY: &[u8] = b"SCHILY.xattr.";
const LIBARCHIVE: &[u8] = b"LIBARCHIVE.xattr.";

/// libarchive writes base64 without `=` padding; accept it either way.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Parse a local (`x`) PAX header body.
pub(crate) fn parse_local(body: &[u8], max_xattr_bytes: usize) -> Result<Extra, PaxProblem> {
    let mut extra = Extra::default();
    for record in records(body) {
        let (key, value) = record.map_err(|e| PaxProblem::Malformed(e.to_string()))?;
        match key {
            b"uname" => extra.uname = Some(escape_name(value).into_owned()),
            b"gname" => extra.gname = Some(escape_name(value).into_owned()),
            b"path" => extra.path = Some(value.to_vec()),
            b"linkpath" => extra.linkpath = Some(value.to_vec()),
            b"size" => extra.size = Some(value.to_vec()),
            b"uid" => extra.uid = Some(value.to_vec()),
            b"gid" => extra.gid = Some(value.to_vec()),
            _ => {
                if let Some(name) = key.strip_prefix(SCHILY) {
                    let name = std::str::from_utf8(name).map_err(|_| PaxProblem::XattrName)?;
                    add_xattr(&mut extra.xattrs, name.to_string(), value, max_xattr_bytes)?;
                } else if let Some(name) = key.strip_prefix(LIBARCHIVE) {
                    let name = percent_encoding::percent_decode(name)
                        .decode_utf8()
                        .map_err(|_| PaxProblem::XattrName)?
                        .into_owned();
                    // Base64 is 4/3 of the raw size: refuse oversized text before decoding it.
                    if value.len() / 4 * 3 > max_xattr_bytes.saturating_add(3) {
                        return Err(PaxProblem::XattrTooLarge {
                            name,
                            size: value.len() / 4 * 3,
                        });
                    }
                    let decoded = BASE64.decode(value).map_err(|e| {
                        PaxProblem::BadXattr(format!(
                            "`{}` is not valid base64: {e}",
                            name.escape_debug()
                        ))
                    })?;
                    add_xattr(&mut extra.xattrs, name, &decoded, max_xattr_bytes)?;
                }
            }
        }
    }
    Ok(extra)
}

fn add_xattr(
    xattrs: &mut BTreeMap<String, Vec<u8>>,
    name: String,
    value: &[u8],
    max: usize,
) -> Result<(), PaxProblem> {
    if name.is_empty() {
        return Err(PaxProblem::BadXattr("empty attribute name".to_string()));
    }
    if value.len() > max {
        return Err(PaxProblem::XattrTooLarge {
            name,
            size: value.len(),
        });
    }
    // bsdtar writes both SCHILY and LIBARCHIVE records for one attribute; they must agree, or
    // two unpackers would install different attributes.
    match xattrs.get(&name) {
        Some(old) if old.as_slice() != value => Err(PaxProblem::BadXattr(format!(
            "`{}` is given two different values",
            name.escape_debug()
        ))),
        Some(_) => Ok(()),
        None => {
            xattrs.insert(name, value.to_vec());
            Ok(())
        }
    }
}

/// True when `tar`'s newline-split reading of `body` sees the same records for the keys it acts
/// on as the length-framed reading does.
pub(crate) fn tar_agrees(body: &[u8]) -> bool {
    let ours = records(body)
        .filter_map(Result::ok)
        .filter(|(k, _)| TAR_KEYS.contains(k));
    let theirs = tar::PaxExtensions::new(body)
        .filter_map(Result::ok)
        .map(|e| (e.key_bytes(), e.value_bytes()))
        .filter(|(k, _)| TAR_KEYS.contains(k));
    ours.eq(theirs)
}

/// Keys a global (`g`) PAX header may carry: they describe the archive, not the files. Anything
/// else (owners, xattrs, paths) would apply to every later member in some unpackers (GNU tar)
/// and in none in others (`tar`, dpkg), so we refuse it.
pub(crate) fn global_key_allowed(key: &[u8]) -> bool {
    matches!(
        key,
        b"comment" | b"mtime" | b"atime" | b"ctime" | b"charset" | b"hdrcharset"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, value: &[u8]) -> Vec<u8> {
        let base = key.len() + value.len() + 3;
        let mut len = base + base.to_string().len();
        if len.to_string().len() != base.to_string().len() {
            len += 1;
        }
        let mut v = format!("{len} {key}=").into_bytes();
        v.extend_from_slice(value);
        v.push(b'\n');
        assert_eq!(v.len(), len);
        v
    }

    #[test]
    fn frames_binary_values_by_length() {
        let cap = [0x01, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x00, 0, 0, 0, 0];
        let mut body = record("SCHILY.xattr.security.capability", &cap);
        body.extend(record("path", b"./usr/bin/ping"));
        let extra = parse_local(&body, 64).unwrap();
        assert_eq!(extra.xattrs["security.capability"], cap);
        assert_eq!(extra.path.as_deref(), Some(&b"./usr/bin/ping"[..]));
        assert!(tar_agrees(&body));
    }

    #[test]
    fn detects_smuggled_records() {
        let body = record("SCHILY.xattr.user.x", b"a\n11 size=99\nb");
        assert!(!tar_agrees(&body));
    }

    #[test]
    fn decodes_libarchive_names_and_unpadded_base64() {
        let body = record("LIBARCHIVE.xattr.user.a%3Db", b"AQID");
        let extra = parse_local(&body, 64).unwrap();
        assert_eq!(extra.xattrs["user.a=b"], [1, 2, 3]);
        let body = record("LIBARCHIVE.xattr.user.c", b"AQIDBA");
        assert_eq!(
            parse_local(&body, 64).unwrap().xattrs["user.c"],
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn rejects_malformed_records() {
        assert!(parse_local(b"99 path=x\n", 64).is_err());
        assert!(parse_local(b"x path=x\n", 64).is_err());
        assert!(parse_local(b"9 pathx\n", 64).is_err());
    }
}
