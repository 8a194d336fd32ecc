//! The tidy checks as tests, so `cargo test --workspace` enforces them without `cargo xtask`.
//!
//! The documentation checks are named `docs_*` so they can be run alone while README.md and
//! ARCHITECTURE.md are being written: `cargo test -p xtask --test tidy docs_`.

use std::path::Path;
use xtask::{tidy, workspace_root};

fn assert_clean(check: fn(&Path) -> anyhow::Result<Vec<String>>, what: &str) {
    let problems = check(&workspace_root()).unwrap_or_else(|e| panic!("{what}: {e:#}"));
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn rules_are_data() {
    assert_clean(
        tidy::rules_are_data,
        "Rust code names what policies are about",
    );
}

#[test]
fn rust_files_start_with_module_doc() {
    assert_clean(tidy::module_docs, "missing //! module comment");
}

#[test]
fn docs_policy_rules_have_title_explanation_references() {
    assert_clean(tidy::rules_documented, "undocumented policy rules");
}

#[test]
fn docs_assertion_kinds_in_readme() {
    assert_clean(
        tidy::assertion_kinds_in_readme,
        "README.md policy reference",
    );
}

#[test]
fn docs_crates_in_architecture() {
    assert_clean(tidy::crates_in_architecture, "ARCHITECTURE.md code map");
}
