//! Runs maintainer scripts for real in a bubblewrap sandbox: the differential test's oracle.
//!
//! For a [`StateCase`] (`testdata/states/*.toml`), [`observe`] runs many seeded random
//! *sequences* of maintainer-script runs, each in a fresh scratch root inside `bwrap`, with the
//! real coreutils, `setcap` and `getcap`, and records the state every file of the case is left
//! in after a successful `postinst`. The set of states observed must be a subset of what the
//! analyzer predicts (ARCHITECTURE.md, "The effective-state model").
//!
//! A sequence mirrors the model's runs: `preinst install`, the unpack, `postinst configure`,
//! then zero to three of: `postinst` with another argument; `prerm` (remove, upgrade,
//! deconfigure, failed-upgrade) followed by the matching `postinst abort-*`; `postrm
//! failed-upgrade` followed by `postinst configure`; a reinstall (`preinst upgrade`, unpack,
//! `postinst configure`). Failures are injected per call: each `chmod`, `chown`, `chgrp`,
//! `install`, `setcap` and `dpkg-statoverride` call fails without running with the sequence's
//! failure rate (0 to 75%), and so does every command the sandbox does not have; debconf
//! answers are drawn per run. A failed `preinst` stops its install as dpkg does (nothing is
//! unpacked or configured): it is tried again from what it left, up to three times, and when
//! every try fails the sequence ends unrecorded. The sandbox layout is described in `sandbox`.
//!
//! Nothing runs outside the sandbox but the `bwrap` command itself: the scratch root is a
//! temporary directory, and every host file inside the sandbox is a read-only bind mount.

pub mod compare;
mod debconf;
mod host;
mod sandbox;

use debgate_facts::caps::CapSet;
use debgate_writer::case::StateCase;
use sandbox::{sh_quote, CaseSandbox};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use thiserror::Error;

pub use compare::{compare, covers, predictions, Comparison, Prediction, Predictions, Uncovered};
pub use debconf::{parse_templates, Answers};

/// How much to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sequences to run at most.
    pub runs: usize,
    /// The seed every random choice derives from; sequence `i` of a seed is always the same.
    pub seed: u64,
    /// Stop starting new sequences after this long.
    pub time_budget: Duration,
    /// A script run still going after this long is killed and counts as failed.
    pub script_timeout: Duration,
    /// Sequences run at once; 0 means one per available core.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runs: 200,
            seed: 1,
            time_budget: Duration::from_secs(60),
            script_timeout: Duration::from_secs(5),
            jobs: 0,
        }
    }
}

/// What the sequences showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// Path -> every state it was left in after a sequence whose last `postinst` succeeded
    /// (every sequence when the case has no `postinst`), written `MODE OWNER:GROUP[ CAPS]` as
    /// in testdata/states/README.md (no `rerun` marker). The paths are the case's files and
    /// every path a sequence created (including implied parent directories the unpack made).
    pub states: BTreeMap<String, BTreeSet<String>>,
    /// The paths of `states` that were a directory at the end of some recorded sequence.
    pub dirs: BTreeSet<String>,
    /// Script name -> runs that exited 0, over all sequences.
    pub successful_runs: BTreeMap<String, usize>,
    /// Sequences run.
    pub sequences: usize,
    /// Sequences whose end state was recorded.
    pub recorded: usize,
}

#[derive(Debug, Error)]
pub enum OracleError {
    /// bwrap or a host tool is missing, or a trivial sandbox does not work.
    #[error("the sandbox is not available: {0}")]
    Unavailable(String),
    /// Preparing the case's sandbox failed.
    #[error("case {case}: {message}")]
    Setup { case: String, message: String },
    /// A sandbox run failed for a reason of its own (not a script's failure).
    #[error("case {case}, sequence {sequence}: {message}")]
    Sandbox {
        case: String,
        sequence: usize,
        message: String,
    },
}

/// Whether the oracle can run here: bwrap, dash, setcap/getcap and friends are installed, and a
/// trivial sandbox can create a file, give it a capability and chown it. Checked once.
pub fn available() -> Result<(), String> {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    AVAILABLE.get_or_init(check_available).clone()
}

