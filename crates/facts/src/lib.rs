//! The package facts model: what debgate knows about one `.deb`, independent of how it was read.
//!
//! Every other crate speaks in these types. The reader fills them, the script analyzer adds
//! [`change::Change`]s, and the policy engine only ever looks at facts, never at bytes.

pub mod caps;
pub mod change;
pub mod path;
pub mod stored;
pub mod symlinks;
pub mod text;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The type of one data.tar member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    HardLink,
    CharDevice,
    BlockDevice,
    Fifo,
}

impl EntryKind {
    /// Every kind, in the order messages list them.
    pub const ALL: [EntryKind; 7] = [
        EntryKind::File,
        EntryKind::Dir,
        EntryKind::Symlink,
        EntryKind::HardLink,
        EntryKind::CharDevice,
        EntryKind::BlockDevice,
        EntryKind::Fifo,
    ];

    /// The kind its `as_str` name names.
    pub fn parse(name: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::HardLink => "hard-link",
            EntryKind::CharDevice => "char-device",
            EntryKind::BlockDevice => "block-device",
            EntryKind::Fifo => "fifo",
        }
    }
}

/// One member of data.tar, as the tar header (plus PAX records) describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Normalised absolute path: `./usr/bin/x` becomes `/usr/bin/x`; directories carry no
    /// trailing slash; the root is `/`. A name that is not UTF-8 is shown with each invalid
    /// byte as `\xNN` ([`path::escape_name`]); its bytes are in `raw_path`.
    pub path: String,
    /// The normalised name's bytes, only when they are not UTF-8 (`path` shows them escaped).
    /// Kept so that nothing of the name is lost; every comparison uses `path`, which the reader
    /// makes stand for one byte string per package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_path: Option<Vec<u8>>,
    /// `link_target`'s bytes, only when they are not UTF-8 (as `raw_path`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_link_target: Option<Vec<u8>>,
    pub kind: EntryKind,
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Owner and group names from the header, when present and non-empty.
    pub owner: Option<String>,
    pub group: Option<String>,
    pub size: u64,
    /// Symlink target as written (may be relative), or the normalised path of a hard link's
    /// target member; shown like `path` when it is not UTF-8.
    pub link_target: Option<String>,
    /// Extended attributes from PAX `SCHILY.xattr.*` / `LIBARCHIVE.xattr.*` records, keyed by
    /// attribute name (e.g. `security.capability`), raw values.
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// The member's own name in data.tar (normalised), when it was written through a
    /// directory this package ships as a symlink and so lands at `path` instead
    /// (`/etc/x/job` with `./etc/x -> /etc/cron.d`); see [`symlinks`]. `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The package's symlinks `member` was written through, each by where it is, in the order
    /// crossed; empty when `member` is `None`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub through: Vec<String>,
    /// A character or block device's numbers, from the header's devmajor and devminor fields;
    /// `None` for every other type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
}

/// A device node's major and minor numbers, as the tar header gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub major: u32,
    pub minor: u32,
}

impl std::fmt::Display for Device {
    /// `major,minor`, as `ls -l` shows a device.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.major, self.minor)
    }
}

pub const CAPABILITY_XATTR: &str = "security.capability";

impl Entry {
    /// The file capability this entry carries in data.tar, decoded; `None` if it has none.
    pub fn capabilities(&self) -> Option<Result<caps::FileCaps, caps::CapError>> {
        self.xattrs
            .get(CAPABILITY_XATTR)
            .map(|v| caps::FileCaps::decode(v))
    }

    /// Owner name, falling back to the numeric id the way `ls -n` would show it.
    pub fn owner_name(&self) -> String {
        self.owner.clone().unwrap_or_else(|| id_name(self.uid))
    }

    pub fn group_name(&self) -> String {
        self.group.clone().unwrap_or_else(|| id_name(self.gid))
    }
}

/// Debian packages only ever use id 0 without a name in practice; give it its conventional name
/// so policies can say `owner = "root"` for headers that carry no names (plain ustar from old
/// tools).
fn id_name(id: u64) -> String {
    if id == 0 {
        "root".to_string()
    } else {
        id.to_string()
    }
}

