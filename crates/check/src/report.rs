//! The `check` report and its JSON contract: `packages`, `results`, `summary`. Fields may be
//! added; existing names never change.

use crate::waivers::{AppliedWaiver, Date, WaiverNotice, WaiverState, Waivers};
use debgate_facts::Package;
use debgate_policy::{Finding, RuleSet, Severity, Status};
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
    /// The `.changes` that listed this package, when it came from an upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
}

impl PackageSummary {
    pub fn of(p: &Package) -> PackageSummary {
        PackageSummary {
            file: p.file.display().to_string(),
            package: p.name().to_string(),
            version: p.control.version().to_string(),
            architecture: p.control.architecture().to_string(),
            error: None,
            upload: None,
        }
    }

    pub fn failed(file: &Path, err: &dyn std::fmt::Display) -> PackageSummary {
        PackageSummary {
            file: file.display().to_string(),
            package: String::new(),
            version: String::new(),
            architecture: String::new(),
            error: Some(err.to_string()),
            upload: None,
        }
    }
}

/// One `.changes` checked.
#[derive(Debug, Clone, Serialize)]
pub struct UploadSummary {
    pub file: String,
    /// Source name and version, as the `.changes` gives them (empty when it could not be parsed).
    pub source: String,
    pub version: String,
    /// The signing key's fingerprint, when a keyring was given and the signature is good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// Why the `.changes` could not be checked; its packages are then not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Package files given (directly or listed by a `.changes`).
    pub packages: usize,
    /// Package files that could not be read, plus `.changes` files that could not be checked.
    pub errors: usize,
    /// Failed results of any severity.
    pub failed: usize,
    pub passed: usize,
    pub not_applicable: usize,
    /// Failed results of severity error (whatever `--fail-on` says).
    pub failed_errors: usize,
    /// Failures accepted by a waiver (not counted in `failed`).
    pub waived: usize,
    /// The lowest severity that fails the run (`--fail-on`, default error).
    pub fail_on: Severity,
    /// Failed results of severity `fail_on` or higher: these make the exit status 1.
    pub failed_threshold: usize,
    /// Waivers that matched no failure.
    pub unused_waivers: usize,
    /// Waivers past their date, whose failures stand.
    pub expired_waivers: usize,
    /// Waivers of a rule that is not waivable, whose failures stand.
    pub rejected_waivers: usize,
}

impl Summary {
    /// The documented exit status (see [`CheckReport::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        if self.errors > 0 {
            2
        } else if self.failed_threshold > 0 {
            1
        } else {
            0
        }
    }
}

/// One result: the rule's finding and, when a waiver names it, that waiver. The finding's
/// fields are flattened, so the JSON is the finding's with an added `waiver` object.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    #[serde(flatten)]
    pub finding: Finding,
    /// The waiver naming this result: applied (status `waived`), or expired or rejected (the
    /// failure stands).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<AppliedWaiver>,
    /// The `.changes` whose set this result belongs to, when the packages came from an upload
    /// (each upload is judged as its own set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
}

impl std::ops::Deref for CheckResult {
    type Target = Finding;
    fn deref(&self) -> &Finding {
        &self.finding
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub packages: Vec<PackageSummary>,
    /// The `.changes` files checked (absent when none was given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<UploadSummary>,
    pub results: Vec<CheckResult>,
    /// What became of each waiver (applied, unused, expired, rejected), in file order.
    pub waivers: Vec<WaiverNotice>,
    pub summary: Summary,
}

impl CheckReport {
    pub fn new(packages: Vec<PackageSummary>, results: Vec<Finding>) -> CheckReport {
        let results: Vec<CheckResult> = results
            .into_iter()
            .map(|finding| CheckResult {
                finding,
                waiver: None,
                upload: None,
            })
            .collect();
        CheckReport::from_parts(packages, Vec::new(), results)
    }

    /// A report of packages, uploads and results already tagged with their upload.
    pub fn from_parts(
        packages: Vec<PackageSummary>,
        uploads: Vec<UploadSummary>,
        results: Vec<CheckResult>,
    ) -> CheckReport {
        let summary = summarize(&packages, &uploads, &results, &[], Severity::Error);
        CheckReport {
            packages,
            uploads,
            results,
            waivers: Vec::new(),
            summary,
        }
    }

    /// Apply the waivers (as of `today`) and the `--fail-on` threshold, and recount.
    pub fn gate(&mut self, rules: &RuleSet, waivers: &Waivers, fail_on: Severity, today: Date) {
        let mut findings: Vec<Finding> = self.results.iter().map(|r| r.finding.clone()).collect();
        let (applied, notices) = waivers.apply(rules, &mut findings, today);
        let uploads: Vec<Option<String>> = self.results.iter().map(|r| r.upload.clone()).collect();
        self.results = findings
            .into_iter()
            .zip(applied)
            .zip(uploads)
            .map(|((finding, waiver), upload)| CheckResult {
                finding,
                waiver,
                upload,
            })
            .collect();
        self.waivers = notices;
        self.summary = summarize(
            &self.packages,
            &self.uploads,
            &self.results,
            &self.waivers,
            fail_on,
        );
    }

    /// The documented exit status: 2 when a package or `.changes` could not be read, else 1 when a result of
    /// severity `--fail-on` or higher failed (waived results don't), else 0.
    pub fn exit_code(&self) -> i32 {
        self.summary.exit_code()
    }
}

fn summarize(
    packages: &[PackageSummary],
    uploads: &[UploadSummary],
    results: &[CheckResult],
    waivers: &[WaiverNotice],
    fail_on: Severity,
) -> Summary {
    let mut counts = Counts::default();
    packages.iter().for_each(|p| counts.package(p));
    uploads.iter().for_each(|u| counts.upload(u));
    results.iter().for_each(|r| counts.result(r));
    counts.summary(waivers, fail_on)
}

/// The summary's counts, taken one package and one result at a time, for a run that streams
/// them and keeps none.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    packages: usize,
    errors: usize,
    failed: usize,
    passed: usize,
    not_applicable: usize,
    waived: usize,
    /// Failures per severity (info, warning, error).
    failed_by_severity: [usize; 3],
}

impl Counts {
    pub fn package(&mut self, p: &PackageSummary) {
        self.packages += 1;
        self.errors += usize::from(p.error.is_some());
    }

    pub fn upload(&mut self, u: &UploadSummary) {
        self.errors += usize::from(u.error.is_some());
    }

    pub fn result(&mut self, r: &CheckResult) {
        match r.status {
            Status::Fail => {
                self.failed += 1;
                self.failed_by_severity[r.severity as usize] += 1;
            }
            Status::Pass => self.passed += 1,
            Status::NotApplicable => self.not_applicable += 1,
            Status::Waived => self.waived += 1,
        }
    }

    /// The summary, with what became of the waivers and the `--fail-on` threshold.
    pub fn summary(&self, waivers: &[WaiverNotice], fail_on: Severity) -> Summary {
        let failed_at = |min: Severity| self.failed_by_severity[min as usize..].iter().sum();
        let notices = |s: WaiverState| waivers.iter().filter(|w| w.waiver.state == s).count();
        Summary {
            packages: self.packages,
            errors: self.errors,
            failed: self.failed,
            passed: self.passed,
            not_applicable: self.not_applicable,
            failed_errors: failed_at(Severity::Error),
            waived: self.waived,
            fail_on,
            failed_threshold: failed_at(fail_on),
            unused_waivers: notices(WaiverState::Unused),
            expired_waivers: notices(WaiverState::Expired),
            rejected_waivers: notices(WaiverState::Rejected),
        }
    }
}
