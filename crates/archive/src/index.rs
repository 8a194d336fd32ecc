//! A `Packages` index read as a stream, paragraph by paragraph: each binary package's name,
//! version, architecture, and the `Filename`, `Size` and `SHA256` its bytes are checked
//! against. The index itself is held compressed (what `Release` hashes) and expanded as it is
//! read, so the 45 MB of a Debian suite's text are never held at once.

use debgate_facts::unhex;
use std::io::{BufRead, BufReader, Read};
use thiserror::Error;

/// The longest paragraph taken: real ones are a few KiB (long descriptions, many depends).
pub const MAX_PARAGRAPH_BYTES: usize = 1024 * 1024;

/// One package an index lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub package: String,
    pub version: String,
    pub architecture: String,
    /// Relative to the repository root, as written (`pool/main/u/x/x_1_amd64.deb`).
    pub filename: String,
    pub size: u64,
    pub sha256: [u8; 32],
    /// Line of the paragraph's first field, for messages.
    pub line: usize,
}

/// Why an index, or one of its paragraphs, cannot be used.
#[derive(Debug, Error)]
pub enum IndexError {
    #[error("{index}: {source}")]
    Read {
        index: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{index} line {line}: a paragraph longer than {MAX_PARAGRAPH_BYTES} bytes")]
    TooLong { index: String, line: usize },
    #[error("{index} line {line}: package {package}: {problem}")]
    Paragraph {
        index: String,
        line: usize,
        package: String,
        problem: String,
    },
}

/// The index's paragraphs as they are read; an item is one package, or the error that makes
/// that paragraph unusable (the others are still read). Reading stops at the first I/O error.
pub struct Entries<R: BufRead> {
    input: R,
    index: String,
    line: usize,
    done: bool,
}

/// Read the index `name` (its suffix says the compression: `.xz`, `.gz` or none) from `bytes`.
pub fn entries<'a>(name: &str, bytes: &'a [u8]) -> Entries<Box<dyn BufRead + 'a>> {
    let input: Box<dyn Read + 'a> = if name.ends_with(".xz") {
        Box::new(liblzma::read::XzDecoder::new(bytes))
    } else if name.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    Entries {
        input: Box::new(BufReader::with_capacity(64 * 1024, input)),
        index: name.to_string(),
        line: 0,
        done: false,
    }
}

/// A paragraph's fields in order, with the line it starts on.
type Paragraph = (usize, Vec<(String, String)>);

impl<R: BufRead> Entries<R> {
    /// The next paragraph; `None` at the end.
    fn paragraph(&mut self) -> Option<Result<Paragraph, IndexError>> {
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut start = 0;
        let mut bytes = 0usize;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = match (&mut self.input)
                .take(MAX_PARAGRAPH_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
            {
                Ok(n) => n,
                Err(source) => {
                    self.done = true;
                    return Some(Err(IndexError::Read {
                        index: self.index.clone(),
                        source,
                    }));
                }
            };
            if n == 0 {
                self.done = true;
                return (!fields.is_empty()).then_some(Ok((start, fields)));
            }
            self.line += 1;
            bytes += n;
            if bytes > MAX_PARAGRAPH_BYTES {
                self.done = true;
                return Some(Err(IndexError::TooLong {
                    index: self.index.clone(),
                    line: self.line,
                }));
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                if fields.is_empty() {
                    bytes = 0;
                    continue;
                }
                return Some(Ok((start, fields)));
            }
            if text.starts_with([' ', '\t']) {
                // A continuation line (Description): none of the fields read here has one.
                continue;
            }
            if fields.is_empty() {
                start = self.line;
            }
            match text.split_once(':') {
                Some((k, v)) => fields.push((k.trim().to_string(), v.trim().to_string())),
                None => fields.push((String::new(), text.to_string())),
            }
        }
    }
}

