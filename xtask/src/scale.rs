//! `cargo xtask scale-sample --count N --seed S`: the measured figures behind docs/scale.md.
//!
//! It takes the sweep's seeded pick of package names (the same seed and lists give the same
//! packages), downloads them afresh with one `apt-get download` into `target/scale-sample/` and
//! times it (the network), then times the release `debgate check` over the files and a
//! `dpkg-deb --fsys-tarfile` loop over the same files (decoding, best of `ROUNDS` interleaved
//! rounds), and extrapolates to Debian 12 main amd64, step by step, so that the document shows
//! its arithmetic.
//!
//! The downloads are kept for a later look, unless the disk then has less than
//! `MIN_FREE_BYTES` free: then they are deleted.

use crate::bench::{self, measure};
use crate::corpus::Apt;
use crate::sweep::seeded_names;
use crate::util::{self, tail};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Debian 12 (bookworm) main, amd64: packages in its Packages index, and the sum of their
/// `Size` fields, in bytes.
pub const DEBIAN12_PACKAGES: u64 = 63_440;
pub const DEBIAN12_BYTES: f64 = 95.3e9;

/// Rounds of the two decoding timings, interleaved so that a change in the machine's load hits
/// both alike; each figure is its best round.
const ROUNDS: usize = 3;

/// Below this much free space the downloads are deleted after the run (and none start).
const MIN_FREE_BYTES: u64 = 15_000_000_000;

/// How many names to ask apt about at once when picking.
const NAMES_PER_QUERY: usize = 400;

/// Free bytes for an unprivileged user on the file system holding `path`.
fn free_bytes(path: &Path) -> Result<u64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())?;
    // SAFETY: statvfs is plain old data; all-zero is a valid value that statvfs overwrites.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a NUL-terminated path, st a live local.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error()).context("statvfs");
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// The candidate `Size` of each name apt has a candidate for (`apt-cache show
/// --no-all-versions`; a virtual name gives no record).
fn candidate_sizes(names: &[String]) -> Result<BTreeMap<String, u64>> {
    let out = Command::new("apt-cache")
        .args(["show", "--no-all-versions"])
        .args(names)
        .output()
        .context("running apt-cache show")?;
    let mut sizes = BTreeMap::new();
    for para in String::from_utf8_lossy(&out.stdout).split("\n\n") {
        let field = |k: &str| {
            para.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix(':'))
                .map(str::trim)
        };
        if let (Some(name), Some(size)) = (field("Package"), field("Size")) {
            sizes.insert(name.to_string(), size.parse().unwrap_or(0));
        }
    }
    Ok(sizes)
}

/// The first `count` names of the seeded order that have a candidate: the sweep's pick (it
/// takes the first names that download).
fn pick(seed: u64, count: usize) -> Result<Vec<String>> {
    let names = seeded_names(seed)?;
    let mut picked = Vec::new();
    for chunk in names.chunks(NAMES_PER_QUERY) {
        let sizes = candidate_sizes(chunk)?;
        picked.extend(
            chunk
                .iter()
                .filter(|n| sizes.contains_key(*n))
                .take(count - picked.len())
                .cloned(),
        );
        if picked.len() == count {
            break;
        }
    }
    if picked.is_empty() {
        bail!("apt has no candidate for any name: run apt-get update");
    }
    Ok(picked)
}

/// `apt-get download NAMES` into `dir` (emptied first), timed: the network.
fn download(dir: &Path, names: &[String]) -> Result<(Duration, Vec<PathBuf>)> {
    let attempt = || -> Result<(Duration, std::process::Output)> {
        if dir.exists() {
            fs::remove_dir_all(dir)?;
        }
        fs::create_dir_all(dir)?;
        let started = Instant::now();
        let out = Apt::command("apt-get")
            .current_dir(dir)
            .args(["download", "-q"])
            .args(names)
            .output()
            .context("running apt-get download")?;
        Ok((started.elapsed(), out))
    };
    let (mut took, mut out) = attempt()?;
    if !out.status.success() {
        // Lists older than the mirror name files it no longer has: update once, then again.
        eprintln!("scale-sample: apt-get download failed; apt-get update, then once more");
        let up = Apt::command("apt-get").args(["update", "-q"]).output()?;
        if !up.status.success() {
            bail!("apt-get update failed: {}", tail(&up.stderr, 5));
        }
        (took, out) = attempt()?;
    }
    if !out.status.success() {
        bail!("apt-get download failed: {}", tail(&out.stderr, 5));
    }
    let mut debs: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    debs.retain(|p| p.extension().is_some_and(|x| x == "deb"));
    debs.sort();
    Ok((took, debs))
}

