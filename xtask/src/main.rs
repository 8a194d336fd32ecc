//! `cargo xtask`: the project's automation (`ci`, `tidy`, `fixtures`, `corpus`, `bench`, `sarif`,
//! `sweep`, `sweep --differential`, `scale-sample`, `kspp`, `fuzz`).
//! See README.md ("Development") and ARCHITECTURE.md.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::{
    bench, ci, corpus, differential, fuzz, kspp, sarif, scale, sweep, tidy, workspace_root,
};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "debgate project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// fmt --check, clippy -D warnings, cargo test, tidy, kspp --check, SARIF validation, fuzz
    /// --ci, corpus; stops at the first failure.
    Ci,
    /// Generate SARIF for the focal-like fixtures (with a waiver) and validate it with
    /// sarif-multitool, installed with npm under target/tools when missing.
    Sarif,
    /// Repository rules: rules are data, module docs, documented rules, crates in ARCHITECTURE.md.
    Tidy,
    /// Regenerate the fixture .debs under testdata/releases/ from their trees, and the uploads
    /// under testdata/uploads/ from uploads.toml.
    Fixtures {
        /// The testdata directory to regenerate (to try the writer on a copy).
        #[arg(long, default_value = "testdata")]
        testdata: std::path::PathBuf,
    },
    /// Generate the bundled kspp profile (policies/kspp.toml) from kernel-hardening-checker's
    /// checklist, testdata/khc/checks.json, and its policy tests (policies/tests/kspp.toml) from
    /// KHC's verdicts and synthetic kernels.
    Kspp {
        /// Write nothing; fail if the committed profile is not what would be generated.
        #[arg(long)]
        check: bool,
    },
    /// Check and diff real Debian packages (apt-get download) against xtask/corpus.toml.
    Corpus,
    /// Run every cargo-fuzz target of crates/fuzz for MINUTES each, with libFuzzer's memory
    /// limits, growing the committed corpus; fails on the first crash. Needs cargo-fuzz; nightly
    /// (AddressSanitizer) when it works, else `--sanitizer none` on the current toolchain
    /// (DEBGATE_FUZZ_TOOLCHAIN=nightly|stable forces one).
    Fuzz {
        /// At least 1: libFuzzer takes 0 as "no time limit".
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        minutes: u64,
        /// What `cargo xtask ci` runs: build every target under target/fuzz/, then fuzz each
        /// for 15 s over a scratch copy of its committed corpus (no repository file changes);
        /// fails on any crash, or when no harness can be had.
        #[arg(long, conflicts_with = "minutes")]
        ci: bool,
    },
    /// Time debgate check and diff against dpkg-deb --fsys-tarfile, lintian, debdiff and
    /// diffoscope on the corpus (ratios from one run), then `check --archive` on a repository of
    /// 5,000 entries.
    Bench {
        /// Run one section alone: `archive` (the repository of 5,000 entries; the full bench
        /// is long).
        #[arg(long, value_parser = ["archive"])]
        only: Option<String>,
    },
    /// Download COUNT packages of the sweep's seeded pick (apt-get download, timed), time debgate
    /// check and dpkg-deb --fsys-tarfile on them, and extrapolate to Debian 12 main amd64 (the
    /// figures of docs/scale.md). Downloads into target/scale-sample/.
    ScaleSample {
        #[arg(long, default_value_t = 300)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Read and inspect COUNT real packages picked at random (by SEED) from apt's lists; fails
    /// if any cannot be read. With --differential, run the differential test (the oracle
    /// against debgate's predicted states) on COUNT packages that matter: libcap2-bin's
    /// reverse dependencies and packages with a privilege change; fails on any unsound state.
    /// Not part of ci: it downloads hundreds of MiB.
    Sweep {
        /// Packages (default 200; 300 with --differential).
        #[arg(long)]
        count: Option<usize>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Compare the oracle's observed states with debgate's predictions.
        #[arg(long)]
        differential: bool,
        /// With --differential: oracle sequences per package, at most.
        #[arg(long, default_value_t = 60)]
        runs: usize,
        /// With --differential: oracle seconds per package, at most.
        #[arg(long, default_value_t = 6)]
        budget: u64,
        /// With --differential: only this package (repeatable), to look again at one.
        #[arg(long = "package")]
        only: Vec<String>,
    },
}

fn main() -> ExitCode {
    // `rusage-of -- PROGRAM ARGS...`: the shim `bench::measure` runs what it measures through
    // (see `bench::command`); not a user's command, so not in the help.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == bench::RUSAGE_OF) {
        return match argv.get(2..) {
            Some([dashes, program, args @ ..]) if dashes == "--" => {
                match bench::rusage_of(program, args) {
                    Ok(code) => ExitCode::from(code),
                    Err(err) => {
                        eprintln!("xtask rusage-of: {err:#}");
                        ExitCode::from(127)
                    }
                }
            }
            _ => {
                eprintln!("usage: xtask rusage-of -- PROGRAM [ARGS...]");
                ExitCode::from(2)
            }
        };
    }
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Result<()> {
    let root = workspace_root();
    match cmd {
        Cmd::Ci => ci::run(&root),
        Cmd::Tidy => {
            let failed = tidy::run_all(&root)?;
            let passed = tidy::CHECKS.len() - failed;
            println!("tidy: {passed} passed, {failed} failed");
            if failed > 0 {
                bail!("{failed} tidy check(s) failed");
            }
            Ok(())
        }
        Cmd::Fixtures { testdata } => {
            // A relative --testdata is relative to the workspace, like everything xtask does.
            let testdata = root.join(testdata);
            let mut written = debgate_writer::write_releases(&testdata)
                .with_context(|| format!("regenerating {}/releases", testdata.display()))?;
            written.extend(
                debgate_writer::write_uploads(&testdata)
                    .with_context(|| format!("regenerating {}/uploads", testdata.display()))?,
            );
            for path in &written {
                println!("{}", path.strip_prefix(&root).unwrap_or(path).display());
            }
            println!(
                "fixtures: {} file(s) match their trees and upload cases (only changed ones were rewritten)",
                written.len()
            );
            Ok(())
        }
        Cmd::Fuzz { ci: true, .. } => fuzz::ci(&root)?.map_err(anyhow::Error::msg),
        Cmd::Fuzz { minutes, .. } => fuzz::run(&root, minutes),
        Cmd::Corpus => match corpus::run(&root)? {
            corpus::Outcome::Skipped(why) => {
                println!("corpus: skipped: {why}");
                Ok(())
            }
            corpus::Outcome::Ran { failed: 0, .. } => Ok(()),
            corpus::Outcome::Ran { failed, .. } => bail!("{failed} corpus expectation(s) failed"),
        },
        Cmd::Kspp { check } => kspp::run(&root, check),
        Cmd::Bench { only: None } => bench::run(&root),
        Cmd::Bench { only: Some(_) } => bench::archive(&root),
        Cmd::ScaleSample { count, seed } => scale::run(&root, count, seed),
        Cmd::Sweep {
            count,
            seed,
            differential: false,
            ..
        } => sweep::run(&root, count.unwrap_or(200), seed),
        Cmd::Sweep {
            count,
            seed,
            differential: true,
            runs,
            budget,
            only,
        } => differential::run(
            &root,
            &differential::Settings {
                count: count.unwrap_or(300),
                seed,
                runs,
                budget: std::time::Duration::from_secs(budget),
                only,
                cases_dir: xtask::util::target_dir(&root).join("sweep/cases"),
            },
        ),
        Cmd::Sarif => sarif::validate(&root)?.map_err(|why| anyhow::anyhow!(why)),
    }
}
