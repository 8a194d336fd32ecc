//! Plain tar writing with `dpkg-deb`-style names and PAX xattr records.
//!
//! The `tar` crate's path setters normalise `./usr/bin/x` to `usr/bin/x`, but `dpkg-deb`
//! writes the `./` prefix (and `./` for the root), and readers must be tested on what real
//! packages hold. So names and link names are copied into the header bytes here, with a GNU
//! `././@LongLink` entry (type `L` or `K`) when they do not fit in 100 bytes, which is what
//! GNU tar, and therefore `dpkg-deb`, does.
//!
//! The `tar` crate 0.4 has no helper for writing PAX extended headers, so xattrs are written
//! as a type `x` entry holding `LEN SCHILY.xattr.NAME=VALUE\n` records (the layout GNU tar
//! uses with `--xattrs`), placed right before the entry they describe.

use crate::{FileSpec, WriterError, MTIME};
use debgate_facts::EntryKind;
use tar::{EntryType, Header};

/// The size of the name and link-name fields of a tar header.
const NAME_FIELD: usize = 100;

/// One PAX extended-header record: `LEN key=value\n`, where LEN is the decimal length of the
/// whole record including LEN itself and the newline. The value may be binary.
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    // " " + key + "=" + value + "\n"
    let rest = key.len() + value.len() + 3;
    // The length counts its own digits, so grow it until it is a fixed point (at most one
    // extra step, when adding the digits carries into one more digit).
    let mut len = rest + rest.to_string().len();
    while rest + len.to_string().len() != len {
        len = rest + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// The bytes a shown name stands for: each `\xNN` (two hex digits) is the byte NN, the rest is
/// the text's own bytes. The inverse of how debgate shows a name that is not UTF-8
/// (`debgate_facts::path::escape_name`), for fixtures that need such a name
/// ([`FileSpec::escaped`]).
pub fn name_bytes(shown: &str) -> Vec<u8> {
    let s = shown.as_bytes();
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let byte = s
            .get(i..i + 4)
            .filter(|e| e.starts_with(b"\\x") && e[2..].iter().all(u8::is_ascii_hexdigit))
            .and_then(|e| std::str::from_utf8(&e[2..]).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match byte {
            Some(b) => {
                out.push(b);
                i += 4;
            }
            None => {
                out.push(s[i]);
                i += 1;
            }
        }
    }
    out
}

/// The member name `dpkg-deb` would write for an absolute path.
fn member_name(path: &str, kind: EntryKind) -> String {
    let mut name = if path == "/" {
        "./".to_string()
    } else if path.starts_with('/') {
        format!(".{path}")
    } else {
        // Relative or otherwise odd paths are written verbatim for hostile-input tests.
        path.to_string()
    };
    if kind == EntryKind::Dir && !name.ends_with('/') {
        name.push('/');
    }
    name
}

fn entry_type(kind: EntryKind) -> EntryType {
    match kind {
        EntryKind::File => EntryType::Regular,
        EntryKind::Dir => EntryType::Directory,
        EntryKind::Symlink => EntryType::Symlink,
        EntryKind::HardLink => EntryType::Link,
        EntryKind::CharDevice => EntryType::Char,
        EntryKind::BlockDevice => EntryType::Block,
        EntryKind::Fifo => EntryType::Fifo,
    }
}

/// Copy `bytes` into a fixed header field, truncating; the field is NUL-padded already
/// because headers start zeroed.
fn set_field(field: &mut [u8], bytes: &[u8]) {
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

/// A header with the fixed metadata every auxiliary entry (LongLink, PAX) gets.
fn aux_header(name: &[u8], ty: EntryType, size: usize) -> Header {
    let mut h = if ty == EntryType::XHeader {
        Header::new_ustar()
    } else {
        Header::new_gnu()
    };
    set_field(&mut h.as_old_mut().name, name);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size as u64);
    h.set_entry_type(ty);
    h.set_cksum();
    h
}

type TarBuilder = tar::Builder<Vec<u8>>;

fn append(b: &mut TarBuilder, h: &Header, data: &[u8], what: &str) -> Result<(), WriterError> {
    b.append(h, data)
        .map_err(|e| WriterError::archive(format!("tar entry {what}"), e))
}

/// Emit a GNU long name (`L`) or long link (`K`) entry when `value` does not fit.
fn long_link(b: &mut TarBuilder, ty: EntryType, value: &[u8]) -> Result<(), WriterError> {
    let mut data = value.to_vec();
    data.push(0);
    let h = aux_header(b"././@LongLink", ty, data.len());
    append(b, &h, &data, &String::from_utf8_lossy(value))
}

/// A plain tar of exactly these entries, in this order: no implied directories, no sorting,
/// no validation. Names are `./`-prefixed as `dpkg-deb` writes them; xattrs become PAX
/// `SCHILY.xattr.NAME` records.
pub fn tar_bytes(files: &[FileSpec]) -> Result<Vec<u8>, WriterError> {
    let mut b = tar::Builder::new(Vec::new());
    for f in files {
        let name = member_name(&f.path, f.kind);
        if !f.xattrs.is_empty() {
            let mut records = Vec::new();
            for (key, value) in &f.xattrs {
                records.extend(pax_record(&format!("SCHILY.xattr.{key}"), value));
            }
            // GNU tar names PAX headers `DIR/PaxHeaders/BASE`; any name works, but a
            // familiar one makes `tar -tv` output of the fixtures unsurprising.
            let trimmed = name.trim_end_matches('/');
            let pax_name = match trimmed.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/PaxHeaders/{base}"),
                None => format!("PaxHeaders/{trimmed}"),
            };
            let h = aux_header(pax_name.as_bytes(), EntryType::XHeader, records.len());
            append(&mut b, &h, &records, &name)?;
        }
        let bytes = |text: &str| {
            if f.escaped {
                name_bytes(text)
            } else {
                text.as_bytes().to_vec()
            }
        };
        let name_raw = bytes(&name);
        if name_raw.len() > NAME_FIELD {
            long_link(&mut b, EntryType::GNULongName, &name_raw)?;
        }
        let link = f.link_target.as_deref().map(|t| match f.kind {
            // A hard link names another member, so it is written like a member name.
            EntryKind::HardLink if t.starts_with('/') => bytes(&member_name(t, EntryKind::File)),
            _ => bytes(t),
        });
        if let Some(link) = &link {
            if link.len() > NAME_FIELD {
                long_link(&mut b, EntryType::GNULongLink, link)?;
            }
        }

        let mut h = Header::new_gnu();
        set_field(&mut h.as_old_mut().name, &name_raw);
        if let Some(link) = &link {
            set_field(&mut h.as_old_mut().linkname, link);
        }
        h.set_entry_type(entry_type(f.kind));
        h.set_mode(f.mode & 0o7777);
        h.set_uid(f.uid);
        h.set_gid(f.gid);
        let names_err = |e| WriterError::archive(format!("owner names of {name}"), e);
        h.set_username(&f.owner).map_err(names_err)?;
        h.set_groupname(&f.group).map_err(names_err)?;
        h.set_mtime(MTIME);
        let content: &[u8] = if f.kind == EntryKind::File {
            &f.content
        } else {
            &[]
        };
        h.set_size(content.len() as u64);
        if matches!(f.kind, EntryKind::CharDevice | EntryKind::BlockDevice) {
            // FileSpec has no device numbers; 0:0 keeps the header well-formed.
            let dev_err = |e| WriterError::archive(format!("device numbers of {name}"), e);
            h.set_device_major(0).map_err(dev_err)?;
            h.set_device_minor(0).map_err(dev_err)?;
        }
        h.set_cksum();
        append(&mut b, &h, content, &name)?;
    }
    b.into_inner()
        .map_err(|e| WriterError::archive("tar trailer", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        assert_eq!(pax_record("a", b"b"), b"6 a=b\n");
        // 9 bytes without the length digits: "10 " makes it exactly 11 + ... check by parsing.
        for n in 0..300 {
            let v = vec![b'x'; n];
            let r = pax_record("SCHILY.xattr.user.k", &v);
            let sp = r.iter().position(|&c| c == b' ').unwrap();
            let len: usize = std::str::from_utf8(&r[..sp]).unwrap().parse().unwrap();
            assert_eq!(len, r.len(), "value length {n}");
        }
    }

    #[test]
    fn escaped_names_become_their_bytes() {
        assert_eq!(name_bytes("/usr/bin/a\\xffb"), b"/usr/bin/a\xffb");
        assert_eq!(name_bytes("\\xFe\\x2d"), b"\xfe-");
        // Not an escape: kept as text.
        assert_eq!(name_bytes("a\\xg1\\x+f\\x"), b"a\\xg1\\x+f\\x");
    }

    #[test]
    fn member_names_follow_dpkg_deb() {
        assert_eq!(member_name("/", EntryKind::Dir), "./");
        assert_eq!(member_name("/usr", EntryKind::Dir), "./usr/");
        assert_eq!(member_name("/usr/bin/x", EntryKind::File), "./usr/bin/x");
        assert_eq!(member_name("../x", EntryKind::File), "../x");
    }
}
