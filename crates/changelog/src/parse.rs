//! The changelog format (Debian Policy 4.4): entries of a header line, change lines and a
//! ` -- maintainer  date` trailer, read leniently, in one pass over the lines.
//!
//! The header and trailer expressions are dpkg's (`Dpkg::Changelog::Entry::Debian`), so what
//! dpkg-parsechangelog calls an entry is an entry here. Where dpkg reports an error and goes
//! on, this parser goes on too and keeps the text: a reader of "what changed" is better served
//! by a line too many than by a reference silently dropped.

use serde::Serialize;
use std::sync::LazyLock;
use thiserror::Error;

/// At most this many entries are parsed; the rest of the text is ignored. Real changelogs have
/// up to a few thousand entries (dpkg's own, over 30 years, about 2,000); the cap bounds the
/// memory a hostile file of one-line headers can cost. The dropped entries are the oldest, so
/// [`crate::since`] then answers `reached: false`, which a caller reports as "truncated".
pub const MAX_ENTRIES: usize = 20_000;

/// One changelog entry: the header's facts, the change lines and the trailer's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Source package name, as written in the header.
    pub package: String,
    /// Version as written (not validated: see [`crate::since`] for one that does not parse).
    pub version: String,
    /// The distributions of the header: `unstable`, `bookworm-security`, ...
    pub distributions: Vec<String>,
    /// The `urgency=` value's first word as written (`medium`, `high`, `HIGH`, `emergency`);
    /// an annotation after it, as in dpkg's own `urgency=low (HIGH for new source format)`, is
    /// dropped. `None` when the header has no urgency.
    pub urgency: Option<String>,
    /// The trailer's `Name <mail>`, `None` when the entry has no trailer.
    pub maintainer: Option<String>,
    /// The trailer's date text as written, `None` when absent.
    pub date: Option<String>,
    /// The change lines as written, joined by `\n`, without leading and trailing blank lines.
    /// Text between this entry's trailer and the next header (which dpkg reports as an error)
    /// is kept here too.
    pub body: String,
    /// 1-based line of the header in the text.
    pub line: usize,
}

impl Entry {
    /// True when a distribution ends in `-security` (`bookworm-security`, `focal-security`,
    /// `stable-security`): the upload went through a security archive.
    pub fn is_security(&self) -> bool {
        self.distributions
            .iter()
            .any(|d| d.to_ascii_lowercase().ends_with("-security"))
    }

    /// The bug and CVE references in this entry's change lines.
    pub fn references(&self) -> Vec<crate::Reference> {
        crate::references(&self.body)
    }
}

/// The text does not begin with a changelog entry header: an upstream ChangeLog, a `NEWS.md`,
/// or nothing at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotAChangelog {
    #[error("not a Debian changelog: the text is empty")]
    Empty,
    #[error("not a Debian changelog: line {line} is not an entry header")]
    NoHeader { line: usize },
}

/// dpkg's header: `package (version) dist [dist...]; key=value[, key=value...]`. The name and
/// distribution classes are ASCII on purpose: a case-insensitive Unicode class would also take
/// the Kelvin sign for `k`.
static HEADER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"^([A-Za-z0-9_][-+0-9A-Za-z.]*) \(([^() \t]+)\)((?:\s+[-+0-9A-Za-z.]+)+);(.*?)\s*$",
    )
    .expect("the header expression is valid")
});

/// Parse a changelog (or NEWS.Debian) into its entries, newest first as written.
///
/// Fails only when the first line that is neither blank nor a `# ` comment is not an entry
/// header. After that it is lenient, as dpkg is: a line it does not recognise inside an entry
/// is change text, a missing trailer is fine, `# ` comment lines between entries (debhelper's
/// "Older entries have been removed" note) are skipped, and an Emacs `Local variables:` block
/// or a `vim:` modeline at the start of a line ends the changelog, as it ends dpkg's reading.
/// Text after the last trailer that is none of those (an old-format tail) is kept in the last
/// entry's body rather than dropped.
///
/// Work is linear in the text: each line is looked at once and matched by at most two
/// regular expressions (the `regex` crate is linear in the line's length). At most
/// [`MAX_ENTRIES`] entries are kept. A caller passes at most a few MB.
pub fn parse(text: &str) -> Result<Vec<Entry>, NotAChangelog> {
    let mut entries: Vec<Entry> = Vec::new();
    // Blank lines seen since the last body line: kept only when more body follows, so a body
    // has no leading or trailing blank lines.
    let mut pending_blanks = 0usize;
    let mut after_trailer = false;

    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if ends_changelog(line) && !entries.is_empty() {
            break;
        }
        if let Some(header) = parse_header(line, number) {
            if entries.len() == MAX_ENTRIES {
                break;
            }
            entries.push(header);
            pending_blanks = 0;
            after_trailer = false;
            continue;
        }
        let blank = line.trim().is_empty();
        let Some(entry) = entries.last_mut() else {
            if blank || is_comment(line) {
                continue;
            }
            return Err(NotAChangelog::NoHeader { line: number });
        };
        if blank {
            pending_blanks += 1;
            continue;
        }
        if after_trailer && is_comment(line) {
            continue;
        }
        if !after_trailer && line.starts_with(" --") {
            let (maintainer, date) = parse_trailer(line);
            entry.maintainer = maintainer;
            entry.date = date;
            after_trailer = true;
            pending_blanks = 0;
            continue;
        }
        if !entry.body.is_empty() {
            for _ in 0..=pending_blanks {
                entry.body.push('\n');
            }
        }
        pending_blanks = 0;
        entry.body.push_str(line);
    }

    if entries.is_empty() {
        return Err(NotAChangelog::Empty);
    }
    Ok(entries)
}

