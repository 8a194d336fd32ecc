//! Embeds every `policies/*.toml` into the library so that an installed debgate carries the
//! bundled policies wherever it runs.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("policies/ directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("/// Bundled policy files: (name as shown in messages, text).\npub const BUNDLED: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 policy file name");
        let abs = f.canonicalize().expect("policy path");
        out.push_str(&format!(
            "    (\"policies/{name}\", include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    // The files bundled policies name (allow-lists), embedded beside them: a bundled policy
    // reads only these, never the host's files.
    let aux = dir.join("allowlists");
    println!("cargo:rerun-if-changed={}", aux.display());
    let mut files: Vec<_> = std::fs::read_dir(&aux)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == "toml"));
    files.sort();
    out.push_str("/// Files bundled policies name: (name relative to the repository, text).\npub const BUNDLED_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 allow-list file name");
        let abs = f.canonicalize().expect("allow-list path");
        out.push_str(&format!(
            "    (\"policies/allowlists/{name}\", include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("bundled.rs");
    std::fs::write(dest, out).expect("write bundled.rs");
}
