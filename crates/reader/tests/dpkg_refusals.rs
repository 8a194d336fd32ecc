//! The data.tar headers dpkg's own extractor refuses: recorded as facts, with the package still
//! read as other unpackers read it; the headers debgate cannot read soundly stay errors.

mod common;

use common::*;
use debgate_facts::{Device, DpkgRefusal, EntryKind, MAX_DPKG_REFUSALS};
use debgate_reader::{ReadError, ReadOptions};
use tar::{EntryType, Header};

/// `n` as a GNU header's 12-byte octal field.
fn octal12(n: u64) -> [u8; 12] {
    let mut f = [0u8; 12];
    f[..11].copy_from_slice(format!("{n:011o}").as_bytes());
    f
}

/// A GNU sparse file of `real` bytes whose only data is `chunk` at `offset`.
fn sparse(path: &str, offset: u64, chunk: &[u8; 512], real: u64) -> Vec<u8> {
    let mut h = header(EntryType::GNUSparse, 512, 0o644);
    h.set_path(path).unwrap();
    let gnu = h.as_gnu_mut().unwrap();
    gnu.realsize = octal12(real);
    gnu.sparse[0].offset = octal12(offset);
    gnu.sparse[0].numbytes = octal12(512);
    // GNU tar ends the map with an empty chunk at the end of the file, for a hole at its end.
    gnu.sparse[1].offset = octal12(real);
    gnu.sparse[1].numbytes = octal12(0);
    h.set_cksum();
    Tar::new().dir("./").with_header(&h, chunk).finish()
}

fn typed(path: &str, flag: u8, data: &[u8]) -> Header {
    let mut h = header(EntryType::new(flag), data.len() as u64, 0o644);
    h.set_path(path).unwrap();
    h.set_cksum();
    h
}

fn refusals(p: &debgate_facts::Package) -> Vec<(String, u8)> {
    p.dpkg_refuses
        .iter()
        .map(|r| (r.member.clone(), r.typeflag))
        .collect()
}

#[test]
fn a_pax_header_is_read_and_recorded_as_refused() {
    let cap = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0];
    let data = Tar::new()
        .dir("./")
        .file("./usr/bin/plain", b"x")
        .pax_file(
            "./usr/bin/ping",
            b"x",
            &[("SCHILY.xattr.security.capability", &cap)],
        )
        .finish();
    let p = read(&deb(&data)).unwrap();
    // Still read: the capability is a fact.
    let e = p.entry("/usr/bin/ping").unwrap();
    assert_eq!(e.xattrs["security.capability"], cap);
    assert_eq!(refusals(&p), [("/usr/bin/ping".to_string(), b'x')]);
    assert_eq!(p.dpkg_refused, 1);
}

#[test]
fn a_package_dpkg_deb_could_write_has_no_refusal() {
    let long = format!("./usr/share/{}", "l".repeat(150));
    let data = Tar::new()
        .dir("./")
        .file(&long, b"x")
        .symlink("./usr/bin/x", "y")
        .finish();
    let p = read(&deb(&data)).unwrap();
    assert!(p.entry(&long[1..]).is_some());
    assert!(p.dpkg_refuses.is_empty());
    assert_eq!(p.dpkg_refused, 0);
}

#[test]
fn a_pax_header_in_control_tar_is_not_a_refusal() {
    // dpkg-deb extracts control.tar with GNU tar, which reads PAX headers.
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("SCHILY.xattr.user.x", &b"1"[..])])
        .unwrap();
    let mut h = header(EntryType::Regular, CONTROL.len() as u64, 0o644);
    b.append_data(&mut h, "./control", CONTROL.as_bytes())
        .unwrap();
    let control = b.into_inner().unwrap();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &simple_data()),
    ]);
    let p = read(&bytes).unwrap();
    assert_eq!(p.name(), "pinger");
    assert!(p.dpkg_refuses.is_empty());
}

#[test]
fn a_global_pax_header_is_recorded() {
    let body = pax_record("comment", b"built by hand");
    let mut h = header(EntryType::XGlobalHeader, body.len() as u64, 0o644);
    h.set_path("pax_global_header").unwrap();
    h.set_cksum();
    let data = Tar::new()
        .with_header(&h, &body)
        .dir("./")
        .file("./etc/x", b"x")
        .finish();
    let p = read(&deb(&data)).unwrap();
    assert!(p.entry("/etc/x").is_some());
    assert_eq!(refusals(&p), [("pax_global_header".to_string(), b'g')]);
}

