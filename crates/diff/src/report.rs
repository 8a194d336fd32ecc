//! The diff report: plain data whose JSON field names are a contract (add fields, never rename),
//! rendered by the binary as text, markdown, JSON or HTML.

use debgate_policy::{Severity, Status};
use serde::Serialize;

/// Everything that changed between two sets of packages.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub old: Side,
    pub new: Side,
    pub summary: DiffSummary,
    /// Packages that could not be read; any makes the run exit 2.
    pub errors: Vec<PackageError>,
    /// Packages only the new side has.
    pub added: Vec<PackageRef>,
    /// Packages only the old side has.
    pub removed: Vec<PackageRef>,
    /// Extra copies of a package and architecture on one side: the newest of each is what is
    /// compared (apt's candidate), the others are listed here, not as added or removed.
    pub duplicates: Vec<Duplicate>,
    /// Every pair, changed or not, sorted by the new package's name.
    pub pairs: Vec<PairDiff>,
    /// sysctl keys whose effective value across the whole set changed.
    pub sysctl: Vec<SysctlChange>,
    /// One entry per loaded rule, in rule order.
    pub verdicts: Vec<VerdictChange>,
    /// Privileged states on the new side that no old state of the path is at least (see
    /// [`PrivilegeStep`]): a new setuid bit, capability or privileged file, including those of
    /// added packages. In pair order, then added packages.
    pub escalations: Vec<PrivilegeStep>,
    /// Privileged states on the old side that no new state of the path is at least: a
    /// privilege given up, including those of removed packages.
    pub reductions: Vec<PrivilegeStep>,
    /// Content changes to security-relevant files (privileged on either side), in pair order:
    /// each pair's `content_changes.changed` entries with `security` set, with the package.
    pub security_content: Vec<SecurityContent>,
    /// Every CVE the changelogs between the versions name, sorted, each once.
    pub cves: Vec<String>,
}

/// A content change to a file that is privileged on either side.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityContent {
    pub package: String,
    pub old_version: String,
    pub new_version: String,
    #[serde(flatten)]
    pub change: ContentChange,
}

/// One privileged state that the other side has nothing at least as privileged as. States are
/// ordered as the `privileges` assertion orders them: one is at most another when its mode
/// bits are a subset, its (capability, set) pairs a subset, and its owner and group the same.
#[derive(Debug, Clone, Serialize)]
pub struct PrivilegeStep {
    pub package: String,
    /// `null` for a package only the other side has.
    pub old_version: Option<String>,
    pub new_version: Option<String>,
    pub path: String,
    /// `4755 root:root cap_net_raw=ep`, `?` for what is unknown.
    pub state: String,
    /// The lines that lead to the state; `data.tar` for the state as shipped.
    pub sources: Vec<String>,
    pub rerun: bool,
    /// The other side's states of the path; empty when the path is absent there.
    pub other: Vec<String>,
}

/// One side of the diff as named on the command line.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub label: String,
    /// Packages read successfully.
    pub packages: usize,
}

