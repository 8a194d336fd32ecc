//! dpkg itself as the oracle of `dpkg-cannot-unpack`: packages whose data.tar holds each kind of
//! header are unpacked for real with `dpkg --root=SCRATCH --unpack`, and debgate must report the
//! finding exactly when dpkg refuses the package. Needs dpkg and root (CI has both); without
//! them the test says SKIP loudly. Never `dpkg-deb --fsys-tarfile | tar`, which accepts what
//! dpkg's install path refuses.

use debgate_check::builtin::package_findings;
use debgate_check::{analyze_package, DPKG_CANNOT_UNPACK};
use debgate_policy::Status;
use debgate_writer::{ar_bytes, control_tar_bytes, pax_record, PackageSpec};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use tar::{EntryType, Header};

fn header(kind: EntryType, size: u64, mode: u32) -> Header {
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

/// A data.tar: the root and `/opt`, then what `add` appends.
fn data_tar(add: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for dir in ["./", "./opt/"] {
        let mut h = header(EntryType::Directory, 0, 0o755);
        b.append_data(&mut h, dir, &[][..]).unwrap();
    }
    add(&mut b);
    b.into_inner().unwrap()
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = header(EntryType::Regular, data.len() as u64, 0o644);
    b.append_data(&mut h, path, data).unwrap();
}

/// An entry of type `flag` carrying `data`.
fn typed(b: &mut tar::Builder<Vec<u8>>, path: &str, flag: u8, data: &[u8]) {
    let mut h = header(EntryType::new(flag), data.len() as u64, 0o644);
    h.set_path(path).unwrap();
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn octal12(n: u64) -> [u8; 12] {
    let mut f = [0u8; 12];
    f[..11].copy_from_slice(format!("{n:011o}").as_bytes());
    f
}

struct Case {
    name: &'static str,
    data: Vec<u8>,
    /// What dpkg says when it refuses, or `None` when it must unpack the package.
    dpkg_says: Option<&'static str>,
    /// What debgate's finding says: dpkg's own words, except where dpkg stops earlier for
    /// another reason (a nameless header).
    debgate_says: Option<&'static str>,
    /// A PAX header in control.tar instead (dpkg-deb extracts control.tar with GNU tar).
    pax_control: bool,
}

fn cases() -> Vec<Case> {
    let cap = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0];
    let case = |name, data, dpkg_says| Case {
        name,
        data,
        dpkg_says,
        debgate_says: dpkg_says,
        pax_control: false,
    };
    vec![
        case("plain", data_tar(|b| file(b, "./opt/f", b"x\n")), None),
        case(
            "gnu-long-name",
            data_tar(|b| file(b, &format!("./opt/{}", "l".repeat(150)), b"x\n")),
            None,
        ),
        Case {
            pax_control: true,
            ..case(
                "pax-in-control",
                data_tar(|b| file(b, "./opt/f", b"x\n")),
                None,
            )
        },
        case(
            "pax-x",
            data_tar(|b| {
                // Named as GNU tar and debgate-writer name it.
                let body = pax_record("SCHILY.xattr.security.capability", &cap);
                typed(b, "./opt/PaxHeaders/f", b'x', &body);
                file(b, "./opt/f", b"x\n");
            }),
            Some("unsupported PAX tar header type 'x'"),
        ),
        Case {
            // The tar crate writes PAX headers with no name; dpkg stops at the name first.
            debgate_says: Some("unsupported PAX tar header type 'x'"),
            ..case(
                "pax-x-nameless",
                data_tar(|b| {
                    b.append_pax_extensions([("SCHILY.xattr.security.capability", &cap[..])])
                        .unwrap();
                    file(b, "./opt/f", b"x\n");
                }),
                Some("invalid tar header with empty name field"),
            )
        },
        case(
            "pax-g",
            data_tar(|b| {
                let body = pax_record("comment", b"hand-made");
                typed(b, "pax_global_header", b'g', &body);
                file(b, "./opt/f", b"x\n");
            }),
            Some("unsupported PAX tar header type 'g'"),
        ),
        case(
            "gnu-sparse",
            data_tar(|b| {
                let mut h = header(EntryType::GNUSparse, 512, 0o644);
                h.set_path("./opt/sparse").unwrap();
                let gnu = h.as_gnu_mut().unwrap();
                gnu.realsize = octal12(8192);
                gnu.sparse[0].offset = octal12(4096);
                gnu.sparse[0].numbytes = octal12(512);
                gnu.sparse[1].offset = octal12(8192);
                gnu.sparse[1].numbytes = octal12(0);
                h.set_cksum();
                b.append(&h, &[7u8; 512][..]).unwrap();
            }),
            Some("unsupported GNU tar header type 'S'"),
        ),
        case(
            "gnu-dumpdir",
            data_tar(|b| typed(b, "./opt/d/", b'D', b"Nf\0\0")),
            Some("unsupported GNU tar header type 'D'"),
        ),
        case(
            "gnu-volume",
            data_tar(|b| {
                typed(b, "label", b'V', b"");
                file(b, "./opt/f", b"x\n");
            }),
            Some("unsupported GNU tar header type 'V'"),
        ),
        case(
            "contiguous",
            data_tar(|b| typed(b, "./opt/c", b'7', b"x\n")),
            Some("unknown tar header type '7'"),
        ),
        case(
            "unknown",
            data_tar(|b| typed(b, "./opt/z", b'Z', b"x\n")),
            Some("unknown tar header type 'Z'"),
        ),
    ]
}

fn deb(name: &str, c: &Case) -> Vec<u8> {
    let spec = PackageSpec {
        control: format!(
            "Package: {name}\nVersion: 1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: t\n"
        ),
        ..PackageSpec::default()
    };
    let control = if c.pax_control {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("SCHILY.xattr.user.x", &b"1"[..])])
            .unwrap();
        let mut h = header(EntryType::Regular, spec.control.len() as u64, 0o644);
        b.append_data(&mut h, "./control", spec.control.as_bytes())
            .unwrap();
        b.into_inner().unwrap()
    } else {
        control_tar_bytes(&spec).unwrap()
    };
    ar_bytes(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &c.data),
    ])
}

