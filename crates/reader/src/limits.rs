//! Resource limits that keep reading a hostile package bounded in memory and time.
//!
//! Every limit has a default chosen to be well above anything a real Debian or Ubuntu package
//! needs, so that only hostile or broken input trips it. The CLI exposes them as
//! `--limit NAME=VALUE` through [`Limits::set`] and [`Limits::NAMES`].

use serde::Serialize;
use thiserror::Error;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Default for [`Limits::max_member_bytes`]: 16 GiB. The largest packages in the archives
/// (kernel debug symbols, game data) hold a few GiB of tar; 16 GiB leaves headroom while still
/// stopping a decompression bomb after seconds of work instead of reading an endless stream.
pub const MAX_MEMBER_BYTES: u64 = 16 * GIB;

/// Default for [`Limits::max_entries`]: 1,000,000. The packages with the most files hold around
/// 100k; ten times that still bounds the entry list to a few hundred MB.
pub const MAX_ENTRIES: u64 = 1_000_000;

/// Default for [`Limits::max_path_len`]: 4096 bytes, Linux's `PATH_MAX`. No file a package
/// installs can have a longer name.
pub const MAX_PATH_LEN: usize = 4096;

/// Default for [`Limits::max_content_bytes`]: 1 MiB. Captured files are configuration that
/// rules read (sysctl.d snippets, kernel configs of about 250 KiB); their head is kept beyond it.
pub const MAX_CONTENT_BYTES: u64 = MIB;

/// Default for [`Limits::max_control_file_bytes`]: 4 MiB. Real `control` paragraphs are a few
/// KiB and the largest maintainer scripts a few hundred KiB; this bounds the seven control files
/// we keep in memory.
pub const MAX_CONTROL_FILE_BYTES: u64 = 4 * MIB;

/// Default for [`Limits::max_xattr_bytes`]: 65536, Linux's `XATTR_SIZE_MAX`. No filesystem can
/// store a larger extended attribute value, so a larger one is never legitimate.
pub const MAX_XATTR_BYTES: usize = 65536;

/// Default for [`Limits::max_compressed_member_bytes`]: 8 GiB. The ar size field tops out at
/// 9,999,999,999 bytes; the largest real `.deb`s (GPU libraries) are a few GiB.
pub const MAX_COMPRESSED_MEMBER_BYTES: u64 = 8 * GIB;

/// Default for [`Limits::xz_memlimit`]: 512 MiB. Single-threaded xz at `-9e` needs 65 MiB;
/// dpkg's multi-threaded streams need about 3 block sizes per thread, so a few threads fit.
/// Past the limit the threaded decoder falls back to one thread before failing.
pub const XZ_MEMLIMIT: u64 = 512 * MIB;

/// Default for [`Limits::allow_device_nodes`]: true, as dpkg unpacks them. Debian Policy 10.6
/// forbids device nodes in a package (maintainer scripts create them), which makes one a thing
/// for a rule to judge (the `debian-policy` profile does), not a reason to stop reading; set it
/// to false to refuse such a package outright.
pub const ALLOW_DEVICE_NODES: bool = true;

/// Default for [`Limits::max_script_paths`]: 256. A real postinst has a handful of paths per
/// run, a few dozen once debconf branches and fallbacks multiply; past the limit the analyzer
/// merges paths (over-approximating the end states) and says so.
pub const MAX_SCRIPT_PATHS: usize = 256;

/// Default for [`Limits::max_trailing_bytes`]: 16 MiB. dpkg stops reading a `.deb` at the end of
/// its data member, so bytes after it (block padding, a stray appended file) do not stop it
/// installing; debgate reads them only to count them for the `trailing-bytes` warning. Counting
/// costs a read, and a package read from standard input could go on forever; 16 MiB takes
/// milliseconds and is far above padding to a block (a few KiB).
pub const MAX_TRAILING_BYTES: u64 = 16 * MIB;

/// Default for [`Limits::allow_extra_members`]: false. dpkg stops reading at the end of the data
/// member, so a whole ar member of another name after it (a second `data.tar.xz`, say) does not
/// stop it installing. `deb(5)` calls such a package invalid, and another unpacker could take
/// the second data member for the real one, so by default debgate refuses it: a documented
/// decision to be stricter than dpkg. With true, it is read as dpkg reads it, and everything from
/// that member on counts as trailing bytes for the `trailing-bytes` warning.
pub const ALLOW_EXTRA_MEMBERS: bool = false;

