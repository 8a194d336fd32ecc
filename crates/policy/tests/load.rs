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
