//! `cargo xtask bench`: how fast and how lean the release `debgate check` is on the real corpus,
//! measured against the floor `dpkg-deb --fsys-tarfile X >/dev/null` (decompressing data.tar and
//! nothing else) and, where installed, against lintian.
//!
//! Run it as `cargo xtask bench`. It builds `debgate` in release mode, fetches the corpus the way
//! `cargo xtask corpus` does (reusing `target/corpus/`), and prints one table from one run:
//! best-of-3 wall times, the ratio debgate/dpkg-deb, and debgate's peak RSS, with
//! `--xz-threads 1` and `--xz-threads 2`. Absolute times depend on the machine; the ratios are
//! the figures to compare between runs and machines.
//!
//! A second table times `debgate diff` on each `[[diff]]` pair of corpus.toml (two versions of
//! one package, fetched as `cargo xtask corpus` fetches them) against `dpkg-deb --fsys-tarfile`
//! of the larger side and of both sides one after the other, against its floor (`debgate check
//! --xz-threads 1` of the larger side alone), and against debdiff and diffoscope where they are
//! installed. A last line per pair gives the diff time as a ratio of the floor of reading the
//! new side at all, `dpkg-deb --fsys-tarfile NEW`.
//!
//! A last section, "archive" (alone: `cargo xtask bench --only archive`), builds an apt
//! repository of `ARCHIVE_ENTRIES` entries from the sweep's seeded pick of real packages
//! (repeated, each copy under its own pool name) and times `debgate check --archive` on it:
//! cold against a `dpkg-deb --fsys-tarfile` loop over the same files, `--jobs 1` against
//! `--jobs 2` where debgate has `--jobs`, and peak RSS at `ARCHIVE_SMALL_ENTRIES` against
//! `ARCHIVE_ENTRIES` entries with `--format jsonl`.

use crate::corpus::{self, CorpusSpec, FetchedDiff};
use crate::repo::{self, Layout, Repo};
use crate::{sweep, util};
use anyhow::{bail, Context, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many times each command runs; the best (least disturbed) run is reported.
const RUNS: usize = 3;

/// The diff table runs each command at least `DIFF_MIN_ROUNDS` times (more than the check
/// table: it is the one with a target ratio, and a shared machine is noisy), and sub-second
/// ones more often, up to `DIFF_MAX_ROUNDS` rounds or about `DIFF_ROUNDS_BUDGET` of work, so
/// that process start-up noise does not decide a ratio.
const DIFF_MIN_ROUNDS: usize = 5;
const DIFF_MAX_ROUNDS: usize = 20;
const DIFF_ROUNDS_BUDGET: Duration = Duration::from_secs(2);

/// The `--xz-threads` values the diff table runs: debgate's default (automatic), then one
/// thread per package.
const DIFF_XZ_THREADS: [&str; 2] = ["0", "1"];

/// debdiff and diffoscope run once each and are stopped after this long: diffoscope can take
/// hours on a kernel.
const OTHER_TOOL_TIMEOUT_SECS: u64 = 600;

/// One finished child process.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall: Duration,
    /// Peak resident set size in bytes, of the child or of whichever of its waited-for
    /// descendants peaked highest (dpkg-deb decompresses in a forked child).
    pub max_rss: u64,
    pub exit_code: Option<i32>,
}

/// The hidden `cargo xtask` subcommand that [`measure`] runs a command through.
pub const RUSAGE_OF: &str = "rusage-of";
/// Where [`measure`] asks the `rusage-of` shim to write what it measured.
const REPORT_ENV: &str = "XTASK_RUSAGE_REPORT";
/// Overrides the shim's path (this xtask binary by default), for tests, whose own binary has
/// no such subcommand.
pub const SHIM_ENV: &str = "XTASK_MEASURE_SHIM";

