//! Reading well-formed packages: compressions, control files, entries, content, xattrs, limits.

mod common;

use common::*;
use debgate_facts::caps::FileCaps;
use debgate_facts::{Compression, EntryKind, ScriptName};
use debgate_reader::{read_package, Limits, ReadError, ReadOptions};
use std::path::Path;

#[test]
fn reads_every_compression_of_control_and_data() {
    let data = simple_data();
    for cc in [
        Compression::None,
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
    ] {
        for dc in Compression::ALL {
            let pkg =
                read(&deb_with(cc, dc, &data)).unwrap_or_else(|e| panic!("{cc:?}/{dc:?}: {e}"));
            assert_eq!(pkg.control_compression, cc);
            assert_eq!(pkg.data_compression, dc);
            assert_eq!(pkg.name(), "pinger");
            let paths: Vec<_> = pkg.entries.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(paths, ["/", "/usr", "/usr/bin", "/usr/bin/ping"]);
        }
    }
}

#[test]
fn reads_control_fields_in_order_with_multiline_values() {
    let pkg = read(&deb(&simple_data())).unwrap();
    let names: Vec<_> = pkg.control.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Package",
            "Version",
            "Architecture",
            "Maintainer",
            "Description"
        ]
    );
    assert_eq!(pkg.control.version(), "1.2-3");
    assert_eq!(
        pkg.control.get("description"),
        Some("sends pings\nLonger text.\n.\nMore.")
    );
    assert_eq!(pkg.file.to_str(), Some("test.deb"));
}

#[test]
fn reads_entry_metadata() {
    let data = Tar::new()
        .dir("./")
        .file_mode("./usr/bin/ping", b"elf", 0o104755)
        .symlink("./bin/ping6", "/usr/bin/ping")
        .symlink("./usr/bin/p", "ping")
        .finish();
    let pkg = read(&deb(&data)).unwrap();
    let ping = pkg.entry("/usr/bin/ping").unwrap();
    assert_eq!(ping.kind, EntryKind::File);
    assert_eq!(ping.mode, 0o4755, "mode is masked to 0o7777");
    assert_eq!(ping.owner.as_deref(), Some("root"));
    assert_eq!(ping.group.as_deref(), Some("root"));
    assert_eq!(ping.size, 3);
    let l = pkg.entry("/bin/ping6").unwrap();
    assert_eq!(l.kind, EntryKind::Symlink);
    assert_eq!(l.link_target.as_deref(), Some("/usr/bin/ping"));
    assert_eq!(
        pkg.entry("/usr/bin/p").unwrap().link_target.as_deref(),
        Some("ping")
    );
    assert!(pkg.contents.is_empty(), "nothing was asked for");
}

#[test]
fn reads_conffiles_and_maintainer_scripts() {
    let control = Tar::new()
        .file("./control", CONTROL.as_bytes())
        .file(
            "./conffiles",
            b"/etc/pinger.conf\n\nremove-on-upgrade /etc/old.conf\n",
        )
        .file("./md5sums", b"0123  usr/bin/ping\n")
        .file_mode(
            "./postinst",
            b"#!/bin/sh\nsetcap cap_net_raw+ep /usr/bin/ping\n",
            0o755,
        )
        .file_mode("./prerm", b"#!/bin/sh\nexit 0\n", 0o755)
        .finish();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", &compress(Compression::Gzip, &control)),
        ("data.tar.zst", &compress(Compression::Zstd, &simple_data())),
    ]);
    let pkg = read(&bytes).unwrap();
    assert_eq!(pkg.conffiles.len(), 2);
    assert!(pkg.is_conffile("/etc/pinger.conf"));
    assert_eq!(pkg.conffiles[1].flags, ["remove-on-upgrade"]);
    let postinst = pkg.script(ScriptName::Postinst).unwrap();
    assert!(postinst.text.contains("cap_net_raw"));
    assert!(!postinst.truncated);
    assert!(pkg.script(ScriptName::Prerm).is_some());
    assert!(pkg.script(ScriptName::Config).is_none());
}

#[test]
fn truncates_long_scripts_to_the_cap() {
    let script = format!("#!/bin/sh\n{}", "echo hi\n".repeat(1000));
    let control = Tar::new()
        .file("./control", CONTROL.as_bytes())
        .file("./postinst", script.as_bytes())
        .finish();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &simple_data()),
    ]);
    let mut opts = ReadOptions::default();
    opts.limits.max_control_file_bytes = 300;
    let pkg = read_with(&bytes, &opts).unwrap();
    let s = pkg.script(ScriptName::Postinst).unwrap();
    assert!(s.truncated);
    assert_eq!(s.text.len(), 300);
}

