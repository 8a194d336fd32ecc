//! The OpenPGP clearsign framing (RFC 4880 §7) of a `.changes` (and of apt's `InRelease`, which
//! is framed the same way), judged once for both the parser and the signature check, so that
//! the two can never disagree on where the signed text is.

pub(crate) const BEGIN_SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
pub(crate) const BEGIN_SIGNATURE: &str = "-----BEGIN PGP SIGNATURE-----";
pub(crate) const END_SIGNATURE: &str = "-----END PGP SIGNATURE-----";

/// What a file is, once its framing is judged sound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    /// No OpenPGP armour anywhere: a plain deb822 file.
    Plain,
    /// One clearsigned block with nothing around it but trailing blank lines. `text` is the
    /// signed text with the dash-escaping removed (line endings as `\n`).
    Clearsigned { text: Vec<u8> },
}

/// Judge the framing. `Err` is one line saying what is wrong.
///
/// As dak does, text before or after the one signed block is refused: gpgv says "good
/// signature" for such a file, while a parser that read the outside text would see fields
/// nobody signed. Armour lines are compared without line ending and trailing blanks, as gpg
/// accepts them: being as lenient as gpg here means we never miss a boundary it sees. Only the
/// framing is judged; the headers, base64 and packets inside are the verifier's business.
pub fn frame(bytes: &[u8]) -> Result<Framing, String> {
    let bad = |detail: &str| Err(detail.to_string());
    let raw: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let lines: Vec<&[u8]> = raw.iter().map(|l| l.trim_ascii_end()).collect();
    let is = |line: &[u8], armour: &str| line == armour.as_bytes();
    let contains =
        |line: &[u8], needle: &str| line.windows(needle.len()).any(|w| w == needle.as_bytes());

    if !lines.first().is_some_and(|l| is(l, BEGIN_SIGNED)) {
        // Not a clearsigned message from its first byte. Is it one further down, or another
        // kind of OpenPGP data? Those are not "unsigned", and saying so would mislead.
        if lines.iter().any(|l| contains(l, BEGIN_SIGNED)) {
            return bad("text before -----BEGIN PGP SIGNED MESSAGE-----, outside the signature");
        }
        let first = lines
            .iter()
            .find(|l| !l.is_empty())
            .copied()
            .unwrap_or_default();
        if first.starts_with(BEGIN_SIGNATURE.as_bytes()) {
            return bad("a detached signature, not a clearsigned .changes");
        }
        if first.starts_with(b"-----BEGIN PGP MESSAGE-----") {
            return bad("an armoured OpenPGP message (inline-signed), not a clearsigned .changes");
        }
        if bytes.first().is_some_and(|&b| is_signed_packet_start(b)) {
            return bad("binary OpenPGP data, not a clearsigned .changes");
        }
        if lines
            .iter()
            .any(|l| l.starts_with(b"-----BEGIN PGP") || l.starts_with(b"-----END PGP"))
        {
            return bad("an armour line in a file that is not a clearsigned message");
        }
        return Ok(Framing::Plain);
    }

    // Armour headers ("Hash: SHA512") up to the first blank line.
    let mut i = 1;
    while i < lines.len() && !lines[i].is_empty() {
        if lines[i].starts_with(b"-----") {
            return bad("malformed clearsigned message: armour line among the armour headers");
        }
        i += 1;
    }
    if i >= lines.len() {
        return bad("malformed clearsigned message: no blank line after the armour headers");
    }

    // The signed text, dash-escaped: any line starting with "-" is sent as "- -...". An
    // armour line here (say a second BEGIN PGP SIGNED MESSAGE) was not escaped, so it is not
    // signed text, and readers disagree on what it means.
    i += 1;
    let mut text = Vec::new();
    while i < lines.len() && !is(lines[i], BEGIN_SIGNATURE) {
        if lines[i].starts_with(b"-----BEGIN ") || lines[i].starts_with(b"-----END ") {
            return bad("malformed clearsigned message: unescaped armour line in the signed text");
        }
        let line = raw[i].strip_suffix(b"\r").unwrap_or(raw[i]);
        text.extend_from_slice(line.strip_prefix(b"- ").unwrap_or(line));
        text.push(b'\n');
        i += 1;
    }
    if i >= lines.len() {
        return bad("malformed clearsigned message: no -----BEGIN PGP SIGNATURE-----");
    }

    i += 1;
    while i < lines.len() && !is(lines[i], END_SIGNATURE) {
        if lines[i].starts_with(b"-----") {
            return bad("malformed clearsigned message: unexpected armour line in the signature");
        }
        i += 1;
    }
    if i >= lines.len() {
        return bad("malformed clearsigned message: no -----END PGP SIGNATURE-----");
    }

    // After the signature: blank lines only. Anything else is unsigned text a parser might
    // read as part of the .changes (or a second signed block, which is the same problem).
    if lines[i + 1..].iter().any(|l| !l.is_empty()) {
        let second = lines[i + 1..].iter().any(|l| contains(l, BEGIN_SIGNED));
        return bad(if second {
            "more than one signed block in the file"
        } else {
            "text after -----END PGP SIGNATURE-----, outside the signature"
        });
    }
    Ok(Framing::Clearsigned { text })
}

