//! Print, for each maintainer script given, the most paths alive at once per run and what the
//! analyzer could not resolve: `cargo run -p debgate-script --example paths -- FILE...`.

use debgate_facts::{Script, ScriptName};

fn main() {
    for path in std::env::args().skip(1) {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let name = ScriptName::ALL
            .into_iter()
            .find(|s| path.ends_with(s.as_str()))
            .unwrap_or(ScriptName::Postinst);
        let t = std::time::Instant::now();
        let a = debgate_script::analyze(&Script {
            name,
            text,
            truncated: false,
        });
        let ends: usize = a.runs.iter().map(|r| r.paths.len()).sum();
        println!(
            "{path}: peak {} paths, {ends} ends over {} runs, {} changes, {:?}",
            a.peak_paths,
            a.runs.len(),
            a.changes.len(),
            t.elapsed()
        );
        let total: usize = a
            .runs
            .iter()
            .flat_map(|r| &r.paths)
            .map(|p| size(&p.steps))
            .sum();
        println!("  step nodes in ends: {total}");
        for d in &a.diagnostics {
            println!("  {d}");
        }
    }
}

#[allow(dead_code)]
fn size(steps: &[debgate_script::Step]) -> usize {
    steps
        .iter()
        .map(|s| match s {
            debgate_script::Step::Choice(a) => 1 + a.iter().map(|x| size(x)).sum::<usize>(),
            debgate_script::Step::Any(v) => v.len(),
            _ => 1,
        })
        .sum()
}
