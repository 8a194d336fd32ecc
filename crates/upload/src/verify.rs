//! The upload checks: the three file lists agree, each file is beside the `.changes` with its
//! size and checksums, no name is unsafe, and each binary package's control agrees with the
//! `.changes`. Every problem is a [`Problem`] under a stable check id.

use crate::changes::{split_source, Changes};
use debgate_reader::{open_package, ReadError};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One upload check. Ids are stable kebab-case, like policy rule ids; they are not policy rules
/// because they judge the upload's bookkeeping, not the packages' end state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    ListMismatch,
    FileMissing,
    SizeMismatch,
    ChecksumMismatch,
    UnsafeName,
    ControlMismatch,
    Unsigned,
    BadSignature,
    UnknownKey,
}

impl Check {
    /// Every check, in the order they run.
    pub const ALL: [Check; 9] = [
        Check::Unsigned,
        Check::BadSignature,
        Check::UnknownKey,
        Check::UnsafeName,
        Check::ListMismatch,
        Check::FileMissing,
        Check::SizeMismatch,
        Check::ChecksumMismatch,
        Check::ControlMismatch,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Check::ListMismatch => "changes-list-mismatch",
            Check::FileMissing => "changes-file-missing",
            Check::SizeMismatch => "changes-size-mismatch",
            Check::ChecksumMismatch => "changes-checksum-mismatch",
            Check::UnsafeName => "changes-unsafe-name",
            Check::ControlMismatch => "changes-control-mismatch",
            Check::Unsigned => "changes-unsigned",
            Check::BadSignature => "changes-bad-signature",
            Check::UnknownKey => "changes-unknown-key",
        }
    }

    /// Whether the check runs only when a keyring is given.
    pub fn needs_keyring(self) -> bool {
        matches!(
            self,
            Check::Unsigned | Check::BadSignature | Check::UnknownKey
        )
    }

    pub fn title(self) -> &'static str {
        match self {
            Check::ListMismatch => {
                "Files, Checksums-Sha1 and Checksums-Sha256 list the same files with the same sizes"
            }
            Check::FileMissing => "Every file the .changes lists is a regular file beside it",
            Check::SizeMismatch => "Every listed file has the size the .changes gives",
            Check::ChecksumMismatch => {
                "Every listed file has the MD5, SHA-1 and SHA-256 the .changes gives"
            }
            Check::UnsafeName => "No listed file name could name another place or confuse a tool",
            Check::ControlMismatch => "Each binary package's control agrees with the .changes",
            Check::Unsigned => "The .changes is OpenPGP clearsigned (when a keyring is given)",
            Check::BadSignature => {
                "The signature verifies with a valid key (when a keyring is given)"
            }
            Check::UnknownKey => "The signing key is in the keyring (when a keyring is given)",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            Check::ListMismatch => "dpkg-genchanges writes every file of an upload into all three lists with its size. A file in one list and not another, or with two sizes, means the .changes was edited by hand or by a tool that can't be trusted, and the weaker MD5 list might be the only one covering a file.",
            Check::FileMissing => "An upload is the .changes plus the files it lists, in one directory. A missing file cannot be checked; a symbolic link or other non-regular file is refused because debgate follows no host path from an upload.",
            Check::SizeMismatch => "The size is checked before any checksum: a file of the wrong size is not the file that was built and signed for.",
            Check::ChecksumMismatch => "The checksums tie the files to the signed .changes. A mismatch means the file is not the one the uploader signed for, whether by corruption or substitution; dak rejects such an upload.",
            Check::UnsafeName => "File names come from the uploader. A name with `/`, `..`, a leading `.` or a control character could make an archive tool read or write elsewhere, or hide in a listing. debgate accepts the characters dak does (letters, digits and `_.:~+-`, starting with a letter or digit) and opens no file with another name.",
            Check::ControlMismatch => "Each .deb's Package must be in Binary, its Version and Source must be the upload's, its Architecture one the upload declares, and its file name `package_version_arch.deb` (without the epoch). A package that disagrees was not built from this upload's source, or its .changes was edited.",
            Check::Unsigned => "With --keyring, only a clearsigned .changes is accepted, as dak accepts only signed uploads.",
            Check::BadSignature => "The signature must verify over the whole .changes with a key that is neither expired nor revoked. Text outside the one signed block is refused, since a parser could read fields nobody signed.",
            Check::UnknownKey => "The signing key must be in the keyring given, as an archive accepts uploads only from its keyring's members.",
        }
    }

    pub fn references(self) -> &'static [&'static str] {
        match self {
            Check::Unsigned | Check::BadSignature | Check::UnknownKey => &[
                "https://www.debian.org/doc/debian-policy/ch-controlfields.html#debian-changes-files-changes",
                "https://www.rfc-editor.org/rfc/rfc4880#section-7",
            ],
            _ => &["https://www.debian.org/doc/debian-policy/ch-controlfields.html#debian-changes-files-changes"],
        }
    }

    pub fn from_id(id: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// One problem with an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub check: Check,
    /// The listed file concerned, when there is one.
    pub name: Option<String>,
    pub message: String,
}

