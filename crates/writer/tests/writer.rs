//! The writer's output read back with independent readers: determinism, every compression,
//! PAX xattr records, names, implied directories and the tree loader.

mod common;

use common::{ar_members, decompress, open_deb, tar_entries};
use debgate_facts::caps::FileCaps;
use debgate_writer::{
    ar_bytes, compress, deb_bytes, gnu_ar_bytes, load_package, load_tree, tar_bytes, Compression,
    EntryKind, FileSpec, PackageSpec, ScriptName, WriterError,
};

fn sample() -> PackageSpec {
    let mut with_xattr = FileSpec::file("/usr/bin/pinger", 0o755, "bin");
    with_xattr.xattrs = vec![
        (
            "security.capability".into(),
            FileCaps {
                revision: 2,
                effective: true,
                permitted: 1 << 13,
                inheritable: 0,
                rootid: None,
            }
            .encode(),
        ),
        ("user.note".into(), b"a=b\nc".to_vec()),
    ];
    let mut grouped = FileSpec::file("/var/log/app.log", 0o640, "");
    grouped.gid = 4;
    grouped.group = "adm".into();
    PackageSpec {
        control: "Package: sample\nVersion: 1.0\nArchitecture: amd64\nDescription: s\n".into(),
        conffiles: vec!["/etc/sample.conf".into()],
        md5sums: None,
        scripts: vec![
            (ScriptName::Postinst, "#!/bin/sh\nexit 0\n".into()),
            (ScriptName::Prerm, "#!/bin/sh\n".into()),
        ],
        files: vec![
            FileSpec::file("/etc/sample.conf", 0o644, "k = v\n"),
            with_xattr,
            grouped,
            FileSpec::symlink("/usr/bin/ping2", "pinger"),
            FileSpec::hardlink("/usr/bin/pinger-hl", "/usr/bin/pinger", 0o755),
        ],
        extra_members: vec![("_local".into(), b"x".to_vec())],
    }
}

#[test]
fn same_input_gives_identical_bytes_for_every_compression() {
    let spec = sample();
    for c in Compression::ALL {
        let a = deb_bytes(&spec, c, c).unwrap();
        let b = deb_bytes(&spec.clone(), c, c).unwrap();
        assert_eq!(a, b, "{c:?}");
        // Reordering the input files must not change the output either.
        let mut shuffled = spec.clone();
        shuffled.files.reverse();
        assert_eq!(a, deb_bytes(&shuffled, c, c).unwrap(), "{c:?} order");
    }
}

#[test]
fn every_compression_round_trips() {
    let data: Vec<u8> = (0..20_000u32)
        .flat_map(|i| (i % 251).to_le_bytes())
        .collect();
    for c in Compression::ALL {
        let packed = compress(&data, c).unwrap();
        assert_eq!(decompress(&packed, c), data, "{c:?}");
    }
    // gzip carries no name and mtime 0: header bytes 4..8 are the mtime, FLG has no FNAME.
    let gz = compress(b"x", Compression::Gzip).unwrap();
    assert_eq!(&gz[4..8], &[0, 0, 0, 0]);
    assert_eq!(gz[3] & 0x08, 0);
    // The legacy format has no xz magic.
    assert!(!compress(b"x", Compression::Lzma)
        .unwrap()
        .starts_with(b"\xfd7zXZ"));
}

#[test]
fn deb_layout_members_and_entries() {
    let spec = sample();
    for c in Compression::ALL {
        let deb = deb_bytes(&spec, c, c).unwrap();
        assert!(deb.starts_with(
            b"!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n"
        ));
        let (control, data, names) = open_deb(&deb, c, c);
        assert_eq!(
            names,
            [
                "debian-binary".to_string(),
                "_local".into(),
                format!("control.tar{}", c.suffix()),
                format!("data.tar{}", c.suffix()),
            ]
        );
        let cnames: Vec<&str> = control.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            cnames,
            ["./", "./conffiles", "./control", "./postinst", "./prerm"]
        );
        assert_eq!(control[3].mode, 0o755);
        assert_eq!(control[1].content, b"/etc/sample.conf\n");

        let dnames: Vec<&str> = data.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            dnames,
            [
                "./",
                "./etc/",
                "./etc/sample.conf",
                "./usr/",
                "./usr/bin/",
                "./usr/bin/ping2",
                "./usr/bin/pinger",
                "./usr/bin/pinger-hl",
                "./var/",
                "./var/log/",
                "./var/log/app.log",
            ]
        );
        let get = |n: &str| data.iter().find(|e| e.name == n).unwrap();
        assert_eq!(get("./var/").mode, 0o755);
        assert_eq!(get("./var/").owner, "root");
        assert_eq!(get("./var/log/app.log").gid, 4);
        assert_eq!(get("./var/log/app.log").group, "adm");
        assert_eq!(get("./var/log/app.log").mode, 0o640);
        assert_eq!(get("./usr/bin/ping2").kind, tar::EntryType::Symlink);
        assert_eq!(get("./usr/bin/ping2").link.as_deref(), Some("pinger"));
        assert_eq!(get("./usr/bin/pinger-hl").kind, tar::EntryType::Link);
        assert_eq!(
            get("./usr/bin/pinger-hl").link.as_deref(),
            Some("./usr/bin/pinger")
        );
        let caps = &get("./usr/bin/pinger").xattrs;
        assert_eq!(caps[0].0, "security.capability");
        assert_eq!(
            FileCaps::decode(&caps[0].1).unwrap().to_set().to_text(),
            "cap_net_raw=ep"
        );
        assert_eq!(caps[1], ("user.note".to_string(), b"a=b\nc".to_vec()));
    }
}