/// True when the text carries debhelper's note that older entries were cut from it
/// (`dh_installchangelogs` from compat 14 keeps only recent entries), so a caller whose
/// [`crate::since`] did not reach the old version can say why.
pub fn says_trimmed(text: &str) -> bool {
    text.lines().any(|l| {
        is_comment(l)
            && l.to_ascii_lowercase()
                .contains("older entries have been removed from this changelog")
    })
}

fn parse_header(line: &str, number: usize) -> Option<Entry> {
    // Cheap first test: a header starts with a name character, a change line with a space.
    if !line.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let caps = HEADER.captures(line)?;
    let urgency = caps[4].split(',').find_map(|option| {
        let (key, value) = option.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("urgency") {
            return None;
        }
        value.split_whitespace().next().map(str::to_string)
    });
    Some(Entry {
        package: caps[1].to_string(),
        version: caps[2].to_string(),
        distributions: caps[3].split_whitespace().map(str::to_string).collect(),
        urgency,
        maintainer: None,
        date: None,
        body: String::new(),
        line: number,
    })
}

/// ` -- Name <mail>  Date`. dpkg wants exactly this; we take what is there: the maintainer up
/// to the last `>`, or else up to two spaces, and the rest as the date.
fn parse_trailer(line: &str) -> (Option<String>, Option<String>) {
    let rest = line.trim_start_matches(' ').trim_start_matches('-').trim();
    let (maintainer, date) = match rest.rfind('>') {
        Some(end) => rest.split_at(end + 1),
        None => rest.split_once("  ").unwrap_or((rest, "")),
    };
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    (some(maintainer), some(date))
}

/// dpkg skips `# ` lines anywhere; we skip them only between entries (see [`parse`]).
fn is_comment(line: &str) -> bool {
    line.starts_with('#')
}

/// Editor settings at the end of old changelogs: dpkg stops reading there.
fn ends_changelog(line: &str) -> bool {
    let l = line.strip_prefix(";;").map_or(line, str::trim_start);
    starts_with_ignore_case(l, "local variables:") || starts_with_ignore_case(line, "vim:")
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_fields() {
        let e = parse_header(
            "dpkg (1.4.0) unstable frozen; urgency=LOW (HIGH for new source format), x=y",
            3,
        )
        .unwrap();
        assert_eq!(e.package, "dpkg");
        assert_eq!(e.version, "1.4.0");
        assert_eq!(e.distributions, ["unstable", "frozen"]);
        assert_eq!(e.urgency.as_deref(), Some("LOW"));
        assert_eq!(e.line, 3);
        let e = parse_header("hello (1:2.10-3+b1) sid; binary-only=yes", 1).unwrap();
        assert_eq!(e.urgency, None);
        assert!(parse_header("  * not (1.0) a; header", 1).is_none());
        assert!(parse_header("pkg (1.0) unstable", 1).is_none());
    }

    #[test]
    fn trailer_fields() {
        assert_eq!(
            parse_trailer(" -- A B <a@b.org>  Mon, 01 Jan 2024 00:00:00 +0000"),
            (
                Some("A B <a@b.org>".into()),
                Some("Mon, 01 Jan 2024 00:00:00 +0000".into())
            )
        );
        assert_eq!(
            parse_trailer(" -- Someone  Tue"),
            (Some("Someone".into()), Some("Tue".into()))
        );
        assert_eq!(parse_trailer(" --"), (None, None));
    }

    #[test]
    fn editor_tail_ends_and_comments_skip() {
        let text = "p (2) unstable; urgency=low\n\n  * two\n\n -- M <m@x>  D\n\n# a note\n\np (1) unstable; urgency=low\n\n  * one\n\n -- M <m@x>  D\n\nLocal variables:\nmode: debian-changelog\n";
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].body, "  * two");
        assert_eq!(e[1].body, "  * one");
        assert_eq!(e[1].line, 9);
    }
}
