//! Policy tests as data: every case file in testdata/policies/cases/NAME.toml judges the rules
//! of testdata/policies/good/NAME.toml, and every rule there must reach each expected status,
//! with at least one case it passes and one it fails.

use debgate_check::cases::{load_cases, run_cases};
use debgate_policy::{load_paths, Status};
use debgate_reader::Limits;
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn every_case_reaches_its_expected_status() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policies");
    let mut files: Vec<_> = std::fs::read_dir(root.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files");
    for cases_file in files {
        let name = cases_file.file_name().unwrap().to_owned();
        let rules = load_paths(&[root.join("good").join(&name)]).unwrap_or_else(|e| panic!("{e}"));
        let cases = load_cases(&cases_file).unwrap_or_else(|e| panic!("{e}"));
        let outcomes = run_cases(&rules, &cases, &Limits::default());
        let wrong: Vec<String> = outcomes
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
        // Each rule has a case it passes and one it fails, so each can be seen to work.
        for want in [Status::Pass, Status::Fail] {
            let covered: BTreeSet<&str> = outcomes
                .iter()
                .filter(|o| o.want == want)
                .map(|o| o.rule.as_str())
                .collect();
            let missing: Vec<&str> = rules
                .rules
                .iter()
                .map(|r| r.id.as_str())
                .filter(|id| !covered.contains(id))
                .collect();
            assert!(
                missing.is_empty(),
                "{name:?}: no case where these rules {want:?}: {missing:?}"
            );
        }
    }
}

#[test]
fn a_case_file_reports_every_error_with_its_place() {
    let text = "[[case]]\nname = \"x\"\n[[case.package]]\nnam = \"p\"\n[[case.expect]]\nrule = \"r\"\nstatus = \"maybe\"\n";
    let errs = debgate_check::cases::parse_cases("c.toml", text, Path::new("."))
        .unwrap_err()
        .0;
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
