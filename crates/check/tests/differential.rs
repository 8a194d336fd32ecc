//! The differential test: every case of `testdata/states` is run for real in the oracle's
//! bubblewrap sandbox (real chmod, chown, setcap; seeded failure injection; re-runs), and every
//! end state observed must be one debgate predicts for that path (soundness, without exception).
//! Precision, the share of predicted states some run produced, must be at least 90%.
//!
//! This is the short version CI runs (about a minute on two cores); `cargo xtask sweep
//! --differential` runs the same comparison over real packages. Without bubblewrap the test says
//! so loudly and passes: `.ci/run` installs it, so CI always runs it.

mod common;

use common::{analyzed, cases_dir};
use debgate_oracle::{available, compare, observe, predictions, Options, Predictions};
use debgate_writer::case::{load_state_cases, StateCase};
use std::time::{Duration, Instant};

/// Every path's predicted end states, keyed by the path's merged-/usr form (see
/// `debgate_oracle::compare`).
fn predict(case: &StateCase) -> Predictions {
    predictions(&analyzed(case).state)
}

#[test]
fn every_observed_state_is_predicted() {
    if let Err(e) = available() {
        eprintln!("\n*** SKIP: the differential test's sandbox is unavailable here: {e} ***\n");
        return;
    }
    let dir = cases_dir();
    let cases = load_state_cases(&dir).expect("cases load");
    assert!(cases.len() >= 20, "the state cases are missing");
    // CI's budget: about a minute for all cases together on two cores.
    let per_case = Duration::from_millis(60_000 / cases.len() as u64);
    let start = Instant::now();
    let mut unsound = Vec::new();
    let mut no_success = Vec::new();
    let (mut predicted_total, mut predicted_seen) = (0usize, 0usize);
    for case in &cases {
        let predicted = predict(case);
        let obs = observe(
            case,
            &Options {
                runs: 120,
                seed: 7,
                time_budget: per_case,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        // A case no run got through observes nothing, and so would prove nothing.
        if obs.recorded == 0 {
            no_success.push(case.name.clone());
        }
        let cmp = compare(&predicted, &obs);
        // Implied parent directories are in data.tar, so a path debgate has no state for is
        // one a script made that static reading did not see.
        for (path, observed) in &cmp.unpredicted {
            unsound.push(format!(
                "{} {path}: observed {observed:?}, no prediction",
                case.name
            ));
        }
        for u in &cmp.uncovered {
            unsound.push(format!(
                "{} {}: observed `{}`, predicted {:?}",
                case.name, u.path, u.observed, u.predicted
            ));
        }
        let (total, seen) = (cmp.predicted, cmp.seen);
        eprintln!(
            "{}: {} sequences, {} successful postinst runs, {} recorded; observed {seen} of {total} predicted states",
            case.name,
            obs.sequences,
            obs.successful_runs.get("postinst").copied().unwrap_or(0),
            obs.recorded
        );
        predicted_total += total;
        predicted_seen += seen;
    }
    let precision = predicted_seen as f64 / predicted_total.max(1) as f64;
    eprintln!(
        "{} cases in {:.1?}: precision {predicted_seen}/{predicted_total} = {:.1}%",
        cases.len(),
        start.elapsed(),
        precision * 100.0
    );
    assert!(
        unsound.is_empty(),
        "observed states debgate does not predict (unsound):\n{}",
        unsound.join("\n")
    );
    assert!(
        no_success.is_empty(),
        "cases with no successful run: {no_success:?}"
    );
    assert!(
        precision >= 0.9,
        "precision {:.1}% is below 90%",
        precision * 100.0
    );
}