/// debgate's `dpkg-cannot-unpack` failure for the package at `path`, if any.
fn debgate_finding(path: &Path) -> Option<String> {
    let p = debgate_reader::read_package(path, &Default::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = analyze_package(p, &Default::default());
    let findings = package_findings([&a]);
    let mine: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == DPKG_CANNOT_UNPACK)
        .collect();
    assert_eq!(mine.len(), 1, "one result per set or package: {mine:?}");
    (mine[0].status == Status::Fail).then(|| mine[0].message.clone())
}

/// `dpkg --unpack` into a scratch root: Ok when it unpacked, Err(its output) when it refused.
fn dpkg_unpack(deb: &Path, scratch: &Path) -> Result<(), String> {
    let admin = scratch.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();
    let out = Command::new("dpkg")
        .arg(format!("--root={}", scratch.display()))
        .args([
            "--force-not-root",
            "--force-script-chrootless",
            "--log=/dev/null",
            "--unpack",
        ])
        .arg(deb)
        .output()
        .expect("running dpkg");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(text)
    }
}

fn dpkg_usable() -> Result<(), String> {
    match Command::new("dpkg").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => return Err(format!("`dpkg --version` failed: {}", o.status)),
        Err(e) => return Err(format!("dpkg is not installed: {e}")),
    }
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid());
    if uid.as_ref().ok() != Some(&0) {
        return Err(format!(
            "not root (uid {uid:?}): dpkg cannot chown what it unpacks"
        ));
    }
    Ok(())
}

#[test]
fn debgate_reports_dpkg_cannot_unpack_exactly_when_dpkg_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    // debgate's side runs everywhere: the expectations are dpkg's, recorded in the cases.
    let mut debs = Vec::new();
    for c in &cases {
        let name = format!("t-{}", c.name);
        let path = dir.path().join(format!("{name}_1_all.deb"));
        std::fs::write(&path, deb(&name, c)).unwrap();
        let finding = debgate_finding(&path);
        match (c.debgate_says, &finding) {
            (None, None) => {}
            (Some(says), Some(message)) => assert!(
                message.contains(says),
                "{}: {message:?} lacks {says:?}",
                c.name
            ),
            _ => panic!(
                "{}: expected {:?}, debgate gave {finding:?}",
                c.name, c.debgate_says
            ),
        }
        debs.push(path);
    }
    if let Err(why) = dpkg_usable() {
        eprintln!("\n*** SKIP: the dpkg unpack oracle cannot run here: {why} ***\n");
        return;
    }
    for (c, path) in cases.iter().zip(&debs) {
        let scratch = tempfile::tempdir().unwrap();
        let real = dpkg_unpack(path, scratch.path());
        match (c.dpkg_says, &real) {
            (None, Ok(())) => {
                // The control cases unpack: the harness itself works.
                assert!(scratch.path().join("opt").is_dir(), "{}", c.name);
            }
            (Some(says), Err(out)) => {
                assert!(
                    out.contains(says),
                    "{}: dpkg said {out:?}, not {says:?}",
                    c.name
                );
                // dpkg installs nothing of a package it refuses.
                assert!(!scratch.path().join("opt").exists(), "{}", c.name);
            }
            _ => panic!(
                "{}: expected dpkg to say {:?}, it gave {real:?}",
                c.name, c.dpkg_says
            ),
        }
    }
}

/// The types debgate does not read (they describe another member in ways unpackers disagree
/// on): the package is unreadable to debgate, and dpkg refuses it too.
#[test]
fn what_debgate_cannot_read_dpkg_refuses_too() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("solaris-x", b'X', "unsupported Solaris tar header type 'X'"),
        ("solaris-a", b'A', "unsupported Solaris tar header type 'A'"),
        ("gnu-m", b'M', "unsupported GNU tar header type 'M'"),
        ("gnu-n", b'N', "unknown tar header type 'N'"),
    ];
    let mut debs = Vec::new();
    for (name, flag, _) in cases {
        let c = Case {
            name,
            data: data_tar(|b| {
                typed(b, "./opt/f", flag, b"x\n");
                file(b, "./opt/g", b"x\n");
            }),
            dpkg_says: None,
            debgate_says: None,
            pax_control: false,
        };
        let path = dir.path().join(format!("t-{name}_1_all.deb"));
        std::fs::write(&path, deb(&format!("t-{name}"), &c)).unwrap();
        let e = debgate_reader::read_package(&path, &Default::default())
            .expect_err("debgate refuses to read it");
        assert!(
            matches!(e, debgate_reader::ReadError::UnsupportedEntry { .. }),
            "{name}: {e}"
        );
        debs.push(path);
    }
    if let Err(why) = dpkg_usable() {
        eprintln!("\n*** SKIP: the dpkg unpack oracle cannot run here: {why} ***\n");
        return;
    }
    for ((name, _, says), path) in cases.iter().zip(&debs) {
        let scratch = tempfile::tempdir().unwrap();
        match dpkg_unpack(path, scratch.path()) {
            Err(out) => assert!(out.contains(says), "{name}: dpkg said {out:?}"),
            Ok(()) => panic!("{name}: dpkg unpacked it"),
        }
    }
}
