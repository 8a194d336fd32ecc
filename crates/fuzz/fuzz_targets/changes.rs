//! Fuzz target: the `.changes` parser and the OpenPGP clearsign framing it relies on.
//!
//! Invariants: no panic; failures are `ChangesError` and the framing's one-line `String`; a
//! parsed `.changes` is clearsigned exactly when its framing says so.
#![no_main]

use std::path::Path;

use debgate_signature::armour::{frame, Framing};
use debgate_upload::changes::{Changes, ChangesError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let framing: Result<Framing, String> = frame(data);
    if let Err(detail) = &framing {
        assert!(!detail.is_empty() && !detail.contains('\n'));
    }
    let parsed: Result<Changes, ChangesError> = Changes::parse(Path::new("fuzz.changes"), data);
    match parsed {
        Ok(changes) => {
            let clearsigned = matches!(framing, Ok(Framing::Clearsigned { .. }));
            assert!(framing.is_ok());
            assert_eq!(changes.clearsigned, clearsigned);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
