//! Effective-state cases (`testdata/states/*.toml`): loading them, and building each as a `.deb`.
//!
//! A case is the files a package ships, its maintainer scripts (and debconf `templates`), and
//! the set of end states each file can be left in; the format is documented in
//! `testdata/states/README.md`. The analyzer's test compares its predictions with `expect`, and
//! the differential test (`crates/oracle`) runs the scripts for real. Both need the same
//! package, so [`state_case_deb`] builds it with this crate's deterministic writer.

use crate::deb::{control_tar_with, deb_bytes_with};
use crate::tree::{id_of, GROUPS, USERS};
use crate::{normalize_files, tar_bytes, FileSpec, PackageSpec, WriterError};
use debgate_facts::caps::{CapSet, FileCaps};
use debgate_facts::{Compression, EntryKind, ScriptName, CAPABILITY_XATTR};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The keys `[scripts]` may hold: the maintainer scripts, debconf's `config`, and `templates`.
pub const SCRIPT_KEYS: [&str; 6] = [
    "preinst",
    "postinst",
    "prerm",
    "postrm",
    "config",
    "templates",
];

/// What a regular file of a case holds: a shell script header, so it looks executable.
pub const CASE_FILE_CONTENT: &str = "#!/bin/sh\n";

/// One case file, loaded and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCase {
    /// The file stem (`fping` for `fping.toml`).
    pub name: String,
    pub description: String,
    /// The data.tar entries as listed (implied parent directories are not added here).
    pub files: Vec<CaseFile>,
    /// `preinst`, `postinst`, `prerm`, `postrm`, `config` and `templates` by name.
    pub scripts: BTreeMap<String, String>,
    pub expect: Vec<Expect>,
    /// `package = "NAME"`: the package's name, so that a bundled rule that selects a
    /// package by name judges the case; else `case-NAME`.
    pub package: Option<String>,
    /// `[[verdict]]`: what a bundled rule must say of the case's package.
    pub verdicts: Vec<Verdict>,
}

/// One `[[verdict]]`: a bundled rule's status on the case's package, and text its message (or
/// one of its messages) must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub rule: String,
    pub status: String,
    pub message_contains: Vec<String>,
}

/// One `[[file]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFile {
    pub path: String,
    pub kind: CaseKind,
    /// Permission bits including setuid/setgid/sticky. A hard link without its own `mode`
    /// takes its target's (they share an inode); a symlink is 0777.
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// A `security.capability` xattr in data.tar, as `cap_from_text` text.
    pub caps: Option<String>,
    /// The symlink target, or the hard link's first name.
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaseKind {
    File,
    Dir,
    Symlink,
    HardLink,
}

/// One `[[expect]]`: every state `path` can end in, as the README writes states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    pub path: String,
    pub states: Vec<String>,
}