/// An extra copy of a package on one side, and the copy that was compared instead.
#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    /// `old` or `new`.
    pub side: &'static str,
    pub copy: PackageRef,
    pub compared: PackageRef,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffSummary {
    pub added: usize,
    pub removed: usize,
    /// Extra copies set aside (see `duplicates`).
    pub duplicates: usize,
    pub paired: usize,
    /// Pairs with any change at all.
    pub changed: usize,
    pub privilege_changes: usize,
    /// Rules that now fail and did not before (any severity).
    pub regressions: usize,
    /// Regressions of severity `error`: these make the exit status 1.
    pub regressions_error: usize,
    pub fixed: usize,
    pub new_coverage: usize,
    pub dropped_coverage: usize,
    /// Unreadable packages on either side.
    pub errors: usize,
    /// Privilege escalations (see `escalations`): with `--fail-on-escalation`, any makes the
    /// exit status 1.
    pub escalations: usize,
    pub reductions: usize,
    /// Paired files whose content changed, over all pairs.
    pub content_changed: usize,
    /// Of those, files privileged on either side (see `security_content`).
    pub security_content: usize,
    /// Paired files whose content could not be compared.
    pub content_unknown: usize,
    /// Pairs whose changelog between the versions names a CVE.
    pub packages_with_cves: usize,
    /// Distinct CVEs named (see `cves`).
    pub cves: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageError {
    /// `old` or `new`.
    pub side: &'static str,
    pub file: String,
    pub error: String,
}

/// A package named by name, version and architecture; `file` is the `.deb`'s file name.
#[derive(Debug, Clone, Serialize)]
pub struct PackageRef {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub file: String,
}

/// How the version moved, by dpkg's ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionChange {
    Upgrade,
    Downgrade,
    Same,
    /// One of the versions is not a valid Debian version.
    Unknown,
}

impl VersionChange {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionChange::Upgrade => "upgrade",
            VersionChange::Downgrade => "downgrade",
            VersionChange::Same => "same",
            VersionChange::Unknown => "unknown",
        }
    }
}

/// What changed inside one pair of packages.
#[derive(Debug, Clone, Serialize)]
pub struct PairDiff {
    /// The new package's name.
    pub package: String,
    pub old_package: String,
    /// The `[[pairing]]` id when the names differ; omitted for pairs by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paired_by: Option<String>,
    pub old_version: String,
    pub new_version: String,
    pub version_change: VersionChange,
    pub old_file: String,
    pub new_file: String,
    /// Control fields other than Package and Version.
    pub control: Vec<FieldChange>,
    pub conffiles_added: Vec<String>,
    pub conffiles_removed: Vec<String>,
    pub files_added: Vec<String>,
    pub files_removed: Vec<String>,
    /// Same file at another path (usrmerge: `/bin/x` became `/usr/bin/x`).
    pub files_moved: Vec<Moved>,
    /// data.tar metadata of files present on both sides.
    pub metadata: Vec<MetadataChange>,
    /// Unified diffs of maintainer scripts and captured text files.
    pub content: Vec<ContentDiff>,
    /// Kernel config options that changed; options named by a loaded rule first.
    pub kconfig: Vec<KconfigChange>,
    /// Privileges gained after maintainer scripts.
    pub privileges: Vec<PrivilegeChange>,
    /// This pair's escalations and reductions (also listed at the top level).
    pub escalations: Vec<PrivilegeStep>,
    pub reductions: Vec<PrivilegeStep>,
    /// Paired files whose bytes differ, by md5sums or by the bytes themselves.
    pub content_changes: ContentChanges,
    /// The new package's changelog entries since the old version, with NEWS.Debian's.
    pub changelog: Changelog,
    /// The CVE, Debian bug (`Closes:`) and Launchpad references of those entries, in order of
    /// first appearance, each once.
    pub references: Vec<debgate_changelog::Reference>,
}

/// Which paired regular files changed in content. A file is compared by the SHA-256 of its
/// bytes when both sides hashed them (privileged files, conffiles, script targets, and every
/// file of a package without md5sums), else by MD5: a side's real MD5 where it hashed the file,
/// else its `md5sums` claim.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContentChanges {
    /// Paired regular files compared.
    pub compared: usize,
    /// Files whose content differs: security-relevant ones first, then by path.
    pub changed: Vec<ContentChange>,
    /// Files that could not be compared, and why. A side whose `md5sums` is unusable is said
    /// once in `notes`, its files counted in `unknown_count` but not listed.
    pub unknown: Vec<UnknownContent>,
    /// Paired regular files not compared (`unknown` plus those only counted).
    pub unknown_count: usize,
    /// How the sides were read: a package without md5sums (every file hashed), an unusable
    /// md5sums, a grant whose target is unknown.
    pub notes: Vec<String>,
    /// Files whose real MD5 is not what their package's `md5sums` claims: `side path`.
    pub md5sums_wrong: Vec<String>,
}

