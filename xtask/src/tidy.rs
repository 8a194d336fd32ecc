//! Tidy checks: repository rules that no compiler enforces. Each check returns the list of
//! problems it found (empty = clean) so that `cargo xtask tidy` can print them all at once and
//! `xtask/tests/tidy.rs` can assert on each check separately.

use anyhow::{bail, Context, Result};
use regex::Regex;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The directories whose Rust sources the tidy checks cover.
const RUST_ROOTS: [&str; 2] = ["crates", "xtask"];

/// The word list for "rules are data": data, so that this file need not spell the words.
const FORBIDDEN_WORDS_FILE: &str = "xtask/tidy-forbidden.txt";

/// A named check, so the CLI can run them all and report each by name.
pub struct Check {
    pub name: &'static str,
    pub run: fn(&Path) -> Result<Vec<String>>,
}

/// Every tidy check, in the order `cargo xtask tidy` runs them.
pub const CHECKS: [Check; 7] = [
    Check {
        name: "rules are data (no policy words in Rust)",
        run: rules_are_data,
    },
    Check {
        name: "every .rs file starts with //!",
        run: module_docs,
    },
    Check {
        name: "every policy rule has title, explanation, references",
        run: rules_documented,
    },
    Check {
        name: "every assertion kind is in README.md's policy reference",
        run: assertion_kinds_in_readme,
    },
    Check {
        name: "every crate is named in ARCHITECTURE.md",
        run: crates_in_architecture,
    },
    Check {
        name: "every diagnostic code is in README.md",
        run: diagnostic_codes_in_readme,
    },
    Check {
        name: "the policy reference matches the loader",
        run: policy_reference_matches_loader,
    },
];

/// Runs every check, prints each problem, and returns how many checks failed.
pub fn run_all(root: &Path) -> Result<usize> {
    let mut failed = 0;
    for check in &CHECKS {
        let problems = (check.run)(root).with_context(|| format!("tidy: {}", check.name))?;
        if problems.is_empty() {
            println!("tidy: ok   {}", check.name);
        } else {
            failed += 1;
            println!("tidy: FAIL {}", check.name);
            for p in &problems {
                println!("    {p}");
            }
        }
    }
    Ok(failed)
}

/// Every `.rs` file under crates/ and xtask/, sorted, skipping build output and hidden
/// directories (a nested `target/` would otherwise drag generated code in).
pub fn rust_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for dir in RUST_ROOTS {
        walk(&root.join(dir), &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if name != "target" && !name.starts_with('.') {
                walk(&path, out)?;
            }
        } else if file_type.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The words of `xtask/tidy-forbidden.txt`, lower-cased: one a line, `#` comments and blank
/// lines ignored.
pub fn forbidden_words(root: &Path) -> Result<Vec<String>> {
    let path = root.join(FORBIDDEN_WORDS_FILE);
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_lowercase)
        .collect())
}

/// Every kernel option name (`CONFIG_...`) that a bundled policy mentions, anywhere in the file:
/// in an assertion, but also in an explanation, since a rule's prose names what it is about.
pub fn policy_kernel_options(root: &Path) -> Result<BTreeSet<String>> {
    let token = Regex::new(r"\bCONFIG_[A-Z0-9_]+\b")?;
    let mut names = BTreeSet::new();
    for file in policy_files(root)? {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        names.extend(token.find_iter(&text).map(|m| m.as_str().to_string()));
    }
    Ok(names)
}

