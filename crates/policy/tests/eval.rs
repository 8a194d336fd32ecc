//! Evaluation of each assertion kind, passing and failing, over packages built as facts, using
//! the rules in testdata/policies/good/every-kind.toml.

use debgate_analyze::effective::EffectiveState;
use debgate_facts::caps::{CapSet, FileCaps};
use debgate_facts::change::Change;
use debgate_facts::{
    Conffile, Content, Control, Entry, EntryKind, Package, Script, ScriptName, CAPABILITY_XATTR,
};
use debgate_policy::{evaluate, load_paths, Analyzed, Finding, RuleSet, Status};
use std::path::Path;

fn rules() -> RuleSet {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policies/good/every-kind.toml");
    load_paths(&[p]).unwrap_or_else(|e| panic!("{e}"))
}

struct Pkg {
    package: Package,
}

fn pkg(name: &str) -> Pkg {
    Pkg {
        package: Package {
            file: format!("{name}.deb").into(),
            control: Control {
                fields: vec![
                    ("Package".into(), name.into()),
                    ("Version".into(), "1.0".into()),
                ],
            },
            conffiles: vec![],
            scripts: vec![],
            entries: vec![],
            contents: Default::default(),
            ..Default::default()
        },
    }
}

impl Pkg {
    fn file(mut self, path: &str, mode: u32, group: &str, content: Option<&str>) -> Self {
        self.package.entries.push(Entry {
            path: path.into(),
            raw_path: None,
            raw_link_target: None,
            kind: EntryKind::File,
            mode,
            uid: 0,
            gid: 0,
            owner: Some("root".into()),
            group: Some(group.into()),
            size: content.map_or(0, |c| c.len() as u64),
            link_target: None,
            xattrs: Default::default(),
            member: None,
            through: Vec::new(),
            device: None,
        });
        if let Some(c) = content {
            self.package.contents.insert(
                path.into(),
                Content {
                    bytes: c.as_bytes().to_vec(),
                    truncated: false,
                },
            );
        }
        self
    }

    fn xattr_caps(mut self, caps: &str) -> Self {
        let set = CapSet::from_text(caps).unwrap();
        let v = FileCaps {
            revision: 2,
            effective: set.effective != 0,
            permitted: set.permitted,
            inheritable: set.inheritable,
            rootid: None,
        }
        .encode();
        self.package
            .entries
            .last_mut()
            .unwrap()
            .xattrs
            .insert(CAPABILITY_XATTR.into(), v);
        self
    }

    fn conffile(mut self, path: &str) -> Self {
        self.package.conffiles.push(Conffile {
            path: path.into(),
            flags: vec![],
        });
        self
    }

    fn postinst(mut self, text: &str) -> Self {
        self.package.scripts.push(Script {
            name: ScriptName::Postinst,
            text: text.into(),
            truncated: false,
        });
        self
    }
}

fn run(set: &[Pkg], rule: &str) -> Vec<Finding> {
    let analyses: Vec<Vec<(ScriptName, debgate_script::Analysis)>> = set
        .iter()
        .map(|p| {
            p.package
                .scripts
                .iter()
                .map(|s| (s.name, debgate_script::analyze(s)))
                .collect()
        })
        .collect();
    let states: Vec<EffectiveState> = set
        .iter()
        .zip(&analyses)
        .map(|(p, a)| {
            let views: Vec<(ScriptName, &debgate_script::Analysis)> =
                a.iter().map(|(n, a)| (*n, a)).collect();
            EffectiveState::compute(&p.package, &views)
        })
        .collect();
    let changes: Vec<Vec<Change>> = analyses
        .iter()
        .map(|a| a.iter().flat_map(|(_, a)| a.changes.clone()).collect())
        .collect();
    let views: Vec<Analyzed<'_>> = set
        .iter()
        .zip(&states)
        .zip(&changes)
        .map(|((p, s), c)| Analyzed {
            package: &p.package,
            changes: c,
            state: s,
        })
        .collect();
    evaluate(&rules(), &views)
        .into_iter()
        .filter(|f| f.rule == rule)
        .collect()
}

/// The kernel option the test policy's kconfig rule names (kept in the policy, not here).
fn option() -> String {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policies/good/every-kind.toml");
    let text = std::fs::read_to_string(p).unwrap();
    let r = rules();
    assert_eq!(r.get("test-kconfig").unwrap().assertion.kind(), "kconfig");
    let at = text
        .find("expect = { CONFIG_")
        .expect("the kconfig rule's expect table")
        + 11;
    let name: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    name
}

fn statuses(f: &[Finding]) -> Vec<Status> {
    f.iter().map(|f| f.status).collect()
}

