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
    // A step budget a twentieth of the default: the walk is as sound past its budget (calls and
    // loops read as repeatable) and the fuzzer reaches that path more often, while an input
    // built to use the whole budget (testdata/fuzz-regressions/script-slow-recursive-calls.sh:
    // 200,000 steps, 113 s under AddressSanitizer) stays well inside libFuzzer's -timeout=10.
    // What a full budget costs is measured in release, not under ASan (fuzz README, Runs).
    let opts = Options {
        max_paths: 16,
        max_steps: 10_000,
    };
    let analysis = analyze_with(&script, &opts);
    assert!(analysis.peak_paths <= opts.max_paths);
});
