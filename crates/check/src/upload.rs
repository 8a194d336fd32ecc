//! Checking uploads: each `.changes` is verified (lists, files, checksums, names, signature),
//! its binary packages are read, agree with it or not, and are judged by the policies as one
//! set of their own. The upload checks are listed among the rules as built-in rules.

use crate::report::{CheckResult, PackageSummary, UploadSummary};
use crate::{read_all, AnalyzedPackage, CheckReport, Settings};
use debgate_policy::{
    evaluate, Analyzed, Assertion, Finding, Globs, Location, Presence, Rule, RuleSet, Severity,
    Status,
};
use debgate_upload::{check_upload, control_agrees, BinaryControl, Check, Problem, UploadReport};
use std::path::{Path, PathBuf};

/// What `debgate check` was given: loose packages (judged together as one set) and `.changes`
/// files (each judged as its own set).
#[derive(Debug, Clone, Default)]
pub struct CheckInputs {
    pub debs: Vec<PathBuf>,
    pub uploads: Vec<PathBuf>,
}

impl CheckInputs {
    pub fn is_empty(&self) -> bool {
        self.debs.is_empty() && self.uploads.is_empty()
    }
}

/// The upload checks as rules: severity error, not waivable (a checksum mismatch is never an
/// accepted exception), declared by debgate itself.
pub fn upload_rules() -> Vec<Rule> {
    let empty = || Globs {
        patterns: Vec::new(),
        set: globset::GlobSet::empty(),
    };
    Check::ALL
        .into_iter()
        .map(|c| Rule {
            id: c.id().to_string(),
            severity: Severity::Error,
            title: c.title().to_string(),
            explanation: c.explanation().to_string(),
            references: c.references().iter().map(|s| s.to_string()).collect(),
            packages: empty(),
            exclude_packages: empty(),
            paths: None,
            presence: Presence::Optional,
            assertion: Assertion::Builtin,
            waivable: false,
            location: Location {
                file: "(built-in upload check)".to_string(),
                line: 0,
                column: 0,
            },
        })
        .collect()
}

/// `rules` plus the upload checks. A policy rule may not take an upload check's id.
pub fn with_upload_rules(mut rules: RuleSet) -> Result<RuleSet, String> {
    for r in upload_rules() {
        if let Some(taken) = rules.get(&r.id) {
            return Err(format!(
                "{}: rule id `{}` is reserved for debgate's upload check",
                taken.location, r.id
            ));
        }
        rules.rules.push(r);
    }
    Ok(rules)
}

