//! Parsing control.tar's `control` paragraph (with `debcontrol`) and its `conffiles` list.

use crate::ReadError;
use debgate_facts::path::escape_name;
use debgate_facts::{Conffile, Control};

/// Parse the deb822 paragraph in `control`.
///
/// Values are as `debcontrol` gives them: the text after `Field:` with continuation lines
/// appended after a `\n`, each line stripped of leading whitespace (so a description's ` .`
/// becomes `.`); we also strip trailing whitespace, which `debcontrol` keeps. Like dpkg we
/// reject a second paragraph and a repeated field, since either would let two readers of the
/// same package disagree about its name or version.
pub(crate) fn parse_control(bytes: &[u8]) -> Result<Control, ReadError> {
    let bad = |detail: String| ReadError::BadControl { detail };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| bad(format!("not valid UTF-8 (at byte {})", e.valid_up_to())))?;
    let paragraphs = debcontrol::parse_str(text).map_err(|e| bad(syntax_error(text, &e)))?;
    let mut paragraphs = paragraphs.into_iter();
    let Some(paragraph) = paragraphs.next() else {
        return Err(bad("no fields".to_string()));
    };
    if paragraphs.next().is_some() {
        return Err(bad("more than one paragraph".to_string()));
    }
    let mut control = Control::default();
    for field in paragraph.fields {
        if control.get(field.name).is_some() {
            return Err(bad(format!("field `{}` appears twice", field.name)));
        }
        let value = if field.value.lines().any(|l| l.len() != l.trim_end().len()) {
            field
                .value
                .lines()
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            field.value
        };
        control.fields.push((field.name.to_string(), value));
    }
    Ok(control)
}

/// Turn `debcontrol`'s error, whose text ends with the whole unparsed rest of the file, into one
/// line with a line number and a short excerpt.
fn syntax_error(text: &str, e: &debcontrol::SyntaxError) -> String {
    let shown = e.to_string();
    if let Some((what, rest)) = shown.split_once(" at '") {
        let rest = rest.strip_suffix('\'').unwrap_or(rest);
        if text.ends_with(rest) {
            let offset = text.len() - rest.len();
            let line = text[..offset].matches('\n').count() + 1;
            let excerpt: String = rest.lines().next().unwrap_or("").chars().take(60).collect();
            return format!(
                "syntax error on line {line} ({what}): `{}`",
                excerpt.escape_debug()
            );
        }
    }
    let first: String = shown
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(100)
        .collect();
    format!("syntax error: {}", first.escape_debug())
}

/// Parse `conffiles`: one absolute path per line, optionally preceded by flags such as
/// `remove-on-upgrade` (dpkg ≥ 1.20.1). Blank lines are ignored; a path may contain spaces,
/// since dpkg takes everything from the first `/` as the path.
pub(crate) fn parse_conffiles(bytes: &[u8]) -> Result<Vec<Conffile>, ReadError> {
    // A conffile whose name is not UTF-8 is listed by its bytes; it is shown as data.tar's
    // names are (`\xNN` escapes), so that it still names its member.
    let text = escape_name(bytes);
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let mut line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let mut flags = Vec::new();
        while !line.starts_with('/') {
            let Some((flag, rest)) = line.split_once(char::is_whitespace) else {
                return Err(ReadError::BadConffiles {
                    line: i + 1,
                    detail: format!("`{}` is not an absolute path", line.escape_debug()),
                });
            };
            flags.push(flag.to_string());
            line = rest.trim_start();
        }
        out.push(Conffile {
            path: line.to_string(),
            flags,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multiline_fields_in_order() {
        let c = parse_control(
            b"Package: ping\nVersion: 1.0 \nDescription: short\n more\n .\n end\nDepends: libc6\n",
        )
        .unwrap();
        let names: Vec<_> = c.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["Package", "Version", "Description", "Depends"]);
        assert_eq!(c.version(), "1.0");
        assert_eq!(c.get("description"), Some("short\nmore\n.\nend"));
    }

    #[test]
    fn rejects_bad_control() {
        for (input, needle) in [
            (&b"Package: a\nPackage: b\n"[..], "appears twice"),
            (b"Package: a\n\nPackage: b\n", "more than one paragraph"),
            (b"Package: a\nnot a field\n", "line 2"),
            (b"\n\n", "no fields"),
            (b"Package: \xff\n", "UTF-8"),
        ] {
            let e = parse_control(input).unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn parses_conffiles_with_flags() {
        let c = parse_conffiles(b"/etc/a\n\nremove-on-upgrade /etc/b c\n  \n").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].path, "/etc/a");
        assert!(c[0].flags.is_empty());
        assert_eq!(c[1].path, "/etc/b c");
        assert_eq!(c[1].flags, ["remove-on-upgrade"]);
        let c = parse_conffiles(b"/etc/a\xff\n").unwrap();
        assert_eq!(c[0].path, "/etc/a\\xff");
        assert!(matches!(
            parse_conffiles(b"/etc/a\netc/b\n"),
            Err(ReadError::BadConffiles { line: 2, .. })
        ));
    }
}