/// One PAX record, `LEN KEY=VALUE\n`.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let base = key.len() + value.len() + 3;
    let mut len = base + base.to_string().len();
    if len.to_string().len() != base.to_string().len() {
        len += 1;
    }
    let mut v = format!("{len} {key}=").into_bytes();
    v.extend_from_slice(value);
    v.push(b'\n');
    v
}

#[test]
fn a_sparse_file_is_read_with_its_holes_and_recorded() {
    let mut chunk = [0u8; 512];
    chunk[..6].copy_from_slice(b"hello\n");
    let data = sparse("./var/lib/sparse", 4096, &chunk, 8192);
    let want = |_: &str| true;
    let opts = ReadOptions {
        want_content: &want,
        ..ReadOptions::default()
    };
    let p = read_with(&deb(&data), &opts).unwrap();
    let e = p.entry("/var/lib/sparse").unwrap();
    assert_eq!((e.kind, e.size), (EntryKind::File, 8192));
    let c = &p.contents["/var/lib/sparse"].bytes;
    assert_eq!(c.len(), 8192);
    assert!(c[..4096].iter().all(|&b| b == 0));
    assert_eq!(&c[4096..4102], b"hello\n");
    assert_eq!(refusals(&p), [("/var/lib/sparse".to_string(), b'S')]);
}

#[test]
fn a_sparse_file_whose_holes_exceed_the_member_limit_is_refused() {
    let chunk = [0u8; 512];
    let mut opts = ReadOptions::default();
    opts.limits.max_member_bytes = 1 << 20;
    let at_limit = sparse("./var/big", 0, &chunk, 1 << 20);
    assert!(read_with(&deb(&at_limit), &opts).is_ok());
    let over = sparse("./var/big", 0, &chunk, (1 << 20) + 1);
    let e = error_with(&deb(&over), &opts);
    assert!(matches!(e, ReadError::MemberBytes { .. }), "{e}");
    says(&e, &["data.tar"]);
    // The limit is on the sum: two sparse files of half of it and a byte more each.
    let half = (1 << 19) + 1;
    let mut two = sparse("./var/a", 0, &chunk, half);
    two.truncate(two.len() - 1024); // the end-of-archive blocks
    let second = sparse("./var/b", 0, &chunk, half);
    two.extend_from_slice(&second[512..]); // without its own `./`
    let e = error_with(&deb(&two), &opts);
    assert!(matches!(e, ReadError::MemberBytes { .. }), "{e}");
}

#[test]
fn dumpdir_contiguous_and_unknown_types_are_read_as_other_unpackers_read_them() {
    let data = Tar::new()
        .dir("./")
        .with_header(&typed("./opt/d/", b'D', b"Nx\0\0"), b"Nx\0\0")
        .with_header(&typed("./opt/c", b'7', b"c"), b"c")
        .with_header(&typed("./opt/z", b'Z', b"z"), b"z")
        .with_header(&typed("./opt/e", b'E', b""), b"")
        .with_header(&typed("./opt/i", b'I', b""), b"")
        .finish();
    let p = read(&deb(&data)).unwrap();
    let kind = |path: &str| p.entry(path).unwrap().kind;
    assert_eq!(kind("/opt/d"), EntryKind::Dir);
    assert_eq!(kind("/opt/c"), EntryKind::File);
    assert_eq!(kind("/opt/z"), EntryKind::File);
    assert_eq!(
        refusals(&p),
        [
            ("/opt/d".to_string(), b'D'),
            ("/opt/c".to_string(), b'7'),
            ("/opt/z".to_string(), b'Z'),
            ("/opt/e".to_string(), b'E'),
            ("/opt/i".to_string(), b'I'),
        ]
    );
    let d = &p.dpkg_refuses[0];
    assert_eq!(d.dpkg_error(), "unsupported GNU tar header type 'D'");
    assert_eq!(
        p.dpkg_refuses[2].dpkg_error(),
        "unknown tar header type 'Z'"
    );
}

