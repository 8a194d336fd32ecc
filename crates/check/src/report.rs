//! The `check` report and its JSON contract: `packages`, `results`, `summary`. Fields may be
//! added; existing names never change.

use debgate_facts::Package;
use debgate_policy::{Finding, Severity, Status};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct PackageSummary {
    pub file: String,
    pub package: String,
    pub version: String,
    pub architecture: String,
    /// Why the package could not be read; such a package is not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PackageSummary {
    pub fn of(p: &Package) -> PackageSummary {
        PackageSummary {
            file: p.file.display().to_string(),
            package: p.name().to_string(),
            version: p.control.version().to_string(),
            architecture: p.control.architecture().to_string(),
            error: None,
        }
    }

    pub fn failed(file: &Path, err: &dyn std::fmt::Display) -> PackageSummary {
        PackageSummary {
            file: file.display().to_string(),
            package: String::new(),
            version: String::new(),
            architecture: String::new(),
            error: Some(err.to_string()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Package files given.
    pub packages: usize,
    /// Package files that could not be read.
    pub errors: usize,
    /// Failed results of any severity.
    pub failed: usize,
    pub passed: usize,
    pub not_applicable: usize,
    /// Failed results of severity error: these make the exit status 1.
    pub failed_errors: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub packages: Vec<PackageSummary>,
    pub results: Vec<Finding>,
    pub summary: Summary,
}

impl CheckReport {
    pub fn new(packages: Vec<PackageSummary>, results: Vec<Finding>) -> CheckReport {
        let count = |s: Status| results.iter().filter(|r| r.status == s).count();
        let summary = Summary {
            packages: packages.len(),
            errors: packages.iter().filter(|p| p.error.is_some()).count(),
            failed: count(Status::Fail),
            passed: count(Status::Pass),
            not_applicable: count(Status::NotApplicable),
            failed_errors: results
                .iter()
                .filter(|r| r.status == Status::Fail && r.severity == Severity::Error)
                .count(),
        };
        CheckReport {
            packages,
            results,
            summary,
        }
    }

    /// The documented exit status: 2 when a package could not be read, else 1 when a rule of
    /// severity error failed, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.summary.errors > 0 {
            2
        } else if self.summary.failed_errors > 0 {
            1
        } else {
            0
        }
    }
}
