//! Argument parsing of the commands that change privileges: setcap, chmod, chown, chgrp,
//! install and dpkg-statoverride, each read the way the real tool reads its command line.

use crate::word::Arg;
use debgate_facts::caps::CapSet;
use debgate_facts::change::{Action, ModeSpec, Operand, Target};

/// One change a command makes to one file.
#[derive(Debug)]
pub(crate) struct Found {
    pub action: Action,
    pub target: Target,
    pub recursive: bool,
}

/// What one command line does: its changes, and what could not be made sense of.
#[derive(Debug, Default)]
pub(crate) struct Interpreted {
    pub found: Vec<Found>,
    pub notes: Vec<String>,
}

/// What a command line is read against.
pub(crate) struct Context<'a> {
    /// The working directory, when a `cd` to a known absolute path set it.
    pub cwd: Option<&'a str>,
}

struct Reader<'a> {
    ctx: &'a Context<'a>,
    out: Interpreted,
}

impl Reader<'_> {
    fn push(&mut self, action: Action, file: &Arg, recursive: bool) {
        self.out.found.push(Found {
            action,
            target: target(file, self.ctx.cwd),
            recursive,
        });
    }

    fn note(&mut self, msg: String) {
        self.out.notes.push(msg);
    }
}

/// The names this module knows; anything else is not a privilege change.
pub(crate) fn is_privileged(name: &str) -> bool {
    NAMES.contains(&name)
}

/// The commands that change privileges.
pub(crate) const NAMES: [&str; 6] = [
    "setcap",
    "chmod",
    "chown",
    "chgrp",
    "install",
    "dpkg-statoverride",
];

/// Interpret `name args...` (the name already stripped of its directory and wrappers).
pub(crate) fn interpret(name: &str, args: &[Arg], ctx: &Context) -> Interpreted {
    let mut out = Reader {
        ctx,
        out: Interpreted::default(),
    };
    match name {
        "setcap" => setcap(args, &mut out),
        "chmod" => chmod(args, &mut out),
        "chown" => chown(args, false, &mut out),
        "chgrp" => chown(args, true, &mut out),
        "install" => install(args, &mut out),
        "dpkg-statoverride" => statoverride(args, &mut out),
        _ => {}
    }
    std::mem::take(&mut out.out)
}

/// A file operand as a [`Target`]: an absolute path static reading resolved (a relative one is
/// joined to a known working directory), else unresolved with the word exactly as written in
/// the script (`"$1"`, `relative/path`), which is what a reader of the report can look up.
pub(crate) fn target(a: &Arg, cwd: Option<&str>) -> Target {
    let absolute = match (a.text(), cwd) {
        (Some(p), _) if p.starts_with('/') => Some(p.to_string()),
        (Some(p), Some(dir)) if !p.is_empty() => Some(format!("{dir}/{p}")),
        _ => None,
    };
    match absolute.as_deref().and_then(debgate_facts::path::normalise) {
        Some(n) => Target::Path(n),
        None => Target::Unresolved(a.raw.clone()),
    }
}

/// `setcap [-q] [-v] [-n rootid] {CAPS|-r|-} FILE [{CAPS|-r|-} FILE ...]`.
fn setcap(args: &[Arg], out: &mut Reader) {
    let mut i = 0;
    let mut verify = false;
    while let Some(a) = args.get(i) {
        match a.text() {
            Some("-q") => i += 1,
            // `-v` only checks that the file already has these capabilities; nothing changes.
            Some("-v") => {
                verify = true;
                i += 1
            }
            Some("-n") => i += 2,
            Some(s) if s.starts_with("-n") && s.len() > 2 => i += 1,
            Some("-h" | "--help" | "--license") => return,
            _ => break,
        }
    }
    if verify {
        return;
    }
    let rest = args.get(i..).unwrap_or_default();
    for pair in rest.chunks(2) {
        let [caps, file] = pair else {
            out.note(format!("setcap: `{}` has no file after it", pair[0].raw));
            return;
        };
        match caps.text() {
            Some("-r") => out.push(Action::RemoveCaps, file, false),
            // `-` reads the capabilities from standard input: a grant only run time knows.
            Some("-") => out.push(
                Action::SetCaps {
                    caps: Operand::Unresolved("-".into()),
                },
                file,
                false,
            ),
            Some(text) => match CapSet::from_text(text) {
                Ok(caps) => out.push(
                    Action::SetCaps {
                        caps: Operand::Known(caps),
                    },
                    file,
                    false,
                ),
                // setcap refuses the whole command line: nothing changes.
                Err(e) => out.note(format!("setcap `{text}`: {e}")),
            },
            None => out.push(
                Action::SetCaps {
                    caps: Operand::Unresolved(caps.raw.clone()),
                },
                file,
                false,
            ),
        }
    }
}

