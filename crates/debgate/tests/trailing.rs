//! A package with bytes after its last ar member, which dpkg never reads: debgate reads it (it
//! was refused before) and the built-in `trailing-bytes` check warns, naming the file and the
//! count, in every format; the exit status follows `--fail-on` as for any warning.

mod common;

use common::{debgate, json, results_of, root, stdout};
use std::path::PathBuf;

/// `groovy-like` (which passes every rule) with 8 bytes appended to its first `.deb` by name;
/// the set, that file and its package's name.
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let release = root().join("testdata/releases/groovy-like");
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("set");
    std::fs::create_dir(&set).unwrap();
    let mut debs = Vec::new();
    for entry in std::fs::read_dir(&release).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "deb") {
            let copy = set.join(path.file_name().unwrap());
            std::fs::copy(&path, &copy).unwrap();
            debs.push(copy);
        }
    }
    debs.sort();
    let deb = debs[0].clone();
    let name = deb.file_name().unwrap().to_str().unwrap();
    let package = name.split('_').next().unwrap().to_string();
    let mut bytes = std::fs::read(&deb).unwrap();
    bytes.extend_from_slice(b"garbage\n");
    std::fs::write(&deb, bytes).unwrap();
    (tmp, set, deb, package)
}

#[test]
fn check_reads_the_package_and_warns() {
    let (_tmp, set, deb, package) = fixture();
    let out = debgate(&["check", "--no-waivers", set.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning passes by default: {text}"
    );
    assert!(
        text.contains(&format!(
            "W: {package}: trailing-bytes: {}: 8 byte(s) after the last ar member, which dpkg never reads",
            deb.display()
        )),
        "{text}"
    );
    assert!(text.contains("4 package(s), 0 unreadable"), "{text}");

    let out = debgate(&[
        "check",
        "--no-waivers",
        "--fail-on",
        "warning",
        set.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    let v = json(&debgate(&[
        "check",
        "--no-waivers",
        "--format",
        "json",
        set.to_str().unwrap(),
    ]));
    let mine = results_of(&v, "trailing-bytes");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["status"], "fail");
    assert_eq!(mine[0]["severity"], "warning");
    assert_eq!(mine[0]["package"], package.as_str());
    assert_eq!(mine[0]["file"], deb.display().to_string());
    assert!(mine[0]["message"].as_str().unwrap().contains("8 byte(s)"));

    for (format, needle) in [
        ("sarif", "\"ruleId\": \"trailing-bytes\""),
        ("junit", "trailing-bytes"),
    ] {
        let out = debgate(&[
            "check",
            "--no-waivers",
            "--format",
            format,
            set.to_str().unwrap(),
        ]);
        let text = stdout(&out);
        assert!(text.contains(needle), "{format}: {text}");
        assert!(text.contains("8 byte(s)"), "{format}: {text}");
    }
}

#[test]
fn a_clean_set_passes_and_the_check_is_listed_and_explained() {
    let release = root().join("testdata/releases/groovy-like");
    let v = json(&debgate(&[
        "check",
        "--format",
        "json",
        release.to_str().unwrap(),
    ]));
    let mine = results_of(&v, "trailing-bytes");
    assert_eq!(mine.len(), 1, "one pass for the set: {mine:?}");
    assert_eq!(mine[0]["status"], "pass");

    let rules = stdout(&debgate(&["rules"]));
    let line = rules
        .lines()
        .find(|l| l.starts_with("trailing-bytes "))
        .unwrap_or_else(|| panic!("{rules}"));
    assert!(
        line.contains("warning") && line.contains("built-in"),
        "{line}"
    );
    let explain = debgate(&["explain", "trailing-bytes"]);
    assert!(explain.status.success());
    let text = stdout(&explain);
    assert!(text.contains("dpkg stops reading"), "{text}");
    assert!(text.contains("max-trailing-bytes"), "{text}");

    let limits = stdout(&debgate(&["limits"]));
    assert!(limits.contains("max-trailing-bytes"), "{limits}");
}
