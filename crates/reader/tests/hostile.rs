//! Hostile and broken packages: each is a typed error with a one-line message, never a panic.

mod common;

use common::*;
use debgate_facts::Compression;
use debgate_reader::{ReadError, ReadOptions};
use tar::EntryType;

fn with_data(data_tar: &[u8]) -> Vec<u8> {
    ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        ("data.tar", data_tar),
    ])
}

// ---- the ar container ----

#[test]
fn rejects_a_file_that_is_not_ar() {
    let e = error(b"PK\x03\x04 this is a zip");
    assert!(matches!(e, ReadError::CorruptAr { .. }), "{e}");
    says(&e, &["not a .deb"]);
    let e = error(b"");
    assert!(matches!(e, ReadError::CorruptAr { .. }), "{e}");
}

#[test]
fn rejects_a_truncated_ar() {
    let full = deb(&simple_data());
    for cut in [full.len() - 10, full.len() / 2, 70, 30] {
        let e = error(&full[..cut]);
        assert!(
            matches!(
                e,
                ReadError::TruncatedMember { .. }
                    | ReadError::CorruptAr { .. }
                    | ReadError::MissingMember { .. }
            ),
            "cut at {cut}: {e}"
        );
    }
    let e = error(&full[..full.len() - 10]);
    assert!(matches!(e, ReadError::TruncatedMember { .. }), "{e}");
    says(&e, &["data.tar.xz", "truncated"]);
}

#[test]
fn rejects_a_corrupt_ar_header() {
    let mut bytes = deb(&simple_data());
    // The size field of the first member header (bytes 8+48..8+58).
    bytes[8 + 48..8 + 58].copy_from_slice(b"12x4567890");
    let e = error(&bytes);
    assert!(matches!(e, ReadError::CorruptAr { .. }), "{e}");
}

#[test]
fn rejects_a_member_header_with_a_bad_end_marker_as_dpkg_does() {
    let good = deb(&simple_data());
    // Every member header's `ar_fmag` (its last two bytes) must be "`\n": dpkg refuses the
    // package otherwise ("invalid header"). The first header starts after the 8-byte magic.
    for (at, marker) in [(8 + 58, *b"`x"), (8 + 58, *b"\n\n")] {
        let mut bytes = good.clone();
        bytes[at..at + 2].copy_from_slice(&marker);
        let e = error(&bytes);
        assert!(matches!(e, ReadError::CorruptAr { .. }), "{e}");
        says(&e, &["debian-binary", "dpkg refuses"]);
    }
    // The same package with a good marker reads.
    assert!(
        debgate_reader::read_package_from("ok.deb".into(), &good[..], &ReadOptions::default())
            .is_ok()
    );
}

#[test]
fn rejects_gnu_and_bsd_extended_names_without_allocating() {
    // `//` declaring a 9 GB name table, and `/123` with no table: the ar crate would allocate
    // the first and panic on the second.
    for name in ["//", "/123", "#1/9999999"] {
        let mut bytes = b"!<arch>\n".to_vec();
        bytes.extend(
            format!(
                "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                0, 0, 0, 644, 9_000_000_000u64
            )
            .as_bytes(),
        );
        let e = error(&bytes);
        assert!(matches!(e, ReadError::CorruptAr { .. }), "{name}: {e}");
        says(&e, &["extended-name"]);
    }
}

#[test]
fn rejects_debian_binary_with_another_major_version() {
    let bytes = ar(&[
        ("debian-binary", b"3.0\n"),
        ("control.tar", &control_tar()),
        ("data.tar", &simple_data()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::UnsupportedFormat { .. }), "{e}");
    says(&e, &["debian-binary", "3.0", "major version must be 2"]);
    let bytes = ar(&[("debian-binary", b"2.0")]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::BadDebianBinary { .. }), "{e}");
}

#[test]
fn rejects_missing_members() {
    let e = error(b"!<arch>\n");
    assert!(
        matches!(
            e,
            ReadError::MissingMember {
                expected: "debian-binary"
            }
        ),
        "{e}"
    );
    let e = error(&ar(&[("debian-binary", b"2.0\n")]));
    assert!(
        matches!(
            e,
            ReadError::MissingMember {
                expected: "control.tar"
            }
        ),
        "{e}"
    );
    let e = error(&ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
    ]));
    assert!(
        matches!(
            e,
            ReadError::MissingMember {
                expected: "data.tar"
            }
        ),
        "{e}"
    );
    says(&e, &["missing member `data.tar`"]);
}

