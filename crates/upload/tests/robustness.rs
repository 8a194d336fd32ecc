//! Hostile `.changes` files: random corruption and every truncation of a fixture upload come
//! back as `Ok` or a typed error, never a panic. (Names in an accepted file are judged later,
//! by `verify`; see its `unsafe_names` test.)

use debgate_upload::Changes;
use std::path::{Path, PathBuf};

fn fixture() -> (PathBuf, Vec<u8>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/uploads/good");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "changes"))
        .expect("testdata/uploads/good holds a .changes");
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

#[test]
fn the_fixture_parses_plain_and_clearsigned() {
    let (path, bytes) = fixture();
    let c = Changes::parse(&path, &bytes).expect("the good upload parses");
    assert!(!c.files.is_empty(), "it lists files");
    let signed =
        Changes::parse(&path, &clearsigned(&bytes)).expect("and so does its armoured form");
    assert!(signed.clearsigned);
    assert_eq!(signed.files.len(), c.files.len());
}

#[test]
fn every_truncation_is_ok_or_an_error() {
    let (path, bytes) = fixture();
    let mut errors = 0;
    for cut in 0..bytes.len() {
        if Changes::parse(&path, &bytes[..cut]).is_err() {
            errors += 1;
        }
    }
    // Cutting off the checksum lists must be noticed, so most truncations are errors.
    assert!(
        errors > bytes.len() / 2,
        "{errors} of {} cuts refused",
        bytes.len()
    );
}

/// The fixture wrapped as a clearsigned message (`parse` does not check the signature), so that
/// corruption also lands in the armour.
fn clearsigned(body: &[u8]) -> Vec<u8> {
    let mut out = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n".to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(b"-----BEGIN PGP SIGNATURE-----\n\niQ==\n=AAAA\n");
    out.extend_from_slice(b"-----END PGP SIGNATURE-----\n");
    out
}

#[test]
fn random_corruption_never_panics() {
    let (path, plain) = fixture();
    random_corruption(&path, &plain);
    random_corruption(&path, &clearsigned(&plain));
}

fn random_corruption(path: &Path, bytes: &[u8]) {
    let mut rng = fastrand::Rng::with_seed(0x9e37_79b9);
    let mut refused = 0;
    for _ in 0..2000 {
        let mut b = bytes.to_vec();
        for _ in 0..rng.usize(1..=4) {
            let i = rng.usize(..b.len());
            // Control bytes, high bytes, field syntax and list syntax: the bytes a parser trips on.
            const NASTY: &[u8] = b"\0\n\r\t :/.-\x7f\xc3\xff";
            b[i] = NASTY[rng.usize(..NASTY.len())];
        }
        if Changes::parse(path, &b).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0, "some corruption must be refused");
}