/// `chmod [-Rcfv] MODE FILE...`; GNU chmod also takes options after operands, and modes such
/// as `-w` that look like options.
fn chmod(args: &[Arg], out: &mut Reader) {
    let mut recursive = false;
    let mut mode: Option<&Arg> = None;
    let mut files = Vec::new();
    let mut options_end = false;
    let mut reference: Option<String> = None;
    for a in args {
        if !options_end {
            match a.text() {
                Some("--") => {
                    options_end = true;
                    continue;
                }
                Some("--recursive") => {
                    recursive = true;
                    continue;
                }
                Some(s) if s.starts_with("--reference") => {
                    // Copies a run-time mode: the files get a mode only run time knows.
                    reference = Some(s.to_string());
                    continue;
                }
                Some(s) if s.starts_with("--") => continue,
                Some(s) if is_flag_cluster(s, "Rcfv") => {
                    recursive |= s.contains('R');
                    continue;
                }
                _ => {}
            }
        }
        if mode.is_none() && reference.is_none() {
            mode = Some(a);
        } else {
            files.push(a);
        }
    }
    let spec = match (reference, mode) {
        (Some(r), _) => Operand::Unresolved(r),
        (None, Some(mode)) => match parse_mode(mode, "chmod", out) {
            Some(spec) => spec,
            None => return,
        },
        (None, None) => return,
    };
    for f in files {
        if adds_only_execute(&spec) && target(f, out.ctx.cwd).path().is_some_and(is_init_script) {
            // debhelper's `chmod +x /etc/init.d/NAME`: making an init script executable is
            // not a privilege change.
            continue;
        }
        out.push(Action::Chmod { mode: spec.clone() }, f, recursive);
    }
}

fn is_init_script(p: &str) -> bool {
    p.strip_prefix("/etc/init.d/")
        .is_some_and(|rest| !rest.is_empty())
}

/// `+x`, `a+x`, `ug+x,o+x`: every clause only adds execute permission.
fn adds_only_execute(spec: &Operand<ModeSpec>) -> bool {
    let Operand::Known(ModeSpec::Symbolic(s)) = spec else {
        return false;
    };
    s.split(',').all(|clause| {
        let perms = clause.trim_start_matches(['u', 'g', 'o', 'a']);
        perms
            .strip_prefix('+')
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c == 'x' || c == 'X'))
    })
}

/// `-R`, `-Rv`: a cluster of single-letter flags from `letters`.
fn is_flag_cluster(s: &str, letters: &str) -> bool {
    s.len() > 1 && s.starts_with('-') && s[1..].chars().all(|c| letters.contains(c))
}

/// A mode operand: unresolved when only run time knows it; `None` (with a note) when it is not a
/// mode at all, since the tool then refuses the command and changes nothing.
fn parse_mode(mode: &Arg, tool: &str, out: &mut Reader) -> Option<Operand<ModeSpec>> {
    let Some(text) = mode.text() else {
        return Some(Operand::Unresolved(mode.raw.clone()));
    };
    match ModeSpec::parse(text) {
        Ok(m) => Some(Operand::Known(m)),
        Err(e) => {
            out.note(format!("{tool}: {e}"));
            None
        }
    }
}

/// A user or group operand.
fn name_operand(a: &Arg) -> Operand<String> {
    match a.text() {
        Some(t) => Operand::Known(t.to_string()),
        None => Operand::Unresolved(a.raw.clone()),
    }
}