/// Compression of a control.tar or data.tar member, as named by its suffix. The default is xz,
/// what dpkg-deb writes by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    None,
    Gzip,
    #[default]
    Xz,
    Zstd,
    Bzip2,
    Lzma,
}

impl Compression {
    /// The member-name suffix (`""` for none, otherwise e.g. `".xz"`).
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Xz => ".xz",
            Compression::Zstd => ".zst",
            Compression::Bzip2 => ".bz2",
            Compression::Lzma => ".lzma",
        }
    }

    pub const ALL: [Compression; 6] = [
        Compression::None,
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
        Compression::Bzip2,
        Compression::Lzma,
    ];
}

/// The deb822 paragraph from control.tar's `control`, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    pub fields: Vec<(String, String)>,
}

impl Control {
    /// Field lookup; deb822 field names are case-insensitive.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn package(&self) -> &str {
        self.get("Package").unwrap_or("")
    }

    pub fn version(&self) -> &str {
        self.get("Version").unwrap_or("")
    }

    pub fn architecture(&self) -> &str {
        self.get("Architecture").unwrap_or("")
    }
}

/// One line of control.tar's `conffiles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conffile {
    pub path: String,
    /// Flags written before the path by newer dpkg, e.g. `remove-on-upgrade`.
    pub flags: Vec<String>,
}

/// The maintainer scripts dpkg runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptName {
    Preinst,
    Postinst,
    Prerm,
    Postrm,
    Config,
}

impl ScriptName {
    pub const ALL: [ScriptName; 5] = [
        ScriptName::Preinst,
        ScriptName::Postinst,
        ScriptName::Prerm,
        ScriptName::Postrm,
        ScriptName::Config,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScriptName::Preinst => "preinst",
            ScriptName::Postinst => "postinst",
            ScriptName::Prerm => "prerm",
            ScriptName::Postrm => "postrm",
            ScriptName::Config => "config",
        }
    }

    pub fn from_member(name: &str) -> Option<ScriptName> {
        ScriptName::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for ScriptName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A maintainer script's text (lossily decoded as UTF-8; scripts are shell text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    pub name: ScriptName,
    pub text: String,
    /// True when the script was longer than the configured cap and only its head was kept.
    pub truncated: bool,
}

/// Captured content of a data.tar file that a rule or analyzer asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// True when the file was longer than the content cap and only its head was kept.
    pub truncated: bool,
}

impl Content {
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// Everything debgate knows about one `.deb`. The default is an empty package as dpkg-deb would
/// build it (xz members, nothing after data.tar, every header one dpkg unpacks): what in-memory
/// builders (policy test cases, unit tests) start from, so that a new fact needs no edit there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub file: PathBuf,
    pub control: Control,
    pub conffiles: Vec<Conffile>,
    pub scripts: Vec<Script>,
    /// data.tar members in archive order.
    pub entries: Vec<Entry>,
    /// Content of the data.tar files that were asked for, keyed by normalised path.
    pub contents: BTreeMap<String, Content>,
    pub control_compression: Compression,
    pub data_compression: Compression,
    /// Bytes after the last ar member that are no ar member (garbage, a cut-off header or
    /// member): dpkg never reads them, so the package installs; the `trailing-bytes` check
    /// warns. 0 for a well-formed archive.
    pub trailing_bytes: u64,
    /// data.tar headers dpkg's own unpacker refuses (see [`DpkgRefusal`]), in archive order, at
    /// most [`MAX_DPKG_REFUSALS`] of them; empty for a package dpkg can unpack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpkg_refuses: Vec<DpkgRefusal>,
    /// How many such headers data.tar has in all (more than `dpkg_refuses` holds when it
    /// reached its bound).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dpkg_refused: u64,
    /// control.tar's `md5sums`, when the reader was asked for digests (`diff`).
    #[serde(skip)]
    pub md5sums: Md5sums,
    /// The digests of the data.tar files whose bytes the reader hashed as they streamed by,
    /// keyed by `Entry::path`; see [`Package::hashed`] for which ones.
    #[serde(skip)]
    pub digests: BTreeMap<String, FileDigest>,
    /// Which files were hashed; `None` when the reader was asked for no digests.
    #[serde(skip)]
    pub hashed: Option<Hashed>,
}

