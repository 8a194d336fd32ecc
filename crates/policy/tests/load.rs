//! Policy loading: every bad file in testdata/policies/bad reports exactly the errors listed in
//! its `.expected` file (one `file:line:column: error[code]` per line), all in one run.

use debgate_policy::{load_paths, load_sources};
use std::path::{Path, PathBuf};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/policies")
}

#[test]
fn bad_policies_report_every_error_with_its_location() {
    let mut checked = 0;
    let dir = testdata().join("bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "toml"))
    {
        let name = f.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(f).unwrap();
        let expected = std::fs::read_to_string(f.with_extension("expected")).unwrap();
        let errs = load_sources(&[(name, &text)]).expect_err(name).0;
        let got: Vec<String> = errs
            .iter()
            .map(|e| format!("{}: error[{}]", e.location, e.code))
            .collect();
        let want: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            got,
            want,
            "{name}: full messages:\n{}",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        // Every message is one line and says something beyond the code.
        for e in &errs {
            assert!(
                !e.message.is_empty() && !e.to_string().contains('\n'),
                "{e}"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the bad-policy fixtures, found {checked}"
    );
}

#[test]
fn bundled_and_good_policies_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let set = load_paths(&[root, testdata().join("good")]).unwrap_or_else(|e| panic!("{e}"));
    assert!(set.rules.len() >= 4);
    for r in &set.rules {
        assert!(!r.references.is_empty(), "{} has references", r.id);
    }
}

#[test]
fn duplicate_ids_across_files_are_reported() {
    let text = "[[rule]]\nid = \"a\"\nseverity = \"info\"\ntitle = \"t\"\nexplanation = \"e\"\nreferences = [\"r\"]\npaths = [\"/x\"]\nassert = { kind = \"exists\" }\n";
    let errs = load_sources(&[("one.toml", text), ("two.toml", text)])
        .unwrap_err()
        .0;
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].code, "duplicate-rule-id");
    assert_eq!(errs[0].location.file, "two.toml");
    assert!(
        errs[0].message.contains("one.toml:2:7"),
        "{}",
        errs[0].message
    );
}

#[test]
fn unreadable_policy_path_is_an_error() {
    let errs = load_paths(&[PathBuf::from("/nonexistent/policy.toml")])
        .unwrap_err()
        .0;
    assert_eq!(errs[0].code, "unreadable-policy");
}

#[test]
fn a_file_of_pairings_only_loads_and_pairs_by_the_abi_group() {
    let text = "[[pairing]]\nid = \"versioned\"\npattern = '^lib(?P<abi>[0-9]+)-x(-dev)?$'\n";
    let set = load_sources(&[("pairs.toml", text)]).unwrap_or_else(|e| panic!("{e}"));
    assert!(set.rules.is_empty());
    assert_eq!(set.pairings.len(), 1);
    let (p, key, abi) = set.pairing_key("lib12-x-dev").unwrap();
    assert_eq!(
        (p.id.as_str(), key.as_str(), abi.as_str()),
        ("versioned", "lib*-x-dev", "12")
    );
    assert_eq!(set.pairing_key("lib13-x").unwrap().1, "lib*-x");
    assert!(set.pairing_key("other").is_none());
}

#[test]
fn bundled_kernel_pairing_pairs_abi_versions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let set = load_paths(&[root]).unwrap_or_else(|e| panic!("{e}"));
    let key = |n: &str| set.pairing_key(n).map(|(_, k, a)| (k, a));
    assert_eq!(
        key("linux-image-5.4.0-26-generic"),
        Some(("linux-image-*-generic".into(), "5.4.0-26".into()))
    );
    assert_eq!(
        key("linux-image-5.8.0-25-generic").unwrap().0,
        "linux-image-*-generic"
    );
    assert_eq!(key("linux-headers-5.8.0-25").unwrap().0, "linux-headers-*");
    assert_eq!(
        key("linux-image-6.1.0-50-cloud-amd64").unwrap().0,
        "linux-image-*-cloud-amd64"
    );
    assert!(
        key("linux-image-generic").is_none(),
        "metapackages carry no ABI"
    );
}

#[test]
fn bad_pairings_are_reported_with_codes() {
    let empty = load_sources(&[("e.toml", "[policy]\nname = \"x\"\n")])
        .unwrap_err()
        .0;
    assert_eq!(empty[0].code, "no-rules");
    let text = "[[pairing]]\nid = \"Bad\"\npattern = '^x-[0-9]+$'\nextra = 1\n\n[[pairing]]\nid = \"ok\"\npattern = '('\n";
    let errs = load_sources(&[("p.toml", text)]).unwrap_err().0;
    let codes: Vec<&str> = errs.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(
        codes,
        ["unknown-key", "bad-rule-id", "bad-regex", "bad-regex"],
        "{errs:?}"
    );
    assert_eq!(errs[0].location.line, 4);
}

