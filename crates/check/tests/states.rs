//! The effective-state cases of `testdata/states`: each case's package is built by the writer,
//! read by the reader and analyzed as `debgate check` does, and every asserted path's set of end
//! states must be exactly the case's `expect` (see testdata/states/README.md). A case's
//! `[[verdict]]`s are then checked with the bundled rules and `testdata/states/policy/state-cases.toml`: the
//! right verdict, for the right reason (the state and lines the message names).

mod common;

use common::{analyzed, cases_dir};
use debgate_check::AnalyzedPackage;
use debgate_policy::{evaluate, RuleSet};
use debgate_writer::case::{load_state_cases, StateCase};
use std::collections::BTreeSet;

/// The predicted end states of each asserted path, in the case file's notation.
fn predict(a: &AnalyzedPackage, case: &StateCase) -> Vec<(String, BTreeSet<String>)> {
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

/// The bundled rules and the cases' own policy.
fn rules() -> RuleSet {
    let own =
        std::fs::read_to_string(cases_dir().join("policy/state-cases.toml")).expect("policy.toml");
    debgate_check::load_bundled_and(&[("testdata/states/policy/state-cases.toml", &own)])
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What is wrong with a case's verdicts, if anything.
fn verdict_failures(rules: &RuleSet, a: &AnalyzedPackage, case: &StateCase) -> Vec<String> {
    let findings = evaluate(rules, &[a.view()]);
    let mut out = Vec::new();
    for v in &case.verdicts {
        let mine: Vec<_> = findings.iter().filter(|f| f.rule == v.rule).collect();
        if mine.is_empty() {
            out.push(format!("{}: rule {} gave no result", case.name, v.rule));
        }
        for f in &mine {
            if f.status.as_str() != v.status {
                out.push(format!(
                    "{}: {} is {}, expected {}: {}",
                    case.name,
                    v.rule,
                    f.status.as_str(),
                    v.status,
                    f.message
                ));
            }
        }
        for want in &v.message_contains {
            if !mine.iter().any(|f| f.message.contains(want.as_str())) {
                let got: Vec<&str> = mine.iter().map(|f| f.message.as_str()).collect();
                out.push(format!(
                    "{}: no {} message contains `{want}`: {got:?}",
                    case.name, v.rule
                ));
            }
        }
    }
    out
}

#[test]
fn every_case_predicts_exactly_its_expected_states() {
    let cases = load_state_cases(&cases_dir()).expect("cases load");
    assert!(cases.len() >= 20, "the state cases are missing");
    let rules = rules();
    let mut failures = Vec::new();
    for case in &cases {
        let a = analyzed(case);
        failures.extend(verdict_failures(&rules, &a, case));
        for ((path, got), e) in predict(&a, case).into_iter().zip(&case.expect) {
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
