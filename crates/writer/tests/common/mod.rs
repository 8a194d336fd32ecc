//! Helpers shared by the integration tests: locating testdata and decoding what the writer
//! wrote with independent readers (the `ar` and `tar` crates, each decompressor's reader).

#![allow(dead_code)]

use debgate_writer::Compression;
use std::io::Read;
use std::path::PathBuf;

pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// ar members as (name, bytes), read with the `ar` crate.
pub fn ar_members(deb: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = ar::Archive::new(deb);
    let mut out = Vec::new();
    while let Some(entry) = a.next_entry() {
        let mut entry = entry.expect("ar entry");
        let name = String::from_utf8(entry.header().identifier().to_vec()).unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

pub fn decompress(data: &[u8], c: Compression) -> Vec<u8> {
    let mut out = Vec::new();
    match c {
        Compression::None => out.extend_from_slice(data),
        Compression::Gzip => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Xz => {
            liblzma::read::XzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Lzma => {
            let stream = liblzma::stream::Stream::new_lzma_decoder(u64::MAX).unwrap();
            liblzma::read::XzDecoder::new_stream(data, stream)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Zstd => out = zstd::stream::decode_all(data).unwrap(),
        Compression::Bzip2 => {
            bzip2::read::BzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
    }
    out
}

/// One tar entry as the `tar` crate reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    pub name: String,
    pub kind: tar::EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub owner: String,
    pub group: String,
    pub link: Option<String>,
    pub content: Vec<u8>,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// Parse PAX records by their length prefix, as POSIX defines them. The `tar` crate's own
/// `pax_extensions()` splits records at newlines, so it rejects binary values that contain
/// a `\n` byte (a capability mask can), and a test reader must not be weaker than the
/// format.
pub fn pax_records(mut data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let sp = data
            .iter()
            .position(|&b| b == b' ')
            .expect("PAX record without a length");
        let len: usize = std::str::from_utf8(&data[..sp])
            .unwrap()
            .parse()
            .expect("PAX record length");
        let record = &data[sp + 1..len];
        assert_eq!(data[len - 1], b'\n', "PAX record must end with a newline");
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .expect("PAX record without `=`");
        let key = String::from_utf8(record[..eq].to_vec()).unwrap();
        out.push((key, record[eq + 1..record.len() - 1].to_vec()));
        data = &data[len..];
    }
    out
}

/// Read a tar with the `tar` crate in raw mode (no PAX or GNU long-name processing), and
/// apply PAX headers and `././@LongLink` entries to the entry that follows them here.
pub fn tar_entries(tar_bytes: &[u8]) -> Vec<TarEntry> {
    let mut a = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    for e in a.entries().unwrap().raw(true) {
        let mut e = e.unwrap();
        let h = e.header().clone();
        let mut content = Vec::new();
        e.read_to_end(&mut content).unwrap();
        let nul_trimmed = |b: &[u8]| {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8(b[..end].to_vec()).unwrap()
        };
        match h.entry_type() {
            tar::EntryType::XHeader => {
                pax = pax_records(&content);
                continue;
            }
            tar::EntryType::GNULongName => {
                long_name = Some(nul_trimmed(&content));
                continue;
            }
            tar::EntryType::GNULongLink => {
                long_link = Some(nul_trimmed(&content));
                continue;
            }
            _ => {}
        }
        let name = long_name
            .take()
            .unwrap_or_else(|| String::from_utf8(h.path_bytes().to_vec()).unwrap());
        let link = long_link.take().or_else(|| {
            h.link_name_bytes()
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
        });
        let xattrs = std::mem::take(&mut pax)
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix("SCHILY.xattr.").map(|n| (n.to_string(), v)))
            .collect();
        out.push(TarEntry {
            name,
            kind: h.entry_type(),
            mode: h.mode().unwrap(),
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            owner: h.username().unwrap().unwrap_or("").to_string(),
            group: h.groupname().unwrap().unwrap_or("").to_string(),
            link,
            content,
            xattrs,
        });
    }
    out
}

/// Split a `.deb` into (control entries, data entries, member names), checking the member
/// suffixes name the compressions given.
pub fn open_deb(
    deb: &[u8],
    control: Compression,
    data: Compression,
) -> (Vec<TarEntry>, Vec<TarEntry>, Vec<String>) {
    let members = ar_members(deb);
    let names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
    let find = |want: &str| {
        members
            .iter()
            .find(|(n, _)| n == want)
            .unwrap_or_else(|| panic!("no member {want} in {names:?}"))
            .1
            .clone()
    };
    let ctl = find(&format!("control.tar{}", control.suffix()));
    let dat = find(&format!("data.tar{}", data.suffix()));
    (
        tar_entries(&decompress(&ctl, control)),
        tar_entries(&decompress(&dat, data)),
        names,
    )
}
