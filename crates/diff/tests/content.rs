//! What changed inside a pair: content by md5sums and by the bytes hashed as they stream by
//! (privileged files, conffiles, script targets, every file without md5sums), and the
//! changelog entries between the versions with their references (binNMU, NEWS.Debian,
//! `--link-doc`, a trimmed changelog).

use debgate_diff::{diff_paths, ContentChange, DiffReport, PairDiff, RefKind};
use debgate_facts::{Compression, ScriptName};
use debgate_pipeline::Settings;
use debgate_policy::{load_paths, RuleSet};
use debgate_writer::{deb_bytes, dh_md5sums, FileSpec, PackageSpec};
use std::io::Write;
use std::path::{Path, PathBuf};

fn rules() -> RuleSet {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/diff/policy.toml");
    load_paths(&[policy]).unwrap_or_else(|e| panic!("{e}"))
}

fn gz(text: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn entry(pkg: &str, version: &str, dist: &str, body: &str) -> String {
    format!(
        "{pkg} ({version}) {dist}; urgency=medium\n\n{body}\n\n -- T <t@example.org>  Mon, 07 Sep 2020 12:00:00 +0000\n\n"
    )
}

/// A package; `md5sums` as dh_md5sums writes it unless `None` is wanted.
fn pkg(
    name: &str,
    version: &str,
    files: Vec<FileSpec>,
    conffiles: &[&str],
    md5sums: bool,
) -> PackageSpec {
    let mut s = PackageSpec {
        control: format!(
            "Package: {name}\nVersion: {version}\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: t\n"
        ),
        conffiles: conffiles.iter().map(|c| c.to_string()).collect(),
        files,
        ..PackageSpec::default()
    };
    if md5sums {
        s.md5sums = Some(dh_md5sums(&s));
    }
    s
}

fn write(dir: &Path, specs: &[PackageSpec]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (i, s) in specs.iter().enumerate() {
        let bytes = deb_bytes(s, Compression::Gzip, Compression::Gzip).unwrap();
        std::fs::write(dir.join(format!("p{i}.deb")), bytes).unwrap();
    }
    dir.to_path_buf()
}

fn diff(old: &[PackageSpec], new: &[PackageSpec]) -> DiffReport {
    let dir = tempfile::tempdir().unwrap();
    let (o, n) = (
        write(&dir.path().join("old"), old),
        write(&dir.path().join("new"), new),
    );
    diff_paths(&rules(), &o, &n, &Settings::default()).unwrap()
}

fn pair<'a>(r: &'a DiffReport, name: &str) -> &'a PairDiff {
    r.pairs.iter().find(|p| p.package == name).unwrap()
}

fn changed<'a>(p: &'a PairDiff, path: &str) -> Option<&'a ContentChange> {
    p.content_changes.changed.iter().find(|c| c.path == path)
}

fn suid(path: &str, bytes: &str) -> FileSpec {
    FileSpec::file(path, 0o4755, bytes)
}

#[test]
fn content_changes_by_md5sums_and_by_bytes_with_privileged_files_first() {
    let old = pkg(
        "tool",
        "1.0-1",
        vec![
            FileSpec::file("/usr/bin/a", 0o755, "a1"),
            FileSpec::file("/usr/bin/same", 0o755, "same"),
            suid("/usr/bin/su", "su1"),
            FileSpec::file("/etc/tool.conf", 0o644, "x = 1\n"),
        ],
        &["/etc/tool.conf"],
        true,
    );
    let new = pkg(
        "tool",
        "1.0-2",
        vec![
            FileSpec::file("/usr/bin/a", 0o755, "a2"),
            FileSpec::file("/usr/bin/same", 0o755, "same"),
            suid("/usr/bin/su", "su2"),
            FileSpec::file("/etc/tool.conf", 0o644, "x = 2\n"),
        ],
        &["/etc/tool.conf"],
        true,
    );
    let r = diff(&[old], &[new]);
    let p = pair(&r, "tool");
    let c = &p.content_changes;
    assert_eq!(c.compared, 4, "{c:?}");
    assert_eq!(c.unknown_count, 0, "{c:?}");
    let paths: Vec<&str> = c.changed.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(paths, ["/usr/bin/su", "/etc/tool.conf", "/usr/bin/a"]);
    let su = changed(p, "/usr/bin/su").unwrap();
    assert!(su.security && su.compared_by == "bytes", "{su:?}");
    assert!(su.old_digest.starts_with("sha256:"));
    assert_eq!(su.why, ["old: 4755 root:root", "new: 4755 root:root"]);
    let conf = changed(p, "/etc/tool.conf").unwrap();
    assert!(conf.conffile && !conf.security && conf.compared_by == "bytes");
    let a = changed(p, "/usr/bin/a").unwrap();
    assert_eq!(a.compared_by, "md5sums");
    assert!(a.old_digest.starts_with("md5:"));
    assert_eq!(r.summary.content_changed, 3);
    assert_eq!(r.summary.security_content, 1);
    assert_eq!(r.security_content.len(), 1);
    assert_eq!(r.security_content[0].change.path, "/usr/bin/su");
}

