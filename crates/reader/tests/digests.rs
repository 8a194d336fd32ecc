//! Content digests for `diff`: `md5sums` kept as a map, and the bytes of privileged files,
//! conffiles and script targets hashed as they stream by; every regular file when there is no
//! `md5sums`; nothing at all unless asked.

mod common;

use common::*;
use debgate_facts::{hex, Compression, Hashed, Md5sums, Script};
use debgate_reader::{ReadOptions, ScriptTargets};

fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex(&md5::Md5::digest(bytes))
}

/// A package with `control.tar` members besides `control`.
fn deb_control(extra: &[(&str, &[u8])], data: &[u8]) -> Vec<u8> {
    let mut t = Tar::new().dir("./").file("./control", CONTROL.as_bytes());
    for (name, bytes) in extra {
        t = t.file(&format!("./{name}"), bytes);
    }
    let control = compress(Compression::Xz, &t.finish());
    let data = compress(Compression::Xz, data);
    ar(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", &control),
        ("data.tar.xz", &data),
    ])
}

fn data() -> Vec<u8> {
    Tar::new()
        .dir("./")
        .dir("./etc")
        .file("./etc/pinger.conf", b"interval = 1\n")
        .dir("./usr")
        .dir("./usr/bin")
        .file_mode("./usr/bin/pinger", b"\x7fELF setuid", 0o4755)
        .hardlink("./usr/bin/pinger-alias", "./usr/bin/pinger")
        .file("./usr/bin/helper", b"\x7fELF helper")
        .file("./usr/bin/plain", b"\x7fELF plain")
        .finish()
}

fn with_digests<'a>(targets: &'a (dyn Fn(&[Script]) -> ScriptTargets + Sync)) -> ReadOptions<'a> {
    ReadOptions {
        digests: Some(targets),
        ..ReadOptions::default()
    }
}

#[test]
fn md5sums_is_kept_and_privileged_files_conffiles_and_script_targets_are_hashed() {
    let md5sums = format!(
        "{}  usr/bin/pinger\n{}  usr/bin/helper\n{}  usr/bin/plain\n",
        md5_hex(b"\x7fELF setuid"),
        md5_hex(b"\x7fELF helper"),
        md5_hex(b"a lie")
    );
    let bytes = deb_control(
        &[
            ("md5sums", md5sums.as_bytes()),
            ("conffiles", b"/etc/pinger.conf\n"),
        ],
        &data(),
    );
    let seen = std::sync::Mutex::new(0);
    let targets = |scripts: &[Script]| {
        *seen.lock().unwrap() += 1;
        assert!(scripts.is_empty());
        ScriptTargets {
            paths: vec![("/bin/helper".into(), false)],
            unknown: false,
        }
    };
    let pkg = read_with(&bytes, &with_digests(&targets)).unwrap();
    assert_eq!(*seen.lock().unwrap(), 1, "told the scripts once");
    assert_eq!(pkg.hashed, Some(Hashed::Privileged));
    let Md5sums::Listed(map) = &pkg.md5sums else {
        panic!("{:?}", pkg.md5sums)
    };
    assert_eq!(map.len(), 3);
    let hashed: Vec<&str> = pkg.digests.keys().map(String::as_str).collect();
    // The setuid file, its hard link, the conffile, and the script target (a usrmerge alias);
    // not the plain file, whose md5sums claim is all there is of it.
    assert_eq!(
        hashed,
        [
            "/etc/pinger.conf",
            "/usr/bin/helper",
            "/usr/bin/pinger",
            "/usr/bin/pinger-alias"
        ]
    );
    let pinger = &pkg.digests["/usr/bin/pinger"];
    assert_eq!(pinger.md5_hex(), md5_hex(b"\x7fELF setuid"));
    assert_eq!(pkg.md5sums.get("/usr/bin/pinger"), Some(&pinger.md5));
    assert_eq!(pkg.digests["/usr/bin/pinger-alias"], *pinger);
    use sha2::Digest;
    assert_eq!(
        pinger.sha256_hex(),
        hex(&sha2::Sha256::digest(b"\x7fELF setuid"))
    );
}

#[test]
fn without_md5sums_every_file_is_hashed_and_an_unknown_target_does_the_same() {
    let none = |_: &[Script]| ScriptTargets::default();
    let pkg = read_with(&deb_control(&[], &data()), &with_digests(&none)).unwrap();
    assert_eq!(pkg.md5sums, Md5sums::Absent);
    assert_eq!(pkg.hashed, Some(Hashed::AllNoMd5sums));
    assert_eq!(pkg.digests.len(), 5, "{:?}", pkg.digests.keys());

    let listed = format!("{}  usr/bin/plain\n", md5_hex(b"\x7fELF plain"));
    let unknown = |_: &[Script]| ScriptTargets {
        paths: Vec::new(),
        unknown: true,
    };
    let pkg = read_with(
        &deb_control(&[("md5sums", listed.as_bytes())], &data()),
        &with_digests(&unknown),
    )
    .unwrap();
    assert_eq!(pkg.hashed, Some(Hashed::AllUnknownTarget));
    assert_eq!(pkg.digests.len(), 5);
}

#[test]
fn a_bad_md5sums_is_unusable_and_the_package_still_reads() {
    let none = |_: &[Script]| ScriptTargets::default();
    let mut opts = with_digests(&none);
    opts.limits.max_md5sums_bytes = 16;
    let listed = format!("{}  usr/bin/plain\n", md5_hex(b"x"));
    let pkg = read_with(
        &deb_control(&[("md5sums", listed.as_bytes())], &data()),
        &opts,
    )
    .unwrap();
    assert!(
        matches!(&pkg.md5sums, Md5sums::Unusable(w) if w.contains("max-md5sums-bytes")),
        "{:?}",
        pkg.md5sums
    );
    // Past the cap nothing more is hashed than with a good one: the privileged file only.
    assert_eq!(pkg.hashed, Some(Hashed::Privileged));
    assert_eq!(pkg.digests.len(), 2);
    let pkg = read_with(
        &deb_control(&[("md5sums", b"not a digest\n")], &data()),
        &with_digests(&none),
    )
    .unwrap();
    assert!(matches!(&pkg.md5sums, Md5sums::Unusable(w) if w.contains("line 1")));
}

#[test]
fn nothing_is_kept_or_hashed_unless_asked() {
    let listed = format!("{}  usr/bin/plain\n", md5_hex(b"x"));
    let pkg = read(&deb_control(&[("md5sums", listed.as_bytes())], &data())).unwrap();
    assert_eq!(pkg.md5sums, Md5sums::NotRead);
    assert!(pkg.digests.is_empty());
    assert_eq!(pkg.hashed, None);
}
