//! Linux file capabilities: names, `vfs_cap_data` decoding and `getcap`/`cap_from_text` text.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Capability names by number, as in `linux/capability.h` (without the `cap_` prefix).
pub const NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// Mask of every capability this build knows by name; `=ep` ("all") means these.
pub const ALL_KNOWN: u64 = (1u64 << NAMES.len()) - 1;

/// Number of a capability given as `cap_syslog`, `CAP_SYSLOG`, `syslog` or a decimal number.
pub fn number(name: &str) -> Option<u32> {
    let lower = name.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
    if let Some(i) = NAMES.iter().position(|n| *n == bare) {
        return Some(i as u32);
    }
    match bare.parse::<u32>() {
        Ok(n) if n < 64 => Some(n),
        _ => None,
    }
}

/// `cap_syslog` for 34; unknown numbers print as `cap_N`... rendered as libcap does, as the
/// bare number.
pub fn name(n: u32) -> String {
    match NAMES.get(n as usize) {
        Some(s) => format!("cap_{s}"),
        None => n.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CapError {
    #[error("security.capability value has {0} bytes; vfs_cap_data is 12, 20 or 24 bytes")]
    BadLength(usize),
    #[error("security.capability revision 0x{0:08x} is unknown")]
    BadRevision(u32),
    #[error("security.capability revision {revision} needs {expected} bytes, found {found}")]
    LengthMismatch {
        revision: u8,
        expected: usize,
        found: usize,
    },
}

/// A decoded `struct vfs_cap_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FileCaps {
    pub revision: u8,
    pub effective: bool,
    pub permitted: u64,
    pub inheritable: u64,
    /// Namespace root uid (revision 3 only).
    pub rootid: Option<u32>,
}

const REV_MASK: u32 = 0xFF00_0000;
const REV1: u32 = 0x0100_0000;
const REV2: u32 = 0x0200_0000;
const REV3: u32 = 0x0300_0000;
const EFFECTIVE: u32 = 0x0000_0001;

impl FileCaps {
    /// Decode the little-endian `vfs_cap_data` layout the kernel stores in the xattr.
    pub fn decode(v: &[u8]) -> Result<FileCaps, CapError> {
        if !matches!(v.len(), 12 | 20 | 24) {
            return Err(CapError::BadLength(v.len()));
        }
        let word =
            |i: usize| u32::from_le_bytes([v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]]);
        let magic = word(0);
        let (revision, expected) = match magic & REV_MASK {
            REV1 => (1u8, 12usize),
            REV2 => (2, 20),
            REV3 => (3, 24),
            other => return Err(CapError::BadRevision(other)),
        };
        if v.len() != expected {
            return Err(CapError::LengthMismatch {
                revision,
                expected,
                found: v.len(),
            });
        }
        let mut permitted = word(1) as u64;
        let mut inheritable = word(2) as u64;
        if revision >= 2 {
            permitted |= (word(3) as u64) << 32;
            inheritable |= (word(4) as u64) << 32;
        }
        Ok(FileCaps {
            revision,
            effective: magic & EFFECTIVE != 0,
            permitted,
            inheritable,
            rootid: (revision == 3).then(|| word(5)),
        })
    }

    /// Encode back to `vfs_cap_data` (used by the fixture writer).
    pub fn encode(&self) -> Vec<u8> {
        let rev = match self.revision {
            1 => REV1,
            3 => REV3,
            _ => REV2,
        };
        let magic = rev | if self.effective { EFFECTIVE } else { 0 };
        let mut words = vec![magic, self.permitted as u32, self.inheritable as u32];
        if self.revision != 1 {
            words.push((self.permitted >> 32) as u32);
            words.push((self.inheritable >> 32) as u32);
        }
        if self.revision == 3 {
            words.push(self.rootid.unwrap_or(0));
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    pub fn to_set(&self) -> CapSet {
        CapSet {
            effective: if self.effective {
                self.permitted | self.inheritable
            } else {
                0
            },
            permitted: self.permitted,
            inheritable: self.inheritable,
        }
    }
}

/// Three capability sets as `cap_from_text` builds them; what `setcap` writes to a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CapSet {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CapTextError {
    #[error("unknown capability name `{0}`")]
    UnknownName(String),
    #[error("capability clause `{0}` has no operator (`=`, `+` or `-`)")]
    NoOperator(String),
    #[error("capability clause `{0}` has a flag other than e, i or p")]
    BadFlag(String),
}

impl CapSet {
    pub fn is_empty(&self) -> bool {
        self.effective == 0 && self.permitted == 0 && self.inheritable == 0
    }

    /// Add every (capability, set) pair of `other`.
    pub fn union_with(&mut self, other: &CapSet) {
        self.effective |= other.effective;
        self.permitted |= other.permitted;
        self.inheritable |= other.inheritable;
    }

    /// Every capability present in any of the three sets.
    pub fn any(&self) -> u64 {
        self.effective | self.permitted | self.inheritable
    }

    /// Parse `cap_from_text` syntax: whitespace-separated clauses, each a comma-separated name
    /// list (empty means all) followed by one or more `op flags` pairs, e.g. `cap_x+ep-i`.
    pub fn from_text(text: &str) -> Result<CapSet, CapTextError> {
        let mut set = CapSet::default();
        for clause in text.split_whitespace() {
            let op_at = clause
                .find(['=', '+', '-'])
                .ok_or_else(|| CapTextError::NoOperator(clause.to_string()))?;
            let (names, mut ops) = clause.split_at(op_at);
            let mask = if names.is_empty() || names.eq_ignore_ascii_case("all") {
                ALL_KNOWN
            } else {
                let mut m = 0u64;
                for n in names.split(',') {
                    if n.eq_ignore_ascii_case("all") {
                        m |= ALL_KNOWN;
                        continue;
                    }
                    let num = number(n).ok_or_else(|| CapTextError::UnknownName(n.to_string()))?;
                    m |= 1u64 << num;
                }
                m
            };
            while !ops.is_empty() {
                let op = ops.as_bytes()[0];
                let rest = &ops[1..];
                let end = rest.find(['=', '+', '-']).unwrap_or(rest.len());
                let flags = &rest[..end];
                ops = &rest[end..];
                if op == b'=' {
                    set.effective &= !mask;
                    set.permitted &= !mask;
                    set.inheritable &= !mask;
                }
                for f in flags.chars() {
                    let target = match f.to_ascii_lowercase() {
                        'e' => &mut set.effective,
                        'p' => &mut set.permitted,
                        'i' => &mut set.inheritable,
                        _ => return Err(CapTextError::BadFlag(clause.to_string())),
                    };
                    if op == b'-' {
                        *target &= !mask;
                    } else {
                        *target |= mask;
                    }
                }
            }
        }
        Ok(set)
    }

    /// `getcap`-style text: capabilities grouped by their flags, e.g.
    /// `cap_net_admin,cap_net_raw=ep`; empty string for an empty set.
    pub fn to_text(&self) -> String {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for n in 0..64u32 {
            let bit = 1u64 << n;
            let mut flags = String::new();
            if self.effective & bit != 0 {
                flags.push('e');
            }
            if self.inheritable & bit != 0 {
                flags.push('i');
            }
            if self.permitted & bit != 0 {
                flags.push('p');
            }
            if flags.is_empty() {
                continue;
            }
            match groups.iter_mut().find(|(f, _)| *f == flags) {
                Some((_, names)) => names.push(name(n)),
                None => groups.push((flags, vec![name(n)])),
            }
        }
        groups
            .into_iter()
            .map(|(f, names)| format!("{}={f}", names.join(",")))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Names of every capability in any set, e.g. `["cap_syslog"]`.
    pub fn names(&self) -> Vec<String> {
        (0..64u32)
            .filter(|n| self.any() & (1u64 << n) != 0)
            .map(name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_revision() {
        let caps = FileCaps {
            revision: 2,
            effective: true,
            permitted: 1 << 34,
            inheritable: 0,
            rootid: None,
        };
        for rev in [2u8, 3] {
            let c = FileCaps {
                revision: rev,
                rootid: (rev == 3).then_some(1000),
                ..caps
            };
            let enc = c.encode();
            assert_eq!(enc.len(), if rev == 3 { 24 } else { 20 });
            assert_eq!(FileCaps::decode(&enc).unwrap(), c);
            assert_eq!(c.to_set().to_text(), "cap_syslog=ep");
        }
        let v1 = FileCaps {
            revision: 1,
            permitted: 1 << 13,
            ..caps
        };
        assert_eq!(
            FileCaps::decode(&v1.encode()).unwrap().to_set().to_text(),
            "cap_net_raw=ep"
        );
    }

    #[test]
    fn rejects_malformed_values() {
        assert_eq!(FileCaps::decode(&[0; 7]), Err(CapError::BadLength(7)));
        let mut v = vec![0u8; 20];
        v[3] = 0x07;
        assert!(matches!(
            FileCaps::decode(&v),
            Err(CapError::BadRevision(_))
        ));
        let mut v = vec![0u8; 12];
        v[3] = 0x02;
        assert!(matches!(
            FileCaps::decode(&v),
            Err(CapError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn parses_cap_from_text_forms() {
        let s = CapSet::from_text("CAP_SYSLOG+ep").unwrap();
        assert_eq!(s.to_text(), "cap_syslog=ep");
        let s = CapSet::from_text("cap_net_raw,cap_net_admin=eip").unwrap();
        assert_eq!(s.to_text(), "cap_net_admin,cap_net_raw=eip");
        let s = CapSet::from_text("cap_x=ep").unwrap_err();
        assert_eq!(s, CapTextError::UnknownName("cap_x".into()));
        let s = CapSet::from_text("=ep").unwrap();
        assert_eq!(s.permitted, ALL_KNOWN);
        let s = CapSet::from_text("cap_net_raw+ep-e").unwrap();
        assert_eq!(s.to_text(), "cap_net_raw=p");
        let s = CapSet::from_text("cap_net_raw+ep cap_net_raw-epi").unwrap();
        assert!(s.is_empty());
        let s = CapSet::from_text("cap_sys_admin=p cap_net_raw+ep").unwrap();
        assert_eq!(s.to_text(), "cap_net_raw=ep cap_sys_admin=p");
    }
}
