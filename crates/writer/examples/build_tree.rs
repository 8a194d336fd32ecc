//! Build one fixture tree into a `.deb`, to inspect it with `dpkg-deb` by hand:
//! `cargo run -p debgate-writer --example build_tree -- TREE OUT.deb`.

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tree, out] = args.as_slice() else {
        eprintln!("usage: build_tree TREE OUT.deb");
        std::process::exit(2);
    };
    let result = debgate_writer::load_package(Path::new(tree)).and_then(|(spec, build)| {
        let file = std::fs::File::create(out).map_err(|e| debgate_writer::WriterError::Io {
            path: out.into(),
            source: e,
        })?;
        debgate_writer::write_deb(&spec, build.control, build.data, file)
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
