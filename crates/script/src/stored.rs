//! The analyses' stored form, the one the facts cache keeps beside a package's facts so that a
//! package seen before is not parsed and walked again: each script's [`Analysis`] in its serde
//! form, plus each change's command text, which [`Change`]'s serde form leaves out (reports do
//! not show it; waivers match on it).
//!
//! Nothing read back is trusted beyond what the cache's checksum already vouches for:
//! [`restore`] refuses an analysis of a script the package does not have, runs that are not the
//! ones [`run_args`] gives, a step naming a change that is not there, and changes or
//! diagnostics of another script, any of which would make the effective state wrong or panic.
//!
//! [`Change`]: debgate_facts::change::Change

use crate::{run_args, Analysis, Run, RunPath, Step};
use debgate_facts::change::CommandText;
use debgate_facts::{Script, ScriptName};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;

/// Deepest nesting of [`Step::Choice`] that is stored. The walk keeps a path's step tree
/// within a few hundred nodes but not within a depth, and a JSON reader stops at 128 levels
/// (three per choice): an analysis nested deeper than this is not stored, rather than stored
/// where it could never be read back.
pub const MAX_STORED_DEPTH: usize = 32;

/// One script's analysis, borrowed, for serializing (see [`stored`]).
#[derive(Debug, Serialize)]
pub struct StoredAnalysisRef<'a> {
    script: ScriptName,
    analysis: &'a Analysis,
    /// `analysis.changes[i].command`, for each `i`.
    commands: Vec<&'a str>,
}

/// One script's analysis as read back; [`restore`] checks it against the package.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredAnalysis {
    script: ScriptName,
    analysis: Analysis,
    commands: Vec<String>,
}

/// Why analyses were not stored, or why stored ones were refused: never produced from a
/// package and its own analyses (but the depth bound), so the text was damaged or made by hand.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoredAnalysisError {
    #[error("analyses of {stored:?}, where the package's scripts are {package:?}")]
    Scripts {
        stored: Vec<ScriptName>,
        package: Vec<ScriptName>,
    },
    #[error("{script}: {commands} command texts for {changes} changes")]
    Commands {
        script: ScriptName,
        changes: usize,
        commands: usize,
    },
    #[error("{script}: a change or diagnostic of another script")]
    OtherScript { script: ScriptName },
    #[error("{script}: its runs are not the ones dpkg runs it with")]
    Runs { script: ScriptName },
    #[error("{script}: a step names change {index} of {changes}")]
    Step {
        script: ScriptName,
        index: usize,
        changes: usize,
    },
    #[error("{script}: choices nested {depth} deep, over the {MAX_STORED_DEPTH} stored")]
    TooDeep { script: ScriptName, depth: usize },
}

/// The stored form of a package's analyses, in the package's script order, as
/// [`crate::analyze_with`] made them; an error when one is nested too deep to be read back.
pub fn stored(
    analyses: &[(ScriptName, Analysis)],
) -> Result<Vec<StoredAnalysisRef<'_>>, StoredAnalysisError> {
    analyses
        .iter()
        .map(|(script, analysis)| {
            let depth = depth(
                analysis
                    .runs
                    .iter()
                    .flat_map(|r| &r.paths)
                    .map(|p| &p.steps),
            );
            if depth > MAX_STORED_DEPTH {
                return Err(StoredAnalysisError::TooDeep {
                    script: *script,
                    depth,
                });
            }
            Ok(StoredAnalysisRef {
                script: *script,
                analysis,
                commands: analysis.changes.iter().map(|c| &*c.command).collect(),
            })
        })
        .collect()
}

/// The analyses of `scripts` (a package's, in its order) that `stored` holds, each checked
/// against its script (see the module's documentation).
pub fn restore(
    scripts: &[Script],
    stored: Vec<StoredAnalysis>,
) -> Result<Vec<(ScriptName, Analysis)>, StoredAnalysisError> {
    // A fresh read analyses every script once, in the package's order: anything else did not
    // come from this package.
    if !stored
        .iter()
        .map(|s| s.script)
        .eq(scripts.iter().map(|s| s.name))
    {
        return Err(StoredAnalysisError::Scripts {
            stored: stored.iter().map(|s| s.script).collect(),
            package: scripts.iter().map(|s| s.name).collect(),
        });
    }
    // One command often has many targets (a loop over paths): its changes share one text, as
    // the walk's do.
    let mut texts: HashMap<String, Arc<str>> = HashMap::new();
    stored
        .into_iter()
        .map(|s| {
            let StoredAnalysis {
                script,
                mut analysis,
                commands,
            } = s;
            check(script, &analysis)?;
            if commands.len() != analysis.changes.len() {
                return Err(StoredAnalysisError::Commands {
                    script,
                    changes: analysis.changes.len(),
                    commands: commands.len(),
                });
            }
            for (change, text) in analysis.changes.iter_mut().zip(commands) {
                let shared = texts
                    .entry(text)
                    .or_insert_with_key(|t| Arc::from(t.as_str()));
                change.command = CommandText(shared.clone());
            }
            Ok((script, analysis))
        })
        .collect()
}