#[test]
fn pax_records_are_in_the_raw_tar() {
    let mut f = FileSpec::file("/x", 0o755, "x");
    f.xattrs = vec![("security.capability".into(), vec![1, 0, 0, 2, 0, 0, 0, 4])];
    let raw = tar_bytes(&[f]).unwrap();
    // The first header is the PAX header: type 'x' at offset 156, named after the file.
    assert_eq!(raw[156], b'x');
    assert!(raw.starts_with(b"./PaxHeaders/x\0"));
    // "45 " + 32-byte key + "=" + 8 value bytes + "\n" is 45 bytes, the length counting
    // its own two digits.
    let mut record = b"45 SCHILY.xattr.security.capability=".to_vec();
    record.extend_from_slice(&[1, 0, 0, 2, 0, 0, 0, 4, b'\n']);
    assert_eq!(record.len(), 45);
    assert_eq!(&raw[512..512 + record.len()], record.as_slice());
    // The PAX header's size field is the record's length.
    assert_eq!(&raw[124..135], b"00000000055");
}

#[test]
fn long_names_and_links_round_trip() {
    let long_dir = format!("/usr/share/{}", "d".repeat(120));
    let long_file = format!("{long_dir}/file");
    let target = format!("../{}", "t".repeat(150));
    let files = vec![
        FileSpec::dir("/"),
        FileSpec::file(&long_file, 0o644, "long"),
        FileSpec::symlink("/usr/bin/l", &target),
        FileSpec::hardlink("/usr/bin/h", &long_file, 0o644),
    ];
    let entries = tar_entries(&tar_bytes(&files).unwrap());
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["./", &format!(".{long_file}"), "./usr/bin/l", "./usr/bin/h"]
    );
    assert_eq!(entries[1].content, b"long");
    assert_eq!(entries[2].link.as_deref(), Some(target.as_str()));
    assert_eq!(
        entries[3].link.as_deref(),
        Some(format!(".{long_file}").as_str())
    );
}

#[test]
fn tar_bytes_is_literal() {
    // No root, no implied directories, no sorting, duplicates and odd names kept.
    let files = vec![
        FileSpec::file("/b/x", 0o644, "1"),
        FileSpec::file("/a", 0o644, "2"),
        FileSpec::file("/a", 0o600, "3"),
        FileSpec::file("../escape", 0o644, "4"),
    ];
    let names: Vec<String> = tar_entries(&tar_bytes(&files).unwrap())
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["./b/x", "./a", "./a", "../escape"]);
}

#[test]
fn ar_builders_write_what_they_are_given() {
    let members: [(&str, &[u8]); 3] = [
        ("data.tar.xz", b"odd"),
        ("debian-binary", b"2.0\n"),
        ("a-member-name-longer-than-sixteen", b"z"),
    ];
    for bytes in [ar_bytes(&members), gnu_ar_bytes(&members)] {
        let got = ar_members(&bytes);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "data.tar.xz",
                "debian-binary",
                "a-member-name-longer-than-sixteen"
            ]
        );
        assert_eq!(got[0].1, b"odd");
    }
    // The 16-byte name field, then the mtime field: GNU names end with `/`, dpkg-deb's
    // common names do not, and both are space-padded to 16 bytes.
    assert!(windows_contain(
        &gnu_ar_bytes(&members),
        b"debian-binary/  0 "
    ));
    assert!(windows_contain(&ar_bytes(&members), b"debian-binary   0 "));
    // GNU long names point into the `//` table, which comes first.
    assert!(gnu_ar_bytes(&members).starts_with(b"!<arch>\n//  "));
    assert_eq!(ar_bytes(&[]), b"!<arch>\n");
}

