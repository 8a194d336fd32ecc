//! Which repository a user means: apt's one-line `deb [options] URI SUITE COMPONENT...`, a
//! `.list` file of such lines, or a deb822 `.sources` file (sources.list(5)), read into [`Source`].
//!
//! The text may come from a stranger, so nothing here panics and every refusal is a typed
//! [`SourceError`] whose message is one line: `path:line: problem` for a file, the problem alone
//! for a single line given on the command line. Values echoed in messages are quoted, with
//! control characters escaped, and cut short, so a hostile value cannot forge further lines.
//!
//! Only what the checks need is supported: `deb` entries over `file:`, `http:` and `https:`,
//! keyed by one keyring file. What apt also allows but this cannot honour (fingerprints, an
//! inline key, `arch+=`, flat repositories, other URL schemes) is refused rather than half-done:
//! a trust option silently dropped would verify against the wrong keys.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A `.list` or `.sources` file bigger than this is refused: real ones are a few hundred bytes,
/// and the cap bounds what a wrong path (a disk image, `/dev/zero` behind a symlink) can cost.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Values echoed in error messages are cut to this many characters.
const SHOWN_CHARS: usize = 80;

/// One repository, suite and set of components: what one `deb` line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The repository root (the directory holding `dists/`).
    pub uri: Uri,
    /// `bookworm`, `bookworm-security`, ...; never empty, never a flat repository's `dir/`.
    pub suite: String,
    /// At least one.
    pub components: Vec<String>,
    /// From `arch=` (`Architectures:`); empty when not given.
    pub architectures: Vec<String>,
    /// From `signed-by=` (`Signed-By:`); `None` when not given.
    pub signed_by: Option<SignedBy>,
    /// `trusted=yes`: apt skips the signature check for this source.
    pub trusted: bool,
    /// `by-hash=yes|no|force` (`force` is `Some(true)`); `None` when not given.
    pub by_hash: Option<bool>,
    /// Options given but not acted on, by name as written (`lang`, `Check-Valid-Until`, an
    /// option apt does not know either): apt ignores unknown options, and so does this, but a
    /// caller may want to say so.
    pub ignored_options: Vec<String>,
}

/// Where a repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// `file:///abs/path` (or apt's `file:/abs/path`): the absolute path, without a trailing `/`
    /// (except for the root itself).
    File(PathBuf),
    /// An `http://` or `https://` URL as written, without trailing `/`.
    Http(String),
}

/// The key a source's `Release` must be signed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedBy {
    /// An absolute path to a keyring file (binary `.gpg` or armoured `.asc`).
    Keyring(PathBuf),
}

/// Where a problem is: the file (`None` for a single line given on the command line) and the
/// 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: Option<PathBuf>,
    pub line: usize,
}

impl fmt::Display for Location {
    /// `path:line: `, or nothing for a command-line line (it is one line; "line 1" says nothing).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(
                f,
                "{}:{}: ",
                escape_controls(&path.to_string_lossy()),
                self.line
            ),
            None => Ok(()),
        }
    }
}

/// Why a source was refused. Every message is one line beginning with its [`Location`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SourceError {
    #[error("{at}no source: the line is empty")]
    Empty { at: Location },
    #[error("{at}a source is one line: this text has several")]
    SeveralLines { at: Location },
    #[error("{at}control character in the text")]
    ControlCharacter { at: Location },
    #[error("{at}source type {kind} is not known: expected deb")]
    UnknownType { at: Location, kind: String },
    #[error("{at}deb-src: source packages are not checked")]
    DebSrc { at: Location },
    #[error("{at}the options' [ is not closed by ]")]
    UnclosedOptions { at: Location },
    #[error("{at}option {option} is not name=value")]
    MalformedOption { at: Location, option: String },
    #[error(
        "{at}option {option}: adding to or removing from apt's default (+=, -=) is not supported: give the whole list with ="
    )]
    ModifyOption { at: Location, option: String },
    #[error("{at}option {name} is given twice")]
    DuplicateOption { at: Location, name: String },
    #[error("{at}option {name} has no value")]
    EmptyValue { at: Location, name: String },
    #[error("{at}option {name}: {value} is not yes or no")]
    InvalidBool {
        at: Location,
        name: String,
        value: String,
    },
    #[error("{at}no repository URI")]
    MissingUri { at: Location },
    #[error("{at}no suite after the URI")]
    MissingSuite { at: Location },
    #[error("{at}no component after suite {suite}: give at least one (main, contrib, ...)")]
    NoComponent { at: Location, suite: String },
    #[error("{at}flat repositories are not supported (suite {suite} ends in /)")]
    FlatRepository { at: Location, suite: String },
    #[error("{at}{uri}: only file:, http: and https: repositories are supported")]
    UnsupportedScheme { at: Location, uri: String },
    #[error("{at}{uri} is not a usable URI: {reason}")]
    InvalidUri {
        at: Location,
        uri: String,
        reason: &'static str,
    },
    #[error("{at}{what} {value} is not usable: {reason}")]
    InvalidName {
        at: Location,
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("{at}signed-by with fingerprints is not supported: give the keyring file")]
    SignedByFingerprint { at: Location },
    #[error("{at}an inline key in Signed-By is not supported: put it in a file")]
    SignedByInline { at: Location },
    #[error("{at}signed-by {value} is not an absolute path (apt requires one)")]
    SignedByRelative { at: Location, value: String },
    #[error("{at}signed-by with several keyrings is not supported: give one keyring file")]
    SignedBySeveral { at: Location },
    #[error("{at}{reason}")]
    Syntax { at: Location, reason: &'static str },
    #[error("{at}field {field} is given twice in this paragraph")]
    DuplicateField { at: Location, field: String },
    #[error("{at}the paragraph has no {field} field")]
    MissingField { at: Location, field: &'static str },
    #[error("{path}: cannot read: {message}")]
    Io { path: String, message: String },
    #[error("{path}: not a regular file")]
    NotAFile { path: String },
    #[error("{path}: bigger than {limit} bytes: not a sources list")]
    TooBig { path: String, limit: u64 },
    #[error("{path}:{line}: not UTF-8")]
    NotUtf8 { path: String, line: usize },
    #[error(
        "{spec}: expected a one-line source (deb [options] URI SUITE COMPONENT...), a .list file or a .sources file"
    )]
    UnknownSpec { spec: String },
}

