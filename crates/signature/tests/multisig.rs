//! gpgv run for real on documents signed by several keys, as Debian signs a repository's
//! `InRelease` and `Release.gpg`: the repository rule (`Signers::AtLeastOne`) takes any good
//! signature by a key in the keyring and passes over the others, the upload rule
//! (`Signers::ExactlyOne`) refuses more than one signer as before.

use debgate_signature::{verify, verify_bytes, verify_detached, SignatureOutcome, Signers};
use debgate_testkeys::{gpg_available, gpgv, Key};
use std::path::PathBuf;

const RELEASE: &str = "Origin: Test\nSuite: stable\nCodename: bookworm\n";

fn good(outcome: SignatureOutcome) -> (String, Vec<u8>) {
    match outcome {
        SignatureOutcome::Good {
            signer,
            signed_text,
        } => (signer, signed_text),
        other => panic!("expected Good, got {other:?}"),
    }
}

fn bad(outcome: SignatureOutcome) -> String {
    match outcome {
        SignatureOutcome::Bad { detail } => detail,
        other => panic!("expected Bad, got {other:?}"),
    }
}

/// Two archive keys, a third the documents are not signed by, and a keyring of each kind the
/// tests want, in a directory of their own.
struct Keys {
    a: Key,
    b: Key,
    c: Key,
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            a: Key::new("Archive A <a@example.org>"),
            b: Key::new("Archive B <b@example.org>"),
            c: Key::new("Stranger <c@example.org>"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn keyring(&self, keys: &[&Key], name: &str) -> PathBuf {
        Key::keyring_of(keys, &self.dir.path().join(name))
    }
}

#[test]
fn a_text_clearsigned_by_two_keys_needs_one_of_them_in_the_keyring() {
    if !gpg_available() {
        return;
    }
    let k = Keys::new();
    let (fa, fb) = (k.a.fingerprint(), k.b.fingerprint());
    let signed = k.dir.path().join("InRelease");
    Key::clearsign_with(&[&k.a, &k.b], RELEASE, &signed);
    let bytes = std::fs::read(&signed).unwrap();
    let v = gpgv();
    let repo = |keyring: &PathBuf| verify_bytes(&v, &bytes, keyring, Signers::AtLeastOne).unwrap();

    // (a) Both keys: both signers, in the order they signed.
    let both = k.keyring(&[&k.a, &k.b], "both.gpg");
    let (signer, text) = good(repo(&both));
    assert_eq!(signer, format!("{fa}, {fb}"));
    assert_eq!(text, RELEASE.as_bytes());
    // (b) One key: good, and the other signature, by a key the keyring lacks, is passed over.
    assert_eq!(good(repo(&k.a.keyring())).0, fa);
    assert_eq!(good(repo(&k.b.keyring())).0, fb);
    // (c) Neither: an unknown key.
    assert!(matches!(
        repo(&k.c.keyring()),
        SignatureOutcome::UnknownKey { .. }
    ));

    // The upload rule on the same file, whatever the keyring: two signers, refused.
    for keyring in [&both, &k.a.keyring()] {
        let detail = bad(verify(&v, &signed, keyring, Signers::ExactlyOne).unwrap());
        assert!(detail.contains("2 signatures"), "{detail}");
        let detail = bad(verify_bytes(&v, &bytes, keyring, Signers::ExactlyOne).unwrap());
        assert!(detail.contains("exactly one signer"), "{detail}");
    }

    // Altered after signing: both signatures are BAD, and one BAD is enough.
    let tampered = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("stable", "stabl3");
    let detail = bad(verify_bytes(&v, tampered.as_bytes(), &both, Signers::AtLeastOne).unwrap());
    assert!(detail.contains("BAD"), "{detail}");
    let detail =
        bad(verify_bytes(&v, tampered.as_bytes(), &k.a.keyring(), Signers::AtLeastOne).unwrap());
    assert!(detail.contains("BAD"), "{detail}");
}

#[test]
fn a_detached_signature_by_two_keys_needs_one_of_them_in_the_keyring() {
    if !gpg_available() {
        return;
    }
    let k = Keys::new();
    let (fa, fb) = (k.a.fingerprint(), k.b.fingerprint());
    let sig_path = k.dir.path().join("Release.gpg");
    Key::detach_sign_with(&[&k.a, &k.b], RELEASE.as_bytes(), &sig_path);
    let sig = std::fs::read(&sig_path).unwrap();
    let v = gpgv();
    let repo = |data: &[u8], keyring: &PathBuf| {
        verify_detached(&v, &sig, data, keyring, Signers::AtLeastOne).unwrap()
    };
    let data = RELEASE.as_bytes();

    let both = k.keyring(&[&k.a, &k.b], "both.gpg");
    let (signer, text) = good(repo(data, &both));
    assert_eq!(signer, format!("{fa}, {fb}"));
    assert_eq!(text, data);
    assert_eq!(good(repo(data, &k.a.keyring())).0, fa);
    assert_eq!(good(repo(data, &k.b.keyring())).0, fb);
    assert!(matches!(
        repo(data, &k.c.keyring()),
        SignatureOutcome::UnknownKey { .. }
    ));
    assert!(bad(repo(b"Origin: Evil\n", &k.a.keyring())).contains("BAD"));

    let detail = bad(verify_detached(&v, &sig, data, &both, Signers::ExactlyOne).unwrap());
    assert!(detail.contains("2 signatures"), "{detail}");
}

#[test]
fn an_expired_keys_signature_is_not_good_but_another_good_one_is() {
    if !gpg_available() {
        return;
    }
    let k = Keys::new();
    let old = Key::expired("Old archive <old@example.org>");
    let v = gpgv();
    let data = RELEASE.as_bytes();

    // Alone, clearsigned: EXPKEYSIG, under either rule.
    let signed = k.dir.path().join("InRelease");
    old.clearsign(RELEASE, &signed);
    let bytes = std::fs::read(&signed).unwrap();
    for rule in [Signers::AtLeastOne, Signers::ExactlyOne] {
        let detail = bad(verify_bytes(&v, &bytes, &old.keyring(), rule).unwrap());
        assert!(detail.contains("expired"), "{rule:?}: {detail}");
    }

    // Beside a current key's signature (binary signature packets, concatenated), with both
    // keys in the keyring: the current one is good, the expired one passed over, as apt does.
    let mut sig = k.a.detach_sign_binary(data);
    sig.extend(old.detach_sign_binary(data));
    let both = k.keyring(&[&k.a, &old], "a-and-old.gpg");
    let (signer, _) = good(verify_detached(&v, &sig, data, &both, Signers::AtLeastOne).unwrap());
    assert_eq!(signer, k.a.fingerprint());
    // Only the expired key in the keyring: nothing good, and the expiry is why.
    let detail = bad(verify_detached(&v, &sig, data, &old.keyring(), Signers::AtLeastOne).unwrap());
    assert!(detail.contains("expired"), "{detail}");
}

#[test]
fn a_signature_over_sha1_is_not_good_for_a_repository() {
    if !gpg_available() {
        return;
    }
    let key = Key::new("Archive <a@example.org>");
    let input = key.home().join("sha1.in");
    let out = key.home().join("sha1.asc");
    std::fs::write(&input, RELEASE).unwrap();
    key.gpg(&[
        "--digest-algo",
        "SHA1",
        "--clearsign",
        "--output",
        &out.to_string_lossy(),
        &input.to_string_lossy(),
    ]);
    let bytes = std::fs::read(&out).unwrap();
    let detail = bad(verify_bytes(&gpgv(), &bytes, &key.keyring(), Signers::AtLeastOne).unwrap());
    assert!(detail.contains("SHA-1"), "{detail}");
}
