//! Bug and CVE references in change text: CVE ids, Debian `Closes:` bugs, Launchpad `LP:` bugs,
//! each with the page a reader opens.
//!
//! The `Closes:` expression is Debian Policy 4.4's (section 4.4, the one dak and dpkg use to
//! close bugs), and the `LP:` one is Ubuntu's (Launchpad closes bugs with it), so a reference
//! here is one the archive acted on. Both run over the whole text, newlines included, because a
//! `Closes:` list may wrap onto the next line.

use serde::Serialize;
use std::collections::HashSet;
use std::sync::LazyLock;

/// What a [`Reference`] points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// A CVE id, `CVE-2024-28085`.
    Cve,
    /// A Debian bug closed by the upload, `Closes: #1067849`.
    Closes,
    /// A Launchpad bug, `LP: #1886112`.
    Lp,
}

/// One reference: its kind and its id (`CVE-2024-28085` upper-cased, or the bug number's
/// digits as written).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Reference {
    pub kind: RefKind,
    pub id: String,
}

impl Reference {
    /// The page for this reference: Debian's security tracker, Debian's BTS or Launchpad.
    pub fn url(&self) -> String {
        match self.kind {
            RefKind::Cve => format!("https://security-tracker.debian.org/tracker/{}", self.id),
            RefKind::Closes => format!("https://bugs.debian.org/{}", self.id),
            RefKind::Lp => format!("https://launchpad.net/bugs/{}", self.id),
        }
    }

    /// How a changelog writes it: `CVE-2024-28085`, `#1067849`, `LP: #1886112`.
    pub fn label(&self) -> String {
        match self.kind {
            RefKind::Cve => self.id.clone(),
            RefKind::Closes => format!("#{}", self.id),
            RefKind::Lp => format!("LP: #{}", self.id),
        }
    }
}

fn compile(expr: &str) -> regex::Regex {
    regex::Regex::new(expr).expect("the reference expressions are valid")
}

static CVE: LazyLock<regex::Regex> = LazyLock::new(|| compile(r"(?i)CVE-[0-9]{4}-[0-9]{4,}"));
static CLOSES: LazyLock<regex::Regex> =
    LazyLock::new(|| compile(r"(?i)closes:\s*(?:bug)?\#?\s?[0-9]+(?:,\s*(?:bug)?\#?\s?[0-9]+)*"));
static LP: LazyLock<regex::Regex> =
    LazyLock::new(|| compile(r"(?i)lp:\s+\#[0-9]+(?:,\s*\#[0-9]+)*"));
/// The numbers inside one `Closes:` or `LP:` match (dpkg's `find_closes` takes every number
/// of the match the same way).
static NUMBER: LazyLock<regex::Regex> = LazyLock::new(|| compile(r"[0-9]+"));

/// The references in `text`, in order of first appearance, each once. Linear in the text: the
/// three expressions run once each over it and their matches do not overlap within a kind.
pub fn references(text: &str) -> Vec<Reference> {
    // (offset, reference): gathered per kind, then put in text order.
    let mut found: Vec<(usize, Reference)> = Vec::new();
    for m in CVE.find_iter(text) {
        let id = m.as_str().to_ascii_uppercase();
        found.push((
            m.start(),
            Reference {
                kind: RefKind::Cve,
                id,
            },
        ));
    }
    for (expr, kind) in [(&*CLOSES, RefKind::Closes), (&*LP, RefKind::Lp)] {
        for m in expr.find_iter(text) {
            for n in NUMBER.find_iter(m.as_str()) {
                let id = n.as_str().to_string();
                found.push((m.start() + n.start(), Reference { kind, id }));
            }
        }
    }
    found.sort_by_key(|(offset, _)| *offset);
    let mut seen = HashSet::new();
    found
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| seen.insert(r.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<(RefKind, String)> {
        references(text)
            .into_iter()
            .map(|r| (r.kind, r.id))
            .collect()
    }

    #[test]
    fn closes_forms() {
        use RefKind::Closes;
        let c = |s: &str| (Closes, s.to_string());
        assert_eq!(ids("(Closes: #1, #2)"), [c("1"), c("2")]);
        assert_eq!(ids("  * x (Closes: #1,\n    #2)"), [c("1"), c("2")]);
        assert_eq!(ids("closes: 123"), [c("123")]);
        assert_eq!(ids("closes: bug#7"), [c("7")]);
        assert_eq!(ids("CLOSES:#8, bug 9"), [c("8"), c("9")]);
        // Not a Closes list: the number is not after "closes:".
        assert_eq!(ids("fixes #5; see bug 6"), []);
    }

    #[test]
    fn lp_and_cve_in_text_order() {
        let got = ids("LP: #123, #456 and cve-2024-1234, lp: #123, CVE-2024-28085 Closes: #9");
        assert_eq!(
            got,
            [
                (RefKind::Lp, "123".into()),
                (RefKind::Lp, "456".into()),
                (RefKind::Cve, "CVE-2024-1234".into()),
                (RefKind::Cve, "CVE-2024-28085".into()),
                (RefKind::Closes, "9".into()),
            ]
        );
        // LP: wants whitespace then '#'.
        assert_eq!(ids("LP:#1 LP: 2"), []);
        assert_eq!(ids("CVE-2024-123"), []);
    }

    #[test]
    fn urls_and_labels() {
        let r = |kind, id: &str| Reference {
            kind,
            id: id.into(),
        };
        let cve = r(RefKind::Cve, "CVE-2024-28085");
        assert_eq!(
            cve.url(),
            "https://security-tracker.debian.org/tracker/CVE-2024-28085"
        );
        assert_eq!(cve.label(), "CVE-2024-28085");
        let bug = r(RefKind::Closes, "1067849");
        assert_eq!(bug.url(), "https://bugs.debian.org/1067849");
        assert_eq!(bug.label(), "#1067849");
        let lp = r(RefKind::Lp, "1886112");
        assert_eq!(lp.url(), "https://launchpad.net/bugs/1886112");
        assert_eq!(lp.label(), "LP: #1886112");
        assert_eq!(
            serde_json::to_string(&lp).unwrap(),
            r#"{"kind":"lp","id":"1886112"}"#
        );
    }
}
