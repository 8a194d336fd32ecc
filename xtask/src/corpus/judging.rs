//! Running the release `debgate` and judging what it reports against the expectations, one
//! `ok` or `FAIL` line each.

use super::apt::FetchedDiff;
use super::spec::{CheckExpect, DiffSpec, InspectExpect, StatesExpect};
use crate::util::{tail, usrmerge_canonical};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Runs `debgate ARGS` and returns its JSON output. Exit 0 and 1 are verdicts; anything else
/// (2: bad input or usage) is an error.
pub(super) fn debgate_json(exe: &Path, args: &[&str], debs: &[&Path]) -> Result<Value> {
    let out = Command::new(exe)
        .args(args)
        .args(debs)
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let code = out.status.code();
    if !matches!(code, Some(0) | Some(1)) {
        bail!(
            "debgate {} exited {:?}: {}",
            args.join(" "),
            code,
            tail(&out.stderr, 10)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "debgate {} printed no JSON: {}",
            args.join(" "),
            tail(&out.stdout, 5)
        )
    })
}

/// Tallies `ok` / `FAIL` lines.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) passed: usize,
    pub(super) failed: usize,
}

impl Tally {
    pub(super) fn record(&mut self, ok: bool, what: &str, detail: &str) {
        if ok {
            self.passed += 1;
            println!("ok   {what}");
        } else {
            self.failed += 1;
            println!("FAIL {what}: {detail}");
        }
    }
}

/// getcap text as a set of (capability, flags) pairs, so `cap_b,cap_a=pe` equals
/// `cap_a,cap_b=ep` and `cap_a+ep` equals `cap_a=ep`.
pub fn caps_set(text: &str) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    for clause in text.split_whitespace() {
        let Some(op) = clause.find(['=', '+']) else {
            continue;
        };
        let (names, flags) = clause.split_at(op);
        let mut flags: Vec<char> = flags[1..].to_lowercase().chars().collect();
        flags.sort_unstable();
        let flags: String = flags.into_iter().collect();
        for name in names.split(',').filter(|n| !n.is_empty()) {
            set.insert((name.to_lowercase(), flags.clone()));
        }
    }
    set
}

/// Whether a reported change satisfies every field the expectation gives.
fn change_matches(e: &InspectExpect, c: &Value) -> bool {
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    let b = |k: &str| c.get(k).and_then(Value::as_bool);
    s("script") == Some(e.script.as_str())
        && s("action") == Some(e.action.as_str())
        && e.path.as_deref().is_none_or(|p| {
            s("path").is_some_and(|got| usrmerge_canonical(got) == usrmerge_canonical(p))
        })
        && e.capabilities
            .as_deref()
            .is_none_or(|want| s("capabilities").is_some_and(|got| caps_set(got) == caps_set(want)))
        && e.mode.as_deref().is_none_or(|m| s("mode") == Some(m))
        && e.owner.as_deref().is_none_or(|o| s("owner") == Some(o))
        && e.group.as_deref().is_none_or(|g| s("group") == Some(g))
        && e.conditional.is_none_or(|x| b("conditional") == Some(x))
        && e.resolved.is_none_or(|x| b("resolved") == Some(x))
}

fn describe_inspect(e: &InspectExpect) -> String {
    let mut s = format!("inspect {}: {} {}", e.package, e.script, e.action);
    for v in [&e.path, &e.capabilities, &e.owner, &e.group, &e.mode]
        .into_iter()
        .flatten()
    {
        s.push(' ');
        s.push_str(v);
    }
    if let Some(c) = e.conditional {
        s.push_str(if c {
            " (conditional)"
        } else {
            " (unconditional)"
        });
    }
    s
}

