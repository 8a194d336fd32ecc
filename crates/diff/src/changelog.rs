//! The changelog between a pair's versions, read from the new side's
//! `/usr/share/doc/PKG/changelog.Debian.gz` (a native package's `changelog.gz`, a binNMU's
//! `changelog.Debian.ARCH.gz`, and `NEWS.Debian.gz`), as apt-listchanges shows it: the entries
//! newer than the old version, with the CVE, bug and Launchpad references they name.

use crate::report::{Changelog, ChangelogEntry};
use debgate_changelog::{gunzip, parse, since, Reference};
use debgate_facts::path::normalise;
use debgate_facts::{Content, EntryKind, Package};
use debgate_pipeline::AnalyzedPackage;
use std::collections::HashMap;

const DOC: &str = "/usr/share/doc/";

/// The most text one compressed changelog is expanded to: a gzip bomb in a package costs no
/// more. A real changelog is far smaller (a kernel's, the longest in Debian, is about 4 MiB),
/// and only its head, the newest entries, matters.
pub const MAX_CHANGELOG_TEXT: u64 = 32 * 1024 * 1024;

/// Whether the reader should keep this file for the changelog: the Debian changelog, a
/// native package's changelog, a binNMU's and NEWS.Debian, directly under a doc directory.
pub fn is_changelog_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix(DOC) else {
        return false;
    };
    let Some((dir, file)) = rest.split_once('/') else {
        return false;
    };
    let binnmu = || {
        file.strip_prefix("changelog.Debian.")
            .and_then(|r| r.strip_suffix(".gz"))
            .is_some_and(|arch| !arch.is_empty())
    };
    !dir.is_empty()
        && !file.contains('/')
        && (matches!(
            file,
            "changelog.Debian.gz" | "changelog.gz" | "NEWS.Debian.gz"
        ) || binnmu())
}

/// The changelog files the new side's packages ship, by path, with the package that ships each.
pub(crate) struct Docs<'a> {
    files: HashMap<&'a str, (&'a Content, &'a str)>,
}