/// The MD5 and SHA-256 of a data.tar file's bytes as they streamed by. MD5 compares with the
/// other side's `md5sums` claim; SHA-256 with the other side's real bytes. Serialized (in the
/// facts cache's [`stored`] form only) as hex, as `md5sum` and `sha256sum` print them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    #[serde(with = "stored::hex_array")]
    pub md5: [u8; 16],
    #[serde(with = "stored::hex_array")]
    pub sha256: [u8; 32],
}

/// What control.tar's `md5sums` gives: the builder's claim of each file's MD5.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Md5sums {
    /// The reader was not asked for it.
    #[default]
    NotRead,
    /// The package has no `md5sums`.
    Absent,
    /// Each listed file's MD5, keyed by the member's normalised name (`/usr/bin/x`, shown as
    /// `Entry::path` shows a name; for a member written through a symlink that is
    /// `Entry::member`).
    Listed(#[serde(with = "stored::hex_map")] std::collections::HashMap<String, [u8; 16]>),
    /// It is there but cannot be used (larger than its cap, or a line that is not `MD5  PATH`):
    /// what changed in content is unknown for the files it would cover. Never an error: the
    /// package is read as usual.
    Unusable(String),
}

impl Md5sums {
    /// The claimed MD5 of the member named `name`.
    pub fn get(&self, name: &str) -> Option<&[u8; 16]> {
        match self {
            Md5sums::Listed(m) => m.get(name),
            _ => None,
        }
    }
}

/// Which data.tar files the reader hashed, besides the ones it always hashes when asked for
/// digests: setuid, setgid and capable files, conffiles, and the files a maintainer script may
/// grant a privilege to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hashed {
    /// Only those.
    Privileged,
    /// Every regular file: the package has no `md5sums`.
    AllNoMd5sums,
    /// Every regular file: a maintainer script may grant a privilege to a file it names in a
    /// way static reading cannot resolve, so any file may be privileged.
    AllUnknownTarget,
}

impl FileDigest {
    pub fn md5_hex(&self) -> String {
        hex(&self.md5)
    }

    pub fn sha256_hex(&self) -> String {
        hex(&self.sha256)
    }
}

/// The `N` bytes `2N` hex digits (either case) spell: a digest as `md5sums`, `Packages` or
/// `Release` write it. `None` for any other length or a non-hex digit.
pub fn unhex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let d = |b: u8| (b as char).to_digit(16);
        *byte = u8::try_from(d(pair[0])? * 16 + d(pair[1])?).ok()?;
    }
    Some(out)
}

/// Lower-case hex, as `md5sum` and `sha256sum` print digests.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How many refused headers a package keeps, with their names: dpkg stops at the first one, so
/// a few are enough to say what is wrong, and a hostile data.tar of a million of them costs no
/// more than this.
pub const MAX_DPKG_REFUSALS: usize = 16;

/// A data.tar header of a type that dpkg 1.21.22's extractor (`lib/dpkg/tarfn.c`,
/// `tar_extractor`) refuses: dpkg stops unpacking there and installs nothing. debgate still
/// reads the package (another unpacker may install it, and a PAX header is where xattrs such
/// as `security.capability` live), and a built-in check reports the refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpkgRefusal {
    /// The member's name as the header gives it (normalised when it is a path), or the name of
    /// the header itself for one that describes no member (a global PAX header).
    pub member: String,
    /// The tar typeflag byte: `x`, `g`, `S`, `D`, `7`, `V`, or any other dpkg does not know.
    pub typeflag: u8,
}

