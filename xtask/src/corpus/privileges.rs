//! The privilege allow-list on the real corpus: the worked list (`policies/allowlists/`) passes;
//! without any one of its entries exactly that file (or command) fails; `debgate privileges`
//! lists every privileged file `inspect` finds, once; and the TOML it writes, loaded back,
//! approves the same set with no entry left unused.

use super::judging::{debgate_json, Tally};
use crate::util::usrmerge_canonical;
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const RULE: &str = "privileges-allowlisted";
const POLICY: &str = "policies/privileges.toml";
const ALLOWLIST: &str = "policies/allowlists/debian.toml";

/// The results of the allow-list rule in a `check --format json` report: (status, path,
/// message, severity).
fn results(report: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    report["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["rule"] == RULE)
        .map(|r| {
            (
                s(r, "status"),
                s(r, "path"),
                s(r, "message"),
                s(r, "severity"),
            )
        })
        .collect()
}

/// A policy beside `allowlist` (a directory of the test's own), as the bundled one but with
/// that list.
fn write_policy(dir: &Path, root: &Path, allowlist: &str) -> Result<std::path::PathBuf> {
    let policy = std::fs::read_to_string(root.join(POLICY))?
        .replace("allowlists/debian.toml", "allowlist.toml");
    std::fs::write(dir.join("allowlist.toml"), allowlist)?;
    let path = dir.join("privileges.toml");
    std::fs::write(&path, policy)?;
    Ok(path)
}

/// The `[[allow]]` blocks of an allow-list, each as written (comments before it included), and
/// the text before the first.
fn entries(text: &str) -> (String, Vec<String>) {
    let mut parts = text.split("\n[[allow]]");
    let head = parts.next().unwrap_or("").to_string();
    (head, parts.map(|p| format!("\n[[allow]]{p}")).collect())
}

/// `path = "..."` or the `command` of an entry: what its failure must name.
fn subject(entry: &str) -> Option<String> {
    let value = |key: &str| {
        entry.lines().find_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(key)?.trim_start().strip_prefix('=')?;
            Some(rest.trim().trim_matches('"').to_string())
        })
    };
    value("path").or_else(|| {
        let line = entry
            .lines()
            .find(|l| l.trim_start().starts_with("unresolved"))?;
        let at = line.find("command = \"")? + "command = \"".len();
        Some(
            line[at..]
                .trim_end()
                .trim_end_matches('}')
                .trim_end()
                .trim_end_matches('"')
                .to_string(),
        )
    })
}

