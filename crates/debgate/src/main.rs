//! The `debgate` command line: argument parsing, dispatch and progress only; the work is in the
//! libraries and every output format in `debgate_render`.

mod progress;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use debgate_check::archive::Repositories;
use debgate_check::{
    check_inputs_with_progress, collect_check_inputs, inspect, selection, with_builtin_rules,
    with_upload_rules, Date, Settings, SignatureError, Verifier, Waivers, DEFAULT_WAIVERS,
};
use debgate_diff::SetSource;
use debgate_policy::{RuleSet, Severity};
use debgate_render::{JsonlSink, RenderError, RenderOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status for bad usage, unreadable or malformed packages, and bad policies.
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser)]
#[command(
    name = "debgate",
    version,
    about = "Check built Debian packages against hardening policies declared as data"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Formats of `debgate check`: the common ones plus the CI formats.
#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    /// JSON Lines: one package, result or waiver per line, then a summary line.
    Jsonl,
    /// JUnit XML: a testsuite per package, a testcase per rule evaluated.
    Junit,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

/// `--fail-on`: the lowest severity whose failures make the exit status 1.
#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Error,
    Warning,
    Info,
}

/// Formats of `debgate diff`: each is a renderer of the same report (`debgate_render`), so a
/// new format needs no change to the comparison.
#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    Text,
    Markdown,
    Json,
    /// One self-contained HTML file (no external assets); best with `-o FILE`.
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
struct ReadArgs {
    /// Raise or lower a reader limit, e.g. `--limit max-entries=2000000` (see `debgate limits`).
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    limits: Vec<String>,
    /// Threads for xz decoding of one package: 1 for the least memory, N for N threads (faster on
    /// the multi-block streams dpkg writes; memory bounded by the xz-memlimit limit), 0 for
    /// automatic: a lone package gets every core, several packages are read one per core.
    #[arg(long, default_value_t = 0, value_name = "N")]
    xz_threads: u32,
    /// Packages read at once (and, from a repository, downloaded at once); 0 for one per core.
    /// With it, each package's xz decoder is single-threaded unless --xz-threads says more.
    #[arg(short = 'j', long, default_value_t = 0, value_name = "N")]
    jobs: usize,
}

/// Where packages come from when they come from apt repositories.
#[derive(clap::Args)]
struct RepoArgs {
    /// The archive keyring for an --archive source without signed-by= (never --keyring,
    /// which holds uploaders' keys).
    #[arg(long, value_name = "FILE")]
    archive_keyring: Option<PathBuf>,
    /// With --archive: only the packages whose name this glob matches (repeatable).
    #[arg(long = "package", value_name = "GLOB")]
    packages: Vec<String>,
    /// With --archive: only the K-th of N parts of the selected packages (1-based; a package's
    /// part is a stable hash of its pairing key, so a kernel's ABIs share one). For fanning an
    /// archive out over N runners; `debgate merge` judges their outputs as one set.
    #[arg(long, value_name = "K/N")]
    shard: Option<debgate_check::archive::Shard>,
    /// With an http(s) --archive: seconds a connection or a read may wait before it is given
    /// up (and retried) [default: 30].
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// With an http(s) --archive: how often a failed download is tried again, with backoff
    /// doubling from half a second; a broken package download resumes where it stopped
    /// [default: 3].
    #[arg(long, value_name = "N")]
    retries: Option<u32>,
    /// The facts cache directory [default: $XDG_CACHE_HOME/debgate, else ~/.cache/debgate]. A
    /// package whose facts are cached under its index SHA-256 is neither downloaded nor decoded.
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache: Option<PathBuf>,
    /// Read every package, and store nothing in the facts cache.
    #[arg(long)]
    no_cache: bool,
    /// The cache directory in use, once [`RepoArgs::prepare`] has chosen it.
    #[arg(skip)]
    cache_dir: Option<PathBuf>,
}

impl RepoArgs {
    fn with<'a>(&'a self, specs: &'a [String]) -> debgate_check::archive::ArchiveArgs<'a> {
        debgate_check::archive::ArchiveArgs {
            specs,
            keyring: self.archive_keyring.as_deref(),
            packages: &self.packages,
            shard: self.shard,
            timeout: self
                .timeout
                .and_then(|t| std::time::Duration::try_from_secs_f64(t).ok()),
            retries: self.retries,
            cache: self.cache_dir.as_deref(),
        }
    }

    /// Check the repository options (they make sense only with a repository) and choose the
    /// cache directory.
    fn prepare(&mut self, have: bool) -> Result<()> {
        self.need_archive(have)?;
        if have && !self.no_cache {
            self.cache_dir = match &self.cache {
                Some(dir) => Some(dir.clone()),
                None => match debgate_check::Cache::default_dir() {
                    Ok(dir) => Some(dir),
                    Err(e) => {
                        eprintln!("debgate: warning: facts cache not used: {e}");
                        None
                    }
                },
            };
        }
        Ok(())
    }

