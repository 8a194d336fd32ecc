//! `debgate_diff` on packages built in memory: every kind of per-pair change, pairing by name
//! and by a `[[pairing]]` rule, sysctl changes, and every verdict transition. The policy and
//! the kernel configs are data under testdata/diff/.

use debgate_diff::{diff_paths, DiffReport, PairDiff, Transition, VersionChange};
use debgate_facts::caps::FileCaps;
use debgate_facts::{Compression, ScriptName};
use debgate_pipeline::Settings;
use debgate_policy::{load_paths, RuleSet};
use debgate_writer::{deb_bytes, FileSpec, PackageSpec};
use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/diff")
}

fn rules() -> RuleSet {
    load_paths(&[testdata().join("policy.toml")]).unwrap_or_else(|e| panic!("{e}"))
}

fn control(name: &str, version: &str, extra: &str) -> String {
    format!(
        "Package: {name}\nVersion: {version}\nArchitecture: amd64\nMaintainer: T <t@example.org>\n{extra}Description: test\n"
    )
}

fn spec(name: &str, version: &str, files: Vec<FileSpec>) -> PackageSpec {
    PackageSpec {
        control: control(name, version, ""),
        files,
        ..PackageSpec::default()
    }
}

fn write(dir: &Path, specs: &[PackageSpec]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, s) in specs.iter().enumerate() {
        let bytes = deb_bytes(s, Compression::Gzip, Compression::Gzip).unwrap();
        std::fs::write(dir.join(format!("p{i}.deb")), bytes).unwrap();
    }
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

fn kconfig(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join(name)).unwrap()
}

/// Two sets covering every kind of change.
fn sets(dir: &Path) -> (PathBuf, PathBuf) {
    let old_tool = PackageSpec {
        control: control("tool", "1.0-1", "Depends: libc6\n"),
        conffiles: vec!["/etc/tool.conf".into()],
        scripts: vec![(ScriptName::Postinst, "#!/bin/sh\nset -e\n".into())],
        files: vec![
            FileSpec::file("/usr/bin/tool", 0o755, "tool v1\n"),
            FileSpec::file("/bin/helper", 0o755, "helper\n"),
            FileSpec::file("/usr/bin/capless", 0o755, "c\n"),
            FileSpec::file("/usr/bin/logtool", 0o755, "l\n"),
            FileSpec::symlink("/usr/lib/tool/link", "a"),
            FileSpec::file("/usr/share/tool/removed", 0o644, "r\n"),
            FileSpec::file("/etc/tool.conf", 0o644, "# tool\nhardened = no\n"),
            FileSpec::file("/etc/sysctl.d/50-tool.conf", 0o644, "net.tool.x = 1\n"),
            FileSpec::dir("/var/lib/tool"),
        ],
        ..PackageSpec::default()
    };
    let mut setuid_tool = FileSpec::file("/usr/bin/tool", 0o4755, "tool v2\n");
    setuid_tool.mode = 0o4755;
    let mut capable = FileSpec::file("/usr/bin/capless", 0o755, "c\n");
    capable
        .xattrs
        .push(("security.capability".into(), cap_net_raw()));
    let mut wide = FileSpec::dir("/var/lib/tool");
    wide.mode = 0o777;
    let new_tool = PackageSpec {
        control: control(
            "tool",
            "1.1-1",
            "Depends: libc6 (>= 2.31)\nRecommends: extra\n",
        ),
        conffiles: vec!["/etc/tool.conf".into()],
        scripts: vec![(
            ScriptName::Postinst,
            "#!/bin/sh\nset -e\nchgrp adm /usr/bin/logtool\n".into(),
        )],
        files: vec![
            setuid_tool,
            FileSpec::file("/usr/bin/helper", 0o755, "helper\n"),
            capable,
            FileSpec::file("/usr/bin/logtool", 0o755, "l\n"),
            FileSpec::symlink("/usr/lib/tool/link", "b"),
            FileSpec::file("/usr/share/tool/added", 0o644, "a\n"),
            FileSpec::file("/etc/tool.conf", 0o644, "# tool\nhardened = yes\n"),
            FileSpec::file("/etc/sysctl.d/50-tool.conf", 0o644, "net.tool.x = 0\n"),
            wide,
        ],
        ..PackageSpec::default()
    };
    let kern = |abi: &str, version: &str, config: &str| {
        spec(
            &format!("kern-{abi}-flav"),
            version,
            vec![
                FileSpec::file(&format!("/boot/config-{abi}-flav"), 0o644, kconfig(config)),
                FileSpec::file(&format!("/lib/modules/{abi}-flav/a.ko"), 0o644, "ko\n"),
            ],
        )
    };
    let data = |name: &str| {
        spec(
            name,
            "1.0",
            vec![FileSpec::file(
                &format!("/usr/share/{name}/data"),
                0o644,
                "d\n",
            )],
        )
    };
    let old = dir.join("old");
    let new = dir.join("new");
    write(
        &old,
        &[
            old_tool,
            kern("1.0-1", "1.0-1", "config-old"),
            data("gone"),
            spec("same", "1.0", vec![]),
            spec("down", "2.0", vec![]),
        ],
    );
    write(
        &new,
        &[
            new_tool,
            kern("1.1-2", "1.1-2", "config-new"),
            data("extra"),
            spec("same", "1.0", vec![]),
            spec("down", "1:0.9", vec![]),
        ],
    );
    (old, new)
}

