//! debgate's own package checks: built-in rules judged on every package of every `debgate
//! check` run, whatever the policies say, like the upload checks. Each has a stable id, is of
//! severity error (`duplicate-package` and `trailing-bytes`: warning) and cannot be waived.

use crate::AnalyzedPackage;
use debgate_policy::{
    Assertion, Code, Diagnostic, Diagnostics, Finding, Globs, Location, Presence, Rule, RuleSet,
    Severity, Status,
};

/// A data.tar member written through a directory the package itself ships as a symlink.
pub const MEMBER_THROUGH_SYMLINK: &str = "member-through-symlink";

const TITLE: &str = "No data.tar member is written through a symlink the package ships";

const EXPLANATION: &str = "\
A data.tar member under a directory that the same package ships as a symbolic link is written \
where the link points, not where its name says: with `./etc/x -> /etc/cron.d` earlier in \
data.tar, the member `./etc/x/job` is installed as `/etc/cron.d/job`. dpkg-deb never builds \
such an archive from a directory tree and no package needs one; it is how a package hides a \
file in a sensitive directory behind an innocent name. debgate judges such a member at the path \
it lands at (every rule, `inspect`, `diff` and a maintainer script's target through the same \
link see that path), and this check fails once per such member, naming the member, the links it \
crosses and where it lands. The links followed are the package's own entries that come before \
the member; nothing on the host is consulted. A member whose place cannot be known (a loop of \
links, a link leading above `/`) makes the package unreadable instead (exit 2).";

/// A (package, architecture) that appears more than once in a set.
pub const DUPLICATE_PACKAGE: &str = "duplicate-package";

const DUPLICATE_TITLE: &str = "Each package and architecture appears once in the set";

const DUPLICATE_EXPLANATION: &str = "\
A set that holds two versions of one package for one architecture (two builds in an upload \
queue, an old .deb left in a pool directory) cannot be installed as it stands: apt would pick \
one, the highest version, as its candidate. debgate judges the set as apt would install it: the \
highest version enters the rules, and this check warns once per extra copy, naming both files, \
so that the result says which build was judged. Packages of different architectures \
(Multi-Arch: same) are not duplicates. In an apt repository several versions of a package are \
how archives are (a release and its security suite, an index that keeps older versions): there \
the copies set aside are listed at severity info, not warned about.";

/// Bytes after the last ar member of a package, which dpkg never reads.
pub const TRAILING_BYTES: &str = "trailing-bytes";

const TRAILING_TITLE: &str = "Nothing follows the last ar member of a package";

const TRAILING_EXPLANATION: &str = "\
dpkg stops reading a .deb at the end of its data member: bytes after it (garbage, a cut-off ar \
header or member, padding to a block) are never looked at, so the package installs as if they \
were not there, and debgate reads and judges it the same way. They are still a sign that the \
file is not what its build wrote: cut and pasted, appended to, or written by a tool that pads \
its output. This check warns once per package that has any, naming the file and the byte count. \
`_` members after the data member (debsigs' `_gpgorigin`) are ar members, not trailing bytes; \
a whole member of another name after the data member is refused. debgate counts at most \
`max-trailing-bytes` such bytes (`debgate limits`); past that the package is unreadable.";
/// A package whose data.tar dpkg's own extractor refuses.
pub const DPKG_CANNOT_UNPACK: &str = "dpkg-cannot-unpack";

const DPKG_TITLE: &str = "dpkg can unpack every header of data.tar";