/// (a) Rules are data: no Rust source names the packages or programs that the bundled policies
/// are about (the words of `xtask/tidy-forbidden.txt`) or a kernel option that a policy names.
pub fn rules_are_data(root: &Path) -> Result<Vec<String>> {
    let words = forbidden_words(root)?;
    if words.is_empty() {
        bail!("{FORBIDDEN_WORDS_FILE} lists no word: the check would pass vacuously");
    }
    // Whole tokens, case-sensitive: kernel option names are upper case. Every option a policy
    // names is forbidden by name; beyond those, Rust names no kernel option at all (the brief:
    // "no Rust code may name any CONFIG option"), so a test input that looks like one belongs
    // in a data file under testdata/.
    let options = policy_kernel_options(root)?
        .into_iter()
        .map(|name| {
            let re = Regex::new(&format!(r"\b{}\b", regex::escape(&name)))?;
            Ok((name, re))
        })
        .collect::<Result<Vec<_>>>()?;
    let any_option = Regex::new(concat!(r"\bCONF", r"IG_[A-Z0-9_]+\b"))?;

    let mut problems = Vec::new();
    for file in rust_files(root)? {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let mut hits: Vec<String> = words
                .iter()
                .filter(|w| lower.contains(w.as_str()))
                .cloned()
                .collect();
            hits.extend(
                options
                    .iter()
                    .filter(|(_, re)| re.is_match(line))
                    .map(|(name, _)| name.clone()),
            );
            if hits.is_empty() {
                hits.extend(
                    any_option
                        .find_iter(line)
                        .map(|m| format!("kernel option {}", m.as_str())),
                );
            }
            if !hits.is_empty() {
                problems.push(format!(
                    "{}:{}: names {} (rules are data: put it in policies/ or a data file)",
                    relative(root, &file),
                    n + 1,
                    hits.join(", ")
                ));
            }
        }
    }
    Ok(problems)
}

/// (b) Every Rust file says what it is for in a `//!` first line.
pub fn module_docs(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for file in rust_files(root)? {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        if !text.lines().next().is_some_and(|l| l.starts_with("//!")) {
            problems.push(format!(
                "{}: first line is not a `//!` module comment",
                relative(root, &file)
            ));
        }
    }
    Ok(problems)
}

