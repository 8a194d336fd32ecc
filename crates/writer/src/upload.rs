//! Fixture uploads: `testdata/uploads/uploads.toml` declares upload cases, each built into
//! `testdata/uploads/CASE/` as a `.changes` plus the files it lists (packages from a fixture
//! release, and a `.buildinfo`), deterministically. A case may then break the upload in one
//! declared way, so that each upload check has a failing fixture.

use crate::release::{control_field as field, deb_file_name};
use crate::{deb_bytes, load_package, WriterError};
use md5::Md5;
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The directory under `testdata/` that holds the upload cases and `uploads.toml`.
pub const UPLOADS_DIR: &str = "uploads";

/// The fixed `Date` of every generated `.changes`, so that the output never depends on when it
/// was built.
const DATE: &str = "Thu, 01 Oct 2020 12:00:00 +0000";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadsFile {
    upload: Vec<UploadCase>,
}

/// One case of `uploads.toml` (its header documents the keys).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UploadCase {
    pub case: String,
    #[serde(default)]
    pub why: String,
    pub release: String,
    pub packages: Vec<String>,
    pub distribution: String,
    #[serde(default)]
    pub set_field: BTreeMap<String, String>,
    #[serde(default)]
    pub wrong_digest: Option<String>,
    #[serde(default)]
    pub wrong_size: bool,
    #[serde(default)]
    pub omit_from: Option<String>,
    #[serde(default)]
    pub extra_file: Option<String>,
    #[serde(default)]
    pub raw: Option<String>,
    /// What `debgate check` must say about the case; read by the CLI's tests, not here.
    #[serde(default)]
    pub expect_fail: Vec<String>,
    #[serde(default)]
    pub expect_exit: Option<i32>,
    #[serde(default)]
    pub expect_error: Option<String>,
}

/// Load `testdata/uploads/uploads.toml`.
pub fn upload_cases(testdata: &Path) -> Result<Vec<UploadCase>, WriterError> {
    let path = testdata.join(UPLOADS_DIR).join("uploads.toml");
    let text = fs::read_to_string(&path).map_err(|e| WriterError::io(&path, e))?;
    let file: UploadsFile = toml::from_str(&text).map_err(|e| WriterError::Meta {
        path: path.clone(),
        source: Box::new(e),
    })?;
    Ok(file.upload)
}

struct Listed {
    name: String,
    bytes: Vec<u8>,
    section: String,
    priority: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Build one case: `(file name, bytes)` of every file in `testdata/uploads/CASE/`, the
/// `.changes` last.
pub fn build_upload(testdata: &Path, case: &UploadCase) -> Result<CaseFiles, WriterError> {
    let src = testdata
        .join(crate::RELEASES_DIR)
        .join(&case.release)
        .join("src");
    let mut listed = Vec::new();
    let mut controls = Vec::new();
    for name in &case.packages {
        let tree = src.join(name);
        let (spec, build) = load_package(&tree)?;
        let file = deb_file_name(&spec.control)
            .map_err(|m| WriterError::tree(tree.join("DEBIAN/control"), m))?;
        let section = field(&spec.control, "Section")
            .unwrap_or("misc")
            .to_string();
        let priority = field(&spec.control, "Priority")
            .unwrap_or("optional")
            .to_string();
        listed.push(Listed {
            name: file,
            bytes: deb_bytes(&spec, build.control, build.data)?,
            section,
            priority,
        });
        controls.push(spec.control);
    }
    let Some(first) = controls.first() else {
        return Err(WriterError::tree(
            testdata.join(UPLOADS_DIR),
            format!("upload case {} lists no package", case.case),
        ));
    };
    let get = |name: &str| field(first, name).unwrap_or("").to_string();
    let version = get("Version");
    let (source, source_version) = match field(first, "Source") {
        Some(s) => match s.split_once('(') {
            Some((n, v)) => (n.trim().to_string(), Some(v.trim_end_matches(')').trim())),
            None => (s.to_string(), None),
        },
        None => (get("Package"), None),
    };
    let no_epoch = |v: &str| {
        v.split_once(':')
            .map_or(v.to_string(), |(_, v)| v.to_string())
    };
    let arch = get("Architecture");
    let stem = format!(
        "{source}_{}_{arch}",
        no_epoch(source_version.unwrap_or(&version))
    );
    let buildinfo = format!(
        "Format: 1.0\nSource: {source}\nBinary: {}\nArchitecture: {arch}\nVersion: {version}\nBuild-Origin: debgate fixtures\nBuild-Architecture: {arch}\nBuild-Date: {DATE}\n",
        case.packages.join(" ")
    );
    listed.push(Listed {
        name: format!("{stem}.buildinfo"),
        bytes: buildinfo.into_bytes(),
        section: get("Section"),
        priority: get("Priority"),
    });

    let binaries: Vec<String> = controls
        .iter()
        .filter_map(|c| field(c, "Package").map(str::to_string))
        .collect();
    let mut fields: Vec<(String, String)> = vec![
        ("Format".into(), "1.8".into()),
        ("Date".into(), DATE.into()),
        (
            "Source".into(),
            match source_version {
                Some(v) => format!("{source} ({v})"),
                None => source.clone(),
            },
        ),
        ("Binary".into(), binaries.join(" ")),
        ("Architecture".into(), arch.clone()),
        ("Version".into(), version.clone()),
        ("Distribution".into(), case.distribution.clone()),
        ("Urgency".into(), "medium".into()),
        ("Maintainer".into(), get("Maintainer")),
        (
            "Changes".into(),
            format!(
                "\n {source} ({version}) {}; urgency=medium\n .\n   * Fixture upload `{}` for debgate's tests.",
                case.distribution, case.case
            ),
        ),
    ];
    for (k, v) in &case.set_field {
        match fields.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(k)) {
            Some(f) => f.1 = v.clone(),
            None => fields.push((k.clone(), v.clone())),
        }
    }

