//! `cargo xtask corpus`: run the release `debgate` on real Debian packages and compare what it
//! says with the expectations in `xtask/corpus.toml`.
//!
//! Packages are fetched with `apt-get download` into `target/corpus/` and reused from there.
//! `apt-get update` runs only when a look-up or a download fails, since a fresh machine (or CI)
//! may have no lists, or lists so old that the archive no longer has the versions they name.
//!
//! Besides the set of `[[package]]`s, each `[[diff]]` names two versions of one package (the
//! oldest and newest that apt offers, say); both are fetched into the same cache, diffed with
//! `debgate diff --format json`, and the report is held to the expectations next to it.
//!
//! By job: `spec` is the TOML model and its checks, `apt` fetches and caches, `synthetic` builds
//! the `[[synthetic]]` packages, `judging` runs debgate and judges each expectation,
//! `privileges` holds the worked allow-list to the corpus, `repository` serves the corpus as a
//! signed apt repository (apt as the oracle, then `check --archive` against a check of the same
//! files); [`run`] here glues them in order.

mod apt;
mod judging;
mod privileges;
mod repository;
mod spec;
mod synthetic;

pub(crate) use apt::Apt;
pub use apt::{fetch_all, DiffSide, Fetch, Fetched, FetchedDiff};
pub use judging::caps_set;
pub use spec::{
    BenchSpec, CheckExpect, CorpusSpec, DiffSpec, InspectExpect, PackageSpec, StatesExpect,
    SyntheticSpec, UnchangedExpect, VerdictExpect, VersionPick,
};

use crate::util;
use anyhow::Result;
use judging::{debgate_json, judge_checks, judge_diff, Tally};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use synthetic::synthesize;

/// Why the corpus could not run at all on this machine (not a failure).
pub enum Outcome {
    Skipped(String),
    Ran { passed: usize, failed: usize },
}