#[test]
fn a_lying_md5sums_does_not_hide_a_changed_setuid_binary() {
    let old = pkg("tool", "1", vec![suid("/usr/bin/su", "good")], &[], true);
    let mut new = pkg("tool", "2", vec![suid("/usr/bin/su", "evil")], &[], false);
    // The new package claims the old bytes.
    new.md5sums = old.md5sums.clone();
    let r = diff(&[old], &[new]);
    let p = pair(&r, "tool");
    let su = changed(p, "/usr/bin/su").expect("changed, by its bytes");
    assert!(su.security && su.compared_by == "bytes");
    assert_eq!(
        p.content_changes.md5sums_wrong.len(),
        1,
        "{:?}",
        p.content_changes
    );
    assert!(p.content_changes.md5sums_wrong[0].starts_with("new /usr/bin/su: md5sums claims"));
}

#[test]
fn a_script_grant_makes_its_target_hashed_and_security_relevant() {
    let old = pkg(
        "tool",
        "1",
        vec![FileSpec::file("/usr/bin/t", 0o755, "t1")],
        &[],
        true,
    );
    let mut new = pkg(
        "tool",
        "2",
        vec![FileSpec::file("/usr/bin/t", 0o755, "t2")],
        &[],
        true,
    );
    new.scripts = vec![(
        ScriptName::Postinst,
        "#!/bin/sh\nset -e\nchmod u+s /usr/bin/t\n".into(),
    )];
    let r = diff(&[old], &[new]);
    let t = changed(pair(&r, "tool"), "/usr/bin/t").unwrap();
    assert!(t.security, "{t:?}");
    // The new side hashed it as it streamed by; the old side, where it is not privileged, was
    // read again to hash it, so its md5sums claim is not all that is known.
    assert_eq!(t.compared_by, "bytes", "{t:?}");
    assert!(t.why.iter().any(|w| w.starts_with("new: 4755")), "{t:?}");
}

#[test]
fn without_md5sums_every_file_is_hashed_and_the_report_says_so() {
    let old = pkg(
        "tool",
        "1",
        vec![FileSpec::file("/usr/bin/a", 0o755, "1")],
        &[],
        false,
    );
    let new = pkg(
        "tool",
        "2",
        vec![FileSpec::file("/usr/bin/a", 0o755, "2")],
        &[],
        true,
    );
    let r = diff(&[old], &[new]);
    let p = pair(&r, "tool");
    assert_eq!(
        changed(p, "/usr/bin/a").unwrap().compared_by,
        "bytes-and-md5sums"
    );
    assert_eq!(
        p.content_changes.notes,
        ["old: no md5sums; every regular file was hashed instead"]
    );
}

#[test]
fn a_file_md5sums_leaves_out_is_unknown_not_unchanged() {
    let old = pkg(
        "tool",
        "1",
        vec![FileSpec::file("/usr/bin/a", 0o755, "1")],
        &[],
        true,
    );
    let mut new = pkg(
        "tool",
        "2",
        vec![FileSpec::file("/usr/bin/a", 0o755, "2")],
        &[],
        true,
    );
    new.md5sums = Some(String::new());
    let r = diff(&[old], &[new]);
    let c = &pair(&r, "tool").content_changes;
    assert!(c.changed.is_empty());
    assert_eq!(c.unknown_count, 1);
    assert_eq!(c.unknown[0].path, "/usr/bin/a");
    assert!(c.unknown[0].why.contains("does not list it"), "{c:?}");
    assert_eq!(r.summary.content_unknown, 1);
}

const DOC: &str = "/usr/share/doc";

