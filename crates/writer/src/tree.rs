//! Loading a package from the plain-tree fixture format (see `testdata/README.md`).
//!
//! A tree is `DEBIAN/` (control, conffiles, maintainer scripts), `root/` (the files, as real
//! files and symlinks) and an optional `meta.toml` for what git cannot store: modes beyond
//! the exec bit, owners, capabilities and other xattrs, entries git cannot hold (empty
//! directories, hard links, FIFOs, devices), and the member compressions.
//!
//! Nothing is taken from the checkout's own metadata except the exec bit and symlink
//! targets, because owners, timestamps and the rest of the mode depend on who cloned the
//! repository and with which umask; the same tree must always give the same `.deb`.

use crate::{FileSpec, PackageSpec, WriterError};
use debgate_facts::caps::{CapSet, FileCaps};
use debgate_facts::{Compression, EntryKind, ScriptName, CAPABILITY_XATTR};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// How a tree's `.deb` is compressed (`[build]` in `meta.toml`); xz for both by default,
/// which is what Debian and Ubuntu before 21.10 use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    pub control: Compression,
    pub data: Compression,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            control: Compression::Xz,
            data: Compression::Xz,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Meta {
    #[serde(default)]
    build: BuildMeta,
    #[serde(default)]
    extra_member: Vec<ExtraMember>,
    #[serde(default)]
    files: BTreeMap<String, FileMeta>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct BuildMeta {
    control_compression: Option<String>,
    data_compression: Option<String>,
    /// Write the `md5sums` dh_md5sums would ([`crate::dh_md5sums`]), as real packages have.
    #[serde(default)]
    md5sums: bool,
}

/// One `[[extra-member]]`: a name and exactly one of `text` or `hex`.
///
/// The two value keys are plain optional fields rather than a flattened [`Bytes`]: serde
/// hands a flattened field the remaining keys as a map, which never matches the untagged
/// `Text(String)` variant, and `deny_unknown_fields` does not work together with `flatten`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ExtraMember {
    name: String,
    text: Option<String>,
    hex: Option<String>,
}

/// A byte string in `meta.toml`: plain text, or `{ hex = "..." }` for binary values.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Bytes {
    Text(String),
    Hex(HexBytes),
}

/// The `{ hex = "..." }` form of [`Bytes`]; a separate struct so a misspelt key next to
/// `hex` is an error instead of being ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HexBytes {
    hex: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileMeta {
    kind: Option<String>,
    /// Octal, as a string (`"0750"`), so a decimal `750` cannot slip through.
    mode: Option<String>,
    owner: Option<String>,
    group: Option<String>,
    uid: Option<u64>,
    gid: Option<u64>,
    target: Option<String>,
    caps: Option<String>,
    caps_revision: Option<u8>,
    #[serde(default)]
    xattrs: BTreeMap<String, Bytes>,
    /// The content of a `kind = "file"` that root/ cannot hold (one under a path that is a
    /// symlink in the package).
    content: Option<Bytes>,
    /// `\xNN` in this path and its `target` is the byte NN: a name that is not UTF-8.
    escaped: Option<bool>,
}

/// Load a package tree; see [`load_package`] for the compressions it also declares.
pub fn load_tree(dir: &Path) -> Result<PackageSpec, WriterError> {
    load_package(dir).map(|(spec, _)| spec)
}