#[test]
fn rejects_misordered_members() {
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("data.tar", &simple_data()),
        ("control.tar", &control_tar()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::UnexpectedMember { .. }), "{e}");
    says(&e, &["`data.tar`", "`control.tar` was expected"]);
    let bytes = ar(&[("control.tar", &control_tar()), ("debian-binary", b"2.0\n")]);
    let e = error(&bytes);
    assert!(
        matches!(
            e,
            ReadError::UnexpectedMember {
                expected: "debian-binary",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn rejects_duplicated_members() {
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        (
            "control.tar.gz",
            &compress(Compression::Gzip, &control_tar()),
        ),
        ("data.tar", &simple_data()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::UnexpectedMember { .. }), "{e}");
    says(&e, &["control.tar.gz"]);
}

#[test]
fn rejects_unknown_members() {
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        ("extra", b"x"),
        ("data.tar", &simple_data()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::UnexpectedMember { .. }), "{e}");
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        ("data.tar", &simple_data()),
        ("data.tar.gz", b"again"),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::ExtraMember { .. }), "{e}");
    says(&e, &["data.tar.gz", "after the data member"]);
}

#[test]
fn rejects_unknown_compression() {
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        ("data.tar.lz4", b"whatever"),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::UnknownCompression { .. }), "{e}");
    says(&e, &["data.tar.lz4", "unknown compression"]);
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        (
            "control.tar.bz2",
            &compress(Compression::Bzip2, &control_tar()),
        ),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::UnknownCompression { .. }), "{e}");
}

#[test]
fn rejects_a_declared_member_size_over_the_limit() {
    let mut opts = ReadOptions::default();
    opts.limits.max_compressed_member_bytes = 100;
    let e = error_with(&deb(&simple_data()), &opts);
    assert!(matches!(e, ReadError::MemberTooLarge { .. }), "{e}");
    says(&e, &["max-compressed-member-bytes"]);
}

// ---- compressed streams ----

#[test]
fn rejects_corrupt_compressed_streams() {
    let data = simple_data();
    for c in [
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
        Compression::Bzip2,
        Compression::Lzma,
    ] {
        let mut z = compress(c, &data);
        let mid = z.len() / 2;
        for b in &mut z[mid..mid + 8] {
            *b ^= 0x55;
        }
        let name = format!("data.tar{}", c.suffix());
        let bytes = ar(&[
            ("debian-binary", b"2.0\n"),
            ("control.tar", &control_tar()),
            (&name, &z),
        ]);
        let e = error(&bytes);
        assert!(
            matches!(
                e,
                ReadError::Decompress { .. }
                    | ReadError::CorruptTar { .. }
                    | ReadError::TruncatedTar { .. }
            ),
            "{c:?}: {e}"
        );
        says(&e, &[&name]);
    }
}

#[test]
fn rejects_a_cut_off_compressed_stream() {
    let z = compress(Compression::Xz, &simple_data());
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        ("data.tar.xz", &z[..z.len() - 20]),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::Decompress { .. }), "{e}");
    says(&e, &["data.tar.xz", "corrupt compressed stream"]);
}

#[test]
fn stops_a_decompression_bomb() {
    let zeros = vec![0u8; 8 << 20];
    let data = Tar::new().file("./usr/share/zeros", &zeros).finish();
    let bytes = deb_with(Compression::None, Compression::Gzip, &data);
    let mut opts = ReadOptions::default();
    opts.limits.max_member_bytes = 1 << 20;
    let e = error_with(&bytes, &opts);
    assert!(
        matches!(e, ReadError::MemberBytes { limit: 1048576, .. }),
        "{e}"
    );
    says(
        &e,
        &[
            "data.tar.gz",
            "max-member-bytes",
            "--limit max-member-bytes=",
        ],
    );
}

#[test]
fn enforces_the_xz_memory_limit() {
    let z = compress(Compression::Xz, &simple_data());
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        ("data.tar.xz", &z),
    ]);
    let mut opts = ReadOptions::default();
    opts.limits.xz_memlimit = 64 * 1024;
    let e = error_with(&bytes, &opts);
    assert!(matches!(e, ReadError::DecoderMemLimit { .. }), "{e}");
    says(&e, &["xz-memlimit"]);
}

// ---- tar ----

