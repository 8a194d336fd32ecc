//! Fuzz target: what an apt repository hands debgate before any package — a sources line or
//! file (what the user pastes, but also a `.sources` file from anywhere), a `Release` (served
//! by the mirror, parsed only after its signature verifies, but the parser must hold anyway),
//! and a `Packages` index read as a stream of paragraphs, plain or compressed.
//!
//! Invariants: no panic; every index entry has a package name and a 32-byte SHA-256; a
//! `Release` that parses can be judged and asked for any of its indexes.
#![no_main]

use debgate_archive::index::entries;
use debgate_archive::release::Release;
use debgate_archive::source::{parse_line, parse_list, parse_sources};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The first byte picks what the rest is.
    let Some((&how, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match how % 6 {
        0 => {
            let _ = parse_line(&text);
        }
        1 => {
            let _ = parse_list(Path::new("fuzz.list"), &text);
        }
        2 => {
            let _ = parse_sources(Path::new("fuzz.sources"), &text);
        }
        3 => {
            if let Ok(release) = Release::parse(&text) {
                let _ = release.check("bookworm", chrono::Utc::now());
                for name in release.sha256.keys() {
                    let _ = release.sum(name);
                }
                let _ = release.sum("main/binary-amd64/Packages.xz");
            }
        }
        n => {
            // A plain index, or the bytes as a compressed one (most are not valid streams).
            let name = if n == 4 { "Packages" } else { "Packages.xz" };
            for entry in entries(name, rest).take(10_000) {
                if let Ok(e) = entry {
                    assert!(!e.package.is_empty());
                    assert_eq!(e.sha256.len(), 32);
                }
            }
        }
    }
});