/// What the effective state relies on in an analysis of `script`.
fn check(script: ScriptName, a: &Analysis) -> Result<(), StoredAnalysisError> {
    if a.changes.iter().any(|c| c.script != script)
        || a.diagnostics.iter().any(|d| d.script != script)
    {
        return Err(StoredAnalysisError::OtherScript { script });
    }
    // No runs when the script was not analysed (not shell, the parser gave up); else one per
    // argument, in order.
    if !a.runs.is_empty()
        && !a
            .runs
            .iter()
            .map(|r| r.arg)
            .eq(run_args(script).iter().copied())
    {
        return Err(StoredAnalysisError::Runs { script });
    }
    let changes = a.changes.len();
    let mut bad = None;
    for path in a.runs.iter().flat_map(|r| &r.paths) {
        indices(&path.steps, &mut |i| {
            if i >= changes {
                bad.get_or_insert(i);
            }
        });
    }
    match bad {
        Some(index) => Err(StoredAnalysisError::Step {
            script,
            index,
            changes,
        }),
        None => Ok(()),
    }
}

/// Every change index the steps name.
fn indices(steps: &[Step], each: &mut dyn FnMut(usize)) {
    for s in steps {
        match s {
            Step::Do(i) | Step::May(i) | Step::Failed(i) => each(*i),
            Step::Any(all) => all.iter().for_each(|i| each(*i)),
            Step::Choice(alts) => alts.iter().for_each(|a| indices(a, each)),
        }
    }
}

