//! `inspect`: what one package does to privileges and settings, as a report whose JSON shape is
//! part of our contract.

use crate::{analyze_file, AnalyzedPackage, Settings};
use debgate_analyze::effective::EndState;
use debgate_analyze::{kconfig, sysctl};
use debgate_facts::change::{Action, ModeSpec, Operand, Target};
use debgate_facts::{Device, Entry, EntryKind};
use debgate_reader::ReadError;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct InspectFile {
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub mode: String,
    pub owner: String,
    pub group: String,
    /// getcap-style text, empty when none.
    pub capabilities: String,
    pub conditional: bool,
    pub sources: Vec<String>,
    /// Every end state the file can be left in. `mode`, `owner`, `group` and `capabilities`
    /// above are their join: mode bits OR-ed, capabilities united, owner and group kept when
    /// every state agrees, else `*`.
    pub states: Vec<EndState>,
    /// The data.tar member's own name, when it was written through a directory the package
    /// ships as a symlink and so lands at `path` (the `member-through-symlink` check fails on it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The package's symlinks that member was written through, in the order crossed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub through: Vec<String>,
    /// A character or block device's major and minor numbers, from its tar header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InspectChange {
    pub script: String,
    pub line: u32,
    pub action: String,
    /// One human-readable line, e.g. `postinst:14: setcap cap_net_raw=ep /usr/bin/ping`.
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The word as written, when the path could not be resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub resolved: bool,
    pub conditional: bool,
    pub recursive: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Operands only run time knows, as `owner $owner` (attribute, then the word as written).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SysctlLine {
    pub file: String,
    pub key: String,
    pub value: String,
    pub line: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct KconfigLine {
    pub file: String,
    pub option: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScriptDiagnostic {
    pub script: String,
    pub line: u32,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    pub file: String,
    pub package: String,
    pub version: String,
    pub architecture: String,
    pub files: Vec<InspectFile>,
    pub changes: Vec<InspectChange>,
    pub sysctl: Vec<SysctlLine>,
    pub kconfig: Vec<KconfigLine>,
    pub diagnostics: Vec<ScriptDiagnostic>,
}

/// Paths whose content `inspect` reads: sysctl files and kernel configs.
pub fn inspect_wants(path: &str) -> bool {
    sysctl::is_sysctl_path(path) || kconfig::is_kconfig_path(path)
}

pub fn inspect(path: &Path, settings: &Settings) -> Result<InspectReport, ReadError> {
    let a = analyze_file(path, settings, &inspect_wants)?;
    Ok(of(&a))
}

/// The report of a package already read with [`inspect_wants`] (one of a repository's).
pub fn of(a: &AnalyzedPackage) -> InspectReport {
    // Members written through a symlink are always shown, with their own names.
    let through: HashMap<&str, &Entry> = a
        .package
        .entries
        .iter()
        .filter(|e| e.member.is_some())
        .map(|e| (e.path.as_str(), e))
        .collect();
    // Device nodes and FIFOs are always shown: what a device node opens is a privilege.
    let special: HashMap<&str, &Entry> = a
        .package
        .entries
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EntryKind::CharDevice | EntryKind::BlockDevice | EntryKind::Fifo
            )
        })
        .map(|e| (e.path.as_str(), e))
        .collect();
    let files = a
        .state
        .files
        .values()
        .filter(|f| {
            through.contains_key(f.path.as_str())
                || special.contains_key(f.path.as_str())
                || f.changed_by_scripts()
                || f.setuid()
                || f.setgid()
                || f.caps.is_some()
                || f.caps_error.is_some()
                || f.states.iter().any(|s| !s.unknown.is_empty())
        })
        .map(|f| InspectFile {
            path: f.path.clone(),
            kind: f.kind.map_or("unknown", |k| k.as_str()).to_string(),
            mode: format!("{:04o}", f.mode),
            owner: f.owner.clone(),
            group: f.group.clone(),
            capabilities: f.caps_text(),
            conditional: f.conditional,
            sources: f.sources.clone(),
            states: f.states.clone(),
            member: through.get(f.path.as_str()).and_then(|e| e.member.clone()),
            through: through
                .get(f.path.as_str())
                .map(|e| e.through.clone())
                .unwrap_or_default(),
            device: special.get(f.path.as_str()).and_then(|e| e.device),
        })
        .collect();
    let changes = a
        .changes
        .iter()
        .map(|c| {
            let mut ic = InspectChange {
                script: c.script.to_string(),
                line: c.line,
                action: c.action.name().to_string(),
                description: c.describe(),
                path: c.target.path().map(str::to_string),
                target: match &c.target {
                    Target::Unresolved(w) => Some(w.clone()),
                    Target::Path(_) => None,
                },
                resolved: matches!(c.target, Target::Path(_)),
                conditional: c.conditional,
                recursive: c.recursive,
                capabilities: None,
                mode: None,
                owner: None,
                group: None,
                unresolved: c
                    .action
                    .unresolved()
                    .into_iter()
                    .map(|(what, raw)| format!("{what} {raw}"))
                    .collect(),
            };
            let known = |o: &Option<Operand<String>>| o.as_ref().and_then(|o| o.known().cloned());
            let mode_text = |m: &Operand<ModeSpec>| m.known().map(ModeSpec::text);
            match &c.action {
                Action::SetCaps { caps } => ic.capabilities = caps.known().map(|c| c.to_text()),
                Action::RemoveCaps => ic.capabilities = Some(String::new()),
                Action::Chmod { mode } => ic.mode = mode_text(mode),
                Action::Chown { owner, group } => {
                    ic.owner = known(owner);
                    ic.group = known(group);
                }
                Action::StatOverrideAdd {
                    owner, group, mode, ..
                } => {
                    ic.owner = owner.known().cloned();
                    ic.group = group.known().cloned();
                    ic.mode = mode.known().map(|m| format!("{m:04o}"));
                }
                Action::StatOverrideRemove => {}
                Action::Install {
                    owner, group, mode, ..
                } => {
                    ic.owner = known(owner);
                    ic.group = known(group);
                    ic.mode = mode.as_ref().and_then(mode_text);
                }
            }
            ic
        })
        .collect();
    let mut sysctl_lines = Vec::new();
    let mut kconfig_lines = Vec::new();
    for (path, content) in &a.package.contents {
        let text = content.text();
        if sysctl::is_sysctl_path(path) {
            sysctl_lines.extend(sysctl::parse(path, &text).into_iter().map(|s| SysctlLine {
                file: s.file,
                key: s.key,
                value: s.value,
                line: s.line,
            }));
        }
        if kconfig::is_kconfig_path(path) {
            kconfig_lines.extend(kconfig::Kconfig::parse(&text).assignments().map(|k| {
                KconfigLine {
                    file: path.clone(),
                    option: k.option.clone(),
                    value: k.value.clone(),
                }
            }));
        }
    }
    InspectReport {
        file: a.package.file.display().to_string(),
        package: a.package.name().to_string(),
        version: a.package.control.version().to_string(),
        architecture: a.package.control.architecture().to_string(),
        files,
        changes,
        sysctl: sysctl_lines,
        kconfig: kconfig_lines,
        diagnostics: a
            .diagnostics
            .iter()
            .map(|d| ScriptDiagnostic {
                script: d.script.to_string(),
                line: d.line,
                message: d.message.clone(),
            })
            .collect(),
    }
}
