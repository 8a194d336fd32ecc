//! Applying waivers to a check's findings: covered failures become `waived`, and every waiver
//! gets a notice saying what became of it (applied, unused, expired or rejected).

use super::{Date, Waiver, Waivers};
use debgate_policy::{Finding, RuleSet, Status};
use serde::Serialize;

impl Waivers {
    /// Apply the waivers to the findings as of `today`: covered failures become `waived`, and
    /// every waiver gets a notice saying what became of it.
    pub fn apply(
        &self,
        rules: &RuleSet,
        findings: &mut [Finding],
        today: Date,
    ) -> (Vec<Option<AppliedWaiver>>, Vec<WaiverNotice>) {
        let mut applier = self.applier(rules, today);
        let applied = findings.iter_mut().map(|f| applier.apply(f)).collect();
        (applied, applier.notices())
    }

    /// The waivers applied one finding at a time, for a run that streams its results: each
    /// finding comes out as [`Waivers::apply`] would leave it, and the notices at the end are
    /// the same, whatever the order the findings come in.
    pub fn applier<'a>(&'a self, rules: &'a RuleSet, today: Date) -> Applier<'a> {
        Applier {
            waivers: self,
            rules,
            today,
            matched: vec![0; self.waivers.len()],
        }
    }
}

/// See [`Waivers::applier`].
pub struct Applier<'a> {
    waivers: &'a Waivers,
    rules: &'a RuleSet,
    today: Date,
    /// Failures each waiver named so far.
    matched: Vec<usize>,
}

impl Applier<'_> {
    fn state(&self, w: &Waiver) -> (bool, bool) {
        let waivable = self.rules.get(&w.rule).is_none_or(|r| r.waivable);
        let expired = w.expires.is_some_and(|d| d < self.today);
        (waivable, expired)
    }

    /// Apply the waivers to one finding: the first that covers a failure and applies makes it
    /// `waived`; the waiver shown with it.
    pub fn apply(&mut self, f: &mut Finding) -> Option<AppliedWaiver> {
        let mut slot: Option<AppliedWaiver> = None;
        for (i, w) in self.waivers.waivers.iter().enumerate() {
            // A failure already waived by an earlier waiver is not counted again.
            if f.status != Status::Fail || !w.covers(f) {
                continue;
            }
            self.matched[i] += 1;
            let (waivable, expired) = self.state(w);
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
                slot = Some(AppliedWaiver::of(w, state));
            }
        }
        slot
    }

    /// What became of each waiver, in file order.
    pub fn notices(self) -> Vec<WaiverNotice> {
        let mut notices = Vec::new();
        for (w, &count) in self.waivers.waivers.iter().zip(&self.matched) {
            let (waivable, expired) = self.state(w);
            let rules = self.rules;
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
                    WaiverState::Unused if rules.get(&w.rule).is_none() => format!(
                    "rule `{}` is not selected in this run (--policy, --tag); nothing to waive",
                    w.rule
                ),
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
        notices
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

#[cfg(test)]
mod tests {
    use super::WaiverState;
    use crate::waivers::{Date, Waivers};
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
}
