//! Data-driven tests: every `tests/cases/NAME.sh` is analyzed and compared with
//! `tests/cases/NAME.expected`.
//!
//! The script is analyzed as a postinst unless NAME starts with another script name followed
//! by `-` (`preinst-foo.sh` is a preinst). The expected file holds one line per change, in the
//! order the analyzer reports them, then one line per diagnostic:
//!
//! ```text
//! postinst:12 setcap /usr/bin/ping cap_net_raw=ep unconditional
//! postinst:13 chmod unresolved:"$1" u+s conditional recursive
//! diag postinst:5 setcap `cap_bogus+ep`: unknown capability name `cap_bogus`
//! ```
//!
//! - target: the absolute path, or `unresolved:` and the word as written in the script;
//! - detail per action: setcap → the capability text as `getcap` prints it (`(none)` if
//!   empty); setcap-remove and statoverride-remove → `-`; chmod → the mode (`4755`, `u+s`);
//!   chown → `OWNER:GROUP` with an empty side when not given; statoverride-add →
//!   `OWNER:GROUP:MODE` plus `+update`; install → `OWNER:GROUP:MODE` with `-` for what is not
//!   given, plus `+dir` for `-d`;
//! - `conditional` or `unconditional`, then `recursive` when `-R` was given.
//!
//! Lines starting with `#` and blank lines in the expected file are ignored. A case with no
//! expected changes (the negative cases) has an expected file with only comments.
//! Run with `DEBGATE_BLESS=1` (the one bless variable of every snapshot test) to write the
//! current output to missing expected files (then review them).

use debgate_facts::change::{Action, Change, ModeSpec, Operand, Target};
use debgate_facts::{Script, ScriptName};
use std::path::Path;

/// An operand as the expected files write it: the value, or `?` and the word as written.
fn op<T>(o: &Operand<T>, f: impl Fn(&T) -> String) -> String {
    match o {
        Operand::Known(v) => f(v),
        Operand::Unresolved(raw) => format!("?{raw}"),
    }
}

fn render(c: &Change) -> String {
    let target = match &c.target {
        Target::Path(p) => p.clone(),
        Target::Unresolved(raw) => format!("unresolved:{raw}"),
    };
    let name = |o: &Operand<String>| op(o, String::clone);
    let opt = |o: &Option<Operand<String>>| o.as_ref().map(name).unwrap_or_default();
    let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
    let detail = match &c.action {
        Action::SetCaps {
            caps: Operand::Known(caps),
        } if caps.is_empty() => "(none)".to_string(),
        Action::SetCaps { caps } => op(caps, |c| c.to_text().replace(' ', "+")),
        Action::RemoveCaps | Action::StatOverrideRemove => "-".into(),
        Action::Chmod { mode } => op(mode, ModeSpec::text),
        Action::Chown { owner, group } => format!("{}:{}", opt(owner), opt(group)),
        Action::StatOverrideAdd {
            owner,
            group,
            mode,
            update,
        } => format!(
            "{}:{}:{}{}",
            name(owner),
            name(group),
            op(mode, |m| format!("{m:04o}")),
            if *update { "+update" } else { "" }
        ),
        Action::Install {
            owner,
            group,
            mode,
            directory,
        } => format!(
            "{}:{}:{}{}",
            dash(owner.as_ref().map(name)),
            dash(group.as_ref().map(name)),
            dash(mode.as_ref().map(|m| op(m, ModeSpec::text))),
            if *directory { "+dir" } else { "" }
        ),
    };
    format!(
        "{} {} {} {} {}{}",
        c.source(),
        c.action.name(),
        target,
        detail,
        if c.conditional {
            "conditional"
        } else {
            "unconditional"
        },
        if c.recursive { " recursive" } else { "" }
    )
}

fn script_name(stem: &str) -> ScriptName {
    ScriptName::ALL
        .into_iter()
        .find(|s| stem.starts_with(&format!("{}-", s.as_str())))
        .unwrap_or(ScriptName::Postinst)
}

#[test]
fn cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.sort();
    assert!(
        scripts.len() >= 30 || std::env::var_os("DEBGATE_BLESS").is_some(),
        "case files are missing"
    );
    let mut failures = Vec::new();
    for path in &scripts {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let analysis = debgate_script::analyze(&Script {
            name: script_name(&stem),
            text,
            truncated: false,
        });
        let mut got: Vec<String> = analysis.changes.iter().map(render).collect();
        got.extend(
            analysis
                .diagnostics
                .iter()
                .map(|d| format!("diag {}:{} {}", d.script, d.line, d.message)),
        );
        let expected_path = path.with_extension("expected");
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(t) => t,
            Err(_) if std::env::var_os("DEBGATE_BLESS").is_some() => {
                std::fs::write(&expected_path, got.join("\n") + "\n").unwrap();
                continue;
            }
            Err(e) => panic!("{}: {e}", expected_path.display()),
        };
        let want: Vec<String> = expected
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect();
        if want != got {
            failures.push(format!(
                "{stem}:\n  expected:\n    {}\n  got:\n    {}",
                want.join("\n    "),
                got.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