/// One run of `debgate check --format jsonl FILES` (what a large run streams), its wall time.
fn time_debgate(exe: &Path, debs: &[PathBuf]) -> Result<Duration> {
    let mut cmd = bench::command(exe);
    cmd.args(["check", "--format", "jsonl"])
        .args(debs)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let m = measure(&mut cmd)?;
    if !matches!(m.exit_code, Some(0) | Some(1)) {
        bail!(
            "debgate check exited {:?} on the sample (rerun it to see which package)",
            m.exit_code
        );
    }
    Ok(m.wall)
}

/// `dpkg-deb --fsys-tarfile F >/dev/null` for each file in turn, the summed wall time.
fn time_dpkg(debs: &[PathBuf]) -> Result<Duration> {
    let mut total = Duration::ZERO;
    for deb in debs {
        let mut cmd = bench::command("dpkg-deb");
        cmd.arg("--fsys-tarfile")
            .arg(deb)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let m = measure(&mut cmd)?;
        if m.exit_code != Some(0) {
            bail!(
                "dpkg-deb --fsys-tarfile {} exited {:?}",
                deb.display(),
                m.exit_code
            );
        }
        total += m.wall;
    }
    Ok(total)
}

/// The measured rates, in bytes per second, and what they extrapolate to.
pub struct Figures {
    pub packages: usize,
    pub bytes: u64,
    pub cores: usize,
    pub download: Duration,
    pub debgate: Duration,
    pub dpkg: Duration,
}