    // The lists, as dpkg-genchanges writes them, then the declared breakage.
    let mut sha1 = Vec::new();
    let mut sha256 = Vec::new();
    let mut files = Vec::new();
    for (i, l) in listed.iter().enumerate() {
        let size = l.bytes.len() as u64 + u64::from(case.wrong_size && i == 0);
        let mut d1 = hex(&Sha1::digest(&l.bytes));
        let mut d256 = hex(&Sha256::digest(&l.bytes));
        let mut dmd5 = hex(&Md5::digest(&l.bytes));
        if i == 0 {
            match case.wrong_digest.as_deref() {
                Some("Checksums-Sha1") => d1 = flip(&d1),
                Some("Checksums-Sha256") => d256 = flip(&d256),
                Some("Files") => dmd5 = flip(&dmd5),
                Some(other) => {
                    return Err(WriterError::tree(
                        testdata.join(UPLOADS_DIR),
                        format!("{}: wrong-digest `{other}` is not a list", case.case),
                    ))
                }
                None => {}
            }
        }
        let omit = |list: &str| i == 0 && case.omit_from.as_deref() == Some(list);
        if !omit("Checksums-Sha1") {
            sha1.push(format!(" {d1} {size} {}", l.name));
        }
        if !omit("Checksums-Sha256") {
            sha256.push(format!(" {d256} {size} {}", l.name));
        }
        if !omit("Files") {
            files.push(format!(
                " {dmd5} {size} {} {} {}",
                l.section, l.priority, l.name
            ));
        }
    }
    if let Some(extra) = &case.extra_file {
        // Listed with the sums of an empty file; never written.
        sha1.push(format!(" {} 0 {extra}", hex(&Sha1::digest(b""))));
        sha256.push(format!(" {} 0 {extra}", hex(&Sha256::digest(b""))));
        files.push(format!(
            " {} 0 misc optional {extra}",
            hex(&Md5::digest(b""))
        ));
    }
    fields.push(("Checksums-Sha1".into(), format!("\n{}", sha1.join("\n"))));
    fields.push((
        "Checksums-Sha256".into(),
        format!("\n{}", sha256.join("\n")),
    ));
    fields.push(("Files".into(), format!("\n{}", files.join("\n"))));

    let changes = match &case.raw {
        Some(raw) => raw.clone(),
        None => fields
            .iter()
            .map(|(k, v)| {
                // A multi-line field starts on the line after its name.
                if v.starts_with('\n') {
                    format!("{k}:{v}\n")
                } else {
                    format!("{k}: {v}\n")
                }
            })
            .collect::<String>(),
    };
    let mut out: Vec<(String, Vec<u8>)> = listed.into_iter().map(|l| (l.name, l.bytes)).collect();
    // dpkg-genchanges names a binary upload SOURCE_VERSION_ARCH.changes.
    out.push((format!("{stem}.changes"), changes.into_bytes()));
    Ok(out)
}

/// A digest with its first hex digit changed: well-formed, and wrong.
fn flip(d: &str) -> String {
    let mut s = d.to_string();
    let first = if s.starts_with('0') { "1" } else { "0" };
    s.replace_range(0..1, first);
    s
}

/// The files of one case directory: `(file name, bytes)`.
pub type CaseFiles = Vec<(String, Vec<u8>)>;

/// Build every case of `uploads.toml`: `(case directory, files)`.
pub fn build_uploads(testdata: &Path) -> Result<Vec<(PathBuf, CaseFiles)>, WriterError> {
    let base = testdata.join(UPLOADS_DIR);
    upload_cases(testdata)?
        .iter()
        .map(|c| Ok((base.join(&c.case), build_upload(testdata, c)?)))
        .collect()
}

/// Write every case under `testdata/uploads/`, rewriting only changed files and deleting files
/// in a case directory that the case no longer builds. Returns the paths written or kept.
pub fn write_uploads(testdata: &Path) -> Result<Vec<PathBuf>, WriterError> {
    let mut written = Vec::new();
    for (dir, files) in build_uploads(testdata)? {
        fs::create_dir_all(&dir).map_err(|e| WriterError::io(&dir, e))?;
        for entry in fs::read_dir(&dir).map_err(|e| WriterError::io(&dir, e))? {
            let path = entry.map_err(|e| WriterError::io(&dir, e))?.path();
            let built = files
                .iter()
                .any(|(n, _)| path.file_name().is_some_and(|f| f == n.as_str()));
            if !built {
                fs::remove_file(&path).map_err(|e| WriterError::io(&path, e))?;
            }
        }
        for (name, bytes) in files {
            let path = dir.join(&name);
            if fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                fs::write(&path, &bytes).map_err(|e| WriterError::io(&path, e))?;
            }
            written.push(path);
        }
    }
    Ok(written)
}