fn report() -> DiffReport {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = sets(dir.path());
    diff_paths(&rules(), &old, &new, &Settings::default()).unwrap()
}

fn pair<'a>(r: &'a DiffReport, name: &str) -> &'a PairDiff {
    r.pairs
        .iter()
        .find(|p| p.package == name)
        .unwrap_or_else(|| panic!("no pair {name}"))
}

#[test]
fn packages_pair_by_name_and_by_pairing_rule() {
    let r = report();
    let names: Vec<&str> = r.pairs.iter().map(|p| p.package.as_str()).collect();
    assert_eq!(names, ["down", "kern-1.1-2-flav", "same", "tool"]);
    let kern = pair(&r, "kern-1.1-2-flav");
    assert_eq!(kern.old_package, "kern-1.0-1-flav");
    assert_eq!(kern.paired_by.as_deref(), Some("versioned-kern"));
    // Paths are renamed to the new ABI before matching: nothing added or removed.
    assert!(
        kern.files_added.is_empty() && kern.files_removed.is_empty(),
        "{kern:#?}"
    );
    assert_eq!(pair(&r, "tool").paired_by, None);
    let added: Vec<&str> = r.added.iter().map(|p| p.package.as_str()).collect();
    let removed: Vec<&str> = r.removed.iter().map(|p| p.package.as_str()).collect();
    assert_eq!((added, removed), (vec!["extra"], vec!["gone"]));
    assert_eq!(r.added[0].file, "p2.deb", "file names, not host paths");
}

#[test]
fn versions_are_ordered_by_dpkg_rules() {
    let r = report();
    assert_eq!(pair(&r, "tool").version_change, VersionChange::Upgrade);
    assert_eq!(pair(&r, "same").version_change, VersionChange::Same);
    assert!(pair(&r, "same").is_unchanged());
    // An epoch outranks everything: 1:0.9 > 2.0.
    assert_eq!(pair(&r, "down").version_change, VersionChange::Upgrade);
}

#[test]
fn each_kind_of_per_package_change_is_reported() {
    let r = report();
    let t = pair(&r, "tool");
    let fields: Vec<(&str, Option<&str>, Option<&str>)> = t
        .control
        .iter()
        .map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_deref()))
        .collect();
    assert_eq!(
        fields,
        [
            ("Depends", Some("libc6"), Some("libc6 (>= 2.31)")),
            ("Recommends", None, Some("extra"))
        ]
    );
    assert_eq!(t.files_added, ["/usr/share/tool/added"]);
    // `/bin` was only implied by `/bin/helper`, which moved under `/usr`.
    assert_eq!(t.files_removed, ["/bin", "/usr/share/tool/removed"]);
    assert_eq!(t.files_moved.len(), 1);
    assert_eq!(
        (t.files_moved[0].old.as_str(), t.files_moved[0].new.as_str()),
        ("/bin/helper", "/usr/bin/helper")
    );
    let meta: Vec<(&str, &str, &str, &str)> = t
        .metadata
        .iter()
        .map(|m| (m.path.as_str(), m.field, m.old.as_str(), m.new.as_str()))
        .collect();
    for want in [
        ("/usr/bin/tool", "mode", "0755", "4755"),
        ("/usr/bin/tool", "setuid", "false", "true"),
        ("/usr/bin/capless", "capabilities", "", "cap_net_raw=ep"),
        ("/usr/lib/tool/link", "link-target", "a", "b"),
        ("/etc/tool.conf", "size", "21", "22"),
        ("/var/lib/tool", "mode", "0755", "0777"),
    ] {
        assert!(meta.contains(&want), "{want:?} not in {meta:#?}");
    }
    let content: Vec<(&str, &str)> = t
        .content
        .iter()
        .map(|c| (c.kind, c.path.as_str()))
        .collect();
    assert_eq!(
        content,
        [
            ("script", "postinst"),
            ("sysctl", "/etc/sysctl.d/50-tool.conf"),
            ("conffile", "/etc/tool.conf"),
        ],
        "scripts first, then files in archive order"
    );
    let conf = &t.content[2].diff;
    assert!(conf.contains("-hardened = no\n+hardened = yes"), "{conf}");
    assert!(
        conf.starts_with("--- a/etc/tool.conf\n+++ b/etc/tool.conf\n"),
        "{conf}"
    );
    assert!(t.content[0].diff.contains("+chgrp adm /usr/bin/logtool"));
}