#[test]
fn rejects_a_truncated_tar() {
    let data = Tar::new().file("./usr/share/f", &[7u8; 4000]).finish();
    let e = error(&with_data(&data[..2048]));
    assert!(
        matches!(
            e,
            ReadError::TruncatedTar { .. } | ReadError::CorruptTar { .. }
        ),
        "{e}"
    );
    says(&e, &["data.tar"]);
    let e = error(&with_data(&data[..2048]));
    assert!(
        matches!(e, ReadError::TruncatedTar { declared: 4000, .. }),
        "{e}"
    );
}

#[test]
fn rejects_a_corrupt_tar_header() {
    let mut data = simple_data();
    data[512 + 10] ^= 0x20; // inside the second header's name: the checksum no longer matches
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::CorruptTar { after: 1, .. }), "{e}");
    says(&e, &["data.tar", "checksum"]);
}

#[test]
fn rejects_a_huge_declared_size_without_allocating_it() {
    let mut h = header(EntryType::Regular, 1 << 40, 0o644);
    h.set_path("./usr/share/huge").unwrap();
    h.set_cksum();
    let data = Tar::new().with_header(&h, b"only this").finish();
    let want = |_: &str| true;
    let opts = ReadOptions {
        want_content: &want,
        ..ReadOptions::default()
    };
    let e = error_with(
        &deb_with(Compression::None, Compression::Zstd, &data),
        &opts,
    );
    assert!(
        matches!(
            e,
            ReadError::TruncatedTar {
                declared: 1099511627776,
                ..
            }
        ),
        "{e}"
    );
    says(&e, &["/usr/share/huge", "truncated"]);
}

#[test]
fn rejects_names_that_escape_the_root() {
    let data = Tar::new()
        .raw(b"./usr/../../etc/shadow", EntryType::Regular, b"x")
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::PathEscapes { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "data.tar: entry 1 `./usr/../../etc/shadow`: path escapes the package root"
    );
}

#[test]
fn rejects_absolute_names() {
    let data = Tar::new()
        .raw(b"/etc/passwd", EntryType::Regular, b"x")
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::AbsolutePath { .. }), "{e}");
    says(&e, &["data.tar: entry 1 `/etc/passwd`", "absolute"]);
}

#[test]
fn reads_names_that_are_not_utf8_losslessly_as_dpkg_does() {
    let long = [&b"./usr/share/"[..], &[b'n'; 120], b"/\xfe"].concat();
    let data = Tar::new()
        .bytes_entry(
            b"./usr/bin/acct\xffpw",
            EntryType::Regular,
            0o4755,
            b"x",
            None,
        )
        .bytes_entry(&long, EntryType::Regular, 0o644, b"x", None)
        .bytes_entry(
            b"./usr/bin/alias",
            EntryType::Symlink,
            0o777,
            b"",
            Some(b"acct\xffpw"),
        )
        .bytes_entry(
            b"./usr/bin/acct-old",
            EntryType::Link,
            0o4755,
            b"",
            Some(b"./usr/bin/acct\xffpw"),
        )
        .pax_file("./usr/bin/p", b"y", &[("path", b"./usr/bin/p\xfd")])
        .file(
            "./lib/systemd/system/dev-disk-by\\x2duuid.swap",
            b"[Swap]\n",
        )
        .finish();
    let p = read(&with_data(&data)).expect("dpkg installs names that are not UTF-8");
    let e = |path: &str| {
        p.entry(path).unwrap_or_else(|| {
            let all: Vec<&str> = p.entries.iter().map(|e| e.path.as_str()).collect();
            panic!("no {path} in {all:?}")
        })
    };
    let setuid = e("/usr/bin/acct\\xffpw");
    assert_eq!(setuid.mode, 0o4755);
    assert_eq!(
        setuid.raw_path.as_deref(),
        Some(&b"/usr/bin/acct\xffpw"[..])
    );
    // A GNU long name.
    let long_shown = format!("/usr/share/{}/\\xfe", "n".repeat(120));
    let long_raw = [&b"/usr/share/"[..], &[b'n'; 120], b"/\xfe"].concat();
    assert_eq!(e(&long_shown).raw_path.as_deref(), Some(&long_raw[..]));
    // Link targets, symbolic (as written) and hard (normalised, naming the member).
    let alias = e("/usr/bin/alias");
    assert_eq!(alias.raw_path, None);
    assert_eq!(alias.link_target.as_deref(), Some("acct\\xffpw"));
    assert_eq!(alias.raw_link_target.as_deref(), Some(&b"acct\xffpw"[..]));
    let old = e("/usr/bin/acct-old");
    assert_eq!(old.link_target.as_deref(), Some("/usr/bin/acct\\xffpw"));
    assert_eq!(
        old.raw_link_target.as_deref(),
        Some(&b"/usr/bin/acct\xffpw"[..])
    );
    // A PAX `path` record (UTF-8 by POSIX) that is not UTF-8 is read the same way.
    assert_eq!(
        e("/usr/bin/p\\xfd").raw_path.as_deref(),
        Some(&b"/usr/bin/p\xfd"[..])
    );
    // A backslash in a valid name is the name's own text: not escaped, no raw bytes.
    assert_eq!(
        e("/lib/systemd/system/dev-disk-by\\x2duuid.swap").raw_path,
        None
    );
    for entry in &p.entries {
        assert!(!entry.path.contains('\u{fffd}'), "{}", entry.path);
    }
}

