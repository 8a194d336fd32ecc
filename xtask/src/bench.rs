//! `cargo xtask bench`: how fast and how lean the release `debgate check` is on the real corpus,
//! measured against the floor `dpkg-deb --fsys-tarfile X >/dev/null` (decompressing data.tar and
//! nothing else) and, where installed, against lintian.
//!
//! Run it as `cargo xtask bench`. It builds `debgate` in release mode, fetches the corpus the way
//! `cargo xtask corpus` does (reusing `target/corpus/`), and prints one table from one run:
//! best-of-3 wall times, the ratio debgate/dpkg-deb, and debgate's peak RSS, with
//! `--xz-threads 1` and `--xz-threads 2`. Absolute times depend on the machine; the ratios are
//! the figures to compare between runs and machines.

use crate::corpus::{self, CorpusSpec};
use crate::util;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many times each command runs; the best (least disturbed) run is reported.
const RUNS: usize = 3;

/// One finished child process.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall: Duration,
    /// Peak resident set size in bytes, of the child or of whichever of its waited-for
    /// descendants peaked highest (dpkg-deb decompresses in a forked child).
    pub max_rss: u64,
    pub exit_code: Option<i32>,
}

/// Spawns `cmd` and reaps it with `wait4`, which returns that child's own rusage. That gives a
/// per-process peak RSS, where `getrusage(RUSAGE_CHILDREN)` would give the maximum over every
/// child this process ever had.
pub fn measure(cmd: &mut Command) -> Result<Measured> {
    let start = Instant::now();
    let child = cmd.spawn().context("spawning a benchmark command")?;
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value that wait4 overwrites.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own child, not yet reaped (std's Child only reaps in wait/try_wait,
        // which we never call, and dropping a Child neither waits nor kills); the pointers are
        // to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    let wall = start.elapsed();
    drop(child);
    let exit_code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in kibibytes.
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    Ok(Measured {
        wall,
        max_rss,
        exit_code,
    })
}

/// Best wall time of `RUNS` runs and the highest peak RSS among them. `ok` decides which exit
/// codes count as a completed run (debgate exits 1 for a failed rule, which is still a run).
fn best_of(
    make: impl Fn() -> Command,
    ok: impl Fn(Option<i32>) -> bool,
    runs: usize,
) -> Result<Measured> {
    let mut best: Option<Measured> = None;
    for _ in 0..runs {
        let mut cmd = make();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let m = measure(&mut cmd)?;
        if !ok(m.exit_code) {
            let program = format!("{:?}", make());
            bail!("{program} exited {:?}", m.exit_code);
        }
        best = Some(match best {
            None => m,
            Some(b) => Measured {
                wall: b.wall.min(m.wall),
                max_rss: b.max_rss.max(m.max_rss),
                exit_code: m.exit_code,
            },
        });
    }
    best.context("no runs")
}

fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        "-".to_string()
    } else {
        format!("{:.2}", a.as_secs_f64() / b.as_secs_f64())
    }
}

/// Debgate's verdict exit codes: 0 (all rules pass) and 1 (a rule failed).
fn debgate_ran(code: Option<i32>) -> bool {
    matches!(code, Some(0) | Some(1))
}

pub fn run(root: &Path) -> Result<()> {
    let spec = CorpusSpec::load(root)?;
    let Some(fetched) = corpus::fetch_all(root, &spec)? else {
        println!("bench: skipped: apt-get not found (the corpus is fetched with apt-get download)");
        return Ok(());
    };
    if !util::on_path("dpkg-deb") {
        bail!("dpkg-deb not found: it is the reference the ratios are taken against");
    }
    let exe = util::build_release_debgate(root)?;

    println!("bench: {RUNS} runs each, best wall time; RSS is the highest peak of those runs.");
    println!(
        "bench: the figures are the ratios (debgate / dpkg-deb --fsys-tarfile, the floor: \
         decompressing data.tar and nothing else); absolute times depend on the machine."
    );
    println!();
    println!(
        "{:<40} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "package",
        "deb MiB",
        "dpkg-deb",
        "xz1 s",
        "xz1/dpkg",
        "xz1 RSS",
        "xz2 s",
        "xz2/dpkg",
        "xz2 RSS"
    );

    let mut reference_check = None;
    for f in &fetched {
        let size = std::fs::metadata(&f.deb).map(|m| m.len()).unwrap_or(0);
        let dpkg = best_of(
            || {
                let mut c = Command::new("dpkg-deb");
                c.arg("--fsys-tarfile").arg(&f.deb);
                c
            },
            |c| c == Some(0),
            RUNS,
        )?;
        let debgate = |threads: &'static str| {
            best_of(
                || {
                    let mut c = Command::new(&exe);
                    c.args(["check", "--format", "json", "--xz-threads", threads])
                        .arg(&f.deb);
                    c
                },
                debgate_ran,
                RUNS,
            )
        };
        let t1 = debgate("1")?;
        let t2 = debgate("2")?;
        println!(
            "{:<40} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            f.resolved,
            mib(size),
            secs(dpkg.wall),
            secs(t1.wall),
            ratio(t1.wall, dpkg.wall),
            mib(t1.max_rss),
            secs(t2.wall),
            ratio(t2.wall, dpkg.wall),
            mib(t2.max_rss),
        );
        if spec.bench.lintian.as_deref() == Some(f.name.as_str()) {
            reference_check = Some((f, t1.wall.min(t2.wall)));
        }
    }
    println!(
        "(times in s; xzN = debgate check --xz-threads N; xzN/dpkg = debgate time / dpkg-deb \
         time, the figure to compare; RSS = debgate's peak resident set in MiB)"
    );
    println!();

    match reference_check {
        None => println!("lintian: no [bench] lintian package in xtask/corpus.toml"),
        Some(_) if !util::on_path("lintian") => println!("lintian: not installed"),
        Some((f, debgate_best)) => {
            // lintian takes tens of seconds per package, so it runs once; its run-to-run
            // noise is small next to the ratio it is measured by.
            let m = best_of(
                || {
                    let mut c = Command::new("lintian");
                    c.arg(&f.deb);
                    c
                },
                // lintian exits 1 when it reports tags, 2 on its own errors.
                |c| matches!(c, Some(0) | Some(1)),
                1,
            )?;
            println!(
                "lintian {}: {} s (one run), peak RSS {} MiB; lintian/debgate = {} \
                 (debgate's best of either thread count)",
                f.resolved,
                secs(m.wall),
                mib(m.max_rss),
                ratio(m.wall, debgate_best)
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measure_reports_exit_code_and_rss() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exit 3"]);
        let m = measure(&mut cmd).unwrap();
        assert_eq!(m.exit_code, Some(3));
        assert!(m.max_rss > 0, "a shell has some resident memory");
    }
}
