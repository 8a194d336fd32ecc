//! Policy tests as data: every case file (testdata/policies/cases/*.toml, and the bundled
//! policies' own in policies/tests/) judges the policy it names. Every expectation must hold,
//! and every rule must have a case it passes and one it fails, so that each can be seen to work.
//! Every bundled policy with rules has a case file.

use debgate_check::cases::{parse_cases, test_policy};
use debgate_check::selection::bundled;
use debgate_reader::Limits;
use std::path::{Path, PathBuf};

fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_case_reaches_its_expected_status() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = case_files(&root.join("testdata/policies/cases"));
    files.extend(case_files(&root.join("policies/tests")));
    assert!(files.len() >= 2, "no case files");
    let mut tested = Vec::new();
    for f in &files {
        let report = test_policy(f, &Limits::default()).unwrap_or_else(|e| {
            panic!(
                "{}: {e}\n{}",
                f.display(),
                e.diagnostics()
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let wrong: Vec<String> = report
            .outcomes
            .iter()
            .filter(|o| !o.ok)
            .map(|o| {
                format!(
                    "{}: case `{}`: rule {} should be {:?}, got {:?}",
                    o.location, o.case, o.rule, o.want, o.got
                )
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(
            report.never_pass.is_empty(),
            "{}: no case passes {:?}",
            report.file,
            report.never_pass
        );
        assert!(
            report.never_fail.is_empty(),
            "{}: no case fails {:?}",
            report.file,
            report.never_fail
        );
        tested.push(std::fs::canonicalize(Path::new(&report.policy)).ok());
    }
    // Every bundled policy with rules is tested by a case file here.
    for p in bundled().unwrap().into_iter().filter(|p| p.rules > 0) {
        let file = std::fs::canonicalize(root.join(&p.file)).ok();
        assert!(
            tested.contains(&file),
            "bundled policy {} has no case file in policies/tests/",
            p.name
        );
    }
}

#[test]
fn a_case_file_reports_every_error_with_its_place() {
    let text = "[[case]]\nname = \"x\"\n[[case.package]]\nnam = \"p\"\n[[case.expect]]\nrule = \"r\"\nstatus = \"maybe\"\n";
    let errs = parse_cases("c.toml", text, Path::new(".")).unwrap_err().0;
    let got: Vec<String> = errs
        .iter()
        .map(|e| format!("{}: {}", e.location, e.code))
        .collect();
    assert_eq!(
        got,
        [
            "c.toml:3:1: missing-key",
            "c.toml:4:1: unknown-key",
            "c.toml:7:11: bad-value"
        ]
    );
}
