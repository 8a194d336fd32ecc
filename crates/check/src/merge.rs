//! `debgate merge`: the outputs of N `check --archive … --shard K/N --format jsonl` runs judged
//! as the one set a single run would have read. A shard writes, besides its own report lines, a
//! header saying what it read and how, and the facts of each package it read (their full
//! stored form, [`debgate_facts::stored`]) with the package's place in the indexes; the merge
//! reads them back, puts them in that order, and judges the whole set, so that set-level rules
//! (sysctl across packages, presence in the set, duplicates) see every package. The merged
//! report is the single run's: the same packages in the same order, the same results.
//!
//! A merge refuses, before judging anything, shards that do not make one whole: a part missing
//! or given twice, parts of different splits, or parts read by another debgate, with other
//! reader limits or for rules that capture other content (their facts would lack what the
//! merge's rules read).

use crate::report::{CheckReport, PackageSummary};
use crate::AnalyzedPackage;
use debgate_facts::stored::{Stored, FACTS_FORMAT};
use debgate_facts::Package;
use debgate_pipeline::{analyze_package, schedule_each, Settings};
use debgate_policy::RuleSet;
use debgate_reader::Limits;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The version of the shard lines below; a merge reads only its own.
pub const SHARD_FORMAT: u32 = 1;

/// The longest line a merge reads: a package's facts are one line, and a large package (a
/// kernel's modules, tens of thousands of files) makes a few tens of MiB of JSON.
pub const MAX_LINE_BYTES: u64 = 512 * 1024 * 1024;

/// What a shard read and how: the `"type": "shard"` line that opens its output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardHeader {
    /// `K/N`.
    pub shard: String,
    pub shard_format: u32,
    pub debgate: String,
    pub facts_format: u32,
    /// The reader limits, as `--limit` set them.
    pub limits: serde_json::Value,
    /// What the rules capture ([`RuleSet::content_fingerprint`]).
    pub wants: String,
}

impl ShardHeader {
    pub fn new(shard: &str, limits: &Limits, rules: &RuleSet) -> ShardHeader {
        ShardHeader {
            shard: shard.to_string(),
            shard_format: SHARD_FORMAT,
            debgate: env!("CARGO_PKG_VERSION").to_string(),
            facts_format: FACTS_FORMAT,
            limits: serde_json::to_value(limits).unwrap_or_default(),
            wants: rules.content_fingerprint(),
        }
    }
}

/// One package of a shard, as its output carries it.
pub enum ShardItem<'a> {
    /// Read: its facts.
    Facts {
        ordinal: usize,
        package: &'a Package,
    },
    /// Not read (or an index paragraph that cannot be used, ordinal 0): why.
    Unreadable {
        ordinal: usize,
        file: &'a str,
        error: &'a str,
    },
    /// The part is whole: `lines` facts and unreadable lines came before it.
    End { lines: usize },
}

/// The line of a [`ShardItem`], serialized.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ShardLine<'a> {
    Facts {
        ordinal: usize,
        facts: debgate_facts::stored::StoredRef<'a>,
    },
    Unreadable {
        ordinal: usize,
        file: &'a str,
        error: &'a str,
    },
    ShardEnd {
        lines: usize,
    },
}

impl<'a> From<&ShardItem<'a>> for ShardLine<'a> {
    fn from(item: &ShardItem<'a>) -> ShardLine<'a> {
        match *item {
            ShardItem::Facts { ordinal, package } => ShardLine::Facts {
                ordinal,
                facts: package.stored(),
            },
            ShardItem::Unreadable {
                ordinal,
                file,
                error,
            } => ShardLine::Unreadable {
                ordinal,
                file,
                error,
            },
            ShardItem::End { lines } => ShardLine::ShardEnd { lines },
        }
    }
}

/// A facts line read again to judge its package: only its facts are built.
#[derive(Deserialize)]
struct FactsLine {
    facts: Box<Stored>,
}

/// A line as the first scan reads it: its type and place, and for a facts line nothing else
/// (its facts are skipped, not built, and read again when the package is judged).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Scanned {
    Shard(ShardHeader),
    Facts {
        ordinal: usize,
    },
    Unreadable {
        ordinal: usize,
        file: String,
        error: String,
    },
    ShardEnd {
        lines: usize,
    },
}