const DPKG_EXPLANATION: &str = "\
dpkg 1.21.22 (Debian 12) unpacks data.tar with its own extractor (lib/dpkg/tarfn.c), which \
accepts regular files, hard links, symlinks, character and block devices, directories, FIFOs \
and GNU long names, and stops at any other header type: a PAX extended or global header (`x`, \
`g`), a GNU sparse file, dumpdir, volume label or multi-volume continuation (`S`, `D`, `V`, \
`M`), a Solaris header (`X`, `A`) or a type it does not know (`7`, `N`, `E`, `I`, ...). `dpkg \
--unpack` then fails with `unsupported PAX tar header type 'x'` (or the like) and installs \
nothing. dpkg-deb never writes such a header; other tools do, and a PAX header is where \
extended attributes such as `security.capability` are carried. debgate still reads such a \
package, as another unpacker would install it (a capability it carries is judged as a possible \
grant, a sparse or unknown-type member as a regular file, a dumpdir as a directory; a Solaris \
or multi-volume header, which describes another member in ways unpackers disagree on, makes the \
package unreadable instead), and this check fails once per package, naming the first refused \
member and its type, where dpkg stops. The types are tabled in docs/dpkg-tar-types.md. \
Build data.tar with dpkg-deb, and grant file capabilities from the postinst with setcap.";

/// The package checks as rules, declared by debgate itself and not waivable.
pub fn package_rules() -> Vec<Rule> {
    let mut duplicate = builtin_rule(
        DUPLICATE_PACKAGE,
        DUPLICATE_TITLE,
        DUPLICATE_EXPLANATION,
        &[
            "apt-cache(8): policy, the candidate version",
            "deb-version(7): version ordering",
        ],
        "(built-in package check)",
    );
    duplicate.severity = Severity::Warning;
    let mut trailing = builtin_rule(
        TRAILING_BYTES,
        TRAILING_TITLE,
        TRAILING_EXPLANATION,
        &[
            "deb(5): the ar members of a binary package",
            "dpkg-deb(1): reads the control and data members and nothing after them",
        ],
        "(built-in package check)",
    );
    trailing.severity = Severity::Warning;
    vec![
        builtin_rule(
            MEMBER_THROUGH_SYMLINK,
            TITLE,
            EXPLANATION,
            &[
                "deb(5): the data member is a tar archive unpacked relative to /",
                "dpkg-deb(1): builds data.tar from a directory tree",
            ],
            "(built-in package check)",
        ),
        duplicate,
        trailing,
        builtin_rule(
            DPKG_CANNOT_UNPACK,
            DPKG_TITLE,
            DPKG_EXPLANATION,
            &[
                "dpkg 1.21.22 lib/dpkg/tarfn.c: tar_extractor, the header types dpkg unpacks",
                "deb(5): the data member is a tar archive in GNU or ustar format",
                "https://git.dpkg.org/cgit/dpkg/dpkg.git/tree/lib/dpkg/tarfn.c?h=1.21.22",
            ],
            "(built-in package check)",
        ),
    ]
}

/// What copies of one package in a set mean, for the duplicate check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copies {
    /// Files the user named (a directory, an upload): two builds of one package are a mistake,
    /// warned about.
    Unexpected,
    /// The packages of apt repositories: several versions of a package across suites (a
    /// release and its security updates) or in one index are how archives are, and apt installs
    /// the candidate. Each copy set aside is said at severity info, so that the results still
    /// name the version judged without a warning on every run.
    Versions,
}

/// The set as apt would install it, and the duplicate check's results: for each (package,
/// architecture) that appears more than once, the highest version stays (see
/// `debgate_pipeline::candidates`) and each other copy gets a warning naming both files; with
/// no duplicate, one pass for the set.
pub fn candidates<'a>(
    set: &[&'a AnalyzedPackage],
    copies: Copies,
) -> (Vec<&'a AnalyzedPackage>, Vec<Finding>) {
    let files: Vec<String> = set
        .iter()
        .map(|a| a.package.file.display().to_string())
        .collect();
    let ids: Vec<(&str, &str, &str, &str)> = set
        .iter()
        .zip(&files)
        .map(|(a, file)| {
            let c = &a.package.control;
            (c.package(), c.architecture(), c.version(), file.as_str())
        })
        .collect();
    let keys: Vec<(&str, &str, &str)> = ids.iter().map(|&(n, a, v, _)| (n, a, v)).collect();
    let d = Duplicates::of(&keys);
    let kept = d.kept(set.len()).into_iter().map(|i| set[i]).collect();
    let findings = d
        .pairs
        .iter()
        .map(|&(copy, kept)| {
            let (_, _, version, file) = ids[kept];
            duplicate_finding(ids[copy], (version, file), copies)
        })
        .chain(d.pass)
        .collect();
    (kept, findings)
}

