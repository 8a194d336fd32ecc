//! What evaluation produces: the view of an analysed package that rules are judged on, and
//! the findings (one verdict per rule, package and path) whose JSON shape is our contract.

use crate::model::{Rule, Severity};
use crate::set::Member;
use debgate_analyze::effective::EffectiveState;
use debgate_facts::change::Change;
use debgate_facts::Package;
use serde::Serialize;

/// A package with everything the analyzers found in it.
pub struct Analyzed<'a> {
    pub package: &'a Package,
    pub changes: &'a [Change],
    pub state: &'a EffectiveState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    NotApplicable,
    /// A failure accepted by a waiver (set by `debgate check`, never by `evaluate`): shown, but
    /// it does not fail the run.
    Waived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::NotApplicable => "not-applicable",
            Status::Waived => "waived",
        }
    }
}

/// One verdict. Field names are part of the JSON contract: add, never rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

impl Finding {
    /// A finding of `rule` about `pkg` (none: about the set) and `path`.
    pub fn of(
        rule: &Rule,
        status: Status,
        pkg: Option<&Package>,
        path: Option<&str>,
        message: String,
        evidence: Vec<String>,
    ) -> Finding {
        let member = pkg.map(Member::of);
        Finding {
            rule: rule.id.clone(),
            severity: rule.severity,
            status,
            package: member.as_ref().map(|m| m.name.clone()),
            file: member.map(|m| m.file),
            path: path.map(str::to_string),
            message,
            evidence,
        }
    }

    /// [`Finding::of`] about a package known by its [`Member`] (a set-level finding that names
    /// one package of the set, once the package itself is gone).
    pub fn about(
        rule: &Rule,
        status: Status,
        member: Option<&Member>,
        path: Option<&str>,
        message: String,
        evidence: Vec<String>,
    ) -> Finding {
        Finding {
            rule: rule.id.clone(),
            severity: rule.severity,
            status,
            package: member.map(|m| m.name.clone()),
            file: member.map(|m| m.file.clone()),
            path: path.map(str::to_string),
            message,
            evidence,
        }
    }
}