/// Default for [`Limits::max_md5sums_bytes`]: 64 MiB. control.tar's `md5sums` has one line of
/// about 100 bytes per file; the packages with the most files (texlive's font collections,
/// linux-headers) list about 100k, some 10 MiB. Past the limit the package is read as usual and
/// what changed in content is unknown for it: md5sums never makes a package unreadable.
pub const MAX_MD5SUMS_BYTES: u64 = 64 * MIB;

/// Bounds on what reading one package may cost. See the `pub const` defaults for the reasoning
/// behind each value. Serialized (field names as here) into the facts cache's key, as the
/// limits shape the facts read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Decompressed bytes per control.tar/data.tar member (decompression bomb guard).
    pub max_member_bytes: u64,
    /// Tar entries per member.
    pub max_entries: u64,
    /// Bytes in a member name or link target.
    pub max_path_len: usize,
    /// Bytes kept of each captured data.tar file; the rest is skipped and `truncated` set.
    pub max_content_bytes: u64,
    /// Bytes of `control`, `conffiles` and each maintainer script.
    pub max_control_file_bytes: u64,
    /// Bytes of one extended attribute value.
    pub max_xattr_bytes: usize,
    /// Declared (compressed) size of one ar member.
    pub max_compressed_member_bytes: u64,
    /// Memory the xz/lzma decoder may use; also bounds the zstd window (its log2).
    pub xz_memlimit: u64,
    /// Accept character and block device entries instead of rejecting the package.
    pub allow_device_nodes: bool,
    /// Paths alive at once while the script analyzer walks one run of a maintainer script.
    pub max_script_paths: usize,
    /// Bytes after the last ar member (what dpkg never reads) counted before the package is
    /// refused.
    pub max_trailing_bytes: u64,
    /// Read a package with a whole ar member of another name after the data member, as dpkg
    /// does (counting it as trailing bytes), instead of refusing it.
    pub allow_extra_members: bool,
    /// Bytes of control.tar's `md5sums` read (only by `diff`, which compares content by it).
    pub max_md5sums_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_member_bytes: MAX_MEMBER_BYTES,
            max_entries: MAX_ENTRIES,
            max_path_len: MAX_PATH_LEN,
            max_content_bytes: MAX_CONTENT_BYTES,
            max_control_file_bytes: MAX_CONTROL_FILE_BYTES,
            max_xattr_bytes: MAX_XATTR_BYTES,
            max_compressed_member_bytes: MAX_COMPRESSED_MEMBER_BYTES,
            xz_memlimit: XZ_MEMLIMIT,
            allow_device_nodes: ALLOW_DEVICE_NODES,
            max_script_paths: MAX_SCRIPT_PATHS,
            max_trailing_bytes: MAX_TRAILING_BYTES,
            allow_extra_members: ALLOW_EXTRA_MEMBERS,
            max_md5sums_bytes: MAX_MD5SUMS_BYTES,
        }
    }
}

/// A `--limit NAME=VALUE` that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitError {
    #[error("unknown limit `{name}` (known: {known})")]
    UnknownName { name: String, known: String },
    #[error("limit `{name}`: `{value}` is not {expected}")]
    BadValue {
        name: String,
        value: String,
        expected: &'static str,
    },
    #[error("`{0}` is not NAME=VALUE")]
    NotAssignment(String),
}

const SIZE: &str = "a byte count (e.g. 4096, 64KiB, 16GiB)";
const COUNT: &str = "a whole number (e.g. 500, 1_000_000)";
const BOOL: &str = "true or false";