#[test]
fn privilege_changes_carry_their_provenance() {
    let r = report();
    let t = pair(&r, "tool");
    let privs: Vec<(&str, &str, Vec<&str>)> = t
        .privileges
        .iter()
        .map(|p| {
            (
                p.path.as_str(),
                p.kind,
                p.sources.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        privs,
        [
            ("/usr/bin/capless", "capabilities", vec!["data.tar"]),
            // The state the chgrp leaves; a failed chgrp leaves the old state, not a change.
            ("/usr/bin/logtool", "group", vec!["postinst:3"]),
            ("/usr/bin/tool", "setuid", vec!["data.tar"]),
            ("/var/lib/tool", "mode-widened", vec!["data.tar"]),
        ]
    );
    assert_eq!(t.privileges[1].new, "0755 root:adm");
    assert_eq!(t.privileges[1].old, "0755 root:root");
    assert_eq!(r.summary.privilege_changes, 4);
}

#[test]
fn kernel_config_is_diffed_semantically_rule_options_first() {
    let r = report();
    let named = rules().kconfig_options()[0].to_string();
    let k = &pair(&r, "kern-1.1-2-flav").kconfig;
    type Row<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, bool);
    let rows: Vec<Row<'_>> = k
        .iter()
        .map(|c| {
            (
                c.option.as_str(),
                c.change,
                c.old.as_deref(),
                c.new.as_deref(),
                c.named_by_rule,
            )
        })
        .collect();
    assert_eq!(
        rows[0],
        (named.as_str(), "changed", Some("n"), Some("y"), true)
    );
    // Absent and `is not set` are the same value: the option that vanished that way is no
    // change; the rest follow by name.
    let rest: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(rest.len(), 4, "{rows:#?}");
    assert_eq!(
        rest.iter().map(|r| r.1).collect::<Vec<_>>(),
        ["changed", "removed", "added", "changed"]
    );
    assert!(k.iter().all(|c| c.file == "/boot/config-1.1-2-flav"));
    // A kernel config gets no line diff: the semantic one replaces it.
    assert!(pair(&r, "kern-1.1-2-flav").content.is_empty());
}

#[test]
fn sysctl_changes_name_the_winning_file() {
    let r = report();
    assert_eq!(r.sysctl.len(), 1);
    let s = &r.sysctl[0];
    assert_eq!(s.key, "net.tool.x");
    let (o, n) = (s.old.as_ref().unwrap(), s.new.as_ref().unwrap());
    assert_eq!((o.value.as_str(), n.value.as_str()), ("1", "0"));
    assert_eq!(n.file, "/etc/sysctl.d/50-tool.conf");
    assert_eq!((n.line, n.package.as_str()), (1, "tool"));
}

#[test]
fn every_verdict_transition_and_the_exit_status() {
    let r = report();
    let t: Vec<(&str, Transition)> = r
        .verdicts
        .iter()
        .map(|v| (v.rule.as_str(), v.transition))
        .collect();
    assert_eq!(
        t,
        [
            ("tool-not-setuid", Transition::Regression),
            ("conf-hardened", Transition::Fixed),
            ("extra-present", Transition::NewCoverage),
            ("gone-present", Transition::DroppedCoverage),
            ("kern-option", Transition::Fixed),
        ]
    );
    assert_eq!(r.verdicts[0].new_failures.len(), 1);
    assert!(r.verdicts[0].new_failures[0].starts_with("tool /usr/bin/tool: "));
    assert_eq!(
        (
            r.summary.regressions,
            r.summary.regressions_error,
            r.summary.fixed
        ),
        (1, 1, 2)
    );
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn unreadable_packages_are_reported_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = sets(dir.path());
    std::fs::write(new.join("broken.deb"), b"not an ar archive").unwrap();
    let r = diff_paths(&rules(), &old, &new, &Settings::default()).unwrap();
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].side, "new");
    assert_eq!(r.exit_code(), 2);
    // An empty side is bad input, not an empty diff.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(diff_paths(&rules(), &old, &empty, &Settings::default()).is_err());
}

#[test]
fn progress_counts_every_package_of_each_side_once() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = sets(dir.path());
    std::fs::write(new.join("broken.deb"), b"not an ar archive").unwrap();
    let ticks = std::sync::Mutex::new(Vec::new());
    let record = |side: &'static str, done: usize, total: usize| {
        ticks.lock().unwrap().push((side, done, total));
    };
    for xz_threads in [1, 2] {
        ticks.lock().unwrap().clear();
        let settings = Settings {
            xz_threads,
            ..Settings::default()
        };
        let r = debgate_diff::diff_paths_with_progress(&rules(), &old, &new, &settings, &record)
            .unwrap();
        assert_eq!(
            r.errors.len(),
            1,
            "an unreadable package still counts as read"
        );
        let mut t = ticks.lock().unwrap().clone();
        t.sort();
        let side = |s: &str, total: usize| -> Vec<(&'static str, usize, usize)> {
            let s: &'static str = if s == "old" { "old" } else { "new" };
            (0..=total).map(|d| (s, d, total)).collect()
        };
        let mut expected = side("new", 6);
        expected.extend(side("old", 5));
        assert_eq!(t, expected);
    }
}