impl DpkgRefusal {
    /// Whether dpkg 1.21.22's extractor refuses a header of this type. It accepts regular
    /// files (`0` and NUL), hard links, symlinks, devices, directories, FIFOs and GNU long
    /// names (`L`, `K`); every other typeflag stops the unpack.
    pub fn refused(typeflag: u8) -> bool {
        !matches!(
            typeflag,
            0 | b'0' | b'1' | b'2' | b'3' | b'4' | b'5' | b'6' | b'K' | b'L'
        )
    }

    /// What the member has or is, in words: "has a PAX extended header", "is a GNU sparse
    /// file".
    pub fn what(&self) -> &'static str {
        match self.typeflag {
            b'x' => "has a PAX extended header",
            b'g' => "is a PAX global header",
            b'S' => "is a GNU sparse file",
            b'D' => "is a GNU dumpdir",
            b'V' => "is a GNU volume label",
            b'M' => "is a GNU multi-volume continuation",
            b'7' => "is a contiguous file",
            b'A' => "is a Solaris ACL",
            b'X' => "is a Solaris extended header",
            _ => "is of a type dpkg does not know",
        }
    }

    /// The error dpkg prints for it, word for word (`tar_extractor`'s messages).
    pub fn dpkg_error(&self) -> String {
        let t = self.typeflag_text();
        match self.typeflag {
            b'V' | b'M' | b'S' | b'D' => format!("unsupported GNU tar header type '{t}'"),
            b'X' | b'A' => format!("unsupported Solaris tar header type '{t}'"),
            b'x' | b'g' => format!("unsupported PAX tar header type '{t}'"),
            _ => format!("unknown tar header type '{t}'"),
        }
    }

    /// The typeflag as text: the character when printable ASCII, else `\xNN`.
    pub fn typeflag_text(&self) -> String {
        if self.typeflag.is_ascii_graphic() {
            (self.typeflag as char).to_string()
        } else {
            format!("\\x{:02x}", self.typeflag)
        }
    }
}

impl Package {
    pub fn name(&self) -> &str {
        self.control.package()
    }

    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.path == path)
    }

    pub fn script(&self, name: ScriptName) -> Option<&Script> {
        self.scripts.iter().find(|s| s.name == name)
    }

    /// Whether `path` is a conffile. dpkg lists a conffile by its member's own name, which
    /// differs from `path` for a member written through a symlink (see [`Entry::member`]).
    pub fn is_conffile(&self, path: &str) -> bool {
        if self.conffiles.iter().any(|c| c.path == path) {
            return true;
        }
        let member = || self.entry(path).and_then(|e| e.member.as_deref());
        !self.conffiles.is_empty()
            && member().is_some_and(|m| self.conffiles.iter().any(|c| c.path == m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhex_reads_what_hex_writes_and_nothing_else() {
        let bytes = [0x00, 0x9f, 0xa0, 0xff];
        assert_eq!(unhex::<4>(hex(&bytes).as_bytes()), Some(bytes));
        assert_eq!(unhex::<2>(b"A0fF"), Some([0xa0, 0xff]));
        for bad in [&b"a0f"[..], b"a0fff0", b"g0ff", b"+0ff", b"  ff"] {
            assert_eq!(unhex::<2>(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_conffile_is_known_by_its_members_own_name_too() {
        let job = Entry {
            path: "/etc/cron.d/job".into(),
            raw_path: None,
            raw_link_target: None,
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: None,
            group: None,
            size: 0,
            link_target: None,
            xattrs: BTreeMap::new(),
            member: Some("/etc/x/job".into()),
            through: vec!["/etc/x".into()],
            device: None,
        };
        let pkg = Package {
            file: PathBuf::from("x.deb"),
            control: Control::default(),
            conffiles: vec![Conffile {
                path: "/etc/x/job".into(),
                flags: Vec::new(),
            }],
            scripts: Vec::new(),
            entries: vec![job],
            contents: BTreeMap::new(),
            ..Default::default()
        };
        assert!(pkg.is_conffile("/etc/cron.d/job"));
        assert!(pkg.is_conffile("/etc/x/job"));
        assert!(!pkg.is_conffile("/etc/cron.d/other"));
    }
}
