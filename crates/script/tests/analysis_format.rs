//! The guard on [`debgate_script::ANALYSIS_FORMAT`]: the facts cache keeps analyses keyed by
//! that number, so an analyzer that reads a script differently under the same number would hand
//! a warm run the old analyses. This test fingerprints what the analyzer makes of every case
//! script (their stored form, command texts included) and fails when the fingerprint moves
//! while the number stays: bump `ANALYSIS_FORMAT`, then record the new pair below.

use debgate_facts::{Script, ScriptName};
use std::path::Path;

/// The format and the fingerprint of the case scripts' analyses under it.
const RECORDED: (u32, u64) = (1, 0x90ec_1117_9d14_3bb4);

/// FNV-1a, 64 bits: stable across builds and platforms, unlike the standard library's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn analysis_format_guard() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "case files are missing");
    let mut text = String::new();
    for path in &cases {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let script_text = std::fs::read_to_string(path).unwrap();
        // As named (a postinst unless the name says otherwise, as `cases.rs` reads them), and
        // as a config script, which the analyzer walks with its paths merged.
        let named = ScriptName::ALL
            .into_iter()
            .find(|n| stem.starts_with(&format!("{n}-")))
            .unwrap_or(ScriptName::Postinst);
        for name in [named, ScriptName::Config] {
            let script = Script {
                name,
                text: script_text.clone(),
                truncated: false,
            };
            let analyses = vec![(name, debgate_script::analyze(&script))];
            let stored = debgate_script::stored::stored(&analyses).unwrap();
            text.push_str(&stem);
            text.push_str(&serde_json::to_string(&stored).unwrap());
            text.push('\n');
        }
    }
    let now = (debgate_script::ANALYSIS_FORMAT, fnv1a(text.as_bytes()));
    assert!(
        now == RECORDED,
        "the analyzer's output on tests/cases changed: if that is meant, bump ANALYSIS_FORMAT \
         (unless already bumped) and set RECORDED to ({}, {:#x}); now {now:?}, recorded \
         {RECORDED:?}",
        debgate_script::ANALYSIS_FORMAT,
        now.1,
    );
}