/// The duplicate check over packages known by `(name, architecture, version)` alone, as a
/// run that does not hold the packages keeps them ([`candidates`] of the packages held). Each
/// copy's result is [`duplicate_finding`], made when it is needed: a streamed run holds only
/// the pairs.
pub struct Duplicates {
    /// `(copy, candidate)` indices of each copy set aside.
    pub pairs: Vec<(usize, usize)>,
    /// The check's pass, when no package appears twice in a set that has any.
    pub pass: Option<Finding>,
}

impl Duplicates {
    pub fn of(keys: &[(&str, &str, &str)]) -> Duplicates {
        let pairs = debgate_pipeline::candidates::duplicates_of(keys);
        let pass = (pairs.is_empty() && !keys.is_empty()).then(|| no_duplicate_finding(keys.len()));
        Duplicates { pairs, pass }
    }

    /// The indices of the `n` packages that are judged (not set aside), in order.
    pub fn kept(&self, n: usize) -> Vec<usize> {
        let mut set_aside = vec![false; n];
        for &(copy, _) in &self.pairs {
            set_aside[copy] = true;
        }
        (0..n).filter(|&i| !set_aside[i]).collect()
    }
}

/// The duplicate check's result about `copy` `(name, architecture, version, file)`, set aside
/// for the candidate `(version, file)`: a warning, or for a repository's versions a note.
pub fn duplicate_finding(
    copy: (&str, &str, &str, &str),
    kept: (&str, &str),
    copies: Copies,
) -> Finding {
    let (name, arch, version, file) = copy;
    let (kept_version, kept_file) = kept;
    let (severity, message) = match copies {
        Copies::Unexpected => (
            Severity::Warning,
            format!(
                "{name} ({arch}) is in the set twice: {file} ({version}) and {kept_file} ({kept_version}); {kept_version} is judged, as apt's candidate",
            ),
        ),
        Copies::Versions => (
            Severity::Info,
            format!(
                "{name} ({arch}) {version} ({file}) is set aside: {kept_version} ({kept_file}) is apt's candidate and is judged",
            ),
        ),
    };
    Finding {
        rule: DUPLICATE_PACKAGE.to_string(),
        severity,
        status: Status::Fail,
        package: Some(name.to_string()),
        file: Some(file.to_string()),
        path: None,
        message,
        evidence: Vec::new(),
    }
}

/// The duplicate check's pass, for a set of `packages` with no duplicate.
fn no_duplicate_finding(packages: usize) -> Finding {
    Finding {
        rule: DUPLICATE_PACKAGE.to_string(),
        severity: Severity::Warning,
        status: Status::Pass,
        package: None,
        file: None,
        path: None,
        message: format!("each package and architecture of the {packages} package(s) appears once"),
        evidence: Vec::new(),
    }
}

/// A check debgate makes itself, as a rule: severity error, for every package, not waivable,
/// declared at `origin` (`(built-in upload check)`).
pub(crate) fn builtin_rule(
    id: &str,
    title: &str,
    explanation: &str,
    references: &[&str],
    origin: &str,
) -> Rule {
    let empty = || Globs {
        patterns: Vec::new(),
        set: globset::GlobSet::empty(),
    };
    Rule {
        id: id.to_string(),
        severity: Severity::Error,
        title: title.to_string(),
        explanation: explanation.to_string(),
        references: references.iter().map(|s| s.to_string()).collect(),
        packages: empty(),
        exclude_packages: empty(),
        paths: None,
        exclude_paths: None,
        types: Vec::new(),
        presence: Presence::Optional,
        tags: Vec::new(),
        when: None,
        assertion: Assertion::builtin(),
        waivable: false,
        location: Location::whole(origin),
    }
}

