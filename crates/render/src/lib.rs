//! Every rendering of debgate's reports, in one place: `check` as text, JSON, JSON Lines, JUnit
//! and SARIF; `inspect`, `rules`, `explain` and `limits` as text; `diff` as text, markdown, JSON
//! and HTML; `privileges` as text, CSV and TOML. The libraries build reports and know nothing of output; the binary parses
//! arguments and picks a renderer. Each renderer takes the report, a [`RenderOptions`] and a
//! writer, so `-o FILE` and stdout share one path and a closed pipe is one `io::Error` the
//! caller can recognise ([`RenderError::is_broken_pipe`]) instead of a panic in `println!`.

mod check_text;
mod diff_html;
mod diff_markdown;
mod diff_text;
mod inspect;
pub mod jsonl;
mod junit;
mod policy_tests;
mod privileges;
mod rules;
mod sarif;

pub use check_text::check_text;
pub use diff_html::diff_html;
pub use diff_markdown::diff_markdown;
pub use diff_text::diff_text;
pub use inspect::inspect_text;
pub use jsonl::JsonlSink;
pub use junit::junit;
pub use policy_tests::policy_tests_text;
pub use privileges::{privileges_csv, privileges_text, privileges_toml};
pub use rules::{explain_text, limits_text, policies_text, rules_json, rules_text};
pub use sarif::sarif;

use debgate_policy::Severity;
use serde::Serialize;
use std::io::{self, Write};
use thiserror::Error;

/// How to render, as the command line asked.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// ANSI colours (the binary decides: `--color`, a terminal, `NO_COLOR`).
    pub color: bool,
    /// Also show passing and not-applicable results.
    pub verbose: bool,
    /// The lowest severity that fails the run (`--fail-on`): text output shows a failure at or
    /// above it in the failing colour, one below it in the warning colour.
    pub fail_on: Severity,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            verbose: false,
            fail_on: Severity::Error,
        }
    }
}

/// A report that could not be rendered or written.
#[derive(Debug, Error)]
pub enum RenderError {
    #[error("JUnit XML: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("write: {0}")]
    Io(#[from] io::Error),
}

impl RenderError {
    /// The reader went away (`debgate check | head`): the caller stops writing quietly and
    /// still exits with the status it computed, so a gate under `set -o pipefail` sees a
    /// failure as a failure.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            RenderError::Io(e) => e.kind() == io::ErrorKind::BrokenPipe,
            RenderError::Json(e) => e.io_error_kind() == Some(io::ErrorKind::BrokenPipe),
            RenderError::Junit(_) => false,
        }
    }
}

/// Any report as pretty JSON and a newline: `--format json` of every command. The report's
/// field names are the contract; this only writes them.
pub fn json<T: Serialize + ?Sized>(report: &T, out: &mut dyn Write) -> Result<(), RenderError> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

/// The one colour helper: `text` in the ANSI SGR style `sgr` (`1;31` bold red, `2` dim, ...)
/// when colour is on, else `text` as is.
pub(crate) fn paint(color: bool, sgr: &str, text: &str) -> String {
    if color {
        format!("\x1b[{sgr}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `rule-id /in/package/path`, or the rule id alone for results without a path: the name a
/// result goes by in formats that want one line.
pub(crate) fn result_name(r: &debgate_policy::Finding) -> String {
    match &r.path {
        Some(p) => format!("{} {p}", r.rule),
        None => r.rule.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_recognised_through_serde_json() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = json(&vec![1, 2, 3], &mut Closed).expect_err("nothing can be written");
        assert!(e.is_broken_pipe(), "{e:?}");
        let other = RenderError::Io(io::ErrorKind::PermissionDenied.into());
        assert!(!other.is_broken_pipe());
    }

    #[test]
    fn paint_only_when_asked() {
        assert_eq!(paint(true, "1;31", "E"), "\x1b[1;31mE\x1b[0m");
        assert_eq!(paint(false, "1;31", "E"), "E");
    }
}
