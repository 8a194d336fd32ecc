//! Showing text taken from a package (names, paths, control fields, script lines, quoted errors)
//! on a terminal or in a one-line message without letting it act on the terminal.

use std::borrow::Cow;

/// Unicode's explicit bidirectional formatting characters (the embeddings and overrides
/// U+202A–U+202E, the isolates U+2066–U+2069, the marks U+200E, U+200F and U+061C). None is a
/// control character to Rust, yet each reorders what follows on the line as a terminal or
/// viewer shows it, so a package could make a failure read as a pass.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
    )
}

/// Whether [`one_line`] escapes `c`: control characters (a newline could forge a line of our
/// output, an ESC could recolour or rewrite it) except tab, which moves right and nothing else
/// and is common in the scripts we quote; bidi controls; and the Unicode line and paragraph
/// separators.
fn escaped(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` as harmless text on one line: each character [`escaped`] names is written as Rust writes
/// it in a literal (`\n`, `\u{1b}`, `\u{202e}`), everything else is kept, so ordinary text,
/// non-ASCII names included, comes through unchanged and without a copy.
pub fn one_line(s: &str) -> Cow<'_, str> {
    if !s.chars().any(escaped) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_kept_as_is() {
        for s in [
            "",
            "/usr/bin/ping",
            "libfoo2.0+dfsg-1",
            "Größe",
            "a\tb",
            "ünïcödé ✓",
        ] {
            assert!(matches!(one_line(s), Cow::Borrowed(_)), "{s:?}");
            assert_eq!(one_line(s), s);
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("a\nE: forged"), "a\\nE: forged");
        assert_eq!(one_line("x\r\u{1b}[2Jy"), "x\\r\\u{1b}[2Jy");
        assert_eq!(
            one_line("nul\0del\u{7f}c1\u{9b}"),
            "nul\\u{0}del\\u{7f}c1\\u{9b}"
        );
        assert_eq!(
            one_line("line\u{2028}para\u{2029}"),
            "line\\u{2028}para\\u{2029}"
        );
    }

    #[test]
    fn every_bidi_control_is_escaped() {
        let bidi = [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}',
        ];
        for c in bidi {
            assert!(is_bidi_control(c), "{c:?}");
            let shown = one_line(&format!("P: ok {c}liaf")).into_owned();
            assert!(!shown.contains(c), "{shown:?}");
            assert_eq!(shown, format!("P: ok \\u{{{:x}}}liaf", u32::from(c)));
        }
        // Neighbours that reorder nothing stay.
        for c in ['\u{2029}', '\u{2065}', '\u{206a}', '\u{200d}', '\u{061b}'] {
            assert!(!is_bidi_control(c), "{c:?}");
        }
    }
}