/// Judge a detached signature (apt's `Release.gpg`) before a verifier sees it: one armoured
/// `-----BEGIN PGP SIGNATURE-----` block with only blank lines around it, or binary OpenPGP
/// whose first packet is a signature. Anything else (a clearsigned or inline-signed message
/// above all, which a verifier would check instead of the data it is given) is refused. `Err`
/// is one line saying what is wrong.
pub fn detached(bytes: &[u8]) -> Result<(), String> {
    if let Some(&first) = bytes.first().filter(|&&b| b >= 0x80) {
        let tag = match first {
            0xC0..=0xFF => first & 0x3F,
            _ => (first >> 2) & 0x0F,
        };
        return if tag == 2 {
            Ok(())
        } else {
            Err("binary OpenPGP data that does not start with a signature".to_string())
        };
    }
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .collect();
    let Some((first, rest)) = lines.split_first() else {
        return Err("an empty signature".to_string());
    };
    if *first != BEGIN_SIGNATURE.as_bytes() {
        return Err(if first.starts_with(b"-----BEGIN PGP") {
            "armoured OpenPGP data that is not a detached signature".to_string()
        } else {
            "not an OpenPGP signature".to_string()
        });
    }
    let Some((last, body)) = rest.split_last() else {
        return Err(format!("malformed signature: no {END_SIGNATURE}"));
    };
    if *last != END_SIGNATURE.as_bytes() {
        return Err(format!(
            "malformed signature: text after the signature or no {END_SIGNATURE}"
        ));
    }
    if body.iter().any(|l| l.starts_with(b"-----")) {
        return Err("malformed signature: more than one armour block".to_string());
    }
    Ok(())
}

/// Whether `b` opens an OpenPGP packet that a signed message (not a .changes) starts with:
/// signature (2), one-pass signature (4), compressed data (8), literal data (11), in the old
/// or the new packet format.
fn is_signed_packet_start(b: u8) -> bool {
    let tag = match b {
        0xC0..=0xFF => b & 0x3F,
        0x80..=0xBF => (b >> 2) & 0x0F,
        _ => return false,
    };
    matches!(tag, 2 | 4 | 8 | 11)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nFormat: 1.8\n- -dash\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n=AAAA\n-----END PGP SIGNATURE-----\n";

    #[test]
    fn the_signed_text_is_unescaped() {
        let want = Framing::Clearsigned {
            text: b"Format: 1.8\n-dash\n".to_vec(),
        };
        assert_eq!(frame(SIGNED.as_bytes()), Ok(want.clone()));
        assert_eq!(frame(SIGNED.replace('\n', "\r\n").as_bytes()), Ok(want));
    }

    #[test]
    fn a_detached_signature_is_one_signature_block() {
        let sig =
            "-----BEGIN PGP SIGNATURE-----\n\niHUEARYIAB0WIQ\n=AAAA\n-----END PGP SIGNATURE-----\n";
        assert_eq!(detached(sig.as_bytes()), Ok(()));
        assert_eq!(detached(format!("\n{sig}\n\n").as_bytes()), Ok(()));
        assert_eq!(detached(&[0x88, 0x75]), Ok(()));
        assert_eq!(detached(&[0xc2, 0x75]), Ok(()));
        for (bad, why) in [
            (SIGNED.to_string(), "not a detached"),
            (format!("{sig}{sig}"), "more than one"),
            (format!("{sig}Origin: x\n"), "text after"),
            ("Origin: x\n".to_string(), "not an OpenPGP"),
            (String::new(), "empty"),
            (sig.replace(END_SIGNATURE, ""), "no -----END"),
            (
                sig.replace("=AAAA", "-----BEGIN PGP SIGNED MESSAGE-----"),
                "more than one",
            ),
        ] {
            let e = detached(bad.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(detached(&[0x90, 0x0d]).unwrap_err().contains("binary"));
    }

    #[test]
    fn plain_files_hold_no_armour() {
        assert_eq!(frame(b"Format: 1.8\n"), Ok(Framing::Plain));
        let e = frame(b"Format: 1.8\n-----END PGP SIGNATURE-----\n").unwrap_err();
        assert!(e.contains("armour line"), "{e}");
    }
}
