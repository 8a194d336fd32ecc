//! The keyring a verifier is given: checked before anything runs, and, for gpgv, an
//! ASCII-armoured one (`.asc`, which gpgv 2.2 cannot read: every signature would look like an
//! unknown key) turned into the binary keyring it can read, in our private directory.
//!
//! The dearmouring is RFC 4880 §6 (RFC 9580 §6) and nothing more: the blocks'
//! `-----BEGIN PGP PUBLIC KEY BLOCK-----` lines, their headers, their base64 and, when given,
//! their CRC-24 checksum. The packets inside are gpgv's business, as every other byte of
//! OpenPGP is.

use crate::outcome::SignatureError;
use crate::verifier::Verifier;
use base64::Engine;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest keyring we read to dearmour. An archive keyring is a few keys (Debian's is
/// about 100 KiB); this only bounds what a wrong path can cost.
pub const MAX_KEYRING_BYTES: u64 = 64 * 1024 * 1024;

const BEGIN_KEYS: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END_KEYS: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// A keyring that can be read: its absolute path (gpgv takes a bare name as relative to its
/// home), and whether it is text, that is armoured.
pub(crate) struct Keyring {
    given: PathBuf,
    abs: PathBuf,
    armoured: bool,
}

/// Check the keyring the caller named: it exists and can be read (reading, not just opening,
/// also turns away a directory).
pub(crate) fn check(keyring: &Path) -> Result<Keyring, SignatureError> {
    let err = |source| SignatureError::Keyring {
        path: keyring.to_path_buf(),
        source,
    };
    let abs = keyring.canonicalize().map_err(err)?;
    let mut head = Vec::new();
    File::open(&abs)
        .and_then(|f| f.take(1).read_to_end(&mut head))
        .map_err(err)?;
    // Binary OpenPGP data starts with a packet header, whose top bit is always set; text
    // never has it. So a keyring that starts with a text byte can only be armour (or not a
    // keyring at all, which dearmouring then says).
    let armoured = head.first().is_some_and(|&b| b < 0x80);
    Ok(Keyring {
        given: keyring.to_path_buf(),
        abs,
        armoured,
    })
}

impl Keyring {
    /// The file `verifier` reads: the keyring itself, or for gpgv and an armoured keyring its
    /// binary form, written to `dir` (ours and private). sqv reads armour itself.
    pub(crate) fn for_verifier(
        &self,
        verifier: &Verifier,
        dir: &Path,
    ) -> Result<PathBuf, SignatureError> {
        if !self.armoured || matches!(verifier, Verifier::Sqv(_)) {
            return Ok(self.abs.clone());
        }
        let text = crate::process::read_capped(&self.abs, MAX_KEYRING_BYTES)
            .map_err(|source| SignatureError::Keyring {
                path: self.given.clone(),
                source,
            })?
            .ok_or_else(|| SignatureError::KeyringArmour {
                path: self.given.clone(),
                detail: format!("larger than {} MiB", MAX_KEYRING_BYTES >> 20),
            })?;
        let binary = dearmour(&text).map_err(|detail| SignatureError::KeyringArmour {
            path: self.given.clone(),
            detail,
        })?;
        let out = dir.join("keyring.gpg");
        std::fs::write(&out, binary).map_err(|source| SignatureError::Temp {
            verifier: verifier.name(),
            source,
        })?;
        Ok(out)
    }
}

/// The binary keyring an armoured one holds: every public key block in order, concatenated
/// (as `gpg --dearmor` of a file of several blocks gives). Text outside the blocks is
/// skipped, as gpg skips it; inside a block, anything but headers, base64 and the checksum is
/// an error. `Err` is one line saying what is wrong.
pub(crate) fn dearmour(text: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8 text".to_string())?;
    let mut lines = text.lines().map(str::trim_end).enumerate();
    let mut keys = Vec::new();
    let mut blocks = 0;
    while let Some((_, line)) = lines.next() {
        if line != BEGIN_KEYS {
            if line.starts_with("-----BEGIN PGP") {
                return Err(format!(
                    "{}: not a public key block",
                    debgate_facts::text::one_line(line)
                ));
            }
            continue;
        }
        blocks += 1;
        let mut body = String::new();
        let mut checksum = None;
        let mut in_headers = true;
        let mut ended = false;
        for (n, line) in lines.by_ref() {
            let at = |what: &str| format!("line {}: {what}", n + 1);
            if line == END_KEYS {
                ended = true;
                break;
            }
            if in_headers {
                // Armour headers (`Comment: ...`) up to a blank line. gpg also takes a body
                // with no header lines and no blank line, so a line that is not a header
                // starts the body.
                if line.is_empty() {
                    in_headers = false;
                    continue;
                }
                if line.contains(": ") {
                    continue;
                }
                in_headers = false;
            }
            let line = line.trim_start();
            if line.is_empty() {
                continue;
            }
            if line.starts_with("-----") {
                return Err(at("an armour line inside the key block"));
            }
            if checksum.is_some() {
                return Err(at("text after the checksum line"));
            }
            if let Some(sum) = line.strip_prefix('=') {
                // A base64 line never starts with `=`; this is the CRC-24 line.
                let sum = base64::engine::general_purpose::STANDARD
                    .decode(sum)
                    .ok()
                    .filter(|s| s.len() == 3)
                    .ok_or_else(|| at("the checksum line is not 4 base64 characters"))?;
                checksum = Some(u32::from_be_bytes([0, sum[0], sum[1], sum[2]]));
                continue;
            }
            if !line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            {
                return Err(at("not base64"));
            }
            body.push_str(line);
        }
        if !ended {
            return Err(format!("block {blocks}: no {END_KEYS}"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&body)
            .map_err(|e| format!("block {blocks}: bad base64: {e}"))?;
        if bytes.is_empty() {
            return Err(format!("block {blocks}: no key data"));
        }
        if let Some(want) = checksum {
            if crc24(&bytes) != want {
                return Err(format!(
                    "block {blocks}: the CRC-24 checksum does not match: the armour is damaged"
                ));
            }
        }
        keys.extend_from_slice(&bytes);
    }
    if blocks == 0 {
        return Err(format!("no {BEGIN_KEYS}"));
    }
    Ok(keys)
}

/// The armour checksum: CRC-24 as RFC 4880 §6.1 defines it.
fn crc24(bytes: &[u8]) -> u32 {
    const INIT: u32 = 0x00B7_04CE;
    const POLY: u32 = 0x0186_4CFB;
    let mut crc = INIT;
    for &b in bytes {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= POLY;
            }
        }
    }
    crc & 0x00FF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armour(data: &[u8], headers: &str, sum: Option<u32>) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        let mut s = format!("{BEGIN_KEYS}\n{headers}\n");
        for chunk in b64.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap());
            s.push('\n');
        }
        if let Some(sum) = sum {
            let sum = base64::engine::general_purpose::STANDARD.encode(&sum.to_be_bytes()[1..]);
            s.push_str(&format!("={sum}\n"));
        }
        s.push_str(END_KEYS);
        s.push('\n');
        s
    }

    #[test]
    fn crc24_is_rfc4880s() {
        // The value of the empty input is the initial value; "123456789" is the usual check.
        assert_eq!(crc24(b""), 0xB704CE);
        assert_eq!(crc24(b"123456789"), 0x21CF02);
    }

    #[test]
    fn blocks_are_decoded_and_checked() {
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let good = armour(&data, "Comment: a key\n", Some(crc24(&data)));
        assert_eq!(dearmour(good.as_bytes()).unwrap(), data);
        // Without a checksum, without headers, in CRLF, and two blocks with text around.
        assert_eq!(dearmour(armour(&data, "", None).as_bytes()).unwrap(), data);
        assert_eq!(
            dearmour(good.replace('\n', "\r\n").as_bytes()).unwrap(),
            data
        );
        let two = format!("pub   ed25519\n{good}\n{}", armour(b"xyz", "", None));
        assert_eq!(
            dearmour(two.as_bytes()).unwrap(),
            [&data[..], b"xyz"].concat()
        );

        let err = |text: &str| dearmour(text.as_bytes()).unwrap_err();
        assert!(err(&armour(&data, "", Some(crc24(&data) ^ 1))).contains("CRC-24"));
        assert!(err("just text\n").contains("no -----BEGIN"));
        assert!(err(&good.replace(END_KEYS, "")).contains("no -----END"));
        assert!(
            err(&good.replacen("Comment: a key\n", "Comment: a key\n\n!!!!\n", 1))
                .contains("not base64")
        );
        assert!(err("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n").contains("not a public key"));
        assert!(err(&armour(b"", "", None)).contains("no key data"));
        assert!(dearmour(&[0xff, 0xfe]).unwrap_err().contains("UTF-8"));
    }
}