/// `program`, to be measured: the command [`measure`] takes, run through this xtask binary's
/// hidden `rusage-of` subcommand, which spawns `program` and reports that child's own wall time,
/// peak RSS and exit status.
///
/// Why a process in between: Linux keeps in a process's `ru_maxrss` the peak of the memory
/// image it leaves at exec, and std spawns children with vfork semantics, so a child spawned
/// straight from xtask reports at least xtask's own peak (80 MiB after building the bench's
/// repositories, which then hid every smaller figure). The shim is a fresh small process, so
/// its child's figure is its own; the floor left is the shim's few MiB.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let shim = std::env::var_os(SHIM_ENV)
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        // What current_exe reads: this same binary, should its path not resolve.
        .unwrap_or_else(|| "/proc/self/exe".into());
    let mut cmd = Command::new(shim);
    cmd.arg(RUSAGE_OF).arg("--").arg(program);
    cmd
}

/// Spawns `cmd` (made by [`command`]) and returns what the shim measured of its child.
pub fn measure(cmd: &mut Command) -> Result<Measured> {
    if cmd.get_args().next() != Some(std::ffi::OsStr::new(RUSAGE_OF)) {
        bail!("measure: {cmd:?} was not made by bench::command, so its peak RSS would be xtask's");
    }
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let report = std::env::temp_dir().join(format!(
        "xtask-rusage-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_file(&report);
    cmd.env(REPORT_ENV, &report);
    let child = cmd.spawn().context("spawning a benchmark command")?;
    let (_, shim_status) = wait_rusage(child)?;
    let text = std::fs::read_to_string(&report);
    let _ = std::fs::remove_file(&report);
    let text = text.with_context(|| {
        format!("{cmd:?} (exit status {shim_status}) wrote no report: is it xtask's rusage-of?")
    })?;
    let fields: Vec<u64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("the rusage-of report {text:?}"))?;
    let [nanos, max_rss_kib, code] = fields[..] else {
        bail!("the rusage-of report {text:?} is not three numbers");
    };
    Ok(Measured {
        wall: Duration::from_nanos(nanos),
        max_rss: max_rss_kib * 1024,
        exit_code: (code <= 255).then_some(code as i32),
    })
}

/// The `rusage-of` shim: runs `program args`, inheriting stdio, and writes `wall-nanoseconds
/// peak-RSS-KiB exit-code` (exit code 256 + signal when a signal ended it) to the file
/// [`measure`] named. Returns the child's exit code, to exit with.
pub fn rusage_of(program: &std::ffi::OsStr, args: &[std::ffi::OsString]) -> Result<u8> {
    let report = std::env::var_os(REPORT_ENV).context("rusage-of is run by bench::measure")?;
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .env_remove(REPORT_ENV)
        .spawn()
        .with_context(|| format!("spawning {program:?}"))?;
    let (usage, status) = wait_rusage(child)?;
    let wall = start.elapsed();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status) as u64
    } else {
        256 + libc::WTERMSIG(status) as u64
    };
    // Linux reports ru_maxrss in kibibytes; it covers the child's own waited-for children
    // (dpkg-deb decompresses in one).
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    std::fs::write(&report, format!("{} {max_rss} {code}\n", wall.as_nanos()))?;
    Ok(u8::try_from(code).unwrap_or(1))
}

