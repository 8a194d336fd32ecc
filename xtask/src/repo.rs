//! An apt repository built from `.deb` files, for the corpus served as a repository, the bench's
//! archive section and anything else that wants `debgate check --archive` on real packages.
//!
//! The indexes are written by Debian's own tool, `apt-ftparchive` (apt-utils), not by us: a
//! repository we generated ourselves would only show that debgate agrees with our idea of one.
//! The layout is a one-component, one-architecture Debian mirror: `pool/main/<file>`,
//! `dists/SUITE/main/binary-amd64/Packages{,.xz}`, `dists/SUITE/Release`, and, when signed,
//! `dists/SUITE/InRelease` clearsigned with a throwaway key made in a private `GNUPGHOME` (never
//! the user's), its public half exported to `archive-keyring.gpg` beside `pool/` for
//! `signed-by=`.
//!
//! apt itself is the oracle for what we built: [`apt_update`] runs `apt-get update` on the
//! repository in a private root (its own lists, status, sources and no system keyring), as an
//! unprivileged user would.

use crate::util::{self, tail};
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The one component and architecture a built repository has.
pub const COMPONENT: &str = "main";
pub const ARCH: &str = "amd64";

/// The tools a repository needs, and why: `None` when all are here.
pub fn missing_tools(signed: bool) -> Option<String> {
    let mut missing = Vec::new();
    if !util::on_path("apt-ftparchive") {
        missing.push("apt-ftparchive (Debian's apt-utils: apt-get install apt-utils)");
    }
    if signed && !util::on_path("gpg") {
        missing.push("gpg (gnupg), which signs InRelease");
    }
    (!missing.is_empty()).then(|| format!("{} not installed", missing.join(" and ")))
}

/// How to build one repository.
pub struct Layout<'a> {
    /// The suite (`dists/SUITE`), also written as Release's Suite and Codename.
    pub suite: &'a str,
    /// Index entries wanted: the files are repeated in order until there are this many (each
    /// copy under its own pool name), and each is listed once when it is at most `debs.len()`.
    pub entries: usize,
    /// Sign InRelease with a throwaway key; otherwise only `Release` (read with `trusted=yes`).
    pub signed: bool,
}

/// A built repository.
pub struct Repo {
    pub dir: PathBuf,
    pub suite: String,
    /// The exported public key, for `signed-by=`, when the repository is signed.
    pub keyring: Option<PathBuf>,
    /// The pool files, one per index entry.
    pub files: Vec<PathBuf>,
}

impl Repo {
    /// apt's one-line source for this repository: `signed-by=` its keyring, or `trusted=yes`.
    pub fn source_line(&self) -> String {
        let trust = match &self.keyring {
            Some(k) => format!("signed-by={}", k.display()),
            None => "trusted=yes".to_string(),
        };
        format!(
            "deb [arch={ARCH} {trust}] file://{} {} {COMPONENT}",
            self.dir.display(),
            self.suite
        )
    }

    /// The index directory, `dists/SUITE/main/binary-amd64`.
    pub fn index_dir(&self) -> PathBuf {
        self.dir
            .join("dists")
            .join(&self.suite)
            .join(COMPONENT)
            .join(format!("binary-{ARCH}"))
    }

