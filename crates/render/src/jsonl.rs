//! `--format jsonl`: JSON Lines. One object per line: each `.changes` (`"type": "upload"`, the
//! fields of a `--format json` upload), each package (`"type": "package"`), each
//! result (`"type": "result"`, the fields of a `--format json` result), each waiver notice
//! (`"type": "waiver"`), and a closing `"type": "summary"` line. Lines are written and flushed
//! one by one, so a consumer sees results as they are written and never holds the whole report.
//!
//! [`JsonlSink`] is fed as the run goes (a package when it has been read, results when its set
//! has been judged), so that a run over a whole archive can stream; [`JsonlSink::report`] feeds
//! it a finished report in the same order.

use crate::RenderError;
use debgate_check::merge::{ShardHeader, ShardItem, ShardLine};
use debgate_check::report::{CheckResult, PackageSummary, Summary, UploadSummary};
use debgate_check::waivers::WaiverNotice;
use debgate_check::{CheckReport, InspectReport};
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    item: &'a T,
}

/// Receives a check run's parts as they are ready and writes each as one line.
pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        JsonlSink { out }
    }

    fn line<T: Serialize>(&mut self, kind: &'static str, item: &T) -> Result<(), RenderError> {
        serde_json::to_writer(&mut self.out, &Line { kind, item })?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }

    /// A `.changes` has been checked.
    pub fn upload_done(&mut self, upload: &UploadSummary) -> Result<(), RenderError> {
        self.line("upload", upload)
    }

    /// A package has been read (or could not be).
    pub fn package_done(&mut self, package: &PackageSummary) -> Result<(), RenderError> {
        self.line("package", package)
    }

    /// `inspect --archive`: one package's inspection (`"type": "inspect"`, the fields of
    /// `inspect --format json`).
    pub fn inspected(&mut self, report: &InspectReport) -> Result<(), RenderError> {
        self.line("inspect", report)
    }

    /// A package that could not be read (`"type": "error"`, with `file` and `error`), for the
    /// commands that print a line per package.
    pub fn unreadable(&mut self, file: &str, error: &str) -> Result<(), RenderError> {
        #[derive(Serialize)]
        struct Unreadable<'a> {
            file: &'a str,
            error: &'a str,
        }
        self.line("error", &Unreadable { file, error })
    }

    /// `check --shard K/N`: the line that opens a shard's output, saying what it read and how
    /// (`"type": "shard"`), for `debgate merge`.
    pub fn shard(&mut self, header: &ShardHeader) -> Result<(), RenderError> {
        self.line("shard", header)
    }

    /// `check --shard K/N`: a package's facts (`"type": "facts"`) or why it was not read
    /// (`"type": "unreadable"`), with its place in the indexes, for `debgate merge`.
    pub fn shard_item(&mut self, item: &ShardItem<'_>) -> Result<(), RenderError> {
        serde_json::to_writer(&mut self.out, &ShardLine::from(item))?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }

    /// Results of a set that has been judged.
    pub fn results(&mut self, results: &[CheckResult]) -> Result<(), RenderError> {
        for r in results {
            self.line("result", r)?;
        }
        Ok(())
    }

    /// The end of the run: what became of each waiver, and the summary line.
    pub fn finish(mut self, waivers: &[WaiverNotice], summary: &Summary) -> Result<W, RenderError> {
        for w in waivers {
            self.line("waiver", w)?;
        }
        self.line("summary", summary)?;
        Ok(self.out)
    }

    /// A finished report, in the order a streaming run writes it: uploads, packages, results,
    /// waivers, summary.
    pub fn report(mut self, report: &CheckReport) -> Result<W, RenderError> {
        for u in &report.uploads {
            self.upload_done(u)?;
        }
        for p in &report.packages {
            self.package_done(p)?;
        }
        self.results(&report.results)?;
        self.finish(&report.waivers, &report.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use debgate_policy::{Finding, Severity, Status};

    fn report() -> CheckReport {
        let package = PackageSummary {
            file: "a_1_all.deb".to_string(),
            package: "a".to_string(),
            version: "1".to_string(),
            architecture: "all".to_string(),
            error: None,
            upload: None,
        };
        let finding = Finding {
            rule: "r".to_string(),
            severity: Severity::Error,
            status: Status::Fail,
            package: Some("a".to_string()),
            file: Some("a_1_all.deb".to_string()),
            path: Some("/x".to_string()),
            message: "m".to_string(),
            evidence: Vec::new(),
        };
        CheckReport::new(vec![package], vec![finding])
    }

    #[test]
    fn a_streamed_run_writes_what_a_finished_report_does_line_by_line() {
        let report = report();
        let whole = JsonlSink::new(Vec::new()).report(&report).unwrap();
        let mut sink = JsonlSink::new(Vec::new());
        sink.package_done(&report.packages[0]).unwrap();
        sink.results(&report.results).unwrap();
        let streamed = sink.finish(&report.waivers, &report.summary).unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(whole.clone()).unwrap()
        );
        let kinds: Vec<String> = String::from_utf8(whole)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["type"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(kinds, ["package", "result", "summary"]);
    }
}