/// The deepest nesting of choices in any of these step lists.
fn depth<'a>(lists: impl Iterator<Item = &'a Vec<Step>>) -> usize {
    lists
        .map(|steps| {
            steps
                .iter()
                .map(|s| match s {
                    Step::Choice(alts) => 1 + depth(alts.iter()),
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

/// A [`Run`] as read, before its argument is made the very string [`run_args`] holds (so that
/// it stays `&'static`); any other text is refused. Derived on `Run` itself, serde would ask
/// the input to outlive `'static` for that field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunForm {
    arg: String,
    paths: Vec<RunPath>,
}

impl<'de> Deserialize<'de> for Run {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Run, D::Error> {
        let r = RunForm::deserialize(d)?;
        let arg = ScriptName::ALL
            .into_iter()
            .flat_map(run_args)
            .copied()
            .find(|a| *a == r.arg)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{}` is not an argument dpkg runs a script with",
                    r.arg
                ))
            })?;
        Ok(Run {
            arg,
            paths: r.paths,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze;

    fn script(name: ScriptName, text: &str) -> Script {
        Script {
            name,
            text: text.into(),
            truncated: false,
        }
    }

    const POSTINST: &str = "#!/bin/sh\nset -e\nif [ \"$1\" = configure ]; then\n  for f in /usr/bin/a /usr/bin/b; do chmod 4755 \"$f\"; done\n  setcap cap_net_raw+ep /usr/bin/ping || true\nfi\nchown $OWNER /var/x\n";

    fn round_trip(
        scripts: &[Script],
        analyses: &[(ScriptName, Analysis)],
    ) -> Result<Vec<(ScriptName, Analysis)>, StoredAnalysisError> {
        let text = serde_json::to_string(&stored(analyses).unwrap()).unwrap();
        restore(scripts, serde_json::from_str(&text).unwrap())
    }

    #[test]
    fn analyses_read_back_equal_with_their_commands() {
        let scripts = [
            script(ScriptName::Preinst, "#!/usr/bin/perl\nchmod 0755, 'x';\n"),
            script(ScriptName::Postinst, POSTINST),
            script(ScriptName::Prerm, "#!/bin/sh\nif then fi ((\n"),
        ];
        let analyses: Vec<_> = scripts.iter().map(|s| (s.name, analyze(s))).collect();
        assert!(analyses[1].1.changes.len() >= 3, "{:?}", analyses[1]);
        let back = round_trip(&scripts, &analyses).unwrap();
        assert_eq!(back, analyses);
        for ((_, a), (_, b)) in back.iter().zip(&analyses) {
            for (x, y) in a.changes.iter().zip(&b.changes) {
                assert_eq!(&*x.command, &*y.command);
                assert!(!x.command.is_empty());
            }
        }
        // The loop's two changes share one text again.
        let c = &back[1].1.changes;
        assert!(Arc::ptr_eq(&c[0].command.0, &c[1].command.0));
    }

    #[test]
    fn analyses_of_other_scripts_are_refused() {
        let post = script(ScriptName::Postinst, POSTINST);
        let analyses = vec![(ScriptName::Postinst, analyze(&post))];
        let prerm = script(ScriptName::Prerm, POSTINST);
        assert!(matches!(
            round_trip(std::slice::from_ref(&prerm), &analyses),
            Err(StoredAnalysisError::Scripts { .. })
        ));
        assert!(matches!(
            round_trip(&[], &analyses),
            Err(StoredAnalysisError::Scripts { .. })
        ));
        assert!(matches!(
            round_trip(&[post.clone(), prerm], &analyses),
            Err(StoredAnalysisError::Scripts { .. })
        ));
        assert!(round_trip(&[post], &analyses).is_ok());
    }

    #[test]
    fn inconsistent_analyses_are_refused() {
        let post = script(ScriptName::Postinst, POSTINST);
        let good = analyze(&post);
        let refused = |a: Analysis| round_trip(std::slice::from_ref(&post), &[(post.name, a)]);
        let mut a = good.clone();
        a.runs[0].paths[0]
            .steps
            .push(Step::Choice(vec![vec![Step::Do(99)]]));
        assert!(matches!(
            refused(a),
            Err(StoredAnalysisError::Step { index: 99, .. })
        ));
        let mut a = good.clone();
        a.runs.pop();
        assert_eq!(
            refused(a),
            Err(StoredAnalysisError::Runs { script: post.name })
        );
        let mut a = good.clone();
        a.changes[0].script = ScriptName::Prerm;
        assert_eq!(
            refused(a),
            Err(StoredAnalysisError::OtherScript { script: post.name })
        );
        // Fewer command texts than changes.
        let mut v = serde_json::to_value(stored(&[(post.name, good)]).unwrap()).unwrap();
        v[0]["commands"].as_array_mut().unwrap().pop();
        let back: Vec<StoredAnalysis> = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(
            restore(std::slice::from_ref(&post), back),
            Err(StoredAnalysisError::Commands { .. })
        ));
        // An argument no script is run with.
        v[0]["analysis"]["runs"][0]["arg"] = "purge-everything".into();
        assert!(serde_json::from_value::<Vec<StoredAnalysis>>(v).is_err());
    }

    #[test]
    fn analyses_nested_past_the_bound_are_not_stored() {
        let mut steps = vec![Step::Do(0)];
        for _ in 0..MAX_STORED_DEPTH {
            steps = vec![Step::Choice(vec![steps, vec![]])];
        }
        let mut a = analyze(&script(ScriptName::Postinst, POSTINST));
        a.runs = vec![Run {
            arg: "configure",
            paths: vec![RunPath {
                steps: steps.clone(),
                end: crate::End::Success,
            }],
        }];
        let at_bound = vec![(ScriptName::Postinst, a.clone())];
        let text = serde_json::to_string(&stored(&at_bound).unwrap()).unwrap();
        // What is stored at the bound reads back, under the reader's default nesting limit,
        // even inside the cache entry's own few levels.
        let wrapped = format!("{{\"a\":[[[[[{text}]]]]]}}");
        assert!(serde_json::from_str::<serde_json::Value>(&wrapped).is_ok());
        a.runs[0].paths[0].steps = vec![Step::Choice(vec![steps])];
        assert_eq!(
            stored(&[(ScriptName::Postinst, a)]).err(),
            Some(StoredAnalysisError::TooDeep {
                script: ScriptName::Postinst,
                depth: MAX_STORED_DEPTH + 1
            })
        );
    }
}