    /// Bytes of the pool: what reading every entry once reads.
    pub fn pool_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|f| fs::metadata(f).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// The pool name of the `round`th copy of `name` (`round` 0 keeps the name): another name per
/// copy, so that apt-ftparchive lists each copy as its own entry, ending `.deb` as it wants.
fn copy_name(name: &str, round: usize) -> String {
    if round == 0 {
        return name.to_string();
    }
    match name.strip_suffix(".deb") {
        Some(stem) => format!("{stem}.copy{round}.deb"),
        None => format!("{name}.copy{round}.deb"),
    }
}

/// Builds the repository under `dir` (emptied first) from `debs`, by `layout`.
pub fn build(dir: &Path, debs: &[PathBuf], layout: &Layout<'_>) -> Result<Repo> {
    if let Some(why) = missing_tools(layout.signed) {
        bail!("cannot build an apt repository: {why}");
    }
    if debs.is_empty() {
        bail!("no .deb files to build a repository from");
    }
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("emptying {}", dir.display()))?;
    }
    let pool = dir.join("pool").join(COMPONENT);
    fs::create_dir_all(&pool).with_context(|| format!("creating {}", pool.display()))?;
    // The repository is read through file://, so its paths must be absolute.
    let dir = fs::canonicalize(dir)?;
    let pool = dir.join("pool").join(COMPONENT);

    let mut files = Vec::with_capacity(layout.entries);
    for i in 0..layout.entries.max(1) {
        let src = &debs[i % debs.len()];
        let name = src
            .file_name()
            .with_context(|| format!("{} has no file name", src.display()))?
            .to_string_lossy();
        let dest = pool.join(copy_name(&name, i / debs.len()));
        // A hard link costs no space, and thousands of entries of the same few hundred
        // packages would otherwise be gigabytes; a copy where the file system refuses links.
        if fs::hard_link(src, &dest).is_err() {
            fs::copy(src, &dest)
                .with_context(|| format!("copying {} to {}", src.display(), dest.display()))?;
        }
        files.push(dest);
    }

    let repo = Repo {
        dir: dir.clone(),
        suite: layout.suite.to_string(),
        keyring: None,
        files,
    };
    let index_dir = repo.index_dir();
    fs::create_dir_all(&index_dir)?;
    // MD5sum and SHA256 per package, as Debian's own Packages carry: SHA-1 and SHA-512 would
    // double apt-ftparchive's time on a large pool and neither apt nor debgate needs them.
    let packages = ftparchive(
        &dir,
        &[
            "-o",
            "APT::FTPArchive::SHA1=false",
            "-o",
            "APT::FTPArchive::SHA512=false",
            "packages",
            &format!("pool/{COMPONENT}"),
        ],
    )?;
    if packages.is_empty() {
        bail!(
            "apt-ftparchive packages listed nothing in {}",
            pool.display()
        );
    }
    fs::write(index_dir.join("Packages"), &packages)?;
    fs::write(index_dir.join("Packages.xz"), xz(&packages)?)?;

    let suite_dir = dir.join("dists").join(layout.suite);
    let fields = [
        ("Suite", layout.suite),
        ("Codename", layout.suite),
        ("Architectures", ARCH),
        ("Components", COMPONENT),
        ("Label", "debgate xtask"),
    ];
    let mut args: Vec<String> = Vec::new();
    for (field, value) in fields {
        args.push("-o".into());
        args.push(format!("APT::FTPArchive::Release::{field}={value}"));
    }
    args.push("release".into());
    args.push(format!("dists/{}", layout.suite));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Written after apt-ftparchive has listed the directory, so Release does not hash itself.
    let release = ftparchive(&dir, &args)?;
    fs::write(suite_dir.join("Release"), &release)?;

    if !layout.signed {
        return Ok(repo);
    }
    let keyring = dir.join("archive-keyring.gpg");
    sign(
        &suite_dir.join("Release"),
        &suite_dir.join("InRelease"),
        &keyring,
    )?;
    Ok(Repo {
        keyring: Some(keyring),
        ..repo
    })
}

/// `apt-ftparchive ARGS` run in `dir`, its standard output.
fn ftparchive(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("apt-ftparchive")
        .current_dir(dir)
        .args(args)
        .output()
        .context("running apt-ftparchive")?;
    if !out.status.success() {
        bail!(
            "apt-ftparchive {} failed ({}): {}",
            args.join(" "),
            out.status,
            tail(&out.stderr, 5)
        );
    }
    Ok(out.stdout)
}

/// `bytes` as an `.xz` stream (liblzma in-process: no `xz` tool is needed).
fn xz(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 6);
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

/// A private `GNUPGHOME`, removed (its agent stopped first) when dropped. Short and under
/// `/tmp`: gpg-agent's socket path must fit in about 100 bytes.
struct GnupgHome(tempfile::TempDir);

impl GnupgHome {
    fn new() -> Result<GnupgHome> {
        let dir = tempfile::Builder::new()
            .prefix("dgx")
            .tempdir_in("/tmp")
            .context("creating a private GNUPGHOME")?;
        Ok(GnupgHome(dir))
    }

    fn gpg(&self, args: &[&str]) -> Result<Vec<u8>> {
        let out = Command::new("gpg")
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .env("GNUPGHOME", self.0.path())
            .output()
            .context("running gpg")?;
        if !out.status.success() {
            bail!("gpg {} failed: {}", args.join(" "), tail(&out.stderr, 5));
        }
        Ok(out.stdout)
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        // The agent gpg started for this home only; it would outlive the directory otherwise.
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.0.path())
            .output();
    }
}