/// Why shards cannot be merged (exit 2): nothing is judged.
#[derive(Debug, Error)]
pub enum MergeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} line {line}: {what}")]
    Line {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error("{path}: no `\"type\": \"shard\"` line first: not the output of `check --archive … --shard K/N --format jsonl`")]
    NotAShard { path: PathBuf },
    #[error("{0}")]
    Mismatch(String),
}

/// One package line of a part: where it is, and what the scan learnt of it.
#[derive(Debug, Clone)]
struct Record {
    ordinal: usize,
    part: usize,
    /// The line's number and byte offset in its part, to read it again.
    line: usize,
    offset: u64,
    /// `None` for facts; (file, why) for a package that was not read.
    unreadable: Option<(String, String)>,
}

/// One shard's output, scanned.
struct Part {
    path: PathBuf,
    header: ShardHeader,
    k: u64,
    n: u64,
    records: Vec<Record>,
}

/// Read the next line of `input` (at most [`MAX_LINE_BYTES`]) into `buf`; `Ok(false)` at the end.
fn next_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    buf.clear();
    let n = input.take(MAX_LINE_BYTES + 1).read_until(b'\n', buf)?;
    Ok((n > 0).then_some(n))
}

/// The types of line a merge reads; others (a report's lines) are passed over unparsed.
fn is_shard_line(buf: &[u8]) -> bool {
    [
        &b"{\"type\":\"shard\""[..],
        b"{\"type\":\"facts\"",
        b"{\"type\":\"unreadable\"",
        b"{\"type\":\"shard-end\"",
    ]
    .iter()
    .any(|p| buf.starts_with(p))
}

fn scan_part(index: usize, path: &Path) -> Result<Part, MergeError> {
    let io = |source| MergeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut input = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut header: Option<ShardHeader> = None;
    let mut records = Vec::new();
    let mut end: Option<usize> = None;
    let mut buf = Vec::new();
    let (mut line, mut offset) = (0, 0u64);
    while let Some(n) = next_line(&mut input, &mut buf).map_err(io)? {
        line += 1;
        let at = offset;
        offset += n as u64;
        let bad = |what: String| MergeError::Line {
            path: path.to_path_buf(),
            line,
            what,
        };
        if n as u64 > MAX_LINE_BYTES {
            return Err(bad(format!("longer than {MAX_LINE_BYTES} bytes")));
        }
        if !is_shard_line(&buf) {
            if header.is_none() {
                return Err(MergeError::NotAShard {
                    path: path.to_path_buf(),
                });
            }
            continue;
        }
        let scanned: Scanned = serde_json::from_slice(&buf).map_err(|e| bad(e.to_string()))?;
        if end.is_some() {
            return Err(bad("a line after the shard's closing line".to_string()));
        }
        let record = |ordinal, unreadable| Record {
            ordinal,
            part: index,
            line,
            offset: at,
            unreadable,
        };
        match (scanned, &header) {
            (Scanned::Shard(h), None) => header = Some(h),
            (Scanned::Shard(_), Some(_)) => return Err(bad("a second shard line".to_string())),
            (_, None) => {
                return Err(MergeError::NotAShard {
                    path: path.to_path_buf(),
                })
            }
            (Scanned::ShardEnd { lines }, Some(_)) => end = Some(lines),
            (Scanned::Facts { ordinal }, Some(_)) => records.push(record(ordinal, None)),
            (
                Scanned::Unreadable {
                    ordinal,
                    file,
                    error,
                },
                Some(_),
            ) => records.push(record(ordinal, Some((file, error)))),
        }
    }
    let header = header.ok_or_else(|| MergeError::NotAShard {
        path: path.to_path_buf(),
    })?;
    // A part cut short (a runner killed, a disk full) would silently lose packages.
    match end {
        Some(n) if n == records.len() => {}
        Some(n) => {
            return Err(MergeError::Mismatch(format!(
                "{}: its closing line announces {n} package line(s), but {} came before it",
                path.display(),
                records.len()
            )))
        }
        None => {
            return Err(MergeError::Mismatch(format!(
                "{}: no closing `\"type\": \"shard-end\"` line: the part is not whole (was its run cut short?)",
                path.display()
            )))
        }
    }
    let (k, n) = header
        .shard
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
        .filter(|&(k, n)| k >= 1 && k <= n)
        .ok_or_else(|| MergeError::Line {
            path: path.to_path_buf(),
            line: 1,
            what: format!("shard `{}` is not K/N", header.shard),
        })?;
    Ok(Part {
        path: path.to_path_buf(),
        header,
        k,
        n,
        records,
    })
}