/// Load a package tree together with its `[build]` options.
pub fn load_package(dir: &Path) -> Result<(PackageSpec, BuildOptions), WriterError> {
    let debian = dir.join("DEBIAN");
    let control = read_text(&debian.join("control"))?;
    let mut spec = PackageSpec {
        control,
        ..PackageSpec::default()
    };

    // Refuse unknown control files so a misspelt `DEBIAN/postisnt` fails loudly instead of
    // silently producing a package without its script.
    for name in sorted_names(&debian)? {
        let path = debian.join(&name);
        match name.as_str() {
            "control" => {}
            "conffiles" => {
                spec.conffiles = read_text(&path)?.lines().map(String::from).collect();
            }
            // Written as given: a wrong or malformed one, for tests of how it is read.
            "md5sums" => spec.md5sums = Some(read_text(&path)?),
            other => match ScriptName::from_member(other) {
                Some(script) => spec.scripts.push((script, read_text(&path)?)),
                None => {
                    return Err(WriterError::tree(
                        path,
                        "unknown file in DEBIAN/ (expected control, conffiles, md5sums or a \
                         maintainer script)",
                    ))
                }
            },
        }
    }
    spec.scripts.sort_by_key(|(name, _)| *name);

    let mut files: BTreeMap<String, FileSpec> = BTreeMap::new();
    let root = dir.join("root");
    if root.is_dir() {
        walk(&root, "", &mut files)?;
    }

    let meta_path = dir.join("meta.toml");
    let meta: Meta = if meta_path.exists() {
        toml::from_str(&read_text(&meta_path)?).map_err(|e| WriterError::Meta {
            path: meta_path.clone(),
            source: Box::new(e),
        })?
    } else {
        Meta::default()
    };

    let build = BuildOptions {
        control: match &meta.build.control_compression {
            Some(s) => parse_compression(s, &meta_path)?,
            None => BuildOptions::default().control,
        },
        data: match &meta.build.data_compression {
            Some(s) => parse_compression(s, &meta_path)?,
            None => BuildOptions::default().data,
        },
    };

    for m in &meta.extra_member {
        let value = match (&m.text, &m.hex) {
            (Some(text), None) => Bytes::Text(text.clone()),
            (None, Some(hex)) => Bytes::Hex(HexBytes { hex: hex.clone() }),
            _ => {
                return Err(WriterError::tree(
                    &meta_path,
                    format!(
                        "extra-member `{}` needs exactly one of `text` or `hex`",
                        m.name
                    ),
                ))
            }
        };
        let bytes = value.decode(&meta_path, &m.name)?;
        spec.extra_members.push((m.name.clone(), bytes));
    }

    for (path, fm) in &meta.files {
        let err = |msg: String| WriterError::tree(&meta_path, format!("files.\"{path}\": {msg}"));
        if !path.starts_with('/')
            || (path.len() > 1 && path.ends_with('/'))
            || path.split('/').any(|c| c == "." || c == "..")
        {
            return Err(err(
                "paths must be absolute, without a trailing `/`, `.` or `..`".into(),
            ));
        }
        let kind = fm
            .kind
            .as_deref()
            .map(parse_kind)
            .transpose()
            .map_err(err)?;
        let entry = match (files.get_mut(path), kind) {
            (Some(_), _) if fm.content.is_some() => {
                return Err(err(
                    "`content` is for a file root/ cannot hold; this one is under root/".into(),
                ))
            }
            (None, Some(EntryKind::File)) if fm.content.is_some() => {
                let content = fm
                    .content
                    .as_ref()
                    .map_or(Ok(Vec::new()), |c| c.decode(&meta_path, path))?;
                files
                    .entry(path.clone())
                    .or_insert(FileSpec::file(path, 0o644, content))
            }
            (Some(existing), Some(k)) if existing.kind != k => {
                return Err(err(format!(
                    "declared kind {} but root/ holds a {}",
                    k.as_str(),
                    existing.kind.as_str()
                )))
            }
            (Some(existing), _) => existing,
            (None, None) | (None, Some(EntryKind::File)) => {
                return Err(err(
                    "not found under root/; only dir, symlink, hardlink, fifo and device \
                     entries, and files with `content`, can be declared without a file"
                        .into(),
                ))
            }
            (None, Some(k)) => {
                let default_mode = match k {
                    EntryKind::Dir => 0o755,
                    EntryKind::Symlink => 0o777,
                    EntryKind::CharDevice | EntryKind::BlockDevice => 0o660,
                    _ => 0o644,
                };
                files.entry(path.clone()).or_insert(FileSpec {
                    kind: k,
                    ..FileSpec::file(path, default_mode, Vec::new())
                })
            }
        };
        apply_meta(entry, fm, &meta_path)?;
    }

    // Links must name their target; hard links default to their target's mode and owner
    // because they share its inode.
    let snapshot = files.clone();
    for f in files.values_mut() {
        match f.kind {
            EntryKind::Symlink | EntryKind::HardLink if f.link_target.is_none() => {
                return Err(WriterError::tree(
                    &meta_path,
                    format!("files.\"{}\": a {} needs `target`", f.path, f.kind.as_str()),
                ))
            }
            EntryKind::HardLink => {
                let Some(t) = f.link_target.as_deref().and_then(|t| snapshot.get(t)) else {
                    continue;
                };
                let m = meta.files.get(&f.path);
                if m.is_none_or(|m| m.mode.is_none()) {
                    f.mode = t.mode;
                }
                if m.is_none_or(|m| m.owner.is_none() && m.uid.is_none()) {
                    (f.owner, f.uid) = (t.owner.clone(), t.uid);
                }
                if m.is_none_or(|m| m.group.is_none() && m.gid.is_none()) {
                    (f.group, f.gid) = (t.group.clone(), t.gid);
                }
            }
            _ => {}
        }
    }

    spec.files = files.into_values().collect();
    if meta.build.md5sums {
        if spec.md5sums.is_some() {
            return Err(WriterError::tree(
                &meta_path,
                "[build] md5sums = true and a DEBIAN/md5sums: give one or the other",
            ));
        }
        spec.md5sums = Some(crate::dh_md5sums(&spec));
    }
    Ok((spec, build))
}

