//! `bench::measure` reports the measured program's own peak RSS, not xtask's: the figures of
//! `cargo xtask bench` depend on it.

use std::process::Stdio;
use xtask::bench;

fn use_this_xtask_as_shim() {
    // The test binary has no `rusage-of` subcommand; the built xtask binary has.
    std::env::set_var(bench::SHIM_ENV, env!("CARGO_BIN_EXE_xtask"));
}

#[test]
fn exit_code_wall_time_and_rss_are_the_childs() {
    use_this_xtask_as_shim();
    let mut cmd = bench::command("sh");
    cmd.args(["-c", "sleep 0.2; exit 3"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let m = bench::measure(&mut cmd).unwrap();
    assert_eq!(m.exit_code, Some(3));
    assert!(m.max_rss > 0, "a shell has some resident memory");
    assert!(
        m.wall >= std::time::Duration::from_millis(200),
        "{:?}",
        m.wall
    );
}

#[test]
fn a_large_parent_does_not_raise_the_childs_peak() {
    use_this_xtask_as_shim();
    // 256 MiB, touched so that it is resident, held while the child runs: what a child spawned
    // straight from this process would report as its own peak.
    let big = vec![1u8; 256 << 20];
    let mut cmd = bench::command("sh");
    cmd.args(["-c", "exit 0"]).stdin(Stdio::null());
    let m = bench::measure(&mut cmd).unwrap();
    assert!(
        m.max_rss < 64 << 20,
        "a shell's peak RSS measured as {} MiB: the parent's leaked in",
        m.max_rss >> 20
    );
    assert_eq!(big.iter().map(|&b| b as usize).sum::<usize>(), 256 << 20);
}

#[test]
fn a_command_not_made_for_measuring_is_refused() {
    let mut cmd = std::process::Command::new("true");
    let e = bench::measure(&mut cmd).unwrap_err().to_string();
    assert!(e.contains("bench::command"), "{e}");
}
