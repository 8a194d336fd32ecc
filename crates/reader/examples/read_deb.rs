//! Read `.deb` files and print a summary and the time taken; for measuring the reader.
//!
//! Usage: `read_deb [--xz-threads N] [--want PREFIX] FILE...`

use debgate_reader::{read_package, ReadOptions};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut files = Vec::new();
    let mut threads = 1;
    let mut want_prefix: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--xz-threads" => threads = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            "--want" => want_prefix = args.next(),
            _ => files.push(a),
        }
    }
    let want = move |p: &str| want_prefix.as_deref().is_some_and(|w| p.starts_with(w));
    let opts = ReadOptions {
        want_content: &want,
        xz_threads: threads,
        ..ReadOptions::default()
    };
    let mut failed = false;
    for f in files {
        let start = Instant::now();
        match read_package(f.as_ref(), &opts) {
            Ok(p) => {
                let bytes: u64 = p.entries.iter().map(|e| e.size).sum();
                let caps = p
                    .entries
                    .iter()
                    .filter(|e| e.capabilities().is_some())
                    .count();
                println!(
                    "{f}: {} {} ({:?}/{:?}): {} entries, {bytes} bytes, {} captured, {caps} with caps, {} scripts, {} conffiles, {:.3}s",
                    p.name(),
                    p.control.version(),
                    p.control_compression,
                    p.data_compression,
                    p.entries.len(),
                    p.contents.len(),
                    p.scripts.len(),
                    p.conffiles.len(),
                    start.elapsed().as_secs_f64()
                );
            }
            Err(e) => {
                eprintln!("{f}: {e}");
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
