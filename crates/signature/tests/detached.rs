//! gpgv run for real on what apt verifies besides a clearsigned file: a detached signature
//! (`Release` and `Release.gpg`), a clearsigned text given as bytes (an `InRelease` fetched
//! over the network), and an armoured `.asc` keyring, which gpgv cannot read as it is.

use debgate_signature::{verify_bytes, verify_detached, SignatureError, SignatureOutcome, Signers};
use debgate_testkeys::{gpg_available, gpgv, Key};

const RELEASE: &str = "Origin: Test\nSuite: stable\nCodename: bookworm\n";

fn detached(key: &Key, data: &str) -> Vec<u8> {
    let out = key.home().join("Release.gpg");
    key.detach_sign(data.as_bytes(), &out);
    std::fs::read(out).unwrap()
}

#[test]
fn a_detached_signature_verifies_the_data_it_signs_and_no_other() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let sig = detached(&key, RELEASE);
    let v = gpgv();
    for keyring in [key.keyring(), key.armoured_keyring()] {
        match verify_detached(&v, &sig, RELEASE.as_bytes(), &keyring, Signers::AtLeastOne).unwrap()
        {
            SignatureOutcome::Good {
                signer,
                signed_text,
            } => {
                assert_eq!(signed_text, RELEASE.as_bytes());
                assert_eq!(signer.len(), 40, "{signer}");
            }
            other => panic!("{}: {other:?}", keyring.display()),
        }
    }
    let kr = key.keyring();

    // The data changed after signing.
    let changed = RELEASE.replace("stable", "stabl3");
    assert!(matches!(
        verify_detached(&v, &sig, changed.as_bytes(), &kr, Signers::AtLeastOne).unwrap(),
        SignatureOutcome::Bad { .. }
    ));
    // Another key's keyring.
    let other = Key::new("Other <o@example.org>");
    assert!(matches!(
        verify_detached(
            &v,
            &sig,
            RELEASE.as_bytes(),
            &other.keyring(),
            Signers::AtLeastOne
        )
        .unwrap(),
        SignatureOutcome::UnknownKey { .. }
    ));
    // A clearsigned file offered as the signature never reaches gpgv.
    let clearsigned = key.home().join("InRelease");
    key.clearsign(RELEASE, &clearsigned);
    let as_sig = std::fs::read(&clearsigned).unwrap();
    match verify_detached(&v, &as_sig, b"anything", &kr, Signers::AtLeastOne).unwrap() {
        SignatureOutcome::Bad { detail } => assert!(detail.contains("not a detached"), "{detail}"),
        other => panic!("{other:?}"),
    }
    // Garbage in the signature block.
    let garbage = b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n";
    assert!(matches!(
        verify_detached(&v, garbage, RELEASE.as_bytes(), &kr, Signers::AtLeastOne).unwrap(),
        SignatureOutcome::Bad { .. }
    ));
    // A missing keyring is the caller's mistake, whatever the signature.
    assert!(matches!(
        verify_detached(
            &v,
            &sig,
            RELEASE.as_bytes(),
            &key.home().join("nope.gpg"),
            Signers::AtLeastOne
        ),
        Err(SignatureError::Keyring { .. })
    ));
}

#[test]
fn clearsigned_bytes_verify_as_the_file_would() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let path = key.home().join("InRelease");
    key.clearsign(RELEASE, &path);
    let bytes = std::fs::read(&path).unwrap();
    let v = gpgv();
    for keyring in [key.keyring(), key.armoured_keyring()] {
        match verify_bytes(&v, &bytes, &keyring, Signers::AtLeastOne).unwrap() {
            SignatureOutcome::Good { signed_text, .. } => {
                assert_eq!(signed_text, RELEASE.as_bytes())
            }
            other => panic!("{}: {other:?}", keyring.display()),
        }
    }
    let tampered = String::from_utf8(bytes)
        .unwrap()
        .replace("stable", "stabl3");
    assert!(matches!(
        verify_bytes(&v, tampered.as_bytes(), &key.keyring(), Signers::AtLeastOne).unwrap(),
        SignatureOutcome::Bad { .. }
    ));
    assert_eq!(
        verify_bytes(&v, RELEASE.as_bytes(), &key.keyring(), Signers::AtLeastOne).unwrap(),
        SignatureOutcome::Unsigned
    );
}

#[test]
fn a_damaged_armoured_keyring_is_one_clear_error() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let sig = detached(&key, RELEASE);
    let asc = key.armoured_keyring();
    let text = std::fs::read_to_string(&asc).unwrap();
    // One base64 character changed in the body: the CRC-24 line no longer matches.
    let body_line = text
        .lines()
        .find(|l| l.len() > 40 && !l.starts_with('-'))
        .unwrap()
        .to_string();
    let flipped: String = body_line
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 {
                if c == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                c
            }
        })
        .collect();
    std::fs::write(&asc, text.replace(&body_line, &flipped)).unwrap();
    match verify_detached(&gpgv(), &sig, RELEASE.as_bytes(), &asc, Signers::AtLeastOne) {
        Err(e @ SignatureError::KeyringArmour { .. }) => {
            assert!(e.to_string().contains("CRC-24"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}