impl<R: BufRead> Iterator for Entries<R> {
    type Item = Result<IndexEntry, IndexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let (line, fields) = match self.paragraph()? {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let package = get("Package").unwrap_or("").to_string();
        let problem = |problem: String| {
            Some(Err(IndexError::Paragraph {
                index: self.index.clone(),
                line,
                package: if package.is_empty() {
                    "(no Package field)".to_string()
                } else {
                    package.clone()
                },
                problem,
            }))
        };
        if fields.iter().any(|(k, _)| k.is_empty()) {
            return problem("a line that is not `Field: value`".to_string());
        }
        let mut missing = Vec::new();
        for f in ["Package", "Version", "Filename", "Size", "SHA256"] {
            if get(f).is_none_or(str::is_empty) {
                missing.push(f);
            }
        }
        if !missing.is_empty() {
            return problem(format!("no {}", missing.join(", ")));
        }
        let Some(size) = get("Size").and_then(|s| s.parse().ok()) else {
            return problem("Size is not a number".to_string());
        };
        let Some(sha256) = get("SHA256").and_then(|h| unhex::<32>(h.as_bytes())) else {
            return problem("SHA256 is not 64 hex digits".to_string());
        };
        Some(Ok(IndexEntry {
            package,
            version: get("Version").unwrap_or("").to_string(),
            architecture: get("Architecture").unwrap_or("").to_string(),
            filename: get("Filename").unwrap_or("").to_string(),
            size,
            sha256,
            line,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "a3f0e3a8b3fd2a2d9a2ebbd2f0f55d1b7dbd1a7c1c0bb2a3e4ab5ddde0f3d0a1";

    fn all(text: &str) -> Vec<Result<IndexEntry, IndexError>> {
        entries("Packages", text.as_bytes()).collect()
    }

    #[test]
    fn reads_each_paragraph_and_keeps_going_past_a_bad_one() {
        let text = format!(
            "\n\nPackage: a\nVersion: 1\nArchitecture: amd64\nDescription: x\n long\n .\n more\n\
             Filename: pool/main/a/a_1_amd64.deb\nSize: 10\nSHA256: {SUM}\n\n\
             Package: b\nVersion: 2\nSize: ten\n\n\
             Package: c\nVersion: 3\nArchitecture: all\nFilename: pool/c.deb\nSize: 3\nSHA256: {SUM}\n"
        );
        let got = all(&text);
        assert_eq!(got.len(), 3);
        let a = got[0].as_ref().unwrap();
        assert_eq!((a.package.as_str(), a.size, a.line), ("a", 10, 3));
        assert_eq!(a.filename, "pool/main/a/a_1_amd64.deb");
        let e = got[1].as_ref().unwrap_err().to_string();
        assert!(e.contains("line 14: package b: no Filename, SHA256"), "{e}");
        assert_eq!(got[2].as_ref().unwrap().package, "c");
    }

    #[test]
    fn compressed_indexes_read_the_same() {
        use std::io::Write;
        let text = format!("Package: a\nVersion: 1\nFilename: f.deb\nSize: 1\nSHA256: {SUM}\n");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 1);
        xz.write_all(text.as_bytes()).unwrap();
        let xz = xz.finish().unwrap();
        for (name, bytes) in [("Packages.gz", &gz), ("Packages.xz", &xz)] {
            let got: Vec<_> = entries(name, bytes).collect();
            assert_eq!(got.len(), 1, "{name}");
            assert_eq!(got[0].as_ref().unwrap().package, "a");
        }
        // A corrupt stream is one read error, then the end.
        let got: Vec<_> = entries("Packages.xz", &gz).collect();
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Err(IndexError::Read { .. })));
    }

    #[test]
    fn a_huge_paragraph_stops_the_index() {
        let text = format!("Package: a\n{}", " x\n".repeat(MAX_PARAGRAPH_BYTES));
        let got = all(&text);
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Err(IndexError::TooLong { .. })));
    }
}
