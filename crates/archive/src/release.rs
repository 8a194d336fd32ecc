//! A suite's `Release` file (the text an `InRelease` signature covers): which suite it is, when
//! it was made and until when it is valid, and the SHA-256 and size of every index it lists.
//! Judged as apt judges it: a suite or codename other than the one asked for, a `Date` in the
//! future, an expired `Valid-Until` and an index it does not list are errors.

use chrono::{DateTime, Utc};
use debgate_facts::unhex;
use std::collections::BTreeMap;
use thiserror::Error;

/// How far in the future a `Date` may be before the file is "not valid yet": apt's default
/// `Acquire::Max-FutureTime`, 10 days, which allows for a wrong clock on either side.
pub const MAX_FUTURE_SECONDS: i64 = 10 * 24 * 60 * 60;

/// One index a `Release` lists under `SHA256:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSum {
    pub sha256: [u8; 32],
    pub size: u64,
}

/// What a `Release` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub date: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    /// `Acquire-By-Hash: yes`: indexes can be fetched by their hash
    /// (`…/by-hash/SHA256/HEX`), so that a mirror updating mid-run cannot mix two states.
    pub acquire_by_hash: bool,
    /// Every `SHA256:` line, by path relative to the suite's directory
    /// (`main/binary-amd64/Packages.xz`).
    pub sha256: BTreeMap<String, IndexSum>,
}

/// Why a `Release` is refused; each message is one line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReleaseError {
    #[error("Release line {line}: {detail}")]
    Syntax { line: usize, detail: String },
    #[error("Release: field {field}: `{value}` is not an RFC 2822 date")]
    BadDate { field: &'static str, value: String },
    #[error("Release is for suite {got}, not {asked} (Suite and Codename both differ)")]
    WrongSuite { asked: String, got: String },
    #[error("Release is not valid yet: its Date, {date}, is more than 10 days ahead of this machine's clock ({now})")]
    NotValidYet { date: String, now: String },
    #[error("Release expired: Valid-Until {until} is before this machine's clock ({now})")]
    Expired { until: String, now: String },
    #[error("Release lists no SHA256 for {0}: an index it does not list is never read")]
    NotListed(String),
}

/// apt writes dates as `Sat, 09 Nov 2024 10:45:38 UTC`; RFC 2822 spells that zone `+0000`
/// (`GMT` and `UT` are its obsolete names, `UTC` is none of them), so it is mapped first.
fn date(field: &'static str, value: &str) -> Result<DateTime<Utc>, ReleaseError> {
    let v = value.trim();
    let normal = match v.strip_suffix(" UTC") {
        Some(head) => format!("{head} +0000"),
        None => v.to_string(),
    };
    DateTime::parse_from_rfc2822(&normal)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| ReleaseError::BadDate {
            field,
            value: v.chars().take(64).collect(),
        })
}

