//! The corpus served as an apt repository: the fetched real packages put in a `file://`
//! repository that apt-ftparchive indexes and a throwaway key signs, with apt as the oracle.
//!
//! - `apt-get update` in a private root takes the repository with no `W:` or `E:` line: what
//!   debgate is about to read is a repository apt reads.
//! - `debgate check --format json --archive SPEC` gives the same (rule, package, status)
//!   multiset as `debgate check --format json` of the same files, and reads every package: with
//!   the default set and with each bundled policy alone, each twice through one facts cache
//!   (cold, then warm: the facts of real packages survive the cache), and once more served over
//!   loopback HTTP by the test server (as a mirror serves it).
//! - With one package's SHA256 changed in `Packages` (Release untouched), apt fails and debgate
//!   exits 2: both refuse an index the signed Release does not list.
//!
//! Without apt-ftparchive or gpg this says SKIP with the reason, loudly; under `CI` (which
//! installs them, `.ci/run`) their absence is a FAIL, so that CI never passes without it.

use super::apt::Fetched;
use super::judging::{debgate_json, Tally};
use crate::repo::{self, Layout};
use crate::util::{self, tail};
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The suite of the corpus repository.
const SUITE: &str = "corpus";

/// Each (rule, package, status) of a report with how often it occurs.
fn verdicts(report: &Value) -> BTreeMap<(String, String, String), usize> {
    let mut v = BTreeMap::new();
    for r in report["results"].as_array().into_iter().flatten() {
        let field = |k: &str| r[k].as_str().unwrap_or("").to_string();
        *v.entry((field("rule"), field("package"), field("status")))
            .or_insert(0) += 1;
    }
    v
}

/// Where two verdict multisets differ, at most `max` lines: `rule package status: N vs M`.
fn differences(
    files: &BTreeMap<(String, String, String), usize>,
    archive: &BTreeMap<(String, String, String), usize>,
    max: usize,
) -> Vec<String> {
    let mut keys: Vec<&(String, String, String)> = files.keys().chain(archive.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| files.get(*k) != archive.get(*k))
        .take(max)
        .map(|(rule, package, status)| {
            let n = |m: &BTreeMap<_, usize>| {
                m.get(&(rule.clone(), package.clone(), status.clone()))
                    .copied()
                    .unwrap_or(0)
            };
            format!(
                "{rule} {package} {status}: {} from the files, {} from the repository",
                n(files),
                n(archive)
            )
        })
        .collect()
}

/// The selections compared: the default set, then each bundled policy alone (by name), so that
/// every kind of rule (privileges, kernel config, sysctl, text) is judged both ways.
fn selections(root: &Path) -> Result<Vec<Option<String>>> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("policies"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    Ok(std::iter::once(None)
        .chain(names.into_iter().map(Some))
        .collect())
}

/// Runs the repository checks, one tally line each.
pub(super) fn judge(root: &Path, exe: &Path, fetched: &[Fetched], t: &mut Tally) {
    let what = "corpus as a repository";
    if let Some(why) = repo::missing_tools(true)
        .or_else(|| (!util::on_path("apt-get")).then(|| "apt-get not installed".to_string()))
    {
        if std::env::var_os("CI").is_some() {
            t.record(
                false,
                what,
                &format!("CI is set but {why}: .ci/run installs apt-utils"),
            );
        } else {
            println!("SKIP {what}: {why}; apt is the oracle for the repository, so nothing of it was checked");
        }
        return;
    }
    if let Err(err) = run(root, exe, fetched, t) {
        t.record(false, what, &format!("{err:#}"));
    }
}