fn check_available() -> Result<(), String> {
    let host = host::host_tools()?;
    let case = debgate_writer::case::parse_state_case("available", "description = \"\"\n")
        .map_err(|e| e.to_string())?;
    let sb = CaseSandbox::new(&case, host)?;
    let driver = "#!/bin/sh\nset -e\nR=/.oracle/bin\nprintf x > /t\n$R/setcap cap_net_raw+ep /t\n\
                  $R/getcap /t | $R/grep -q cap_net_raw\n$R/chown nobody:nogroup /t\n\
                  [ \"$($R/stat -c %U /t)\" = nobody ]\n";
    let scratch = sb
        .scratch(driver, 1, 0)
        .map_err(|e| format!("scratch root: {e}"))?;
    let out = sb
        .command(host, &scratch, Duration::from_secs(20))
        .output()
        .map_err(|e| format!("running bwrap: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "a trivial sandbox failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether the sandbox needs `path` (merged-/usr form, `/usr/bin/sh`) for itself: the shell
/// it runs scripts with, and the shared objects of the host tools it borrows. A case built
/// from a real package should not ship a file there, or the sandbox's tools would load it.
pub fn reserved(path: &str) -> bool {
    if ["/usr/bin/sh", "/usr/bin/dash", "/usr/bin/bash"].contains(&path) {
        return true;
    }
    host::host_tools().is_ok_and(|h| {
        h.libs
            .iter()
            .any(|l| host::merged_usr(l).to_string_lossy() == path)
    })
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Run a maintainer script (skipped when the case has none of that name).
    Run(&'static str, Vec<String>),
    /// Unpack the data.tar again.
    Unpack,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Run(name, args) => {
                write!(f, "{name}")?;
                for a in args {
                    write!(f, " {}", if a.is_empty() { "''" } else { a })?;
                }
                Ok(())
            }
            Step::Unpack => f.write_str("unpack"),
        }
    }
}

/// Everything about one sequence, for humans (`examples/observe.rs --trace`).
#[derive(Debug, Clone)]
pub struct SequenceTrace {
    pub steps: Vec<Step>,
    /// The failure rate injected, in percent.
    pub fail_percent: u32,
    /// `(script, exit status)` of each run, in order.
    pub runs: Vec<(String, i32)>,
    /// Whether the end state counts (last postinst succeeded, or there is none).
    pub recorded: bool,
    /// The end state of every recorded path (also when `recorded` is false).
    pub states: BTreeMap<String, String>,
    /// The paths of `states` that are directories.
    pub dirs: BTreeSet<String>,
    /// What the wrappers and stubs logged.
    pub log: String,
    /// The scripts' output.
    pub output: String,
    /// How long the sequence took.
    pub elapsed: Duration,
}

fn arg(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// The steps and failure rate of sequence `index`.
fn plan(seed: u64, index: usize) -> (Vec<Step>, u32, u32) {
    let mut rng = fastrand::Rng::with_seed(
        seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (index as u64).wrapping_add(1),
    );
    let fail = [0, 15, 30, 30, 50, 75][rng.usize(0..6)];
    let mut steps = vec![
        Step::Run("preinst", arg(&["install"])),
        Step::Unpack,
        Step::Run("postinst", arg(&["configure", ""])),
    ];
    for _ in 0..rng.usize(0..=3) {
        match rng.usize(0..4) {
            0 => {
                let args = match rng.usize(0..5) {
                    0 => arg(&["configure", "1.0"]),
                    1 => arg(&["triggered", "/usr/share/case-trigger"]),
                    2 => arg(&["abort-upgrade", "1.0"]),
                    3 => arg(&["abort-remove"]),
                    _ => arg(&["abort-deconfigure", "in-favour", "other", "1.0"]),
                };
                steps.push(Step::Run("postinst", args));
            }
            1 => {
                let (prerm, abort) = match rng.usize(0..4) {
                    0 => (arg(&["remove"]), arg(&["abort-remove"])),
                    1 => (arg(&["upgrade", "1.0"]), arg(&["abort-upgrade", "1.0"])),
                    2 => (
                        arg(&["deconfigure", "in-favour", "other", "1.0"]),
                        arg(&["abort-deconfigure", "in-favour", "other", "1.0"]),
                    ),
                    _ => (
                        arg(&["failed-upgrade", "1.0"]),
                        arg(&["abort-upgrade", "1.0"]),
                    ),
                };
                steps.push(Step::Run("prerm", prerm));
                steps.push(Step::Run("postinst", abort));
            }
            2 => {
                steps.push(Step::Run("postrm", arg(&["failed-upgrade", "1.0"])));
                steps.push(Step::Run("postinst", arg(&["configure", "1.0"])));
            }
            _ => {
                steps.push(Step::Run("preinst", arg(&["upgrade", "1.0", "1.0"])));
                steps.push(Step::Unpack);
                steps.push(Step::Run("postinst", arg(&["configure", "1.0"])));
            }
        }
    }
    let shell_seed = rng.u32(1..0x7fff_ffff);
    (steps, fail, shell_seed)
}

fn driver(sb: &CaseSandbox, steps: &[Step], script_timeout: Duration) -> String {
    let mut s = String::from("#!/bin/sh\n. /.oracle/lib/common.sh\n. /.oracle/lib/unpack.sh\n");
    s.push_str(&format!(
        "export PATH={} HOME=/root LANG=C DEBIAN_FRONTEND=noninteractive\n\
         export DPKG_MAINTSCRIPT_PACKAGE={} DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1 \
         DPKG_MAINTSCRIPT_ARCH=all DPKG_RUNNING_VERSION=1.21.22 DPKG_ADMINDIR=/var/lib/dpkg \
         DPKG_ROOT= DPKG_FORCE=\numask 022\n",
        sh_quote(sandbox::PATH),
        sh_quote(sb.package()),
    ));
    s.push_str(&format!(
        r#"oracle_run() {{
    __rc=0
    __f=/var/lib/dpkg/info/$DPKG_MAINTSCRIPT_PACKAGE.$1
    [ -f "$__f" ] || return 0
    __name=$1
    shift
    echo "== $__name $*" >> "$S/out"
    oracle_log "== $__name $*"
    DPKG_MAINTSCRIPT_NAME=$__name $R/timeout -s KILL {secs} "$__f" "$@" < /dev/null >> "$S/out" 2>&1
    __rc=$?
    echo "$__name $__rc" >> "$S/runs"
}}
# A failed preinst stops the install (dpkg unpacks nothing and configures nothing): it is
# tried again from what it left, up to three times; when every try fails, the rest of the
# sequence is skipped and its end state is not recorded.
__aborted=
oracle_preinst() {{
    for __try in 1 2 3; do
        oracle_run preinst "$@"
        if [ "$__rc" = 0 ]; then return 0; fi
    done
    __aborted=1
}}
$R/find / \( -path /proc -o -path /dev -o -path /sys -o -path /.oracle \) -prune -o -print \
    2>/dev/null > "$S/before"
"#,
        secs = script_timeout.as_secs().max(1)
    ));
    for step in steps {
        s.push_str("[ -n \"$__aborted\" ] || ");
        match step {
            Step::Unpack => {
                s.push_str("{ oracle_log '== unpack'; oracle_unpack >> \"$S/out\" 2>&1; }\n")
            }
            Step::Run("preinst", args) => {
                s.push_str("oracle_preinst");
                for a in args {
                    s.push(' ');
                    s.push_str(&sh_quote(a));
                }
                s.push('\n');
            }
            Step::Run(name, args) => {
                s.push_str("oracle_run ");
                s.push_str(name);
                for a in args {
                    s.push(' ');
                    s.push_str(&sh_quote(a));
                }
                s.push('\n');
            }
        }
    }
    s.push_str(
        r#"$R/find / \( -path /proc -o -path /dev -o -path /sys -o -path /.oracle \) -prune -o \
    -printf '%m|%u|%g|%y|%p\n' 2>/dev/null > "$S/after"
$R/find / \( -path /proc -o -path /dev -o -path /sys -o -path /.oracle \) -prune -o \
    -type f -exec $R/getcap {} + > "$S/caps" 2>/dev/null
exit 0
"#,
    );
    s
}

/// The case's files and tools laid out for its sequences, once bubblewrap is known to work.
fn sandbox(case: &StateCase) -> Result<CaseSandbox, OracleError> {
    available().map_err(OracleError::Unavailable)?;
    let host = host::host_tools().map_err(OracleError::Unavailable)?;
    CaseSandbox::new(case, host).map_err(|message| OracleError::Setup {
        case: case.name.clone(),
        message,
    })
}

/// Run sequence `index` of `opts.seed` and return everything about it.
pub fn trace_sequence(
    case: &StateCase,
    opts: &Options,
    index: usize,
) -> Result<SequenceTrace, OracleError> {
    let sb = sandbox(case)?;
    run_sequence(case, &sb, opts, index)
}

fn run_sequence(
    case: &StateCase,
    sb: &CaseSandbox,
    opts: &Options,
    index: usize,
) -> Result<SequenceTrace, OracleError> {
    let host = host::host_tools().map_err(OracleError::Unavailable)?;
    let err = |message: String| OracleError::Sandbox {
        case: case.name.clone(),
        sequence: index,
        message,
    };
    let start = Instant::now();
    let (steps, fail_percent, shell_seed) = plan(opts.seed, index);
    let text = driver(sb, &steps, opts.script_timeout);
    let scratch = sb
        .scratch(&text, shell_seed, fail_percent)
        .map_err(|e| err(format!("scratch root: {e}")))?;
    let script_runs = steps.iter().filter(|s| matches!(s, Step::Run(..))).count() as u32;
    let limit = opts.script_timeout * (script_runs + 2) + Duration::from_secs(20);
    let out = sb
        .command(host, &scratch, limit)
        .output()
        .map_err(|e| err(format!("running bwrap: {e}")))?;
    if !out.status.success() {
        return Err(err(format!(
            "the sandbox exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let runs: Vec<(String, i32)> = scratch
        .state_file("runs")
        .lines()
        .filter_map(|l| {
            let (name, rc) = l.rsplit_once(' ')?;
            Some((name.to_string(), rc.parse().ok()?))
        })
        .collect();
    let recorded = if sb.has_script("postinst") {
        runs.last()
            .is_some_and(|(name, rc)| name == "postinst" && *rc == 0)
    } else {
        true
    };
    let (states, dirs) = parse_states(
        &scratch.state_file("before"),
        &scratch.state_file("after"),
        &scratch.state_file("caps"),
        sb.case_paths(),
    );
    Ok(SequenceTrace {
        steps,
        fail_percent,
        runs,
        recorded,
        states,
        dirs,
        log: scratch.state_file("log"),
        output: scratch.state_file("out"),
        elapsed: start.elapsed(),
    })
}

/// The state of the case's paths and of every path that is not in `before`, from `find
/// -printf '%m|%u|%g|%y|%p'` lines (`after`) and `getcap` lines, and which of them are
/// directories. A case path is looked up by its merged-/usr name (`/bin/x` is listed as
/// `/usr/bin/x`) and reported by its own.
fn parse_states(
    before: &str,
    after: &str,
    caps: &str,
    case_paths: &[String],
) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let before: BTreeSet<&str> = before.lines().collect();
    let caps: BTreeMap<&str, &str> = caps
        .lines()
        .filter_map(|l| {
            // `PATH CAPS`: the capability text starts with a name (`cap_...`) or, for all
            // capabilities, with `=`; libcap before 2.41 wrote `PATH = CAPS`.
            let i = [l.find(" cap_"), l.find(" =")]
                .into_iter()
                .flatten()
                .min()?;
            Some((&l[..i], &l[i + 1..]))
        })
        .collect();
    let mut listed: BTreeMap<&str, String> = BTreeMap::new();
    let mut dir_paths: BTreeSet<&str> = BTreeSet::new();
    for line in after.lines() {
        let mut parts = line.splitn(5, '|');
        let (Some(mode), Some(user), Some(group), Some(kind), Some(path)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            continue;
        };
        let Ok(mode) = u32::from_str_radix(mode, 8) else {
            continue;
        };
        let mut state = format!("{mode:04o} {user}:{group}");
        if kind == "f" {
            if let Some(text) = caps.get(path) {
                let caps = normalise_caps(text);
                if !caps.is_empty() {
                    state.push(' ');
                    state.push_str(&caps);
                }
            }
        }
        if kind == "d" {
            dir_paths.insert(path);
        }
        listed.insert(path, state);
    }
    let mut out = BTreeMap::new();
    let mut dirs = BTreeSet::new();
    for p in case_paths {
        let merged = host::merged_usr(std::path::Path::new(p));
        let merged = merged.to_string_lossy();
        if let Some(state) = listed.get(merged.as_ref()) {
            out.insert(p.clone(), state.clone());
            if dir_paths.contains(merged.as_ref()) {
                dirs.insert(p.clone());
            }
        }
    }
    for (path, state) in listed {
        if !before.contains(path) && !path.ends_with(".dpkg-new") && path != "/" {
            if dir_paths.contains(path) && !out.contains_key(path) {
                dirs.insert(path.to_string());
            }
            out.entry(path.to_string()).or_insert(state);
        }
    }
    (out, dirs)
}

/// getcap's text (`cap_net_raw=ep`, older `= cap_net_raw+ep`, maybe `[rootid=N]`) in the form
/// debgate writes (`CapSet::to_text`, which groups names by flags as libcap does).
fn normalise_caps(text: &str) -> String {
    let text = text.trim().trim_start_matches("= ");
    let text = match text.find(" [rootid=") {
        Some(i) => &text[..i],
        None => text,
    };
    match CapSet::from_text(text) {
        Ok(set) => set.to_text(),
        Err(_) => text.to_string(),
    }
}

/// Run up to `opts.runs` sequences of `case` (or as many as fit in `opts.time_budget`) and
/// collect the end states.
pub fn observe(case: &StateCase, opts: &Options) -> Result<Observation, OracleError> {
    let sb = sandbox(case)?;
    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.jobs
    };
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let result: Mutex<Result<Observation, OracleError>> = Mutex::new(Ok(Observation::default()));
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(opts.runs.max(1)) {
            scope.spawn(|| loop {
                if start.elapsed() >= opts.time_budget {
                    return;
                }
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= opts.runs {
                    return;
                }
                let trace = run_sequence(case, &sb, opts, index);
                let mut guard = result.lock().unwrap_or_else(|p| p.into_inner());
                let Ok(obs) = guard.as_mut() else {
                    return;
                };
                match trace {
                    Err(e) => {
                        *guard = Err(e);
                        return;
                    }
                    Ok(t) => {
                        obs.sequences += 1;
                        for (name, rc) in &t.runs {
                            if *rc == 0 {
                                *obs.successful_runs.entry(name.clone()).or_default() += 1;
                            }
                        }
                        if t.recorded {
                            obs.recorded += 1;
                            for (path, state) in t.states {
                                obs.states.entry(path).or_default().insert(state);
                            }
                            obs.dirs.extend(t.dirs);
                        }
                    }
                }
            });
        }
    });
    result.into_inner().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_text_is_normalised() {
        assert_eq!(normalise_caps("cap_net_raw=ep"), "cap_net_raw=ep");
        assert_eq!(normalise_caps("= cap_net_raw+ep"), "cap_net_raw=ep");
        assert_eq!(
            normalise_caps("cap_net_raw,cap_net_admin=ep [rootid=1000]"),
            "cap_net_admin,cap_net_raw=ep"
        );
    }

    #[test]
    fn states_parse_from_find_and_getcap() {
        let before = "/\n/usr\n/usr/bin\n/etc/passwd\n";
        let after = "755|root|root|d|/\n755|root|root|d|/usr\n755|root|root|d|/usr/bin\n\
                     4755|root|root|f|/usr/bin/x\n2755|root|adm|d|/var/lib/x\n\
                     777|root|root|l|/usr/bin/y\n644|root|root|f|/etc/passwd\n\
                     755|root|root|f|/usr/bin/with space\n";
        let caps = "/usr/bin/x cap_net_raw=ep\n/usr/bin/with space cap_a=ep\n";
        let case = ["/bin/x".to_string()];
        let (s, dirs) = parse_states(before, after, caps, &case);
        assert_eq!(dirs, ["/var/lib/x".to_string()].into());
        assert_eq!(s["/bin/x"], "4755 root:root cap_net_raw=ep");
        assert_eq!(s["/usr/bin/x"], "4755 root:root cap_net_raw=ep");
        assert_eq!(s["/var/lib/x"], "2755 root:adm");
        assert_eq!(s["/usr/bin/y"], "0777 root:root");
        assert_eq!(s["/usr/bin/with space"], "0755 root:root cap_a=ep");
        assert!(
            !s.contains_key("/etc/passwd"),
            "unchanged base files are not recorded"
        );
        assert!(!s.contains_key("/usr"));
    }

    #[test]
    fn plans_are_deterministic_and_end_in_postinst() {
        for i in 0..200 {
            let (steps, fail, seed) = plan(7, i);
            assert_eq!(plan(7, i), (steps.clone(), fail, seed));
            assert!(matches!(steps.last(), Some(Step::Run("postinst", _))));
            assert!(steps.len() >= 3 && steps.len() <= 12);
        }
    }
}
