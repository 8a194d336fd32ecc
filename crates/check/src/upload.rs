//! Checking uploads: each `.changes` is verified (lists, files, checksums, names, signature),
//! its binary packages are read, agree with it or not, and are judged by the policies as one
//! set of their own. The upload checks are listed among the rules as built-in rules.

use crate::report::{CheckResult, PackageSummary, UploadSummary};
use crate::{analyze_file, schedule, AnalyzedPackage, CheckInputs, CheckReport, Settings};
use debgate_policy::{Finding, Rule, RuleSet, Severity, Status};
use debgate_reader::{open_package, ReadError};
use debgate_upload::{check_upload, control_agrees, BinaryControl, Check, Problem, UploadReport};
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The upload checks as rules: severity error, not waivable (a checksum mismatch is never an
/// accepted exception), declared by debgate itself.
pub fn upload_rules() -> Vec<Rule> {
    Check::ALL
        .into_iter()
        .map(|c| {
            crate::builtin::builtin_rule(
                c.id(),
                c.title(),
                c.explanation(),
                c.references(),
                "(built-in upload check)",
            )
        })
        .collect()
}

/// `rules` plus the upload checks. A policy rule may not take an upload check's id.
pub fn with_upload_rules(rules: RuleSet) -> Result<RuleSet, debgate_policy::Diagnostics> {
    crate::builtin::reserve(rules, upload_rules(), "upload check")
}

/// Check loose packages and uploads. Unreadable packages and `.changes` files are reported in
/// the result (exit 2); everything else is still judged.
pub fn check_inputs(
    rules: &RuleSet,
    inputs: &CheckInputs,
    settings: &Settings,
    keyring: Option<&Path>,
) -> CheckReport {
    check_inputs_with_progress(rules, inputs, settings, keyring, &|_, _| {})
}

/// [`check_inputs`], calling `progress(done, total)` as each package has been read.
pub fn check_inputs_with_progress(
    rules: &RuleSet,
    inputs: &CheckInputs,
    settings: &Settings,
    keyring: Option<&Path>,
    progress: &(dyn Fn(usize, usize) + Sync),
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
    // The SHA-256 a listed package was verified to have (None: loose, or a problem already
    // reported for it).
    let mut verified: Vec<Option<String>> = vec![None; files.len()];
    for (i, (_, r)) in checked.iter().enumerate() {
        for (name, path) in &r.packages {
            files.push(path.clone());
            owner.push(Some((i, name.clone())));
            verified.push(verified_sha256(r, name));
        }
    }
    let want = |p: &str| rules.wants_content(p);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let read = schedule(files.len(), settings, &|i, per_package| {
        let r = match owner[i] {
            Some(_) => analyze_listed_file(&files[i], verified[i].as_deref(), per_package, &want),
            None => analyze_file(&files[i], per_package, &want),
        };
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(n, files.len());
        r
    });
    let mut loose: Vec<AnalyzedPackage> = Vec::new();
    let mut per_upload: Vec<Vec<(String, AnalyzedPackage)>> =
        checked.iter().map(|_| Vec::new()).collect();
    let mut packages = Vec::new();
    for ((f, result), owner) in files.iter().zip(read).zip(owner) {
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
    crate::findings(rules, set, crate::builtin::Copies::Unexpected)
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

/// The SHA-256 the upload lists for `name`, when the file checks found it matching: reading
/// then insists on the same bytes. None when a size or checksum problem is already reported.
fn verified_sha256(report: &UploadReport, name: &str) -> Option<String> {
    let already_wrong = report
        .problems
        .iter()
        .any(|p| p.name.as_deref() == Some(name));
    if already_wrong {
        return None;
    }
    report
        .changes
        .sha256
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.digest.to_ascii_lowercase())
}

/// [`analyze_file`] for a package an upload lists. It is opened without following a symbolic
/// link, like every file of an upload; and when its checksums were verified (`sha256`), it is
/// hashed as it is read, so a file swapped or rewritten in the upload directory between the
/// two is refused instead of judged in place of the verified one (an upload queue is writable
/// by uploaders).
pub(crate) fn analyze_listed_file(
    path: &Path,
    sha256: Option<&str>,
    settings: &Settings,
    want: &(dyn Fn(&str) -> bool + Sync),
) -> Result<AnalyzedPackage, ReadError> {
    let mut hashing = Hashing {
        inner: open_package(path, false)?,
        hasher: Sha256::new(),
    };
    let analysed = debgate_pipeline::analyze_reader(path, &mut hashing, settings, want)?;
    // Whatever follows the last member the reader needed is part of the verified file too.
    io::copy(&mut hashing, &mut io::sink()).map_err(ReadError::Io)?;
    let now = format!("{:x}", hashing.hasher.finalize());
    if let Some(sha256) = sha256.filter(|s| *s != now) {
        return Err(ReadError::Io(io::Error::other(format!(
            "the file changed after its checksums were verified: SHA-256 is now {now}, the .changes lists {sha256}"
        ))));
    }
    Ok(analysed)
}

/// Hashes every byte read through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The good upload's package, copied into a temporary upload directory.
    fn listed_copy() -> (tempfile::TempDir, PathBuf, String) {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/uploads/good");
        let deb = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .expect("the good upload has a .deb");
        let bytes = std::fs::read(&deb).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let copy = tmp.path().join(deb.file_name().unwrap());
        std::fs::write(&copy, &bytes).unwrap();
        (tmp, copy, format!("{:x}", Sha256::digest(&bytes)))
    }

    fn read(path: &Path, sha256: &str) -> Result<AnalyzedPackage, ReadError> {
        analyze_listed_file(path, Some(sha256), &Settings::default(), &|_| false)
    }

    #[test]
    fn a_listed_package_is_read_when_its_bytes_are_the_verified_ones() {
        let (_tmp, deb, sha256) = listed_copy();
        let a = read(&deb, &sha256).expect("the verified bytes are read");
        assert!(!a.package.name().is_empty());
    }

    #[test]
    fn a_listed_package_rewritten_after_verification_is_refused() {
        let (_tmp, deb, sha256) = listed_copy();
        // Another readable package in its place: the rejected proposal's build of the same one.
        let other = std::fs::read_dir(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../testdata/uploads/adm-proposal"),
        )
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .unwrap();
        std::fs::copy(&other, &deb).unwrap();
        assert!(
            analyze_file(&deb, &Settings::default(), &|_| false).is_ok(),
            "the swapped-in package is readable on its own"
        );
        let e = read(&deb, &sha256).expect_err("changed bytes");
        let text = e.to_string();
        assert!(
            text.contains("changed after its checksums were verified") && text.contains(&sha256),
            "{text}"
        );
    }

    #[test]
    fn a_listed_package_swapped_for_a_symlink_is_refused() {
        let (tmp, deb, sha256) = listed_copy();
        let real = tmp.path().join("elsewhere.deb");
        std::fs::rename(&deb, &real).unwrap();
        std::os::unix::fs::symlink(&real, &deb).unwrap();
        match read(&deb, &sha256) {
            Err(ReadError::NotAFile { kind }) => assert_eq!(kind, "a symbolic link"),
            other => panic!("{other:?}"),
        }
    }
}