type Result<T> = std::result::Result<T, SourceError>;

impl fmt::Display for Uri {
    /// For messages: an http(s) URL without its `user:password@`, which is a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::File(path) => write!(f, "file://{}", path.to_string_lossy()),
            Uri::Http(url) => f.write_str(&crate::http::without_credentials(url)),
        }
    }
}

impl Source {
    /// The source as one `deb [...] URI SUITE COMPONENTS` line, for messages. Ignored options
    /// are left out: they did not take part; so is a URL's `user:password@`.
    pub fn label(&self) -> String {
        let mut options = Vec::new();
        if !self.architectures.is_empty() {
            options.push(format!("arch={}", self.architectures.join(",")));
        }
        if let Some(SignedBy::Keyring(path)) = &self.signed_by {
            options.push(format!("signed-by={}", path.to_string_lossy()));
        }
        if self.trusted {
            options.push("trusted=yes".to_string());
        }
        if let Some(by_hash) = self.by_hash {
            options.push(format!("by-hash={}", if by_hash { "yes" } else { "no" }));
        }
        let mut label = String::from("deb ");
        if !options.is_empty() {
            label.push('[');
            label.push_str(&options.join(" "));
            label.push_str("] ");
        }
        label.push_str(&format!("{} {}", self.uri, self.suite));
        for component in &self.components {
            label.push(' ');
            label.push_str(component);
        }
        escape_controls(&label)
    }
}

/// Parse one one-line-style source, as given on a command line
/// (`deb [arch=amd64] file:///srv/mirror bookworm main`). A `#` starts a comment, as in a
/// `.list` file.
pub fn parse_line(line: &str) -> Result<Source> {
    let at = Location {
        path: None,
        line: 1,
    };
    // A newline would otherwise read as whitespace and glue a second line's words on as
    // components.
    if line.contains(['\n', '\r']) {
        return Err(SourceError::SeveralLines { at });
    }
    match parse_one_line(line, &at)? {
        Line::Deb(source) => Ok(*source),
        Line::DebSrc => Err(SourceError::DebSrc { at }),
        Line::Blank => Err(SourceError::Empty { at }),
    }
}

/// Parse a `.list` file: one source per line, blank lines and `#` comments skipped, `deb-src`
/// lines skipped (source packages are not checked). The first mistake is the error.
pub fn parse_list(path: &Path, text: &str) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = Location {
            path: Some(path.to_path_buf()),
            line: index + 1,
        };
        if let Line::Deb(source) = parse_one_line(line, &at)? {
            sources.push(*source);
        }
    }
    Ok(sources)
}

/// Parse a deb822 `.sources` file: one [`Source`] per (URI, suite) of each enabled paragraph
/// whose `Types` include `deb`, in the file's order, URIs outer.
pub fn parse_sources(path: &Path, text: &str) -> Result<Vec<Source>> {
    let mut sources = Vec::new();
    for paragraph in paragraphs(path, text)? {
        sources.extend(paragraph_sources(path, &paragraph)?);
    }
    Ok(sources)
}

/// Read what `--archive` names: a one-line source, or a `.list` or `.sources` file.
pub fn load(spec: &str) -> Result<Vec<Source>> {
    let trimmed = spec.trim_start();
    for kind in ["deb", "deb-src"] {
        if let Some(rest) = trimmed.strip_prefix(kind) {
            if rest.starts_with([' ', '\t', '[']) {
                return parse_line(spec).map(|source| vec![source]);
            }
        }
    }
    let path = Path::new(spec);
    match path.extension().and_then(|e| e.to_str()) {
        Some("list") => parse_list(path, &read_capped(path)?),
        Some("sources") => parse_sources(path, &read_capped(path)?),
        _ => Err(SourceError::UnknownSpec { spec: shown(spec) }),
    }
}

/// The file's text, refused when it is not a regular file, bigger than [`MAX_FILE_BYTES`] or
/// not UTF-8.
fn read_capped(path: &Path) -> Result<String> {
    let name = escape_controls(&path.to_string_lossy());
    let io = |e: std::io::Error| SourceError::Io {
        path: name.clone(),
        message: e.to_string(),
    };
    // Checked before opening: opening a FIFO would block until a writer comes.
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(SourceError::NotAFile { path: name });
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(SourceError::TooBig {
            path: name,
            limit: MAX_FILE_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        SourceError::NotUtf8 {
            path: name.clone(),
            line: good.iter().filter(|&&b| b == b'\n').count() + 1,
        }
    })
}

/// What one line of a `.list` is.
enum Line {
    Blank,
    DebSrc,
    Deb(Box<Source>),
}