/// `rules` plus the package checks. A policy rule may not take a package check's id.
pub fn with_builtin_rules(rules: RuleSet) -> Result<RuleSet, Diagnostics> {
    reserve(rules, package_rules(), "built-in package check")
}

/// `rules` plus debgate's own checks (`what` names them in the error): their ids are reserved,
/// so every policy rule that takes one is refused, each at its declaration.
pub(crate) fn reserve(
    mut rules: RuleSet,
    checks: Vec<Rule>,
    what: &str,
) -> Result<RuleSet, Diagnostics> {
    let mut taken = Vec::new();
    for r in checks {
        if let Some(rule) = rules.get(&r.id) {
            taken.push(Diagnostic {
                location: rule.location.clone(),
                code: Code::ReservedRuleId,
                message: format!("rule id `{}` is reserved for debgate's {what}", r.id),
            });
        }
        rules.rules.push(r);
    }
    if taken.is_empty() {
        Ok(rules)
    } else {
        Err(Diagnostics(taken))
    }
}

/// The package checks' results over a set: one failure per member written through a symlink,
/// one warning per package with trailing bytes, one failure per package dpkg cannot unpack;
/// for each check with none, one pass for the set (so that every run reports the checks, as
/// JUnit and SARIF show them).
pub fn package_findings<'a>(set: impl IntoIterator<Item = &'a AnalyzedPackage>) -> Vec<Finding> {
    let mut checks = PackageChecks::default();
    let mut groups: [Vec<Finding>; 3] = Default::default();
    for a in set {
        for (group, found) in groups.iter_mut().zip(checks.judge(a)) {
            group.extend(found);
        }
    }
    for (group, pass) in groups.iter_mut().zip(checks.finish()) {
        group.extend(pass);
    }
    groups.into_iter().flatten().collect()
}

/// The package checks judged one package at a time, with what their set-level passes need:
/// how many packages were judged and which checks failed on any.
#[derive(Debug, Default, Clone)]
pub struct PackageChecks {
    packages: usize,
    /// Per check (member through symlink, trailing bytes, dpkg cannot unpack): failures so far.
    failed: [usize; 3],
}

impl PackageChecks {
    /// One package's results, per check (member through symlink, trailing bytes, dpkg cannot
    /// unpack).
    pub fn judge(&mut self, a: &AnalyzedPackage) -> [Vec<Finding>; 3] {
        self.packages += 1;
        let p = &a.package;
        let mut trailing = Vec::new();
        let mut out = Vec::new();
        if p.trailing_bytes > 0 {
            trailing.push(Finding {
                rule: TRAILING_BYTES.to_string(),
                severity: Severity::Warning,
                status: Status::Fail,
                package: Some(p.name().to_string()),
                file: Some(p.file.display().to_string()),
                path: None,
                message: format!(
                    "{}: {} byte(s) after the last ar member, which dpkg never reads",
                    p.file.display(),
                    p.trailing_bytes
                ),
                evidence: Vec::new(),
            });
        }
        for e in &p.entries {
            let Some(member) = &e.member else { continue };
            let links = e
                .through
                .iter()
                .map(
                    |l| match p.entry(l).and_then(|x| x.link_target.as_deref()) {
                        Some(t) => format!("{l} -> {t}"),
                        None => l.clone(),
                    },
                )
                .collect::<Vec<_>>()
                .join(", then ");
            out.push(Finding {
                rule: MEMBER_THROUGH_SYMLINK.to_string(),
                severity: Severity::Error,
                status: Status::Fail,
                package: Some(p.name().to_string()),
                file: Some(p.file.display().to_string()),
                path: Some(e.path.clone()),
                message: format!(
                    "data.tar member {member} is written through the symlink {links} and lands at {}",
                    e.path
                ),
                evidence: Vec::new(),
            });
        }
        let (dpkg, _) = dpkg_findings(std::iter::once(a));
        let groups = [out, trailing, dpkg];
        for (n, g) in self.failed.iter_mut().zip(&groups) {
            *n += g.len();
        }
        groups
    }

