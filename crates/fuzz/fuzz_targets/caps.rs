//! Fuzz target: the `vfs_cap_data` decoder (`security.capability` xattr values) and the
//! `cap_from_text` parser.
//!
//! Invariants: no panic; failures are `CapError` / `CapTextError`; what decodes re-encodes to
//! the same capabilities, and what parses prints back to text that parses to the same set.
#![no_main]

use debgate_facts::caps::{CapError, CapSet, CapTextError, FileCaps};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded: Result<FileCaps, CapError> = FileCaps::decode(data);
    match decoded {
        Ok(caps) => {
            assert_eq!(FileCaps::decode(&caps.encode()).unwrap(), caps);
            let _ = caps.to_set().to_text();
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }

    if let Ok(text) = std::str::from_utf8(data) {
        let parsed: Result<CapSet, CapTextError> = CapSet::from_text(text);
        match parsed {
            Ok(set) => {
                let printed = set.to_text();
                assert_eq!(CapSet::from_text(&printed).unwrap(), set, "{printed:?}");
                let _ = set.names();
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