fn parse_one_line(line: &str, at: &Location) -> Result<Line> {
    // apt: "the # character anywhere on a line marks the remainder of that line as a comment".
    let line = match line.find('#') {
        Some(hash) => &line[..hash],
        None => line,
    };
    check_controls(line, at)?;
    let rest = line.trim();
    if rest.is_empty() {
        return Ok(Line::Blank);
    }
    let type_end = rest
        .find(|c: char| c.is_whitespace() || c == '[')
        .unwrap_or(rest.len());
    match &rest[..type_end] {
        "deb" => {}
        "deb-src" => return Ok(Line::DebSrc),
        other => {
            return Err(SourceError::UnknownType {
                at: at.clone(),
                kind: shown(other),
            })
        }
    }
    let mut rest = rest[type_end..].trim_start();
    let mut settings = Settings::default();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after
            .find(']')
            .ok_or_else(|| SourceError::UnclosedOptions { at: at.clone() })?;
        let mut seen: Vec<String> = Vec::new();
        for option in after[..close].split_whitespace() {
            let (name, value) =
                option
                    .split_once('=')
                    .ok_or_else(|| SourceError::MalformedOption {
                        at: at.clone(),
                        option: shown(option),
                    })?;
            if name.is_empty() {
                return Err(SourceError::MalformedOption {
                    at: at.clone(),
                    option: shown(option),
                });
            }
            if name.ends_with(['+', '-']) {
                return Err(SourceError::ModifyOption {
                    at: at.clone(),
                    option: shown(&format!("{name}=")),
                });
            }
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                return Err(SourceError::DuplicateOption {
                    at: at.clone(),
                    name: shown(name),
                });
            }
            seen.push(lower.clone());
            // Matched without regard to case: `Signed-By=` ignored as unknown would verify
            // against keys the user did not mean.
            let known = match lower.as_str() {
                "arch" => Known::Architectures,
                "signed-by" => Known::SignedBy,
                "trusted" => Known::Trusted,
                "by-hash" => Known::ByHash,
                _ => {
                    settings.ignored.push(name.to_string());
                    continue;
                }
            };
            settings.apply(known, name, value, at)?;
        }
        rest = &after[close + 1..];
    }
    let mut words = rest.split_whitespace();
    let uri = words
        .next()
        .ok_or_else(|| SourceError::MissingUri { at: at.clone() })?;
    let uri = parse_uri(uri, at)?;
    let suite = words
        .next()
        .ok_or_else(|| SourceError::MissingSuite { at: at.clone() })?;
    let components: Vec<&str> = words.collect();
    let source = settings.build(uri, suite, &components, at)?;
    Ok(Line::Deb(Box::new(source)))
}

/// The options this module acts on.
#[derive(Clone, Copy)]
enum Known {
    Architectures,
    SignedBy,
    Trusted,
    ByHash,
}

/// Options as read, before a URI and suite make them a [`Source`].
#[derive(Default, Clone)]
struct Settings {
    architectures: Vec<String>,
    signed_by: Option<SignedBy>,
    trusted: bool,
    by_hash: Option<bool>,
    ignored: Vec<String>,
}

impl Settings {
    /// Apply one option (a deb822 field's value may span lines).
    fn apply(&mut self, known: Known, name: &str, value: &str, at: &Location) -> Result<()> {
        let value = value.trim();
        // An armoured key block is recognised before anything else (as apt does, by its BEGIN
        // line): its lines are not paths, and the message should say what it is.
        if matches!(known, Known::SignedBy) && value.contains("-----BEGIN") {
            return Err(SourceError::SignedByInline { at: at.clone() });
        }
        if value.is_empty() {
            return Err(SourceError::EmptyValue {
                at: at.clone(),
                name: shown(name),
            });
        }
        match known {
            Known::Architectures => {
                for arch in list(value) {
                    check_architecture(arch, at)?;
                    self.architectures.push(arch.to_string());
                }
            }
            Known::SignedBy => self.signed_by = Some(signed_by(value, at)?),
            Known::Trusted => self.trusted = parse_bool(name, value, false, at)?,
            Known::ByHash => self.by_hash = Some(parse_bool(name, value, true, at)?),
        }
        Ok(())
    }

    fn build(self, uri: Uri, suite: &str, components: &[&str], at: &Location) -> Result<Source> {
        if suite.ends_with('/') {
            return Err(SourceError::FlatRepository {
                at: at.clone(),
                suite: shown(suite),
            });
        }
        check_name("suite", suite, at)?;
        if components.is_empty() {
            return Err(SourceError::NoComponent {
                at: at.clone(),
                suite: shown(suite),
            });
        }
        for component in components {
            check_name("component", component, at)?;
        }
        Ok(Source {
            uri,
            suite: suite.to_string(),
            components: components.iter().map(|c| c.to_string()).collect(),
            architectures: self.architectures,
            signed_by: self.signed_by,
            trusted: self.trusted,
            by_hash: self.by_hash,
            ignored_options: self.ignored,
        })
    }
}

/// A multi-value option's values: comma-separated in one-line style, whitespace-separated in
/// deb822; either is accepted in both.
fn list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|v| !v.is_empty())
}

/// apt's `StringToBool` words; `force` only for `by-hash`, where it means "yes, and only so".
fn parse_bool(name: &str, value: &str, allow_force: bool, at: &Location) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        "force" if allow_force => Ok(true),
        _ => Err(SourceError::InvalidBool {
            at: at.clone(),
            name: shown(name),
            value: shown(value),
        }),
    }
}