/// The outcome of the file checks: the problems, and the binary packages that exist beside the
/// `.changes` under a safe name, to be read and judged.
#[derive(Debug, Default)]
pub struct FileReport {
    pub problems: Vec<Problem>,
    pub packages: Vec<(String, PathBuf)>,
}

/// Whether a listed name is safe to open beside the `.changes`; `Err` says why not.
pub fn name_is_safe(name: &str) -> Result<(), String> {
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains the control character {}",
            c.escape_debug()
        ));
    }
    if name.contains('/') {
        return Err("contains `/`".to_string());
    }
    if name.contains("..") {
        return Err("contains `..`".to_string());
    }
    if name.starts_with('.') {
        return Err("starts with `.`".to_string());
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("does not start with a letter or digit".to_string());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.:~+-".contains(*c)))
    {
        return Err(format!(
            "contains `{}`, outside letters, digits and `_.:~+-`",
            c.escape_debug()
        ));
    }
    Ok(())
}

/// One of the three file lists: its field, the digest it carries, and `(name, size, digest)`
/// per line.
struct List<'a> {
    field: &'static str,
    algorithm: Algorithm,
    entries: Vec<(&'a str, u64, &'a str)>,
}

impl List<'_> {
    fn get(&self, name: &str) -> Option<(u64, &str)> {
        self.entries
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, size, digest)| (*size, *digest))
    }
}

#[derive(Clone, Copy)]
enum Algorithm {
    Md5,
    Sha1,
    Sha256,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha1 => "SHA-1",
            Algorithm::Sha256 => "SHA-256",
        }
    }
}

fn sum_list<'a>(
    field: &'static str,
    algorithm: Algorithm,
    sums: &'a [crate::changes::ListedSum],
) -> List<'a> {
    List {
        field,
        algorithm,
        entries: sums
            .iter()
            .map(|f| (f.name.as_str(), f.size, f.digest.as_str()))
            .collect(),
    }
}

fn lists(changes: &Changes) -> [List<'_>; 3] {
    [
        List {
            field: "Files",
            algorithm: Algorithm::Md5,
            entries: changes
                .files
                .iter()
                .map(|f| (f.name.as_str(), f.size, f.md5.as_str()))
                .collect(),
        },
        sum_list("Checksums-Sha1", Algorithm::Sha1, &changes.sha1),
        sum_list("Checksums-Sha256", Algorithm::Sha256, &changes.sha256),
    ]
}

