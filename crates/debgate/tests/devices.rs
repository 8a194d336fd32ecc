//! Device nodes and FIFOs as facts: their type, major and minor numbers, mode and owner show
//! in `inspect` (text and JSON) and in the `forbidden` kind's message for a device.

mod common;

use common::{debgate, json, results_of, stdout};
use debgate_writer::{ar_bytes, control_tar_bytes, PackageSpec};
use std::path::PathBuf;
use tar::{EntryType, Header};

/// A package shipping a character device 1,3, a block device 8,17 and a FIFO.
fn package() -> (tempfile::TempDir, PathBuf) {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: EntryType, mode: u32, dev: Option<(u32, u32)>| {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(0);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(6);
        h.set_username("root").unwrap();
        h.set_groupname("disk").unwrap();
        h.set_mtime(0);
        if let Some((major, minor)) = dev {
            h.set_device_major(major).unwrap();
            h.set_device_minor(minor).unwrap();
        }
        b.append_data(&mut h, path, &[][..]).unwrap();
    };
    add("./", EntryType::Directory, 0o755, None);
    add("./dev/", EntryType::Directory, 0o755, None);
    add("./dev/null2", EntryType::Char, 0o666, Some((1, 3)));
    add("./dev/sdb1", EntryType::Block, 0o660, Some((8, 17)));
    add("./dev/pipe", EntryType::Fifo, 0o600, None);
    let data = b.into_inner().unwrap();
    let spec = PackageSpec {
        control: "Package: nodes\nVersion: 1\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: t\n".into(),
        ..PackageSpec::default()
    };
    let control = control_tar_bytes(&spec).unwrap();
    let bytes = ar_bytes(&[
        ("debian-binary", b"2.0\n"),
        ("control.tar", &control),
        ("data.tar", &data),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let deb = tmp.path().join("nodes_1_all.deb");
    std::fs::write(&deb, bytes).unwrap();
    (tmp, deb)
}

#[test]
fn inspect_shows_device_numbers_and_fifos() {
    let (_tmp, deb) = package();
    let out = debgate(&["inspect", deb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for want in [
        "  /dev/null2 0666 root:disk  [as shipped]\n    char-device major 1, minor 3\n",
        "  /dev/sdb1 0660 root:disk  [as shipped]\n    block-device major 8, minor 17\n",
        "  /dev/pipe 0600 root:disk  [as shipped]\n",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }

    let out = debgate(&["inspect", "--format", "json", deb.to_str().unwrap()]);
    let v = json(&out);
    let file = |path: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {v:#}"))
            .clone()
    };
    let null = file("/dev/null2");
    assert_eq!(null["type"], "char-device");
    assert_eq!(null["device"]["major"], 1);
    assert_eq!(null["device"]["minor"], 3);
    assert_eq!(
        (&null["mode"], &null["owner"], &null["group"]),
        (&"0666".into(), &"root".into(), &"disk".into())
    );
    assert_eq!(file("/dev/sdb1")["device"]["minor"], 17);
    let pipe = file("/dev/pipe");
    assert_eq!(pipe["type"], "fifo");
    assert!(pipe.get("device").is_none(), "{pipe}");
}

#[test]
fn the_forbidden_message_names_a_devices_numbers() {
    let (_tmp, deb) = package();
    let out = debgate(&[
        "check",
        "--no-waivers",
        "--policy",
        "debian-policy",
        "--format",
        "json",
        deb.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let messages: Vec<&str> = results_of(&v, "policy-no-device-files")
        .iter()
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .contains(&"/dev/null2 is a char-device 1,3 (0666 root:disk), which the rule forbids"),
        "{messages:?}"
    );
    assert!(
        messages
            .contains(&"/dev/sdb1 is a block-device 8,17 (0660 root:disk), which the rule forbids"),
        "{messages:?}"
    );
    assert!(
        messages.contains(&"/dev/pipe is a fifo (0600 root:disk), which the rule forbids"),
        "{messages:?}"
    );
}