fn windows_contain(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn load_tree_reads_the_sample_tree() {
    let dir = common::testdata().join("packages/meta-features");
    let (spec, build) = load_package(&dir).unwrap();
    assert_eq!(build.control, Compression::Gzip);
    assert_eq!(build.data, Compression::Zstd);
    assert!(spec.control.starts_with("Package: meta-features\n"));
    assert_eq!(spec.conffiles, ["/etc/meta-features.conf"]);
    assert_eq!(spec.scripts.len(), 1);
    assert_eq!(spec.scripts[0].0, ScriptName::Postinst);
    assert_eq!(
        spec.extra_members,
        [
            ("_local".to_string(), b"local data\n".to_vec()),
            ("_binary".to_string(), vec![0, 0xff, 0x10]),
        ]
    );
    let get = |p: &str| {
        spec.files
            .iter()
            .find(|f| f.path == p)
            .unwrap_or_else(|| panic!("{p} not loaded"))
    };
    let tool = get("/usr/bin/tool");
    assert_eq!(
        (tool.mode, tool.gid, tool.group.as_str()),
        (0o2755, 50, "staff")
    );
    let conf = get("/etc/meta-features.conf");
    assert_eq!((conf.mode, conf.owner.as_str()), (0o644, "root"));
    let alias = get("/usr/bin/tool-alias");
    assert_eq!(alias.kind, EntryKind::Symlink);
    assert_eq!(alias.link_target.as_deref(), Some("tool"));
    let hl = get("/usr/bin/tool-v3");
    assert_eq!(hl.kind, EntryKind::HardLink);
    assert_eq!((hl.mode, hl.group.as_str()), (0o2755, "staff"));
    let pinger = get("/usr/bin/pinger");
    let caps = FileCaps::decode(&pinger.xattrs[0].1).unwrap();
    assert_eq!(caps.revision, 2);
    assert_eq!(caps.to_set().to_text(), "cap_net_admin,cap_net_raw=ep");
    let notes = get("/usr/share/doc/meta-features/notes");
    assert_eq!(
        (notes.uid, notes.owner.as_str(), notes.gid),
        (1000, "builder", 1000)
    );
    assert_eq!(
        notes.xattrs,
        [
            (
                "security.capability".to_string(),
                vec![0, 0, 0, 2, 1, 0, 0, 0]
            ),
            ("user.comment".to_string(), b"hello".to_vec()),
        ]
    );
    let var = get("/var/lib/meta-features");
    assert_eq!(
        (var.kind, var.mode, var.owner.as_str()),
        (EntryKind::Dir, 0o700, "daemon")
    );
    assert_eq!(get("/run/meta-features.fifo").kind, EntryKind::Fifo);
    assert_eq!(load_tree(&dir).unwrap(), spec);
}

fn tree(meta: &str) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("DEBIAN")).unwrap();
    std::fs::create_dir_all(t.path().join("root/bin")).unwrap();
    std::fs::write(t.path().join("DEBIAN/control"), "Package: t\n").unwrap();
    std::fs::write(t.path().join("root/bin/x"), "x").unwrap();
    std::fs::write(t.path().join("meta.toml"), meta).unwrap();
    t
}

#[test]
fn load_tree_rejects_mistakes() {
    let bad = [
        "[files.\"/bin/x\"]\nmode = \"999\"\n",
        "[files.\"/bin/x\"]\nmode = 755\n",
        "[files.\"/bin/x\"]\ngroup = \"nosuchgroup\"\n",
        "[files.\"/bin/x\"]\ncaps = \"cap_bogus+ep\"\n",
        "[files.\"/bin/x\"]\nkind = \"symlink\"\n",
        "[files.\"/bin/y\"]\nmode = \"0644\"\n",
        "[files.\"/bin/l\"]\nkind = \"symlink\"\n",
        "[files.\"bin/x\"]\nmode = \"0644\"\n",
        "[files.\"/bin/x\"]\nmodee = \"0644\"\n",
        "[build]\ndata-compression = \"rar\"\n",
        "[[extra-member]]\nname = \"_x\"\n",
        "[[extra-member]]\nname = \"_x\"\ntext = \"a\"\nhex = \"00\"\n",
        "[[extra-member]]\nname = \"_x\"\nhex = \"0\"\n",
        "[[extra-member]]\nname = \"_x\"\nbytes = \"a\"\n",
        "[files.\"/bin/x\"]\nxattrs = { \"user.a\" = { hex = \"00\", hx = \"1\" } }\n",
        "[files.\"/bin/x\"]\ncaps = \"cap_chown+ep\"\nxattrs = { \"security.capability\" = \"x\" }\n",
        // `content` is for a declared file that root/ does not hold, and only for a file.
        "[files.\"/bin/x\"]\ncontent = \"y\"\n",
        "[files.\"/bin/d\"]\nkind = \"dir\"\ncontent = \"y\"\n",
        "[files.\"/bin/z\"]\nkind = \"file\"\n",
        "[files.\"/bin/z\"]\nkind = \"file\"\ncontent = { hex = \"0\" }\n",
    ];
    for meta in bad {
        let t = tree(meta);
        assert!(load_tree(t.path()).is_err(), "accepted:\n{meta}");
    }
    let t = tree("");
    std::fs::write(t.path().join("DEBIAN/postisnt"), "").unwrap();
    assert!(matches!(load_tree(t.path()), Err(WriterError::Tree { .. })));
    let t = tree("[files.\"/bin/x\"]\ncaps = \"cap_bogus+ep\"\n");
    assert!(matches!(load_tree(t.path()), Err(WriterError::Caps { .. })));
}

