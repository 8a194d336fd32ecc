//! The effective-state cases of `testdata/states`: each case's package is built by the writer,
//! read by the reader and analyzed as `debgate check` does, and every asserted path's set of end
//! states must be exactly the case's `expect` (see testdata/states/README.md).

use debgate_check::analyze_package;
use debgate_reader::{read_package_from, Limits, ReadOptions};
use debgate_writer::case::{load_state_cases, state_case_deb, StateCase};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/states")
}

/// The predicted end states of each asserted path, in the case file's notation.
fn predict(case: &StateCase) -> Vec<(String, BTreeSet<String>)> {
    let deb = state_case_deb(case).expect("case builds");
    let opts = ReadOptions {
        limits: Limits::default(),
        want_content: &|_| false,
        xz_threads: 1,
    };
    let pkg = read_package_from(PathBuf::from(&case.name), deb.as_slice(), &opts)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let a = analyze_package(pkg, &Limits::default());
    case.expect
        .iter()
        .map(|e| {
            let got = match a.state.get(&e.path) {
                Some(f) => f
                    .states
                    .iter()
                    .map(|s| {
                        let mut t = s.text();
                        if s.rerun {
                            t.push_str(" rerun");
                        }
                        t
                    })
                    .collect(),
                None => BTreeSet::from(["(no such path)".to_string()]),
            };
            (e.path.clone(), got)
        })
        .collect()
}

#[test]
fn every_case_predicts_exactly_its_expected_states() {
    let cases = load_state_cases(&cases_dir()).expect("cases load");
    assert!(cases.len() >= 20, "the state cases are missing");
    let mut failures = Vec::new();
    for case in &cases {
        for ((path, got), e) in predict(case).into_iter().zip(&case.expect) {
            let want: BTreeSet<String> = e.states.iter().cloned().collect();
            if got != want {
                failures.push(format!(
                    "{} {path}:\n    expected: {:?}\n    got:      {:?}",
                    case.name, want, got
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