#[test]
fn kconfig_values_with_kconfig_semantics() {
    let cfg = |body: &str| {
        pkg("kernel-1.0-amd64").file("/boot/config-1.0-amd64", 0o644, "root", Some(body))
    };
    let o = option();
    let ok = run(&[cfg(&format!("{o}=m\n"))], "test-kconfig");
    assert_eq!(statuses(&ok), [Status::Pass]);
    assert!(
        ok[0].evidence[0].contains(&format!(":1: {o}=m")),
        "{:?}",
        ok[0].evidence
    );

    let last_wins = run(
        &[cfg(&format!("{o}=y\n# {o} is not set\n"))],
        "test-kconfig",
    );
    assert_eq!(statuses(&last_wins), [Status::Fail]);
    assert!(
        last_wins[0].message.contains("is not set"),
        "{}",
        last_wins[0].message
    );

    let prefix_only = run(&[cfg(&format!("{o}_X=y\n"))], "test-kconfig");
    assert_eq!(
        statuses(&prefix_only),
        [Status::Fail],
        "a longer name is another option"
    );
}

#[test]
fn kconfig_presence_in_set() {
    // An image without the config, next to a modules package with it (Ubuntu's layout): pass.
    let image = pkg("kernel-1.0-image").file("/boot/vmlinuz-1.0", 0o644, "root", None);
    let modules = pkg("kernel-1.0-modules").file(
        "/boot/config-1.0",
        0o644,
        "root",
        Some(&format!("{}=y\n", option())),
    );
    assert_eq!(
        statuses(&run(&[image, modules], "test-kconfig")),
        [Status::Pass]
    );
    // The image alone: the set has a kernel but no config anywhere.
    let image = pkg("kernel-1.0-image").file("/boot/vmlinuz-1.0", 0o644, "root", None);
    let alone = run(&[image], "test-kconfig");
    assert_eq!(statuses(&alone), [Status::Fail]);
    assert!(
        alone[0]
            .message
            .contains("no package in it ships a file matching /boot/config-*"),
        "{}",
        alone[0].message
    );
    // No kernel at all: not applicable.
    assert_eq!(
        statuses(&run(&[pkg("tool")], "test-kconfig")),
        [Status::NotApplicable]
    );
}

#[test]
fn file_state_from_data_tar_and_scripts() {
    let plain = pkg("tool").file("/usr/bin/ping", 0o755, "root", None);
    let r = run(&[plain], "test-file-state");
    assert_eq!(statuses(&r), [Status::Pass], "{r:?}");
    assert_eq!(
        r[0].path.as_deref(),
        Some("/usr/bin/ping"),
        "usrmerge aliasing matched /bin/ping"
    );

    let allowed_cap = pkg("tool")
        .file("/bin/ping", 0o755, "root", None)
        .xattr_caps("cap_net_raw+ep");
    assert_eq!(
        statuses(&run(&[allowed_cap], "test-file-state")),
        [Status::Pass]
    );

    let bad_cap = pkg("tool")
        .file("/bin/ping", 0o755, "root", None)
        .xattr_caps("cap_net_raw,cap_sys_admin+ep");
    let r = run(&[bad_cap], "test-file-state");
    assert_eq!(statuses(&r), [Status::Fail]);
    assert!(
        r[0].message.contains("cap_sys_admin not allowed"),
        "{}",
        r[0].message
    );

    // A grant on one branch fails the rule, naming the state and the line that leads to it.
    let setuid_by_script = pkg("tool")
        .file("/bin/ping", 0o755, "root", None)
        .postinst("#!/bin/sh\nif [ -x /usr/bin/foo ]; then\n  chmod u+s /usr/bin/ping\nfi\n");
    let r = run(&[setuid_by_script], "test-file-state");
    assert_eq!(statuses(&r), [Status::Fail]);
    assert!(
        r[0].message.contains(
            "can be left 4755 root:root (via postinst:3): mode 4755 has bits outside 0755"
        ),
        "{}",
        r[0].message
    );
    assert!(
        r[0].evidence
            .iter()
            .any(|e| e.starts_with("postinst:3: chmod u+s")),
        "{:?}",
        r[0].evidence
    );

    // A mode only run time knows fails closed, naming the line.
    let unknown_mode = pkg("tool")
        .file("/bin/ping", 0o755, "root", None)
        .postinst("#!/bin/sh\nmode=$(cat /etc/mode)\nchmod \"$mode\" /bin/ping\n");
    let r = run(&[unknown_mode], "test-file-state");
    assert_eq!(statuses(&r), [Status::Fail]);
    assert!(
        r[0].message
            .contains("mode set by postinst:3 chmod \"$mode\": not resolved"),
        "{}",
        r[0].message
    );
}