/// A throwaway `testdata/` with one release holding one tree.
fn fake_testdata() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("releases/rel/src/pkg");
    std::fs::create_dir_all(src.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(src.join("root/usr/bin")).unwrap();
    std::fs::write(
        src.join("DEBIAN/control"),
        "Package: pkg\nVersion: 1:2.0-1\nArchitecture: all\nDescription: d\n",
    )
    .unwrap();
    std::fs::write(src.join("root/usr/bin/x"), "x").unwrap();
    t
}

#[test]
fn write_releases_builds_removes_stale_and_is_idempotent() {
    let t = fake_testdata();
    let rel = t.path().join("releases/rel");
    std::fs::write(rel.join("pkg_0.9-1_all.deb"), "stale").unwrap();
    std::fs::write(rel.join("notes.txt"), "kept").unwrap();

    let written = debgate_writer::write_releases(t.path()).unwrap();
    assert_eq!(written, [rel.join("pkg_2.0-1_all.deb")]);
    assert!(!rel.join("pkg_0.9-1_all.deb").exists(), "stale .deb kept");
    assert!(rel.join("notes.txt").exists(), "non-.deb file removed");
    let built = debgate_writer::build_release(&rel).unwrap();
    assert_eq!(built.len(), 1);
    assert_eq!(std::fs::read(&written[0]).unwrap(), built[0].1);

    // A second run leaves the file alone (same bytes, not rewritten).
    let before = std::fs::metadata(&written[0]).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    debgate_writer::write_releases(t.path()).unwrap();
    let after = std::fs::metadata(&written[0]).unwrap().modified().unwrap();
    assert_eq!(before, after);
}

#[test]
fn two_trees_building_the_same_file_are_an_error() {
    let t = fake_testdata();
    let src = t.path().join("releases/rel/src");
    let copy = src.join("pkg-copy");
    std::fs::create_dir_all(copy.join("DEBIAN")).unwrap();
    std::fs::copy(src.join("pkg/DEBIAN/control"), copy.join("DEBIAN/control")).unwrap();
    let err = debgate_writer::build_release(&t.path().join("releases/rel")).unwrap_err();
    assert!(err.to_string().contains("pkg_2.0-1_all.deb"), "{err}");
}

#[test]
fn a_declared_file_with_content_can_sit_under_a_declared_symlink() {
    let t = tree(
        "[files.\"/etc/x\"]\nkind = \"symlink\"\ntarget = \"/etc/cron.d\"\n\n\
         [files.\"/etc/x/job\"]\nkind = \"file\"\nmode = \"0600\"\ncontent = { hex = \"6869\" }\n",
    );
    let spec = load_tree(t.path()).unwrap();
    let files = debgate_writer::normalize_files(&spec.files);
    let paths: Vec<(&str, EntryKind)> = files.iter().map(|f| (f.path.as_str(), f.kind)).collect();
    let link = paths
        .iter()
        .position(|p| *p == ("/etc/x", EntryKind::Symlink));
    let job = paths
        .iter()
        .position(|p| *p == ("/etc/x/job", EntryKind::File));
    assert!(
        link.is_some() && link < job,
        "the link comes first: {paths:?}"
    );
    let job = &files[job.unwrap()];
    assert_eq!((job.mode, job.content.as_slice()), (0o600, &b"hi"[..]));
}

#[test]
fn dh_md5sums_lists_regular_files_but_not_conffiles() {
    // Every regular file (a hard link by its target's bytes), sorted by path, without the
    // leading `/`; the conffile /etc/sample.conf is left out. md5("bin") and md5("").
    assert_eq!(
        debgate_writer::dh_md5sums(&sample()),
        "c1111bd512b29e821b120b86446026b8  usr/bin/pinger\n\
         c1111bd512b29e821b120b86446026b8  usr/bin/pinger-hl\n\
         d41d8cd98f00b204e9800998ecf8427e  var/log/app.log\n"
    );
}
