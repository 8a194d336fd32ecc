//! Content digests for `diff`: control.tar's `md5sums` read as a stream under its own cap, and
//! which data.tar files have their real bytes hashed (MD5 and SHA-256) as they stream by.
//!
//! `md5sums` is the builder's claim and leaves conffiles out, so the files where a wrong claim
//! would matter are hashed for real: setuid, setgid and capable files, conffiles, and the files
//! a maintainer script may grant a privilege to. A package with no `md5sums` has every regular
//! file hashed instead; one whose `md5sums` is past its cap or malformed is not (the caller
//! reports its content changes as unknown), so a hostile `md5sums` costs at most the cap.

use crate::limits::Limits;
use debgate_facts::path::{escape_name, normalise, usrmerge_canonical};
use debgate_facts::{Conffile, Entry, FileDigest, Hashed, Md5sums, Script, CAPABILITY_XATTR};
use md5::Digest;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};

/// What a maintainer script may grant a privilege to, as the caller's script analysis says
/// (the reader knows no shell): the paths it names, or any path when a grant's target is
/// unknown.
#[derive(Debug, Clone, Default)]
pub struct ScriptTargets {
    /// Paths a grant hits; a recursive one (`chmod -R`) hits everything under them too.
    pub paths: Vec<(String, bool)>,
    /// A grant's target could not be resolved: any file may be privileged.
    pub unknown: bool,
}

/// Told the package's maintainer scripts once control.tar has been read (before data.tar is),
/// it says which files they may grant a privilege to. Setting it turns digests on.
pub type TargetsOf<'a> = &'a (dyn Fn(&[Script]) -> ScriptTargets + Sync);

/// The longest `md5sums` line taken: 32 hex digits, two separators, a path of at most
/// `max_path_len`, a newline; anything longer is not a line of the format.
fn max_line(limits: &Limits) -> usize {
    32 + 2 + limits.max_path_len + 1
}