#[test]
fn a_member_landing_through_a_symlink_keeps_the_bytes_of_where_it_lands() {
    let data = Tar::new()
        .dir("./etc/")
        .bytes_entry(b"./etc/cron\xff", EntryType::Directory, 0o755, b"", None)
        .bytes_entry(
            b"./etc/x",
            EntryType::Symlink,
            0o777,
            b"",
            Some(b"cron\xff"),
        )
        .file("./etc/x/job", b"* * * * * root true\n")
        .finish();
    let p = read(&with_data(&data)).unwrap();
    let job = p
        .entry("/etc/cron\\xff/job")
        .expect("lands through the link");
    assert_eq!(job.member.as_deref(), Some("/etc/x/job"));
    assert_eq!(job.raw_path.as_deref(), Some(&b"/etc/cron\xff/job"[..]));
}

#[test]
fn error_messages_show_a_name_that_is_not_utf8_with_escapes() {
    let data = Tar::new()
        .raw(b"./usr/../../\xff\x1b[2J", EntryType::Regular, b"x")
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::PathEscapes { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "data.tar: entry 1 `./usr/../../\\xff\\u{1b}[2J`: path escapes the package root"
    );
}

#[test]
fn owner_and_member_names_that_are_not_utf8_are_shown_with_escapes_too() {
    let mut h = header(EntryType::Regular, 1, 0o755);
    h.set_path("./usr/bin/x").unwrap();
    h.as_gnu_mut().unwrap().uname[..5].copy_from_slice(b"ad\xffm\0");
    h.set_cksum();
    let p = read(&with_data(&Tar::new().with_header(&h, b"x").finish())).unwrap();
    assert_eq!(p.entries[0].owner.as_deref(), Some("ad\\xffm"));
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("contr\u{ff}", b"x"),
        ("data.tar", &simple_data()),
    ]);
    let mut bytes = bytes;
    // The ar crate writes the name as UTF-8 (c3 bf); make it the single byte 0xff.
    let at = bytes.windows(2).position(|w| w == [0xc3, 0xbf]).unwrap();
    bytes.splice(at..at + 2, [0xff, b' ']);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::UnexpectedMember { .. }), "{e}");
    says(&e, &["`contr\\xff`"]);
}

#[test]
fn refuses_a_shown_name_that_stands_for_two_byte_strings() {
    // The byte 0xff and the literal text `\xff` are shown alike; whichever comes first, and
    // whether the clash is in a file name, a directory or a link target, the package is
    // refused rather than judged by a name that may mean the other file.
    /// A first name, a second name, and the second's link target when it is a symlink.
    type Case<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);
    let cases: [Case; 5] = [
        (b"./usr/bin/a\xff", b"./usr/bin/a\\xff", None),
        (b"./usr/bin/a\\xff", b"./usr/bin/a\xff", None),
        (b"./opt/d\xff/x", b"./opt/d\\xff/y", None),
        (b"./usr/bin/\\xff\xfe", b"./usr/bin/\xff\xfe", None),
        (b"./usr/bin/a\xff", b"./usr/bin/l", Some(b"a\\xff")),
    ];
    for (first, second, link) in cases {
        let kind = if link.is_some() {
            EntryType::Symlink
        } else {
            EntryType::Regular
        };
        let data = Tar::new()
            .bytes_entry(first, EntryType::Regular, 0o755, b"x", None)
            .bytes_entry(second, kind, 0o755, b"", link)
            .finish();
        let e = error(&with_data(&data));
        assert!(
            matches!(e, ReadError::AmbiguousName { .. }),
            "{first:?}: {e}"
        );
        says(&e, &["entry 2", "two different byte strings"]);
    }
    // The same bytes twice are a duplicate, as for any name.
    let data = Tar::new()
        .bytes_entry(b"./usr/bin/a\xff", EntryType::Regular, 0o755, b"x", None)
        .bytes_entry(b"./usr/bin/a\xff", EntryType::Regular, 0o755, b"x", None)
        .finish();
    assert!(matches!(
        error(&with_data(&data)),
        ReadError::DuplicatePath { .. }
    ));
    // Distinct shown names that happen to contain escapes are fine together.
    let data = Tar::new()
        .bytes_entry(b"./usr/bin/a\xff", EntryType::Regular, 0o755, b"x", None)
        .bytes_entry(b"./usr/bin/a\\xfe", EntryType::Regular, 0o755, b"x", None)
        .finish();
    assert_eq!(read(&with_data(&data)).unwrap().entries.len(), 2);
}