/// Reaps `child` with `wait4`, which returns that child's own rusage (where
/// `getrusage(RUSAGE_CHILDREN)` would give the maximum over every child this process ever
/// had), and its wait status.
fn wait_rusage(child: std::process::Child) -> Result<(libc::rusage, libc::c_int)> {
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
    drop(child);
    Ok((usage, status))
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

/// The compression of a .deb's data.tar member (`xz`, `zst`, `gz`, ..., or `none`), read from
/// the ar member names (`man deb`): it decides which decoder the timing measures, so the table
/// says it. `?` when the file is not an ar archive or has no data.tar.
pub fn data_compression(deb: &Path) -> String {
    data_compression_of(deb).unwrap_or_else(|| "?".to_string())
}

fn data_compression_of(deb: &Path) -> Option<String> {
    let mut file = std::fs::File::open(deb).ok()?;
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic).ok()?;
    if &magic != b"!<arch>\n" {
        return None;
    }
    // Only the 60-byte member headers are read; members are skipped by their size, padded to
    // an even length, so a 70 MB kernel costs three small reads.
    let mut header = [0u8; 60];
    while file.read_exact(&mut header).is_ok() {
        let name = String::from_utf8_lossy(&header[..16]);
        let name = name.trim_end().trim_end_matches('/');
        let size: u64 = std::str::from_utf8(&header[48..58])
            .ok()?
            .trim()
            .parse()
            .ok()?;
        if let Some(ext) = name.strip_prefix("data.tar") {
            let ext = ext.trim_start_matches('.');
            return Some(if ext.is_empty() { "none" } else { ext }.to_string());
        }
        file.seek(SeekFrom::Current(i64::try_from(size + size % 2).ok()?))
            .ok()?;
    }
    None
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
    let Some(fetch) = corpus::fetch_all(root, &spec)? else {
        println!("bench: skipped: apt-get not found (the corpus is fetched with apt-get download)");
        return Ok(());
    };
    let fetched = &fetch.packages;
    if !util::on_path("dpkg-deb") {
        bail!("dpkg-deb not found: it is the reference the ratios are taken against");
    }
    let exe = util::build_release_debgate(root)?;

    println!("bench: {RUNS} runs each, best wall time; RSS is the highest peak of those runs.");
    println!(
        "bench: the figures are the ratios (debgate / dpkg-deb --fsys-tarfile, the floor: \
         decompressing data.tar and nothing else); absolute times are noise on shared machines."
    );
    println!();
    println!(
        "{:<40} {:>8} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "package",
        "deb KiB",
        "data",
        "dpkg-deb",
        "xz1 s",
        "xz1/dpkg",
        "xz1 RSS",
        "xz2 s",
        "xz2/dpkg",
        "xz2 RSS"
    );

    let mut reference_check = None;
    for f in fetched {
        let size = std::fs::metadata(&f.deb).map(|m| m.len()).unwrap_or(0);
        let dpkg = best_of(
            || {
                let mut c = command("dpkg-deb");
                c.arg("--fsys-tarfile").arg(&f.deb);
                c
            },
            |c| c == Some(0),
            RUNS,
        )?;
        let debgate = |threads: &'static str| {
            best_of(
                || {
                    let mut c = command(&exe);
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
            "{:<40} {:>8} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
            f.resolved,
            // KiB, not MiB: most packages are well under a MiB.
            size.div_ceil(1024),
            data_compression(&f.deb),
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
         time, the figure to compare; RSS = debgate's peak resident set in MiB; data = data.tar compression)"
    );
    println!();

    profile_cost(&exe, fetched)?;

    match reference_check {
        None => println!("lintian: no [bench] lintian package in xtask/corpus.toml"),
        Some(_) if !util::on_path("lintian") => {
            println!("lintian: not installed; install it with apt-get install lintian to compare")
        }
        Some((f, debgate_best)) => {
            // lintian takes tens of seconds per package, so it runs once; its run-to-run
            // noise is small next to the ratio it is measured by.
            let m = best_of(
                || {
                    let mut c = command("lintian");
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
    println!();
    diff_table(&exe, &spec, &fetch.diffs)?;
    println!();
    archive_section(root, &exe)
}

/// One `[[diff]]` pair's figures.
struct DiffFigures {
    dpkg_old: Measured,
    dpkg_new: Measured,
    /// `debgate check --xz-threads 1` of the larger side alone: the diff's floor when each side
    /// has one core, since the diff then waits for that side's single-threaded decode.
    floor: Measured,
    /// One per `DIFF_XZ_THREADS` value, in that order.
    diff: Vec<Measured>,
    rounds: usize,
}

/// The cost of a large profile over the default set on the largest package (a kernel): the
/// same file checked with the bundled default set and with `--policy kspp` (1,368 rules), in
/// interleaved rounds so that the machine's drift hits both alike. The target is at most 1.05.
fn profile_cost(exe: &Path, fetched: &[corpus::Fetched]) -> Result<()> {
    let Some(f) = fetched
        .iter()
        .max_by_key(|f| std::fs::metadata(&f.deb).map(|m| m.len()).unwrap_or(0))
    else {
        return Ok(());
    };
    let run = |extra: &[&str]| {
        let mut c = command(exe);
        c.args(["check", "--format", "json"])
            .args(extra)
            .arg(&f.deb);
        c
    };
    let (mut default, mut kspp) = (Duration::MAX, Duration::MAX);
    for _ in 0..RUNS.max(5) {
        default = default.min(best_of(|| run(&[]), debgate_ran, 1)?.wall);
        kspp = kspp.min(best_of(|| run(&["--policy", "kspp"]), debgate_ran, 1)?.wall);
    }
    println!(
        "profile: {}: default set {} s, --policy kspp {} s; kspp/default = {} (target <= 1.05)",
        f.resolved,
        secs(default),
        secs(kspp),
        ratio(kspp, default)
    );
    println!();
    Ok(())
}

/// Times one pair in interleaved rounds (dpkg-deb old, dpkg-deb new, the floor, then debgate
/// diff with each `DIFF_XZ_THREADS` value), so that a change in background load hits every
/// command alike; each figure is its best round.
fn time_pair(exe: &Path, f: &FetchedDiff, larger: &Path) -> Result<DiffFigures> {
    let dpkg = |deb: &Path| {
        let mut c = command("dpkg-deb");
        c.arg("--fsys-tarfile").arg(deb);
        c
    };
    let diff = |threads: &str| {
        let mut c = command(exe);
        c.args(["diff", "--format", "json", "--xz-threads", threads])
            .arg(&f.old.deb)
            .arg(&f.new.deb);
        c
    };
    let floor = || {
        let mut c = command(exe);
        c.args(["check", "--format", "json", "--xz-threads", "1"])
            .arg(larger);
        c
    };
    let round = || -> Result<Vec<Measured>> {
        let mut m = vec![
            best_of(|| dpkg(&f.old.deb), |c| c == Some(0), 1)?,
            best_of(|| dpkg(&f.new.deb), |c| c == Some(0), 1)?,
            best_of(floor, debgate_ran, 1)?,
        ];
        for threads in DIFF_XZ_THREADS {
            m.push(best_of(|| diff(threads), debgate_ran, 1)?);
        }
        Ok(m)
    };
    let mut best = round()?;
    let first: Duration = best.iter().map(|m| m.wall).sum();
    let wanted = DIFF_ROUNDS_BUDGET.as_secs_f64() / first.as_secs_f64().max(1e-3);
    let rounds = (wanted.ceil() as usize).clamp(DIFF_MIN_ROUNDS, DIFF_MAX_ROUNDS);
    for _ in 1..rounds {
        for (b, m) in best.iter_mut().zip(round()?) {
            *b = Measured {
                wall: b.wall.min(m.wall),
                max_rss: b.max_rss.max(m.max_rss),
                exit_code: m.exit_code,
            };
        }
    }
    let mut best = best.into_iter();
    let (Some(dpkg_old), Some(dpkg_new), Some(floor)) = (best.next(), best.next(), best.next())
    else {
        bail!("no dpkg-deb figures");
    };
    Ok(DiffFigures {
        dpkg_old,
        dpkg_new,
        floor,
        diff: best.collect(),
        rounds,
    })
}

/// debdiff's or diffoscope's time on the pair: one run, stopped after
/// `OTHER_TOOL_TIMEOUT_SECS`; "not installed" when it is not on PATH.
fn other_tool(program: &str, f: &FetchedDiff) -> Result<String> {
    if !util::on_path(program) {
        return Ok("not installed".to_string());
    }
    let timeout = util::on_path("timeout");
    let mut cmd = if timeout {
        let mut c = command("timeout");
        c.arg(OTHER_TOOL_TIMEOUT_SECS.to_string()).arg(program);
        c
    } else {
        command(program)
    };
    cmd.arg(&f.old.deb)
        .arg(&f.new.deb)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let m = measure(&mut cmd)?;
    // Both exit 0 for no difference and 1 for differences; timeout(1) exits 124.
    Ok(match m.exit_code {
        Some(0) | Some(1) => format!("{} s", secs(m.wall)),
        Some(124) if timeout => format!(">{OTHER_TOOL_TIMEOUT_SECS} s (stopped)"),
        code => format!("failed ({code:?})"),
    })
}

fn kib(path: &Path) -> u64 {
    std::fs::metadata(path)
        .map(|m| m.len())
        .unwrap_or(0)
        .div_ceil(1024)
}

/// One line of the diff table: the pair name left-aligned, every other cell right-aligned.
fn diff_row<S: AsRef<str>>(cells: &[S]) -> String {
    const WIDTHS: [usize; 15] = [24, 4, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 14, 14];
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(WIDTHS).enumerate() {
        let cell = cell.as_ref();
        if i == 0 {
            line.push_str(&format!("{cell:<width$}"));
        } else {
            line.push_str(&format!(" {cell:>width$}"));
        }
    }
    line
}

/// The `debgate diff` table: one row per `[[diff]]` of corpus.toml and `--xz-threads` value.
fn diff_table(
    exe: &Path,
    spec: &CorpusSpec,
    diffs: &[std::result::Result<FetchedDiff, String>],
) -> Result<()> {
    if spec.diffs.is_empty() {
        println!("diff: no [[diff]] pair in xtask/corpus.toml");
        return Ok(());
    }
    println!(
        "diff: debgate diff --format json OLD NEW against dpkg-deb --fsys-tarfile of each side; \
         best of {DIFF_MIN_ROUNDS} to {DIFF_MAX_ROUNDS} interleaved rounds."
    );
    let mut rows = Vec::new();
    for (d, fetched) in spec.diffs.iter().zip(diffs) {
        let f = match fetched {
            Ok(f) => f,
            Err(err) => {
                println!("  {}: not fetched: {err}", d.name);
                continue;
            }
        };
        let (old_kib, new_kib) = (kib(&f.old.deb), kib(&f.new.deb));
        let larger_is_new = new_kib >= old_kib;
        println!(
            "  {}: old {} {} ({} KiB, data.tar.{}), new {} {} ({} KiB, data.tar.{}); larger side: {}",
            d.name,
            f.old.package,
            f.old.version,
            old_kib,
            data_compression(&f.old.deb),
            f.new.package,
            f.new.version,
            new_kib,
            data_compression(&f.new.deb),
            if larger_is_new { "new" } else { "old" },
        );
        let larger = if larger_is_new {
            &f.new.deb
        } else {
            &f.old.deb
        };
        let figures = time_pair(exe, f, larger)?;
        let debdiff = other_tool("debdiff", f)?;
        let diffoscope = other_tool("diffoscope", f)?;
        rows.push((d.name.clone(), larger_is_new, figures, debdiff, diffoscope));
    }
    println!();
    println!(
        "{}",
        diff_row(&[
            "pair",
            "xz",
            "rounds",
            "dpkg old",
            "dpkg new",
            "dpkg seq",
            "diff s",
            "/larger",
            "/seq",
            "floor s",
            "/floor",
            "diff RSS",
            "dpkg RSS",
            "debdiff",
            "diffoscope",
        ])
    );
    for (name, larger_is_new, m, debdiff, diffoscope) in &rows {
        let larger = if *larger_is_new {
            m.dpkg_new.wall
        } else {
            m.dpkg_old.wall
        };
        let seq = m.dpkg_old.wall + m.dpkg_new.wall;
        for (i, (threads, diff)) in DIFF_XZ_THREADS.iter().zip(&m.diff).enumerate() {
            // debdiff and diffoscope do not depend on debgate's threads: once per pair.
            let (debdiff, diffoscope) = if i == 0 {
                (debdiff.as_str(), diffoscope.as_str())
            } else {
                ("", "")
            };
            let cells = [
                name.clone(),
                if *threads == "0" { "auto" } else { threads }.to_string(),
                m.rounds.to_string(),
                secs(m.dpkg_old.wall),
                secs(m.dpkg_new.wall),
                secs(seq),
                secs(diff.wall),
                ratio(diff.wall, larger),
                ratio(diff.wall, seq),
                secs(m.floor.wall),
                ratio(diff.wall, m.floor.wall),
                mib(diff.max_rss),
                mib(m.dpkg_old.max_rss.max(m.dpkg_new.max_rss)),
                debdiff.to_string(),
                diffoscope.to_string(),
            ];
            println!("{}", diff_row(&cells));
        }
    }
    println!(
        "(times in s, each the best round; xz = debgate diff --xz-threads (auto: the default); \
         dpkg old/new = dpkg-deb --fsys-tarfile of that side; dpkg seq = old + new, both sides \
         one after the other; /larger = diff time / dpkg-deb time of the larger .deb's side, \
         the issue's target being at most 1.2; /seq = diff time / dpkg seq; floor = debgate check \
         --xz-threads 1 of the larger side alone, the least a diff with one core a side can take, \
         and /floor = diff time / floor; RSS = peak resident set in MiB; debdiff and diffoscope: one run each, stopped after \
         {OTHER_TOOL_TIMEOUT_SECS} s)"
    );
    // The headline figure per pair: the diff against the floor of reading the new side at all.
    for (name, _, m, _, _) in &rows {
        let per_threads: Vec<String> = DIFF_XZ_THREADS
            .iter()
            .zip(&m.diff)
            .map(|(threads, diff)| {
                let threads = if *threads == "0" { "auto" } else { threads };
                format!(
                    "xz {threads}: {} s = {}x",
                    secs(diff.wall),
                    ratio(diff.wall, m.dpkg_new.wall)
                )
            })
            .collect();
        println!(
            "diff {name}: debgate diff / dpkg-deb --fsys-tarfile NEW (the floor, {} s): {}",
            secs(m.dpkg_new.wall),
            per_threads.join("; ")
        );
    }
    Ok(())
}

/// Entries of the archive section's repository: the scale the issue asks about.
const ARCHIVE_ENTRIES: usize = 5_000;
/// Entries of the small repository whose peak RSS the large one's is compared with.
const ARCHIVE_SMALL_ENTRIES: usize = 500;
/// Packages of the sweep's seeded pick (seed `ARCHIVE_SEED`) fetched when `target/sweep` holds
/// none.
const ARCHIVE_PICK: usize = 200;
const ARCHIVE_SEED: u64 = 1;
/// The suite of the bench's repositories.
const ARCHIVE_SUITE: &str = "bench";

/// `cargo xtask bench --only archive`: the archive section alone.
pub fn archive(root: &Path) -> Result<()> {
    let exe = util::build_release_debgate(root)?;
    archive_section(root, &exe)
}

/// The real packages the archive section repeats: whatever `cargo xtask sweep` left in
/// `target/sweep/`, else a seeded pick fetched there with the sweep's code.
fn archive_debs(root: &Path) -> Result<Vec<std::path::PathBuf>> {
    let cache = util::target_dir(root).join("sweep");
    let listed = |dir: &Path| -> Result<Vec<std::path::PathBuf>> {
        let mut debs = Vec::new();
        if dir.is_dir() {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.is_file() && path.extension().is_some_and(|x| x == "deb") {
                    debs.push(path);
                }
            }
        }
        debs.sort();
        Ok(debs)
    };
    let debs = listed(&cache)?;
    if !debs.is_empty() {
        println!(
            "archive: {} package(s) from {} (what cargo xtask sweep downloaded)",
            debs.len(),
            cache.display()
        );
        return Ok(debs);
    }
    println!(
        "archive: {} holds no package: fetching the sweep's pick of {ARCHIVE_PICK} (seed {ARCHIVE_SEED})",
        cache.display()
    );
    let pick = sweep::fetch_seeded(&cache, ARCHIVE_PICK, ARCHIVE_SEED)?;
    Ok(pick.debs)
}

/// The archive section: builds both repositories, measures, prints.
fn archive_section(root: &Path, exe: &Path) -> Result<()> {
    // Signed and read through its keyring, as a real run is (and as the facts cache needs).
    if let Some(why) = repo::missing_tools(true) {
        println!("archive: SKIPPED: {why}; the repository's indexes are apt-ftparchive's");
        return Ok(());
    }
    if !util::on_path("dpkg-deb") {
        bail!("dpkg-deb not found: it is the reference the ratios are taken against");
    }
    let debs = archive_debs(root)?;
    if debs.is_empty() {
        bail!("archive: no package to build a repository from");
    }
    let dir = util::target_dir(root).join("bench-archive");
    let layout = |entries| Layout {
        suite: ARCHIVE_SUITE,
        entries,
        signed: true,
    };
    let started = Instant::now();
    let large = repo::build(&dir.join("large"), &debs, &layout(ARCHIVE_ENTRIES))?;
    let small = repo::build(&dir.join("small"), &debs, &layout(ARCHIVE_SMALL_ENTRIES))?;
    println!(
        "archive: repositories of {} and {} entries ({} distinct files repeated, {} MiB of pool in the large one), built by apt-ftparchive in {} s",
        large.files.len(),
        small.files.len(),
        debs.len(),
        mib(large.pool_bytes()),
        secs(started.elapsed())
    );
    println!(
        "archive: cold means no facts cache (every entry decoded), warm every entry's facts \
         cached; the page cache is warm (apt-ftparchive has just read the pool), so no run \
         waits on the disk. One run each."
    );
    let figures = measure_archive(exe, &dir, &large, &small)?;
    for line in figures.lines() {
        println!("{line}");
    }
    Ok(())
}

/// What the archive section measured.
struct ArchiveFigures {
    entries: usize,
    bytes: u64,
    /// `debgate check --archive --format jsonl` on the large repository: cold (no facts cache,
    /// `--jobs 2`), filling an empty cache, then warm (the same cache).
    cold: Measured,
    filled: Measured,
    warm: Measured,
    /// `dpkg-deb --fsys-tarfile` over the same files, one after another (summed).
    dpkg: Duration,
    /// `--jobs 1` and `--jobs 2` on the large repository, or why not measured.
    jobs: std::result::Result<(Measured, Measured), String>,
    /// The small repository's run filling an empty cache, then warm (their peak RSS against
    /// the large one's).
    small: Measured,
    small_warm: Measured,
    small_entries: usize,
}

/// `debgate check --archive 'deb [signed-by=KEYRING] file://REPO SUITE main' --format jsonl
/// EXTRA` on `repo`, stdout discarded, stderr kept in `dir` for a failure's message. Signed, as
/// a real run is: a repository read with `trusted=yes` is never cached.
fn archive_run(exe: &Path, dir: &Path, repo: &Repo, extra: &[&str]) -> Result<Measured> {
    let stderr_path = dir.join("debgate.stderr");
    let stderr = std::fs::File::create(&stderr_path)?;
    let mut cmd = command(exe);
    cmd.args(["check", "--format", "jsonl", "--archive"])
        .arg(repo.source_line())
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let m = measure(&mut cmd)?;
    if !debgate_ran(m.exit_code) {
        let err = std::fs::read(&stderr_path).unwrap_or_default();
        bail!(
            "debgate check --archive {} {} exited {:?}: {}",
            repo.source_line(),
            extra.join(" "),
            m.exit_code,
            util::tail(&err, 5)
        );
    }
    Ok(m)
}

/// A facts cache directory that no run has used.
fn fresh_cache(dir: &Path, name: &str) -> Result<String> {
    let cache = dir.join(name);
    if cache.exists() {
        std::fs::remove_dir_all(&cache)?;
    }
    Ok(cache.to_string_lossy().into_owned())
}

/// Runs every archive measurement. Each row is measured here, in one place, so that the
/// warm-cache row joins them without another set-up.
fn measure_archive(exe: &Path, dir: &Path, large: &Repo, small: &Repo) -> Result<ArchiveFigures> {
    // Cold is decoding every entry with no facts cache: the repository repeats a few hundred
    // real packages, so a cache would answer the repeats even on a first run (they have one
    // SHA-256), and the dpkg-deb loop it is compared with decodes every entry too. One package
    // at a time, then two at once (the machine's cores: what the default does here).
    let one = archive_run(exe, dir, large, &["--no-cache", "--jobs", "1"])?;
    let cold = archive_run(exe, dir, large, &["--no-cache", "--jobs", "2"])?;
    let mut dpkg = Duration::ZERO;
    for deb in &large.files {
        let m = best_of(
            || {
                let mut c = command("dpkg-deb");
                c.arg("--fsys-tarfile").arg(deb);
                c
            },
            |c| c == Some(0),
            1,
        )?;
        dpkg += m.wall;
    }
    // Warm: every package's facts cached (a first run with the cache fills it), so none is
    // downloaded or decoded; JSON Lines through the cache also streams, in bounded memory.
    let cache = fresh_cache(dir, "cache-large")?;
    let filled = archive_run(exe, dir, large, &["--cache", &cache])?;
    let warm = archive_run(exe, dir, large, &["--cache", &cache])?;
    let small_cache = fresh_cache(dir, "cache-small")?;
    let small_run = archive_run(exe, dir, small, &["--cache", &small_cache])?;
    let small_warm = archive_run(exe, dir, small, &["--cache", &small_cache])?;
    Ok(ArchiveFigures {
        entries: large.files.len(),
        bytes: large.pool_bytes(),
        cold,
        filled,
        warm,
        dpkg,
        jobs: Ok((one, cold)),
        small: small_run,
        small_warm,
        small_entries: small.files.len(),
    })
}

impl ArchiveFigures {
    fn lines(&self) -> Vec<String> {
        let rate = |d: Duration| self.entries as f64 / d.as_secs_f64().max(1e-9);
        let mbs = |d: Duration| self.bytes as f64 / 1e6 / d.as_secs_f64().max(1e-9);
        let mut lines = vec![format!(
            "archive cold: debgate check --archive --format jsonl, {} entries: {} s ({:.1} entries/s, {:.1} MB/s), peak RSS {} MiB; dpkg-deb --fsys-tarfile loop over the same files: {} s; debgate / dpkg-deb = {}",
            self.entries,
            secs(self.cold.wall),
            rate(self.cold.wall),
            mbs(self.cold.wall),
            mib(self.cold.max_rss),
            secs(self.dpkg),
            ratio(self.cold.wall, self.dpkg)
        )];
        lines.push(format!(
            "archive warm: with every package's facts cached (a first run filling an empty cache took {} s, peak RSS {} MiB): {} s, peak RSS {} MiB; warm / cold = {:.3} (target <= 0.05)",
            secs(self.filled.wall),
            mib(self.filled.max_rss),
            secs(self.warm.wall),
            mib(self.warm.max_rss),
            self.warm.wall.as_secs_f64() / self.cold.wall.as_secs_f64().max(1e-9)
        ));
        lines.push(match &self.jobs {
            Ok((one, two)) => format!(
                "archive jobs: --jobs 1 {} s ({:.1} entries/s), --jobs 2 {} s ({:.1} entries/s); rate --jobs 2 / --jobs 1 = {} (target >= 1.8)",
                secs(one.wall),
                rate(one.wall),
                secs(two.wall),
                rate(two.wall),
                ratio(one.wall, two.wall)
            ),
            Err(why) => format!("jobs: not measured: {why}"),
        });
        let rss = |name: &str, small: &Measured, large: &Measured| {
            format!(
                "archive memory, {name}: peak RSS with --format jsonl, {} entries {} MiB, {} entries {} MiB; {} / {} = {:.3} (target <= 1.1)",
                self.small_entries,
                mib(small.max_rss),
                self.entries,
                mib(large.max_rss),
                self.entries,
                self.small_entries,
                large.max_rss as f64 / small.max_rss.max(1) as f64
            )
        };
        lines.push(rss(
            "filling an empty facts cache (the streamed path, decoding)",
            &self.small,
            &self.filled,
        ));
        lines.push(rss(
            "warm (the streamed path, every package from the cache)",
            &self.small_warm,
            &self.warm,
        ));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_compression_reads_member_names() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let deb = dir.join("x.deb");
        // debian-binary (4 bytes), control.tar.gz (3 bytes: odd, so one padding byte), then
        // data.tar.zst with GNU's trailing slash.
        let mut bytes = b"!<arch>\n".to_vec();
        for (name, body) in [
            ("debian-binary", &b"2.0\n"[..]),
            ("control.tar.gz", b"abc"),
            ("data.tar.zst/", b"z"),
        ] {
            bytes.extend(
                format!(
                    "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                    0,
                    0,
                    0,
                    100644,
                    body.len()
                )
                .bytes(),
            );
            bytes.extend(body);
            if body.len() % 2 == 1 {
                bytes.push(b'\n');
            }
        }
        std::fs::write(&deb, &bytes).unwrap();
        assert_eq!(data_compression(&deb), "zst");
        std::fs::write(&deb, b"not an archive").unwrap();
        assert_eq!(data_compression(&deb), "?");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
