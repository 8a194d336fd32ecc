//! Regenerate the committed fixture `.deb` files under `testdata/releases/`.
//!
//! `cargo run -p debgate-writer --example regen` until `cargo xtask fixtures` calls
//! [`debgate_writer::write_releases`] itself.

use std::path::Path;

fn main() {
    // The workspace's testdata/ is two levels above this crate.
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    match debgate_writer::write_releases(&testdata) {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