/// Compact one-line form of a result or change for FAIL lines.
fn brief(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Judges the `check` expectations against the results of one `debgate check` run.
pub(super) fn judge_checks(
    checks: &[CheckExpect],
    names: &BTreeMap<&str, &str>,
    report: &Value,
    t: &mut Tally,
) {
    let empty = Vec::new();
    let results = report["results"].as_array().unwrap_or(&empty);
    for e in checks {
        let package = e
            .package
            .as_deref()
            .map(|p| names.get(p).copied().unwrap_or(p));
        let mut what = format!(
            "check {} on {}: {}",
            e.rule,
            package.unwrap_or("the set"),
            e.status
        );
        if let Some(fragment) = &e.message_contains {
            what.push_str(&format!(", message mentions {fragment:?}"));
        }
        let matching: Vec<&Value> = results
            .iter()
            .filter(|r| r["rule"] == e.rule.as_str() && r["package"].as_str() == package)
            .collect();
        if matching.is_empty() {
            t.record(false, &what, "no such result in the report");
            continue;
        }
        let wrong: Vec<&&Value> = matching
            .iter()
            .filter(|r| r["status"] != e.status.as_str())
            .collect();
        if let Some(r) = wrong.first() {
            t.record(false, &what, &brief(r));
            continue;
        }
        if let Some(fragment) = &e.message_contains {
            let said = matching
                .iter()
                .any(|r| r["message"].as_str().is_some_and(|m| m.contains(fragment)));
            if !said {
                let detail = format!("no message mentions {fragment:?}: {}", brief(matching[0]));
                t.record(false, &what, &detail);
                continue;
            }
        }
        t.record(true, &what, "");
    }
}

/// The end states `inspect --format json` reports for a path (usrmerge aliases folded), in
/// `testdata/states` notation: `MODE OWNER:GROUP [CAPS]`, `?` for unknown, ` rerun` marked.
fn reported_states(report: &Value, path: &str) -> Option<BTreeSet<String>> {
    let file = report["files"].as_array()?.iter().find(|f| {
        f["path"]
            .as_str()
            .is_some_and(|p| usrmerge_canonical(p) == usrmerge_canonical(path))
    })?;
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    Some(
        file["states"]
            .as_array()?
            .iter()
            .map(|s| {
                let mut t = format!(
                    "{} {}:{}",
                    text(&s["mode"]),
                    text(&s["owner"]),
                    text(&s["group"])
                );
                match s["capabilities"].as_str() {
                    Some("") => {}
                    Some(c) => t.push_str(&format!(" {c}")),
                    None => t.push_str(" ?"),
                }
                if s["rerun"] == true {
                    t.push_str(" rerun");
                }
                t
            })
            .collect(),
    )
}

/// Judges one `[[diff]]`'s expectations against its `debgate diff --format json` report.
pub(super) fn judge_diff(d: &DiffSpec, f: &FetchedDiff, report: &Value, t: &mut Tally) {
    let head = format!("diff {} {} -> {}", d.name, f.old.version, f.new.version);
    let empty = Vec::new();
    let list = |v: &Value, key: &str| v[key].as_array().unwrap_or(&empty).clone();

    // Each side is one .deb, so a readable diff has exactly one pair and nothing else.
    let errors = list(report, "errors");
    let pairs = list(report, "pairs");
    let (added, removed) = (list(report, "added"), list(report, "removed"));
    let shape_ok = errors.is_empty() && pairs.len() == 1 && added.is_empty() && removed.is_empty();
    t.record(
        shape_ok,
        &format!("{head}: both sides read and paired"),
        &format!(
            "{} error(s), {} pair(s), {} added, {} removed: {}",
            errors.len(),
            pairs.len(),
            added.len(),
            removed.len(),
            brief(&report["summary"])
        ),
    );
    let Some(pair) = pairs.first() else {
        return;
    };

    let got = pair["version_change"].as_str().unwrap_or("?");
    t.record(
        got == d.version_change,
        &format!("{head}: version change is {}", d.version_change),
        &format!(
            "reported {got} ({} -> {})",
            pair["old_version"], pair["new_version"]
        ),
    );

    let by = pair["paired_by"].as_str().unwrap_or("name");
    t.record(
        by == d.paired_by,
        &format!("{head}: paired by {}", d.paired_by),
        &format!(
            "paired by {by}: {} -> {}",
            pair["old_package"], pair["package"]
        ),
    );

    for (key, max) in &d.at_most {
        let items = counted(pair, key);
        let n = items.len();
        t.record(
            n <= *max,
            &format!("{head}: at most {max} {key}"),
            &format!(
                "{n} reported, the first: {}",
                brief(items.first().unwrap_or(&Value::Null))
            ),
        );
    }
    for (key, min) in &d.at_least {
        let n = counted(pair, key).len();
        t.record(
            n >= *min,
            &format!("{head}: at least {min} {key}"),
            &format!("{n} reported"),
        );
    }

    judge_content(d, &head, pair, t);
    judge_changelog(d, &head, report, pair, t);

    let verdicts = list(report, "verdicts");
    for e in &d.verdicts {
        let mut what = format!("{head}: verdict {}", e.rule);
        for v in [&e.transition, &e.old, &e.new].into_iter().flatten() {
            what.push(' ');
            what.push_str(v);
        }
        let Some(v) = verdicts.iter().find(|v| v["rule"] == e.rule.as_str()) else {
            t.record(false, &what, "no such rule in verdicts");
            continue;
        };
        let same = |want: &Option<String>, key: &str| {
            want.as_deref().is_none_or(|w| v[key].as_str() == Some(w))
        };
        let ok = same(&e.transition, "transition") && same(&e.old, "old") && same(&e.new, "new");
        t.record(ok, &what, &brief(v));
    }

    for u in &d.unchanged {
        let want = usrmerge_canonical(&u.path);
        let is_it = |p: &Value| p.as_str().is_some_and(|p| usrmerge_canonical(p) == want);
        let mut found: Vec<String> = Vec::new();
        for key in ["files_added", "files_removed"] {
            found.extend(
                list(pair, key)
                    .iter()
                    .filter(|p| is_it(p))
                    .map(|p| format!("{key} {p}")),
            );
        }
        found.extend(
            list(pair, "files_moved")
                .iter()
                .filter(|m| is_it(&m["old"]) || is_it(&m["new"]))
                .map(|m| format!("moved {}", brief(m))),
        );
        found.extend(
            list(pair, "metadata")
                .iter()
                .filter(|m| is_it(&m["path"]))
                .filter(|m| {
                    m["field"]
                        .as_str()
                        .is_some_and(|f| u.fields.iter().any(|x| x == f))
                })
                .map(brief),
        );
        found.extend(
            list(pair, "privileges")
                .iter()
                .filter(|m| is_it(&m["path"]))
                .map(brief),
        );
        t.record(
            found.is_empty(),
            &format!("{head}: {} unchanged ({})", u.path, u.fields.join(", ")),
            &found.join("; "),
        );
    }
}

/// The entries `at-most`/`at-least` count for `key`: a list field of the pair, or for
/// `content_changed` the list `content_changes.changed`.
fn counted(pair: &Value, key: &str) -> Vec<Value> {
    let v = match key {
        "content_changed" => &pair["content_changes"]["changed"],
        _ => &pair[key],
    };
    v.as_array().cloned().unwrap_or_default()
}

/// Up to `n` items of a list as text, with how many were left out, for FAIL lines.
fn first_few(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        s.push_str(&format!(", … ({} more)", items.len() - n));
    }
    if s.is_empty() {
        s.push_str("none");
    }
    s
}