/// Every part of one split, scanned and checked to make one whole, its packages in a single
/// run's order: what both the in-memory and the streamed merge read.
pub struct Parts {
    paths: Vec<PathBuf>,
    /// Index paragraphs that could not be used (place 0), first, as in a single run.
    unusable: Vec<(String, String)>,
    /// Every other package line, by its place in the indexes.
    records: Vec<Record>,
    limits: Limits,
}

impl Parts {
    /// Scan `shards` and check that they are every part of one split, read by this debgate with
    /// `limits` for `rules`.
    pub fn open(rules: &RuleSet, limits: &Limits, shards: &[PathBuf]) -> Result<Parts, MergeError> {
        let parts = shards
            .iter()
            .enumerate()
            .map(|(i, p)| scan_part(i, p))
            .collect::<Result<Vec<Part>, MergeError>>()?;
        check_whole(rules, limits, &parts)?;
        let mut records: Vec<Record> = parts.into_iter().flat_map(|p| p.records).collect();
        // One run's order; the sort is stable, so the unusable paragraphs (place 0) keep theirs.
        records.sort_by_key(|r| r.ordinal);
        let split = records.partition_point(|r| r.ordinal == 0);
        let unusable = records
            .drain(..split)
            .filter_map(|r| r.unreadable)
            .collect();
        Ok(Parts {
            paths: shards.to_vec(),
            unusable,
            records,
            limits: limits.clone(),
        })
    }

    /// Read package `i`'s facts line again and analyse the facts.
    fn package(&self, i: usize) -> Result<AnalyzedPackage, String> {
        let r = &self.records[i];
        if let Some((_, error)) = &r.unreadable {
            return Err(error.clone());
        }
        let path = &self.paths[r.part];
        let at = |what: String| format!("{} line {}: {what}", path.display(), r.line);
        let mut file = std::fs::File::open(path).map_err(|e| at(e.to_string()))?;
        file.seek(SeekFrom::Start(r.offset))
            .map_err(|e| at(e.to_string()))?;
        let mut buf = Vec::new();
        next_line(&mut BufReader::new(file), &mut buf).map_err(|e| at(e.to_string()))?;
        if !buf.starts_with(b"{\"type\":\"facts\"") {
            return Err(at(
                "not the facts line the first reading found here (did the file change?)"
                    .to_string(),
            ));
        }
        let line: FactsLine = serde_json::from_slice(&buf).map_err(|e| at(e.to_string()))?;
        let package = line.facts.into_package().map_err(|e| at(e.to_string()))?;
        Ok(analyze_package(package, &self.limits))
    }
}