#[test]
fn the_changelog_between_the_versions_with_news_binnmu_and_references() {
    let text = [
        entry(
            "tool",
            "1.2-1",
            "bookworm-security",
            "  * Fix CVE-2024-0001 (Closes: #10,\n    #11)\n  * LP: #77",
        ),
        entry("tool", "1.1-1", "unstable", "  * Middle."),
        entry("tool", "1.0-1", "unstable", "  * Old, not shown."),
    ]
    .concat();
    let news = [
        entry("tool", "1.2-1", "unstable", "  The config moved."),
        entry("tool", "0.9-1", "unstable", "  Old news."),
    ]
    .concat();
    let binnmu = entry("tool", "1.2-1+b1", "bookworm", "  * Binary-only rebuild.");
    let old = pkg("tool", "1.0-1", vec![], &[], true);
    let new = pkg(
        "tool",
        "1.2-1+b1",
        vec![
            FileSpec::file(&format!("{DOC}/tool/changelog.Debian.gz"), 0o644, gz(&text)),
            FileSpec::file(
                &format!("{DOC}/tool/changelog.Debian.amd64.gz"),
                0o644,
                gz(&binnmu),
            ),
            FileSpec::file(&format!("{DOC}/tool/NEWS.Debian.gz"), 0o644, gz(&news)),
        ],
        &[],
        true,
    );
    let r = diff(&[old], &[new]);
    let p = pair(&r, "tool");
    let versions: Vec<&str> = p
        .changelog
        .entries
        .iter()
        .map(|e| e.version.as_str())
        .collect();
    assert_eq!(versions, ["1.2-1+b1", "1.2-1", "1.1-1"]);
    assert!(!p.changelog.truncated, "{:?}", p.changelog.notes);
    assert!(p.changelog.entries[1].security);
    assert!(!p.changelog.entries[2].security);
    assert_eq!(p.changelog.news.len(), 1);
    let refs: Vec<(RefKind, &str)> = p
        .references
        .iter()
        .map(|r| (r.kind, r.id.as_str()))
        .collect();
    assert_eq!(
        refs,
        [
            (RefKind::Cve, "CVE-2024-0001"),
            (RefKind::Closes, "10"),
            (RefKind::Closes, "11"),
            (RefKind::Lp, "77")
        ]
    );
    assert_eq!(r.cves, ["CVE-2024-0001"]);
    assert_eq!(r.summary.packages_with_cves, 1);
    assert!(p.content.is_empty(), "a changelog is not diffed as a file");
}

#[test]
fn a_link_doc_changelog_is_read_from_the_package_that_ships_it() {
    let text = entry("src", "2.0-1", "unstable", "  * New.")
        + &entry("src", "1.0-1", "unstable", "  * Old.");
    let old = [
        pkg("libtool1", "1.0-1", vec![], &[], true),
        pkg("tool", "1.0-1", vec![], &[], true),
    ];
    let new = [
        pkg(
            "libtool1",
            "2.0-1",
            vec![FileSpec::symlink(&format!("{DOC}/libtool1"), "tool")],
            &[],
            true,
        ),
        pkg(
            "tool",
            "2.0-1",
            vec![FileSpec::file(
                &format!("{DOC}/tool/changelog.Debian.gz"),
                0o644,
                gz(&text),
            )],
            &[],
            true,
        ),
    ];
    let r = diff(&old, &new);
    let lib = pair(&r, "libtool1");
    assert_eq!(
        lib.changelog.file.as_deref(),
        Some("/usr/share/doc/tool/changelog.Debian.gz")
    );
    assert_eq!(lib.changelog.via_package.as_deref(), Some("tool"));
    assert_eq!(lib.changelog.entries.len(), 1);
    assert!(pair(&r, "tool").changelog.via_package.is_none());
}

#[test]
fn a_trimmed_or_missing_changelog_is_said_so() {
    let text = entry("tool", "3.0-1", "unstable", "  * Newest.")
        + &entry(
            "tool",
            "2.0-1",
            "unstable",
            "  * Still newer than the old one.",
        );
    let old = [
        pkg("tool", "1.0-1", vec![], &[], true),
        pkg("bare", "1", vec![], &[], true),
    ];
    let new = [
        pkg(
            "tool",
            "3.0-1",
            vec![FileSpec::file(
                &format!("{DOC}/tool/changelog.Debian.gz"),
                0o644,
                gz(&text),
            )],
            &[],
            true,
        ),
        pkg(
            "bare",
            "2",
            // An upstream changelog.gz is no Debian changelog.
            vec![FileSpec::file(
                &format!("{DOC}/bare/changelog.gz"),
                0o644,
                gz("2020-01-01 Someone\n\n\tFix it.\n"),
            )],
            &[],
            true,
        ),
    ];
    let r = diff(&old, &new);
    let t = &pair(&r, "tool").changelog;
    assert_eq!(t.entries.len(), 2);
    assert!(t.truncated);
    assert!(t.notes[0].contains("ends before 1.0-1"), "{:?}", t.notes);
    let b = &pair(&r, "bare").changelog;
    assert!(b.file.is_none() && b.entries.is_empty());
    assert!(
        b.notes
            .iter()
            .any(|n| n.contains("has no Debian changelog")),
        "{:?}",
        b.notes
    );
}
