//! The facts' full form, the one the facts cache keeps: a [`Package`] in its public JSON form
//! plus what that form leaves out (the captured bytes, `md5sums`, the content digests), so that
//! a package read back is equal to the one stored.
//!
//! The public form skips those fields on purpose (reports show no file bytes), and it stays
//! as it is: the JSON field names are a contract. So the full form is the public one beside a
//! few side tables, rather than a second serialization of every type.

use crate::{Content, FileDigest, Hashed, Md5sums, Package};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use thiserror::Error;

/// The version of the facts' stored form and of what the reader puts in it. Bump it whenever a
/// [`Package`] read from the same bytes could differ from before: a field added or changed
/// here or in a type it holds, or the reader filling one differently. A cached entry records
/// it (in its key), so an entry of another format is never read.
pub const FACTS_FORMAT: u32 = 1;

/// A package's full form, borrowed, for serializing (see [`Package::stored`]).
#[derive(Debug, Serialize)]
pub struct StoredRef<'a> {
    package: &'a Package,
    /// Each captured file's bytes, which [`Content`] leaves out of the public form.
    contents: BTreeMap<&'a str, HexBytes<'a>>,
    md5sums: &'a Md5sums,
    digests: &'a BTreeMap<String, FileDigest>,
    hashed: &'a Option<Hashed>,
}

/// A package's full form, as read back; [`Stored::into_package`] makes it a [`Package`] again.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stored {
    package: Package,
    contents: BTreeMap<String, HexVec>,
    md5sums: Md5sums,
    digests: BTreeMap<String, FileDigest>,
    hashed: Option<Hashed>,
}

/// A full form whose parts disagree: never produced by [`Package::stored`], so the text was
/// damaged or made by hand.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoredError {
    #[error("captured bytes of `{0}`, which the package does not list as captured")]
    UnlistedContent(String),
    #[error("no captured bytes of `{0}`, which the package lists as captured")]
    MissingContent(String),
}

impl Package {
    /// The package's full form, for the facts cache.
    pub fn stored(&self) -> StoredRef<'_> {
        StoredRef {
            package: self,
            contents: self
                .contents
                .iter()
                .map(|(path, c)| (path.as_str(), HexBytes(&c.bytes)))
                .collect(),
            md5sums: &self.md5sums,
            digests: &self.digests,
            hashed: &self.hashed,
        }
    }
}

impl Stored {
    /// The package the full form describes: the public form with the side tables put back.
    pub fn into_package(self) -> Result<Package, StoredError> {
        let mut package = self.package;
        let mut bytes = self.contents;
        for (path, content) in package.contents.iter_mut() {
            let Some(HexVec(b)) = bytes.remove(path) else {
                return Err(StoredError::MissingContent(path.clone()));
            };
            *content = Content {
                bytes: b,
                truncated: content.truncated,
            };
        }
        if let Some(path) = bytes.into_keys().next() {
            return Err(StoredError::UnlistedContent(path));
        }
        package.md5sums = self.md5sums;
        package.digests = self.digests;
        package.hashed = self.hashed;
        Ok(package)
    }
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`; [`crate::hex`] with a table, as captured files run to a MiB.
fn hex_fast(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0xf)]);
    }
    // Only ASCII digits were pushed.
    String::from_utf8(out).unwrap_or_default()
}

/// The bytes hex digits (either case) spell; `None` for an odd count or a non-hex digit.
fn unhex_vec(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let d = |b: u8| (b as char).to_digit(16).and_then(|v| u8::try_from(v).ok());
    digits
        .chunks(2)
        .map(|pair| Some(d(pair[0])? << 4 | d(pair[1])?))
        .collect()
}

/// Bytes serialized as one hex string (a JSON array of numbers would be twice the size).
#[derive(Debug)]
struct HexBytes<'a>(&'a [u8]);

impl Serialize for HexBytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex_fast(self.0))
    }
}

/// [`HexBytes`] read back.
#[derive(Debug)]
struct HexVec(Vec<u8>);

impl<'de> Deserialize<'de> for HexVec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        unhex_vec(text.as_bytes())
            .map(HexVec)
            .ok_or_else(|| serde::de::Error::custom("not an even count of hex digits"))
    }
}

/// A digest as hex, for `#[serde(with = "stored::hex_array")]`.
pub(crate) mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::hex(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        crate::unhex(text.as_bytes())
            .ok_or_else(|| serde::de::Error::custom(format!("not {} hex digits", 2 * N)))
    }
}

/// `md5sums`' map of names to MD5s, each MD5 as hex.
pub(crate) mod hex_map {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::HashMap;

