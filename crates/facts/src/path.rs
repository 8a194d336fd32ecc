//! Path normalisation for data.tar member names, and the usrmerge aliases.

/// Normalise a tar member name to debgate's absolute form: `./usr/bin/x` → `/usr/bin/x`,
/// `./` → `/`, `usr//lib/` → `/usr/lib`. `.` components are dropped. Returns `None` for a name
/// with a `..` component, which could escape the package root.
pub fn normalise(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len() + 1);
    for comp in name.split('/') {
        match comp {
            "" | "." => {}
            ".." => return None,
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// Directories that usrmerge turns into symlinks to their `/usr` twin.
const MERGED: [&str; 3] = ["/bin", "/sbin", "/lib"];

/// The `/usr` form of a path under usrmerge: `/bin/ping` → `/usr/bin/ping`,
/// `/lib64/ld.so` → `/usr/lib64/ld.so`. Other paths are returned unchanged.
pub fn usrmerge_canonical(path: &str) -> String {
    for dir in MERGED {
        if let Some(rest) = path.strip_prefix(dir) {
            // `/lib*` covers lib32, lib64, libx32, libo32; `/bin` and `/sbin` must match exactly.
            let (suffix, tail) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let ok = if dir == "/lib" {
                matches!(suffix, "" | "32" | "64" | "x32" | "o32")
            } else {
                suffix.is_empty()
            };
            if ok {
                return format!("/usr{dir}{suffix}{tail}");
            }
        }
    }
    path.to_string()
}

/// True when two paths name the same file on a usrmerged system.
pub fn usrmerge_same(a: &str, b: &str) -> bool {
    a == b || usrmerge_canonical(a) == usrmerge_canonical(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_member_names() {
        assert_eq!(normalise("./usr/bin/x").as_deref(), Some("/usr/bin/x"));
        assert_eq!(normalise("./").as_deref(), Some("/"));
        assert_eq!(normalise("usr//lib/./x/").as_deref(), Some("/usr/lib/x"));
        assert_eq!(normalise("./usr/../../etc/passwd"), None);
    }

    #[test]
    fn aliases_usrmerged_directories() {
        assert_eq!(usrmerge_canonical("/bin/ping"), "/usr/bin/ping");
        assert_eq!(usrmerge_canonical("/sbin/x"), "/usr/sbin/x");
        assert_eq!(usrmerge_canonical("/lib64/ld.so"), "/usr/lib64/ld.so");
        assert_eq!(
            usrmerge_canonical("/lib/x86_64-linux-gnu"),
            "/usr/lib/x86_64-linux-gnu"
        );
        assert_eq!(usrmerge_canonical("/binx/y"), "/binx/y");
        assert_eq!(usrmerge_canonical("/library/y"), "/library/y");
        assert!(usrmerge_same("/usr/bin/ping", "/bin/ping"));
        assert!(!usrmerge_same("/usr/bin/ping", "/sbin/ping"));
    }
}