impl ContentChanges {
    /// Nothing to show: no change, nothing unknown, nothing to say about how it was read.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.unknown_count == 0 && self.notes.is_empty()
    }
}

/// One file whose content changed.
#[derive(Debug, Clone, Serialize)]
pub struct ContentChange {
    /// The new side's path.
    pub path: String,
    /// The old side's path, when another (a usrmerge move, a kernel ABI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// What was compared: `bytes` (SHA-256 of both sides' bytes), `md5sums` (both sides'
    /// claims), or `bytes-and-md5sums` (one side's real MD5 against the other's claim).
    pub compared_by: &'static str,
    /// `sha256:HEX` or `md5:HEX` on each side.
    pub old_digest: String,
    pub new_digest: String,
    /// The file is privileged on either side (setuid, setgid, capable, or granted by a script
    /// in some end state, or may be, as far as static reading can tell).
    pub security: bool,
    /// Why it is security-relevant: `new: 4755 root:root`, `old: 0755 root:root cap_net_raw=ep`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
    /// The file is a conffile on either side.
    pub conffile: bool,
}

/// A paired file whose content could not be compared.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownContent {
    pub path: String,
    pub why: String,
    /// It is privileged on either side.
    pub security: bool,
}

/// The changelog between the versions, as apt-listchanges shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changelog {
    /// The file read, on the new side (`/usr/share/doc/PKG/changelog.Debian.gz`); `null`
    /// when none was found.
    pub file: Option<String>,
    /// The package of the set that ships it, when it is not the pair's own: a
    /// `/usr/share/doc/PKG` symlink (`dh_installdocs --link-doc`) led there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_package: Option<String>,
    /// Entries newer than the old version, newest first (a binNMU's own entries first).
    pub entries: Vec<ChangelogEntry>,
    /// NEWS.Debian entries in the same range.
    pub news: Vec<ChangelogEntry>,
    /// The file ended before an entry at or below the old version: older entries were trimmed
    /// (debhelper compat 14, Ubuntu's stripped docs) or cut at the content cap.
    pub truncated: bool,
    /// Why the entries may be incomplete or missing, in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Changelog {
    /// Nothing to show: no changelog was found and there is nothing to say about it.
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.notes.is_empty()
    }
}

/// One changelog entry.
#[derive(Debug, Clone, Serialize)]
pub struct ChangelogEntry {
    pub version: String,
    /// The entry's own package name (a signed kernel's changelog mixes two).
    pub package: String,
    pub distributions: Vec<String>,
    pub urgency: Option<String>,
    /// A `*-security` distribution.
    pub security: bool,
    pub maintainer: Option<String>,
    pub date: Option<String>,
    /// The change lines as written.
    pub body: String,
    pub references: Vec<debgate_changelog::Reference>,
}

impl PairDiff {
    /// True when nothing but the version may have moved: the pair needs no section of its own.
    pub fn is_unchanged(&self) -> bool {
        self.version_change == VersionChange::Same
            && self.control.is_empty()
            && self.conffiles_added.is_empty()
            && self.conffiles_removed.is_empty()
            && self.files_added.is_empty()
            && self.files_removed.is_empty()
            && self.files_moved.is_empty()
            && self.metadata.is_empty()
            && self.content.is_empty()
            && self.kconfig.is_empty()
            && self.privileges.is_empty()
            && self.content_changes.changed.is_empty()
            && self.content_changes.unknown_count == 0
    }
}

/// A control field that was added (`old` omitted), removed (`new` omitted) or changed.
#[derive(Debug, Clone, Serialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub old: String,
    pub new: String,
}