/// Runs the corpus: fetch, build, check the set, inspect the privilege-granting packages, diff
/// each declared pair of versions, then read the set again as an apt repository.
pub fn run(root: &Path) -> Result<Outcome> {
    let spec = CorpusSpec::load(root)?;
    let Fetch {
        packages: fetched,
        diffs,
    } = match fetch_all(root, &spec) {
        Ok(Some(fetch)) => fetch,
        Ok(None) => return Ok(Outcome::Skipped("apt-get not found".to_string())),
        // With apt-get present, a package that cannot be fetched is a failure, never a skip:
        // otherwise a renamed package or an unreachable mirror would make the corpus pass
        // without checking anything.
        Err(err) => {
            println!("FAIL fetch the corpus packages: {err:#}");
            println!("corpus: 0 passed, 1 failed");
            return Ok(Outcome::Ran {
                passed: 0,
                failed: 1,
            });
        }
    };
    let exe = util::build_release_debgate(root)?;
    let mut t = Tally::default();

    let names: BTreeMap<&str, &str> = fetched
        .iter()
        .map(|f| (f.name.as_str(), f.resolved.as_str()))
        .collect();
    // The set the [[check]]s judge, and the allow-list's, which adds the privileges-only ones.
    let only: Vec<&str> = spec
        .packages
        .iter()
        .filter(|p| p.privileges_only)
        .map(|p| p.name.as_str())
        .collect();
    let debs: Vec<&Path> = fetched
        .iter()
        .filter(|f| !only.contains(&f.name.as_str()))
        .map(|f| f.deb.as_path())
        .collect();
    let all_debs: Vec<&Path> = fetched.iter().map(|f| f.deb.as_path()).collect();

    // One run over the whole corpus per policy selection (the default set, and each `policy`
    // an expectation names): the set-level rules (a kernel anywhere in the set, the effective
    // sysctl value) only mean something when every package is judged together.
    let mut selections: Vec<Option<&str>> = Vec::new();
    for e in &spec.checks {
        if !selections.contains(&e.policy.as_deref()) {
            selections.push(e.policy.as_deref());
        }
    }
    for policy in selections {
        let checks: Vec<&CheckExpect> = spec
            .checks
            .iter()
            .filter(|e| e.policy.as_deref() == policy)
            .collect();
        let mut args = vec!["check", "--format", "json"];
        if let Some(p) = policy {
            args.extend(["--policy", p]);
        }
        match debgate_json(&exe, &args, &debs) {
            Ok(report) => {
                for p in report["packages"].as_array().into_iter().flatten() {
                    if let Some(err) = p.get("error") {
                        t.record(
                            false,
                            &format!("read {}", p["file"].as_str().unwrap_or("?")),
                            &err.to_string(),
                        );
                    }
                }
                let owned: Vec<CheckExpect> = checks.iter().map(|c| (*c).clone()).collect();
                judge_checks(&owned, &names, &report, &mut t);
            }
            Err(err) => {
                for e in &checks {
                    t.record(false, &format!("check {}", e.rule), &format!("{err:#}"));
                }
            }
        }
    }

    // The worked privilege allow-list over the whole corpus.
    if let Err(err) = privileges::judge(root, &exe, &all_debs, &mut t) {
        t.record(false, "privileges", &format!("{err:#}"));
    }

    let mut inspected: BTreeMap<&str, Result<Value, String>> = BTreeMap::new();
    for e in &spec.inspects {
        let report = inspected.entry(e.package.as_str()).or_insert_with(|| {
            let deb = fetched
                .iter()
                .find(|f| f.name == e.package)
                .map(|f| f.deb.as_path());
            match deb {
                Some(deb) => debgate_json(&exe, &["inspect", "--format", "json"], &[deb])
                    .map_err(|err| format!("{err:#}")),
                None => Err("not fetched".to_string()),
            }
        });
        judging::judge_inspect(e, report, &mut t);
    }

    for e in &spec.states {
        let report = inspected.entry(e.package.as_str()).or_insert_with(|| {
            match fetched.iter().find(|f| f.name == e.package) {
                Some(f) => debgate_json(&exe, &["inspect", "--format", "json"], &[&f.deb])
                    .map_err(|err| format!("{err:#}")),
                None => Err("not fetched".to_string()),
            }
        });
        judging::judge_states(e, report, &mut t);
    }

    for s in &spec.synthetic {
        let what = format!("synthetic {} from {}", s.name, s.from);
        let Some(base) = fetched.iter().find(|f| f.name == s.from) else {
            t.record(false, &what, "its package was not fetched");
            continue;
        };
        match synthesize(root, s, &base.deb)
            .and_then(|deb| debgate_json(&exe, &["check", "--format", "json"], &[&deb]))
        {
            Ok(report) => {
                let names = BTreeMap::from([(s.from.as_str(), base.resolved.as_str())]);
                judge_checks(&s.checks, &names, &report, &mut t);
            }
            Err(err) => t.record(false, &what, &format!("{err:#}")),
        }
    }

    for (d, fetched) in spec.diffs.iter().zip(&diffs) {
        let f = match fetched {
            Ok(f) => f,
            Err(err) => {
                t.record(false, &format!("diff {}: fetch both versions", d.name), err);
                continue;
            }
        };
        let debs = [f.old.deb.as_path(), f.new.deb.as_path()];
        match debgate_json(&exe, &["diff", "--format", "json"], &debs) {
            Ok(report) => judge_diff(d, f, &report, &mut t),
            Err(err) => t.record(
                false,
                &format!("diff {} {} -> {}", d.name, f.old.version, f.new.version),
                &format!("{err:#}"),
            ),
        }
    }

    // Last: the same packages again, read through an apt repository.
    repository::judge(root, &exe, &fetched, &mut t);

    println!("corpus: {} passed, {} failed", t.passed, t.failed);
    Ok(Outcome::Ran {
        passed: t.passed,
        failed: t.failed,
    })
}
