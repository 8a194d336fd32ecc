//! The committed fixture `.deb` files must be exactly what their trees build today.

mod common;

use debgate_writer::{build_release, release_dirs};

#[test]
fn committed_debs_match_their_trees() {
    let dirs = release_dirs(&common::testdata()).expect("list releases");
    assert!(!dirs.is_empty(), "no releases under testdata/releases");
    let mut problems = Vec::new();
    for dir in dirs {
        let built = build_release(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for (name, bytes) in &built {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(on_disk) if on_disk == *bytes => {}
                Ok(_) => problems.push(format!("{} differs from its tree", path.display())),
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".deb") && !built.iter().any(|(n, _)| *n == name) {
                problems.push(format!("{} is built by no tree", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "fixture .deb files are out of date; run `cargo xtask fixtures` to regenerate:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn committed_uploads_match_their_cases() {
    let testdata = common::testdata();
    let built = debgate_writer::build_uploads(&testdata).expect("build uploads");
    assert!(!built.is_empty(), "no upload cases in testdata/uploads");
    let mut problems = Vec::new();
    for (dir, files) in &built {
        for (name, bytes) in files {
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(on_disk) if on_disk == *bytes => {}
                Ok(_) => problems.push(format!("{} differs from its case", path.display())),
                Err(e) => problems.push(format!("{}: {e}", path.display())),
            }
        }
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !files.iter().any(|(n, _)| *n == name) {
                problems.push(format!("{} is built by no case", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "upload fixtures are out of date; run `cargo xtask fixtures` to regenerate:\n  {}",
        problems.join("\n  ")
    );
}
