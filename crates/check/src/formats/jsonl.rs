//! `--format jsonl`: JSON Lines. One object per line: each `.changes` (`"type": "upload"`, the
//! fields of a `--format json` upload), each package (`"type": "package"`), each
//! result (`"type": "result"`, the fields of a `--format json` result), each waiver notice
//! (`"type": "waiver"`), and a closing `"type": "summary"` line. Lines are written and flushed
//! one by one, so a consumer sees results as they are written and never holds the whole report.

use super::FormatError;
use crate::CheckReport;
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    item: &'a T,
}

fn line<T: Serialize>(
    out: &mut dyn Write,
    kind: &'static str,
    item: &T,
) -> Result<(), FormatError> {
    serde_json::to_writer(&mut *out, &Line { kind, item })?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Write the report as JSON Lines.
pub fn write(report: &CheckReport, out: &mut dyn Write) -> Result<(), FormatError> {
    for u in &report.uploads {
        line(out, "upload", u)?;
    }
    for p in &report.packages {
        line(out, "package", p)?;
    }
    for r in &report.results {
        line(out, "result", r)?;
    }
    for w in &report.waivers {
        line(out, "waiver", w)?;
    }
    line(out, "summary", &report.summary)?;
    out.flush()?;
    Ok(())
}