/// `chown [-R] [-h] OWNER[:GROUP] FILE...` and `chgrp [-R] GROUP FILE...`.
fn chown(args: &[Arg], chgrp: bool, out: &mut Reader) {
    let mut recursive = false;
    let mut spec: Option<&Arg> = None;
    let mut files = Vec::new();
    let mut options_end = false;
    for a in args {
        if !options_end {
            match a.text() {
                Some("--") => {
                    options_end = true;
                    continue;
                }
                Some("--recursive") => {
                    recursive = true;
                    continue;
                }
                Some(s) if s.starts_with("--reference") => {
                    // Copies a run-time owner: unresolved, but still a chown.
                    spec = Some(a);
                    continue;
                }
                Some(s) if s.starts_with("--") => continue,
                Some(s) if is_flag_cluster(s, "RcfvhHLP") => {
                    recursive |= s.contains('R');
                    continue;
                }
                _ => {}
            }
        }
        if spec.is_none() {
            spec = Some(a);
        } else {
            files.push(a);
        }
    }
    let Some(spec) = spec else { return };
    let unresolved = spec.text().is_none_or(|t| t.starts_with("--reference"));
    let (owner, group) = if unresolved {
        // The new owner is only known at run time (`$owner` may even be `man:man`); the chown
        // still clears setuid, setgid and capabilities, whoever it names.
        let u = || Some(Operand::Unresolved(spec.raw.clone()));
        if chgrp {
            (None, u())
        } else {
            (u(), u())
        }
    } else if chgrp {
        (None, Some(Operand::Known(spec.shown().to_string())))
    } else {
        let text = spec.shown();
        let (o, g) = split_owner(text);
        // `chown foo: FILE`: a separator with no group means the owner's login group, which
        // only the system's user database knows.
        let login_group = g.is_none() && o.is_some() && text.ends_with([':', '.']);
        let g = match g {
            Some(g) => Some(Operand::Known(g)),
            // base-passwd fixes root's login group as root on every Debian system.
            None if login_group && o.as_deref() == Some("root") => {
                Some(Operand::Known("root".to_string()))
            }
            None if login_group => Some(Operand::Unresolved(format!("{text} (login group)"))),
            None => None,
        };
        (o.map(Operand::Known), g)
    };
    for f in files {
        out.push(
            Action::Chown {
                owner: owner.clone(),
                group: group.clone(),
            },
            f,
            recursive,
        );
    }
}

/// `user`, `user:group`, `user.group` (the old separator), `:group`, `user:`.
fn split_owner(s: &str) -> (Option<String>, Option<String>) {
    let nonempty = |x: &str| (!x.is_empty()).then(|| x.to_string());
    if let Some((u, g)) = s.split_once(':') {
        (nonempty(u), nonempty(g))
    } else if let Some((u, g)) = s.split_once('.') {
        (nonempty(u), nonempty(g))
    } else {
        (nonempty(s), None)
    }
}