impl Release {
    /// Parse the signed text of an `InRelease` (or a `Release` whose detached signature was
    /// checked). One deb822 paragraph; `SHA256:` continues on lines that start with a space.
    pub fn parse(text: &str) -> Result<Release, ReleaseError> {
        let mut r = Release {
            suite: None,
            codename: None,
            date: None,
            valid_until: None,
            acquire_by_hash: false,
            sha256: BTreeMap::new(),
        };
        let mut field = String::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let syntax = |detail: &str| ReleaseError::Syntax {
                line: n,
                detail: detail.to_string(),
            };
            if line.trim().is_empty() {
                // A second paragraph would be a second Release: apt reads only the first.
                if r.sha256.is_empty() && r.suite.is_none() && r.codename.is_none() {
                    continue;
                }
                break;
            }
            if line.starts_with([' ', '\t']) {
                if field.eq_ignore_ascii_case("SHA256") {
                    let parts: Vec<&str> = line.split_whitespace().collect();
                    let [hash, size, path] = parts[..] else {
                        return Err(syntax("a SHA256 line is not `HASH SIZE PATH`"));
                    };
                    let sha256 =
                        unhex::<32>(hash.as_bytes()).ok_or_else(|| syntax("not a SHA-256"))?;
                    let size = size.parse().map_err(|_| syntax("not a size"))?;
                    r.sha256.insert(path.to_string(), IndexSum { sha256, size });
                }
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(syntax("not a `Field: value` line"));
            };
            field = name.trim().to_string();
            let value = value.trim();
            match field.to_ascii_lowercase().as_str() {
                "suite" => r.suite = Some(value.to_string()),
                "codename" => r.codename = Some(value.to_string()),
                "date" => r.date = Some(date("Date", value)?),
                "valid-until" => r.valid_until = Some(date("Valid-Until", value)?),
                "acquire-by-hash" => r.acquire_by_hash = value.eq_ignore_ascii_case("yes"),
                _ => {}
            }
        }
        Ok(r)
    }

    /// apt's checks against the suite asked for, at `now`.
    pub fn check(&self, asked: &str, now: DateTime<Utc>) -> Result<(), ReleaseError> {
        let names = [self.suite.as_deref(), self.codename.as_deref()];
        if !names.iter().flatten().any(|n| *n == asked) {
            return Err(ReleaseError::WrongSuite {
                asked: asked.to_string(),
                got: names
                    .iter()
                    .flatten()
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" / "),
            });
        }
        if let Some(d) = self.date {
            if (d - now).num_seconds() > MAX_FUTURE_SECONDS {
                return Err(ReleaseError::NotValidYet {
                    date: d.to_rfc2822(),
                    now: now.to_rfc2822(),
                });
            }
        }
        if let Some(u) = self.valid_until {
            if u < now {
                return Err(ReleaseError::Expired {
                    until: u.to_rfc2822(),
                    now: now.to_rfc2822(),
                });
            }
        }
        Ok(())
    }

    /// The listed sum of `path`, or the error that it is not listed.
    pub fn sum(&self, path: &str) -> Result<&IndexSum, ReleaseError> {
        self.sha256
            .get(path)
            .ok_or_else(|| ReleaseError::NotListed(path.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Origin: Debian\nSuite: stable\nCodename: bookworm\n\
        Date: Sat, 09 Nov 2024 10:45:38 UTC\nValid-Until: Sat, 16 Nov 2024 10:45:38 UTC\n\
        Acquire-By-Hash: yes\nMD5Sum:\n 0123 12 main/x\nSHA256:\n \
        a3f0e3a8b3fd2a2d9a2ebbd2f0f55d1b7dbd1a7c1c0bb2a3e4ab5ddde0f3d0a1 123 main/binary-amd64/Packages.xz\n \
        00000000000000000000000000000000000000000000000000000000000000ff 0 main/binary-amd64/Packages\n";

    fn at(s: &str) -> DateTime<Utc> {
        date("test", s).unwrap()
    }

    #[test]
    fn parses_what_apt_reads() {
        let r = Release::parse(TEXT).unwrap();
        assert_eq!(r.suite.as_deref(), Some("stable"));
        assert_eq!(r.codename.as_deref(), Some("bookworm"));
        assert!(r.acquire_by_hash);
        assert_eq!(r.sha256.len(), 2);
        let s = r.sum("main/binary-amd64/Packages.xz").unwrap();
        assert_eq!((s.size, s.sha256[0]), (123, 0xa3));
        assert_eq!(r.date, Some(at("Sat, 09 Nov 2024 10:45:38 +0000")));
        assert!(matches!(
            r.sum("main/binary-arm64/Packages.xz"),
            Err(ReleaseError::NotListed(_))
        ));
    }

    #[test]
    fn apts_release_errors() {
        let r = Release::parse(TEXT).unwrap();
        let now = at("Sun, 10 Nov 2024 00:00:00 UTC");
        r.check("bookworm", now).unwrap();
        r.check("stable", now).unwrap();
        assert!(matches!(
            r.check("trixie", now),
            Err(ReleaseError::WrongSuite { .. })
        ));
        let expired = r.check("bookworm", at("Sun, 17 Nov 2024 00:00:00 UTC"));
        assert!(
            matches!(expired, Err(ReleaseError::Expired { .. })),
            "{expired:?}"
        );
        // Ten days of clock skew are allowed, as apt allows them; more are not.
        let mut no_until = r.clone();
        no_until.valid_until = None;
        no_until
            .check("bookworm", at("Thu, 31 Oct 2024 12:00:00 UTC"))
            .unwrap();
        let early = no_until.check("bookworm", at("Mon, 28 Oct 2024 00:00:00 UTC"));
        assert!(
            matches!(early, Err(ReleaseError::NotValidYet { .. })),
            "{early:?}"
        );
    }

    #[test]
    fn malformed_lines_and_dates_are_errors_with_their_line() {
        for (text, needle) in [
            ("Suite: x\nSHA256:\n zz 1 a\n", "line 3"),
            ("Suite: x\nSHA256:\n 00 1\n", "line 3"),
            ("Suite: x\nno colon\n", "line 2"),
            ("Suite: x\nDate: yesterday\n", "Date"),
        ] {
            let e = Release::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains('\n'));
        }
    }
}
