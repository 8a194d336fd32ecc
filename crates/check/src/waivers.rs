//! Waivers as data: accepted exceptions to rules, each with a reason and a bug, optionally
//! expiring. Loaded like policies (TOML with spans, every error at once with
//! `file:line:column` and a stable kebab-case code) and applied to a check's findings.
//!
//! A waiver that accepts nothing is reported as unused, as lintian reports unused overrides, so
//! that stale exceptions get noticed and removed.

use debgate_policy::model::Location;
use debgate_policy::spanned::unknown_keys;
use debgate_policy::{Finding, PolicyError, RuleSet, Status};
use globset::{Glob, GlobMatcher};
use serde::Serialize;
use std::path::Path;
use thiserror::Error;
use toml_span::value::ValueInner;
use toml_span::{Span, Value};

/// The default waiver file, read when present and no `--waivers` is given: a maintainer runs
/// debgate from the source package's top directory, where `debian/` holds the packaging and
/// its lintian overrides too.
pub const DEFAULT_WAIVERS: &str = "debian/debgate-waivers.toml";

/// Every problem found in a waiver file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{} error(s) in waiver files:\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct WaiverErrors(pub Vec<PolicyError>);

/// A calendar date, compared as (year, month, day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Parse `YYYY-MM-DD` (a real day of the Gregorian calendar).
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let t = &s[r];
            t.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| t.parse().ok())?
        };
        let (year, month, day) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days)
            .contains(&day)
            .then_some(Date { year, month, day })
    }

    /// Today in UTC from the system clock. Days since the epoch to a civil date by Howard
    /// Hinnant's algorithm, which saves a date-time dependency for one comparison.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let z = (secs / 86_400) as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// One accepted exception, as declared.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub rule: String,
    pub package: String,
    package_glob: GlobMatcher,
    pub path: Option<String>,
    path_glob: Option<GlobMatcher>,
    pub reason: String,
    pub bug: String,
    pub expires: Option<Date>,
    pub location: Location,
}

impl Waiver {
    /// Whether this waiver names the finding. A set-level finding (no package) is named only by
    /// the package glob `*`; a waiver with a path names only findings with a matching path.
    fn covers(&self, f: &Finding) -> bool {
        if f.rule != self.rule {
            return false;
        }
        let package_ok = match &f.package {
            Some(p) => self.package_glob.is_match(p),
            None => self.package == "*",
        };
        let path_ok = match (&self.path_glob, &f.path) {
            (None, _) => true,
            (Some(g), Some(p)) => g.is_match(p),
            (Some(_), None) => false,
        };
        package_ok && path_ok
    }
}

/// The waivers of one or more files, in declaration order (the first that covers a finding
/// applies).
#[derive(Debug, Clone, Default)]
pub struct Waivers {
    pub waivers: Vec<Waiver>,
}

const KEYS: [&str; 6] = ["rule", "package", "path", "reason", "bug", "expires"];