/// Check loose packages and uploads. Unreadable packages and `.changes` files are reported in
/// the result (exit 2); everything else is still judged.
pub fn check_inputs(
    rules: &RuleSet,
    inputs: &CheckInputs,
    settings: &Settings,
    keyring: Option<&Path>,
) -> CheckReport {
    let mut uploads = Vec::new();
    let mut checked: Vec<(String, UploadReport)> = Vec::new();
    for path in &inputs.uploads {
        let file = path.display().to_string();
        match check_upload(path, keyring) {
            Ok(r) => {
                uploads.push(UploadSummary {
                    file: file.clone(),
                    source: r.changes.source.clone(),
                    version: r.changes.version.clone(),
                    signer: r.signer.clone(),
                    error: None,
                });
                checked.push((file, r));
            }
            Err(e) => uploads.push(UploadSummary {
                file,
                source: String::new(),
                version: String::new(),
                signer: None,
                error: Some(e.to_string()),
            }),
        }
    }

    // Read everything at once so that the cores are shared over all packages: loose ones
    // first, then each upload's. `owner[i]` is the upload of file i (None: loose). A package
    // that an upload lists is judged with that upload only, even when a directory walk found
    // it too.
    let listed: Vec<PathBuf> = checked
        .iter()
        .flat_map(|(_, r)| r.packages.iter().map(|(_, p)| canonical(p)))
        .collect();
    let mut files: Vec<PathBuf> = inputs
        .debs
        .iter()
        .filter(|d| !listed.contains(&canonical(d)))
        .cloned()
        .collect();
    let judge_loose = !files.is_empty();
    let mut owner: Vec<Option<(usize, String)>> = vec![None; files.len()];
    for (i, (_, r)) in checked.iter().enumerate() {
        for (name, path) in &r.packages {
            files.push(path.clone());
            owner.push(Some((i, name.clone())));
        }
    }
    let want = |p: &str| rules.wants_content(p);
    let mut loose: Vec<AnalyzedPackage> = Vec::new();
    let mut per_upload: Vec<Vec<(String, AnalyzedPackage)>> =
        checked.iter().map(|_| Vec::new()).collect();
    let mut packages = Vec::new();
    for ((f, result), owner) in files
        .iter()
        .zip(read_all(&files, settings, &want))
        .zip(owner)
    {
        let upload = owner.as_ref().map(|(i, _)| checked[*i].0.clone());
        match result {
            Ok(a) => {
                let mut summary = PackageSummary::of(&a.package);
                summary.upload = upload;
                packages.push(summary);
                match owner {
                    Some((i, name)) => per_upload[i].push((name, a)),
                    None => loose.push(a),
                }
            }
            Err(e) => {
                let mut summary = PackageSummary::failed(f, &e);
                summary.upload = upload;
                packages.push(summary);
            }
        }
    }

    let mut results = Vec::new();
    if judge_loose {
        results.extend(judge(rules, loose.iter(), None));
    }
    for ((file, report), read) in checked.iter().zip(&per_upload) {
        let mut problems = report.problems.clone();
        for (name, a) in read {
            let c = &a.package.control;
            problems.extend(control_agrees(
                &report.changes,
                name,
                &BinaryControl {
                    package: a.package.name(),
                    version: c.version(),
                    architecture: c.architecture(),
                    source: c.get("Source"),
                },
            ));
        }
        results.extend(upload_findings(file, report, &problems));
        results.extend(judge(rules, read.iter().map(|(_, a)| a), Some(file)));
    }
    CheckReport::from_parts(packages, uploads, results)
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The policy results over one set of packages.
fn judge<'a>(
    rules: &RuleSet,
    set: impl Iterator<Item = &'a AnalyzedPackage>,
    upload: Option<&String>,
) -> Vec<CheckResult> {
    let views: Vec<Analyzed<'_>> = set
        .map(|a| Analyzed {
            package: &a.package,
            changes: &a.changes,
            state: &a.state,
        })
        .collect();
    evaluate(rules, &views)
        .into_iter()
        .map(|finding| CheckResult {
            finding,
            waiver: None,
            upload: upload.cloned(),
        })
        .collect()
}

/// One failed result per problem, and a passing one for each check that ran and found none (so
/// JUnit shows every check as a test case).
fn upload_findings(file: &str, report: &UploadReport, problems: &[Problem]) -> Vec<CheckResult> {
    let result = |check: Check, status, path: Option<String>, message: String| CheckResult {
        finding: Finding {
            rule: check.id().to_string(),
            severity: Severity::Error,
            status,
            package: None,
            file: Some(file.to_string()),
            path,
            message,
            evidence: Vec::new(),
        },
        waiver: None,
        upload: Some(file.to_string()),
    };
    let mut out = Vec::new();
    let signature_failed = problems.iter().any(|p| p.check.needs_keyring());
    for &check in &report.checks {
        let mine: Vec<&Problem> = problems.iter().filter(|p| p.check == check).collect();
        if mine.is_empty() && check.needs_keyring() && signature_failed {
            // One signature problem says it all; the other signature checks did not get to run.
            out.push(result(
                check,
                Status::NotApplicable,
                None,
                "the signature was not verified".to_string(),
            ));
        } else if mine.is_empty() {
            out.push(result(
                check,
                Status::Pass,
                None,
                pass_message(check, report),
            ));
        }
        for p in mine {
            out.push(result(
                check,
                Status::Fail,
                p.name.clone(),
                p.message.clone(),
            ));
        }
    }
    out
}

fn pass_message(check: Check, report: &UploadReport) -> String {
    let n = report.changes.files.len();
    match check {
        Check::Unsigned => "the .changes is clearsigned".to_string(),
        Check::BadSignature | Check::UnknownKey => format!(
            "good signature by {}",
            report.signer.as_deref().unwrap_or("a key in the keyring")
        ),
        Check::UnsafeName => format!("all {n} file names are safe"),
        Check::ListMismatch => format!("the three lists agree on {n} file(s)"),
        Check::FileMissing => format!("all {n} file(s) are beside the .changes"),
        Check::SizeMismatch => format!("all {n} file(s) have their listed size"),
        Check::ChecksumMismatch => format!("all {n} file(s) match their MD5, SHA-1 and SHA-256"),
        Check::ControlMismatch => format!(
            "{} package(s) agree with Source {} Version {}",
            report.packages.len(),
            report.changes.source,
            report.changes.version
        ),
    }
}