/// `policies/*.toml`, sorted. Fails when there is none, because a check over no policy proves
/// nothing.
pub fn policy_files(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("policies");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no policies/*.toml");
    }
    Ok(files)
}

/// One `[[rule]]` of a policy, as far as the documentation checks care. Everything is optional
/// here: the policy loader reports malformed policies; tidy reports what is undocumented.
#[derive(Debug, Default)]
pub struct RuleDoc {
    pub file: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub explanation: Option<String>,
    pub references: usize,
    pub assert_kind: Option<String>,
}

/// Reads every `[[rule]]` of `policies/*.toml`.
pub fn policy_rules(root: &Path) -> Result<Vec<RuleDoc>> {
    let mut rules = Vec::new();
    for file in policy_files(root)? {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
        let name = relative(root, &file);
        let Some(list) = table.get("rule").and_then(|r| r.as_array()) else {
            continue;
        };
        for rule in list {
            let str_of = |key: &str| rule.get(key).and_then(|v| v.as_str()).map(str::to_string);
            rules.push(RuleDoc {
                file: name.clone(),
                id: str_of("id"),
                title: str_of("title"),
                explanation: str_of("explanation"),
                references: rule
                    .get("references")
                    .and_then(|r| r.as_array())
                    .map_or(0, |r| {
                        r.iter()
                            .filter(|x| x.as_str().is_some_and(|s| !s.trim().is_empty()))
                            .count()
                    }),
                assert_kind: rule
                    .get("assert")
                    .and_then(|a| a.get("kind"))
                    .and_then(|k| k.as_str())
                    .map(str::to_string),
            });
        }
    }
    Ok(rules)
}

/// (c, first half) Every rule has an id, a non-empty title and explanation, at least one
/// reference, and ids are unique across the bundled policies.
pub fn rules_documented(root: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for rule in policy_rules(root)? {
        let Some(id) = rule.id.as_deref().filter(|s| !s.trim().is_empty()) else {
            problems.push(format!("{}: a [[rule]] has no id", rule.file));
            continue;
        };
        if !seen.insert(id.to_string()) {
            problems.push(format!("{}: rule id `{id}` is used twice", rule.file));
        }
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        if blank(&rule.title) {
            problems.push(format!("{}: rule `{id}` has no title", rule.file));
        }
        if blank(&rule.explanation) {
            problems.push(format!("{}: rule `{id}` has no explanation", rule.file));
        }
        if rule.references == 0 {
            problems.push(format!("{}: rule `{id}` has no references", rule.file));
        }
    }
    Ok(problems)
}

/// The lines of README.md's policy reference: from the first heading that mentions "polic"
/// to the next heading of the same or a higher level. Lines inside fenced code blocks are never
/// headings: a shell comment like `# check the policy` in a ```sh block would otherwise open or
/// close the section.
fn policy_reference_section(readme: &str) -> Option<Vec<&str>> {
    let mut in_fence = false;
    let lines: Vec<(&str, Option<usize>)> = readme
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                in_fence = !in_fence;
                return (line, None);
            }
            let hashes = line.chars().take_while(|c| *c == '#').count();
            let heading = !in_fence && hashes > 0 && line[hashes..].starts_with(' ');
            (line, heading.then_some(hashes))
        })
        .collect();
    // "Writing a policy" when there is one (other sections mention policies too), else the
    // first heading that does.
    let heading_with = |word: &str| {
        lines
            .iter()
            .position(|(l, level)| level.is_some() && l.to_lowercase().contains(word))
    };
    let start = heading_with("writing a polic").or_else(|| heading_with("polic"))?;
    let start_level = lines[start].1?;
    Some(
        lines[start + 1..]
            .iter()
            .take_while(|(_, level)| level.is_none_or(|n| n > start_level))
            .map(|(l, _)| *l)
            .collect(),
    )
}

/// (c, second half) Every assertion kind used by a bundled rule is documented in README.md's
/// policy reference, as a heading or as a backticked name.
pub fn assertion_kinds_in_readme(root: &Path) -> Result<Vec<String>> {
    let kinds: BTreeSet<String> = policy_rules(root)?
        .into_iter()
        .filter_map(|r| r.assert_kind)
        .collect();
    let path = root.join("README.md");
    let Ok(readme) = fs::read_to_string(&path) else {
        return Ok(vec!["README.md is missing".to_string()]);
    };
    let Some(section) = policy_reference_section(&readme) else {
        return Ok(vec![
            "README.md has no policy reference section (a heading mentioning \"policy\")"
                .to_string(),
        ]);
    };
    let mut problems = Vec::new();
    for kind in kinds {
        let ticked = format!("`{kind}`");
        let documented = section.iter().any(|line| {
            let heading = line.starts_with('#') && line.trim_start_matches('#').trim() == kind;
            heading || line.contains(&ticked)
        });
        if !documented {
            problems.push(format!(
                "assertion kind `{kind}` is not documented in README.md's policy reference"
            ));
        }
    }
    Ok(problems)
}

/// (d) Every crate directory under crates/ appears in ARCHITECTURE.md as `crates/NAME`.
pub fn crates_in_architecture(root: &Path) -> Result<Vec<String>> {
    let path = root.join("ARCHITECTURE.md");
    let Ok(text) = fs::read_to_string(&path) else {
        return Ok(vec!["ARCHITECTURE.md is missing".to_string()]);
    };
    let crates_dir = root.join("crates");
    let mut names: Vec<String> = fs::read_dir(&crates_dir)
        .with_context(|| format!("reading {}", crates_dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut problems = Vec::new();
    for name in names {
        // Match `crates/NAME` as a whole path component so `crates/check` does not count for a
        // hypothetical `crates/check-extra`.
        let needle = Regex::new(&format!(r"crates/{}\b(?:[^-]|$)", regex::escape(&name)))?;
        if !needle.is_match(&text) {
            problems.push(format!(
                "crates/{name} is not named in ARCHITECTURE.md's code map"
            ));
        }
    }
    Ok(problems)
}

/// Every diagnostic code a policy or waiver file can get (`debgate_policy::Code`) is listed in
/// README.md as `` `code` ``, so that a user who meets one can look it up.
pub fn diagnostic_codes_in_readme(root: &Path) -> Result<Vec<String>> {
    let readme = fs::read_to_string(root.join("README.md")).context("reading README.md")?;
    Ok(missing_codes(
        &readme,
        debgate_policy::Code::ALL.iter().map(|c| c.as_str()),
    ))
}

fn missing_codes<'a>(readme: &str, codes: impl Iterator<Item = &'a str>) -> Vec<String> {
    codes
        .filter(|c| !readme.contains(&format!("`{c}`")))
        .map(|c| format!("diagnostic code `{c}` is not listed in README.md"))
        .collect()
}

/// docs/policy.md documents every key the policy loader accepts, and no key it refuses: each
/// table after a `<!-- keys: SECTION -->` marker lists one section's keys, compared with
/// `debgate_policy::load::accepted_keys()`.
pub fn policy_reference_matches_loader(root: &Path) -> Result<Vec<String>> {
    let path = root.join("docs/policy.md");
    let text = fs::read_to_string(&path).context("reading docs/policy.md")?;
    let accepted: Vec<(String, Vec<String>)> = debgate_policy::load::accepted_keys()
        .into_iter()
        .map(|(s, keys)| (s, keys.into_iter().map(str::to_string).collect()))
        .collect();
    Ok(reference_problems(&text, &accepted))
}

fn reference_problems(doc: &str, accepted: &[(String, Vec<String>)]) -> Vec<String> {
    let key_cell = Regex::new(r"^\|\s*`([^`]+)`\s*\|").expect("regex");
    let mut documented: Vec<(String, Vec<String>)> = Vec::new();
    let mut lines = doc.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(section) = line
            .trim()
            .strip_prefix("<!-- keys:")
            .and_then(|r| r.strip_suffix("-->"))
        else {
            continue;
        };
        let mut keys = Vec::new();
        // The table: its header and separator rows, then one row per key, up to a blank line.
        while let Some(row) = lines.next_if(|l| l.trim_start().starts_with('|')) {
            if let Some(c) = key_cell.captures(row) {
                keys.push(c[1].to_string());
            }
        }
        documented.push((section.trim().to_string(), keys));
    }
    let mut problems = Vec::new();
    for (section, keys) in accepted {
        match documented.iter().find(|(s, _)| s == section) {
            None => problems.push(format!(
                "docs/policy.md has no `<!-- keys: {section} -->` table"
            )),
            Some((_, doc_keys)) => {
                for k in keys.iter().filter(|k| !doc_keys.contains(k)) {
                    problems.push(format!(
                        "docs/policy.md: `{k}` ({section}) is not documented"
                    ));
                }
                for k in doc_keys.iter().filter(|k| !keys.contains(k)) {
                    problems.push(format!(
                        "docs/policy.md: `{k}` ({section}) is documented but the loader refuses it"
                    ));
                }
            }
        }
    }
    for (section, _) in &documented {
        if !accepted.iter().any(|(s, _)| s == section) {
            problems.push(format!(
                "docs/policy.md: `{section}` is no section the loader reads"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_section_ends_at_a_sibling_heading() {
        let readme = "# T\n## Commands\n```sh\n# a policy\n```\n`kconfig`\n## Writing a policy\n### Assertion kinds\n#### `text`\n`exists`\n## Limits\n`sysctl`\n";
        let section = policy_reference_section(readme).unwrap();
        assert!(section.contains(&"#### `text`"));
        assert!(section.contains(&"`exists`"));
        assert!(!section
            .iter()
            .any(|l| l.contains("sysctl") || l.contains("kconfig")));
    }

    /// A throwaway workspace layout under the system temp dir.
    fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("xtask-tidy-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        root
    }

    // Rule `a` names a kernel option (spelt in two halves so that this file passes the check
    // it tests); rules_are_data must forbid exactly that name.
    const POLICY: &str = concat!(
        "[[rule]]\nid = \"a\"\ntitle = \"t\"\nexplanation = \"needs CONF",
        "IG_X_Y=y\"\nreferences = [\"r\"]\nassert = { kind = \"exists\" }\n\n[[rule]]\nid = \"b\"\ntitle = \"\"\nreferences = []\n[rule.assert]\nkind = \"bogus\"\n"
    );

    #[test]
    fn checks_find_what_they_should() {
        let root = scratch(
            "find",
            &[
                ("policies/p.toml", POLICY),
                (
                    "README.md",
                    "# R\n## Writing a policy\n#### `exists`\n## Other\n`bogus`\n",
                ),
                ("ARCHITECTURE.md", "`crates/one`\n"),
                ("crates/one/Cargo.toml", ""),
                ("crates/one/src/lib.rs", "//! ok\n"),
                ("crates/two/Cargo.toml", ""),
                (
                    "crates/two/src/lib.rs",
                    // Line 3 names another option: flagged as a kernel option, not as the policy's.
                    concat!(
                        "// not a module doc\nconst K: &str = \"CONF",
                        "IG_X_Y\";\nconst L: &str = \"CONF",
                        "IG_X_YZ\";\n"
                    ),
                ),
                ("xtask/tidy-forbidden.txt", "# a comment\n\nsecret\n"),
                ("xtask/src/main.rs", "//! x\n// a SECRET word\n"),
            ],
        );
        let data = rules_are_data(&root).unwrap();
        assert_eq!(data.len(), 3, "{data:?}");
        assert!(data[0].starts_with(concat!("crates/two/src/lib.rs:2: names CONF", "IG_X_Y ")));
        assert!(data[1].starts_with(concat!(
            "crates/two/src/lib.rs:3: names kernel option CONF",
            "IG_X_YZ"
        )));
        assert!(data[2].starts_with("xtask/src/main.rs:2: names secret"));

        assert_eq!(
            module_docs(&root).unwrap(),
            ["crates/two/src/lib.rs: first line is not a `//!` module comment"]
        );

        let docs = rules_documented(&root).unwrap();
        assert_eq!(docs.len(), 3, "{docs:?}"); // b: no title, no explanation, no references

        let kinds = assertion_kinds_in_readme(&root).unwrap();
        assert_eq!(kinds.len(), 1, "{kinds:?}"); // `bogus` is outside the policy section
        assert!(kinds[0].contains("`bogus`"));

        let arch = crates_in_architecture(&root).unwrap();
        assert_eq!(
            arch,
            ["crates/two is not named in ARCHITECTURE.md's code map"]
        );

        fs::remove_file(root.join("README.md")).unwrap();
        fs::remove_file(root.join("ARCHITECTURE.md")).unwrap();
        assert_eq!(
            assertion_kinds_in_readme(&root).unwrap(),
            ["README.md is missing"]
        );
        assert_eq!(
            crates_in_architecture(&root).unwrap(),
            ["ARCHITECTURE.md is missing"]
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_reference_check_sees_missing_and_extra_keys() {
        let accepted = vec![(
            "rule".to_string(),
            vec!["id".to_string(), "tags".to_string()],
        )];
        let doc = "x\n<!-- keys: rule -->\n| key | what |\n|---|---|\n| `id` | the id |\n| `old` | gone |\n\nmore\n";
        assert_eq!(
            super::reference_problems(doc, &accepted),
            [
                "docs/policy.md: `tags` (rule) is not documented",
                "docs/policy.md: `old` (rule) is documented but the loader refuses it"
            ]
        );
        let whole = "<!-- keys: rule -->\n| `id` | a |\n| `tags` | b |\n";
        assert!(super::reference_problems(whole, &accepted).is_empty());
        assert_eq!(super::reference_problems("", &accepted).len(), 1);
    }

    #[test]
    fn a_code_missing_from_the_readme_is_named() {
        let readme = "| `unknown-key` | ... |";
        assert!(super::missing_codes(readme, ["unknown-key"].into_iter()).is_empty());
        assert_eq!(
            super::missing_codes(readme, ["unknown-key", "bad-date"].into_iter()),
            ["diagnostic code `bad-date` is not listed in README.md"]
        );
    }

    #[test]
    fn no_policy_section() {
        assert!(policy_reference_section("# T\n## Commands\n").is_none());
    }
}