pub(super) fn judge(root: &Path, exe: &Path, debs: &[&Path], t: &mut Tally) -> Result<()> {
    let scratch = tempfile::tempdir()?;
    // 1. The worked list passes on the corpus, every entry used.
    let report = debgate_json(
        exe,
        &["check", "--format", "json", "--policy", "privileges"],
        debs,
    )?;
    let got = results(&report);
    let failing: Vec<_> = got.iter().filter(|r| r.0 == "fail").collect();
    t.record(
        !got.is_empty() && failing.is_empty(),
        "privileges: the worked allow-list approves every privileged file of the corpus",
        &format!("{failing:?}"),
    );

    // 2. The inventory lists every privileged file inspect finds, each once.
    // With --directories, as inspect lists every file whatever its type.
    let inventory = debgate_json(
        exe,
        &["privileges", "--format", "json", "--directories"],
        debs,
    )?;
    let mut listed = BTreeSet::new();
    let mut duplicates = Vec::new();
    for p in inventory["packages"].as_array().into_iter().flatten() {
        for f in p["files"].as_array().into_iter().flatten() {
            let key = (
                p["package"].as_str().unwrap_or("").to_string(),
                p["version"].as_str().unwrap_or("").to_string(),
                f["path"].as_str().unwrap_or("").to_string(),
            );
            if !listed.insert(key.clone()) {
                duplicates.push(key);
            }
        }
    }
    let mut missing = Vec::new();
    for deb in debs {
        let inspect = debgate_json(exe, &["inspect", "--format", "json"], &[deb])?;
        let (name, version) = (
            inspect["package"].as_str().unwrap_or("").to_string(),
            inspect["version"].as_str().unwrap_or("").to_string(),
        );
        for f in inspect["files"].as_array().into_iter().flatten() {
            let privileged = f["states"].as_array().into_iter().flatten().any(|s| {
                let mode = s["mode"]
                    .as_str()
                    .and_then(|m| u32::from_str_radix(m, 8).ok())
                    .unwrap_or(0);
                mode & 0o6000 != 0 || s["capabilities"].as_str().is_some_and(|c| !c.is_empty())
            });
            let key = (
                name.clone(),
                version.clone(),
                f["path"].as_str().unwrap_or("").to_string(),
            );
            if privileged && !listed.contains(&key) {
                missing.push(key);
            }
        }
    }
    t.record(
        missing.is_empty() && duplicates.is_empty() && !listed.is_empty(),
        &format!(
            "privileges: the inventory lists each of the {} privileged files inspect finds, once",
            listed.len()
        ),
        &format!("missing {missing:?}, duplicated {duplicates:?}"),
    );

    // 3. Without any one entry, exactly that file (or command) fails. Only the packages with
    // a privilege take part: the others cannot use or miss an entry.
    let privileged: BTreeSet<String> = inventory["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["files"].as_array().is_some_and(|f| !f.is_empty())
                || p["unresolved"].as_array().is_some_and(|u| !u.is_empty())
        })
        .filter_map(|p| p["file"].as_str().map(str::to_string))
        .collect();
    let few: Vec<&Path> = debs
        .iter()
        .copied()
        .filter(|d| privileged.contains(&d.display().to_string()))
        .collect();
    let text = std::fs::read_to_string(root.join(ALLOWLIST)).context(ALLOWLIST)?;
    let (head, list) = entries(&text);
    for (i, entry) in list.iter().enumerate() {
        let Some(subject) = subject(entry) else {
            t.record(
                false,
                "privileges: an entry names a path or a command",
                entry,
            );
            continue;
        };
        let mut without = head.clone();
        for (j, e) in list.iter().enumerate() {
            if j != i {
                without.push_str(e);
            }
        }
        let dir = scratch.path().join(format!("without-{i}"));
        std::fs::create_dir_all(&dir)?;
        let policy = write_policy(&dir, root, &without)?;
        let policy = policy.display().to_string();
        let what = format!("privileges: without the entry for {subject}, exactly it fails");
        match debgate_json(
            exe,
            &["check", "--format", "json", "--policy", &policy],
            &few,
        ) {
            Ok(report) => {
                let failing: Vec<_> = results(&report)
                    .into_iter()
                    .filter(|r| r.0 == "fail" && r.3 == "error")
                    .collect();
                let names_it = |r: &(String, String, String, String)| {
                    usrmerge_canonical(&r.1) == usrmerge_canonical(&subject)
                        || r.2.contains(&subject)
                };
                let ok = !failing.is_empty() && failing.iter().all(names_it);
                t.record(ok, &what, &format!("failing: {failing:?}"));
            }
            Err(e) => t.record(false, &what, &format!("{e:#}")),
        }
    }

    // 4. The bootstrap round-trips: loaded back (with --allow-todo), it approves the same set
    // with no entry unused, and without --allow-todo it is refused.
    let out = std::process::Command::new(exe)
        .args(["privileges", "--format", "toml"])
        .args(debs)
        .output()?;
    let toml = String::from_utf8(out.stdout)?;
    let dir = scratch.path().join("bootstrap");
    std::fs::create_dir_all(&dir)?;
    let policy = write_policy(&dir, root, &toml)?.display().to_string();
    let what = "privileges: the bootstrapped allow-list approves the corpus, every entry used";
    match debgate_json(
        exe,
        &[
            "check",
            "--format",
            "json",
            "--allow-todo",
            "--policy",
            &policy,
        ],
        debs,
    ) {
        Ok(report) => {
            let got = results(&report);
            let failing: Vec<_> = got.iter().filter(|r| r.0 != "pass").collect();
            t.record(
                !got.is_empty() && failing.is_empty(),
                what,
                &format!("{failing:?}"),
            );
        }
        Err(e) => t.record(false, what, &format!("{e:#}")),
    }
    let refused = std::process::Command::new(exe)
        .args(["check", "--policy", &policy])
        .args(debs)
        .output()?;
    t.record(
        refused.status.code() == Some(2)
            && String::from_utf8_lossy(&refused.stderr).contains("todo-reason"),
        "privileges: an unreviewed allow-list is refused without --allow-todo",
        &format!("exit {:?}", refused.status.code()),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_their_subjects() {
        let (head, list) = entries(
            "# head\n\n[[allow]]\npackage = \"a\"\npath = \"/bin/a\"\n\n# c\n[[allow]]\npackage = \"b\"\nunresolved = { script = \"postinst\", command = \"chmod $MODE $FILE\" }\n",
        );
        assert_eq!(head, "# head\n");
        assert_eq!(list.len(), 2);
        assert_eq!(subject(&list[0]).as_deref(), Some("/bin/a"));
        assert_eq!(subject(&list[1]).as_deref(), Some("chmod $MODE $FILE"));
    }
}