#[test]
fn a_volume_label_is_no_file_but_a_refusal() {
    let data = Tar::new()
        .with_header(&typed("backup 1", b'V', b""), b"")
        .dir("./")
        .file("./etc/x", b"x")
        .finish();
    let p = read(&deb(&data)).unwrap();
    assert_eq!(p.entries.len(), 2);
    assert_eq!(refusals(&p), [("backup 1".to_string(), b'V')]);
}

#[test]
fn headers_that_describe_other_members_stay_unreadable() {
    for (flag, word) in [
        (b'X', "Solaris extended header"),
        (b'A', "Solaris ACL"),
        (b'M', "multi-volume"),
        (b'N', "renamed long names"),
    ] {
        let data = Tar::new()
            .dir("./")
            .with_header(&typed("./opt/f", flag, b"x"), b"x")
            .finish();
        let e = error(&deb(&data));
        assert!(matches!(e, ReadError::UnsupportedEntry { .. }), "{e}");
        says(&e, &[word]);
    }
}

#[test]
fn refusals_are_kept_up_to_their_bound_and_counted_beyond_it() {
    let mut t = Tar::new().dir("./");
    let n = MAX_DPKG_REFUSALS + 5;
    for i in 0..n {
        let path = format!("./opt/f{i}");
        t = t.with_header(&typed(&path, b'Z', b""), b"");
    }
    let p = read(&deb(&t.finish())).unwrap();
    assert_eq!(p.dpkg_refuses.len(), MAX_DPKG_REFUSALS);
    assert_eq!(p.dpkg_refused, n as u64);
    assert_eq!(p.dpkg_refuses[0].member, "/opt/f0");
}

#[test]
fn dpkg_accepts_exactly_the_types_its_extractor_knows() {
    for flag in [0, b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'K', b'L'] {
        assert!(!DpkgRefusal::refused(flag), "{flag}");
    }
    for flag in *b"7xgSDVMNAXEIZ9a\xff" {
        assert!(DpkgRefusal::refused(flag), "{flag}");
    }
}

#[test]
fn device_nodes_carry_their_major_and_minor_numbers() {
    let mut h = header(EntryType::Char, 0, 0o660);
    h.set_path("./dev/ttyX").unwrap();
    h.set_device_major(4).unwrap();
    h.set_device_minor(64).unwrap();
    h.set_cksum();
    let mut b = header(EntryType::Block, 0, 0o660);
    b.set_path("./dev/sdX").unwrap();
    b.set_device_major(259).unwrap();
    b.set_device_minor(1_048_575).unwrap();
    b.set_cksum();
    // An empty field reads as 0, as dpkg reads it.
    let mut blank = header(EntryType::Char, 0, 0o600);
    blank.set_path("./dev/blank").unwrap();
    blank.as_gnu_mut().unwrap().dev_major = [0; 8];
    blank.as_gnu_mut().unwrap().dev_minor = *b"       \0";
    blank.set_cksum();
    let data = Tar::new()
        .dir("./")
        .with_header(&h, b"")
        .with_header(&b, b"")
        .with_header(&blank, b"")
        .file("./etc/x", b"x")
        .finish();
    let p = read(&deb(&data)).unwrap();
    let dev = |path: &str| p.entry(path).unwrap().device;
    assert_eq!(
        dev("/dev/ttyX"),
        Some(Device {
            major: 4,
            minor: 64
        })
    );
    assert_eq!(
        dev("/dev/sdX"),
        Some(Device {
            major: 259,
            minor: 1_048_575
        })
    );
    assert_eq!(dev("/dev/blank"), Some(Device { major: 0, minor: 0 }));
    assert_eq!(dev("/etc/x"), None);
    assert!(p.dpkg_refuses.is_empty());

    let mut bad = header(EntryType::Char, 0, 0o600);
    bad.set_path("./dev/bad").unwrap();
    bad.as_gnu_mut().unwrap().dev_major = *b"12x4567\0";
    bad.set_cksum();
    let data = Tar::new().dir("./").with_header(&bad, b"").finish();
    let e = error(&deb(&data));
    assert!(matches!(e, ReadError::CorruptTar { .. }), "{e}");
}
