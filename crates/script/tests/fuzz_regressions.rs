//! Inputs that `cargo fuzz` (crates/fuzz, target `script`) found to break an invariant, kept as
//! regression tests. Each reads its input from `testdata/fuzz-regressions/`, as the fuzz target
//! fed it (the target's first byte, which picks the script, is not part of the file).

use debgate_facts::{Script, ScriptName};
use debgate_script::{analyze_with, Options};
use std::path::Path;

fn input(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/fuzz-regressions")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A postinst whose paths, before the joins and the merge that `max_paths` forces, outnumbered
/// the limit: the peak was counted there, so `peak_paths` exceeded `max_paths` although no more
/// than that many paths were ever kept.
#[test]
fn peak_paths_never_exceeds_max_paths() {
    let opts = Options {
        max_paths: 16,
        ..Options::default()
    };
    let analysis = analyze_with(
        &Script {
            name: ScriptName::Postinst,
            text: input("script-peak-paths-over-max-paths.sh"),
            truncated: false,
        },
        &opts,
    );
    assert!(
        analysis.peak_paths <= opts.max_paths,
        "peak_paths {} > max_paths {}",
        analysis.peak_paths,
        opts.max_paths
    );
}