/// Check the lists against each other and the files beside the `.changes` against the lists.
/// Files are streamed through the three digests at once, in bounded memory.
pub fn check_files(changes: &Changes) -> FileReport {
    let mut report = FileReport::default();
    let mut problem = |check, name: &str, message: String| {
        report.problems.push(Problem {
            check,
            name: Some(name.to_string()),
            message,
        })
    };
    let lists = lists(changes);

    // Every name, in the order of `Files` then the others' extra names.
    let mut names: Vec<&str> = Vec::new();
    for list in &lists {
        let mut seen = BTreeSet::new();
        for (name, _, _) in &list.entries {
            if !seen.insert(*name) {
                problem(
                    Check::ListMismatch,
                    name,
                    format!("listed twice in {}", list.field),
                );
            }
            if !names.contains(name) {
                names.push(name);
            }
        }
    }

    for name in names {
        let listed: Vec<(&List<'_>, Option<(u64, &str)>)> =
            lists.iter().map(|l| (l, l.get(name))).collect();
        let present: Vec<&str> = listed
            .iter()
            .filter(|(_, e)| e.is_some())
            .map(|(l, _)| l.field)
            .collect();
        for (list, entry) in &listed {
            if entry.is_none() {
                problem(
                    Check::ListMismatch,
                    name,
                    format!("in {} but not in {}", present.join(" and "), list.field),
                );
            }
        }
        let sizes: BTreeSet<u64> = listed.iter().filter_map(|(_, e)| e.map(|e| e.0)).collect();
        if sizes.len() > 1 {
            let given: Vec<String> = listed
                .iter()
                .filter_map(|(l, e)| e.map(|(size, _)| format!("{size} in {}", l.field)))
                .collect();
            problem(
                Check::ListMismatch,
                name,
                format!("the lists give different sizes: {}", given.join(", ")),
            );
        }

        if let Err(why) = name_is_safe(name) {
            problem(
                Check::UnsafeName,
                name,
                format!("`{}` {why}; it was not opened", name.escape_debug()),
            );
            continue;
        }
        let path = changes.dir().join(name);
        let actual = match open_listed(&path) {
            Ok(file) => file,
            Err(why) => {
                problem(Check::FileMissing, name, why);
                continue;
            }
        };
        let size = actual.metadata().map_or(0, |m| m.len());
        if let Some(listed_size) = sizes.iter().find(|s| **s != size) {
            problem(
                Check::SizeMismatch,
                name,
                format!("{size} bytes; the .changes says {listed_size}"),
            );
        } else {
            match digests(actual) {
                Ok(d) => {
                    let wrong: Vec<String> = listed
                        .iter()
                        .filter_map(|(l, e)| {
                            let (_, digest) = (*e)?;
                            let is = d.of(l.algorithm);
                            (is != digest)
                                .then(|| format!("{} is {is}, listed {digest}", l.algorithm.name()))
                        })
                        .collect();
                    if !wrong.is_empty() {
                        problem(Check::ChecksumMismatch, name, wrong.join("; "));
                    }
                }
                Err(e) => problem(Check::FileMissing, name, format!("could not be read: {e}")),
            }
        }
        // The package is judged whatever its checksums say: the findings above already stop
        // the upload, and its policy results are still worth seeing.
        if name.ends_with(".deb") || name.ends_with(".udeb") {
            report.packages.push((name.to_string(), path));
        }
    }
    report
}

/// Open a listed file as the reader opens an upload's package: without following a symbolic
/// link (so no link swapped in after a check can lead elsewhere), without blocking on a FIFO,
/// and only if what was opened is a regular file. `Err` says why not, for a
/// `changes-file-missing`.
fn open_listed(path: &Path) -> Result<std::fs::File, String> {
    match open_package(path, false) {
        Ok(file) => Ok(file),
        Err(ReadError::NotAFile {
            kind: "a symbolic link",
        }) => Err("a symbolic link; debgate follows no link from an upload".to_string()),
        Err(ReadError::NotAFile { kind }) => Err(format!("not a regular file but {kind}")),
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("not beside the .changes ({e})"))
        }
        Err(e) => Err(format!("could not be opened: {e}")),
    }
}