    /// For each check that failed on no package judged, its pass for the set.
    pub fn finish(&self) -> [Vec<Finding>; 3] {
        let packages = self.packages;
        let pass = |i: usize, rule: &str, severity, message: String| {
            if self.failed[i] > 0 || packages == 0 {
                return Vec::new();
            }
            vec![Finding {
                rule: rule.to_string(),
                severity,
                status: Status::Pass,
                package: None,
                file: None,
                path: None,
                message,
                evidence: Vec::new(),
            }]
        };
        [
            pass(
                0,
                MEMBER_THROUGH_SYMLINK,
                Severity::Error,
                format!(
                    "no data.tar member of the {packages} package(s) is written through a symlink"
                ),
            ),
            pass(
                1,
                TRAILING_BYTES,
                Severity::Warning,
                format!("nothing follows the last ar member of the {packages} package(s)"),
            ),
            pass(
                2,
                DPKG_CANNOT_UNPACK,
                Severity::Error,
                format!("dpkg can unpack every data.tar header of the {packages} package(s)"),
            ),
        ]
    }
}

/// One failure per package whose data.tar has a header dpkg refuses, naming the first (where
/// dpkg stops) and counting the rest; and how many packages failed.
fn dpkg_findings<'a>(set: impl IntoIterator<Item = &'a AnalyzedPackage>) -> (Vec<Finding>, usize) {
    let mut out = Vec::new();
    for a in set {
        let p = &a.package;
        let Some(first) = p.dpkg_refuses.first() else {
            continue;
        };
        let others = p.dpkg_refused.saturating_sub(1);
        let more = match others {
            0 => String::new(),
            n => format!(" ({n} more such header(s) follow)"),
        };
        let evidence = p
            .dpkg_refuses
            .iter()
            .map(|r| {
                format!(
                    "data.tar: {} {} (type '{}')",
                    r.member,
                    r.what(),
                    r.typeflag_text()
                )
            })
            .collect();
        out.push(Finding {
            rule: DPKG_CANNOT_UNPACK.to_string(),
            severity: Severity::Error,
            status: Status::Fail,
            package: Some(p.name().to_string()),
            file: Some(p.file.display().to_string()),
            path: Some(first.member.clone()),
            message: format!(
                "dpkg cannot unpack this package: data.tar member {} {}, where dpkg 1.21.22 stops with \"{}\" and installs nothing{more}",
                first.member,
                first.what(),
                first.dpkg_error()
            ),
            evidence,
        });
    }
    let n = out.len();
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::{candidates, with_builtin_rules, Copies, MEMBER_THROUGH_SYMLINK};
    use crate::{analyze_package, AnalyzedPackage};
    use debgate_facts::{Control, Package};
    use debgate_policy::{Severity, Status};

    fn pkg(name: &str, version: &str, arch: &str) -> AnalyzedPackage {
        let package = Package {
            file: format!("{name}_{version}_{arch}.deb").into(),
            control: Control {
                fields: vec![
                    ("Package".into(), name.into()),
                    ("Version".into(), version.into()),
                    ("Architecture".into(), arch.into()),
                ],
            },
            conffiles: vec![],
            scripts: vec![],
            entries: vec![],
            contents: Default::default(),
            ..Default::default()
        };
        analyze_package(package, &Default::default())
    }

    #[test]
    fn the_highest_version_of_a_package_and_architecture_is_the_candidate() {
        let set = [
            pkg("libx", "1.0-1", "amd64"),
            pkg("libx", "1.0-10", "amd64"),
            pkg("libx", "1.0-2", "i386"),
            pkg("libx", "1:0.9", "amd64"),
        ];
        let refs: Vec<&AnalyzedPackage> = set.iter().collect();
        let (kept, findings) = candidates(&refs, Copies::Unexpected);
        let kept: Vec<String> = kept
            .iter()
            .map(|a| a.package.file.display().to_string())
            .collect();
        // dpkg order: the epoch wins, then 10 > 2 > 1 numerically; i386 is another package.
        // The candidates keep the set's order.
        assert_eq!(kept, ["libx_1.0-2_i386.deb", "libx_1:0.9_amd64.deb"]);
        assert_eq!(findings.len(), 2);
        assert!(findings
            .iter()
            .all(|f| f.status == Status::Fail && f.severity == Severity::Warning));
        let none = candidates(&refs[2..3], Copies::Unexpected).1;
        assert_eq!(none[0].status, Status::Pass);
        // A repository's versions: the same candidates, each copy a note.
        let (same, notes) = candidates(&refs, Copies::Versions);
        assert_eq!(same.len(), 2);
        assert_eq!(notes.len(), 2);
        assert!(notes
            .iter()
            .all(|f| f.status == Status::Fail && f.severity == Severity::Info));
        assert!(
            notes[0].message.contains("apt's candidate"),
            "{}",
            notes[0].message
        );
    }
    use debgate_policy::{load_sources, Code};

    #[test]
    fn dpkg_cannot_unpack_fails_each_refused_package_once_and_passes_a_clean_set() {
        use debgate_facts::DpkgRefusal;
        let clean = pkg("ok", "1", "amd64");
        let mut bad = pkg("bad", "1", "amd64");
        bad.package.dpkg_refuses = vec![
            DpkgRefusal {
                member: "/usr/bin/ping".into(),
                typeflag: b'x',
            },
            DpkgRefusal {
                member: "/var/big".into(),
                typeflag: b'S',
            },
        ];
        bad.package.dpkg_refused = 3;
        let mine = |set: &[&AnalyzedPackage]| -> Vec<_> {
            super::package_findings(set.iter().copied())
                .into_iter()
                .filter(|f| f.rule == super::DPKG_CANNOT_UNPACK)
                .collect()
        };
        let pass = mine(&[&clean]);
        assert_eq!(pass.len(), 1);
        assert_eq!(pass[0].status, Status::Pass);
        let fail = mine(&[&clean, &bad]);
        assert_eq!(fail.len(), 1, "no pass beside a failure: {fail:?}");
        let f = &fail[0];
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.package.as_deref(), Some("bad"));
        assert_eq!(f.path.as_deref(), Some("/usr/bin/ping"));
        assert!(
            f.message.contains("unsupported PAX tar header type 'x'")
                && f.message.contains("(2 more such header(s) follow)"),
            "{}",
            f.message
        );
        assert_eq!(f.evidence.len(), 2);
        assert!(f.evidence[1].contains("/var/big is a GNU sparse file (type 'S')"));
        let rule = super::package_rules()
            .into_iter()
            .find(|r| r.id == super::DPKG_CANNOT_UNPACK)
            .unwrap();
        assert!(!rule.waivable);
    }

    #[test]
    fn readme_lists_every_builtin_check() {
        let readme = include_str!("../../../README.md");
        for r in super::package_rules()
            .iter()
            .chain(crate::upload_rules().iter())
        {
            assert!(
                readme.contains(&format!("| `{}` |", r.id)),
                "README.md's tables of built-in checks lack `{}`",
                r.id
            );
        }
    }

    #[test]
    fn a_policy_rule_may_not_take_a_builtin_id() {
        let policy = format!(
            "[[rule]]\nid = \"{MEMBER_THROUGH_SYMLINK}\"\nseverity = \"error\"\ntitle = \"t\"\nexplanation = \"e\"\nreferences = [\"r\"]\npaths = [\"/x\"]\nassert = {{ kind = \"exists\" }}\n"
        );
        let rules = load_sources(&[("p.toml", &policy)]).unwrap();
        let errs = with_builtin_rules(rules).unwrap_err().0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].code, Code::ReservedRuleId);
        assert_eq!(errs[0].location.to_string(), "p.toml:1:1");
        assert!(
            errs[0].message.contains("built-in package check"),
            "{}",
            errs[0]
        );
        let fine = load_sources(&[("p.toml", &policy.replace(MEMBER_THROUGH_SYMLINK, "mine"))]);
        assert!(with_builtin_rules(fine.unwrap()).is_ok());
    }
}