/// `install [-d] [-o OWNER] [-g GROUP] [-m MODE] [-t DIR] ... SOURCE... DEST`, with values glued
/// to short options (`-oroot -m2750`, `-dm755`) or given as `--owner=root`.
fn install(args: &[Arg], out: &mut Reader) {
    let mut owner: Option<&Arg> = None;
    let mut group: Option<&Arg> = None;
    let mut mode: Option<&Arg> = None;
    let mut target_dir: Option<&Arg> = None;
    let mut directory = false;
    let mut operands: Vec<&Arg> = Vec::new();
    let mut options_end = false;
    let mut i = 0;
    // An option value glued to its flag is not a separate word; keep its provenance anyway.
    let mut glued: Vec<Arg> = Vec::new();
    let mut glued_slots: Vec<(usize, char)> = Vec::new();
    while let Some(a) = args.get(i) {
        i += 1;
        let Some(s) = a
            .text()
            .filter(|s| !options_end && s.starts_with('-') && s.len() > 1)
        else {
            operands.push(a);
            continue;
        };
        if s == "--" {
            options_end = true;
            continue;
        }
        if let Some(long) = s.strip_prefix("--") {
            let (key, value) = match long.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (long, None),
            };
            let slot = match key {
                "owner" => 'o',
                "group" => 'g',
                "mode" => 'm',
                "target-directory" => 't',
                "suffix" | "strip-program" => 'S',
                "directory" => {
                    directory = true;
                    continue;
                }
                _ => continue,
            };
            match value {
                Some(v) => {
                    glued.push(Arg {
                        value: Some(v.to_string()),
                        raw: a.raw.clone(),
                    });
                    glued_slots.push((glued.len() - 1, slot));
                }
                None => {
                    if let Some(v) = args.get(i) {
                        assign_install(slot, v, &mut owner, &mut group, &mut mode, &mut target_dir);
                        i += 1;
                    }
                }
            }
            continue;
        }
        // A short-option cluster: flags until one that takes a value.
        for (pos, c) in s[1..].char_indices() {
            match c {
                'd' => directory = true,
                'o' | 'g' | 'm' | 't' | 'S' => {
                    let rest = &s[1 + pos + c.len_utf8()..];
                    if rest.is_empty() {
                        if let Some(v) = args.get(i) {
                            assign_install(
                                c,
                                v,
                                &mut owner,
                                &mut group,
                                &mut mode,
                                &mut target_dir,
                            );
                            i += 1;
                        }
                    } else {
                        glued.push(Arg {
                            value: Some(rest.to_string()),
                            raw: a.raw.clone(),
                        });
                        glued_slots.push((glued.len() - 1, c));
                    }
                    break;
                }
                _ => {}
            }
        }
    }
    for (idx, slot) in glued_slots {
        assign_install(
            slot,
            &glued[idx],
            &mut owner,
            &mut group,
            &mut mode,
            &mut target_dir,
        );
    }
    let mode = match mode {
        Some(m) => match parse_mode(m, "install", out) {
            Some(spec) => Some(spec),
            None => return,
        },
        None => None,
    };
    let owner = owner.map(name_operand);
    let group = group.map(name_operand);
    let action = Action::Install {
        owner,
        group,
        mode,
        directory,
    };
    let dests: Vec<Arg> = if directory {
        operands.into_iter().cloned().collect()
    } else if let Some(dir) = target_dir {
        // `-t DIR SOURCE...`: each source lands in DIR under its own name.
        operands
            .into_iter()
            .map(|src| Arg {
                value: match (dir.text(), src.text()) {
                    (Some(d), Some(s)) => Some(format!("{d}/{}", crate::word::base(s))),
                    _ => None,
                },
                raw: format!("{}/{}", dir.raw, src.raw),
            })
            .collect()
    } else if operands.len() >= 2 {
        operands.last().map(|a| (*a).clone()).into_iter().collect()
    } else {
        Vec::new()
    };
    for d in &dests {
        out.push(action.clone(), d, false);
    }
}

fn assign_install<'a>(
    slot: char,
    v: &'a Arg,
    owner: &mut Option<&'a Arg>,
    group: &mut Option<&'a Arg>,
    mode: &mut Option<&'a Arg>,
    target_dir: &mut Option<&'a Arg>,
) {
    match slot {
        'o' => *owner = Some(v),
        'g' => *group = Some(v),
        'm' => *mode = Some(v),
        't' => *target_dir = Some(v),
        _ => {}
    }
}

