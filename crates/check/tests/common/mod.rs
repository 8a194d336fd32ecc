//! What the state-case tests share: where the cases are, and a case's package read and
//! analyzed as `debgate check` does.

use debgate_check::{analyze_package, AnalyzedPackage};
use debgate_reader::{read_package_from, Limits, ReadOptions};
use debgate_writer::case::{state_case_deb, StateCase};
use std::path::{Path, PathBuf};

pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/states")
}

/// The case's `.deb`, built by the writer, read by the reader and analyzed.
pub fn analyzed(case: &StateCase) -> AnalyzedPackage {
    let deb = state_case_deb(case).expect("case builds");
    let opts = ReadOptions {
        limits: Limits::default(),
        want_content: &|_| false,
        xz_threads: 1,
        digests: None,
    };
    let pkg = read_package_from(PathBuf::from(&case.name), deb.as_slice(), &opts)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    analyze_package(pkg, &Limits::default())
}