/// `content-changed` and `content-renamed` against the pair's `content_changes.changed`.
fn judge_content(d: &DiffSpec, head: &str, pair: &Value, t: &mut Tally) {
    let changed = pair["content_changes"]["changed"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let path_of = |c: &Value, key: &str| c[key].as_str().map(str::to_string);
    let paths: Vec<String> = changed.iter().filter_map(|c| path_of(c, "path")).collect();

    for want in &d.content_changed {
        let canonical = usrmerge_canonical(want);
        let found = paths.iter().any(|p| usrmerge_canonical(p) == canonical);
        t.record(
            found,
            &format!("{head}: content-changed {want}"),
            &format!(
                "not among the {} content_changes.changed paths (compared: {}): {}",
                paths.len(),
                pair["content_changes"]["compared"],
                first_few(&paths, 8)
            ),
        );
    }

    for prefix in &d.content_renamed {
        let renamed = changed
            .iter()
            .any(|c| match (path_of(c, "path"), path_of(c, "old_path")) {
                (Some(new), Some(old)) => {
                    new.starts_with(prefix.as_str())
                        && old.starts_with(prefix.as_str())
                        && new != old
                }
                _ => false,
            });
        let under: Vec<String> = changed
            .iter()
            .filter(|c| {
                path_of(c, "path").is_some_and(|p| p.starts_with(prefix.as_str()))
                    || path_of(c, "old_path").is_some_and(|p| p.starts_with(prefix.as_str()))
            })
            .map(|c| match path_of(c, "old_path") {
                Some(old) => format!("{old} -> {}", c["path"].as_str().unwrap_or("?")),
                None => format!("{} (no old_path)", c["path"].as_str().unwrap_or("?")),
            })
            .collect();
        t.record(
            renamed,
            &format!("{head}: content-renamed {prefix}"),
            &format!(
                "no content_changes.changed entry has a path and a different old_path both \
                 starting with it ({} changed in all); those under it: {}",
                changed.len(),
                first_few(&under, 8)
            ),
        );
    }
}

/// `changelog-versions` against `changelog`, and `references` against the pair's `references`
/// and the report's `cves`.
fn judge_changelog(d: &DiffSpec, head: &str, report: &Value, pair: &Value, t: &mut Tally) {
    if let Some(want) = &d.changelog_versions {
        let changelog = &pair["changelog"];
        let got: Vec<String> = changelog["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["version"].as_str().unwrap_or("?").to_string())
            .collect();
        let truncated = &changelog["truncated"];
        t.record(
            &got == want && *truncated == Value::Bool(false),
            &format!(
                "{head}: changelog-versions [{}], not truncated",
                want.join(", ")
            ),
            &format!(
                "changelog {} has entries [{}], truncated: {truncated}{}",
                changelog["file"],
                got.join(", "),
                match &changelog["notes"] {
                    Value::Null => String::new(),
                    notes => format!(", notes: {}", brief(notes)),
                }
            ),
        );
    }

    let ids: Vec<String> = pair["references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let id = r["id"].as_str()?;
            Some(format!("{} {id}", r["kind"].as_str().unwrap_or("?")))
        })
        .collect();
    let cves: Vec<&str> = report["cves"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for want in &d.references {
        let found = pair["references"]
            .as_array()
            .is_some_and(|rs| rs.iter().any(|r| r["id"].as_str() == Some(want.as_str())));
        t.record(
            found,
            &format!("{head}: references {want}"),
            &format!(
                "not among the pair's {} references: {}",
                ids.len(),
                first_few(&ids, 10)
            ),
        );
        if want.starts_with("CVE-") {
            let owned: Vec<String> = cves.iter().map(|c| c.to_string()).collect();
            t.record(
                cves.contains(&want.as_str()),
                &format!("{head}: top-level cves lists {want}"),
                &format!(
                    "not among the report's {} cves: {}",
                    cves.len(),
                    first_few(&owned, 10)
                ),
            );
        }
    }
}

/// Judges one `[[inspect]]` expectation against its package's `inspect --format json` report
/// (or the reason there is none).
pub(super) fn judge_inspect(e: &InspectExpect, report: &Result<Value, String>, t: &mut Tally) {
    let what = describe_inspect(e);
    match report {
        Ok(report) => {
            let changes = report["changes"].as_array();
            let found = changes.is_some_and(|cs| cs.iter().any(|c| change_matches(e, c)));
            let detail = match changes {
                Some(cs) => {
                    let same: Vec<String> = cs
                        .iter()
                        .filter(|c| c["action"] == e.action.as_str())
                        .map(brief)
                        .collect();
                    format!(
                        "reported {} change(s) of that action: {}",
                        same.len(),
                        same.join("; ")
                    )
                }
                None => "no `changes` array".to_string(),
            };
            t.record(found, &what, &detail);
        }
        Err(err) => t.record(false, &what, err),
    }
}

/// Judges one `[[states]]` expectation against its package's `inspect --format json` report
/// (or the reason there is none).
pub(super) fn judge_states(e: &StatesExpect, report: &Result<Value, String>, t: &mut Tally) {
    let what = format!("states of {} {}", e.package, e.path);
    match report {
        Ok(report) => {
            let want: BTreeSet<String> = e.states.iter().cloned().collect();
            let got = reported_states(report, &e.path);
            let detail = format!("expected {want:?}, inspect reports {got:?}");
            t.record(got.as_ref() == Some(&want), &what, &detail);
        }
        Err(err) => t.record(false, &what, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::apt::DiffSide;
    use std::path::PathBuf;

    #[test]
    fn caps_compare_as_sets() {
        assert_eq!(caps_set("cap_a,cap_b=ep"), caps_set("cap_b,cap_a=pe"));
        assert_eq!(caps_set("cap_a+ep"), caps_set("cap_a=ep"));
        assert_ne!(caps_set("cap_a=ep"), caps_set("cap_a=eip"));
        assert_eq!(caps_set("CAP_A=EP"), caps_set("cap_a=ep"));
    }

    fn diff_spec(toml_text: &str) -> DiffSpec {
        let d: DiffSpec = toml::from_str(toml_text).unwrap();
        d.validate().unwrap();
        d
    }

    fn fetched_diff() -> FetchedDiff {
        let side = |v: &str| DiffSide {
            package: "k".into(),
            version: v.into(),
            deb: PathBuf::from(format!("k_{v}_amd64.deb")),
        };
        FetchedDiff {
            name: "k".into(),
            old: side("1"),
            new: side("2"),
        }
    }

    /// `(passed, failed)` of the diff expectations against `report`.
    fn judge(d: &DiffSpec, report: &Value) -> (usize, usize) {
        let mut t = Tally::default();
        judge_diff(d, &fetched_diff(), report, &mut t);
        (t.passed, t.failed)
    }

    #[test]
    fn diff_expectations_pass_and_fail() {
        let d = diff_spec(
            r#"
            name = "k"
            old = "oldest"
            new = "newest"
            version-change = "upgrade"
            paired-by = "abi"
            at-most = { files_added = 1, privileges = 0 }
            at-least = { content = 1 }
            [[verdict]]
            rule = "r"
            transition = "unchanged"
            new = "pass"
            [[unchanged]]
            path = "/bin/x"
            "#,
        );
        let pair = serde_json::json!({
            "package": "k-2", "old_package": "k-1", "paired_by": "abi",
            "old_version": "1", "new_version": "2", "version_change": "upgrade",
            "control": [], "conffiles_added": [], "conffiles_removed": [],
            "files_added": ["/lib/new"], "files_removed": [], "files_moved": [],
            "metadata": [{"path": "/usr/bin/x", "field": "size", "old": "1", "new": "2"}],
            "content": [{"path": "postinst"}], "kconfig": [], "privileges": []
        });
        let report = |pair: Value| {
            serde_json::json!({
                "errors": [], "added": [], "removed": [], "pairs": [pair], "summary": {},
                "verdicts": [{"rule": "r", "transition": "unchanged", "old": "pass", "new": "pass"}]
            })
        };
        // shape, version, pairing, 2 at-most, 1 at-least, 1 verdict, 1 unchanged.
        assert_eq!(judge(&d, &report(pair.clone())), (8, 0));

        let mut worse = pair.clone();
        worse["paired_by"] = Value::Null;
        worse["version_change"] = "downgrade".into();
        worse["files_added"] = serde_json::json!(["/a", "/b"]);
        worse["metadata"] =
            serde_json::json!([{"path": "/bin/x", "field": "mode", "old": "0755", "new": "4755"}]);
        worse["content"] = serde_json::json!([]);
        assert_eq!(judge(&d, &report(worse)), (3, 5));

        let mut moved = pair.clone();
        moved["files_moved"] = serde_json::json!([{"old": "/usr/bin/x", "new": "/usr/sbin/x"}]);
        assert_eq!(judge(&d, &report(moved)), (7, 1));

        let unpaired = serde_json::json!({
            "errors": [], "added": [{"package": "k-2"}], "removed": [{"package": "k-1"}],
            "pairs": [], "summary": {}, "verdicts": []
        });
        assert_eq!(judge(&d, &unpaired), (0, 1));
    }

    #[test]
    fn content_and_changelog_expectations_pass_and_fail() {
        let d = diff_spec(
            r#"
            name = "k"
            old = "oldest"
            new = "newest"
            version-change = "upgrade"
            paired-by = "name"
            at-least = { content_changed = 2 }
            content-changed = ["/bin/x"]
            content-renamed = ["/boot/config-"]
            changelog-versions = ["2", "1.1"]
            references = ["CVE-2024-1", "900001"]
            "#,
        );
        let pair = serde_json::json!({
            "package": "k", "old_version": "1", "new_version": "2", "version_change": "upgrade",
            "content_changes": {"compared": 3, "changed": [
                {"path": "/usr/bin/x"},
                {"path": "/boot/config-2", "old_path": "/boot/config-1"},
            ]},
            "changelog": {"file": "/usr/share/doc/k/changelog.Debian.gz", "truncated": false,
                "entries": [{"version": "2"}, {"version": "1.1"}], "notes": []},
            "references": [{"kind": "cve", "id": "CVE-2024-1"}, {"kind": "closes", "id": "900001"}]
        });
        let report = |pair: Value, cves: Value| {
            serde_json::json!({
                "errors": [], "added": [], "removed": [], "pairs": [pair], "summary": {},
                "verdicts": [], "cves": cves
            })
        };
        let cves = serde_json::json!(["CVE-2024-1"]);
        // shape, version, pairing, at-least, content-changed, content-renamed, changelog,
        // 2 references, 1 top-level cve.
        assert_eq!(judge(&d, &report(pair.clone(), cves.clone())), (10, 0));

        let mut worse = pair.clone();
        // A rename outside the prefix, the same path on both sides, no /bin/x.
        worse["content_changes"]["changed"] = serde_json::json!([
            {"path": "/boot/config-2", "old_path": "/boot/config-2"},
            {"path": "/boot/vmlinuz-2", "old_path": "/boot/vmlinuz-1"},
        ]);
        worse["changelog"]["entries"] = serde_json::json!([{"version": "2"}]);
        worse["references"] = serde_json::json!([{"kind": "lp", "id": "900001"}]);
        // at-least still holds (2); the rest fail, the 900001 reference by id passes.
        assert_eq!(judge(&d, &report(worse, serde_json::json!([]))), (5, 5));

        let mut truncated = pair.clone();
        truncated["changelog"]["truncated"] = true.into();
        assert_eq!(judge(&d, &report(truncated, cves)), (9, 1));
    }

    #[test]
    fn change_matching_uses_every_given_field() {
        let e = InspectExpect {
            package: "p".into(),
            script: "postinst".into(),
            action: "setcap".into(),
            path: Some("/bin/x".into()),
            capabilities: Some("cap_net_raw=ep".into()),
            mode: None,
            owner: None,
            group: None,
            conditional: Some(true),
            resolved: None,
            evidence: None,
        };
        let c = serde_json::json!({"script": "postinst", "action": "setcap", "path": "/usr/bin/x",
            "capabilities": "cap_net_raw+ep", "conditional": true, "resolved": true});
        assert!(change_matches(&e, &c));
        let c2 = serde_json::json!({"script": "postinst", "action": "setcap", "path": "/usr/bin/x",
            "capabilities": "cap_net_raw+ep", "conditional": false});
        assert!(!change_matches(&e, &c2));
    }
}