/// `dpkg-statoverride [--update] [--force] [--quiet] --add USER GROUP MODE PATH`, `--remove
/// PATH`; `--list` only reads.
fn statoverride(args: &[Arg], out: &mut Reader) {
    #[derive(PartialEq)]
    enum Cmd {
        Add,
        Remove,
        Other,
    }
    let mut cmd = None;
    let mut update = false;
    let mut operands: Vec<&Arg> = Vec::new();
    let mut i = 0;
    while let Some(a) = args.get(i) {
        i += 1;
        match a.text() {
            Some("--add") => cmd = Some(Cmd::Add),
            Some("--remove") => cmd = Some(Cmd::Remove),
            Some("--list" | "--help" | "--version" | "-?") => cmd = Some(Cmd::Other),
            Some("--update") => update = true,
            // Options with a separate value.
            Some("--admindir" | "--instdir" | "--root") => i += 1,
            Some(s) if s.starts_with("--") => {}
            _ => operands.push(a),
        }
    }
    match cmd {
        Some(Cmd::Add) => {
            let [user, group, mode, path, ..] = operands.as_slice() else {
                out.note(format!(
                    "dpkg-statoverride --add needs USER GROUP MODE PATH, got {} operands",
                    operands.len()
                ));
                return;
            };
            let mode = match mode.text().map(ModeSpec::parse) {
                Some(Ok(ModeSpec::Octal(m) | ModeSpec::OctalExact(m))) => Operand::Known(m),
                Some(_) => {
                    // dpkg-statoverride refuses it: nothing is registered or changed.
                    out.note(format!(
                        "dpkg-statoverride: `{}` is not an octal mode",
                        mode.raw
                    ));
                    return;
                }
                None => Operand::Unresolved(mode.raw.clone()),
            };
            let action = Action::StatOverrideAdd {
                owner: name_operand(user),
                group: name_operand(group),
                mode,
                update,
            };
            out.push(action, path, false);
        }
        Some(Cmd::Remove) => match operands.first() {
            Some(path) => out.push(Action::StatOverrideRemove, path, false),
            None => out.note("dpkg-statoverride --remove without a path".into()),
        },
        Some(Cmd::Other) | None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Arg> {
        words
            .iter()
            .map(|w| Arg {
                value: (!w.starts_with('$')).then(|| w.to_string()),
                raw: w.to_string(),
            })
            .collect()
    }

    fn run(name: &str, args: &[Arg]) -> Interpreted {
        interpret(name, args, &Context { cwd: None })
    }

    #[test]
    fn owner_specs() {
        let s = |x: &str| split_owner(x);
        assert_eq!(s("root"), (Some("root".into()), None));
        assert_eq!(s("root:adm"), (Some("root".into()), Some("adm".into())));
        assert_eq!(s("root.adm"), (Some("root".into()), Some("adm".into())));
        assert_eq!(s(":adm"), (None, Some("adm".into())));
    }

    #[test]
    fn install_glued_and_long_options() {
        let r = run(
            "install",
            &args(&["-d", "-oroot", "-gadm", "-m2750", "/a", "/b"]),
        );
        assert_eq!(r.found.len(), 2);
        let r = run(
            "install",
            &args(&["--owner=root", "--mode=4755", "src", "/usr/bin/x"]),
        );
        assert_eq!(r.found.len(), 1);
        assert_eq!(r.found[0].target, Target::Path("/usr/bin/x".into()));
        assert!(matches!(
            &r.found[0].action,
            Action::Install {
                mode: Some(Operand::Known(ModeSpec::Octal(0o4755))),
                directory: false,
                ..
            }
        ));
        let r = run("install", &args(&["-t", "/usr/bin", "-m", "755", "a/b"]));
        assert_eq!(r.found[0].target, Target::Path("/usr/bin/b".into()));
    }

    #[test]
    fn chmod_options_and_modes() {
        let r = run("chmod", &args(&["-w", "/x"]));
        assert_eq!(r.found.len(), 1);
        let r = run("chmod", &args(&["-Rv", "g+s", "/x", "/y"]));
        assert_eq!(r.found.len(), 2);
        assert!(r.found[0].recursive);
        let r = run("chmod", &args(&["$MODE", "/x"]));
        assert!(matches!(
            &r.found[0].action,
            Action::Chmod { mode: Operand::Unresolved(raw) } if raw == "$MODE"
        ));
        assert!(r.notes.is_empty());
        let r = run("chmod", &args(&["a+x,u+x", "/etc/init.d/foo"]));
        assert!(r.found.is_empty());
        let r = run("chmod", &args(&["u+xs", "/etc/init.d/foo"]));
        assert_eq!(r.found.len(), 1);
    }

    #[test]
    fn setcap_pairs_and_errors() {
        let r = run(
            "setcap",
            &args(&[
                "-q",
                "-n",
                "1000",
                "cap_net_raw+ep",
                "/a",
                "-r",
                "/b",
                "cap_bogus+ep",
                "/c",
            ]),
        );
        assert_eq!(r.found.len(), 2);
        assert_eq!(r.notes.len(), 1);
        assert!(run("setcap", &args(&["-v", "cap_net_raw+ep", "/a"]))
            .found
            .is_empty());
    }

    #[test]
    fn statoverride_forms() {
        let r = run(
            "dpkg-statoverride",
            &args(&["--quiet", "--add", "root", "adm", "2750", "/x", "--update"]),
        );
        assert!(matches!(
            &r.found[0].action,
            Action::StatOverrideAdd {
                mode: Operand::Known(0o2750),
                update: true,
                ..
            }
        ));
        let r = run("dpkg-statoverride", &args(&["--list", "/x"]));
        assert!(r.found.is_empty() && r.notes.is_empty());
    }
}