fn signed_by(value: &str, at: &Location) -> Result<SignedBy> {
    let items: Vec<&str> = list(value).collect();
    // A fingerprint anywhere changes the meaning of the whole list (keys selected from the
    // keyrings), so it is refused first.
    if items.iter().any(|item| is_fingerprint(item)) {
        return Err(SourceError::SignedByFingerprint { at: at.clone() });
    }
    if let Some(relative) = items.iter().find(|item| !item.starts_with('/')) {
        return Err(SourceError::SignedByRelative {
            at: at.clone(),
            value: shown(relative),
        });
    }
    match items.as_slice() {
        [one] => Ok(SignedBy::Keyring(PathBuf::from(one))),
        [] => Err(SourceError::EmptyValue {
            at: at.clone(),
            name: "signed-by".to_string(),
        }),
        _ => Err(SourceError::SignedBySeveral { at: at.clone() }),
    }
}

/// A key ID or fingerprint as apt takes them: hex digits (at least a short key ID's 8), a `0x`
/// prefix and a trailing `!` (exactly this subkey) allowed.
fn is_fingerprint(item: &str) -> bool {
    let item = item.strip_suffix('!').unwrap_or(item);
    let item = item
        .strip_prefix("0x")
        .or_else(|| item.strip_prefix("0X"))
        .unwrap_or(item);
    item.len() >= 8 && item.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_uri(text: &str, at: &Location) -> Result<Uri> {
    let invalid = |reason| SourceError::InvalidUri {
        at: at.clone(),
        uri: shown(text),
        reason,
    };
    let Some((scheme, rest)) = text.split_once(':') else {
        return Err(invalid("no scheme (file:, http:, https:)"));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "file" => {
            // apt takes file:/abs as well as file:///abs; file://host/... names another machine.
            let path = match rest.strip_prefix("//") {
                Some(after) if after.starts_with('/') => after,
                Some(_) => return Err(invalid("a file: URL with a host: write file:///path")),
                None if rest.starts_with('/') => rest,
                None => return Err(invalid("a file: URL needs an absolute path")),
            };
            // Percent-escapes are refused rather than guessed at: whether they are decoded
            // decides which directory is read.
            if path.contains('%') {
                return Err(invalid(
                    "percent-escapes in file: URLs are not supported: write the path plainly",
                ));
            }
            let trimmed = path.trim_end_matches('/');
            Ok(Uri::File(PathBuf::from(if trimmed.is_empty() {
                "/"
            } else {
                trimmed
            })))
        }
        "http" | "https" => {
            let Some(after) = rest.strip_prefix("//") else {
                return Err(invalid("expected // after the scheme"));
            };
            let host = after.split('/').next().unwrap_or("");
            if host.is_empty() {
                return Err(invalid("no host"));
            }
            Ok(Uri::Http(text.trim_end_matches('/').to_string()))
        }
        _ => Err(SourceError::UnsupportedScheme {
            at: at.clone(),
            uri: shown(text),
        }),
    }
}

/// Suites and components become path segments under the repository root (`dists/SUITE/COMP/`),
/// so none may climb out of it.
fn check_name(what: &'static str, value: &str, at: &Location) -> Result<()> {
    let reason = if value.is_empty() {
        Some("empty")
    } else if value.starts_with('/') {
        Some("begins with /")
    } else if value.split('/').any(|segment| segment == "..") {
        Some("a .. segment would leave the repository")
    } else if value.contains(['"', '\\']) {
        Some("quotes and backslashes are not supported")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(SourceError::InvalidName {
            at: at.clone(),
            what,
            value: shown(value),
            reason,
        }),
        None => Ok(()),
    }
}

/// dpkg architecture names are lowercase letters, digits and `-` (`amd64`, `musl-linux-arm64`);
/// they become a `binary-ARCH` path segment.
fn check_architecture(arch: &str, at: &Location) -> Result<()> {
    if arch
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(SourceError::InvalidName {
            at: at.clone(),
            what: "architecture",
            value: shown(arch),
            reason: "expected lowercase letters, digits and -",
        })
    }
}

fn check_controls(text: &str, at: &Location) -> Result<()> {
    if text.chars().any(|c| c.is_control() && c != '\t') {
        Err(SourceError::ControlCharacter { at: at.clone() })
    } else {
        Ok(())
    }
}

/// A value as shown in a message: quoted, control characters escaped, at most
/// [`SHOWN_CHARS`] characters.
fn shown(value: &str) -> String {
    let mut cut: String = value.chars().take(SHOWN_CHARS).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    format!("\"{}\"", escape_controls(&cut))
}

fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One deb822 field: its name, the line it is on, and its value's lines (the first line's
/// text after `:`, then each continuation line).
struct Field {
    name: String,
    line: usize,
    lines: Vec<String>,
}

impl Field {
    fn value(&self) -> String {
        self.lines.join("\n")
    }
}

struct Paragraph {
    line: usize,
    fields: Vec<Field>,
}