impl<'a> Docs<'a> {
    pub(crate) fn of(set: &[&'a AnalyzedPackage]) -> Docs<'a> {
        let mut files = HashMap::new();
        for a in set {
            for (path, c) in &a.package.contents {
                if is_changelog_path(path) {
                    files.entry(path.as_str()).or_insert((c, a.package.name()));
                }
            }
        }
        Docs { files }
    }

    fn get(&self, path: &str) -> Option<(&'a Content, &'a str)> {
        self.files.get(path).copied()
    }
}

/// The version in `Source: NAME (VERSION)`, which a changelog's entries follow when the binary
/// package's own version differs (a signed kernel, a package versioned on its own).
fn source_version(p: &Package) -> Option<&str> {
    let s = p.control.get("Source")?;
    let (_, rest) = s.split_once('(')?;
    Some(rest.trim_end().strip_suffix(')')?.trim())
}

/// Where the new package's docs are: its own doc directory, or the one a
/// `/usr/share/doc/PKG -> OTHER` symlink names (`dh_installdocs --link-doc`).
fn doc_dir(p: &Package) -> (String, bool) {
    let own = format!("{DOC}{}", p.name());
    let Some(e) = p.entry(&own) else {
        return (own, false);
    };
    match (e.kind, e.link_target.as_deref()) {
        (EntryKind::Symlink, Some(t)) => {
            let joined = if t.starts_with('/') {
                t.to_string()
            } else {
                format!("{DOC}{t}")
            };
            match normalise(&joined) {
                Some(dir) if dir.starts_with(DOC) => (dir, true),
                _ => (own, false),
            }
        }
        _ => (own, false),
    }
}

/// What one changelog file gives.
struct Read {
    entries: Vec<ChangelogEntry>,
    reached: bool,
    /// The text is a head only: the capture or the expansion stopped early.
    cut: bool,
}

/// How much text is expanded first; each further try doubles it. A changelog is read from its
/// newest entry and only down to the old version: for a kernel (3.7 MB of text, the old version
/// some 450 KB in) the whole file would be six times the work.
const FIRST_TRY: u64 = 256 * 1024;

fn read(content: &Content, stop: &str) -> Result<Read, String> {
    let mut budget = FIRST_TRY.min(MAX_CHANGELOG_TEXT);
    let (decoded, entries) = loop {
        let decoded = gunzip(&content.bytes, budget);
        let entries = parse(&decoded.text).map_err(|e| e.to_string())?;
        // Entries before the one at or below `stop` are whole even when the text was cut
        // further on: the next header follows each of them.
        let done = decoded.complete || since(&entries, stop).reached;
        // `complete` is false for a cut or corrupt stream too: expanding more then gives no
        // more text, and the loop ends on the budget or on the text no longer growing.
        if done || budget >= MAX_CHANGELOG_TEXT || (decoded.text.len() as u64) < budget / 2 {
            break (decoded, entries);
        }
        budget = budget.saturating_mul(2).min(MAX_CHANGELOG_TEXT);
    };
    let cut = content.truncated || !decoded.complete;
    let picked = since(&entries, stop);
    Ok(Read {
        entries: picked
            .entries
            .iter()
            .map(|e| ChangelogEntry {
                version: e.version.clone(),
                package: e.package.clone(),
                distributions: e.distributions.clone(),
                urgency: e.urgency.clone(),
                security: e.is_security(),
                maintainer: e.maintainer.clone(),
                date: e.date.clone(),
                body: e.body.clone(),
                references: e.references(),
            })
            .collect(),
        reached: picked.reached,
        cut,
    })
}

/// The new side's changelog entries since the old version, and their references.
pub(crate) fn between(
    old: &Package,
    new: &Package,
    docs: &Docs<'_>,
    content_cap: u64,
) -> (Changelog, Vec<Reference>) {
    let mut out = Changelog::default();
    let (dir, linked) = doc_dir(new);
    let old_version = old.control.version();
    let old_source = source_version(old).unwrap_or(old_version);
    let file = |name: &str| format!("{dir}/{name}");
    let lookup = |name: &str| docs.get(&file(name)).map(|(c, by)| (file(name), c, by));

    let cut_note = |path: &str, stop: &str| {
        format!(
            "{path}: only its first {content_cap} bytes were read (max-content-bytes) and they end before {stop}; raise the limit to see older entries"
        )
    };
    let mut truncated = |r: &Read, path: &str, stop: &str, notes: &mut Vec<String>| {
        if !r.reached {
            out.truncated = true;
            notes.push(if r.cut {
                cut_note(path, stop)
            } else {
                format!("{path} ends before {stop}: older entries were trimmed from it")
            });
        }
    };
    let mut notes = Vec::new();

    // A binNMU's own entries come first; they follow the binary version. The file holds
    // only the binNMU's entries, so that it ends before the old version says nothing.
    let arch = new.control.architecture();
    if let Some((path, c, _)) = lookup(&format!("changelog.Debian.{arch}.gz")) {
        match read(c, old_version) {
            Ok(r) => out.entries.extend(r.entries),
            Err(e) => notes.push(format!("{path}: {e}")),
        }
    }
    let mut main = None;
    for name in ["changelog.Debian.gz", "changelog.gz"] {
        if let Some((path, c, by)) = lookup(name) {
            match read(c, old_source) {
                Ok(r) => {
                    main = Some((path, r, by));
                    break;
                }
                // An upstream changelog.gz next to a Debian one is no Debian changelog.
                Err(e) if name == "changelog.gz" => notes.push(format!("{path}: {e}")),
                Err(e) => notes.push(format!("{path}: {e}")),
            }
        }
    }
    match main {
        Some((path, r, by)) => {
            truncated(&r, &path, old_source, &mut notes);
            out.entries.extend(r.entries);
            if linked || by != new.name() {
                out.via_package = Some(by.to_string());
            }
            out.file = Some(path);
        }
        None if linked => notes.push(format!(
            "{DOC}{} links to {dir}, and no package of the new set ships a changelog there",
            new.name()
        )),
        None => notes.push(format!("{dir} has no Debian changelog")),
    }
    if let Some((path, c, _)) = lookup("NEWS.Debian.gz") {
        match read(c, old_source) {
            Ok(r) => out.news = r.entries,
            Err(e) => notes.push(format!("{path}: {e}")),
        }
    }
    out.notes = notes;
    // A kernel's entries name thousands: a set, not a search of the list, says which are new.
    let mut seen: std::collections::HashSet<&Reference> = std::collections::HashSet::new();
    let mut refs: Vec<Reference> = Vec::new();
    for r in out
        .entries
        .iter()
        .chain(&out.news)
        .flat_map(|e| &e.references)
    {
        if seen.insert(r) {
            refs.push(r.clone());
        }
    }
    (out, refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changelog_paths() {
        for p in [
            "/usr/share/doc/x/changelog.Debian.gz",
            "/usr/share/doc/x/changelog.gz",
            "/usr/share/doc/x/changelog.Debian.amd64.gz",
            "/usr/share/doc/x/NEWS.Debian.gz",
        ] {
            assert!(is_changelog_path(p), "{p}");
        }
        for p in [
            "/usr/share/doc/x/y/changelog.gz",
            "/usr/share/doc/changelog.gz",
            "/usr/share/doc/x/changelog.Debian",
            "/usr/share/doc/x/NEWS.gz",
            "/usr/share/doc/x/changelog.Debian.gz.bak",
        ] {
            assert!(!is_changelog_path(p), "{p}");
        }
    }
}