impl Waivers {
    /// Read and check a waiver file against the loaded rules (a waiver naming no loaded rule is
    /// an error: it is almost always a typo, and it would otherwise silently waive nothing).
    pub fn load(path: &Path, rules: &RuleSet) -> Result<Waivers, WaiverErrors> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Waivers::parse(&name, &text, rules),
            Err(e) => Err(WaiverErrors(vec![PolicyError {
                location: Location {
                    file: name,
                    line: 0,
                    column: 0,
                },
                code: "unreadable-waivers",
                message: e.to_string(),
            }])),
        }
    }

    /// Parse waivers from text; `file` names it in messages.
    pub fn parse(file: &str, text: &str, rules: &RuleSet) -> Result<Waivers, WaiverErrors> {
        let mut cx = Cx {
            file,
            src: text,
            errors: Vec::new(),
        };
        let waivers = cx.file(rules);
        // Checks run key by key, not in text order; report in the order of the file.
        cx.errors
            .sort_by_key(|e| (e.location.line, e.location.column));
        if cx.errors.is_empty() {
            Ok(Waivers { waivers })
        } else {
            Err(WaiverErrors(cx.errors))
        }
    }

    /// Apply the waivers to the findings as of `today`: covered failures become `waived`, and
    /// every waiver gets a notice saying what became of it.
    pub fn apply(
        &self,
        rules: &RuleSet,
        findings: &mut [Finding],
        today: Date,
    ) -> (Vec<Option<AppliedWaiver>>, Vec<WaiverNotice>) {
        let mut applied: Vec<Option<AppliedWaiver>> = vec![None; findings.len()];
        let mut notices = Vec::new();
        for w in &self.waivers {
            let waivable = rules.get(&w.rule).is_none_or(|r| r.waivable);
            let expired = w.expires.is_some_and(|d| d < today);
            let mut count = 0;
            for (f, slot) in findings.iter_mut().zip(applied.iter_mut()) {
                // A failure already waived by an earlier waiver is not counted again.
                if f.status != Status::Fail || !w.covers(f) {
                    continue;
                }
                count += 1;
                let state = if !waivable {
                    WaiverState::Rejected
                } else if expired {
                    WaiverState::Expired
                } else {
                    f.status = Status::Waived;
                    WaiverState::Applied
                };
                // An expired or rejected waiver is still recorded on the failure so that the
                // output can say why the failure stands.
                if slot.is_none() || state == WaiverState::Applied {
                    *slot = Some(AppliedWaiver::of(w, state));
                }
            }
            let state = if !waivable {
                WaiverState::Rejected
            } else if expired {
                WaiverState::Expired
            } else if count == 0 {
                WaiverState::Unused
            } else {
                WaiverState::Applied
            };
            notices.push(WaiverNotice {
                waiver: AppliedWaiver::of(w, state),
                rule: w.rule.clone(),
                package: w.package.clone(),
                path: w.path.clone(),
                matched: count,
                message: match state {
                    WaiverState::Applied => format!("waives {count} failure(s)"),
                    WaiverState::Unused => "matches no failure; remove it".to_string(),
                    WaiverState::Expired => format!(
                        "expired on {}; {count} failure(s) it names stand",
                        w.expires.map(|d| d.to_string()).unwrap_or_default()
                    ),
                    WaiverState::Rejected => format!(
                        "rule `{}` is not waivable (waivable = false); {count} failure(s) it names stand",
                        w.rule
                    ),
                },
            });
        }
        (applied, notices)
    }
}

/// What became of a waiver in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaiverState {
    /// It accepted at least one failure.
    Applied,
    /// It named no failure.
    Unused,
    /// Its date has passed: the failures it names stand.
    Expired,
    /// Its rule is `waivable = false`: the failures it names stand.
    Rejected,
}

impl WaiverState {
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverState::Applied => "applied",
            WaiverState::Unused => "unused",
            WaiverState::Expired => "expired",
            WaiverState::Rejected => "rejected",
        }
    }
}

/// The waiver that names a result, as shown with it. Part of the JSON contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedWaiver {
    pub state: WaiverState,
    pub reason: String,
    pub bug: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `file:line:column` of the waiver.
    pub declared_at: String,
    /// The waiver file alone, for formats that point at it (SARIF suppressions).
    #[serde(skip)]
    pub file: String,
}

impl AppliedWaiver {
    fn of(w: &Waiver, state: WaiverState) -> AppliedWaiver {
        AppliedWaiver {
            state,
            reason: w.reason.clone(),
            bug: w.bug.clone(),
            expires: w.expires.map(|d| d.to_string()),
            declared_at: w.location.to_string(),
            file: w.location.file.clone(),
        }
    }
}

/// One line per waiver in the report: applied, unused, expired or rejected. Part of the JSON
/// contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaiverNotice {
    pub rule: String,
    pub package: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Failures the waiver names (accepted only when applied).
    pub matched: usize,
    pub message: String,
    #[serde(flatten)]
    pub waiver: AppliedWaiver,
}

struct Cx<'a> {
    file: &'a str,
    src: &'a str,
    errors: Vec<PolicyError>,
}