    /// The repository options make sense only with a repository.
    fn need_archive(&self, have: bool) -> Result<()> {
        if !have
            && (self.archive_keyring.is_some()
                || !self.packages.is_empty()
                || self.shard.is_some()
                || self.timeout.is_some()
                || self.retries.is_some()
                || self.cache.is_some()
                || self.no_cache)
        {
            anyhow::bail!(
                "--archive-keyring, --package, --shard, --timeout, --retries, --cache and --no-cache apply to --archive only"
            );
        }
        if let Some(t) = self.timeout {
            if !(t > 0.0 && t.is_finite() && t <= 86_400.0) {
                anyhow::bail!("--timeout {t}: give seconds, more than 0 and at most a day");
            }
        }
        Ok(())
    }
}

/// How `check` and `merge` judge and report: the rules, the waivers, the threshold, the format.
#[derive(clap::Args)]
struct JudgeArgs {
    #[command(flatten)]
    select: SelectArgs,
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    /// Waiver file (TOML `[[waiver]]`); by default debian/debgate-waivers.toml when it exists.
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// Read no waiver file, not even the default one.
    #[arg(long, conflicts_with = "waivers")]
    no_waivers: bool,
    /// The lowest severity that fails the run.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Also show passing and not-applicable results.
    #[arg(short, long)]
    verbose: bool,
}

impl JudgeArgs {
    /// How a report of `rules` with `waivers` is gated and written.
    fn gate<'a>(&self, rules: &'a RuleSet, waivers: &'a Waivers) -> Gate<'a> {
        Gate {
            rules,
            waivers,
            fail_on: self.fail_on,
            color: self.color,
            verbose: self.verbose,
            format: self.format,
        }
    }
}

/// Which rules a command judges.
#[derive(clap::Args)]
struct SelectArgs {
    /// A bundled policy by name (`debgate policies` lists them; `default` is the default set),
    /// or a policy file or directory of *.toml. Repeatable; they combine. Without it, the
    /// default set.
    #[arg(long = "policy", value_name = "NAME|FILE|DIR")]
    policies: Vec<PathBuf>,
    /// Only the rules with a tag this names: literal text, or a glob (repeatable).
    #[arg(long = "tag", value_name = "TAG|GLOB")]
    tags: Vec<String>,
    /// Load allow-lists whose entries still say `reason = "TODO: review"` (a bootstrap from
    /// `debgate privileges --format toml` not yet reviewed); refused otherwise.
    #[arg(long)]
    allow_todo: bool,
}

/// Formats of `debgate privileges`.
#[derive(Clone, Copy, ValueEnum)]
enum PrivilegesFormat {
    Text,
    Json,
    /// One row per privileged state, unresolved change and unanalysed script part.
    Csv,
    /// A ready allow-list to review: `reason = "TODO: review"` and `bug = ""` in each entry.
    Toml,
}

#[derive(Subcommand)]
enum CacheAction {
    /// Where the cache is, how many entries and bytes it holds.
    Info {
        /// The cache directory [default: $XDG_CACHE_HOME/debgate, else ~/.cache/debgate].
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
    },
    /// Remove the least recently used entries until the cache holds at most --max-size, and
    /// temporary files left by interrupted runs.
    Gc {
        #[arg(long, value_name = "DIR")]
        cache: Option<PathBuf>,
        /// Bytes to keep, with an optional K, M or G (powers of 1024); 0 empties the cache
        /// [default: 2G, the limit every run trims to].
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
    },
}

/// `2G`, `500M`, `64K` or a plain number of bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => {
            return Err(format!(
                "`{text}`: give bytes, or a number with K, M, G or T"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}`: give bytes, or a number with K, M, G or T"))?;
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}`: too large"))
}