#[test]
fn rejects_names_longer_than_the_limit() {
    let path = format!("./usr/share/{}", "n".repeat(300));
    let data = Tar::new().file(&path, b"x").finish();
    let mut opts = ReadOptions::default();
    opts.limits.max_path_len = 200;
    let e = error_with(&with_data(&data), &opts);
    assert!(
        matches!(e, ReadError::PathTooLong { what: "name", .. }),
        "{e}"
    );
    says(&e, &["max-path-len"]);
}

#[test]
fn bounds_memory_for_huge_long_names() {
    // A GNU long name of 4 MiB: refused while tar reads it, before it is all in memory.
    let path = format!("./{}", "n".repeat(4 << 20));
    let data = Tar::new().file(&path, b"x").finish();
    let e = error(&deb_with(Compression::None, Compression::Gzip, &data));
    assert!(
        matches!(e, ReadError::HeadersTooLarge { index: 1, .. }),
        "{e}"
    );
    says(&e, &["data.tar.gz", "entry 1", "max-path-len"]);
}

#[test]
fn rejects_hard_links_outside_the_root() {
    let data = Tar::new()
        .file("./usr/bin/a", b"x")
        .raw_hardlink("./usr/bin/b", b"../../etc/shadow")
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::HardLink { .. }), "{e}");
    says(
        &e,
        &[
            "hard link to `../../etc/shadow`",
            "escapes the package root",
        ],
    );
}

#[test]
fn rejects_hard_links_to_missing_members() {
    let data = Tar::new()
        .hardlink("./usr/bin/b", "./usr/bin/later")
        .file("./usr/bin/later", b"x")
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::HardLink { .. }), "{e}");
    says(&e, &["entry 1 `/usr/bin/b`", "not an earlier member"]);
}

#[test]
fn device_nodes_are_read_as_facts_as_dpkg_unpacks_them_and_refused_on_request() {
    use debgate_facts::EntryKind;
    for (kind, word, fact) in [
        (EntryType::Char, "character", EntryKind::CharDevice),
        (EntryType::Block, "block", EntryKind::BlockDevice),
        (EntryType::Fifo, "", EntryKind::Fifo),
    ] {
        let mut h = header(kind, 0, 0o600);
        h.set_path("./dev/sda").unwrap();
        h.set_cksum();
        let bytes = with_data(&Tar::new().with_header(&h, b"").finish());
        let p =
            debgate_reader::read_package_from("d.deb".into(), &bytes[..], &ReadOptions::default())
                .unwrap_or_else(|e| panic!("{word}: {e}"));
        let e = p.entries.iter().find(|e| e.path == "/dev/sda").unwrap();
        assert_eq!((e.kind, e.mode), (fact, 0o600));
        if kind == EntryType::Fifo {
            continue;
        }
        let mut strict = ReadOptions::default();
        strict.limits.allow_device_nodes = false;
        let e = debgate_reader::read_package_from("d.deb".into(), &bytes[..], &strict).unwrap_err();
        assert!(matches!(e, ReadError::DeviceNode { .. }), "{e}");
        says(&e, &[word, "device node", "allow-device-nodes"]);
    }
}

#[test]
fn rejects_duplicate_paths() {
    let data = Tar::new()
        .file_mode("./usr/bin/ping", b"x", 0o755)
        .file_mode("./usr/bin/./ping", b"x", 0o4755)
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::DuplicatePath { .. }), "{e}");
    says(&e, &["entry 2", "appears twice"]);
}

