//! The CI formats of `debgate check`: JUnit XML (GitLab, Jenkins), SARIF 2.1.0 (GitHub code
//! scanning) and JSON Lines (one result per line, for runs over many packages). Each is built
//! from the same `CheckReport` as the text and JSON output, so the verdicts never differ.

pub mod jsonl;
pub mod junit;
pub mod sarif;

use thiserror::Error;

/// A report that could not be rendered.
#[derive(Debug, Error)]
pub enum FormatError {
    #[error("JUnit XML: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("write: {0}")]
    Io(#[from] std::io::Error),
}

/// `rule-id /in/package/path`, or the rule id alone for results without a path: the name a
/// result goes by in formats that want one line.
fn result_name(r: &debgate_policy::Finding) -> String {
    match &r.path {
        Some(p) => format!("{} {p}", r.rule),
        None => r.rule.clone(),
    }
}
