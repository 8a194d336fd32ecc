//! Fuzz target: the `.deb` reader (ar container, control.tar and data.tar with every
//! compression, PAX and GNU tar headers, xattrs, control parsing, content capture, `md5sums`
//! and content digests, which every other input turns on).
//!
//! Invariants: no panic; a failure is a `ReadError` whose message is one line; a package that
//! is read respects the limits it was read under.
#![no_main]

use std::path::PathBuf;

use debgate_facts::Script;
use debgate_reader::{read_package_from, Limits, ReadError, ReadOptions, ScriptTargets};
use libfuzzer_sys::fuzz_target;

const CONTENT_BYTES: u64 = 4096;
const CONTROL_FILE_BYTES: u64 = 64 * 1024;
const ENTRIES: u64 = 1000;

fn every_path(_: &str) -> bool {
    true
}

/// Every script's first word that looks like a path is a grant target: some inputs hash by
/// target, and the rest by every file when a package has no md5sums.
fn targets(scripts: &[Script]) -> ScriptTargets {
    ScriptTargets {
        paths: scripts
            .iter()
            .filter_map(|s| s.text.split_whitespace().find(|w| w.starts_with('/')))
            .map(|w| (w.to_string(), w.len() % 2 == 0))
            .collect(),
        unknown: false,
    }
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
            max_md5sums_bytes: 64 * 1024,
            ..Limits::default()
        },
        want_content: &every_path,
        xz_threads: 1,
        digests: data.len().is_multiple_of(2).then_some(&targets as _),
    };
    let result: Result<_, ReadError> = read_package_from(PathBuf::from("fuzz.deb"), data, &opts);
    match result {
        Ok(package) => {
            assert!(package.entries.len() as u64 <= ENTRIES);
            for content in package.contents.values() {
                assert!(content.bytes.len() as u64 <= CONTENT_BYTES);
            }
            if let debgate_facts::Md5sums::Listed(m) = &package.md5sums {
                // A line is at least 35 bytes, so the cap bounds the map.
                assert!(m.len() as u64 <= 64 * 1024 / 35);
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
