//! Fuzz target: the policy loader and the waiver loader, on the same text.
//!
//! Invariants: no panic; a failure is `Diagnostics` holding at least one diagnostic.
#![no_main]

use debgate_check::Waivers;
use debgate_policy::{load_sources, Diagnostics, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded: Result<RuleSet, Diagnostics> = load_sources(&[("fuzz.toml", text)]);
    if let Err(diagnostics) = loaded {
        assert!(!diagnostics.0.is_empty());
    }
    let waived: Result<Waivers, Diagnostics> = Waivers::parse("w.toml", text, &RuleSet::default());
    if let Err(diagnostics) = waived {
        assert!(!diagnostics.0.is_empty());
    }
});