/// One data.tar property of one path. `field` is one of `type`, `mode`, `owner`, `group`,
/// `setuid`, `setgid`, `capabilities`, `link-target`, `size`.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataChange {
    pub path: String,
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// A unified diff. `kind` is `script` (path is the script's name, e.g. `postinst`),
/// `conffile`, `sysctl` or `file`.
#[derive(Debug, Clone, Serialize)]
pub struct ContentDiff {
    pub path: String,
    pub kind: &'static str,
    /// Empty for binary content.
    pub diff: String,
    pub binary: bool,
    /// A side was longer than the content cap and only its head was compared.
    pub truncated: bool,
}

/// `change` is `added`, `removed` or `changed`; `old`/`new` are the values as written (`n` for
/// `# … is not set`), omitted when the option is absent on that side.
#[derive(Debug, Clone, Serialize)]
pub struct KconfigChange {
    /// The config file on the new side.
    pub file: String,
    pub option: String,
    pub change: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    pub named_by_rule: bool,
}

/// An end state of the new side that no end state of the old side equals (for a new path,
/// only a privileged one). `kind` is what it gained over every old state: `setuid`, `setgid`,
/// `capabilities`, `group` (a non-root group), `owner` (a non-root owner), `mode-widened`,
/// `unknown` (an attribute static reading could not resolve), or `state` when it gained none of
/// these (a different, not more privileged, state).
#[derive(Debug, Clone, Serialize)]
pub struct PrivilegeChange {
    pub path: String,
    pub kind: &'static str,
    /// The old end states, `MODE OWNER:GROUP [CAPS]` joined by ` or `; `absent` for a new path.
    pub old: String,
    /// The new end state.
    pub new: String,
    /// The file has more than one end state on the new side.
    pub conditional: bool,
    /// The lines that lead to the new state: `postinst:9 failed`, `postinst:19`; `data.tar`
    /// for the state as shipped.
    pub sources: Vec<String>,
    /// Only a re-run of postinst from an earlier run's state reaches it.
    pub rerun: bool,
    /// What in the new state static reading could not resolve.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

/// The winning setting of a key on one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SysctlValue {
    pub value: String,
    pub file: String,
    pub line: u32,
    pub package: String,
}

/// `old`/`new` omitted when nothing in that set sets the key.
#[derive(Debug, Clone, Serialize)]
pub struct SysctlChange {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<SysctlValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<SysctlValue>,
}

/// How a rule's verdict moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transition {
    /// It fails now and did not before (pass → fail, or not applicable → fail).
    Regression,
    /// fail → pass.
    Fixed,
    /// not applicable → pass.
    NewCoverage,
    /// pass or fail → not applicable.
    DroppedCoverage,
    Unchanged,
}

impl Transition {
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Regression => "regression",
            Transition::Fixed => "fixed",
            Transition::NewCoverage => "new-coverage",
            Transition::DroppedCoverage => "dropped-coverage",
            Transition::Unchanged => "unchanged",
        }
    }
}

/// A rule's verdict over each whole set: `fail` when any finding fails, else `pass` when any
/// passes, else `not-applicable`.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictChange {
    pub rule: String,
    pub severity: Severity,
    pub transition: Transition,
    pub old: Status,
    pub new: Status,
    /// `package path: message` of each failing finding on that side.
    pub old_failures: Vec<String>,
    pub new_failures: Vec<String>,
}

impl DiffReport {
    /// 2 when a package was unreadable, 1 when a rule of severity error regressed, else 0.
    pub fn exit_code(&self) -> i32 {
        self.exit_code_with(false)
    }

    /// [`DiffReport::exit_code`], where with `fail_on_escalation` a privilege escalation also
    /// makes it 1 (`--fail-on-escalation`, for CI).
    pub fn exit_code_with(&self, fail_on_escalation: bool) -> i32 {
        if self.summary.errors > 0 {
            2
        } else if self.summary.regressions_error > 0
            || (fail_on_escalation && self.summary.escalations > 0)
        {
            1
        } else {
            0
        }
    }
}
