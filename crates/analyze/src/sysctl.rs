//! sysctl.d parsing and the effective value of each key across a set of packages, in the order
//! `systemd-sysctl` and `sysctl --system` (from the sysctl tools package) apply them.

use serde::Serialize;

/// Directories whose `*.conf` files are read, in precedence order: a file in an earlier
/// directory hides a same-named file in a later one.
pub const DIRS: [&str; 5] = [
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

/// `sysctl --system` reads this after every sysctl.d file.
pub const MAIN_FILE: &str = "/etc/sysctl.conf";

/// True for paths that `sysctl --system` reads.
pub fn is_sysctl_path(path: &str) -> bool {
    path == MAIN_FILE || dir_rank(path).is_some()
}

fn dir_rank(path: &str) -> Option<usize> {
    let (dir, name) = path.rsplit_once('/')?;
    if !name.ends_with(".conf") || name.len() == ".conf".len() {
        return None;
    }
    DIRS.iter().position(|d| *d == dir)
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub file: String,
    /// Key with `/` separators turned into `.` and any leading `-` removed.
    pub key: String,
    pub value: String,
    pub line: u32,
    /// The line began with `-`: a failure to set it is ignored, but it is still set.
    pub ignore_failure: bool,
}

/// Parse one sysctl.d file's text.
pub fn parse(file: &str, text: &str) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let mut key = key.trim();
        let ignore_failure = key.starts_with('-');
        if ignore_failure {
            key = key[1..].trim_start();
        }
        if key.is_empty() {
            continue;
        }
        out.push(Setting {
            file: file.to_string(),
            key: normalise_key(key),
            value: value.trim().to_string(),
            line: u32::try_from(i + 1).unwrap_or(u32::MAX),
            ignore_failure,
        });
    }
    out
}

/// `.` and `/` are equivalent separators; when the first separator is `/`, dots are part of a
/// component (e.g. a VLAN interface `eth0.100`) and are kept as written, which is the best a
/// string form can do.
pub fn normalise_key(key: &str) -> String {
    let first_sep = key.find(['.', '/']);
    match first_sep.map(|i| key.as_bytes()[i]) {
        Some(b'/') => key.replace('/', "."),
        _ => key.to_string(),
    }
}

/// Files from the whole set, ordered as they are applied: sorted by file name whatever their
/// directory, a name in a higher-precedence directory hiding the same name elsewhere, and
/// `/etc/sysctl.conf` last. Returns the indices of `paths` that take part, in order.
pub fn application_order(paths: &[&str]) -> Vec<usize> {
    let mut chosen: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    let mut main = None;
    for (idx, path) in paths.iter().enumerate() {
        if *path == MAIN_FILE {
            main = Some(idx);
            continue;
        }
        let Some(rank) = dir_rank(path) else { continue };
        let name = path.rsplit_once('/').map_or(*path, |(_, n)| n);
        match chosen.get(name) {
            Some((r, _)) if *r <= rank => {}
            _ => {
                chosen.insert(name, (rank, idx));
            }
        }
    }
    let mut order: Vec<usize> = chosen.values().map(|(_, idx)| *idx).collect();
    order.extend(main);
    order
}

/// Does a (possibly globbed, newer systemd) setting key apply to `key`?
pub fn key_matches(pattern: &str, key: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == key;
    }
    glob_match(pattern.as_bytes(), key.as_bytes())
}

fn glob_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob_match(&p[1..], s) || (!s.is_empty() && glob_match(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob_match(&p[1..], &s[1..]),
        _ => false,
    }
}

/// The setting that wins for `key`, given every file's settings already in application order.
pub fn effective<'a>(ordered: &'a [Setting], key: &str) -> Option<&'a Setting> {
    let key = normalise_key(key);
    ordered.iter().rev().find(|s| key_matches(&s.key, &key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_syntax() {
        let s = parse(
            "/etc/sysctl.d/x.conf",
            "# c\n; c\n  a.b = 1 \n-net/ipv4/ip_forward=0\nbad line\nkernel.x=\n",
        );
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].key.as_str(), s[0].value.as_str(), s[0].line),
            ("a.b", "1", 3)
        );
        assert_eq!(s[1].key, "net.ipv4.ip_forward");
        assert!(s[1].ignore_failure);
        assert_eq!(s[2].value, "");
    }

    #[test]
    fn orders_like_systemd() {
        let paths = [
            "/usr/lib/sysctl.d/50-default.conf",
            "/etc/sysctl.d/10-a.conf",
            "/usr/lib/sysctl.d/10-a.conf",
            "/etc/sysctl.conf",
            "/lib/sysctl.d/99-z.conf",
            "/etc/sysctl.d/README",
            "/etc/other/1.conf",
        ];
        assert_eq!(application_order(&paths), vec![1, 0, 4, 3]);
    }

    #[test]
    fn last_setting_wins_and_globs_apply() {
        let mut all = parse("/etc/sysctl.d/10.conf", "kernel.x = 1\n");
        all.extend(parse("/etc/sysctl.d/20.conf", "kernel/x = 0\n"));
        assert_eq!(effective(&all, "kernel.x").unwrap().value, "0");
        all.extend(parse("/etc/sysctl.d/30.conf", "kernel.* = 2\n"));
        assert_eq!(effective(&all, "kernel.x").unwrap().value, "2");
        assert!(effective(&all, "kernel.xy.z").is_some());
        assert!(effective(&all, "net.x").is_none());
    }
}