/// `x` with thousands separators, for the document's figures.
fn thousands(x: u64) -> String {
    let s = x.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Figures {
    /// The report, with the extrapolation's arithmetic written out.
    pub fn report(&self) -> Vec<String> {
        let mb = |b: f64| b / 1e6;
        let bytes = self.bytes as f64;
        let rate = |d: Duration| bytes / d.as_secs_f64().max(1e-9);
        let (net, dec, dpkg) = (rate(self.download), rate(self.debgate), rate(self.dpkg));
        // debgate reads one package per core: its rate per core is the machine's over the
        // cores it had (never more than there were packages).
        let used = self.cores.min(self.packages).max(1);
        let mut r = vec![
            format!(
                "sample: {} packages, {:.1} MB ({:.2} MB a package; Debian 12 main amd64: {:.2} MB a package)",
                self.packages,
                mb(bytes),
                mb(bytes) / self.packages as f64,
                mb(DEBIAN12_BYTES) / DEBIAN12_PACKAGES as f64
            ),
            format!(
                "download (apt-get download, one run): {:.1} s: {:.1} MB / {:.1} s = {:.2} MB/s",
                self.download.as_secs_f64(),
                mb(bytes),
                self.download.as_secs_f64(),
                mb(net)
            ),
            format!(
                "debgate check --format jsonl (best of {ROUNDS}): {:.2} s on {used} cores: {:.2} MB/s, {:.2} MB/s per core",
                self.debgate.as_secs_f64(),
                mb(dec),
                mb(dec) / used as f64
            ),
            format!(
                "dpkg-deb --fsys-tarfile, one file after another (best of {ROUNDS}): {:.2} s: {:.2} MB/s",
                self.dpkg.as_secs_f64(),
                mb(dpkg)
            ),
            format!(
                "Debian 12 main amd64: {} packages, {:.1} GB (the sum of Packages' Size fields)",
                thousands(DEBIAN12_PACKAGES),
                DEBIAN12_BYTES / 1e9
            ),
        ];
        let net_s = DEBIAN12_BYTES / net;
        let dec_s = DEBIAN12_BYTES / dec;
        r.push(format!(
            "  network-bound: {:.1} GB / {:.2} MB/s = {} s = {:.2} h on one machine; {} machine(s) for one hour (ceil({:.2}))",
            DEBIAN12_BYTES / 1e9,
            mb(net),
            thousands(net_s.round() as u64),
            net_s / 3600.0,
            (net_s / 3600.0).ceil(),
            net_s / 3600.0
        ));
        r.push(format!(
            "  decode-bound: {:.1} GB / {:.2} MB/s ({} cores) = {} s = {:.2} h on one machine; {} machine(s) for one hour (ceil({:.2}))",
            DEBIAN12_BYTES / 1e9,
            mb(dec),
            used,
            thousands(dec_s.round() as u64),
            dec_s / 3600.0,
            (dec_s / 3600.0).ceil(),
            dec_s / 3600.0
        ));
        r.push(format!(
            "  cold, one {}-core machine: streamed (reading as it downloads) max({:.2}, {:.2}) = {:.2} h; downloaded first, then checked: {:.2} + {:.2} = {:.2} h",
            self.cores,
            net_s / 3600.0,
            dec_s / 3600.0,
            net_s.max(dec_s) / 3600.0,
            net_s / 3600.0,
            dec_s / 3600.0,
            (net_s + dec_s) / 3600.0
        ));
        r
    }
}

pub fn run(root: &Path, count: usize, seed: u64) -> Result<()> {
    for tool in ["apt-get", "apt-cache", "dpkg-deb"] {
        if !util::on_path(tool) {
            bail!("{tool} not found: the sample is fetched with apt and measured against dpkg-deb");
        }
    }
    let target = util::target_dir(root);
    fs::create_dir_all(&target)?;
    let free = free_bytes(&target)?;
    if free < MIN_FREE_BYTES {
        bail!(
            "{:.1} GB free under {}: the sample wants at least {:.0} GB left",
            free as f64 / 1e9,
            target.display(),
            MIN_FREE_BYTES as f64 / 1e9
        );
    }
    let exe = util::build_release_debgate(root)?;
    let names = pick(seed, count)?;
    eprintln!(
        "scale-sample: {} package(s) picked (seed {seed}); downloading",
        names.len()
    );
    let dir = target.join("scale-sample");
    let (download, debs) = download(&dir, &names)?;
    let bytes: u64 = debs
        .iter()
        .filter_map(|d| fs::metadata(d).ok())
        .map(|m| m.len())
        .sum();
    eprintln!(
        "scale-sample: {} file(s), {:.1} MB in {:.1} s; timing debgate and dpkg-deb",
        debs.len(),
        bytes as f64 / 1e6,
        download.as_secs_f64()
    );
    let (mut debgate, mut dpkg) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        debgate = debgate.min(time_debgate(&exe, &debs)?);
        dpkg = dpkg.min(time_dpkg(&debs)?);
    }
    let figures = Figures {
        packages: debs.len(),
        bytes,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        download,
        debgate,
        dpkg,
    };
    println!("scale-sample: cargo xtask scale-sample --count {count} --seed {seed}");
    for line in figures.report() {
        println!("{line}");
    }
    if free_bytes(&target)? < MIN_FREE_BYTES {
        fs::remove_dir_all(&dir)?;
        println!(
            "scale-sample: under {:.0} GB free: deleted {}",
            MIN_FREE_BYTES as f64 / 1e9,
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arithmetic_is_shown_with_its_figures() {
        let f = Figures {
            packages: 2,
            bytes: 100_000_000,
            cores: 2,
            download: Duration::from_secs(10),
            debgate: Duration::from_secs(4),
            dpkg: Duration::from_secs(5),
        };
        let r = f.report().join("\n");
        // 10 MB/s: 95.3e9 / 10e6 = 9,530 s = 2.65 h, 3 machines.
        assert!(r.contains("95.3 GB / 10.00 MB/s = 9,530 s = 2.65 h"), "{r}");
        assert!(r.contains("3 machine(s) for one hour"), "{r}");
        // 25 MB/s on 2 cores, 12.5 per core.
        assert!(r.contains("25.00 MB/s, 12.50 MB/s per core"), "{r}");
        assert_eq!(thousands(63440), "63,440");
        assert_eq!(thousands(999), "999");
    }
}