fn run(root: &Path, exe: &Path, fetched: &[Fetched], t: &mut Tally) -> Result<()> {
    let mut debs: Vec<PathBuf> = fetched.iter().map(|f| f.deb.clone()).collect();
    debs.sort();
    debs.dedup();
    let scratch = util::target_dir(root).join("corpus-repository");
    let repo = repo::build(
        &scratch.join("repo"),
        &debs,
        &Layout {
            suite: SUITE,
            entries: debs.len(),
            signed: true,
        },
    )?;
    let line = repo.source_line();
    println!("corpus: repository of {} package(s): {line}", debs.len());

    let apt = repo::apt_update(&line, &scratch.join("apt"))?;
    let detail = if apt.complaints.is_empty() {
        apt.tail.clone()
    } else {
        apt.complaints.join(" | ")
    };
    t.record(
        apt.clean(),
        "repository: apt-get update takes it with no W: or E: line",
        &detail,
    );

    // The same repository over loopback HTTP, as a mirror serves it.
    let server = debgate_testkeys::server::Server::serve(&repo.dir);
    let http_line = line.replace(&format!("file://{}", repo.dir.display()), &server.url());
    let cache = scratch.join("cache");
    if cache.exists() {
        std::fs::remove_dir_all(&cache)?;
    }
    let cache = cache.to_string_lossy().into_owned();

    let deb_refs: Vec<&Path> = debs.iter().map(PathBuf::as_path).collect();
    for (policy, how) in selections(root)?
        .into_iter()
        .flat_map(|p| {
            [
                (p.clone(), "file://, facts cache cold"),
                (p.clone(), "file://, facts cache warm"),
            ]
        })
        .chain([(None, "loopback http://, no cache")])
    {
        let mut args = vec!["check", "--format", "json"];
        if let Some(p) = &policy {
            args.extend(["--policy", p.as_str()]);
        }
        let named = format!("{}, {how}", policy.as_deref().unwrap_or("the default set"));
        let files = debgate_json(exe, &args, &deb_refs)?;
        if how.starts_with("loopback") {
            args.extend(["--archive", http_line.as_str(), "--no-cache"]);
        } else {
            args.extend(["--archive", line.as_str(), "--cache", cache.as_str()]);
        }
        let via = debgate_json(exe, &args, &[]).with_context(|| {
            format!("debgate check --archive ({named}) on the corpus repository")
        })?;
        let unread: Vec<String> = via["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                p["error"]
                    .as_str()
                    .map(|e| format!("{}: {e}", p["file"].as_str().unwrap_or("?")))
            })
            .collect();
        let read = via["packages"].as_array().map_or(0, Vec::len) - unread.len();
        let (a, b) = (verdicts(&files), verdicts(&via));
        let diff = differences(&a, &b, 10);
        let mut problems = diff;
        if !unread.is_empty() || read != debs.len() {
            problems.insert(
                0,
                format!("{read} of {} read; {}", debs.len(), unread.join("; ")),
            );
        }
        t.record(
            problems.is_empty(),
            &format!(
                "repository, {named}: check --archive reads all {} package(s) and gives the (rule, package, status) multiset of the files ({} results)",
                debs.len(),
                a.values().sum::<usize>()
            ),
            &problems.join("; "),
        );
    }

    // The cold runs stored every package's facts (the warm ones were answered from them).
    let info = Command::new(exe)
        .args(["cache", "info", "--cache", &cache])
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let entries: usize = info
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    t.record(
        entries >= debs.len(),
        &format!(
            "repository: the facts cache holds an entry per package read ({} package(s))",
            debs.len()
        ),
        info.trim(),
    );

    // The negative: an index the signed Release does not list.
    repo::tamper_index(&repo)?;
    let apt = repo::apt_update(&line, &scratch.join("apt-tampered"))?;
    t.record(
        !apt.clean(),
        "repository, Packages changed after signing: apt-get update fails",
        "apt took it without complaint",
    );
    let out = Command::new(exe)
        .args([
            "check",
            "--format",
            "json",
            "--no-cache",
            "--archive",
            &line,
        ])
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    t.record(
        out.status.code() == Some(2),
        "repository, Packages changed after signing: debgate check --archive exits 2",
        &format!("exit {:?}: {}", out.status.code(), tail(&out.stderr, 3)),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_multisets_count_repeats() {
        let report = serde_json::json!({"results": [
            {"rule": "r", "package": "p", "status": "pass"},
            {"rule": "r", "package": "p", "status": "pass"},
            {"rule": "r", "package": "q", "status": "fail"},
        ]});
        let one = serde_json::json!({"results": [
            {"rule": "r", "package": "p", "status": "pass"},
            {"rule": "r", "package": "q", "status": "fail"},
        ]});
        let (a, b) = (verdicts(&report), verdicts(&one));
        assert_eq!(a[&("r".into(), "p".into(), "pass".into())], 2);
        assert_eq!(
            differences(&a, &b, 10),
            ["r p pass: 2 from the files, 1 from the repository"]
        );
        assert!(differences(&a, &a, 10).is_empty());
    }
}
