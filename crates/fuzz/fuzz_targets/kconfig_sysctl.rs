//! Fuzz target: the kernel config parser and the sysctl.d parser. Both take any text and never
//! fail, so the invariant is no panic.
#![no_main]

use debgate_analyze::{kconfig::Kconfig, sysctl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Kconfig::parse(&text);
    let _ = sysctl::parse("fuzz.conf", &text);
});
