//! Parsing a `.changes` file (Debian Policy §5.5): the OpenPGP clearsign armour, the deb822
//! paragraph (with `debcontrol`), and the three file lists.

use debgate_signature::armour::{self, Framing};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The largest `.changes` we read. Real ones are a few KiB to a few hundred (a long changelog
/// in `Changes`); anything near this is not an upload but an attempt to make us allocate.
pub const MAX_CHANGES_BYTES: u64 = 8 * 1024 * 1024;

// What verifies must parse, and a file too large to verify is too large to parse: the signature
// check reads at most its own cap, so the two must be one size.
const _: () = assert!(MAX_CHANGES_BYTES == debgate_signature::MAX_SIGNED_BYTES);

/// Why a `.changes` could not be parsed. Such an upload cannot be checked at all (exit 2),
/// unlike a parsed one whose files disagree with it (findings, exit 1).
#[derive(Debug, Error)]
pub enum ChangesError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: larger than {limit} bytes; not a .changes file")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path}: not valid UTF-8 (line {line})")]
    NotUtf8 { path: PathBuf, line: usize },
    #[error("{path}: OpenPGP armour: {detail}")]
    Armor { path: PathBuf, detail: String },
    #[error("{path}: {detail}")]
    Syntax { path: PathBuf, detail: String },
    #[error("{path}: required field `{field}` is missing")]
    MissingField { path: PathBuf, field: &'static str },
    #[error("{path}: field `{field}`: {detail}")]
    BadField {
        path: PathBuf,
        field: &'static str,
        detail: String,
    },
}

/// One line of `Files`: `md5 size section priority name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub name: String,
    pub size: u64,
    pub md5: String,
    pub section: String,
    pub priority: String,
}

/// One line of `Checksums-Sha1` or `Checksums-Sha256`: `digest size name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSum {
    pub name: String,
    pub size: u64,
    pub digest: String,
}

/// A parsed `.changes`.
#[derive(Debug, Clone)]
pub struct Changes {
    pub path: PathBuf,
    /// Whether the file was an OpenPGP clearsigned message (whose signature is checked only
    /// when a keyring is given).
    pub clearsigned: bool,
    /// Every field, in file order.
    pub fields: Vec<(String, String)>,
    /// The source package name (`Source: name` or `Source: name (version)`).
    pub source: String,
    /// The version in `Source`'s parentheses, given when it differs from `Version` (binNMUs).
    pub source_version: Option<String>,
    pub version: String,
    /// `Architecture`: the architectures uploaded, `source` and `all` included.
    pub architectures: Vec<String>,
    /// `Binary`: the binary packages uploaded (absent in a source-only upload).
    pub binaries: Vec<String>,
    pub files: Vec<ListedFile>,
    pub sha1: Vec<ListedSum>,
    pub sha256: Vec<ListedSum>,
}

impl Changes {
    /// Read and parse `path`, stripping a clearsign armour if there is one. The signature itself
    /// is not checked here (see [`crate::signature`]).
    pub fn read(path: &Path) -> Result<Changes, ChangesError> {
        let bytes = read_capped(path)?;
        Changes::parse(path, &bytes)
    }

    /// Parse the bytes of a `.changes` named `path`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Changes, ChangesError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ChangesError::NotUtf8 {
            path: path.to_path_buf(),
            line: line_of(bytes, e.valid_up_to()),
        })?;
        let framing = armour::frame(bytes).map_err(|detail| ChangesError::Armor {
            path: path.to_path_buf(),
            detail,
        })?;
        match framing {
            Framing::Plain => parse_body(path, text),
            Framing::Clearsigned { text } => {
                // Removing the ASCII "- " of dash-escaping keeps valid UTF-8 valid.
                let mut changes = parse_body(path, &String::from_utf8_lossy(&text))?;
                changes.clearsigned = true;
                Ok(changes)
            }
        }
    }

    /// A field's value, by case-insensitive name (deb822 field names are).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The directory the listed files are in: the one holding the `.changes`.
    pub fn dir(&self) -> &Path {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }
}