impl Limits {
    /// Every limit's CLI name (kebab-case) and a one-line description.
    pub const NAMES: &'static [(&'static str, &'static str)] = &[
        (
            "max-member-bytes",
            "decompressed bytes per control.tar/data.tar (decompression bomb guard); default 16GiB",
        ),
        (
            "max-entries",
            "tar entries per control.tar/data.tar; default 1000000",
        ),
        (
            "max-path-len",
            "bytes in a member name or link target; default 4096",
        ),
        (
            "max-content-bytes",
            "bytes kept of each data.tar file a rule reads (the rest is marked truncated); default 1MiB",
        ),
        (
            "max-control-file-bytes",
            "bytes of control, conffiles and each maintainer script; default 4MiB",
        ),
        (
            "max-xattr-bytes",
            "bytes of one extended attribute value; default 65536",
        ),
        (
            "max-compressed-member-bytes",
            "declared size of one ar member; default 8GiB",
        ),
        (
            "xz-memlimit",
            "memory the xz/lzma decoder may use, also bounds the zstd window; default 512MiB",
        ),
        (
            "allow-device-nodes",
            "read character/block devices in data.tar as facts, as dpkg unpacks them (false: refuse the package); default true",
        ),
        (
            "max-script-paths",
            "paths per maintainer-script run the analyzer follows before merging them (over-approximating); default 256",
        ),
        (
            "max-trailing-bytes",
            "bytes after the last ar member, which dpkg never reads, counted for the trailing-bytes warning before the package is refused; default 16MiB",
        ),
        (
            "allow-extra-members",
            "read a package with a whole non-`_` ar member after data.tar as dpkg does, counting it as trailing bytes (false: refuse it, as deb(5) calls it invalid); default false",
        ),
        (
            "max-md5sums-bytes",
            "bytes of control.tar's md5sums that diff reads to compare content; past it, content changes are unknown for that package; default 64MiB",
        ),
    ];

    /// Set the limit called `name` (kebab-case as in [`Limits::NAMES`]; `_` is accepted for
    /// `-`) from its text form. Sizes take an optional binary suffix (`K`/`KiB`, `M`/`MiB`,
    /// `G`/`GiB`, `T`/`TiB`, all powers of 1024) and `_` digit separators.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), LimitError> {
        let key = name.trim().replace('_', "-").to_ascii_lowercase();
        let bad = |expected| LimitError::BadValue {
            name: key.clone(),
            value: value.to_string(),
            expected,
        };
        let size = || parse_size(value).ok_or_else(|| bad(SIZE));
        let count = || parse_count(value).ok_or_else(|| bad(COUNT));
        match key.as_str() {
            "max-member-bytes" => self.max_member_bytes = size()?,
            "max-entries" => self.max_entries = count()?,
            "max-path-len" => {
                self.max_path_len = usize::try_from(size()?).map_err(|_| bad(SIZE))?
            }
            "max-content-bytes" => self.max_content_bytes = size()?,
            "max-control-file-bytes" => self.max_control_file_bytes = size()?,
            "max-xattr-bytes" => {
                self.max_xattr_bytes = usize::try_from(size()?).map_err(|_| bad(SIZE))?
            }
            "max-compressed-member-bytes" => self.max_compressed_member_bytes = size()?,
            "xz-memlimit" => self.xz_memlimit = size()?,
            "allow-device-nodes" => {
                self.allow_device_nodes = parse_bool(value).ok_or_else(|| bad(BOOL))?
            }
            "max-script-paths" => {
                self.max_script_paths = usize::try_from(count()?)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(COUNT))?
            }
            "max-trailing-bytes" => self.max_trailing_bytes = size()?,
            "allow-extra-members" => {
                self.allow_extra_members = parse_bool(value).ok_or_else(|| bad(BOOL))?
            }
            "max-md5sums-bytes" => self.max_md5sums_bytes = size()?,
            _ => {
                return Err(LimitError::UnknownName {
                    name: name.to_string(),
                    known: Self::NAMES
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        }
        Ok(())
    }

    /// Apply one `NAME=VALUE` assignment, the form the CLI's `--limit` takes.
    pub fn apply(&mut self, assignment: &str) -> Result<(), LimitError> {
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| LimitError::NotAssignment(assignment.to_string()))?;
        self.set(name, value)
    }

    /// The current value of the limit called `name`, as text `set` accepts.
    pub fn get(&self, name: &str) -> Option<String> {
        let key = name.trim().replace('_', "-").to_ascii_lowercase();
        Some(match key.as_str() {
            "max-member-bytes" => self.max_member_bytes.to_string(),
            "max-entries" => self.max_entries.to_string(),
            "max-path-len" => self.max_path_len.to_string(),
            "max-content-bytes" => self.max_content_bytes.to_string(),
            "max-control-file-bytes" => self.max_control_file_bytes.to_string(),
            "max-xattr-bytes" => self.max_xattr_bytes.to_string(),
            "max-compressed-member-bytes" => self.max_compressed_member_bytes.to_string(),
            "xz-memlimit" => self.xz_memlimit.to_string(),
            "allow-device-nodes" => self.allow_device_nodes.to_string(),
            "max-script-paths" => self.max_script_paths.to_string(),
            "max-trailing-bytes" => self.max_trailing_bytes.to_string(),
            "allow-extra-members" => self.allow_extra_members.to_string(),
            "max-md5sums-bytes" => self.max_md5sums_bytes.to_string(),
            _ => return None,
        })
    }
}

fn parse_count(s: &str) -> Option<u64> {
    let digits: String = s.trim().chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n = parse_count(num)?;
    let mult = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" | "kb" => KIB,
        "m" | "mib" | "mb" => MIB,
        "g" | "gib" | "gb" => GIB,
        "t" | "tib" | "tb" => 1024 * GIB,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}
