//! What a cached package's facts are stored under: the package's SHA-256 and everything that
//! shapes the facts read from those bytes and the analyses made of its scripts, hashed into one
//! id.

use debgate_reader::Limits;
use sha2::{Digest, Sha256};

/// The build's version: a new release never reads what another release cached, as the reader
/// may fill the facts differently even where [`debgate_facts::stored::FACTS_FORMAT`] was not
/// bumped.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The key of one package's facts. [`Key::new`] starts from the package's SHA-256 (which an
/// apt `Packages` index gives before any download) with the current facts and analysis formats
/// and version,
/// the default limits, no content wanted and no digests; the builder methods set what the run
/// reads with. Whatever differs between two keys makes them two entries, so facts read under
/// other limits, for other rules, or without digests are never taken for these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    sha256: [u8; 32],
    facts_format: u32,
    /// [`debgate_script::ANALYSIS_FORMAT`]: the stored analyses are the analyzer's output.
    analysis_format: u32,
    version: String,
    /// The limits as JSON (field names as in `Limits`).
    limits: String,
    wants: String,
    digests: bool,
}

/// A key's id: the SHA-256 of its parts, named in hex by an entry's file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 32]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&debgate_facts::hex(&self.0))
    }
}

impl Key {
    /// The key of the package whose bytes have this SHA-256, for the current facts and
    /// analysis formats and build, the default limits, no content wanted and no digests.
    pub fn new(sha256: [u8; 32]) -> Key {
        Key {
            sha256,
            facts_format: debgate_facts::stored::FACTS_FORMAT,
            analysis_format: debgate_script::ANALYSIS_FORMAT,
            version: VERSION.to_string(),
            limits: limits_text(&Limits::default()),
            wants: String::new(),
            digests: false,
        }
    }

    /// The facts format ([`debgate_facts::stored::FACTS_FORMAT`] unless set).
    pub fn format(mut self, facts_format: u32) -> Key {
        self.facts_format = facts_format;
        self
    }

    /// The analyzer's format ([`debgate_script::ANALYSIS_FORMAT`] unless set).
    pub fn analysis_format(mut self, analysis_format: u32) -> Key {
        self.analysis_format = analysis_format;
        self
    }

    /// The build's version ([`VERSION`] unless set).
    pub fn version(mut self, version: &str) -> Key {
        self.version = version.to_string();
        self
    }

    /// The reader's limits the facts are read under.
    pub fn limits(mut self, limits: &Limits) -> Key {
        self.limits = limits_text(limits);
        self
    }

    /// What content the run captures, as stable text: `RuleSet::content_fingerprint`, plus
    /// whatever else the caller's content predicate asks for.
    pub fn wants(mut self, fingerprint: &str) -> Key {
        self.wants = fingerprint.to_string();
        self
    }

    /// Whether content digests are read (`pipeline::Settings::digests`).
    pub fn digests(mut self, on: bool) -> Key {
        self.digests = on;
        self
    }

    /// The package's SHA-256.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// The key's id. Each part is written with its length, so that no two keys spell one text.
    pub fn id(&self) -> KeyId {
        let mut h = Sha256::new();
        let mut part = |name: &str, value: &[u8]| {
            h.update(format!("{name}={}:", value.len()).as_bytes());
            h.update(value);
            h.update(b"\n");
        };
        part("debgate-facts-cache", &[]);
        part("entry-format", &crate::entry::ENTRY_FORMAT.to_le_bytes());
        part("sha256", &self.sha256);
        part("facts-format", &self.facts_format.to_le_bytes());
        part("analysis-format", &self.analysis_format.to_le_bytes());
        part("version", self.version.as_bytes());
        part("limits", self.limits.as_bytes());
        part("wants", self.wants.as_bytes());
        part("digests", &[u8::from(self.digests)]);
        KeyId(h.finalize().into())
    }
}

fn limits_text(limits: &Limits) -> String {
    // A struct of numbers and booleans always serializes; should it ever fail, its Debug text
    // still tells limits apart, where an empty text would let any limits share an entry.
    serde_json::to_string(limits).unwrap_or_else(|_| format!("{limits:?}"))
}

/// The SHA-256 of everything `input` reads: a local package's key, when no index gives it.
pub fn sha256_of(mut input: impl std::io::Read) -> std::io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    std::io::copy(&mut input, &mut h)?;
    Ok(h.finalize().into())
}

/// A reader that hashes what passes through it: a local package is hashed for its key, then
/// hashed again as it is read, and its facts are stored only when the two agree (the file did
/// not change in between).
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: std::io::Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The SHA-256 of everything read through it, after reading what is left of `inner`.
    pub fn finish(mut self) -> std::io::Result<[u8; 32]> {
        std::io::copy(&mut self.inner, &mut self.hasher)?;
        Ok(self.hasher.finalize().into())
    }
}

impl<R: std::io::Read> std::io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_a_key_changes_its_id() {
        let base = Key::new([1; 32]);
        let limits = Limits {
            max_content_bytes: Limits::default().max_content_bytes + 1,
            ..Limits::default()
        };
        let others = [
            Key::new([2; 32]),
            base.clone().format(base.facts_format + 1),
            base.clone().analysis_format(base.analysis_format + 1),
            base.clone().version("0.0.0-other"),
            base.clone().limits(&limits),
            base.clone().wants("x"),
            base.clone().digests(true),
        ];
        for (i, k) in others.iter().enumerate() {
            assert_ne!(k.id(), base.id(), "part {i}");
        }
        assert_eq!(
            base.clone().limits(&Limits::default()).wants("").id(),
            base.id()
        );
        // Lengths keep the parts apart: text moved from one part to the next is another key.
        assert_ne!(
            base.clone().version("1").wants("2").id(),
            base.clone().version("12").wants("").id()
        );
    }

    #[test]
    fn a_hashing_reader_hashes_what_it_read_and_what_is_left() {
        use std::io::Read;
        let mut r = HashingReader::new(&b"abc"[..]);
        let mut first = [0u8; 1];
        r.read_exact(&mut first).unwrap();
        assert_eq!(r.finish().unwrap(), sha256_of(&b"abc"[..]).unwrap());
    }

    #[test]
    fn sha256_of_is_sha256sum() {
        // sha256sum of "abc".
        assert_eq!(
            debgate_facts::hex(&sha256_of(&b"abc"[..]).unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