#[test]
fn captures_wanted_content_and_caps_it() {
    let big = vec![b'x'; 5000];
    let data = Tar::new()
        .dir("./")
        .file(
            "./etc/sysctl.d/10-ping.conf",
            b"net.ipv4.ping_group_range = 0 0\n",
        )
        .file("./etc/big.conf", &big)
        .file("./usr/share/doc/readme", b"not wanted")
        .hardlink("./etc/alias.conf", "./etc/sysctl.d/10-ping.conf")
        .finish();
    let want = |p: &str| p.starts_with("/etc/");
    let mut opts = ReadOptions {
        want_content: &want,
        ..ReadOptions::default()
    };
    opts.limits.max_content_bytes = 1000;
    let pkg = read_with(&deb(&data), &opts).unwrap();
    let c = &pkg.contents["/etc/sysctl.d/10-ping.conf"];
    assert_eq!(c.text(), "net.ipv4.ping_group_range = 0 0\n");
    assert!(!c.truncated);
    let b = &pkg.contents["/etc/big.conf"];
    assert!(b.truncated);
    assert_eq!(b.bytes.len(), 1000);
    assert_eq!(pkg.entry("/etc/big.conf").unwrap().size, 5000);
    assert!(!pkg.contents.contains_key("/usr/share/doc/readme"));
    let link = pkg.entry("/etc/alias.conf").unwrap();
    assert_eq!(link.kind, EntryKind::HardLink);
    assert_eq!(
        link.link_target.as_deref(),
        Some("/etc/sysctl.d/10-ping.conf")
    );
    assert_eq!(
        pkg.contents["/etc/alias.conf"], *c,
        "hard link gets its target's content"
    );
}

fn cap_net_raw() -> Vec<u8> {
    FileCaps {
        revision: 2,
        effective: true,
        permitted: 1 << 13,
        inheritable: 0,
        rootid: None,
    }
    .encode()
}

#[test]
fn reads_schily_xattrs_and_decodes_capabilities() {
    let cap = cap_net_raw();
    let data = Tar::new()
        .dir("./")
        .pax_file(
            "./usr/bin/ping",
            b"elf",
            &[
                ("SCHILY.xattr.security.capability", &cap),
                ("SCHILY.xattr.user.note", b"hello"),
            ],
        )
        .finish();
    let pkg = read(&deb(&data)).unwrap();
    let ping = pkg.entry("/usr/bin/ping").unwrap();
    assert_eq!(ping.xattrs["user.note"], b"hello");
    let caps = ping.capabilities().unwrap().unwrap();
    assert_eq!(caps.to_set().to_text(), "cap_net_raw=ep");
}

#[test]
fn reads_libarchive_xattrs_with_base64_values_and_encoded_names() {
    use base64::Engine;
    let cap = cap_net_raw();
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&cap);
    let data = Tar::new()
        .pax_file(
            "./usr/bin/ping",
            b"elf",
            &[
                ("LIBARCHIVE.xattr.security.capability", b64.as_bytes()),
                ("LIBARCHIVE.xattr.user.a%3Db", b"aGk="),
            ],
        )
        .finish();
    let pkg = read(&deb(&data)).unwrap();
    let ping = pkg.entry("/usr/bin/ping").unwrap();
    assert_eq!(ping.xattrs["security.capability"], cap);
    assert_eq!(ping.xattrs["user.a=b"], b"hi");
    assert_eq!(
        ping.capabilities().unwrap().unwrap().to_set().to_text(),
        "cap_net_raw=ep"
    );
}

#[test]
fn keeps_binary_xattr_values_containing_newlines() {
    // cap_dac_override and cap_fowner are bits 1 and 3: the permitted word's first byte is
    // 0x0a, a newline, which a newline-split PAX reader would mangle.
    let caps = FileCaps {
        revision: 2,
        effective: true,
        permitted: (1 << 1) | (1 << 3),
        inheritable: 0,
        rootid: None,
    };
    let value = caps.encode();
    assert!(value.contains(&b'\n'));
    let data = Tar::new()
        .pax_file(
            "./usr/bin/tool",
            b"elf",
            &[("SCHILY.xattr.security.capability", &value)],
        )
        .finish();
    let pkg = read(&deb(&data)).unwrap();
    let got = pkg
        .entry("/usr/bin/tool")
        .unwrap()
        .capabilities()
        .unwrap()
        .unwrap();
    assert_eq!(got, caps);
}