struct Digests {
    md5: String,
    sha1: String,
    sha256: String,
}

impl Digests {
    fn of(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha1 => &self.sha1,
            Algorithm::Sha256 => &self.sha256,
        }
    }
}

fn digests(mut file: std::fs::File) -> std::io::Result<Digests> {
    let (mut md5, mut sha1, mut sha256) = (Md5::new(), Sha1::new(), Sha256::new());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        sha1.update(&buf[..n]);
        sha256.update(&buf[..n]);
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Ok(Digests {
        md5: hex(&md5.finalize()),
        sha1: hex(&sha1.finalize()),
        sha256: hex(&sha256.finalize()),
    })
}

/// The control fields of a binary package that the `.changes` must agree with.
#[derive(Debug, Clone, Copy)]
pub struct BinaryControl<'a> {
    pub package: &'a str,
    pub version: &'a str,
    pub architecture: &'a str,
    /// `Source`, when the package has one (`name` or `name (version)`); absent means the
    /// source is named like the package, at the package's version.
    pub source: Option<&'a str>,
}

/// How the package listed as `name` disagrees with the `.changes`, if it does.
pub fn control_agrees(changes: &Changes, name: &str, control: &BinaryControl<'_>) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |message: String| {
        out.push(Problem {
            check: Check::ControlMismatch,
            name: Some(name.to_string()),
            message,
        })
    };
    let pkg = control.package;
    if !changes.binaries.iter().any(|b| b == pkg) {
        push(format!(
            "package {pkg} is not in the .changes' Binary ({})",
            changes.binaries.join(" ")
        ));
    }
    if control.version != changes.version {
        push(format!(
            "Version {} differs from the .changes' {}",
            control.version, changes.version
        ));
    }
    if !changes
        .architectures
        .iter()
        .any(|a| a == control.architecture)
    {
        push(format!(
            "Architecture {} is not in the .changes' Architecture ({})",
            control.architecture,
            changes.architectures.join(" ")
        ));
    }
    let (src, src_version) = match control.source.and_then(split_source) {
        Some((s, v)) => (s, v.unwrap_or_else(|| control.version.to_string())),
        None => (pkg.to_string(), control.version.to_string()),
    };
    if src != changes.source {
        push(format!(
            "Source {src} differs from the .changes' {}",
            changes.source
        ));
    }
    let changes_src_version = changes
        .source_version
        .clone()
        .unwrap_or_else(|| changes.version.clone());
    if src_version != changes_src_version {
        push(format!(
            "source version {src_version} differs from the .changes' {changes_src_version}"
        ));
    }
    let no_epoch = control
        .version
        .split_once(':')
        .map_or(control.version, |(_, v)| v);
    let ext = if name.ends_with(".udeb") {
        "udeb"
    } else {
        "deb"
    };
    let expected = format!("{pkg}_{no_epoch}_{}.{ext}", control.architecture);
    if name != expected {
        push(format!("its control says it should be named {expected}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names() {
        for (name, why) in [
            ("../etc/passwd", "`/`"),
            ("a..b.deb", "`..`"),
            (".hidden.deb", "starts with `.`"),
            ("x\u{1b}[2J.deb", "control character"),
            ("-opt.deb", "letter or digit"),
            ("a b.deb", "outside letters"),
        ] {
            let e = name_is_safe(name).unwrap_err();
            assert!(e.contains(why), "{name}: {e}");
        }
        name_is_safe("hello_2.10-3+deb12u3_amd64.deb").unwrap();
        name_is_safe("libc6_2.36-9~bpo1_amd64.deb").unwrap();
    }

    #[test]
    fn check_ids_are_unique_kebab_case() {
        let mut ids: Vec<&str> = Check::ALL.iter().map(|c| c.id()).collect();
        for id in &ids {
            assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
            assert_eq!(Check::from_id(id).map(|c| c.id()), Some(*id));
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), Check::ALL.len());
    }
}
