//! Comparing debgate's prediction with what the oracle observed: the one definition of
//! "covered", shared by the differential test (`crates/check/tests/differential.rs`) and
//! `cargo xtask sweep --differential`.
//!
//! A prediction is keyed by the path's merged-/usr form (the sandbox is a merged-/usr root, so
//! a file shipped as `/bin/x` is seen at `/usr/bin/x`). Each path has the states debgate
//! predicts (`FileState::states`) and, when some change's target could not be resolved, the
//! further states those changes could lead to if they hit this path ("a change whose target is
//! unknown may hit any file of the set"): an observed state is sound when either covers it,
//! while precision is counted over the predicted states only.

use crate::Observation;
use debgate_analyze::effective::{EffectiveState, MAX_STATES_PER_FILE};
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::EntryKind;
use std::collections::{BTreeMap, BTreeSet};

/// What debgate predicts for one path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prediction {
    /// The path's end states (`EndState::text`), with `?` for what is unknown.
    pub states: BTreeSet<String>,
    /// Further states reached when changes with an unresolved target hit this path, any of
    /// them, any number of times; empty when every target was resolved.
    pub unresolved: BTreeSet<String>,
    /// Whether a maintainer-script change may shape the path (its provenance names more than
    /// data.tar): the paths where a prediction is more than "as shipped".
    pub changed: bool,
}

/// Path (merged-/usr form) -> prediction.
pub type Predictions = BTreeMap<String, Prediction>;

/// Every path's prediction from an analysed package's effective state.
pub fn predictions(state: &EffectiveState) -> Predictions {
    let mut out = Predictions::new();
    for f in state.files.values() {
        let states: BTreeSet<String> = f.states.iter().map(|s| s.text()).collect();
        let is_dir = f.kind == Some(EntryKind::Dir);
        // Close the states under the unresolved changes.
        let mut unresolved = BTreeSet::new();
        if !state.unresolved.is_empty() {
            let mut frontier: Vec<_> = f.states.clone();
            let mut seen = states.clone();
            while let Some(s) = frontier.pop() {
                if seen.len() > MAX_STATES_PER_FILE {
                    break;
                }
                for c in &state.unresolved {
                    let next = s.after(c, is_dir);
                    let text = next.text();
                    if seen.insert(text.clone()) {
                        unresolved.insert(text);
                        frontier.push(next);
                    }
                }
            }
        }
        let changed = f.sources.iter().any(|s| s != "data.tar") || f.shipped.is_none();
        let p = out.entry(usrmerge_canonical(&f.path)).or_default();
        p.states.extend(states);
        p.unresolved.extend(unresolved);
        p.changed |= changed;
    }
    out
}

/// Whether predicted state `x` (which may hold `?` for an attribute static reading could not
/// resolve) covers observed state `s`. Both are `MODE OWNER:GROUP[ CAPS]`; a predicted `?` in
/// place of the capabilities covers a file with or without any.
pub fn covers(x: &str, s: &str) -> bool {
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

/// An observed state that no predicted state covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncovered {
    /// The path as the oracle reported it.
    pub path: String,
    pub observed: String,
    /// What debgate predicted for the path (states and unresolved-change states together).
    pub predicted: BTreeSet<String>,
}

/// How an observation compares with a prediction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Observed states of predicted paths that no predicted state covers: unsound.
    pub uncovered: Vec<Uncovered>,
    /// Observed paths debgate has no state for (a path a script made that static reading did
    /// not see), with what was observed.
    pub unpredicted: Vec<(String, BTreeSet<String>)>,
    /// Predicted states of the observed paths, and how many of them some run produced.
    pub predicted: usize,
    pub seen: usize,
    /// The same two counts over the paths a script change may shape (`Prediction::changed`).
    pub predicted_changed: usize,
    pub seen_changed: usize,
}

impl Comparison {
    /// The share of predicted states that were observed (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.seen, self.predicted)
    }

    /// [`Comparison::precision`] over the paths a script change may shape.
    pub fn precision_changed(&self) -> f64 {
        ratio(self.seen_changed, self.predicted_changed)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Compare what the oracle observed with what debgate predicted: soundness for every observed
/// state, precision over the observed paths.
pub fn compare(predicted: &Predictions, obs: &Observation) -> Comparison {
    let mut out = Comparison::default();
    for (path, observed) in &obs.states {
        let Some(pred) = predicted.get(&usrmerge_canonical(path)) else {
            out.unpredicted.push((path.clone(), observed.clone()));
            continue;
        };
        for s in observed {
            let ok = pred
                .states
                .iter()
                .chain(&pred.unresolved)
                .any(|x| covers(x, s));
            if !ok {
                out.uncovered.push(Uncovered {
                    path: path.clone(),
                    observed: s.clone(),
                    predicted: pred.states.union(&pred.unresolved).cloned().collect(),
                });
            }
        }
        let total = pred.states.len();
        let seen = pred
            .states
            .iter()
            .filter(|x| observed.iter().any(|s| covers(x, s)))
            .count();
        out.predicted += total;
        out.seen += seen;
        if pred.changed {
            out.predicted_changed += total;
            out.seen_changed += seen;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn compares_by_merged_usr_path() {
        let mut predicted = Predictions::new();
        predicted.insert(
            "/usr/bin/x".into(),
            Prediction {
                states: ["0755 root:root".to_string(), "4755 root:root".to_string()].into(),
                unresolved: ["? root:root".to_string()].into(),
                changed: true,
            },
        );
        let mut obs = Observation::default();
        obs.states
            .insert("/bin/x".into(), ["0700 root:root".to_string()].into());
        obs.states
            .insert("/usr/bin/y".into(), ["0755 root:root".to_string()].into());
        let c = compare(&predicted, &obs);
        assert!(c.uncovered.is_empty(), "{c:?}");
        assert_eq!(c.unpredicted.len(), 1);
        assert_eq!((c.seen, c.predicted), (0, 2));
        obs.states.insert(
            "/bin/x".into(),
            ["0755 root:root cap_a=ep".to_string()].into(),
        );
        let c = compare(&predicted, &obs);
        assert_eq!(c.uncovered.len(), 1);
    }
}