#[test]
fn file_state_reports_unresolved_changes_that_could_violate() {
    let p = pkg("tool")
        .file("/bin/ping", 0o755, "root", None)
        .postinst("#!/bin/sh\nsetcap cap_sys_admin+ep \"$2\"\n");
    let r = run(&[p], "test-file-state");
    assert_eq!(statuses(&r), [Status::Fail]);
    assert!(
        r[0].message.contains("cannot be resolved statically"),
        "{}",
        r[0].message
    );
    // An unresolved change that cannot violate this rule (allowed capability) is no failure.
    let p = pkg("tool")
        .file("/bin/ping", 0o755, "root", None)
        .postinst("#!/bin/sh\nsetcap cap_net_raw+ep \"$2\"\n");
    assert_eq!(statuses(&run(&[p], "test-file-state")), [Status::Pass]);
}

#[test]
fn text_lines_and_conffile_status() {
    let good = pkg("any")
        .file("/etc/x.conf", 0o644, "root", Some("# c\na = 1\n"))
        .conffile("/etc/x.conf");
    let r = run(&[good], "test-text");
    assert_eq!(statuses(&r), [Status::Pass]);
    assert_eq!(r[0].evidence, ["/etc/x.conf:2: a = 1"]);

    let not_conffile = pkg("any").file("/etc/x.conf", 0o644, "root", Some("a\n"));
    let r = run(&[not_conffile], "test-text");
    assert!(
        r[0].message.contains("not listed in conffiles"),
        "{}",
        r[0].message
    );

    let forbidden = pkg("any")
        .file("/etc/x.conf", 0o644, "root", Some("a\nb = 2\n"))
        .conffile("/etc/x.conf");
    let r = run(&[forbidden], "test-text");
    assert_eq!(statuses(&r), [Status::Fail]);
    assert!(
        r[0].message.contains("/etc/x.conf:2 matches forbidden"),
        "{}",
        r[0].message
    );

    let missing = pkg("any")
        .file("/etc/x.conf", 0o644, "root", Some("c\n"))
        .conffile("/etc/x.conf");
    assert!(run(&[missing], "test-text")[0]
        .message
        .contains("no line of /etc/x.conf matches `^a`"));

    let mut truncated = pkg("any")
        .file("/etc/x.conf", 0o644, "root", Some("a\n"))
        .conffile("/etc/x.conf");
    truncated
        .package
        .contents
        .get_mut("/etc/x.conf")
        .unwrap()
        .truncated = true;
    assert!(run(&[truncated], "test-text")[0]
        .message
        .contains("content cap"));

    assert_eq!(
        statuses(&run(&[pkg("any")], "test-text")),
        [Status::NotApplicable]
    );
}

#[test]
fn sysctl_effective_value_across_the_set() {
    let a = pkg("a").file(
        "/usr/lib/sysctl.d/50-a.conf",
        0o644,
        "root",
        Some("net.ipv4.ip_forward = 1\n"),
    );
    let b = pkg("b").file(
        "/etc/sysctl.d/60-b.conf",
        0o644,
        "root",
        Some("net/ipv4/ip_forward=0\n"),
    );
    let r = run(&[a, b], "test-sysctl");
    assert_eq!(statuses(&r), [Status::Pass], "{r:?}");
    assert_eq!(r[0].package.as_deref(), Some("b"));
    assert_eq!(r[0].evidence.len(), 2);

    // Same name in /etc hides /usr/lib, whatever the order of packages.
    let a = pkg("a").file(
        "/usr/lib/sysctl.d/60-b.conf",
        0o644,
        "root",
        Some("net.ipv4.ip_forward = 0\n"),
    );
    let b = pkg("b").file(
        "/etc/sysctl.d/60-b.conf",
        0o644,
        "root",
        Some("net.ipv4.ip_forward = 1\n"),
    );
    let r = run(&[a, b], "test-sysctl");
    assert_eq!(statuses(&r), [Status::Fail]);
    assert!(
        r[0].message.contains("set by /etc/sysctl.d/60-b.conf:1"),
        "{}",
        r[0].message
    );

    // /etc/sysctl.conf comes last.
    let a = pkg("a")
        .file(
            "/etc/sysctl.conf",
            0o644,
            "root",
            Some("net.ipv4.ip_forward = 1\n"),
        )
        .file(
            "/etc/sysctl.d/99-z.conf",
            0o644,
            "root",
            Some("net.ipv4.ip_forward = 0\n"),
        );
    assert_eq!(statuses(&run(&[a], "test-sysctl")), [Status::Fail]);

    // Nothing sets it and the rule says unset fails.
    assert_eq!(statuses(&run(&[pkg("a")], "test-sysctl")), [Status::Fail]);
    // An empty set has nothing to judge.
    assert_eq!(statuses(&run(&[], "test-sysctl")), [Status::NotApplicable]);
}