impl crate::archive::TwoPass for Parts {
    fn len(&self) -> usize {
        self.records.len()
    }
    fn label(&self, i: usize) -> PathBuf {
        let r = &self.records[i];
        match &r.unreadable {
            Some((file, _)) => PathBuf::from(file),
            None => PathBuf::from(format!("{} line {}", self.paths[r.part].display(), r.line)),
        }
    }
    fn unusable(&self) -> Vec<PackageSummary> {
        self.unusable
            .iter()
            .map(|(file, error)| PackageSummary::failed(Path::new(file), error))
            .collect()
    }
    fn read_each(
        &self,
        settings: &Settings,
        _want: &(dyn Fn(&str) -> bool + Sync),
        sink: &(dyn Fn(usize, crate::archive::ReadPackage) + Sync),
    ) {
        schedule_each(
            self.records.len(),
            settings,
            &|i, _| (self.label(i), self.package(i)),
            sink,
        )
    }
    fn read(
        &self,
        i: usize,
        _settings: &Settings,
        _want: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<AnalyzedPackage, String> {
        self.package(i)
    }
    fn tick(&self, done: usize) -> crate::archive::Tick {
        crate::archive::Tick {
            done,
            total: self.records.len(),
            ..crate::archive::Tick::default()
        }
    }
}

/// Refuse parts that make no whole, before anything is judged.
fn check_whole(rules: &RuleSet, limits: &Limits, parts: &[Part]) -> Result<(), MergeError> {
    let Some(first) = parts.first() else {
        return Err(MergeError::Mismatch("no shard given".to_string()));
    };
    let expected = ShardHeader {
        shard: String::new(),
        ..ShardHeader::new("", limits, rules)
    };
    let n = first.n;
    let mut seen = vec![None::<&Path>; n as usize];
    for p in parts {
        let h = ShardHeader {
            shard: String::new(),
            ..p.header.clone()
        };
        let name = p.path.display();
        if p.n != n {
            return Err(MergeError::Mismatch(format!(
                "{name} is part {} of {}, {} a part of {n}",
                p.k,
                p.n,
                first.path.display()
            )));
        }
        if h.shard_format != expected.shard_format
            || h.debgate != expected.debgate
            || h.facts_format != expected.facts_format
        {
            return Err(MergeError::Mismatch(format!(
                "{name} was written by debgate {} (shard format {}, facts format {}); this is {} ({}, {}): run the shards and the merge with one debgate",
                h.debgate, h.shard_format, h.facts_format, expected.debgate, expected.shard_format, expected.facts_format
            )));
        }
        if h.limits != expected.limits {
            return Err(MergeError::Mismatch(format!(
                "{name} was read with other reader limits: give the merge the shards' --limit options"
            )));
        }
        if h.wants != expected.wants {
            return Err(MergeError::Mismatch(format!(
                "{name} was read for rules that capture other file contents than these: give the merge the shards' --policy and --tag options"
            )));
        }
        let slot = &mut seen[(p.k - 1) as usize];
        if let Some(other) = slot {
            return Err(MergeError::Mismatch(format!(
                "part {}/{n} is given twice: {} and {name}",
                p.k,
                other.display()
            )));
        }
        *slot = Some(&p.path);
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| format!("{}/{n}", k + 1))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Mismatch(format!(
            "part(s) {} missing: a merge judges the whole set only",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Read the shards' outputs and judge their packages as one set with `rules`, read as `limits`
/// say (they must be the shards' limits), holding every package: the report a single run
/// gives, in any format. `Err` is why they make no whole.
pub fn merge(
    rules: &RuleSet,
    limits: &Limits,
    shards: &[PathBuf],
) -> Result<CheckReport, MergeError> {
    let parts = Parts::open(rules, limits, shards)?;
    let mut packages = crate::archive::TwoPass::unusable(&parts);
    let mut analyzed: Vec<AnalyzedPackage> = Vec::new();
    for i in 0..parts.records.len() {
        match parts.package(i) {
            Ok(a) => {
                packages.push(PackageSummary::of(&a.package));
                analyzed.push(a);
            }
            Err(e) => packages.push(PackageSummary::failed(
                &crate::archive::TwoPass::label(&parts, i),
                &e,
            )),
        }
    }
    Ok(CheckReport::new(
        packages,
        crate::findings(rules, &analyzed, crate::builtin::Copies::Versions),
    ))
}

/// [`merge`] for `--format jsonl`: the parts read twice (their facts lines, from disk), each
/// package judged and handed to `emit` as it is, so that memory does not grow with the
/// archive (see `archive::check_archives_streaming`, which this shares). Returns the waivers'
/// notices and the summary.
pub fn merge_streaming(
    rules: &RuleSet,
    shards: &[PathBuf],
    settings: &Settings,
    gating: &crate::archive::Gating<'_>,
    judging: &(dyn Fn(usize, usize) + Sync),
    emit: &(dyn Fn(crate::archive::Streamed<'_>) + Sync),
) -> Result<(Vec<crate::waivers::WaiverNotice>, crate::report::Summary), MergeError> {
    let parts = Parts::open(rules, &settings.limits, shards)?;
    crate::archive::stream_judge(rules, &parts, settings, gating, &|_| {}, judging, emit)
        .map_err(MergeError::Mismatch)
}
