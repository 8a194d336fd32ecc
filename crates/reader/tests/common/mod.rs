//! In-memory builders for test packages: tar streams, compressors and ar containers.
#![allow(dead_code)]

use debgate_facts::{Compression, Package};
use debgate_reader::{read_package_from, ReadError, ReadOptions};
use std::io::Write;
use tar::{EntryType, Header};

/// A tar stream under construction, in GNU format as dpkg-deb writes it.
pub struct Tar {
    b: tar::Builder<Vec<u8>>,
}

impl Default for Tar {
    fn default() -> Self {
        Self::new()
    }
}

pub fn header(kind: EntryType, size: u64, mode: u32) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_username("root").unwrap();
    h.set_groupname("root").unwrap();
    h.set_mtime(0);
    h
}

impl Tar {
    pub fn new() -> Self {
        Tar {
            b: tar::Builder::new(Vec::new()),
        }
    }

    pub fn dir(mut self, path: &str) -> Self {
        let mut h = header(EntryType::Directory, 0, 0o755);
        self.b.append_data(&mut h, path, &[][..]).unwrap();
        self
    }

    pub fn file(self, path: &str, data: &[u8]) -> Self {
        self.file_mode(path, data, 0o644)
    }

    pub fn file_mode(mut self, path: &str, data: &[u8], mode: u32) -> Self {
        let mut h = header(EntryType::Regular, data.len() as u64, mode);
        self.b.append_data(&mut h, path, data).unwrap();
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(EntryType::Symlink, 0, 0o777);
        self.b.append_link(&mut h, path, target).unwrap();
        self
    }

    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(EntryType::Link, 0, 0o644);
        self.b.append_link(&mut h, path, target).unwrap();
        self
    }

    /// A file preceded by a PAX extended header with `records`.
    pub fn pax_file(mut self, path: &str, data: &[u8], records: &[(&str, &[u8])]) -> Self {
        self.b
            .append_pax_extensions(records.iter().map(|(k, v)| (*k, *v)))
            .unwrap();
        self.file(path, data)
    }

    /// An entry whose name bytes are written as given (the builder would refuse `..` or `/`).
    pub fn raw(self, name: &[u8], kind: EntryType, data: &[u8]) -> Self {
        self.raw_mode(name, kind, data, 0o644)
    }

    /// [`Tar::raw`] with a mode.
    pub fn raw_mode(mut self, name: &[u8], kind: EntryType, data: &[u8], mode: u32) -> Self {
        let mut h = header(kind, data.len() as u64, mode);
        h.as_old_mut().name = [0; 100];
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    /// An entry whose name (and link target) need not be UTF-8, written the way the builder
    /// writes paths: a GNU long name (or long link) when one does not fit the header.
    pub fn bytes_entry(
        mut self,
        name: &[u8],
        kind: EntryType,
        mode: u32,
        data: &[u8],
        link: Option<&[u8]>,
    ) -> Self {
        use std::os::unix::ffi::OsStrExt;
        let os = |b| std::path::Path::new(std::ffi::OsStr::from_bytes(b));
        let mut h = header(kind, data.len() as u64, mode);
        match link {
            Some(target) => self.b.append_link(&mut h, os(name), os(target)).unwrap(),
            None => self.b.append_data(&mut h, os(name), data).unwrap(),
        }
        self
    }

    /// An entry with a hand-made header (size may disagree with `data`).
    pub fn with_header(mut self, h: &Header, data: &[u8]) -> Self {
        self.b.append(h, data).unwrap();
        self
    }

    /// Raw hard link with the target bytes written as given.
    pub fn raw_hardlink(mut self, path: &str, target: &[u8]) -> Self {
        let mut h = header(EntryType::Link, 0, 0o644);
        h.set_path(path).unwrap();
        h.as_old_mut().linkname = [0; 100];
        h.as_old_mut().linkname[..target.len()].copy_from_slice(target);
        h.set_cksum();
        self.b.append(&h, &[][..]).unwrap();
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }
}

pub fn compress(c: Compression, data: &[u8]) -> Vec<u8> {
    match c {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Xz => {
            let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Lzma => {
            let opts = liblzma::stream::LzmaOptions::new_preset(1).unwrap();
            let stream = liblzma::stream::Stream::new_lzma_encoder(&opts).unwrap();
            let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(data, 3).unwrap(),
        Compression::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
    }
}

/// xz written by the multi-threaded encoder in small blocks, like dpkg's threaded xz.
pub fn xz_blocks(data: &[u8]) -> Vec<u8> {
    let stream = liblzma::stream::MtStreamBuilder::new()
        .threads(2)
        .block_size(64 * 1024)
        .preset(1)
        .encoder()
        .unwrap();
    let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// An ar archive of `(name, bytes)` members, in order.
pub fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = ar::Builder::new(Vec::new());
    for (name, data) in members {
        let h = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

pub const CONTROL: &str = "Package: pinger\nVersion: 1.2-3\nArchitecture: amd64\nMaintainer: Someone <someone@example.org>\nDescription: sends pings\n Longer text.\n .\n More.\n";

pub fn control_tar() -> Vec<u8> {
    Tar::new()
        .dir("./")
        .file("./control", CONTROL.as_bytes())
        .finish()
}

/// A complete package with the given data.tar (uncompressed bytes) and compressions.
pub fn deb_with(control_c: Compression, data_c: Compression, data_tar: &[u8]) -> Vec<u8> {
    let control = compress(control_c, &control_tar());
    let data = compress(data_c, data_tar);
    let cname = format!("control.tar{}", control_c.suffix());
    let dname = format!("data.tar{}", data_c.suffix());
    ar(&[
        ("debian-binary", b"2.0\n"),
        (&cname, &control),
        (&dname, &data),
    ])
}

pub fn deb(data_tar: &[u8]) -> Vec<u8> {
    deb_with(Compression::Xz, Compression::Xz, data_tar)
}

pub fn simple_data() -> Vec<u8> {
    Tar::new()
        .dir("./")
        .dir("./usr")
        .dir("./usr/bin")
        .file_mode("./usr/bin/ping", b"\x7fELF...", 0o4755)
        .finish()
}

pub fn read(bytes: &[u8]) -> Result<Package, ReadError> {
    read_with(bytes, &ReadOptions::default())
}

pub fn read_with(bytes: &[u8], opts: &ReadOptions) -> Result<Package, ReadError> {
    read_package_from("test.deb".into(), bytes, opts)
}

/// The error from reading `bytes`, after checking its message is one line.
pub fn error(bytes: &[u8]) -> ReadError {
    error_with(bytes, &ReadOptions::default())
}

pub fn error_with(bytes: &[u8], opts: &ReadOptions) -> ReadError {
    let e = read_with(bytes, opts).expect_err("package should be rejected");
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "message is not one line: {msg:?}");
    assert!(!msg.is_empty());
    e
}

/// Assert `e`'s message contains every needle.
pub fn says(e: &ReadError, needles: &[&str]) {
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "message {msg:?} lacks {n:?}");
    }
}
