//! `debgate privileges`: the inventory of a set's privileged files (setuid, setgid or capable in
//! any end state, shipped or granted by a script), each state with the lines that lead to it,
//! and every change static reading could not resolve that may grant one. Its JSON shape is part
//! of our contract; `--format toml` turns it into a ready allow-list to review.

use crate::{read_all_with_progress, Settings};
use debgate_analyze::privileges::{self as privs, Scope};
use debgate_facts::change::Change;
use serde::Serialize;
use std::path::PathBuf;

/// The inventory of a set.
#[derive(Debug, Clone, Serialize)]
pub struct PrivilegesReport {
    pub packages: Vec<PackagePrivileges>,
    /// Packages that could not be read: the run exits 2, the others are still listed.
    pub errors: Vec<Unreadable>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub file: String,
    pub error: String,
}

/// One package's privileges. A package with none is still listed, with empty lists, so that
/// the inventory says what it looked at.
#[derive(Debug, Clone, Serialize)]
pub struct PackagePrivileges {
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub file: String,
    pub files: Vec<PrivilegedFile>,
    /// Changes whose target is not known statically and that may grant a privilege to any
    /// file of the set.
    pub unresolved: Vec<UnresolvedChange>,
    /// Script parts the analyzer could not read: what they grant is not known.
    pub blind: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrivilegedFile {
    pub path: String,
    /// `file`, `dir`, ... or `null` for a path only a script creates.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The states that are, or may be, privileged (the file's other states need no review).
    pub states: Vec<PrivilegedState>,
    /// A `security.capability` xattr in data.tar that does not decode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caps_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrivilegedState {
    /// `4755 root:root cap_net_raw=ep`, `?` for what is unknown.
    pub state: String,
    /// `null` when unknown.
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// getcap text, empty for none; `null` when unknown.
    pub capabilities: Option<String>,
    /// `as shipped`, or `via postinst:9 failed → postinst:19`.
    pub provenance: String,
    pub via: Vec<String>,
    /// Only a re-run of the scripts reaches it.
    pub rerun: bool,
    /// The changes that left an attribute of this state unknown.
    pub unresolved: Vec<UnresolvedChange>,
    /// Unknown attributes no single change explains.
    pub unexplained: Vec<String>,
}

/// A change static reading could not resolve.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnresolvedChange {
    /// Which attribute it leaves unknown (`mode`, `owner`, `group`, `capabilities`), or
    /// `target` when it is the file it hits that is unknown.
    pub attribute: String,
    pub script: String,
    /// Shown, never matched: it moves with every debhelper change.
    pub line: u32,
    /// The command as the script writes it, whitespace normalised: what an allow-list entry
    /// approves it by.
    pub command: String,
    pub description: String,
}

impl UnresolvedChange {
    fn of(attribute: &str, c: &Change) -> UnresolvedChange {
        UnresolvedChange {
            attribute: attribute.to_string(),
            script: c.script.to_string(),
            line: c.line,
            command: c.command.to_string(),
            description: c.describe(),
        }
    }
}

impl PrivilegesReport {
    /// 2 when a package could not be read, else 0: the inventory judges nothing.
    pub fn exit_code(&self) -> i32 {
        if self.errors.is_empty() {
            0
        } else {
            2
        }
    }
}

/// The inventory of the packages `files`, in their order; `done(i)` after each is read.
pub fn privileges(
    files: &[PathBuf],
    settings: &Settings,
    scope: Scope,
    done: &(dyn Fn(usize) + Sync),
) -> PrivilegesReport {
    let read = read_all_with_progress(files, settings, &|_| false, done);
    report(
        files
            .iter()
            .zip(read)
            .map(|(f, r)| (f.clone(), r.map_err(|e| e.to_string()))),
        scope,
    )
}

/// The inventory of packages already read (a repository's, say), each with the path or URL
/// it came from; a package that could not be read is an error of the report.
pub fn report(
    read: impl IntoIterator<Item = (PathBuf, Result<crate::AnalyzedPackage, String>)>,
    scope: Scope,
) -> PrivilegesReport {
    let mut report = PrivilegesReport {
        packages: Vec::new(),
        errors: Vec::new(),
    };
    for (file, r) in read {
        match r {
            Ok(a) => report.packages.push(package(&a, scope)),
            Err(e) => report.errors.push(Unreadable {
                file: file.display().to_string(),
                error: e,
            }),
        }
    }
    report
}

/// One analysed package's inventory.
pub fn package(a: &crate::AnalyzedPackage, scope: Scope) -> PackagePrivileges {
    let inv = privs::inventory(&a.changes, &a.state, scope);
    let c = &a.package.control;
    PackagePrivileges {
        package: c.package().to_string(),
        version: c.version().to_string(),
        architecture: c.architecture().to_string(),
        file: a.package.file.display().to_string(),
        files: inv
            .files
            .iter()
            .map(|pf| PrivilegedFile {
                path: pf.file.path.clone(),
                kind: privs::kind_of(pf.file, &a.changes).map(|k| k.as_str().to_string()),
                caps_error: pf.file.caps_error.clone(),
                states: pf
                    .states
                    .iter()
                    .map(|ps| {
                        let s = ps.state;
                        PrivilegedState {
                            state: s.text(),
                            mode: s.mode.known().map(|m| format!("{m:04o}")),
                            owner: s.owner.known().cloned(),
                            group: s.group.known().cloned(),
                            capabilities: s
                                .caps
                                .known()
                                .map(|c| c.map(|c| c.to_text()).unwrap_or_default()),
                            provenance: s.provenance(),
                            via: s.via.clone(),
                            rerun: s.rerun,
                            unresolved: ps
                                .unresolved
                                .iter()
                                .map(|(what, c)| UnresolvedChange::of(what, c))
                                .collect(),
                            unexplained: ps.unexplained.clone(),
                        }
                    })
                    .collect(),
            })
            .collect(),
        unresolved: inv
            .unresolved
            .iter()
            .map(|c| UnresolvedChange::of("target", c))
            .collect(),
        blind: inv.blind.to_vec(),
    }
}