#[test]
fn rejects_oversized_xattrs() {
    let big = vec![1u8; 70_000];
    let data = Tar::new()
        .pax_file("./usr/bin/ping", b"x", &[("SCHILY.xattr.user.big", &big)])
        .finish();
    let e = error(&with_data(&data));
    assert!(
        matches!(e, ReadError::XattrTooLarge { size: 70_000, .. }),
        "{e}"
    );
    says(&e, &["user.big", "max-xattr-bytes"]);
}

#[test]
fn rejects_bad_and_conflicting_xattrs() {
    let data = Tar::new()
        .pax_file(
            "./usr/bin/ping",
            b"x",
            &[("LIBARCHIVE.xattr.user.x", b"!!!not base64")],
        )
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::BadXattr { .. }), "{e}");
    let data = Tar::new()
        .pax_file(
            "./usr/bin/ping",
            b"x",
            &[
                ("SCHILY.xattr.user.x", b"one"),
                ("LIBARCHIVE.xattr.user.x", b"dHdv"),
            ],
        )
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::BadXattr { .. }), "{e}");
    says(&e, &["two different values"]);
}

#[test]
fn rejects_pax_records_that_tar_readers_disagree_on() {
    // An xattr value that, split on newlines, contains a `size` record.
    let data = Tar::new()
        .pax_file(
            "./usr/bin/ping",
            b"x",
            &[("SCHILY.xattr.user.x", b"a\n11 size=99\nb")],
        )
        .finish();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::BadPax { .. }), "{e}");
}

#[test]
fn rejects_global_pax_headers_that_set_attributes() {
    let mut t = tar::Builder::new(Vec::new());
    let record = b"30 SCHILY.xattr.user.x=value\n";
    let mut h = header(EntryType::XGlobalHeader, record.len() as u64, 0o644);
    h.set_path("pax_global_header").unwrap();
    h.set_cksum();
    t.append(&h, &record[..]).unwrap();
    let data = t.into_inner().unwrap();
    let e = error(&with_data(&data));
    assert!(matches!(e, ReadError::BadPax { .. }), "{e}");
    says(&e, &["global"]);
}

// ---- control.tar ----

#[test]
fn rejects_control_tar_without_control() {
    let control = Tar::new().file("./postinst", b"#!/bin/sh\n").finish();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.zst", &compress(Compression::Zstd, &control)),
        ("data.tar", &simple_data()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::MissingControl { .. }), "{e}");
    says(&e, &["control.tar.zst", "no `control` file"]);
}

#[test]
fn rejects_unparseable_control() {
    let control = Tar::new()
        .file("./control", b"Package: pinger\nthis line has no colon\n")
        .finish();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &simple_data()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::BadControl { .. }), "{e}");
    says(&e, &["control:", "line 2"]);
}

#[test]
fn rejects_oversized_control() {
    let mut opts = ReadOptions::default();
    opts.limits.max_control_file_bytes = 10;
    let e = error_with(&deb(&simple_data()), &opts);
    assert!(matches!(e, ReadError::ControlFileTooLarge { .. }), "{e}");
    says(&e, &["`control`", "max-control-file-bytes"]);
}

#[test]
fn rejects_bad_conffiles() {
    let control = Tar::new()
        .file("./control", CONTROL.as_bytes())
        .file("./conffiles", b"/etc/ok\nrelative/path\n")
        .finish();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &simple_data()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::BadConffiles { line: 2, .. }), "{e}");
}

#[test]
fn rejects_control_tar_with_escaping_names() {
    let control = Tar::new()
        .file("./control", CONTROL.as_bytes())
        .raw(b"../postinst", EntryType::Regular, b"#!/bin/sh\n")
        .finish();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &simple_data()),
    ]);
    let e = error(&bytes);
    assert!(matches!(e, ReadError::PathEscapes { .. }), "{e}");
    says(&e, &["control.tar: entry 2"]);
}

#[test]
fn random_corruption_never_panics() {
    // Flip bytes all over a valid package: every outcome must be Ok or a typed error.
    let base = deb_with(Compression::Gzip, Compression::Xz, &simple_data());
    let mut rng = fastrand::Rng::with_seed(0x2545_f491);
    for _ in 0..300 {
        let mut b = base.clone();
        for _ in 0..3 {
            let i = rng.usize(..b.len());
            b[i] ^= rng.u8(1..);
        }
        if let Err(e) = read(&b) {
            assert!(!e.to_string().contains('\n'), "{e:?}");
        }
    }
}
