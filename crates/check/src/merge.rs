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
use debgate_pipeline::analyze_package;
use debgate_policy::RuleSet;
use debgate_reader::Limits;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read};
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
        }
    }
}

/// The lines a merge reads; every other type (the shard's own report) is passed over.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
enum Line {
    Shard(ShardHeader),
    Facts {
        ordinal: usize,
        facts: Box<Stored>,
    },
    Unreadable {
        ordinal: usize,
        file: String,
        error: String,
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

/// A shard's package, by its place in the indexes: its facts, or (file, why) it was not read.
type Placed = (usize, Result<Package, (String, String)>);

/// One shard's output, read.
struct Part {
    path: PathBuf,
    header: ShardHeader,
    k: u64,
    n: u64,
    items: Vec<Placed>,
}

fn read_part(path: &Path) -> Result<Part, MergeError> {
    let io = |source| MergeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut input = BufReader::new(std::fs::File::open(path).map_err(io)?);
    let mut header: Option<ShardHeader> = None;
    let mut items = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        line += 1;
        let n = (&mut input)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if n == 0 {
            break;
        }
        let bad = |what: String| MergeError::Line {
            path: path.to_path_buf(),
            line,
            what,
        };
        if n as u64 > MAX_LINE_BYTES {
            return Err(bad(format!("longer than {MAX_LINE_BYTES} bytes")));
        }
        // Only the lines a merge reads are parsed whole; the shard's own report lines are
        // told apart by their type and passed over.
        if !(buf.starts_with(b"{\"type\":\"shard\"")
            || buf.starts_with(b"{\"type\":\"facts\"")
            || buf.starts_with(b"{\"type\":\"unreadable\""))
        {
            if header.is_none() {
                return Err(MergeError::NotAShard {
                    path: path.to_path_buf(),
                });
            }
            continue;
        }
        let parsed: Line = serde_json::from_slice(&buf).map_err(|e| bad(e.to_string()))?;
        match (parsed, &header) {
            (Line::Shard(h), None) => header = Some(h),
            (Line::Shard(_), Some(_)) => return Err(bad("a second shard line".to_string())),
            (_, None) => {
                return Err(MergeError::NotAShard {
                    path: path.to_path_buf(),
                })
            }
            (Line::Facts { ordinal, facts }, Some(_)) => {
                let package = facts.into_package().map_err(|e| bad(e.to_string()))?;
                items.push((ordinal, Ok(package)));
            }
            (
                Line::Unreadable {
                    ordinal,
                    file,
                    error,
                },
                Some(_),
            ) => items.push((ordinal, Err((file, error)))),
        }
    }
    let header = header.ok_or_else(|| MergeError::NotAShard {
        path: path.to_path_buf(),
    })?;
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
        items,
    })
}

/// Read the shards' outputs and judge their packages as one set with `rules`, read as `limits`
/// say (they must be the shards' limits). `Err` is why they make no whole.
pub fn merge(
    rules: &RuleSet,
    limits: &Limits,
    shards: &[PathBuf],
) -> Result<CheckReport, MergeError> {
    let parts = shards
        .iter()
        .map(|p| read_part(p))
        .collect::<Result<Vec<Part>, MergeError>>()?;
    let Some(first) = parts.first() else {
        return Err(MergeError::Mismatch("no shard given".to_string()));
    };
    let expected = ShardHeader {
        shard: String::new(),
        ..ShardHeader::new("", limits, rules)
    };
    let n = first.n;
    let mut seen = vec![None::<&Path>; n as usize];
    for p in &parts {
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

    let mut items: Vec<Placed> = parts.into_iter().flat_map(|p| p.items).collect();
    // One run's order: index paragraphs that cannot be used (ordinal 0) first, then the
    // packages in index order. The sort is stable, so those paragraphs keep theirs.
    items.sort_by_key(|(ordinal, _)| *ordinal);
    let mut unusable = Vec::new();
    let mut packages = Vec::new();
    let mut analyzed: Vec<AnalyzedPackage> = Vec::new();
    for (ordinal, item) in items {
        match item {
            Ok(package) => {
                packages.push(PackageSummary::of(&package));
                analyzed.push(analyze_package(package, limits));
            }
            Err((file, error)) if ordinal == 0 => {
                unusable.push(PackageSummary::failed(Path::new(&file), &error))
            }
            Err((file, error)) => packages.push(PackageSummary::failed(Path::new(&file), &error)),
        }
    }
    unusable.extend(packages);
    Ok(CheckReport::new(
        unusable,
        crate::findings(rules, &analyzed),
    ))
}
