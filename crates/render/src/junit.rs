//! `--format junit`: one `<testsuite>` per package (and one named `(set)` for set-level
//! results, one per `.changes` for an upload's checks and set-level results), one `<testcase>` per rule evaluated there. A failure is `<failure>` with the
//! message and the evidence; not-applicable and waived results are `<skipped>` with the reason.
//! No timestamps or durations, so the output is reproducible.

use crate::{result_name, RenderError, RenderOptions};
use debgate_check::CheckReport;
use debgate_policy::Status;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::io::Write;

/// The suite of set-level results (a sysctl value over the whole set has no one package).
const SET_SUITE: &str = "(set)";

/// Write the report as JUnit XML. Every result is a test case whatever the options say: CI
/// counts them.
pub fn junit(
    report: &CheckReport,
    _opts: &RenderOptions,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let mut junit = Report::new("debgate check");
    // Suites in the order packages were given, then the set; unreadable packages get a suite
    // with one errored case so that CI shows them.
    let mut suites: Vec<(String, TestSuite)> = Vec::new();
    // Each upload is a suite named by its .changes: the upload checks and the results over its
    // set are its test cases.
    for u in &report.uploads {
        let mut suite = TestSuite::new(u.file.as_str());
        suite.add_property(("file", u.file.as_str()));
        if let Some(err) = &u.error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(err.as_str()).set_type("unreadable");
            let mut case = TestCase::new("parse", status);
            case.set_classname(u.file.as_str());
            suite.add_test_case(case);
        } else {
            suite.add_property(("source", u.source.as_str()));
            suite.add_property(("version", u.version.as_str()));
        }
        suites.push((u.file.clone(), suite));
    }
    for p in &report.packages {
        let mut suite = TestSuite::new(if p.package.is_empty() {
            p.file.clone()
        } else {
            p.package.clone()
        });
        suite.add_property(("file", p.file.as_str()));
        if let Some(err) = &p.error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(err.as_str()).set_type("unreadable");
            let mut case = TestCase::new("read", status);
            case.set_classname(p.file.as_str());
            suite.add_test_case(case);
        } else {
            suite.add_property(("version", p.version.as_str()));
        }
        suites.push((p.package.clone(), suite));
    }
    for r in &report.results {
        let who = r
            .package
            .clone()
            .or_else(|| r.upload.clone())
            .unwrap_or_else(|| SET_SUITE.to_string());
        let status = match r.status {
            Status::Pass => TestCaseStatus::success(),
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(r.message.as_str())
                    .set_type(r.severity.as_str());
                let mut text = r.evidence.join("\n");
                if let Some(w) = &r.waiver {
                    // An expired or rejected waiver: say why the failure stands.
                    text.push_str(&format!(
                        "\nwaiver {} ({}): {} [{}]",
                        w.state.as_str(),
                        w.declared_at,
                        w.reason,
                        w.bug
                    ));
                }
                s.set_description(text.trim_start().to_string());
                s
            }
            Status::NotApplicable => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("not applicable: {}", r.message));
                s
            }
            Status::Waived => {
                let mut s = TestCaseStatus::skipped();
                let why = match &r.waiver {
                    Some(w) => format!("waived: {} [{}] ({})", w.reason, w.bug, w.declared_at),
                    None => "waived".to_string(),
                };
                s.set_message(why).set_description(r.message.as_str());
                s
            }
        };
        let mut case = TestCase::new(result_name(r), status);
        case.set_classname(who.as_str());
        match suites.iter_mut().find(|(name, _)| *name == who) {
            Some((_, suite)) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(who.as_str());
                suite.add_test_case(case);
                suites.push((who, suite));
            }
        }
    }
    junit.add_test_suites(suites.into_iter().map(|(_, s)| s));
    out.write_all(junit.to_string()?.as_bytes())?;
    out.flush()?;
    Ok(())
}