#[test]
fn pax_owner_names_override_the_header() {
    let data = Tar::new()
        .pax_file(
            "./usr/bin/x",
            b"",
            &[("uname", b"daemon"), ("gname", b"adm")],
        )
        .finish();
    let pkg = read(&deb(&data)).unwrap();
    let e = pkg.entry("/usr/bin/x").unwrap();
    assert_eq!(e.owner.as_deref(), Some("daemon"));
    assert_eq!(e.group.as_deref(), Some("adm"));
}

#[test]
fn reads_gnu_long_names_and_long_link_targets() {
    let long_dir = "d".repeat(150);
    let path = format!("./usr/share/{long_dir}/file");
    let target = format!("/usr/share/{long_dir}/other");
    let data = Tar::new()
        .file(&path, b"x")
        .symlink("./usr/share/link", &target)
        .finish();
    let pkg = read(&deb(&data)).unwrap();
    assert_eq!(pkg.entries[0].path, format!("/usr/share/{long_dir}/file"));
    assert_eq!(pkg.entries[1].link_target.as_deref(), Some(target.as_str()));
}

#[test]
fn skips_underscore_members_anywhere_after_debian_binary() {
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("_gpgorigin", b"signature"),
        ("control.tar", &control_tar()),
        ("_local", b"odd"),
        ("data.tar", &simple_data()),
        ("_trailer", b"x"),
    ]);
    let pkg = read(&bytes).unwrap();
    assert_eq!(pkg.entries.len(), 4);
}

#[test]
fn accepts_gnu_trailing_slash_and_newer_minor_versions() {
    let bytes = ar(&[
        ("debian-binary", b"2.9\n"),
        ("control.tar/", &control_tar()),
        ("data.tar/", &simple_data()),
    ]);
    let pkg = read(&bytes).unwrap();
    assert_eq!(pkg.entries.len(), 4);
}

#[test]
fn decodes_multi_block_xz_with_threads() {
    let mut t = Tar::new().dir("./");
    let blob: Vec<u8> = (0..400_000u32).flat_map(|i| i.to_le_bytes()).collect();
    t = t
        .file("./usr/lib/blob", &blob)
        .file("./etc/x.conf", b"k = v\n");
    let data = t.finish();
    let bytes = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", &compress(Compression::Xz, &control_tar())),
        ("data.tar.xz", &xz_blocks(&data)),
    ]);
    let want = |p: &str| p == "/etc/x.conf";
    for threads in [1, 2] {
        let opts = ReadOptions {
            want_content: &want,
            xz_threads: threads,
            ..ReadOptions::default()
        };
        let pkg = read_with(&bytes, &opts).unwrap();
        assert_eq!(pkg.entry("/usr/lib/blob").unwrap().size, 1_600_000);
        assert_eq!(pkg.contents["/etc/x.conf"].text(), "k = v\n");
    }
}

fn many_entries(n: usize) -> Vec<u8> {
    let mut t = Tar::new().dir("./");
    for i in 0..n {
        t = t.file(&format!("./usr/share/many/f{i}"), b"");
    }
    t.finish()
}

#[test]
fn reads_100k_entries_and_enforces_max_entries() {
    let bytes = deb_with(Compression::Gzip, Compression::Zstd, &many_entries(100_000));
    let pkg = read(&bytes).unwrap();
    assert_eq!(pkg.entries.len(), 100_001);
    let mut opts = ReadOptions::default();
    opts.limits.max_entries = 50_000;
    let e = error_with(&bytes, &opts);
    assert!(
        matches!(e, ReadError::TooManyEntries { limit: 50_000, .. }),
        "{e}"
    );
    says(&e, &["data.tar.zst", "max-entries", "50000"]);
}

#[test]
fn reads_from_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinger_1.2-3_amd64.deb");
    std::fs::write(&path, deb(&simple_data())).unwrap();
    let pkg = read_package(&path, &ReadOptions::default()).unwrap();
    assert_eq!(pkg.file, path);
    assert_eq!(pkg.name(), "pinger");
    let missing = read_package(&dir.path().join("nope.deb"), &ReadOptions::default());
    assert!(matches!(missing, Err(ReadError::Io(_))));
}

