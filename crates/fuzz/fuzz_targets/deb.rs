//! Fuzz target: the `.deb` reader (ar container, control.tar and data.tar with every
//! compression, PAX and GNU tar headers, xattrs, control parsing, content capture).
//!
//! Invariants: no panic; a failure is a `ReadError` whose message is one line; a package that
//! is read respects the limits it was read under.
#![no_main]

use std::path::PathBuf;

use debgate_reader::{read_package_from, Limits, ReadError, ReadOptions};
use libfuzzer_sys::fuzz_target;

const CONTENT_BYTES: u64 = 4096;
const CONTROL_FILE_BYTES: u64 = 64 * 1024;
const ENTRIES: u64 = 1000;

fn every_path(_: &str) -> bool {
    true
}

fuzz_target!(|data: &[u8]| {
    // Small limits, so that a bomb trips them in well under the fuzzer's timeout and memory.
    let opts = ReadOptions {
        limits: Limits {
            max_member_bytes: 4 * 1024 * 1024,
            max_entries: ENTRIES,
            max_content_bytes: CONTENT_BYTES,
            max_control_file_bytes: CONTROL_FILE_BYTES,
            max_compressed_member_bytes: 1024 * 1024,
            xz_memlimit: 64 * 1024 * 1024,
            max_script_paths: 16,
            ..Limits::default()
        },
        want_content: &every_path,
        xz_threads: 1,
        digests: None,
    };
    let result: Result<_, ReadError> = read_package_from(PathBuf::from("fuzz.deb"), data, &opts);
    match result {
        Ok(package) => {
            assert!(package.entries.len() as u64 <= ENTRIES);
            for content in package.contents.values() {
                assert!(content.bytes.len() as u64 <= CONTENT_BYTES);
            }
            for script in &package.scripts {
                assert!(script.text.len() as u64 <= CONTROL_FILE_BYTES);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
        }
    }
});
