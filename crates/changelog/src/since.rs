//! The entries newer than an installed version, as apt-listchanges shows them before an
//! upgrade, and whether the changelog went back far enough to be sure it showed them all.

use crate::Entry;
use debversion::Version;
use serde::Serialize;

/// A version longer than this is not compared, and counts as not parsing. Real versions are
/// under 100 characters; `debversion` compares digit runs as big integers, and a hostile
/// megabyte of digits in a header should not cost seconds.
pub const MAX_VERSION_LEN: usize = 256;

/// What [`since`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Since<'a> {
    /// The entries newer than the old version, in file order (newest first as written).
    pub entries: Vec<&'a Entry>,
    /// True when an entry at or below the old version was found, so `entries` is the whole
    /// story. False when the changelog ended first: it was trimmed (debhelper compat 14 keeps
    /// only recent entries, Ubuntu strips docs, [`crate::MAX_ENTRIES`] cut it) or cut, and the
    /// caller should say the list may be incomplete.
    pub reached: bool,
}

fn version(text: &str) -> Option<Version> {
    if text.len() > MAX_VERSION_LEN {
        return None;
    }
    text.trim().parse().ok()
}

/// The entries newer than `old_version`, in file order, stopping at the first entry whose
/// version is `<=` it in dpkg's order (as apt-listchanges does: a changelog is newest first,
/// and an out-of-order entry below that point is history, not news).
///
/// An entry whose version does not parse is included and the walk goes on: over-reporting
/// one entry is better than hiding the rest. When `old_version` itself does not parse there is
/// no order to compare with, so the walk stops only at an entry whose version is the same text
/// (`reached: true`); without one, every entry is returned with `reached: false`.
pub fn since<'a>(entries: &'a [Entry], old_version: &str) -> Since<'a> {
    let old_text = old_version.trim();
    let old = version(old_text);
    let mut newer = Vec::new();
    for entry in entries {
        let at_or_below = match &old {
            Some(old) => version(&entry.version).is_some_and(|v| v <= *old),
            None => entry.version.trim() == old_text,
        };
        if at_or_below {
            return Since {
                entries: newer,
                reached: true,
            };
        }
        newer.push(entry);
    }
    Since {
        entries: newer,
        reached: false,
    }
}