/// Parse `md5sums` from `data` (its tar entry, `size` bytes) without holding it whole: line by
/// line, at most `limits.max_md5sums_bytes`. Problems make it [`Md5sums::Unusable`], never an
/// error; I/O errors of the stream itself are the caller's, as for any member.
pub(crate) fn read_md5sums(
    data: &mut dyn Read,
    size: u64,
    limits: &Limits,
) -> std::io::Result<Md5sums> {
    if size > limits.max_md5sums_bytes {
        return Ok(Md5sums::Unusable(format!(
            "md5sums is {size} bytes, over the max-md5sums-bytes limit of {}",
            limits.max_md5sums_bytes
        )));
    }
    let mut input = BufReader::with_capacity(64 * 1024, data.take(size));
    let mut line = Vec::new();
    let mut map = HashMap::new();
    let longest = max_line(limits);
    for number in 1.. {
        line.clear();
        // Bounded: a line is read into `line` up to one byte past the longest legal one.
        let n = (&mut input)
            .take(longest as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if n > longest {
            return Ok(Md5sums::Unusable(format!(
                "md5sums line {number} is longer than a digest and a path can be"
            )));
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.is_empty() {
            continue;
        }
        match parse_line(text) {
            Some((md5, path)) => {
                map.insert(path, md5);
            }
            None => {
                return Ok(Md5sums::Unusable(format!(
                    "md5sums line {number} is not `MD5  PATH`"
                )))
            }
        }
    }
    Ok(Md5sums::Listed(map))
}

/// `d41d8cd98f00b204e9800998ecf8427e  usr/bin/x` (md5sum's text form; ` *` marks its binary
/// form) → the digest and `/usr/bin/x`, named as the reader names members.
fn parse_line(line: &[u8]) -> Option<([u8; 16], String)> {
    let md5 = debgate_facts::unhex::<16>(line.get(..32)?)?;
    let rest = line.get(32..)?;
    let name = match rest {
        [b' ', b' ' | b'*', name @ ..] if !name.is_empty() => name,
        _ => return None,
    };
    let path = normalise(&escape_name(name))?;
    Some((md5, path))
}

/// Which data.tar files to hash, decided once control.tar has been read.
pub(crate) struct Select {
    hashed: Hashed,
    conffiles: HashSet<String>,
    /// usrmerge-canonical script targets, and whether each is recursive.
    targets: HashMap<String, bool>,
    recursive: bool,
}

impl Select {
    pub(crate) fn new(
        md5sums: &Md5sums,
        conffiles: &[Conffile],
        targets: &ScriptTargets,
    ) -> Select {
        let hashed = if matches!(md5sums, Md5sums::Absent) {
            Hashed::AllNoMd5sums
        } else if targets.unknown {
            Hashed::AllUnknownTarget
        } else {
            Hashed::Privileged
        };
        Select {
            hashed,
            conffiles: conffiles.iter().map(|c| c.path.clone()).collect(),
            targets: targets
                .paths
                .iter()
                .map(|(p, r)| (usrmerge_canonical(p), *r))
                .collect(),
            recursive: targets.paths.iter().any(|(_, r)| *r),
        }
    }

    pub(crate) fn hashed(&self) -> Hashed {
        self.hashed
    }

    /// Whether the bytes of this regular file (or hard link) are hashed.
    pub(crate) fn wants(&self, e: &Entry) -> bool {
        if self.hashed != Hashed::Privileged
            || e.mode & 0o6000 != 0
            || e.xattrs.contains_key(CAPABILITY_XATTR)
        {
            return true;
        }
        let member = e.member.as_deref().unwrap_or(&e.path);
        if self.conffiles.contains(member) || self.conffiles.contains(&e.path) {
            return true;
        }
        if self.targets.is_empty() {
            return false;
        }
        let canon = usrmerge_canonical(&e.path);
        if self.targets.contains_key(&canon) {
            return true;
        }
        // A recursive grant (`chmod -R u+s /usr/lib/x`) reaches everything below its target.
        self.recursive
            && canon
                .match_indices('/')
                .any(|(i, _)| self.targets.get(&canon[..i]) == Some(&true))
    }
}

/// MD5 and SHA-256 fed together.
pub(crate) struct Hasher {
    md5: md5::Md5,
    sha256: sha2::Sha256,
}

impl Hasher {
    pub(crate) fn new() -> Hasher {
        Hasher {
            md5: md5::Md5::new(),
            sha256: sha2::Sha256::new(),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.md5.update(bytes);
        self.sha256.update(bytes);
    }

    pub(crate) fn finish(self) -> FileDigest {
        FileDigest {
            md5: self.md5.finalize().into(),
            sha256: self.sha256.finalize().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8], limits: &Limits) -> Md5sums {
        read_md5sums(&mut &text[..], text.len() as u64, limits).unwrap()
    }

    #[test]
    fn reads_md5sum_lines_as_members_are_named() {
        let l = Limits::default();
        let m = read(
            b"d41d8cd98f00b204e9800998ecf8427e  usr/bin/x\n\
              0123456789ABCDEF0123456789abcdef *./usr/lib/a b\n\n\
              00000000000000000000000000000000  usr/\xff\n",
            &l,
        );
        let Md5sums::Listed(map) = &m else {
            panic!("{m:?}")
        };
        assert_eq!(map.len(), 3);
        assert_eq!(
            debgate_facts::hex(m.get("/usr/bin/x").unwrap()),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(m.get("/usr/lib/a b").unwrap()[0], 0x01);
        assert!(m.get("/usr/\\xff").is_some());
    }

    #[test]
    fn a_bad_or_large_md5sums_is_unusable_not_an_error() {
        let l = Limits::default();
        for (text, needle) in [
            (
                &b"d41d8cd98f00b204e9800998ecf8427e usr/bin/x\n"[..],
                "line 1",
            ),
            (
                b"d41d8cd98f00b204e9800998ecf8427e  usr/a\nxyz  usr/b\n",
                "line 2",
            ),
            (b"g41d8cd98f00b204e9800998ecf8427e  usr/a\n", "line 1"),
            (
                b"d41d8cd98f00b204e9800998ecf8427e  ../etc/shadow\n",
                "line 1",
            ),
        ] {
            match read(text, &l) {
                Md5sums::Unusable(why) => assert!(why.contains(needle), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        let small = Limits {
            max_md5sums_bytes: 10,
            ..Limits::default()
        };
        let m = read(b"d41d8cd98f00b204e9800998ecf8427e  usr/a\n", &small);
        assert!(
            matches!(&m, Md5sums::Unusable(w) if w.contains("max-md5sums-bytes")),
            "{m:?}"
        );
        let short = Limits {
            max_path_len: 8,
            ..Limits::default()
        };
        let m = read(
            b"d41d8cd98f00b204e9800998ecf8427e  usr/a/very/long/path\n",
            &short,
        );
        assert!(
            matches!(&m, Md5sums::Unusable(w) if w.contains("longer")),
            "{m:?}"
        );
    }

    #[test]
    fn hashes_match_the_tools() {
        let mut h = Hasher::new();
        h.update(b"a");
        h.update(b"bc");
        let d = h.finish();
        assert_eq!(d.md5_hex(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            d.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn entry(path: &str, mode: u32) -> Entry {
        Entry {
            path: path.into(),
            raw_path: None,
            raw_link_target: None,
            kind: debgate_facts::EntryKind::File,
            mode,
            uid: 0,
            gid: 0,
            owner: None,
            group: None,
            size: 0,
            link_target: None,
            xattrs: Default::default(),
            member: None,
            through: Vec::new(),
            device: None,
        }
    }

    #[test]
    fn selects_privileged_files_conffiles_and_script_targets() {
        let listed = Md5sums::Listed(HashMap::new());
        let conf = [Conffile {
            path: "/etc/x.conf".into(),
            flags: Vec::new(),
        }];
        let targets = ScriptTargets {
            paths: vec![("/bin/ping".into(), false), ("/usr/lib/t".into(), true)],
            unknown: false,
        };
        let s = Select::new(&listed, &conf, &targets);
        assert_eq!(s.hashed(), Hashed::Privileged);
        assert!(s.wants(&entry("/usr/bin/su", 0o4755)));
        assert!(s.wants(&entry("/usr/bin/wall", 0o2755)));
        assert!(!s.wants(&entry("/usr/bin/ls", 0o755)));
        let mut capable = entry("/usr/bin/x", 0o755);
        capable.xattrs.insert(CAPABILITY_XATTR.into(), vec![1]);
        assert!(s.wants(&capable));
        assert!(s.wants(&entry("/etc/x.conf", 0o644)));
        assert!(s.wants(&entry("/usr/bin/ping", 0o755)), "usrmerge alias");
        assert!(
            s.wants(&entry("/usr/lib/t/a/b", 0o644)),
            "under a recursive target"
        );
        assert!(!s.wants(&entry("/usr/lib/tx", 0o644)));
        let all = Select::new(&Md5sums::Absent, &[], &ScriptTargets::default());
        assert_eq!(all.hashed(), Hashed::AllNoMd5sums);
        assert!(all.wants(&entry("/usr/bin/ls", 0o755)));
        let unknown = ScriptTargets {
            unknown: true,
            ..Default::default()
        };
        let all = Select::new(&listed, &[], &unknown);
        assert_eq!(all.hashed(), Hashed::AllUnknownTarget);
        assert!(all.wants(&entry("/usr/bin/ls", 0o755)));
    }
}