/// A FIFO named like a package must not block the run waiting for a writer, and a directory or
/// device must be named for what it is; a symlink to a real package is followed.
#[test]
fn refuses_paths_that_are_not_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo_1_amd64.deb");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let subdir = dir.path().join("dir_1_amd64.deb");
    std::fs::create_dir(&subdir).unwrap();
    for (path, kind) in [
        (fifo.as_path(), "a FIFO"),
        (subdir.as_path(), "a directory"),
        (Path::new("/dev/zero"), "a device"),
    ] {
        match read_package(path, &ReadOptions::default()) {
            Err(ReadError::NotAFile { kind: k }) => assert_eq!(k, kind, "{}", path.display()),
            other => panic!("{}: {other:?}", path.display()),
        }
    }
    let real = dir.path().join("pinger_1.2-3_amd64.deb");
    std::fs::write(&real, deb(&simple_data())).unwrap();
    let link = dir.path().join("link.deb");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(
        read_package(&link, &ReadOptions::default()).unwrap().name(),
        "pinger"
    );
}

#[test]
fn device_nodes_are_accepted_when_allowed() {
    let mut h = header(tar::EntryType::Char, 0, 0o600);
    h.set_path("./dev/null").unwrap();
    h.set_device_major(1).unwrap();
    h.set_device_minor(3).unwrap();
    h.set_cksum();
    let data = Tar::new().with_header(&h, b"").finish();
    let mut opts = ReadOptions::default();
    opts.limits.allow_device_nodes = true;
    let pkg = read_with(&deb(&data), &opts).unwrap();
    assert_eq!(pkg.entries[0].kind, EntryKind::CharDevice);
}

#[test]
fn limits_parse_from_cli_text() {
    let mut l = Limits::default();
    assert_eq!(l.max_entries, debgate_reader::MAX_ENTRIES);
    l.set("max-entries", "500").unwrap();
    assert_eq!(l.max_entries, 500);
    l.set("max_member_bytes", "2GiB").unwrap();
    assert_eq!(l.max_member_bytes, 2 << 30);
    l.set("max-content-bytes", "64k").unwrap();
    assert_eq!(l.max_content_bytes, 64 * 1024);
    l.set("max-path-len", "1_024").unwrap();
    assert_eq!(l.max_path_len, 1024);
    l.set("allow-device-nodes", "true").unwrap();
    assert!(l.allow_device_nodes);
    l.apply("xz-memlimit=128M").unwrap();
    assert_eq!(l.xz_memlimit, 128 << 20);
    assert_eq!(l.get("xz-memlimit").as_deref(), Some("134217728"));

    let e = l.set("max-entries", "lots").unwrap_err();
    assert!(e.to_string().contains("max-entries"), "{e}");
    let e = l.set("max-content-bytes", "5 parsecs").unwrap_err();
    assert!(e.to_string().contains("byte count"), "{e}");
    let e = l.set("allow-device-nodes", "maybe").unwrap_err();
    assert!(e.to_string().contains("true or false"), "{e}");
    let e = l.set("max-frobs", "1").unwrap_err();
    assert!(
        e.to_string().contains("max-entries"),
        "lists known names: {e}"
    );
    assert!(l.apply("max-entries").is_err());
    assert!(
        l.set("max-member-bytes", "99999999999T").is_err(),
        "overflow"
    );

    for (name, doc) in Limits::NAMES {
        assert!(!doc.is_empty());
        assert!(l.get(name).is_some(), "{name} has a value");
        let v = l.get(name).unwrap();
        l.set(name, &v).unwrap();
    }
    assert_eq!(Limits::NAMES.len(), 13);
    l.apply("allow-extra-members=yes").unwrap();
    assert!(l.allow_extra_members);
    l.apply("max-trailing-bytes=1KiB").unwrap();
    assert_eq!(l.max_trailing_bytes, 1024);
    l.apply("max-script-paths=8").unwrap();
    assert_eq!(l.max_script_paths, 8);
    assert!(
        l.apply("max-script-paths=0").is_err(),
        "a walk needs one path"
    );
}

/// A 60-byte ar member header.
fn ar_header(name: &str, size: u64, end: &[u8; 2]) -> Vec<u8> {
    let mut h = format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}", 0, 0, 0, 100644).into_bytes();
    h.extend_from_slice(end);
    h
}