impl Cx<'_> {
    fn location(&self, span: Span) -> Location {
        debgate_policy::spanned::locate(self.file, self.src, span)
    }

    fn err(&mut self, span: Span, code: &'static str, message: impl Into<String>) {
        let location = self.location(span);
        self.errors.push(PolicyError {
            location,
            code,
            message: message.into(),
        });
    }

    fn file(&mut self, rules: &RuleSet) -> Vec<Waiver> {
        let Some(table) = debgate_policy::spanned::parse_table(
            self.file,
            self.src,
            "a waiver file",
            &mut self.errors,
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in &table {
            if key.name != "waiver" {
                self.err(
                    key.span,
                    "unknown-key",
                    format!("unknown top-level key `{}`; expected `waiver`", key.name),
                );
                continue;
            }
            match value.as_ref() {
                ValueInner::Array(items) => {
                    for item in items {
                        if let Some(w) = self.waiver(item, rules) {
                            out.push(w);
                        }
                    }
                }
                other => self.err(
                    value.span,
                    "wrong-type",
                    format!(
                        "`waiver` must be an array of tables (`[[waiver]]`), found {}",
                        other.type_str()
                    ),
                ),
            }
        }
        out
    }

    fn string(&mut self, value: &Value<'_>, what: &str) -> Option<String> {
        match value.as_ref() {
            ValueInner::String(s) if s.trim().is_empty() => {
                self.err(
                    value.span,
                    "bad-value",
                    format!("`{what}` must not be empty"),
                );
                None
            }
            ValueInner::String(s) => Some(s.to_string()),
            other => {
                self.err(
                    value.span,
                    "wrong-type",
                    format!("`{what}` must be a string, found {}", other.type_str()),
                );
                None
            }
        }
    }

    fn glob(&mut self, value: &Value<'_>, what: &str, literal_separator: bool) -> Option<String> {
        let s = self.string(value, what)?;
        match globset::GlobBuilder::new(&s)
            .literal_separator(literal_separator)
            .build()
        {
            Ok(_) => Some(s),
            Err(e) => {
                self.err(
                    value.span,
                    "bad-glob",
                    format!("`{what}` pattern `{s}`: {}", e.kind()),
                );
                None
            }
        }
    }

    fn waiver(&mut self, value: &Value<'_>, rules: &RuleSet) -> Option<Waiver> {
        let ValueInner::Table(t) = value.as_ref() else {
            self.err(value.span, "wrong-type", "`waiver` must be a table");
            return None;
        };
        let location = self.location(value.span);
        let before = self.errors.len();
        unknown_keys(t, &KEYS, "in waiver", &KEYS, |span, msg| {
            self.err(span, "unknown-key", msg)
        });
        let get = |name: &str| t.iter().find(|(k, _)| k.name == name).map(|(_, v)| v);
        let required = |cx: &mut Self, name: &str| {
            let v = get(name);
            if v.is_none() {
                let why = match name {
                    "reason" | "bug" => " (an exception needs a reason and a bug to track it)",
                    _ => "",
                };
                cx.err(
                    value.span,
                    "missing-key",
                    format!("waiver has no `{name}`{why}"),
                );
            }
            v
        };
        let rule = required(self, "rule").and_then(|v| {
            let s = self.string(v, "rule")?;
            if rules.get(&s).is_none() {
                self.err(
                    v.span,
                    "unknown-rule",
                    format!("no loaded rule has id `{s}`; `debgate rules` lists them"),
                );
                return None;
            }
            Some(s)
        });
        let package = required(self, "package").and_then(|v| self.glob(v, "package", false));
        let path = get("path").and_then(|v| self.glob(v, "path", true));
        let reason = required(self, "reason").and_then(|v| self.string(v, "reason"));
        let bug = required(self, "bug").and_then(|v| self.string(v, "bug"));
        let expires = get("expires").and_then(|v| {
            // toml-span reads no TOML date literals, so the date is a quoted string.
            let s = self.string(v, "expires")?;
            let d = Date::parse(&s);
            if d.is_none() {
                self.err(
                    v.span,
                    "bad-date",
                    format!("`expires` must be a date written \"YYYY-MM-DD\", found `{s}`"),
                );
            }
            d
        });
        if self.errors.len() > before {
            return None;
        }
        let package = package?;
        let matcher = |s: &str, sep: bool| {
            Glob::new(s).ok().map(|_| {
                globset::GlobBuilder::new(s)
                    .literal_separator(sep)
                    .build()
                    .map(|g| g.compile_matcher())
            })
        };
        let package_glob = matcher(&package, false)?.ok()?;
        let path_glob = match &path {
            Some(p) => Some(matcher(p, true)?.ok()?),
            None => None,
        };
        Some(Waiver {
            rule: rule?,
            package,
            package_glob,
            path,
            path_glob,
            reason: reason?,
            bug: bug?,
            expires,
            location,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Date, WaiverState, Waivers};
    use debgate_policy::{load_sources, Finding, Severity, Status};

    const POLICY: &str = "[[rule]]\nid = \"a\"\nseverity = \"error\"\ntitle = \"t\"\nexplanation = \"e\"\nreferences = [\"r\"]\npaths = [\"/x\"]\nassert = { kind = \"exists\" }\n";

    fn fail(package: Option<&str>, path: Option<&str>) -> Finding {
        Finding {
            rule: "a".into(),
            severity: Severity::Error,
            status: Status::Fail,
            package: package.map(Into::into),
            file: None,
            path: path.map(Into::into),
            message: "m".into(),
            evidence: Vec::new(),
        }
    }

    fn today() -> Date {
        Date::parse("2026-06-01").unwrap()
    }

    #[test]
    fn the_first_waiver_applies_and_set_results_need_a_star() {
        let rules = load_sources(&[("p.toml", POLICY)]).unwrap();
        let text = "[[waiver]]\nrule = \"a\"\npackage = \"lib*\"\npath = \"/x\"\nreason = \"r1\"\nbug = \"b1\"\n\n[[waiver]]\nrule = \"a\"\npackage = \"*\"\nreason = \"r2\"\nbug = \"b2\"\n";
        let w = Waivers::parse("w.toml", text, &rules).unwrap();
        let mut findings = vec![
            fail(Some("libfoo"), Some("/x")),
            fail(Some("libfoo"), Some("/y")),
            fail(None, None),
        ];
        let (applied, notices) = w.apply(&rules, &mut findings, today());
        assert!(findings.iter().all(|f| f.status == Status::Waived));
        let reasons: Vec<&str> = applied
            .iter()
            .map(|a| a.as_ref().unwrap().reason.as_str())
            .collect();
        assert_eq!(reasons, ["r1", "r2", "r2"]);
        assert_eq!((notices[0].matched, notices[1].matched), (1, 2));
    }

    #[test]
    fn a_waiver_expires_after_its_day() {
        let rules = load_sources(&[("p.toml", POLICY)]).unwrap();
        for (expires, state, status) in [
            ("2026-06-01", WaiverState::Applied, Status::Waived),
            ("2026-05-31", WaiverState::Expired, Status::Fail),
        ] {
            let text = format!("[[waiver]]\nrule = \"a\"\npackage = \"*\"\nreason = \"r\"\nbug = \"b\"\nexpires = \"{expires}\"\n");
            let w = Waivers::parse("w.toml", &text, &rules).unwrap();
            let mut findings = vec![fail(Some("p"), None)];
            let (_, notices) = w.apply(&rules, &mut findings, today());
            assert_eq!(
                (notices[0].waiver.state, findings[0].status),
                (state, status)
            );
        }
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(
            Date::parse("2024-02-29"),
            Some(Date {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024-01-00",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn today_is_a_real_date_after_this_code_was_written() {
        let t = Date::today();
        assert!(Date::parse(&t.to_string()).is_some());
        assert!(t >= Date::parse("2024-01-01").unwrap());
    }
}
