//! Fuzz target: the maintainer-script (shell) analyzer.
//!
//! Invariants: no panic, and the paths alive at once stay within `Options::max_paths`.
#![no_main]

use debgate_facts::{Script, ScriptName};
use debgate_script::{analyze_with, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks which script this is (the runs analysed depend on it).
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let script = Script {
        name: ScriptName::ALL[usize::from(which) % ScriptName::ALL.len()],
        text: text.to_string(),
        truncated: which & 0x80 != 0,
    };
    let opts = Options { max_paths: 16 };
    let analysis = analyze_with(&script, &opts);
    assert!(analysis.peak_paths <= opts.max_paths);
});
