//! Real changelogs from Debian packages (testdata/changelogs/, README.md there says which):
//! what `since` reports between two versions, the references, and what is not a changelog.

use debgate_changelog::{
    gunzip, parse, references, says_trimmed, since, Entry, NotAChangelog, RefKind, Reference,
};
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/changelogs")
        .join(name)
}

fn text(name: &str) -> String {
    let bytes = std::fs::read(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    if name.ends_with(".gz") {
        let d = gunzip(&bytes, 1 << 20);
        assert!(d.complete, "{name} decodes whole");
        d.text
    } else {
        String::from_utf8(bytes).expect("UTF-8")
    }
}

fn entries(name: &str) -> Vec<Entry> {
    parse(&text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn versions(entries: &[&Entry]) -> Vec<String> {
    entries.iter().map(|e| e.version.clone()).collect()
}

fn cve(id: &str) -> Reference {
    Reference {
        kind: RefKind::Cve,
        id: id.into(),
    }
}

fn closes(id: &str) -> Reference {
    Reference {
        kind: RefKind::Closes,
        id: id.into(),
    }
}

#[test]
fn security_update_since_previous_security_upload() {
    let all = entries("security-update-new.changelog");
    assert_eq!(all.len(), 49);
    let s = since(&all, "2.38.1-5+deb12u1");
    assert!(s.reached);
    assert_eq!(
        versions(&s.entries),
        ["2.38.1-5+deb12u3", "2.38.1-5+deb12u2"]
    );

    let u3 = s.entries[0];
    assert!(u3.package.ends_with("-linux"), "{}", u3.package);
    assert_eq!(u3.distributions, ["bookworm"]);
    assert_eq!(u3.urgency.as_deref(), Some("medium"));
    assert_eq!(u3.line, 1);
    assert_eq!(
        u3.maintainer.as_deref(),
        Some("Chris Hofstaedtler <zeha@debian.org>")
    );
    assert_eq!(u3.date.as_deref(), Some("Thu, 21 Nov 2024 21:01:54 +0100"));
    assert!(u3.body.starts_with("  * Fixup upstream patches"));
    assert!(u3
        .body
        .ends_with("This fixes our wider mitigation for CVE-2024-28085."));
    assert_eq!(u3.references(), [cve("CVE-2024-28085")]);
    assert!(!u3.is_security());

    let u1 = &all[2];
    assert_eq!(u1.version, "2.38.1-5+deb12u1");
    assert_eq!(u1.distributions, ["bookworm-security"]);
    assert!(u1.is_security());
    assert_eq!(u1.line, 18);
    assert_eq!(u1.references(), [cve("CVE-2024-28085"), closes("1067849")]);
}

#[test]
fn since_same_version_and_older_than_everything() {
    let all = entries("security-update-new.changelog");
    let s = since(&all, "2.38.1-5+deb12u3");
    assert!(s.reached);
    assert!(s.entries.is_empty());
    // Older than the oldest entry: everything, and the end was not reached.
    let s = since(&all, "0.1");
    assert_eq!(s.entries.len(), all.len());
    assert!(!s.reached);
}

#[test]
fn the_older_capture_is_a_prefix_of_the_newer() {
    // The +deb12u1 package's changelog (kept gzipped, as the .deb has it) is the newer one
    // minus its first two entries.
    let old = entries("security-update-old.changelog.gz");
    let new = entries("security-update-new.changelog");
    assert_eq!(old.len() + 2, new.len());
    for (o, n) in old.iter().zip(&new[2..]) {
        assert_eq!(
            (&o.version, &o.body, &o.date),
            (&n.version, &n.body, &n.date)
        );
    }
}

#[test]
fn trimmed_changelog_does_not_reach_an_old_version() {
    let raw = text("trimmed.changelog");
    assert!(says_trimmed(&raw));
    // debhelper trimmed this one too; the kernel's head is cut before its note.
    assert!(says_trimmed(&text("security-update-new.changelog")));
    assert!(!says_trimmed(&text("kernel-head.changelog")));
    assert!(!says_trimmed(
        "p (1) u; urgency=low\n  # Older entries have been removed from this changelog.\n"
    ));
    let all = parse(&raw).unwrap();
    let oldest = all.last().unwrap();
    assert_eq!(oldest.version, "2:3.3.16-1");
    // debhelper's note after the last trailer is a comment, not change text.
    assert!(!oldest.body.contains("Older entries"), "{}", oldest.body);
    let s = since(&all, "2:3.3.15-2");
    assert!(!s.reached);
    assert_eq!(s.entries.len(), all.len());
    // The epoch matters: without it every entry is newer than 4.0.2.
    let s = since(&all, "4.0.2-3");
    assert_eq!(s.entries.len(), all.len());
    let s = since(&all, "2:4.0.2-3");
    assert!(s.reached);
    assert!(s.entries.is_empty());
}

#[test]
fn epoch_and_tilde_order() {
    let cl = "p (1:1.0) unstable; urgency=low\n\n  * epoch\n\n -- M <m@x>  D\n\n\
              p (1.0) unstable; urgency=low\n\n  * final\n\n -- M <m@x>  D\n\n\
              p (1.0~rc1) unstable; urgency=low\n\n  * candidate\n\n -- M <m@x>  D\n";
    let all = parse(cl).unwrap();
    // 1:1.0 > 2.0: only the epoch entry is newer.
    let s = since(&all, "2.0");
    assert_eq!(versions(&s.entries), ["1:1.0"]);
    assert!(s.reached);
    // 1.0~rc1 < 1.0: upgrading from the candidate shows the final release.
    let s = since(&all, "1.0~rc1");
    assert_eq!(versions(&s.entries), ["1:1.0", "1.0"]);
    assert!(s.reached);
    let s = since(&all, "1.0~~");
    assert_eq!(s.entries.len(), 3);
    assert!(!s.reached);

    let real = entries("epoch.changelog");
    let s = since(&real, "3:20221126-1");
    assert_eq!(versions(&s.entries), ["3:20221126-1+deb12u1"]);
    assert_eq!(s.entries[0].references(), [closes("1040313")]);
}

#[test]
fn unparsable_versions() {
    let cl = "p (2.0) unstable; urgency=low\n  * a\n\
              p (not!a#version) unstable; urgency=low\n  * b\n\
              p (1.0) unstable; urgency=low\n  * c\n";
    let all = parse(cl).unwrap();
    assert_eq!(all.len(), 3);
    // The bad entry is included and the walk goes on to 1.0.
    let s = since(&all, "1.0");
    assert_eq!(versions(&s.entries), ["2.0", "not!a#version"]);
    assert!(s.reached);
    // An old version that does not parse stops only at the same text...
    let s = since(&all, "not!a#version");
    assert_eq!(versions(&s.entries), ["2.0"]);
    assert!(s.reached);
    // ...and otherwise gives everything, unreached.
    let s = since(&all, "?");
    assert_eq!(s.entries.len(), 3);
    assert!(!s.reached);
    // A version too long to compare counts as not parsing.
    let long = "1".repeat(debgate_changelog::MAX_VERSION_LEN + 1);
    let s = since(&all, &long);
    assert!(!s.reached);
}

#[test]
fn kernel_head_without_trailer() {
    // The first 150 lines of a kernel changelog: the signed package's entry, then the kernel's,
    // the last cut before its trailer.
    let all = entries("kernel-head.changelog");
    assert_eq!(
        versions(&all.iter().collect::<Vec<_>>()),
        ["6.1.192+3", "6.1.192-2", "6.1.192-1"]
    );
    assert_eq!(all[0].package, "linux-signed-amd64");
    assert_eq!(all[1].package, "linux");
    assert!(all
        .iter()
        .all(|e| e.is_security() && e.urgency.as_deref() == Some("high")));
    assert_eq!(all[0].references(), [cve("CVE-2026-99362")]);
    assert_eq!(all[1].references(), [closes("1154101")]);
    let last = &all[2];
    assert_eq!((&last.maintainer, &last.date), (&None, &None));
    let refs = last.references();
    // 49 distinct CVE ids in the text, in order of first appearance.
    assert_eq!(refs.len(), 49);
    assert!(refs.iter().all(|r| r.kind == RefKind::Cve));
    assert_eq!(refs[0], cve("CVE-2026-99228"));
    assert_eq!(refs[1], cve("CVE-2026-99255"));
    // Upgrading from the previous kernel: all three are news and the end was reached? No:
    // the cut file never shows an entry at or below 6.1.191-1.
    let s = since(&all, "6.1.191-1");
    assert_eq!(s.entries.len(), 3);
    assert!(!s.reached);
    let s = since(&all, "6.1.192-1");
    assert_eq!(s.entries.len(), 2);
    assert!(s.reached);
}

#[test]
fn news_debian_parses() {
    let news = entries("news-epoch.NEWS.Debian");
    assert_eq!(
        versions(&news.iter().collect::<Vec<_>>())[..2],
        ["2:4.0.2-1", "1:3.3.1-1"]
    );
    assert!(news
        .iter()
        .all(|e| e.maintainer.is_some() && e.date.is_some()));
    let s = since(&news, "2:4.0.0-1");
    assert_eq!(s.entries.len(), 1);
    assert!(s.entries[0]
        .body
        .contains("Used memory is Total - Available"));

    let exim = entries("exim4.NEWS.Debian");
    assert!(exim.len() > 10);
    assert_eq!(exim[0].package, "exim4");
    assert!(exim.iter().all(|e| e.maintainer.is_some()));
}

#[test]
fn upstream_files_are_not_changelogs() {
    assert_eq!(
        parse(&text("upstream-stub.changelog.gz")),
        Err(NotAChangelog::NoHeader { line: 1 })
    );
    assert_eq!(
        parse(&text("man-db-upstream-NEWS.md")),
        Err(NotAChangelog::NoHeader { line: 1 })
    );
    assert_eq!(parse(""), Err(NotAChangelog::Empty));
    assert_eq!(parse("\n  \n# only a comment\n"), Err(NotAChangelog::Empty));
    // A blank line and a comment before the first header are fine.
    let e = parse("\n# note\np (1) unstable; urgency=low\n").unwrap();
    assert_eq!(e[0].line, 3);
}

#[test]
fn lenient_inside_and_after_entries() {
    let cl = "p (2) unstable; urgency=emergency\n\
              \n\
              \x20 * one\n\
              garbage at column zero\n\
              \n\
              \n\
              \x20 (Closes: #1,\n\
              \x20   #2)\n\
              \n\
              \x20-- M <m@x>  D\n\
              \n\
              old-style tail with CVE-2001-0001\n";
    let all = parse(cl).unwrap();
    assert_eq!(all.len(), 1);
    let e = &all[0];
    assert_eq!(e.urgency.as_deref(), Some("emergency"));
    assert_eq!(
        e.body,
        "  * one\ngarbage at column zero\n\n\n  (Closes: #1,\n    #2)\n\nold-style tail with CVE-2001-0001"
    );
    assert_eq!(
        e.references(),
        [closes("1"), closes("2"), cve("CVE-2001-0001")]
    );
}

#[test]
fn references_rules() {
    let lp = |id: &str| Reference {
        kind: RefKind::Lp,
        id: id.into(),
    };
    assert_eq!(references("(Closes: #1, #2)"), [closes("1"), closes("2")]);
    assert_eq!(
        references("(Closes: #1,\n    #2)"),
        [closes("1"), closes("2")]
    );
    assert_eq!(references("LP: #123, #456"), [lp("123"), lp("456")]);
    assert_eq!(references("closes: bug#7"), [closes("7")]);
    assert_eq!(
        references("cve-2024-28085 CVE-2024-28085"),
        [cve("CVE-2024-28085")]
    );
}

#[test]
fn entries_serialize() {
    let all = entries("security-update-new.changelog");
    let v = serde_json::to_value(&all[2]).unwrap();
    assert_eq!(v["version"], "2.38.1-5+deb12u1");
    assert_eq!(v["distributions"][0], "bookworm-security");
    assert_eq!(v["line"], 18);
    let r = serde_json::to_value(all[2].references()).unwrap();
    assert_eq!(r[1]["kind"], "closes");
    assert_eq!(r[0]["kind"], "cve");
}