impl Paragraph {
    fn get(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// Split deb822 text into paragraphs: blank lines separate them, lines beginning with `#` are
/// comments (apt allows them inside a paragraph too), lines beginning with space or tab
/// continue the previous field.
fn paragraphs(path: &Path, text: &str) -> Result<Vec<Paragraph>> {
    let mut out = Vec::new();
    let mut current: Option<Paragraph> = None;
    for (index, line) in text.lines().enumerate() {
        let at = Location {
            path: Some(path.to_path_buf()),
            line: index + 1,
        };
        if line.starts_with('#') {
            continue;
        }
        check_controls(line, &at)?;
        if line.trim().is_empty() {
            out.extend(current.take());
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match current.as_mut().and_then(|p| p.fields.last_mut()) {
                Some(field) => field.lines.push(line.trim().to_string()),
                None => {
                    return Err(SourceError::Syntax {
                        at,
                        reason: "a continuation line with no field before it",
                    })
                }
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(SourceError::Syntax {
                at,
                reason: "not a Field: value line",
            });
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(SourceError::Syntax {
                at,
                reason: "not a Field: value line",
            });
        }
        let paragraph = current.get_or_insert_with(|| Paragraph {
            line: index + 1,
            fields: Vec::new(),
        });
        if paragraph.get(name).is_some() {
            return Err(SourceError::DuplicateField {
                at,
                field: shown(name),
            });
        }
        paragraph.fields.push(Field {
            name: name.to_string(),
            line: index + 1,
            lines: vec![value.trim().to_string()],
        });
    }
    out.extend(current);
    Ok(out)
}

fn paragraph_sources(path: &Path, paragraph: &Paragraph) -> Result<Vec<Source>> {
    let at_line = |line| Location {
        path: Some(path.to_path_buf()),
        line,
    };
    let required = |name: &'static str| {
        paragraph
            .get(name)
            .ok_or_else(|| SourceError::MissingField {
                at: at_line(paragraph.line),
                field: name,
            })
    };
    // A disabled paragraph is skipped whole, as apt does: what it says is not in use.
    if let Some(enabled) = paragraph.get("Enabled") {
        let at = at_line(enabled.line);
        if !parse_bool(&enabled.name, &enabled.value(), false, &at)? {
            return Ok(Vec::new());
        }
    }
    let types = required("Types")?;
    let mut deb = false;
    for kind in types.value().split_whitespace() {
        match kind {
            "deb" => deb = true,
            "deb-src" => {}
            other => {
                return Err(SourceError::UnknownType {
                    at: at_line(types.line),
                    kind: shown(other),
                })
            }
        }
    }
    if !deb {
        return Ok(Vec::new());
    }
    let mut settings = Settings::default();
    for field in &paragraph.fields {
        let at = at_line(field.line);
        let known = match field.name.to_ascii_lowercase().as_str() {
            "types" | "uris" | "suites" | "components" | "enabled" => continue,
            "architectures" => Known::Architectures,
            "signed-by" => Known::SignedBy,
            "trusted" => Known::Trusted,
            "by-hash" => Known::ByHash,
            "architectures-add" | "architectures-remove" => {
                return Err(SourceError::ModifyOption {
                    at,
                    option: shown(&field.name),
                })
            }
            _ => {
                settings.ignored.push(field.name.clone());
                continue;
            }
        };
        settings.apply(known, &field.name, &field.value(), &at)?;
    }
    let uris = required("URIs")?;
    let suites = required("Suites")?;
    let components = paragraph.get("Components");
    let component_words: Vec<String> = components
        .map(|c| c.value().split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let component_refs: Vec<&str> = component_words.iter().map(String::as_str).collect();
    let uri_values = uris.value();
    let suite_values = suites.value();
    if uri_values.split_whitespace().next().is_none() {
        return Err(SourceError::MissingUri {
            at: at_line(uris.line),
        });
    }
    if suite_values.split_whitespace().next().is_none() {
        return Err(SourceError::MissingSuite {
            at: at_line(suites.line),
        });
    }
    let mut out = Vec::new();
    for uri in uri_values.split_whitespace() {
        let uri = parse_uri(uri, &at_line(uris.line))?;
        for suite in suite_values.split_whitespace() {
            // The suite's mistakes are reported at Suites, the components' at Components
            // (at Suites when there is no Components field).
            let suite_at = at_line(suites.line);
            if suite.ends_with('/') {
                return Err(SourceError::FlatRepository {
                    at: suite_at,
                    suite: shown(suite),
                });
            }
            check_name("suite", suite, &suite_at)?;
            let at = components.map_or(suite_at, |c| at_line(c.line));
            out.push(
                settings
                    .clone()
                    .build(uri.clone(), suite, &component_refs, &at)?,
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/archive/sources")
            .join(name)
    }

    fn mirror(components: &[&str]) -> Source {
        Source {
            uri: Uri::File(PathBuf::from("/srv/mirror")),
            suite: "bookworm".to_string(),
            components: components.iter().map(|c| c.to_string()).collect(),
            architectures: Vec::new(),
            signed_by: None,
            trusted: false,
            by_hash: None,
            ignored_options: Vec::new(),
        }
    }

    #[test]
    fn issue_example_with_arch() {
        let source =
            parse_line("deb [arch=amd64] file:///srv/mirror bookworm main contrib").unwrap();
        let mut want = mirror(&["main", "contrib"]);
        want.architectures = vec!["amd64".to_string()];
        assert_eq!(source, want);
        assert_eq!(
            source.label(),
            "deb [arch=amd64] file:///srv/mirror bookworm main contrib"
        );
    }

    #[test]
    fn signed_by_trusted_and_several_architectures() {
        let source = parse_line(
            "deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/x.gpg trusted=yes by-hash=force] file:///srv/mirror/ bookworm main",
        )
        .unwrap();
        let mut want = mirror(&["main"]);
        want.architectures = vec!["amd64".to_string(), "arm64".to_string()];
        want.signed_by = Some(SignedBy::Keyring(PathBuf::from(
            "/usr/share/keyrings/x.gpg",
        )));
        want.trusted = true;
        want.by_hash = Some(true);
        assert_eq!(source, want);
        assert!(
            !parse_line("deb [trusted=no] file:///srv/mirror bookworm main")
                .unwrap()
                .trusted
        );
        assert_eq!(
            parse_line("deb [by-hash=no] file:///srv/mirror bookworm main")
                .unwrap()
                .by_hash,
            Some(false)
        );
    }

    #[test]
    fn a_label_shows_no_password() {
        let source = parse_line("deb https://me:secret@h.example/debian/ bookworm main").unwrap();
        assert_eq!(
            source.uri,
            Uri::Http("https://me:secret@h.example/debian".to_string())
        );
        assert_eq!(source.label(), "deb https://h.example/debian bookworm main");
    }

    #[test]
    fn http_and_https_urls_lose_their_trailing_slash() {
        let source = parse_line("deb http://deb.debian.org/debian/ bookworm main").unwrap();
        assert_eq!(
            source.uri,
            Uri::Http("http://deb.debian.org/debian".to_string())
        );
        let source = parse_line(
            "deb\t[ signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] https://security.debian.org/debian-security bookworm-security main",
        )
        .unwrap();
        assert_eq!(
            source.uri,
            Uri::Http("https://security.debian.org/debian-security".to_string())
        );
        assert_eq!(source.suite, "bookworm-security");
        assert_eq!(
            source.signed_by,
            Some(SignedBy::Keyring(PathBuf::from(
                "/usr/share/keyrings/debian-archive-keyring.gpg"
            )))
        );
        // apt's single-slash form of a file: URL.
        assert_eq!(
            parse_line("deb file:/srv/mirror bookworm main").unwrap(),
            mirror(&["main"])
        );
    }

    #[test]
    fn unknown_options_are_ignored_but_listed() {
        let source = parse_line(
            "deb [lang=de check-valid-until=no frobnicate=1] file:///srv/mirror bookworm main",
        )
        .unwrap();
        assert_eq!(
            source.ignored_options,
            vec!["lang", "check-valid-until", "frobnicate"]
        );
        // Case does not hide a trust option.
        let source = parse_line("deb [Signed-By=/k.gpg] file:///srv/mirror bookworm main").unwrap();
        assert_eq!(
            source.signed_by,
            Some(SignedBy::Keyring(PathBuf::from("/k.gpg")))
        );
        assert!(source.ignored_options.is_empty());
    }

    #[test]
    fn list_file_with_comments_blank_lines_and_deb_src() {
        let path = testdata("mirror.list");
        let text = std::fs::read_to_string(&path).unwrap();
        let sources = parse_list(&path, &text).unwrap();
        assert_eq!(sources.len(), 2);
        assert_eq!(
            sources[0].uri,
            Uri::Http("http://deb.debian.org/debian".to_string())
        );
        assert_eq!(
            sources[0].components,
            vec!["main", "contrib", "non-free-firmware"]
        );
        assert_eq!(sources[1].suite, "bookworm-security");
        assert_eq!(sources[1].architectures, vec!["amd64"]);
        // load reads the same file.
        assert_eq!(load(path.to_str().unwrap()).unwrap(), sources);
    }

    #[test]
    fn sources_file_uris_times_suites() {
        let path = testdata("debian.sources");
        let text = std::fs::read_to_string(&path).unwrap();
        let sources = parse_sources(&path, &text).unwrap();
        let pairs: Vec<(String, &str)> = sources
            .iter()
            .map(|s| (s.uri.to_string(), s.suite.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("http://deb.debian.org/debian".to_string(), "bookworm"),
                (
                    "http://deb.debian.org/debian".to_string(),
                    "bookworm-updates"
                ),
                ("file:///srv/mirror".to_string(), "bookworm"),
                ("file:///srv/mirror".to_string(), "bookworm-updates"),
                (
                    "https://security.debian.org/debian-security".to_string(),
                    "bookworm-security"
                ),
            ]
        );
        let keyring = Some(SignedBy::Keyring(PathBuf::from(
            "/usr/share/keyrings/debian-archive-keyring.gpg",
        )));
        assert!(sources.iter().all(|s| s.signed_by == keyring));
        assert_eq!(sources[0].components, vec!["main", "contrib"]);
        assert_eq!(sources[0].architectures, vec!["amd64", "arm64"]);
        assert_eq!(sources[4].ignored_options, vec!["X-Repolib-Name"]);
        assert_eq!(load(path.to_str().unwrap()).unwrap(), sources);
    }

    #[test]
    fn sources_inline_key_is_refused() {
        let text = "Types: deb\nURIs: http://example.org/debian\nSuites: bookworm\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mDMEZ...\n -----END PGP PUBLIC KEY BLOCK-----\n";
        let err = parse_sources(Path::new("x.sources"), text).unwrap_err();
        assert!(matches!(err, SourceError::SignedByInline { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "x.sources:5: an inline key in Signed-By is not supported: put it in a file"
        );
    }

    #[test]
    fn sources_keyring_on_a_continuation_line_is_not_an_inline_key() {
        let text = "Types: deb\nURIs: file:///srv/mirror\nSuites: bookworm\nComponents: main\nSigned-By:\n /usr/share/keyrings/x.gpg\n";
        let sources = parse_sources(Path::new("x.sources"), text).unwrap();
        let mut want = mirror(&["main"]);
        want.signed_by = Some(SignedBy::Keyring(PathBuf::from(
            "/usr/share/keyrings/x.gpg",
        )));
        assert_eq!(sources, vec![want]);
    }

    #[test]
    fn sources_mistakes_name_their_line() {
        let err = parse_sources(
            Path::new("a.sources"),
            "Types: deb\nURIs: http://example.org\nSuites: bookworm\n",
        )
        .unwrap_err();
        assert!(matches!(err, SourceError::NoComponent { .. }), "{err:?}");
        assert!(err.to_string().starts_with("a.sources:3: "), "{err}");
        let err =
            parse_sources(Path::new("a.sources"), "\nTypes: deb\nSuites: bookworm\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.sources:2: the paragraph has no URIs field"
        );
        let err = parse_sources(Path::new("a.sources"), " continued\n").unwrap_err();
        assert!(matches!(err, SourceError::Syntax { .. }), "{err:?}");
        let err = parse_sources(
            Path::new("a.sources"),
            "Types: deb\nURIs: http://example.org\nSuites: ./\nComponents: main\n",
        )
        .unwrap_err();
        assert!(matches!(err, SourceError::FlatRepository { .. }), "{err:?}");
        assert!(err.to_string().starts_with("a.sources:3: "), "{err}");
        let err = parse_sources(
            Path::new("a.sources"),
            "Types: deb\nURIs: http://example.org\nSuites: s\nComponents: main\nArchitectures-Add: i386\n",
        )
        .unwrap_err();
        assert!(matches!(err, SourceError::ModifyOption { .. }), "{err:?}");
        let err = parse_sources(
            Path::new("a.sources"),
            "Types: deb\nURIs: http://example.org\nSuites: s\nComponents: main\nSigned-By: ABCDEF0123456789ABCDEF0123456789ABCDEF01\n",
        )
        .unwrap_err();
        assert!(
            matches!(err, SourceError::SignedByFingerprint { .. }),
            "{err:?}"
        );
    }

    fn refusal(line: &str) -> SourceError {
        match parse_line(line) {
            Ok(source) => panic!("{line:?} was accepted as {source:?}"),
            Err(err) => {
                assert!(!err.to_string().contains('\n'), "{err}");
                err
            }
        }
    }

    #[test]
    fn refusals() {
        let m = "file:///srv/mirror bookworm main";
        let err = refusal(&format!(
            "deb [signed-by=ABCDEF0123456789ABCDEF0123456789ABCDEF01] {m}"
        ));
        assert_eq!(
            err.to_string(),
            "signed-by with fingerprints is not supported: give the keyring file"
        );
        let err = refusal(&format!("deb [signed-by=/k.gpg,0xDEADBEEF!] {m}"));
        assert!(
            matches!(err, SourceError::SignedByFingerprint { .. }),
            "{err:?}"
        );
        let err = refusal(&format!("deb [signed-by=keyrings/x.gpg] {m}"));
        assert!(
            matches!(err, SourceError::SignedByRelative { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("not an absolute path"), "{err}");
        let err = refusal(&format!("deb [signed-by=/a.gpg,/b.gpg] {m}"));
        assert!(
            matches!(err, SourceError::SignedBySeveral { .. }),
            "{err:?}"
        );
        let err = refusal("deb file:///srv/mirror ./");
        assert!(matches!(err, SourceError::FlatRepository { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("flat repositories are not supported"),
            "{err}"
        );
        let err = refusal(&format!("deb [arch+=i386] {m}"));
        assert!(matches!(err, SourceError::ModifyOption { .. }), "{err:?}");
        assert!(matches!(
            refusal(&format!("deb [arch-=i386] {m}")),
            SourceError::ModifyOption { .. }
        ));
        for uri in [
            "cdrom:[Debian]/",
            "mirror+http://x/",
            "tor+https://x/",
            "ftp://x/",
        ] {
            let err = refusal(&format!("deb {uri} bookworm main"));
            assert!(
                matches!(err, SourceError::UnsupportedScheme { .. }),
                "{uri}: {err:?}"
            );
        }
        let err = refusal("deb file:///srv/mirror bookworm");
        assert!(matches!(err, SourceError::NoComponent { .. }), "{err:?}");
        let err = refusal(&format!("deb-src {m}"));
        assert_eq!(err.to_string(), "deb-src: source packages are not checked");
        assert!(matches!(
            load(&format!("deb-src {m}")),
            Err(SourceError::DebSrc { .. })
        ));
        for garbage in [
            "",
            "   # only a comment",
            "hello world",
            "deb",
            "deb [arch=amd64",
            "deb [arch] file:///x s c",
            "deb http:// s c",
            "deb srv/mirror s c",
            "deb file://host/srv s c",
            "deb file:///srv s ../../etc",
            "deb [arch=AMD64/..] file:///srv s c",
            "deb [trusted=maybe] file:///srv s c",
            "deb [arch=amd64 arch=i386] file:///srv s c",
            "deb file:///srv\ns c",
            "deb file:///srv s c\u{1b}[2J",
        ] {
            refusal(garbage);
        }
        assert!(matches!(refusal(""), SourceError::Empty { .. }));
        assert!(matches!(
            refusal("rpm http://x/ s c"),
            SourceError::UnknownType { .. }
        ));
    }

    #[test]
    fn list_mistake_names_path_and_line() {
        let text = "# mirror\n\ndeb http://deb.debian.org/debian bookworm main\ndeb [signed-by=keyring.gpg] http://example.org/ bookworm main\n";
        let err = parse_list(Path::new("/etc/apt/sources.list.d/x.list"), text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/apt/sources.list.d/x.list:4: signed-by \"keyring.gpg\" is not an absolute path (apt requires one)"
        );
    }

    #[test]
    fn load_dispatch_and_limits() {
        assert_eq!(
            load("deb [arch=amd64] file:///srv/mirror bookworm main").unwrap(),
            vec![{
                let mut s = mirror(&["main"]);
                s.architectures = vec!["amd64".to_string()];
                s
            }]
        );
        assert!(matches!(
            load("/etc/apt/sources"),
            Err(SourceError::UnknownSpec { .. })
        ));
        assert!(matches!(
            load("debian"),
            Err(SourceError::UnknownSpec { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.list");
        std::fs::write(&big, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            load(big.to_str().unwrap()),
            Err(SourceError::TooBig { .. })
        ));
        let exact = dir.path().join("exact.list");
        std::fs::write(&exact, vec![b'#'; MAX_FILE_BYTES as usize]).unwrap();
        assert_eq!(load(exact.to_str().unwrap()).unwrap(), Vec::new());
        let bad = dir.path().join("bad.sources");
        std::fs::write(&bad, b"Types: deb\n\xff\n").unwrap();
        let err = load(bad.to_str().unwrap()).unwrap_err();
        assert!(
            matches!(err, SourceError::NotUtf8 { line: 2, .. }),
            "{err:?}"
        );
        let missing = dir.path().join("missing.list");
        assert!(matches!(
            load(missing.to_str().unwrap()),
            Err(SourceError::Io { .. })
        ));
        let subdir = dir.path().join("d.list");
        std::fs::create_dir(&subdir).unwrap();
        assert!(matches!(
            load(subdir.to_str().unwrap()),
            Err(SourceError::NotAFile { .. })
        ));
    }

    /// Seeded random lines built from the grammar's pieces and stray characters: nothing
    /// panics, every message is one line, and what is accepted reads back from its label.
    #[test]
    fn random_lines_do_not_panic() {
        const PIECES: &[&str] = &[
            "deb",
            "deb-src",
            " ",
            " ",
            "\t",
            "[",
            "]",
            "=",
            "+=",
            "-=",
            ",",
            "#",
            "/",
            "./",
            "..",
            "arch",
            "amd64",
            "signed-by",
            "/k.gpg",
            "ABCDEF0123456789",
            "trusted",
            "yes",
            "by-hash",
            "force",
            "file:///srv",
            "file:/",
            "file://",
            "http://h/",
            "https://",
            "cdrom:",
            "mirror+http://",
            "bookworm",
            "main",
            "contrib",
            "%",
            "\"",
            "\n",
            "\r",
            "é",
            "\u{0}",
            "\u{1b}",
            ":",
            "Types: deb",
            "URIs:",
            "-----BEGIN",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        const OPTIONS: &[&str] = &[
            "arch=amd64",
            "arch=amd64,arm64",
            "arch=",
            "arch+=i386",
            "signed-by=/usr/share/keyrings/k.gpg",
            "signed-by=k.gpg",
            "signed-by=ABCDEF0123456789",
            "trusted=yes",
            "trusted=no",
            "by-hash=force",
            "lang=de",
            "x",
        ];
        const URIS: &[&str] = &[
            "file:///srv/mirror",
            "file:/srv/mirror/",
            "file:///",
            "http://deb.debian.org/debian/",
            "https://h",
            "cdrom:x",
            "h",
        ];
        let mut accepted = 0;
        for _ in 0..10_000 {
            let mut line = String::new();
            let structured = next() % 2 == 0;
            if structured {
                // A line of the grammar's shape from good and bad parts, so the accepting
                // paths are reached as well as the refusals.
                let pick = |n: u64, from: &[&'static str]| from[(n % from.len() as u64) as usize];
                line.push_str(pick(
                    next(),
                    &["deb ", "deb\t", "deb-src ", "deb", "Types: deb\n"],
                ));
                if next() % 2 == 0 {
                    line.push('[');
                    for _ in 0..next() % 4 {
                        line.push_str(pick(next(), OPTIONS));
                        line.push(' ');
                    }
                    line.push_str(pick(next(), &["]", "] ", ""]));
                }
                line.push_str(pick(next(), URIS));
                line.push(' ');
                line.push_str(pick(next(), &["bookworm", "sid", "./", "a/b", "../x", ""]));
                for _ in 0..next() % 3 {
                    line.push(' ');
                    line.push_str(pick(next(), &["main", "contrib", "non-free/x", ".."]));
                }
            }
            let splices = if structured { next() % 3 } else { next() % 12 };
            for _ in 0..splices {
                let piece = PIECES[(next() % PIECES.len() as u64) as usize];
                // Spliced in at a random character boundary.
                let at = line
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth((next() % (line.chars().count() as u64 + 1)) as usize)
                    .unwrap_or(line.len());
                line.insert_str(at, piece);
            }
            let results = [
                parse_line(&line).map(|s| vec![s]),
                parse_list(Path::new("r.list"), &line),
                parse_sources(Path::new("r.sources"), &line),
            ];
            for result in results {
                match result {
                    Err(err) => assert!(!err.to_string().contains(['\n', '\r']), "{err}"),
                    Ok(sources) => {
                        for mut source in sources {
                            accepted += 1;
                            assert!(!source.components.is_empty(), "{line:?}");
                            source.ignored_options.clear();
                            assert_eq!(parse_line(&source.label()), Ok(source), "{line:?}");
                        }
                    }
                }
            }
        }
        // The generator must reach the accepting paths too, or the round trip checks nothing.
        assert!(accepted > 200, "only {accepted} accepted");
    }
}
