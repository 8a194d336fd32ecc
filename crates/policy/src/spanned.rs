//! Shared plumbing for the TOML files debgate reads with source spans (policies, waivers):
//! turning byte offsets into `file:line:column`, and parsing a document into its top-level table
//! while recording a syntax error as a located [`PolicyError`].

use crate::load::PolicyError;
use crate::model::Location;
use toml_span::value::{Table, ValueInner};
use toml_span::Span;

/// `file:line:column` (1-based, columns in characters) of a byte span's start in `src`.
pub fn locate(file: &str, src: &str, span: Span) -> Location {
    let start = span.start.min(src.len());
    // A span can point inside a multi-byte character only if the parser is wrong; stay safe.
    let start = (0..=start)
        .rev()
        .find(|i| src.is_char_boundary(*i))
        .unwrap_or(0);
    let before = &src[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Location {
        file: file.to_string(),
        line,
        column,
    }
}

/// Call `report(span, message)` for each key of `table` that is not in `allowed`, saying it is
/// unknown `what` (e.g. "in rule") and listing `expected`, the keys worth suggesting.
pub fn unknown_keys(
    table: &Table<'_>,
    allowed: &[&str],
    what: &str,
    expected: &[&str],
    mut report: impl FnMut(Span, String),
) {
    for key in table.keys() {
        if !allowed.contains(&key.name.as_ref()) {
            report(
                key.span,
                format!(
                    "unknown key `{}` {what}; expected one of: {}",
                    key.name,
                    expected.join(", ")
                ),
            );
        }
    }
}

/// Parse `src` and return its top-level table. A syntax error (`toml-syntax`) or a document that
/// is not a table (`wrong-type`, naming `what`) is pushed to `errors` and gives `None`; a syntax
/// error stops the parser, so it is the only error such a file can report.
pub fn parse_table<'a>(
    file: &str,
    src: &'a str,
    what: &str,
    errors: &mut Vec<PolicyError>,
) -> Option<Table<'a>> {
    let mut root = match toml_span::parse(src) {
        Ok(v) => v,
        Err(e) => {
            let location = match e.line_info {
                Some((line, col)) => Location {
                    file: file.to_string(),
                    line: line + 1,
                    column: col + 1,
                },
                None => locate(file, src, e.span),
            };
            errors.push(PolicyError {
                location,
                code: "toml-syntax",
                message: e.kind.to_string(),
            });
            return None;
        }
    };
    let span = root.span;
    match root.take() {
        ValueInner::Table(table) => Some(table),
        _ => {
            errors.push(PolicyError {
                location: locate(file, src, span),
                code: "wrong-type",
                message: format!("{what} is a TOML table"),
            });
            None
        }
    }
}
