//! The differential test: every case of `testdata/states` is run for real in the oracle's
//! bubblewrap sandbox (real chmod, chown, setcap; seeded failure injection; re-runs), and every
//! end state observed must be one debgate predicts for that path (soundness, without exception).
//! Precision, the share of predicted states some run produced, must be at least 90%.
//!
//! This is the short version CI runs (about a minute on two cores); `cargo xtask sweep
//! --differential` runs the same comparison over real packages. Without bubblewrap the test says
//! so loudly and passes: `.ci/run` installs it, so CI always runs it.

use debgate_check::analyze_package;
use debgate_facts::path::usrmerge_canonical;
use debgate_oracle::{available, observe, Options};
use debgate_reader::{read_package_from, Limits, ReadOptions};
use debgate_writer::case::{load_state_cases, state_case_deb, StateCase};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every path's predicted end states, as `MODE OWNER:GROUP [CAPS]` with `?` for unknown, keyed
/// by the path's merged-/usr form: the sandbox is a merged-/usr root, so a file shipped as
/// `/bin/x` is seen at `/usr/bin/x`.
fn predict(case: &StateCase) -> BTreeMap<String, BTreeSet<String>> {
    let deb = state_case_deb(case).expect("case builds");
    let opts = ReadOptions {
        limits: Limits::default(),
        want_content: &|_| false,
        xz_threads: 1,
    };
    let pkg = read_package_from(PathBuf::from(&case.name), deb.as_slice(), &opts)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let a = analyze_package(pkg, &Limits::default());
    a.state
        .files
        .values()
        .map(|f| {
            (
                usrmerge_canonical(&f.path),
                f.states.iter().map(|s| s.text()).collect(),
            )
        })
        .collect()
}

/// Whether predicted state `x` (which may hold `?` for an attribute static reading could not
/// resolve) covers observed state `s`.
fn covers(x: &str, s: &str) -> bool {
    if x == s {
        return true;
    }
    let xs: Vec<&str> = x.split(' ').collect();
    let ss: Vec<&str> = s.split(' ').collect();
    let field = |a: &str, b: &str| a == "?" || a == b;
    let owner = |a: &str, b: &str| {
        let (au, ag) = a.split_once(':').unwrap_or((a, "?"));
        let (bu, bg) = b.split_once(':').unwrap_or((b, ""));
        field(au, bu) && field(ag, bg)
    };
    match (xs.as_slice(), ss.as_slice()) {
        ([xm, xo], [sm, so]) => field(xm, sm) && owner(xo, so),
        ([xm, xo, xc], [sm, so, sc]) => field(xm, sm) && owner(xo, so) && field(xc, sc),
        ([xm, xo, "?"], [sm, so]) => field(xm, sm) && owner(xo, so),
        _ => false,
    }
}

#[test]
fn every_observed_state_is_predicted() {
    if let Err(e) = available() {
        eprintln!("\n*** SKIP: the differential test's sandbox is unavailable here: {e} ***\n");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/states");
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
        let (mut total, mut seen) = (0, 0);
        for (path, observed) in &obs.states {
            let Some(pred) = predicted.get(&usrmerge_canonical(path)) else {
                // Implied parent directories are in data.tar, so a path debgate has no state
                // for is one a script made that static reading did not see.
                unsound.push(format!(
                    "{} {path}: observed {observed:?}, no prediction",
                    case.name
                ));
                continue;
            };
            for s in observed {
                if !pred.iter().any(|x| covers(x, s)) {
                    unsound.push(format!(
                        "{} {path}: observed `{s}`, predicted {pred:?}",
                        case.name
                    ));
                }
            }
            total += pred.len();
            seen += pred
                .iter()
                .filter(|x| observed.iter().any(|s| covers(x, s)))
                .count();
        }
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

#[test]
fn covers_reads_unknown_attributes() {
    assert!(covers("4755 root:root", "4755 root:root"));
    assert!(covers("? root:root", "0700 root:root"));
    assert!(covers("0755 ?:?", "0755 man:man"));
    assert!(covers("0755 root:root ?", "0755 root:root"));
    assert!(covers("0755 root:root ?", "0755 root:root cap_net_raw=ep"));
    assert!(!covers("0755 root:root", "4755 root:root"));
    assert!(!covers("0755 root:root", "0755 root:root cap_net_raw=ep"));
}