fn read_capped(path: &Path) -> Result<Vec<u8>, ChangesError> {
    let io = |source| ChangesError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_CHANGES_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_CHANGES_BYTES {
        return Err(ChangesError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_CHANGES_BYTES,
        });
    }
    Ok(bytes)
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parse the deb822 body of a `.changes`.
pub fn parse_body(path: &Path, body: &str) -> Result<Changes, ChangesError> {
    let syntax = |detail: String| ChangesError::Syntax {
        path: path.to_path_buf(),
        detail,
    };
    let paragraphs = debcontrol::parse_str(body).map_err(|e| {
        let shown = e.to_string();
        let first: String = shown
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(100)
            .collect();
        syntax(format!("syntax error: {}", first.escape_debug()))
    })?;
    let mut paragraphs = paragraphs.into_iter();
    let Some(paragraph) = paragraphs.next() else {
        return Err(syntax("no fields".to_string()));
    };
    if paragraphs.next().is_some() {
        return Err(syntax("more than one paragraph".to_string()));
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for f in paragraph.fields {
        if fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(f.name)) {
            return Err(syntax(format!("field `{}` appears twice", f.name)));
        }
        fields.push((f.name.to_string(), f.value));
    }
    let get = |name: &'static str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    };
    let require = |name: &'static str| {
        get(name).ok_or(ChangesError::MissingField {
            path: path.to_path_buf(),
            field: name,
        })
    };
    let bad = |field: &'static str, detail: String| ChangesError::BadField {
        path: path.to_path_buf(),
        field,
        detail,
    };

    let source_field = require("Source")?;
    let (source, source_version) = split_source(&source_field).ok_or_else(|| {
        bad(
            "Source",
            format!("`{source_field}` is not `name [(version)]`"),
        )
    })?;
    let version = require("Version")?;
    if version.split_whitespace().count() != 1 {
        return Err(bad("Version", format!("`{version}` is not one version")));
    }
    let architectures: Vec<String> = require("Architecture")?
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let binaries: Vec<String> = get("Binary")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();

    let files = list_lines(&require("Files")?)
        .map(|(n, l)| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            let [md5, size, section, priority, name] = parts[..] else {
                return Err(bad(
                    "Files",
                    format!("line {n}: `{l}` is not `md5 size section priority name`"),
                ));
            };
            Ok(ListedFile {
                name: name.to_string(),
                size: parse_size(size).map_err(|d| bad("Files", format!("line {n}: {d}")))?,
                md5: parse_digest(md5, 32).map_err(|d| bad("Files", format!("line {n}: {d}")))?,
                section: section.to_string(),
                priority: priority.to_string(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sums = |field: &'static str, hex_len: usize| -> Result<Vec<ListedSum>, ChangesError> {
        list_lines(&require(field)?)
            .map(|(n, l)| {
                let parts: Vec<&str> = l.split_whitespace().collect();
                let [digest, size, name] = parts[..] else {
                    return Err(bad(
                        field,
                        format!("line {n}: `{l}` is not `digest size name`"),
                    ));
                };
                Ok(ListedSum {
                    name: name.to_string(),
                    size: parse_size(size).map_err(|d| bad(field, format!("line {n}: {d}")))?,
                    digest: parse_digest(digest, hex_len)
                        .map_err(|d| bad(field, format!("line {n}: {d}")))?,
                })
            })
            .collect()
    };
    let sha1 = sums("Checksums-Sha1", 40)?;
    let sha256 = sums("Checksums-Sha256", 64)?;
    if files.is_empty() {
        return Err(bad("Files", "lists no file".to_string()));
    }
    Ok(Changes {
        path: path.to_path_buf(),
        clearsigned: false,
        fields,
        source,
        source_version,
        version,
        architectures,
        binaries,
        files,
        sha1,
        sha256,
    })
}

/// The non-blank lines of a multi-line field, numbered from 1 (the line after the field name).
fn list_lines(value: &str) -> impl Iterator<Item = (usize, &str)> {
    value
        .lines()
        .enumerate()
        .map(|(i, l)| (i, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

/// `name` or `name (version)`.
pub fn split_source(s: &str) -> Option<(String, Option<String>)> {
    let s = s.trim();
    match s.split_once('(') {
        None if !s.is_empty() && !s.contains(char::is_whitespace) => Some((s.to_string(), None)),
        None => None,
        Some((name, rest)) => {
            let name = name.trim();
            let version = rest.strip_suffix(')')?.trim();
            if name.is_empty() || name.contains(char::is_whitespace) || version.is_empty() {
                return None;
            }
            Some((name.to_string(), Some(version.to_string())))
        }
    }
}

fn parse_size(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("size `{s}` is not a number"));
    }
    s.parse().map_err(|_| format!("size `{s}` is too large"))
}

fn parse_digest(s: &str, hex_len: usize) -> Result<String, String> {
    if s.len() != hex_len || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("`{s}` is not {hex_len} hexadecimal digits"));
    }
    Ok(s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Format: 1.8\nSource: hello (2.10-3)\nBinary: hello\nArchitecture: amd64\nVersion: 2.10-3+b1\nFiles:\n d41d8cd98f00b204e9800998ecf8427e 0 devel optional hello_2.10-3+b1_amd64.deb\nChecksums-Sha1:\n da39a3ee5e6b4b0d3255bfef95601890afd80709 0 hello_2.10-3+b1_amd64.deb\nChecksums-Sha256:\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 hello_2.10-3+b1_amd64.deb\n";

    #[test]
    fn parses_a_binnmu() {
        let c = Changes::parse(Path::new("x.changes"), BODY.as_bytes()).unwrap();
        assert_eq!(c.source, "hello");
        assert_eq!(c.source_version.as_deref(), Some("2.10-3"));
        assert_eq!(c.version, "2.10-3+b1");
        assert_eq!(c.files[0].section, "devel");
        assert_eq!(c.sha256[0].size, 0);
        assert!(!c.clearsigned);
    }

    #[test]
    fn a_clearsigned_body_is_parsed_without_its_armour() {
        let signed = format!(
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{BODY}-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
        );
        let c = Changes::parse(Path::new("x.changes"), signed.as_bytes()).unwrap();
        assert!(c.clearsigned);
        assert_eq!(c.version, "2.10-3+b1");
        let after = format!("{signed}Version: 9\n");
        let e = Changes::parse(Path::new("x.changes"), after.as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("after -----END PGP SIGNATURE-----"),
            "{e}"
        );
    }

    #[test]
    fn malformed_fields_are_errors() {
        let cases = [
            (
                BODY.replace("Version: 2.10-3+b1\n", ""),
                "`Version` is missing",
            ),
            (
                BODY.replace("da39a3ee5e6b4b0d3255bfef95601890afd80709", "zz"),
                "hexadecimal",
            ),
            (BODY.replace(" 0 devel", " -1 devel"), "not a number"),
            (BODY.replace("devel optional ", ""), "md5 size section"),
            (format!("{BODY}Binary: again\n"), "appears twice"),
            (format!("{BODY}\nSource: two\n"), "more than one paragraph"),
        ];
        for (text, want) in cases {
            let e = Changes::parse(Path::new("x.changes"), text.as_bytes()).unwrap_err();
            assert!(e.to_string().contains(want), "{e} lacks {want}");
            assert!(e.to_string().starts_with("x.changes: "), "{e}");
        }
        let e = Changes::parse(Path::new("x.changes"), b"Source: a\xff\n").unwrap_err();
        assert!(matches!(e, ChangesError::NotUtf8 { line: 1, .. }), "{e}");
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.changes");
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(MAX_CHANGES_BYTES + 1).unwrap();
        assert!(matches!(
            Changes::read(&p),
            Err(ChangesError::TooLarge { .. })
        ));
    }
}