#[test]
fn exists_with_required_presence() {
    let with = pkg("tool").file("/usr/share/doc/tool/copyright", 0o644, "root", None);
    assert_eq!(statuses(&run(&[with], "test-exists")), [Status::Pass]);
    let r = run(&[pkg("tool")], "test-exists");
    assert_eq!(statuses(&r), [Status::Fail]);
    assert!(r[0]
        .message
        .contains("tool ships no file matching /usr/share/doc/tool/copyright"));
}

#[test]
fn wanted_content_follows_the_rules() {
    let r = rules();
    assert!(r.wants_content("/boot/config-6.1"));
    assert!(r.wants_content("/etc/x.conf"));
    assert!(
        r.wants_content("/usr/lib/sysctl.d/10-x.conf"),
        "sysctl rules read every sysctl.d file"
    );
    assert!(
        !r.wants_content("/usr/bin/ping"),
        "file-state rules read no content"
    );
    assert!(!r.wants_content("/usr/share/doc/tool/copyright"));
}

/// A policy of `rules`, each a `[[rule]]` body without its header lines.
fn policy(rules: &[&str]) -> RuleSet {
    let text: String = rules
        .iter()
        .enumerate()
        .map(|(i, body)| {
            format!(
                "[[rule]]\nid = \"r{i}\"\nseverity = \"error\"\ntitle = \"t\"\n\
                 explanation = \"e\"\nreferences = [\"man:deb\"]\n{body}\n"
            )
        })
        .collect();
    debgate_policy::load_sources(&[("p.toml", &format!("[policy]\nname = \"p\"\n{text}"))])
        .unwrap_or_else(|e| panic!("{e}"))
}

const TEXT_X: &str = "paths = [\"/etc/x.conf\"]\nassert = { kind = \"text\", must-match = ['^a'] }";
const TEXT_X_OTHER: &str =
    "paths = [\"/etc/x.conf\"]\nassert = { kind = \"text\", must-not-match = ['^b'] }";
const TEXT_Y: &str = "paths = [\"/etc/y.conf\"]\nassert = { kind = \"text\", must-match = ['^a'] }";
const STATE: &str = "paths = [\"/bin/ping\"]\nassert = { kind = \"file-state\", owner = \"root\" }";
const STATE_OTHER: &str =
    "paths = [\"/usr/bin/*\"]\nassert = { kind = \"file-state\", max-mode = \"0755\" }";
const EXISTS: &str = "paths = [\"/usr/share/doc/x\"]\nassert = { kind = \"exists\" }";
const SYSCTL: &str =
    "assert = { kind = \"sysctl\", key = \"net/ipv4/ip_forward\", allowed = [\"0\"] }";

#[test]
fn the_content_fingerprint_changes_with_the_paths_wanted_only() {
    let base = policy(&[TEXT_X, STATE]).content_fingerprint();
    // Rules that want no content, added, changed or removed: the same files are captured.
    for same in [
        policy(&[TEXT_X]),
        policy(&[TEXT_X, STATE_OTHER]),
        policy(&[STATE, TEXT_X, EXISTS]),
        // A second rule over the same paths wants nothing more.
        policy(&[TEXT_X, TEXT_X_OTHER, STATE]),
    ] {
        assert_eq!(same.content_fingerprint(), base);
    }
    // A rule that wants other paths, or no content-wanting rule at all: other files.
    for other in [
        policy(&[TEXT_X, TEXT_Y]),
        policy(&[TEXT_Y]),
        policy(&[TEXT_X, SYSCTL]),
        policy(&[STATE]),
        policy(&[
            "paths = [\"/etc/x.conf\"]\nusrmerge = true\nassert = { kind = \"text\", must-match = ['^a'] }",
        ]),
        policy(&[
            "paths = [\"/etc/*.conf\"]\nexclude-paths = [\"/etc/y.conf\"]\nassert = { kind = \"text\", must-match = ['^a'] }",
        ]),
    ] {
        assert_ne!(other.content_fingerprint(), base);
    }
    assert_eq!(
        policy(&[SYSCTL]).content_fingerprint(),
        policy(&[SYSCTL, SYSCTL]).content_fingerprint()
    );
}

#[test]
fn a_rule_whose_fingerprint_wants_nothing_wants_no_content() {
    // The fingerprint keys the facts cache, so it must agree with `wants_content`: a kind that
    // says it wants nothing must capture nothing.
    let every = rules();
    let probes = [
        "/boot/config-6.1",
        "/etc/x.conf",
        "/etc/sysctl.d/10-x.conf",
        "/usr/lib/sysctl.d/10-x.conf",
        "/bin/ping",
        "/usr/bin/ping",
        "/usr/share/doc/tool/copyright",
    ];
    for r in &every.rules {
        let kind = r.assertion.get();
        let wanted = probes.iter().filter(|p| kind.wants_content(r, p)).count();
        match kind.content_wanted(r) {
            None => assert_eq!(wanted, 0, "{}", r.id),
            Some(_) => assert!(wanted > 0, "{}", r.id),
        }
    }
}
