//! Path normalisation for data.tar member names, how a name that is not UTF-8 is shown, and the
//! usrmerge aliases.

use std::borrow::Cow;
use std::fmt::Write;

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

/// A name from an archive as text: valid UTF-8 unchanged (borrowed), and each byte that is not
/// part of valid UTF-8 as `\xNN` (two lower-case hex digits), so a name that is not UTF-8 is
/// shown the same way everywhere (text, JSON, SARIF, globs) and never collapses to U+FFFD.
///
/// A backslash already in a name is kept as it is: real packages ship systemd unit names such
/// as `dev-disk-by\x2duuid.swap` whose `\x2d` is literal text. So a shown name alone does not
/// always say which bytes it stands for (`a\xff` is either four characters or `a` and the byte
/// 0xff); the reader keeps the bytes (`Entry::raw_path`) and refuses a package in which one
/// shown name stands for two byte strings. `/` and `.` are ASCII, never part of an invalid
/// sequence, so escaping commutes with [`normalise`] and with splitting into components.
pub fn escape_name(raw: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(raw) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(raw.len() + 16);
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// [`normalise`] on a name's bytes, for the raw form of a name that is not UTF-8.
pub fn normalise_bytes(name: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 1);
    for comp in name.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => return None,
            c => {
                out.push(b'/');
                out.extend_from_slice(c);
            }
        }
    }
    if out.is_empty() {
        out.push(b'/');
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
    fn names_that_are_not_utf8_show_each_invalid_byte_as_an_escape() {
        assert!(matches!(escape_name(b"/usr/bin/ping"), Cow::Borrowed(_)));
        assert_eq!(escape_name(b"/usr/bin/acct\xffpw"), "/usr/bin/acct\\xffpw");
        // A valid multi-byte character stays; a cut-off one is escaped byte by byte.
        assert_eq!(escape_name("Gr\u{f6}\u{df}e".as_bytes()), "Gr\u{f6}\u{df}e");
        assert_eq!(escape_name(b"a\xc3"), "a\\xc3");
        assert_eq!(escape_name(b"\xe2\x82x"), "\\xe2\\x82x");
        // A literal backslash in a valid name is not escaped (systemd unit names).
        assert_eq!(
            escape_name(b"dev-disk-by\\x2duuid.swap"),
            "dev-disk-by\\x2duuid.swap"
        );
        assert!(!escape_name(b"\x80\xff").contains('\u{fffd}'));
    }

    #[test]
    fn escaping_commutes_with_normalising() {
        for name in [
            &b"./usr/bin/a\xff/"[..],
            b"usr//\xfe/./x",
            b"./",
            b"./a/../b",
        ] {
            let via_bytes = normalise_bytes(name).map(|b| escape_name(&b).into_owned());
            assert_eq!(via_bytes, normalise(&escape_name(name)), "{name:?}");
        }
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