#[test]
fn counts_trailing_bytes_after_the_data_member_which_dpkg_never_reads() {
    let good = deb(&simple_data());
    let member = |name: &str, body: &[u8]| {
        [ar_header(name, body.len() as u64, b"`\n"), body.to_vec()].concat()
    };
    let cases: Vec<(&str, Vec<u8>, u64)> = vec![
        ("nothing", vec![], 0),
        ("garbage", b"garbage\n".to_vec(), 8),
        ("a newline", b"\n".to_vec(), 1),
        ("zero bytes", vec![0; 100], 100),
        ("60 bytes that are no header", vec![b'x'; 60], 60),
        (
            "a cut-off header",
            member("_sig", b"0123456789")[..30].to_vec(),
            30,
        ),
        ("a `_` member", member("_sig", b"abcd"), 0),
        (
            "a `_` member, then garbage",
            [member("_sig", b"abcd"), b"junk".to_vec()].concat(),
            4,
        ),
        (
            "a `_` member cut short",
            member("_sig", &[b'0'; 100])[..70].to_vec(),
            70,
        ),
        (
            "a `_` header with a bad end marker",
            [ar_header("_sig", 4, b"xx"), b"abcd".to_vec()].concat(),
            64,
        ),
    ];
    for (what, tail, trailing) in cases {
        let bytes = [good.clone(), tail].concat();
        let pkg = read(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(pkg.trailing_bytes, trailing, "{what}");
        assert_eq!(pkg.entries.len(), 4, "{what}");
    }

    // The data member's padding byte is the member's, whatever its value, and may be missing
    // at the end of the file: dpkg reads neither.
    let odd = [simple_data(), vec![0]].concat();
    let padded = ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control_tar()),
        ("data.tar", &odd),
    ]);
    assert_eq!(padded.last(), Some(&b'\n'));
    let unpadded = &padded[..padded.len() - 1];
    let mut x = padded.clone();
    *x.last_mut().unwrap() = b'X';
    for (what, bytes, trailing) in [
        ("padded", padded.clone(), 0),
        ("unpadded", unpadded.to_vec(), 0),
        ("padded with X", x, 0),
        (
            "padded, then junk",
            [padded.clone(), b"junk".to_vec()].concat(),
            4,
        ),
    ] {
        let pkg = read(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(pkg.trailing_bytes, trailing, "{what}");
    }
}

#[test]
fn trailing_bytes_are_counted_up_to_their_limit() {
    let good = deb(&simple_data());
    let mut opts = ReadOptions::default();
    opts.limits.max_trailing_bytes = 16;
    let at_limit = [good.clone(), vec![b'x'; 16]].concat();
    assert_eq!(read_with(&at_limit, &opts).unwrap().trailing_bytes, 16);
    for tail in [vec![b'x'; 17], vec![b'x'; 1 << 20]] {
        let e = read_with(&[good.clone(), tail].concat(), &opts).unwrap_err();
        assert!(matches!(e, ReadError::TrailingBytes { limit: 16 }), "{e}");
        assert!(e.to_string().contains("max-trailing-bytes"), "{e}");
    }
    // A `_` member cut short counts towards it too.
    let mut cut = ar_header("_sig", 100, b"`\n");
    cut.extend_from_slice(&[b'0'; 10]);
    let e = read_with(&[good.clone(), cut].concat(), &opts).unwrap_err();
    assert!(matches!(e, ReadError::TrailingBytes { .. }), "{e}");
    // A whole member of another name after the data member stays an error by default...
    let foo = [ar_header("foo", 4, b"`\n"), b"abcd".to_vec()].concat();
    let with_foo = [good, foo].concat();
    let e = read(&with_foo).unwrap_err();
    assert!(matches!(e, ReadError::ExtraMember { .. }), "{e}");
    assert!(e.to_string().contains("allow-extra-members"), "{e}");
    // ...and read as dpkg reads it when the limit allows: all of it is trailing.
    let mut lax = ReadOptions::default();
    lax.limits.allow_extra_members = true;
    assert_eq!(read_with(&with_foo, &lax).unwrap().trailing_bytes, 64);
    lax.limits.max_trailing_bytes = 63;
    let e = read_with(&with_foo, &lax).unwrap_err();
    assert!(matches!(e, ReadError::TrailingBytes { .. }), "{e}");
}