#[test]
fn waivable_defaults_to_true_and_must_be_a_boolean() {
    let rule = |extra: &str| {
        format!("[[rule]]\nid = \"a\"\nseverity = \"info\"\ntitle = \"t\"\nexplanation = \"e\"\nreferences = [\"r\"]\npaths = [\"/x\"]\nassert = {{ kind = \"exists\" }}\n{extra}")
    };
    let set = load_sources(&[("p.toml", &rule(""))]).unwrap();
    assert!(set.rules[0].waivable);
    let set = load_sources(&[("p.toml", &rule("waivable = false\n"))]).unwrap();
    assert!(!set.rules[0].waivable);
    let errs = load_sources(&[("p.toml", &rule("waivable = \"no\"\n"))])
        .unwrap_err()
        .0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].code, "wrong-type");
    assert_eq!(errs[0].location.to_string(), "p.toml:9:13");
}

/// Random edits to the bundled policies (bytes that matter to TOML and to our patterns) give a
/// rule set or errors that each carry a real file:line:column, never a panic.
#[test]
fn corrupted_bundled_policies_never_panic_and_errors_have_locations() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| f.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "policies/ holds the bundled policies");
    let mut rng = fastrand::Rng::with_seed(0x1234_5678);
    const NASTY: &[char] = &[
        '"', '\'', '[', ']', '{', '}', '=', '\n', '#', '*', '\\', '.', 'é',
    ];
    let (mut refused, mut runs) = (0, 0);
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(f).unwrap();
        // A generated profile of a thousand rules takes long to load unoptimised: fewer rounds.
        let rounds = if text.len() > 100_000 { 10 } else { 300 };
        for _ in 0..rounds {
            let mut chars: Vec<char> = text.chars().collect();
            for _ in 0..rng.usize(1..=3) {
                let i = rng.usize(..chars.len());
                chars[i] = NASTY[rng.usize(..NASTY.len())];
            }
            let edited: String = chars.into_iter().collect();
            runs += 1;
            if let Err(errs) = load_sources(&[(name, &edited)]) {
                refused += 1;
                for e in &errs.0 {
                    assert_eq!(e.location.file, name, "{e}");
                    assert!(e.location.line >= 1 && e.location.column >= 1, "{e}");
                }
            }
        }
    }
    assert!(refused > runs / 4, "{refused} of {runs} edits refused");
}

#[test]
fn file_state_conditions_and_id_ranges_are_checked_when_loaded() {
    let rule = |assert: &str| {
        format!("[[rule]]\nid = \"a\"\nseverity = \"info\"\ntitle = \"t\"\nexplanation = \"e\"\nreferences = [\"r\"]\npaths = [\"/x\"]\nassert = {{ kind = \"file-state\", {assert} }}\n")
    };
    let good = rule(
        "if-mode-any = \"6000\", min-mode = \"0755\", uid-in = [\"0-999\", \"65534\"], gid-in = [\"7\"]",
    );
    assert!(load_sources(&[("p.toml", &good)]).is_ok());
    for (bad, says) in [
        ("if-mode-any = \"0000\"", "names no bit"),
        ("min-mode = \"9\"", "3 or 4 octal digits"),
        (
            "uid-in = [\"999-100\"]",
            "`999-100` is not an id or a range",
        ),
        ("uid-in = [\"-1\"]", "`-1` is not an id or a range"),
        ("gid-in = [\"1-2-3\"]", "`1-2-3` is not an id or a range"),
        ("gid-in = [\"x\"]", "`x` is not an id or a range"),
        ("gid-in = []", "lists no id range"),
        (
            "uid-in = [\"99999999999999999999999\"]",
            "is not an id or a range",
        ),
    ] {
        let errs = load_sources(&[("p.toml", &rule(bad))]).unwrap_err().0;
        assert_eq!(errs.len(), 1, "{bad}: {errs:?}");
        assert_eq!(errs[0].code, "bad-value", "{bad}");
        assert!(errs[0].message.contains(says), "{bad}: {}", errs[0].message);
    }
    let errs = load_sources(&[("p.toml", &rule("uid-in = [5]"))])
        .unwrap_err()
        .0;
    assert_eq!(errs[0].code, "wrong-type");
}