    pub fn serialize<S: Serializer>(
        m: &HashMap<String, [u8; 16]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, v)| (k, crate::hex(v))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<HashMap<String, [u8; 16]>, D::Error> {
        HashMap::<String, String>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| match crate::unhex(v.as_bytes()) {
                Some(md5) => Ok((k, md5)),
                None => Err(serde::de::Error::custom("an MD5 that is not 32 hex digits")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_of_bytes_reads_back_and_refuses_what_is_not_hex() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unhex_vec(hex_fast(&all).as_bytes()), Some(all.clone()));
        assert_eq!(hex_fast(&all[..3]), crate::hex(&all[..3]));
        assert_eq!(unhex_vec(b"AbCd"), Some(vec![0xab, 0xcd]));
        for bad in [&b"abc"[..], b"zz", b"+1"] {
            assert_eq!(unhex_vec(bad), None, "{bad:?}");
        }
    }

    /// A package with every field set to something other than its default.
    fn full() -> Package {
        use crate::{Conffile, Control, Device, DpkgRefusal, Entry, EntryKind, Script, ScriptName};
        let entry = Entry {
            path: "/usr/bin/\\xff".into(),
            raw_path: Some(b"/usr/bin/\xff".to_vec()),
            raw_link_target: None,
            kind: EntryKind::File,
            mode: 0o4755,
            uid: 0,
            gid: 42,
            owner: Some("root".into()),
            group: None,
            size: 3,
            link_target: None,
            xattrs: BTreeMap::from([("security.capability".into(), vec![1, 0, 0, 2, 10])]),
            member: Some("/bin/x".into()),
            through: vec!["/bin".into()],
            device: Some(Device { major: 1, minor: 3 }),
        };
        Package {
            file: "pool/x.deb".into(),
            control: Control {
                fields: vec![("Package".into(), "x".into())],
            },
            conffiles: vec![Conffile {
                path: "/etc/x".into(),
                flags: vec!["remove-on-upgrade".into()],
            }],
            scripts: vec![Script {
                name: ScriptName::Postinst,
                text: "#!/bin/sh\n".into(),
                truncated: true,
            }],
            entries: vec![entry],
            contents: BTreeMap::from([
                (
                    "/etc/x".into(),
                    Content {
                        bytes: b"a = 1\n\0\xff".to_vec(),
                        truncated: false,
                    },
                ),
                (
                    "/etc/empty".into(),
                    Content {
                        bytes: Vec::new(),
                        truncated: true,
                    },
                ),
            ]),
            control_compression: crate::Compression::Zstd,
            data_compression: crate::Compression::Gzip,
            trailing_bytes: 7,
            dpkg_refuses: vec![DpkgRefusal {
                member: "/x".into(),
                typeflag: b'S',
            }],
            dpkg_refused: 2,
            md5sums: Md5sums::Listed([("/usr/bin/x".to_string(), [7; 16])].into()),
            digests: BTreeMap::from([(
                "/usr/bin/x".into(),
                FileDigest {
                    md5: [1; 16],
                    sha256: [2; 32],
                },
            )]),
            hashed: Some(Hashed::AllNoMd5sums),
        }
    }

    #[test]
    fn the_full_form_reads_back_equal() {
        let pkg = full();
        let text = serde_json::to_string(&pkg.stored()).unwrap();
        let back: Stored = serde_json::from_str(&text).unwrap();
        assert_eq!(back.into_package().unwrap(), pkg);
        for md5sums in [
            Md5sums::NotRead,
            Md5sums::Absent,
            Md5sums::Unusable("too long".into()),
        ] {
            let pkg = Package { md5sums, ..full() };
            let text = serde_json::to_string(&pkg.stored()).unwrap();
            let back: Stored = serde_json::from_str(&text).unwrap();
            assert_eq!(back.into_package().unwrap(), pkg);
        }
    }

    #[test]
    fn the_public_form_reads_back_without_what_it_leaves_out() {
        let pkg = full();
        let text = serde_json::to_string(&pkg).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for skipped in ["md5sums", "digests", "hashed"] {
            assert!(v.get(skipped).is_none(), "{skipped}");
        }
        assert_eq!(
            v["contents"]["/etc/x"],
            serde_json::json!({"truncated": false})
        );
        let back: Package = serde_json::from_str(&text).unwrap();
        let mut expected = pkg;
        for c in expected.contents.values_mut() {
            c.bytes.clear();
        }
        expected.md5sums = Md5sums::NotRead;
        expected.digests.clear();
        expected.hashed = None;
        assert_eq!(back, expected);
        // What the public form skips when empty reads back as empty.
        let plain = Package::default();
        let back: Package = serde_json::from_str(&serde_json::to_string(&plain).unwrap()).unwrap();
        assert_eq!(back, plain);
    }

    #[test]
    fn a_full_form_whose_parts_disagree_is_refused() {
        let pkg = full();
        let mut v = serde_json::to_value(pkg.stored()).unwrap();
        let contents = v["contents"].as_object_mut().unwrap();
        contents.remove("/etc/x");
        let back: Stored = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            back.into_package(),
            Err(StoredError::MissingContent("/etc/x".into()))
        );
        v["contents"]["/etc/x"] = "00".into();
        v["contents"]["/etc/other"] = "00".into();
        let back: Stored = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            back.into_package(),
            Err(StoredError::UnlistedContent("/etc/other".into()))
        );
        v["contents"]["/etc/x"] = "0".into();
        assert!(serde_json::from_value::<Stored>(v.clone()).is_err());
        v["contents"].as_object_mut().unwrap().remove("/etc/other");
        v["contents"]["/etc/x"] = "00".into();
        assert!(serde_json::from_value::<Stored>(v.clone()).is_ok());
        v["digests"]["/usr/bin/x"]["md5"] = "00".into();
        assert!(serde_json::from_value::<Stored>(v).is_err());
    }
}