#[derive(Subcommand)]
enum Command {
    /// Judge packages against the policies. Exit 0: clean; 1: a rule of severity `--fail-on`
    /// (default error) or higher failed and no waiver accepts it; 2: bad usage, an unreadable
    /// package, a bad policy or a bad waiver file.
    Check {
        #[command(flatten)]
        judge: JudgeArgs,
        /// Verify each .changes' OpenPGP signature against this keyring with gpgv (or sqv);
        /// an unsigned, badly signed or unknown-key upload then fails.
        #[arg(long, value_name = "FILE")]
        keyring: Option<PathBuf>,
        #[command(flatten)]
        read: ReadArgs,
        /// An apt repository to check instead of PATHs (repeatable): apt's one-line form,
        /// `deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] file:///srv/mirror bookworm
        /// main`, or a .list or deb822 .sources file; file://, http:// or https://. Its
        /// InRelease (or Release and Release.gpg), indexes and packages are verified as apt
        /// verifies them.
        #[arg(long, value_name = "SPEC", conflicts_with = "paths")]
        archive: Vec<String>,
        #[command(flatten)]
        repo: RepoArgs,
        /// .deb and .changes files, or directories walked for both (`-`: one package from
        /// standard input). A .changes is an upload:
        /// its files are verified and its packages judged as one set.
        #[arg(required_unless_present = "archive", value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Judge the outputs of `check --archive SPEC --shard K/N --format jsonl` runs, one per part
    /// of 1/N..N/N, as the one set a single run would have read: the report (and exit status)
    /// is the single run's. Give the shards' --policy, --tag and --limit options.
    Merge {
        #[command(flatten)]
        judge: JudgeArgs,
        #[command(flatten)]
        read: ReadArgs,
        /// The shards' JSON Lines outputs, every part once.
        #[arg(required = true, value_name = "SHARD.jsonl")]
        shards: Vec<PathBuf>,
    },
    /// Show what a package does to privileges and settings.
    Inspect {
        /// Text or JSON; with --archive, JSON Lines whatever this says (one object per package,
        /// printed as each is read).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        read: ReadArgs,
        /// Inspect every selected package of an apt repository instead of PKG.deb (see `check
        /// --archive`).
        #[arg(long, value_name = "SPEC", conflicts_with = "package")]
        archive: Vec<String>,
        #[command(flatten)]
        repo: RepoArgs,
        #[arg(value_name = "PKG.deb", required_unless_present = "archive")]
        package: Option<PathBuf>,
    },
    /// What changed between two sets of packages: versions, files, privileges after maintainer
    /// scripts, kernel config, sysctl values and policy verdicts. Exit 0: no regression of
    /// severity error; 1: at least one; 2: bad usage, an unreadable package or a bad policy.
    Diff {
        #[command(flatten)]
        select: SelectArgs,
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Write the report to FILE instead of stdout.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Exit 1 when the new side has a privileged state (setuid, setgid, a capability) that
        /// no old state of the path is at least as privileged as, for CI.
        #[arg(long)]
        fail_on_escalation: bool,
        #[command(flatten)]
        read: ReadArgs,
        /// The old side from an apt repository instead of OLD (see `check --archive`;
        /// repeatable: the repositories make one side).
        #[arg(long, value_name = "SPEC")]
        old_archive: Vec<String>,
        /// The new side from an apt repository instead of NEW.
        #[arg(long, value_name = "SPEC")]
        new_archive: Vec<String>,
        #[command(flatten)]
        repo: RepoArgs,
        /// OLD then NEW: each a .deb or a directory walked for *.deb. A side given by
        /// --old-archive or --new-archive is left out: `diff --old-archive SPEC NEW`.
        #[arg(value_name = "OLD NEW", num_args = 0..=2)]
        sides: Vec<PathBuf>,
    },
    /// List every privileged file of a set: setuid, setgid or capable in any end state, whether
    /// data.tar ships it or a maintainer script grants it, with the lines that lead to each
    /// state, and every change static reading could not resolve that may grant one. Exit 0, or
    /// 2 when a package cannot be read (the others are still listed).
    Privileges {
        #[arg(long, value_enum, default_value_t = PrivilegesFormat::Text)]
        format: PrivilegesFormat,
        /// Also list setgid (and setuid) directories, which are group inheritance rather than
        /// privilege and left out by default.
        #[arg(long)]
        directories: bool,
        #[command(flatten)]
        read: ReadArgs,
        /// List every selected package of an apt repository instead of PATHs (see `check
        /// --archive`).
        #[arg(long, value_name = "SPEC", conflicts_with = "paths")]
        archive: Vec<String>,
        #[command(flatten)]
        repo: RepoArgs,
        /// .deb files, or directories walked for them (`-`: one package from standard input).
        #[arg(required_unless_present = "archive", value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// List the selected rules (and debgate's built-in checks).
    Rules {
        #[command(flatten)]
        select: SelectArgs,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show one rule's explanation and references.
    Explain {
        #[command(flatten)]
        select: SelectArgs,
        #[arg(value_name = "RULE-ID")]
        rule: String,
    },
    /// List the bundled policies: name, title, rule count, and whether each is in the default
    /// set that runs without `--policy`.
    Policies {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run policy tests: each case file's small package sets, judged by the policy it names,
    /// against the status it expects of each rule. Exit 0: all hold; 1: some do not; 2: a bad
    /// case file or policy.
    TestPolicy {
        /// Case files (TOML `[[case]]`), or directories of them.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// The facts cache that --archive runs keep: `info` says where it is and how big;
    /// `gc` trims it to a size, least recently used first.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// List the reader limits with their defaults.
    Limits,
    /// Print a shell completion script: `debgate completions bash > /etc/bash_completion.d/debgate`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), as docs/debgate.1 holds it.
    #[command(hide = true)]
    Man,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_INPUT } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("debgate: {e:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// The selected rules, and the ids of every rule the selected policies declare (for waivers of
/// rules `--tag` leaves out). Every policy error is printed before failing.
fn rules(select: &SelectArgs) -> Result<(RuleSet, Vec<String>)> {
    selection::select_with(&select.policies, &select.tags, select.allow_todo).map_err(|e| {
        for d in e.diagnostics() {
            eprintln!("{d}");
        }
        anyhow::anyhow!("{e}")
    })
}

/// The selected rules and every built-in one (package checks, upload checks), for `rules` and
/// `explain`.
fn all_rules(select: &SelectArgs) -> Result<RuleSet> {
    let (rules, _) = rules(select)?;
    with_builtin_rules(rules)
        .and_then(with_upload_rules)
        .map_err(anyhow::Error::msg)
}

/// The waivers of `--waivers FILE`, else of the default file when it exists. Every error is
/// printed before failing.
fn check_waivers(
    rules: &RuleSet,
    known: &[String],
    given: Option<PathBuf>,
    none: bool,
) -> Result<Waivers> {
    let path = match given {
        Some(p) => p,
        None if none => return Ok(Waivers::default()),
        None => {
            let p = PathBuf::from(DEFAULT_WAIVERS);
            if !p.exists() {
                return Ok(Waivers::default());
            }
            p
        }
    };
    Waivers::load_known(&path, rules, known).map_err(|errs| {
        for e in &errs.0 {
            eprintln!("{e}");
        }
        anyhow::anyhow!(
            "{} error(s) in the waiver file; no package was read",
            errs.0.len()
        )
    })
}

fn stdout_wants_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Write a rendered report. A reader that went away (`debgate check DIR | head`) ends the
/// writing quietly: the run has been judged already and its exit status stands, so a gate
/// under `set -o pipefail` still sees a failure. Any other write error is reported.
fn emit(rendered: Result<(), RenderError>) -> Result<()> {
    match rendered {
        Err(e) if e.is_broken_pipe() => Ok(()),
        other => Ok(other?),
    }
}

/// Write generated bytes to stdout (a closed pipe ends it quietly); exit 0.
fn write_stdout(bytes: &[u8]) -> Result<u8> {
    emit(
        std::io::stdout()
            .lock()
            .write_all(bytes)
            .map_err(RenderError::from),
    )?;
    Ok(0)
}

fn settings(read: &ReadArgs) -> Result<Settings> {
    if read.xz_threads > debgate_reader::MAX_XZ_THREADS {
        anyhow::bail!(
            "--xz-threads {}: at most {} (liblzma's limit); 0 is automatic",
            read.xz_threads,
            debgate_reader::MAX_XZ_THREADS
        );
    }
    let mut s = Settings {
        xz_threads: read.xz_threads,
        jobs: read.jobs,
        ..Settings::default()
    };
    for l in &read.limits {
        let (name, value) = l
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--limit takes NAME=VALUE, got `{l}`"))?;
        s.limits.set(name, value)?;
    }
    Ok(s)
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Check {
            judge,
            keyring,
            read,
            archive,
            mut repo,
            paths,
        } => {
            // debgate's own package checks are judged in every run.
            // Every option value is checked before any input is looked at.
            let settings = settings(&read)?;
            repo.prepare(!archive.is_empty())?;
            let (rules, known) = rules(&judge.select)?;
            let rules = with_builtin_rules(rules).map_err(anyhow::Error::msg)?;
            if let Some(k) = &keyring {
                if !k.is_file() {
                    anyhow::bail!("--keyring {}: not a readable file", k.display());
                }
            }
            let inputs = if archive.is_empty() {
                collect_check_inputs(&paths)?
            } else {
                debgate_check::CheckInputs {
                    debs: Vec::new(),
                    uploads: Vec::new(),
                }
            };
            if archive.is_empty() && inputs.is_empty() {
                anyhow::bail!(
                    "no .deb or .changes found in {}",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            // Without a verifier every signed upload would fail the same way: say so once, as
            // the usage error it is, before reading anything.
            if keyring.is_some() && !inputs.uploads.is_empty() && Verifier::find().is_none() {
                anyhow::bail!("--keyring: {}", SignatureError::NoVerifier);
            }
            // The upload checks are rules only where there is an upload, so that reports of
            // plain packages (SARIF's rule list, JUnit) don't list checks that never ran.
            let rules = if inputs.uploads.is_empty() {
                rules
            } else {
                with_upload_rules(rules).map_err(anyhow::Error::msg)?
            };
            // A bad waiver file stops the run before any package is read, like a bad policy.
            let waivers = check_waivers(&rules, &known, judge.waivers.clone(), judge.no_waivers)?;
            let progress = progress::Progress::new();
            let report = if archive.is_empty() {
                check_inputs_with_progress(
                    &rules,
                    &inputs,
                    &settings,
                    keyring.as_deref(),
                    &|done, total| progress.tick(done, total),
                )
            } else {
                if let (CheckFormat::Jsonl, Some(shard)) = (judge.format, repo.shard) {
                    return write_shard(&rules, &repo.with(&archive), shard, &settings, &progress);
                }
                let streams = matches!(judge.format, CheckFormat::Jsonl) && repo.shard.is_none();
                let checked = if streams {
                    // JSON Lines over repositories: each package judged and written as it is
                    // read again from the facts cache, in memory that does not grow with the
                    // repository (see `check_archives_streaming`).
                    let gating = debgate_check::archive::Gating {
                        waivers: &waivers,
                        fail_on: judge.fail_on.severity(),
                        today: Date::today(),
                    };
                    match stream_archives(
                        &rules,
                        &repo.with(&archive),
                        &settings,
                        &gating,
                        &progress,
                    ) {
                        Ok(Ok(code)) => return Ok(code),
                        Ok(Err(fallback)) => Ok(fallback),
                        Err(e) => Err(e),
                    }
                } else {
                    debgate_check::archive::check_archives(
                        &rules,
                        &repo.with(&archive),
                        &settings,
                        &|t| progress.tick_archive(t),
                    )
                };
                match checked {
                    Ok(c) => {
                        warn_once(&c.notices);
                        c.report
                    }
                    Err(e) => {
                        progress.finish();
                        anyhow::bail!("{e}");
                    }
                }
            };
            progress.finish();
            judge.gate(&rules, &waivers).render(report)
        }
        Command::Merge {
            judge,
            read,
            shards,
        } => {
            let settings = settings(&read)?;
            let (rules, known) = rules(&judge.select)?;
            let rules = with_builtin_rules(rules).map_err(anyhow::Error::msg)?;
            let waivers = check_waivers(&rules, &known, judge.waivers.clone(), judge.no_waivers)?;
            if let CheckFormat::Jsonl = judge.format {
                // Streamed: each part's facts read twice from disk, memory that does not grow
                // with the archive.
                let gating = debgate_check::archive::Gating {
                    waivers: &waivers,
                    fail_on: judge.fail_on.severity(),
                    today: Date::today(),
                };
                return stream_jsonl(|emit| {
                    debgate_check::merge::merge_streaming(
                        &rules,
                        &shards,
                        &settings,
                        &gating,
                        &|_, _| {},
                        emit,
                    )
                    .map_err(|e| e.to_string())
                });
            }
            let report = debgate_check::merge::merge(&rules, &settings.limits, &shards)?;
            judge.gate(&rules, &waivers).render(report)
        }
        Command::Inspect {
            format,
            read,
            archive,
            mut repo,
            package,
        } => {
            let settings = settings(&read)?;
            repo.prepare(!archive.is_empty())?;
            let Some(package) = package else {
                return inspect_archive(&archive, &repo, &settings);
            };
            let report = inspect(&package, &settings)
                .map_err(|e| anyhow::anyhow!("{}: {e}", package.display()))?;
            let out = &mut std::io::stdout().lock();
            emit(match format {
                Format::Json => debgate_render::json(&report, out),
                Format::Text => {
                    debgate_render::inspect_text(&report, &RenderOptions::default(), out)
                }
            })?;
            Ok(0)
        }
        Command::Diff {
            select,
            format,
            color,
            output,
            fail_on_escalation,
            read,
            old_archive,
            new_archive,
            mut repo,
            sides,
        } => {
            let (rules, _) = rules(&select)?;
            let settings = settings(&read)?;
            repo.prepare(!old_archive.is_empty() || !new_archive.is_empty())?;
            let wanted = usize::from(old_archive.is_empty()) + usize::from(new_archive.is_empty());
            if sides.len() != wanted {
                anyhow::bail!(
                    "diff takes {wanted} path(s) besides --old-archive/--new-archive, got {}",
                    sides.len()
                );
            }
            let progress = progress::Progress::new();
            let tick = |side: &'static str, done, total| progress.tick_side(side, done, total);
            let mut paths = sides.iter();
            let mut side = |specs| set_source(&repo, specs, &mut paths);
            let old = side(&old_archive);
            let new = side(&new_archive);
            let report = debgate_diff::diff_sides(&rules, old, new, &settings, &tick);
            progress.finish();
            let (report, notices) = report?;
            warn_once(&notices);
            let opts = RenderOptions {
                color: match color {
                    Color::Always => true,
                    Color::Never => false,
                    Color::Auto => output.is_none() && stdout_wants_color(),
                },
                ..RenderOptions::default()
            };
            let render = |out: &mut dyn Write| match format {
                DiffFormat::Json => debgate_render::json(&report, out),
                DiffFormat::Markdown => debgate_render::diff_markdown(&report, &opts, out),
                DiffFormat::Html => debgate_render::diff_html(&report, &opts, out),
                DiffFormat::Text => debgate_render::diff_text(&report, &opts, out),
            };
            match &output {
                Some(path) => {
                    let mut file = std::fs::File::create(path)
                        .map(std::io::BufWriter::new)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                    render(&mut file).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                }
                None => emit(render(&mut std::io::stdout().lock()))?,
            }
            Ok(u8::try_from(report.exit_code_with(fail_on_escalation)).unwrap_or(EXIT_BAD_INPUT))
        }
        Command::Privileges {
            format,
            directories,
            read,
            archive,
            mut repo,
            paths,
        } => {
            let settings = settings(&read)?;
            repo.prepare(!archive.is_empty())?;
            let scope = debgate_analyze::privileges::Scope { directories };
            let progress = progress::Progress::new();
            let report = if archive.is_empty() {
                privileges_of_files(&paths, &settings, scope, &progress)?
            } else {
                let repos = open_repositories(
                    &repo.with(&archive),
                    &RuleSet::default(),
                    "privileges: nothing captured (1)",
                    &progress,
                )?;
                let read = repos.read_all(&settings, &|_| false, &|t| progress.tick_archive(t));
                let mut report = debgate_check::privileges::report(read, scope);
                report
                    .errors
                    .extend(repos.unusable.iter().map(|(index, e)| {
                        debgate_check::privileges::Unreadable {
                            file: index.display().to_string(),
                            error: e.clone(),
                        }
                    }));
                report
            };
            progress.finish();
            let out = &mut std::io::stdout().lock();
            emit(match format {
                PrivilegesFormat::Json => debgate_render::json(&report, out),
                PrivilegesFormat::Text => debgate_render::privileges_text(&report, out),
                PrivilegesFormat::Csv => debgate_render::privileges_csv(&report, out),
                PrivilegesFormat::Toml => debgate_render::privileges_toml(&report, out),
            })?;
            Ok(u8::try_from(report.exit_code()).unwrap_or(EXIT_BAD_INPUT))
        }
        Command::Rules { select, format } => {
            let rules = all_rules(&select)?;
            let out = &mut std::io::stdout().lock();
            emit(match format {
                Format::Json => debgate_render::rules_json(&rules, out),
                Format::Text => debgate_render::rules_text(&rules, &RenderOptions::default(), out),
            })?;
            Ok(0)
        }
        Command::Policies { format } => {
            let list = selection::bundled().map_err(anyhow::Error::msg)?;
            let out = &mut std::io::stdout().lock();
            emit(match format {
                Format::Json => debgate_render::json(&list, out),
                Format::Text => debgate_render::policies_text(&list, out),
            })?;
            Ok(0)
        }
        Command::Explain { select, rule } => {
            let rules = all_rules(&select)?;
            match rules.get(&rule) {
                Some(r) => {
                    let out = &mut std::io::stdout().lock();
                    emit(debgate_render::explain_text(
                        r,
                        &RenderOptions::default(),
                        out,
                    ))?;
                    Ok(0)
                }
                None => anyhow::bail!("no rule `{rule}` is loaded; `debgate rules` lists them"),
            }
        }
        Command::TestPolicy { paths } => {
            let mut files = Vec::new();
            for p in &paths {
                if p.is_dir() {
                    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                        .collect();
                    v.sort();
                    files.extend(v);
                } else {
                    files.push(p.clone());
                }
            }
            if files.is_empty() {
                anyhow::bail!("no case file (*.toml) in the paths given");
            }
            let limits = debgate_reader::Limits::default();
            let mut reports = Vec::new();
            for f in &files {
                let r = debgate_check::cases::test_policy(f, &limits).map_err(|e| {
                    for d in e.diagnostics() {
                        eprintln!("{d}");
                    }
                    anyhow::anyhow!("{}: {e}", f.display())
                })?;
                reports.push(r);
            }
            emit(debgate_render::policy_tests_text(
                &reports,
                &mut std::io::stdout().lock(),
            ))?;
            Ok(u8::from(reports.iter().any(|r| r.failed() > 0)))
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "debgate", &mut buf);
            write_stdout(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut buf)?;
            write_stdout(&buf)
        }
        Command::Cache { action } => {
            let (dir, max) = match action {
                CacheAction::Info { cache } => (cache, None),
                CacheAction::Gc { cache, max_size } => (
                    cache,
                    Some(max_size.unwrap_or(debgate_check::CacheLimits::default().max_bytes)),
                ),
            };
            let dir = match dir {
                Some(d) => d,
                None => debgate_check::Cache::default_dir()?,
            };
            let cache = debgate_check::Cache::open(&dir)?;
            let line = match max {
                None => {
                    let u = cache.usage()?;
                    format!(
                        "{}: {} entries, {} bytes (trimmed to {} bytes by every run)\n",
                        dir.display(),
                        u.entries,
                        u.bytes,
                        cache.limits().max_bytes
                    )
                }
                Some(max) => {
                    let r = cache.gc(max)?;
                    let (entries, bytes) = r.kept();
                    format!(
                        "{}: removed {} entries ({} bytes) and {} stale temporary file(s); {} entries, {} bytes kept\n",
                        dir.display(),
                        r.removed,
                        r.removed_bytes,
                        r.stale_temps,
                        entries,
                        bytes
                    )
                }
            };
            write_stdout(line.as_bytes())
        }
        Command::Limits => {
            let out = &mut std::io::stdout().lock();
            emit(debgate_render::limits_text(&RenderOptions::default(), out))?;
            Ok(0)
        }
    }
}

/// One side of `diff`: its repositories, or else the next path given.
fn set_source<'a>(
    repo: &'a RepoArgs,
    specs: &'a [String],
    paths: &mut std::slice::Iter<'_, PathBuf>,
) -> SetSource<'a> {
    match specs {
        [] => SetSource::Files(paths.next().cloned().unwrap_or_default()),
        specs => SetSource::Archive(repo.with(specs)),
    }
}

/// What a run over repositories must say once (a repository read unverified).
fn warn_once(notices: &[String]) {
    for n in notices {
        eprintln!("debgate: warning: {n}");
    }
}

/// Open and verify the repositories; a chain that does not verify stops the run (exit 2).
fn open_repositories(
    args: &debgate_check::archive::ArchiveArgs<'_>,
    rules: &RuleSet,
    wants: &str,
    progress: &progress::Progress,
) -> Result<Repositories> {
    let repos = Repositories::open(args, &|name| rules.shard_key(name), wants).map_err(|e| {
        progress.finish();
        anyhow::anyhow!("{e}")
    })?;
    warn_once(&repos.notices);
    Ok(repos)
}

/// `debgate privileges PATH...`.
fn privileges_of_files(
    paths: &[PathBuf],
    settings: &Settings,
    scope: debgate_analyze::privileges::Scope,
    progress: &progress::Progress,
) -> Result<debgate_check::privileges::PrivilegesReport> {
    let files = debgate_check::collect_inputs(paths)?;
    if files.is_empty() {
        anyhow::bail!(
            "no .deb found in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let done = std::sync::atomic::AtomicUsize::new(0);
    Ok(debgate_check::privileges::privileges(
        &files,
        settings,
        scope,
        &|_| {
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress.tick(n, files.len())
        },
    ))
}

/// `debgate inspect --archive SPEC`: JSON Lines, one `"type": "inspect"` object per package
/// (the fields of `inspect --format json`) printed as each package is read, in the order they
/// finish, so that memory stays that of the packages being read whatever the repository's
/// size. A package that cannot be read is a `"type": "error"` line and makes the exit status 2;
/// the others are still printed.
fn inspect_archive(specs: &[String], repo: &RepoArgs, settings: &Settings) -> Result<u8> {
    let progress = progress::Progress::new();
    let repos = open_repositories(
        &repo.with(specs),
        &RuleSet::default(),
        "inspect: sysctl.d, kernel configs (1)",
        &progress,
    )?;
    let failed = std::sync::atomic::AtomicBool::new(false);
    let done = std::sync::atomic::AtomicUsize::new(0);
    // The sink and the first write error (a closed pipe, a full disk), which ends the output.
    let sink = std::sync::Mutex::new((JsonlSink::new(std::io::stdout()), None::<RenderError>));
    let write = |f: &dyn Fn(&mut JsonlSink<std::io::Stdout>) -> Result<(), RenderError>| {
        let Ok(mut guard) = sink.lock() else { return };
        let (out, broken) = &mut *guard;
        if broken.is_none() {
            *broken = f(out).err();
        }
    };
    for (index, e) in &repos.unusable {
        failed.store(true, std::sync::atomic::Ordering::Relaxed);
        write(&|out| out.unreadable(&index.display().to_string(), e));
    }
    repos.read_each(settings, &debgate_check::inspect::inspect_wants, &|_,
                                                                        (
        label,
        result,
    )| {
        match result {
            Ok(a) => write(&|out| out.inspected(&debgate_check::inspect::of(&a))),
            Err(e) => {
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
                write(&|out| out.unreadable(&label.display().to_string(), &e));
            }
        }
        progress.tick(
            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
            repos.len(),
        );
    });
    progress.finish();
    if let Some(e) = sink.into_inner().ok().and_then(|(_, broken)| broken) {
        emit(Err(e))?;
    }
    Ok(if failed.into_inner() {
        EXIT_BAD_INPUT
    } else {
        0
    })
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

/// `check --archive SPEC --format jsonl` (without `--shard`): each package's line and results
/// written as it is judged, then the set's results, the waivers and the summary; the exit
/// status. `Err` inside: the repositories cannot be read twice through the facts cache, and
/// were judged in memory instead (the caller renders that report as ever).
fn stream_archives(
    rules: &RuleSet,
    args: &debgate_check::archive::ArchiveArgs<'_>,
    settings: &Settings,
    gating: &debgate_check::archive::Gating<'_>,
    progress: &progress::Progress,
) -> Result<std::result::Result<u8, debgate_check::archive::ArchiveCheck>, String> {
    use debgate_check::archive::{Checked, Streamed};
    // The sink and the first write error (a closed pipe, a full disk), which ends the output.
    let sink = std::sync::Mutex::new((JsonlSink::new(std::io::stdout()), None::<RenderError>));
    let write = |f: &dyn Fn(&mut JsonlSink<std::io::Stdout>) -> Result<(), RenderError>| {
        let Ok(mut guard) = sink.lock() else { return };
        let (out, broken) = &mut *guard;
        if broken.is_none() {
            *broken = f(out).err();
        }
    };
    let checked = debgate_check::archive::check_archives_streaming(
        rules,
        args,
        settings,
        gating,
        &|t| progress.tick_archive(t),
        &|done, total| progress.tick(done, total),
        &|item| match item {
            Streamed::Package(p, results) => write(&|out| {
                out.package_done(p)?;
                out.results(results)
            }),
            Streamed::Set(results) => write(&|out| out.results(results)),
        },
    );
    progress.finish();
    let streamed = match checked? {
        Checked::Streamed(s) => s,
        Checked::InMemory(c) => return Ok(Err(c)),
    };
    warn_once(&streamed.notices);
    let (out, broken) = sink
        .into_inner()
        .map_err(|_| "the output was lost".to_string())?;
    let written = match broken {
        Some(e) => Err(e),
        None => out.finish(&streamed.waivers, &streamed.summary).map(drop),
    };
    emit(written).map_err(|e| e.to_string())?;
    Ok(Ok(
        u8::try_from(streamed.summary.exit_code()).unwrap_or(EXIT_BAD_INPUT)
    ))
}

/// Write a streamed judging's JSON Lines to stdout: each package and its results as `run`
/// hands them on, then the waivers and the summary; the exit status is the summary's.
fn stream_jsonl(
    run: impl FnOnce(
        &(dyn Fn(debgate_check::archive::Streamed<'_>) + Sync),
    ) -> std::result::Result<
        (
            Vec<debgate_check::waivers::WaiverNotice>,
            debgate_check::Summary,
        ),
        String,
    >,
) -> Result<u8> {
    use debgate_check::archive::Streamed;
    // The sink and the first write error (a closed pipe, a full disk), which ends the output.
    let sink = std::sync::Mutex::new((JsonlSink::new(std::io::stdout()), None::<RenderError>));
    let write = |f: &dyn Fn(&mut JsonlSink<std::io::Stdout>) -> Result<(), RenderError>| {
        let Ok(mut guard) = sink.lock() else { return };
        let (out, broken) = &mut *guard;
        if broken.is_none() {
            *broken = f(out).err();
        }
    };
    let (waivers, summary) = run(&|item| match item {
        Streamed::Package(p, results) => write(&|out| {
            out.package_done(p)?;
            out.results(results)
        }),
        Streamed::Set(results) => write(&|out| out.results(results)),
    })
    .map_err(anyhow::Error::msg)?;
    let (out, broken) = sink
        .into_inner()
        .map_err(|_| anyhow::anyhow!("the output was lost"))?;
    let written = match broken {
        Some(e) => Err(e),
        None => out.finish(&waivers, &summary).map(drop),
    };
    emit(written)?;
    Ok(u8::try_from(summary.exit_code()).unwrap_or(EXIT_BAD_INPUT))
}

/// `check --archive … --shard K/N --format jsonl`: a shard line, then each package's facts
/// (or why it was not read) as it is read, for `debgate merge`, which judges. Exit 0, or 2 when
/// a package could not be read.
fn write_shard(
    rules: &RuleSet,
    args: &debgate_check::archive::ArchiveArgs<'_>,
    shard: debgate_check::archive::Shard,
    settings: &Settings,
    progress: &progress::Progress,
) -> Result<u8> {
    let header =
        debgate_check::merge::ShardHeader::new(&shard.to_string(), &settings.limits, rules);
    let sink = std::sync::Mutex::new((JsonlSink::new(std::io::stdout()), None::<RenderError>));
    let write = |f: &dyn Fn(&mut JsonlSink<std::io::Stdout>) -> Result<(), RenderError>| {
        let Ok(mut guard) = sink.lock() else { return };
        let (out, broken) = &mut *guard;
        if broken.is_none() {
            *broken = f(out).err();
        }
    };
    // Nothing is written unless the chain verifies: a shard's output is whole or absent.
    let repos = debgate_check::archive::open_repositories(rules, args).map_err(|e| {
        progress.finish();
        anyhow::anyhow!("{e}")
    })?;
    warn_once(&repos.notices);
    write(&|out| out.shard(&header));
    let counts = std::sync::atomic::AtomicUsize::new(0);
    let unreadable = debgate_check::archive::read_shard(
        rules,
        &repos,
        settings,
        &|t| progress.tick_archive(t),
        &|item| {
            counts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            write(&|out| out.shard_item(&item))
        },
    );
    progress.finish();
    // The closing line: a merge takes a part only whole, with every line it announces.
    let lines = counts.into_inner();
    write(&|out| out.shard_item(&debgate_check::merge::ShardItem::End { lines }));
    if let Some(e) = sink.into_inner().ok().and_then(|(_, broken)| broken) {
        emit(Err(e))?;
    }
    Ok(if unreadable { EXIT_BAD_INPUT } else { 0 })
}

/// How a check's report is gated and written: by `check` and by `merge`.
struct Gate<'a> {
    rules: &'a RuleSet,
    waivers: &'a Waivers,
    fail_on: FailOn,
    color: Color,
    verbose: bool,
    format: CheckFormat,
}

impl Gate<'_> {
    /// Apply the waivers and `--fail-on`, write the report, and give the exit status.
    fn render(&self, mut report: debgate_check::CheckReport) -> Result<u8> {
        let fail_on = self.fail_on.severity();
        report.gate(self.rules, self.waivers, fail_on, Date::today());
        let opts = RenderOptions {
            color: match self.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => stdout_wants_color(),
            },
            verbose: self.verbose,
            fail_on,
        };
        let out = &mut std::io::stdout().lock();
        emit(match self.format {
            CheckFormat::Json => debgate_render::json(&report, out),
            CheckFormat::Jsonl => JsonlSink::new(out).report(&report).map(drop),
            CheckFormat::Junit => debgate_render::junit(&report, &opts, out),
            CheckFormat::Sarif => {
                let cwd = std::env::current_dir().ok();
                debgate_render::sarif(&report, self.rules, cwd.as_deref(), &opts, out)
            }
            CheckFormat::Text => debgate_render::check_text(&report, &opts, out),
        })?;
        Ok(u8::try_from(report.exit_code()).unwrap_or(EXIT_BAD_INPUT))
    }
}