/// Clearsigns `release` into `inrelease` with a fresh throwaway key, and exports that key's
/// public half to `keyring` (binary, what `signed-by=` and gpgv read).
fn sign(release: &Path, inrelease: &Path, keyring: &Path) -> Result<()> {
    let home = GnupgHome::new()?;
    home.gpg(&[
        "--quick-gen-key",
        "debgate xtask repository <repo@example.invalid>",
        "ed25519",
        "sign",
        "never",
    ])?;
    fs::write(keyring, home.gpg(&["--export"])?)?;
    let _ = fs::remove_file(inrelease);
    home.gpg(&[
        "--clearsign",
        "--output",
        &inrelease.to_string_lossy(),
        &release.to_string_lossy(),
    ])?;
    Ok(())
}

/// Changes one package's SHA256 in `Packages` (and `Packages.xz`, rewritten from it) without
/// touching `Release`: an index that is no longer the one the signed Release lists.
pub fn tamper_index(repo: &Repo) -> Result<()> {
    let path = repo.index_dir().join("Packages");
    let text = fs::read_to_string(&path)?;
    let at = text
        .find("\nSHA256: ")
        .context("no SHA256 field in Packages")?
        + "\nSHA256: ".len();
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    fs::write(&path, &bytes)?;
    fs::write(repo.index_dir().join("Packages.xz"), xz(&bytes)?)?;
    Ok(())
}

/// What `apt-get update` said about a repository.
pub struct AptUpdate {
    pub success: bool,
    /// Its `W:` and `E:` lines: apt's warnings and errors.
    pub complaints: Vec<String>,
    /// The last lines of its output, for a failure message.
    pub tail: String,
}

impl AptUpdate {
    /// apt took the repository as it takes a good one: success, not one warning.
    pub fn clean(&self) -> bool {
        self.success && self.complaints.is_empty()
    }
}

/// Runs `apt-get update` with `source_line` as the only source, in a private root under
/// `scratch` (emptied first): its own lists, cache and empty dpkg status, no sources.list.d, no
/// system keyring (only the line's `signed-by=`) and no lock, so it needs no privilege and
/// touches nothing of the system's apt.
pub fn apt_update(source_line: &str, scratch: &Path) -> Result<AptUpdate> {
    if scratch.exists() {
        fs::remove_dir_all(scratch)?;
    }
    for sub in ["lists/partial", "cache/archives/partial", "etc"] {
        fs::create_dir_all(scratch.join(sub))?;
    }
    let scratch = fs::canonicalize(scratch)?;
    fs::write(scratch.join("status"), "")?;
    fs::write(scratch.join("sources.list"), format!("{source_line}\n"))?;
    // KEY=SCRATCH/REL, kept an OsString: the scratch path need not be UTF-8.
    let at = |key: &str, rel: &str| -> OsString {
        let mut s = OsString::from(format!("{key}="));
        s.push(scratch.join(rel).as_os_str());
        s
    };
    let mut options: Vec<OsString> = vec![
        at("Dir", ""),
        at("Dir::State", ""),
        at("Dir::Cache", "cache"),
        at("Dir::State::Lists", "lists"),
        at("Dir::State::status", "status"),
        at("Dir::Etc", "etc"),
        at("Dir::Etc::SourceList", "sources.list"),
    ];
    // `-` is no file: no sources.list.d, no trusted.gpg(.d) and no preferences of the system.
    for none in [
        "Dir::Etc::SourceParts=-",
        "Dir::Etc::Trusted=-",
        "Dir::Etc::TrustedParts=-",
        "Dir::Etc::Preferences=-",
        "Dir::Etc::PreferencesParts=-",
        // The private root's lock is ours alone; not taking it needs no privilege.
        "Debug::NoLocking=1",
    ] {
        options.push(none.into());
    }
    let mut cmd = Command::new("apt-get");
    cmd.arg("-q");
    // As root, apt hands file:// reads to the `_apt` user, which cannot read a private
    // directory and says so with a W: line that would hide a real one.
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        cmd.args(["-o", "APT::Sandbox::User=root"]);
    }
    for o in &options {
        cmd.arg("-o").arg(o);
    }
    let out = cmd
        .arg("update")
        .output()
        .context("running apt-get update")?;
    let mut all = out.stdout.clone();
    all.extend_from_slice(&out.stderr);
    let text = String::from_utf8_lossy(&all);
    let complaints = text
        .lines()
        .filter(|l| l.starts_with("W:") || l.starts_with("E:"))
        .map(String::from)
        .collect();
    Ok(AptUpdate {
        success: out.status.success(),
        complaints,
        tail: tail(&all, 8),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_get_their_own_pool_names() {
        assert_eq!(copy_name("a_1_amd64.deb", 0), "a_1_amd64.deb");
        assert_eq!(copy_name("a_1_amd64.deb", 3), "a_1_amd64.copy3.deb");
        assert_eq!(copy_name("odd", 1), "odd.copy1.deb");
    }
}
