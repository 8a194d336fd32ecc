//! Fuzz target: the changelog reader `diff` runs on every new package's
//! `changelog.Debian.gz` (gunzip within a budget, the lenient parser, the walk to an old
//! version in dpkg's order, the reference expressions).
//!
//! Invariants: no panic; the expansion stays within its budget; the entries `since` picks are
//! entries of the file, in file order.
#![no_main]

use debgate_changelog::{gunzip, parse, references, since};
use libfuzzer_sys::fuzz_target;

const BUDGET: u64 = 256 * 1024;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the input's form: gzip (as a package ships it) or the text itself.
    let Some((&how, rest)) = data.split_first() else {
        return;
    };
    let text = if how & 1 == 0 {
        let decoded = gunzip(rest, BUDGET);
        assert!(decoded.text.len() as u64 <= BUDGET * 3, "lossy UTF-8 at most triples it");
        decoded.text
    } else {
        String::from_utf8_lossy(rest).into_owned()
    };
    let _ = references(&text);
    if let Ok(entries) = parse(&text) {
        // The old version: one of the file's own, or a fixed one.
        let old = entries
            .get(usize::from(how >> 1) % entries.len().max(1))
            .map_or("1.0-1", |e| e.version.as_str());
        let picked = since(&entries, old);
        assert!(picked.entries.len() <= entries.len());
        for (a, b) in picked.entries.iter().zip(&entries) {
            assert_eq!(a.line, b.line);
        }
        for e in &entries {
            let _ = e.references();
        }
    }
});