impl Bytes {
    fn decode(&self, meta_path: &Path, what: &str) -> Result<Vec<u8>, WriterError> {
        match self {
            Bytes::Text(s) => Ok(s.as_bytes().to_vec()),
            Bytes::Hex(HexBytes { hex }) => decode_hex(hex).ok_or_else(|| {
                WriterError::tree(meta_path, format!("{what}: `{hex}` is not even-length hex"))
            }),
        }
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn apply_meta(f: &mut FileSpec, m: &FileMeta, meta_path: &Path) -> Result<(), WriterError> {
    let err = |msg: String| WriterError::tree(meta_path, format!("files.\"{}\": {msg}", f.path));
    if m.content.is_some() && f.kind != EntryKind::File {
        return Err(err(format!("a {} has no content", f.kind.as_str())));
    }
    if let Some(mode) = &m.mode {
        f.mode = u32::from_str_radix(mode, 8)
            .ok()
            .filter(|&v| v <= 0o7777)
            .ok_or_else(|| err(format!("mode `{mode}` is not an octal mode up to 7777")))?;
    }
    if let Some(escaped) = m.escaped {
        f.escaped = escaped;
    }
    if let Some(target) = &m.target {
        if !matches!(f.kind, EntryKind::Symlink | EntryKind::HardLink) {
            return Err(err(format!("a {} has no target", f.kind.as_str())));
        }
        f.link_target = Some(target.clone());
    }
    match (&m.owner, m.uid) {
        (Some(name), Some(id)) => (f.owner, f.uid) = (name.clone(), id),
        (Some(name), None) => {
            f.uid = id_of(USERS, name)
                .ok_or_else(|| err(format!("unknown user `{name}`; give `uid` as well")))?;
            f.owner = name.clone();
        }
        (None, Some(id)) => (f.owner, f.uid) = (name_of(USERS, id), id),
        (None, None) => {}
    }
    match (&m.group, m.gid) {
        (Some(name), Some(id)) => (f.group, f.gid) = (name.clone(), id),
        (Some(name), None) => {
            f.gid = id_of(GROUPS, name)
                .ok_or_else(|| err(format!("unknown group `{name}`; give `gid` as well")))?;
            f.group = name.clone();
        }
        (None, Some(id)) => (f.group, f.gid) = (name_of(GROUPS, id), id),
        (None, None) => {}
    }

    let mut xattrs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (name, value) in &m.xattrs {
        xattrs.insert(name.clone(), value.decode(meta_path, name)?);
    }
    if let Some(text) = &m.caps {
        if xattrs.contains_key(CAPABILITY_XATTR) {
            return Err(err(format!(
                "both `caps` and a raw `{CAPABILITY_XATTR}` xattr"
            )));
        }
        let set = CapSet::from_text(text).map_err(|source| WriterError::Caps {
            path: meta_path.to_path_buf(),
            entry: f.path.clone(),
            source,
        })?;
        let revision = m.caps_revision.unwrap_or(2);
        if !(1..=3).contains(&revision) {
            return Err(err(format!("caps-revision {revision} is not 1, 2 or 3")));
        }
        // A file has one effective *flag*: setcap's `e` raises it for every capability.
        let caps = FileCaps {
            revision,
            effective: set.effective != 0,
            permitted: set.permitted,
            inheritable: set.inheritable,
            rootid: (revision == 3).then_some(0),
        };
        xattrs.insert(CAPABILITY_XATTR.to_string(), caps.encode());
    } else if m.caps_revision.is_some() {
        return Err(err("caps-revision without caps".into()));
    }
    if !xattrs.is_empty() {
        f.xattrs = xattrs.into_iter().collect();
    }
    Ok(())
}

/// Debian's static ids (base-passwd), enough for fixtures to name owners without ids.
pub(crate) const USERS: &[(&str, u64)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("games", 5),
    ("man", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("proxy", 13),
    ("www-data", 33),
    ("backup", 34),
    ("nobody", 65534),
];

pub(crate) const GROUPS: &[(&str, u64)] = &[
    ("root", 0),
    ("daemon", 1),
    ("bin", 2),
    ("sys", 3),
    ("adm", 4),
    ("tty", 5),
    ("disk", 6),
    ("lp", 7),
    ("mail", 8),
    ("news", 9),
    ("kmem", 15),
    ("dialout", 20),
    ("cdrom", 24),
    ("sudo", 27),
    ("audio", 29),
    ("www-data", 33),
    ("shadow", 42),
    ("utmp", 43),
    ("video", 44),
    ("staff", 50),
    ("games", 60),
    ("users", 100),
    ("nogroup", 65534),
];

pub(crate) fn id_of(table: &[(&str, u64)], name: &str) -> Option<u64> {
    table.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

fn name_of(table: &[(&str, u64)], id: u64) -> String {
    table
        .iter()
        .find(|(_, i)| *i == id)
        .map(|(n, _)| n.to_string())
        .unwrap_or_default()
}

fn parse_kind(s: &str) -> Result<EntryKind, String> {
    Ok(match s {
        "file" => EntryKind::File,
        "dir" => EntryKind::Dir,
        "symlink" => EntryKind::Symlink,
        "hardlink" | "hard-link" => EntryKind::HardLink,
        "fifo" => EntryKind::Fifo,
        "char-device" => EntryKind::CharDevice,
        "block-device" => EntryKind::BlockDevice,
        other => {
            return Err(format!(
                "kind `{other}` is not file, dir, symlink, hardlink, fifo, char-device or \
                 block-device"
            ))
        }
    })
}

fn parse_compression(s: &str, meta_path: &Path) -> Result<Compression, WriterError> {
    Ok(match s {
        "none" => Compression::None,
        "gz" | "gzip" => Compression::Gzip,
        "xz" => Compression::Xz,
        "zst" | "zstd" => Compression::Zstd,
        "bz2" | "bzip2" => Compression::Bzip2,
        "lzma" => Compression::Lzma,
        other => {
            return Err(WriterError::tree(
                meta_path,
                format!("compression `{other}` is not none, gz, xz, zst, bz2 or lzma"),
            ))
        }
    })
}

fn read_text(path: &Path) -> Result<String, WriterError> {
    fs::read_to_string(path).map_err(|e| WriterError::io(path, e))
}

/// Directory entries by name, sorted, so the walk order never depends on the filesystem.
fn sorted_names(dir: &Path) -> Result<Vec<String>, WriterError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| WriterError::io(dir, e))? {
        let entry = entry.map_err(|e| WriterError::io(dir, e))?;
        let name = entry.file_name().into_string().map_err(|n| {
            WriterError::tree(dir.join(&n), "file names in fixture trees must be UTF-8")
        })?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}

/// Walk `root/`, mapping `root/a/b` to `/a/b`.
fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, FileSpec>) -> Result<(), WriterError> {
    for name in sorted_names(dir)? {
        let disk: PathBuf = dir.join(&name);
        let path = format!("{prefix}/{name}");
        let md = fs::symlink_metadata(&disk).map_err(|e| WriterError::io(&disk, e))?;
        let ft = md.file_type();
        let spec = if ft.is_symlink() {
            let target = fs::read_link(&disk).map_err(|e| WriterError::io(&disk, e))?;
            let target = target.into_os_string().into_string().map_err(|_| {
                WriterError::tree(&disk, "symlink targets in fixture trees must be UTF-8")
            })?;
            FileSpec::symlink(&path, &target)
        } else if ft.is_dir() {
            walk(&disk, &path, out)?;
            FileSpec::dir(&path)
        } else if ft.is_file() {
            // Git keeps only the exec bit; everything else about the mode comes from
            // meta.toml.
            let mode = if md.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let content = fs::read(&disk).map_err(|e| WriterError::io(&disk, e))?;
            FileSpec::file(&path, mode, content)
        } else {
            return Err(WriterError::tree(
                &disk,
                "only files, directories and symlinks can live under root/; declare other \
                 kinds in meta.toml",
            ));
        };
        out.insert(path, spec);
    }
    Ok(())
}
