//! Cross-check the writer against the real `dpkg-deb` (and GNU tar for xattrs) when they are
//! installed: every committed fixture must be readable, and for every fixture tree, what
//! `dpkg-deb` lists must be exactly what the tree declares: names, kinds, modes, owners, link
//! targets, conffiles and scripts, and (through `tar --xattrs`) each xattr's name and size.
//!
//! When a tool is missing the test prints why it skipped instead of failing, so the suite
//! still runs on hosts without dpkg; CI installs it.

mod common;

use debgate_writer::{
    deb_bytes, load_package, normalize_files, release_dirs, Compression, EntryKind, FileSpec,
    PackageSpec,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn have(tool: &str, version_arg: &str) -> bool {
    match Command::new(tool).arg(version_arg).output() {
        Ok(o) if o.status.success() => true,
        _ => {
            println!("skipping: {tool} is not installed");
            false
        }
    }
}

fn have_dpkg_deb() -> bool {
    have("dpkg-deb", "--version")
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .expect("run dpkg-deb");
    assert!(
        out.status.success(),
        "dpkg-deb {args:?} {} failed: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One control.tar member as `dpkg-deb --info DEB NAME` prints it.
fn control_member(deb: &Path, name: &str) -> String {
    let out = Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .arg(name)
        .output()
        .expect("run dpkg-deb --info");
    assert!(
        out.status.success(),
        "dpkg-deb --info {} {name}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One line of `dpkg-deb --contents` (GNU `tar -tv` format).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    mode: String,
    owner: String,
    name: String,
    /// `-> target` for symlinks, `link to target` for hard links.
    link: Option<String>,
}

/// `drwxr-xr-x root/root 0 1970-01-01 00:00 ./usr/` and friends. Fixture names hold no
/// spaces, so splitting on whitespace is exact.
fn listing(text: &str) -> Vec<Listed> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let link = match f.get(6..) {
                Some(["->", t]) => Some(t.to_string()),
                Some(["link", "to", t]) => Some(t.to_string()),
                _ => None,
            };
            Listed {
                mode: f[0].to_string(),
                owner: f[1].to_string(),
                name: f[5].to_string(),
                link,
            }
        })
        .collect()
}

/// `ls -l` style mode string, as tar prints it.
fn mode_string(kind: EntryKind, mode: u32) -> String {
    let mut s = String::new();
    s.push(match kind {
        EntryKind::File => '-',
        EntryKind::Dir => 'd',
        EntryKind::Symlink => 'l',
        EntryKind::HardLink => 'h',
        EntryKind::Fifo => 'p',
        EntryKind::CharDevice => 'c',
        EntryKind::BlockDevice => 'b',
    });
    // (read bit, write bit, exec bit, special bit, special letter) for user, group, other.
    let triples = [
        (0o400, 0o200, 0o100, 0o4000, 's'),
        (0o040, 0o020, 0o010, 0o2000, 's'),
        (0o004, 0o002, 0o001, 0o1000, 't'),
    ];
    for (r, w, x, special, letter) in triples {
        s.push(if mode & r != 0 { 'r' } else { '-' });
        s.push(if mode & w != 0 { 'w' } else { '-' });
        s.push(match (mode & x != 0, mode & special != 0) {
            (true, true) => letter,
            (false, true) => letter.to_ascii_uppercase(),
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// What `dpkg-deb --contents` must print for one data.tar entry. tar prints the numeric id
/// when the header has no name.
fn expected_listing(f: &FileSpec) -> Listed {
    let who = |name: &str, id: u64| {
        if name.is_empty() {
            id.to_string()
        } else {
            name.to_string()
        }
    };
    let name = if f.path == "/" {
        "./".to_string()
    } else if f.kind == EntryKind::Dir {
        format!(".{}/", f.path)
    } else {
        format!(".{}", f.path)
    };
    let link = f.link_target.as_ref().map(|t| match f.kind {
        EntryKind::HardLink => format!(".{t}"),
        _ => t.clone(),
    });
    // A name that is not UTF-8 is listed by tar with each such byte in octal (`\377`), the
    // way tar quotes what it cannot print.
    let shown = |text: String| {
        if !f.escaped {
            return text;
        }
        let mut out = String::new();
        for b in debgate_writer::name_bytes(&text) {
            match b {
                b'\\' => out.push_str("\\\\"),
                0x20..=0x7e => out.push(char::from(b)),
                _ => out.push_str(&format!("\\{b:03o}")),
            }
        }
        out
    };
    let (name, link) = (shown(name), link.map(shown));
    Listed {
        mode: mode_string(f.kind, f.mode),
        owner: format!("{}/{}", who(&f.owner, f.uid), who(&f.group, f.gid)),
        name,
        link,
    }
}

/// Every fixture tree: `releases/*/src/*` and `packages/*`.
fn all_trees() -> Vec<PathBuf> {
    let testdata = common::testdata();
    let mut trees = Vec::new();
    let mut push_children = |dir: &Path| {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        trees.extend(found);
    };
    for release in release_dirs(&testdata).unwrap() {
        push_children(&release.join("src"));
    }
    push_children(&testdata.join("packages"));
    trees
}

/// Per entry of `tar -tvv --xattrs`, the `(xattr name, value length)` pairs tar reports on
/// the `  x: LEN NAME` lines after it.
fn tar_xattrs(deb: &Path) -> Vec<(String, Vec<(String, usize)>)> {
    let tarball = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .output()
        .expect("run dpkg-deb --fsys-tarfile");
    assert!(tarball.status.success(), "--fsys-tarfile {}", deb.display());
    let mut child = Command::new("tar")
        .args(["-tvv", "--xattrs", "--xattrs-include=*", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tar");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&tarball.stdout)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tar -tvv --xattrs on {}: {}",
        deb.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut entries: Vec<(String, Vec<(String, usize)>)> = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if let Some(rest) = line.trim_start().strip_prefix("x: ") {
            let (len, name) = rest.split_once(' ').expect("`x: LEN NAME`");
            let entry = entries.last_mut().expect("xattr line before any entry");
            entry.1.push((name.to_string(), len.parse().unwrap()));
        } else {
            let name = line.split_whitespace().nth(5).unwrap().to_string();
            entries.push((name, Vec::new()));
        }
    }
    entries
}

/// Check one built `.deb` against the spec it was built from.
fn check_against_spec(deb: &Path, spec: &PackageSpec, with_tar: bool) {
    let info = dpkg_deb(&["--info"], deb);
    assert!(info.contains("new Debian package, version 2.0."), "{info}");
    let field = dpkg_deb(&["--field"], deb);
    assert_eq!(
        field.trim_end(),
        spec.control.trim_end(),
        "{}: control",
        deb.display()
    );
    if !spec.conffiles.is_empty() {
        let got = control_member(deb, "conffiles");
        let got: Vec<&str> = got.lines().collect();
        assert_eq!(got, spec.conffiles, "{}: conffiles", deb.display());
    }
    for (script, text) in &spec.scripts {
        assert_eq!(
            control_member(deb, script.as_str()),
            *text,
            "{}: {}",
            deb.display(),
            script.as_str()
        );
    }

    let files = normalize_files(&spec.files);
    let want: Vec<Listed> = files.iter().map(expected_listing).collect();
    let got = listing(&dpkg_deb(&["--contents"], deb));
    assert_eq!(got, want, "{}: dpkg-deb --contents", deb.display());

    if with_tar {
        let want: Vec<(String, Vec<(String, usize)>)> = files
            .iter()
            .zip(&got)
            .map(|(f, l)| {
                let mut x: Vec<(String, usize)> =
                    f.xattrs.iter().map(|(n, v)| (n.clone(), v.len())).collect();
                x.sort();
                (l.name.clone(), x)
            })
            .collect();
        let mut seen = tar_xattrs(deb);
        for (_, x) in &mut seen {
            x.sort();
        }
        assert_eq!(seen, want, "{}: tar --xattrs", deb.display());
    }
}

#[test]
fn dpkg_deb_reads_every_committed_fixture() {
    if !have_dpkg_deb() {
        return;
    }
    let mut seen = 0;
    for dir in release_dirs(&common::testdata()).unwrap() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "deb") {
                continue;
            }
            seen += 1;
            let info = dpkg_deb(&["--info"], &path);
            assert!(info.contains("new Debian package, version 2.0."), "{info}");
            let contents = listing(&dpkg_deb(&["--contents"], &path));
            assert_eq!(
                contents[0].name,
                "./",
                "{}: root entry first",
                path.display()
            );
            assert!(contents.iter().all(|l| l.name.starts_with("./")));
        }
    }
    assert!(seen > 0, "no committed .deb files found");
}

#[test]
fn dpkg_deb_agrees_with_every_fixture_tree() {
    if !have_dpkg_deb() {
        return;
    }
    // The `x: LEN NAME` xattr lines are GNU tar's; bsdtar lists differently.
    let with_tar = Command::new("tar")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"tar (GNU tar)"));
    if !with_tar {
        println!("skipping the xattr check: GNU tar is not installed");
    }
    let tmp = tempfile::tempdir().unwrap();
    let trees = all_trees();
    assert!(!trees.is_empty(), "no fixture trees found");
    for (i, tree) in trees.iter().enumerate() {
        let (spec, build) =
            load_package(tree).unwrap_or_else(|e| panic!("{}: {e}", tree.display()));
        let path = tmp.path().join(format!("t{i}.deb"));
        std::fs::write(&path, deb_bytes(&spec, build.control, build.data).unwrap()).unwrap();
        check_against_spec(&path, &spec, with_tar);
    }
}

#[test]
fn dpkg_deb_shows_modes_owners_and_all_compressions() {
    if !have_dpkg_deb() {
        return;
    }
    let tree = common::testdata().join("packages/meta-features");
    let (spec, _) = load_package(&tree).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for c in Compression::ALL {
        // dpkg reads every data compression, but control.tar only none/gz/xz/zst.
        let ctl = match c {
            Compression::Bzip2 | Compression::Lzma => Compression::Gzip,
            other => other,
        };
        let path = tmp.path().join(format!("p{}.deb", c.suffix()));
        std::fs::write(&path, deb_bytes(&spec, ctl, c).unwrap()).unwrap();
        let contents = listing(&dpkg_deb(&["--contents"], &path));
        let get = |name: &str| {
            contents
                .iter()
                .find(|l| l.name == name)
                .unwrap_or_else(|| panic!("{name} missing from {contents:?}"))
                .clone()
        };
        assert_eq!(get("./usr/bin/tool").mode, "-rwxr-sr-x");
        assert_eq!(get("./usr/bin/tool").owner, "root/staff");
        assert_eq!(get("./var/lib/meta-features/").mode, "drwx------");
        assert_eq!(get("./var/lib/meta-features/").owner, "daemon/daemon");
        assert_eq!(get("./run/meta-features.fifo").mode, "prw-------");
        assert_eq!(get("./usr/bin/tool-alias").mode, "lrwxrwxrwx");
        assert_eq!(get("./usr/bin/tool-alias").link.as_deref(), Some("tool"));
        assert_eq!(get("./usr/bin/tool-v3").mode, "hrwxr-sr-x");
        assert_eq!(
            get("./usr/bin/tool-v3").link.as_deref(),
            Some("./usr/bin/tool")
        );
        let info = dpkg_deb(&["--field"], &path);
        assert!(info.contains("Package: meta-features"), "{info}");
        // The whole listing, too, in every compression.
        check_against_spec(&path, &spec, false);
    }
}

#[test]
fn mode_strings_match_ls() {
    assert_eq!(mode_string(EntryKind::File, 0o4755), "-rwsr-xr-x");
    assert_eq!(mode_string(EntryKind::File, 0o2750), "-rwxr-s---");
    assert_eq!(mode_string(EntryKind::File, 0o2640), "-rw-r-S---");
    assert_eq!(mode_string(EntryKind::Dir, 0o1777), "drwxrwxrwt");
    assert_eq!(mode_string(EntryKind::Dir, 0o1776), "drwxrwxrwT");
}
