//! Run the oracle on one case and print what it saw, for humans:
//! `cargo run -p debgate-oracle --example observe -- testdata/states/NAME.toml [--runs N]
//! [--seed S] [--budget SECS] [--trace I]` (`--trace` prints sequence I step by step instead).

use debgate_oracle::{observe, trace_sequence, Options};
use std::path::Path;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut opts = Options::default();
    let mut trace = None;
    while let Some(a) = args.next() {
        let mut value = |name: &str| -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{name} needs a number")))
        };
        match a.as_str() {
            "--runs" => opts.runs = value("--runs") as usize,
            "--seed" => opts.seed = value("--seed"),
            "--budget" => opts.time_budget = Duration::from_secs(value("--budget")),
            "--jobs" => opts.jobs = value("--jobs") as usize,
            "--trace" => trace = Some(value("--trace") as usize),
            _ if path.is_none() && !a.starts_with('-') => path = Some(a),
            _ => usage(&format!("unexpected argument `{a}`")),
        }
    }
    let path = path.unwrap_or_else(|| usage("no case file given"));
    let case = debgate_writer::case::load_state_case(Path::new(&path)).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1)
    });
    if let Some(i) = trace {
        match trace_sequence(&case, &opts, i) {
            Ok(t) => {
                println!(
                    "sequence {i}: fail rate {}%, {:?}",
                    t.fail_percent, t.elapsed
                );
                for s in &t.steps {
                    println!("  step: {s}");
                }
                for (name, rc) in &t.runs {
                    println!("  run: {name} -> {rc}");
                }
                println!("recorded: {}", t.recorded);
                for (p, s) in &t.states {
                    println!("  {p}: {s}");
                }
                println!("--- log\n{}--- output\n{}", t.log, t.output);
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1)
            }
        }
        return;
    }
    let start = Instant::now();
    match observe(&case, &opts) {
        Ok(obs) => {
            let elapsed = start.elapsed();
            println!(
                "{}: {} sequences, {} recorded, {:?} ({:?} per sequence)",
                case.name,
                obs.sequences,
                obs.recorded,
                elapsed,
                elapsed / obs.sequences.max(1) as u32
            );
            for (p, states) in &obs.states {
                println!("{p}");
                for s in states {
                    println!("    {s}");
                }
            }
            println!("successful runs:");
            for (name, n) in &obs.successful_runs {
                println!("    {name}: {n}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}

fn usage(msg: &str) -> ! {
    eprintln!(
        "observe: {msg}\nusage: observe CASE.toml [--runs N] [--seed S] [--budget SECS] \
         [--jobs N] [--trace I]"
    );
    std::process::exit(2)
}