#[derive(Debug, Error)]
pub enum CaseError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the documented schema.
    #[error("{}: {source}", path.display())]
    Toml {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    /// Valid TOML that breaks a rule of the format (a bad mode, an unknown script name, ...).
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    /// Building the case's `.deb` failed.
    #[error("case {case}: {source}")]
    Writer {
        case: String,
        #[source]
        source: WriterError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    description: String,
    #[serde(default)]
    file: Vec<RawFile>,
    #[serde(default)]
    scripts: BTreeMap<String, String>,
    #[serde(default)]
    expect: Vec<RawExpect>,
    package: Option<String>,
    #[serde(default)]
    verdict: Vec<RawVerdict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawVerdict {
    rule: String,
    status: String,
    #[serde(default)]
    message_contains: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    path: String,
    kind: Option<String>,
    /// Octal, as a string (`"4755"`), so a decimal `755` cannot slip through.
    mode: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    caps: Option<String>,
    target: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    path: String,
    states: Vec<String>,
}

/// Load one case file; its name is the file stem.
pub fn load_state_case(path: &Path) -> Result<StateCase, CaseError> {
    let text = fs::read_to_string(path).map_err(|source| CaseError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    parse_state_case(&name, &text).map_err(|e| match e {
        CaseError::Invalid { message, .. } => CaseError::Invalid {
            path: path.to_path_buf(),
            message,
        },
        CaseError::Toml { source, .. } => CaseError::Toml {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })
}

/// Every `*.toml` in `dir`, sorted by name.
pub fn load_state_cases(dir: &Path) -> Result<Vec<StateCase>, CaseError> {
    let io = |source| CaseError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    let mut cases = paths
        .iter()
        .map(|p| load_state_case(p))
        .collect::<Result<Vec<_>, _>>()?;
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// Parse a case from its text; `name` is what [`load_state_case`] takes from the file name.
/// Errors name the path `<name>.toml`.
pub fn parse_state_case(name: &str, text: &str) -> Result<StateCase, CaseError> {
    let path = PathBuf::from(format!("{name}.toml"));
    let raw: RawCase = toml::from_str(text).map_err(|e| CaseError::Toml {
        path: path.clone(),
        source: Box::new(e),
    })?;
    let invalid = |message: String| CaseError::Invalid {
        path: path.clone(),
        message,
    };

    for key in raw.scripts.keys() {
        if !SCRIPT_KEYS.contains(&key.as_str()) {
            return Err(invalid(format!(
                "[scripts] has `{key}`; expected one of {}",
                SCRIPT_KEYS.join(", ")
            )));
        }
    }

    let mut files: Vec<CaseFile> = Vec::new();
    for f in &raw.file {
        let err = |m: String| invalid(format!("file `{}`: {m}", f.path));
        if !f.path.starts_with('/')
            || f.path.len() < 2
            || f.path.ends_with('/')
            || f.path.split('/').any(|c| c == "." || c == "..")
        {
            return Err(err(
                "paths must be absolute, without a trailing `/`, `.` or `..`".into(),
            ));
        }
        if files.iter().any(|g| g.path == f.path) {
            return Err(err("listed twice".into()));
        }
        let kind = match f.kind.as_deref().unwrap_or("file") {
            "file" => CaseKind::File,
            "dir" => CaseKind::Dir,
            "symlink" => CaseKind::Symlink,
            "hard-link" | "hardlink" => CaseKind::HardLink,
            other => {
                return Err(err(format!(
                    "kind `{other}` is not file, dir, symlink or hard-link"
                )))
            }
        };
        let mode = match &f.mode {
            Some(m) => Some(
                u32::from_str_radix(m, 8)
                    .ok()
                    .filter(|&v| v <= 0o7777)
                    .ok_or_else(|| err(format!("mode `{m}` is not an octal mode up to 7777")))?,
            ),
            None => None,
        };
        match (kind, &f.target) {
            (CaseKind::Symlink | CaseKind::HardLink, None) => {
                return Err(err("a link needs `target`".into()))
            }
            (CaseKind::File | CaseKind::Dir, Some(_)) => {
                return Err(err("only links have a `target`".into()))
            }
            _ => {}
        }
        if let Some(caps) = &f.caps {
            if kind != CaseKind::File {
                return Err(err("only a regular file can carry `caps`".into()));
            }
            CapSet::from_text(caps).map_err(|e| err(format!("caps `{caps}`: {e}")))?;
        }
        let mut owner = f.owner.clone();
        let mut group = f.group.clone();
        let mode = match kind {
            CaseKind::Symlink => mode.unwrap_or(0o777),
            CaseKind::HardLink => {
                let target = f.target.as_deref().unwrap_or_default();
                let first = files
                    .iter()
                    .find(|g| g.path == target && g.kind == CaseKind::File)
                    .ok_or_else(|| {
                        err(format!(
                            "hard link target `{target}` is not a regular file listed before it"
                        ))
                    })?;
                owner.get_or_insert_with(|| first.owner.clone());
                group.get_or_insert_with(|| first.group.clone());
                mode.unwrap_or(first.mode)
            }
            CaseKind::File | CaseKind::Dir => mode.unwrap_or(0o755),
        };
        let owner = owner.unwrap_or_else(|| "root".into());
        let group = group.unwrap_or_else(|| "root".into());
        for name in [&owner, &group] {
            if !valid_name(name) {
                return Err(err(format!("`{name}` is not a user or group name")));
            }
        }
        files.push(CaseFile {
            path: f.path.clone(),
            kind,
            mode,
            owner,
            group,
            caps: f.caps.clone(),
            target: f.target.clone(),
        });
    }

    let mut expect = Vec::new();
    for e in raw.expect {
        if !e.path.starts_with('/') {
            return Err(invalid(format!(
                "expect `{}`: paths must be absolute",
                e.path
            )));
        }
        expect.push(Expect {
            path: e.path,
            states: e.states,
        });
    }

    if let Some(p) = &raw.package {
        if !valid_package_name(p) {
            return Err(invalid(format!(
                "package `{p}` is not a Debian package name"
            )));
        }
    }
    Ok(StateCase {
        name: name.to_string(),
        description: raw.description,
        files,
        scripts: raw.scripts,
        expect,
        package: raw.package,
        verdicts: raw
            .verdict
            .into_iter()
            .map(|v| Verdict {
                rule: v.rule,
                status: v.status,
                message_contains: v.message_contains,
            })
            .collect(),
    })
}

/// Debian Policy 5.6.1: lower case letters, digits, `+`, `-`, `.`; two or more characters,
/// starting with an alphanumeric.
fn valid_package_name(p: &str) -> bool {
    p.len() >= 2
        && p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && p.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

/// A name `useradd` would take (and tar's 32-byte uname field holds).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with('-')
}

/// The uid a case's `.deb` (and the oracle's sandbox) gives a user name: Debian's static id
/// for the base-passwd names, otherwise a stable number from 10000 up derived from the name.
pub fn user_id(name: &str) -> u32 {
    id_of(USERS, name).map_or_else(|| stable_id(name), |id| id as u32)
}

/// The gid for a group name, as [`user_id`] does for users.
pub fn group_id(name: &str) -> u32 {
    id_of(GROUPS, name).map_or_else(|| stable_id(name), |id| id as u32)
}

/// FNV-1a of the name mapped into 10000..60000: the same name always gets the same id.
fn stable_id(name: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    10_000 + (h % 50_000) as u32
}

/// `case-NAME` with NAME lower-cased and every character outside `[a-z0-9.+-]` made `-`.
pub fn case_package_name(case: &StateCase) -> String {
    if let Some(p) = &case.package {
        return p.clone();
    }
    let name: String = case
        .name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("case-{name}")
}

/// The [`PackageSpec`] of a case: control fields, maintainer scripts, and the files with
/// owners by name and id, caps as a v2 `security.capability` xattr, links as tar links.
pub fn state_case_spec(case: &StateCase) -> Result<PackageSpec, CaseError> {
    let summary = case.description.lines().next().unwrap_or_default().trim();
    let summary = if summary.is_empty() {
        "effective-state case"
    } else {
        summary
    };
    let control = format!(
        "Package: {}\nVersion: 1.0\nArchitecture: all\nMaintainer: debgate tests \
         <debgate@example.invalid>\nDescription: {summary}\n",
        case_package_name(case)
    );
    let mut scripts = Vec::new();
    for (name, text) in &case.scripts {
        if let Some(script) = ScriptName::from_member(name) {
            scripts.push((script, text.clone()));
        }
    }
    scripts.sort_by_key(|(name, _)| *name);

    let mut files = Vec::new();
    for f in &case.files {
        let base = FileSpec {
            mode: f.mode,
            uid: u64::from(user_id(&f.owner)),
            gid: u64::from(group_id(&f.group)),
            owner: f.owner.clone(),
            group: f.group.clone(),
            ..FileSpec::file(&f.path, f.mode, Vec::new())
        };
        let mut spec = match f.kind {
            CaseKind::File => FileSpec {
                content: CASE_FILE_CONTENT.as_bytes().to_vec(),
                ..base
            },
            CaseKind::Dir => FileSpec {
                kind: EntryKind::Dir,
                ..base
            },
            CaseKind::Symlink => FileSpec {
                kind: EntryKind::Symlink,
                link_target: f.target.clone(),
                ..base
            },
            CaseKind::HardLink => FileSpec {
                kind: EntryKind::HardLink,
                link_target: f.target.clone(),
                ..base
            },
        };
        if let Some(text) = &f.caps {
            let set = CapSet::from_text(text).map_err(|e| CaseError::Invalid {
                path: PathBuf::from(format!("{}.toml", case.name)),
                message: format!("file `{}`: caps `{text}`: {e}", f.path),
            })?;
            let caps = FileCaps {
                revision: 2,
                effective: set.effective != 0,
                permitted: set.permitted,
                inheritable: set.inheritable,
                rootid: None,
            };
            spec.xattrs = vec![(CAPABILITY_XATTR.to_string(), caps.encode())];
        }
        files.push(spec);
    }
    Ok(PackageSpec {
        control,
        scripts,
        files,
        ..PackageSpec::default()
    })
}

/// The case as a `.deb` (xz-compressed members), with `templates` in control.tar when the
/// case has one. The same case always gives the same bytes.
pub fn state_case_deb(case: &StateCase) -> Result<Vec<u8>, CaseError> {
    let writer = |source| CaseError::Writer {
        case: case.name.clone(),
        source,
    };
    let spec = state_case_spec(case)?;
    let mut extra = Vec::new();
    if let Some(templates) = case.scripts.get("templates") {
        let mut text = templates.clone();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        extra.push(FileSpec::file("/templates", 0o644, text));
    }
    let control_tar = control_tar_with(&spec, extra).map_err(writer)?;
    let data_tar = tar_bytes(&unpack_order(&spec.files)).map_err(writer)?;
    deb_bytes_with(
        &spec,
        control_tar,
        data_tar,
        Compression::Xz,
        Compression::Xz,
    )
    .map_err(writer)
}

/// [`normalize_files`] (implied directories, tree order), then every hard link moved to just
/// after the later of its target and its predecessor, since a tar hard link can only name a
/// member that came before it.
pub fn unpack_order(files: &[FileSpec]) -> Vec<FileSpec> {
    let mut out: Vec<FileSpec> = Vec::new();
    let mut waiting: Vec<FileSpec> = Vec::new();
    for f in normalize_files(files) {
        if f.kind == EntryKind::HardLink {
            waiting.push(f);
        } else {
            out.push(f);
        }
        // Release every waiting link whose target is now written.
        while let Some(i) = waiting.iter().position(|l| {
            let target = l.link_target.as_deref().unwrap_or_default();
            out.iter().any(|g| g.path == target)
        }) {
            out.push(waiting.remove(i));
        }
    }
    out.extend(waiting);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FPING: &str = r#"
description = "setcap, with a setuid statoverride as the fallback"

[[file]]
path = "/usr/bin/fping"

[[file]]
path = "/usr/bin/fping6"
kind = "hard-link"
target = "/usr/bin/fping"

[[file]]
path = "/usr/lib/x/helper"
mode = "4750"
group = "netdev"
caps = "cap_net_raw=ep"

[[file]]
path = "/usr/bin/f"
kind = "symlink"
target = "fping"

[[file]]
path = "/var/lib/x"
kind = "dir"
mode = "2770"
owner = "_x"

[scripts]
postinst = '''
#!/bin/sh
set -e
setcap cap_net_raw+ep /usr/bin/fping || chmod 4755 /usr/bin/fping
'''
templates = '''
Template: x/mode
Type: select
Choices: a, b
'''

[[expect]]
path = "/usr/bin/fping"
states = ["0755 root:root cap_net_raw=ep", "4755 root:root"]
"#;

    #[test]
    fn parses_the_documented_format_with_defaults() {
        let case = parse_state_case("fping", FPING).unwrap();
        assert_eq!(case.name, "fping");
        assert_eq!(case.files.len(), 5);
        let f = &case.files[0];
        assert_eq!(
            (f.kind, f.mode, f.owner.as_str(), f.group.as_str()),
            (CaseKind::File, 0o755, "root", "root")
        );
        let link = &case.files[1];
        assert_eq!(link.kind, CaseKind::HardLink);
        assert_eq!(link.mode, 0o755, "a hard link takes its target's mode");
        assert_eq!(link.target.as_deref(), Some("/usr/bin/fping"));
        assert_eq!(case.files[2].mode, 0o4750);
        assert_eq!(case.files[2].group, "netdev");
        assert_eq!(case.files[3].mode, 0o777);
        assert_eq!(case.files[4].kind, CaseKind::Dir);
        assert_eq!(
            case.scripts.keys().collect::<Vec<_>>(),
            ["postinst", "templates"]
        );
        assert_eq!(case.expect[0].states.len(), 2);
    }

    #[test]
    fn refuses_what_the_format_does_not_allow() {
        let bad = [
            ("description = \"x\"\n[scripts]\npostisnt = \"\"\n", "postisnt"),
            ("description = \"x\"\n[[file]]\npath = \"/a\"\nmode = \"9\"\n", "mode"),
            ("description = \"x\"\n[[file]]\npath = \"a\"\n", "absolute"),
            ("description = \"x\"\n[[file]]\npath = \"/a\"\nkind = \"fifo\"\n", "kind"),
            ("description = \"x\"\n[[file]]\npath = \"/a\"\nkind = \"symlink\"\n", "target"),
            (
                "description = \"x\"\n[[file]]\npath = \"/a\"\nkind = \"hard-link\"\ntarget = \"/b\"\n",
                "hard link target",
            ),
            ("description = \"x\"\n[[file]]\npath = \"/a\"\ncaps = \"cap_bogus=ep\"\n", "caps"),
            ("description = \"x\"\n[[file]]\npath = \"/a\"\nmodes = \"0755\"\n", "modes"),
            ("[[file]]\npath = \"/a\"\n", "description"),
        ];
        for (text, needle) in bad {
            let err = parse_state_case("bad", text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
            assert!(err.starts_with("bad.toml"), "{err}");
        }
    }

    #[test]
    fn package_name_is_sanitised() {
        let mut case = parse_state_case("x", "description = \"\"\n").unwrap();
        case.name = "Setcap_Loop two".into();
        assert_eq!(case_package_name(&case), "case-setcap-loop-two");
    }

    #[test]
    fn ids_are_static_for_base_names_and_stable_otherwise() {
        assert_eq!(user_id("root"), 0);
        assert_eq!(group_id("adm"), 4);
        assert_eq!(group_id("nogroup"), 65534);
        let id = group_id("netdev");
        assert!((10_000..60_000).contains(&id));
        assert_eq!(id, group_id("netdev"));
        assert_ne!(user_id("_x"), user_id("_y"));
    }

    #[test]
    fn spec_carries_owners_caps_links_and_implied_dirs() {
        let case = parse_state_case("fping", FPING).unwrap();
        let spec = state_case_spec(&case).unwrap();
        assert!(spec
            .control
            .starts_with("Package: case-fping\nVersion: 1.0\n"));
        assert!(spec.control.contains("\nArchitecture: all\n"));
        assert!(spec.control.contains("\nMaintainer: "));
        assert_eq!(spec.scripts.len(), 1, "templates is not a script");
        let files = normalize_files(&spec.files);
        let by_path = |p: &str| files.iter().find(|f| f.path == p).unwrap();
        assert_eq!(by_path("/usr/lib/x").kind, EntryKind::Dir);
        assert_eq!(by_path("/usr/lib/x").mode, 0o755);
        let helper = by_path("/usr/lib/x/helper");
        assert_eq!(helper.content, CASE_FILE_CONTENT.as_bytes());
        assert_eq!(helper.gid, u64::from(group_id("netdev")));
        assert_eq!((helper.owner.as_str(), helper.uid), ("root", 0));
        let (key, value) = &helper.xattrs[0];
        assert_eq!(key, CAPABILITY_XATTR);
        let caps = FileCaps::decode(value).unwrap();
        assert_eq!(caps.revision, 2);
        assert!(caps.effective);
        assert_eq!(caps.to_set().to_text(), "cap_net_raw=ep");
        let link = by_path("/usr/bin/fping6");
        assert_eq!(link.kind, EntryKind::HardLink);
        assert_eq!(link.link_target.as_deref(), Some("/usr/bin/fping"));
        let dir = by_path("/var/lib/x");
        assert_eq!((dir.mode, dir.owner.as_str()), (0o2770, "_x"));
    }

    #[test]
    fn hard_links_follow_their_targets() {
        let files = vec![
            FileSpec::file("/usr/bin/b", 0o755, "x"),
            FileSpec::hardlink("/usr/bin/a", "/usr/bin/b", 0o755),
            FileSpec::hardlink("/usr/bin/a2", "/usr/bin/b", 0o755),
        ];
        let paths: Vec<String> = unpack_order(&files).into_iter().map(|f| f.path).collect();
        assert_eq!(
            paths,
            [
                "/",
                "/usr",
                "/usr/bin",
                "/usr/bin/b",
                "/usr/bin/a",
                "/usr/bin/a2"
            ]
        );
    }

    #[test]
    fn deb_is_deterministic_and_holds_templates() {
        let case = parse_state_case("fping", FPING).unwrap();
        let a = state_case_deb(&case).unwrap();
        let b = state_case_deb(&case).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with(b"!<arch>\n"));
        // The control.tar is xz; check the member order at least.
        let names: Vec<String> = {
            let mut ar = ar::Archive::new(a.as_slice());
            let mut v = Vec::new();
            while let Some(e) = ar.next_entry() {
                v.push(String::from_utf8_lossy(e.unwrap().header().identifier()).into_owned());
            }
            v
        };
        assert_eq!(names, ["debian-binary", "control.tar.xz", "data.tar.xz"]);
    }
}
