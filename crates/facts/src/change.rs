//! What a maintainer script does to a file's privileges: the output of the script analyzer and
//! the input of the effective-state computation.

use crate::caps::CapSet;
use crate::ScriptName;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The file a command acts on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum Target {
    /// A path static reading resolved to a literal absolute path.
    Path(String),
    /// A word static reading could not resolve, as written in the script (e.g. `"$1"`).
    Unresolved(String),
}

impl Target {
    pub fn path(&self) -> Option<&str> {
        match self {
            Target::Path(p) => Some(p),
            Target::Unresolved(_) => None,
        }
    }
}

/// An operand of a command (a mode, an owner, capabilities): the value static reading resolved,
/// or the word as written when only run time can tell (`$RET`, `"$owner"`). An unresolved
/// operand is never mistaken for a name: in JSON it is `{"unresolved": "$owner"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand<T> {
    Known(T),
    Unresolved(String),
}

impl<T> Operand<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Operand::Known(v) => Some(v),
            Operand::Unresolved(_) => None,
        }
    }
}

/// How an [`Operand`] is read back from the form its `Serialize` writes: the map
/// `{"unresolved": ...}` first (no operand's value is such a map), else the value itself.
#[derive(Deserialize)]
#[serde(untagged)]
enum OperandForm<T> {
    Unresolved(UnresolvedForm),
    Known(T),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnresolvedForm {
    unresolved: String,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Operand<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match OperandForm::deserialize(d)? {
            OperandForm::Unresolved(u) => Operand::Unresolved(u.unresolved),
            OperandForm::Known(v) => Operand::Known(v),
        })
    }
}

impl<T: Serialize> Serialize for Operand<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Operand::Known(v) => v.serialize(s),
            Operand::Unresolved(raw) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("unresolved", raw)?;
                m.end()
            }
        }
    }
}

/// A mode argument as `chmod` or `install -m` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum ModeSpec {
    Octal(u32),
    /// Five octal digits (`00755`): GNU chmod then also clears a directory's setuid and setgid
    /// bits, which an octal mode of up to four digits keeps.
    OctalExact(u32),
    Symbolic(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{0}` is not a chmod mode")]
pub struct ModeError(pub String);

/// The umask maintainer scripts run with (dpkg's default); symbolic modes with no `who` honour it.
const UMASK: u32 = 0o022;

impl ModeSpec {
    /// Parse what a script passes as a mode: 1 to 5 octal digits, or a symbolic mode list.
    pub fn parse(s: &str) -> Result<ModeSpec, ModeError> {
        if !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            let v = u32::from_str_radix(s, 8).map_err(|_| ModeError(s.to_string()))?;
            if s.len() == 5 {
                return Ok(ModeSpec::OctalExact(v & 0o7777));
            }
            return Ok(ModeSpec::Octal(v & 0o7777));
        }
        // Validate by applying once.
        let spec = ModeSpec::Symbolic(s.to_string());
        spec.apply(0, false)?;
        Ok(spec)
    }

    /// The mode a file with `old` mode has after this change.
    pub fn apply(&self, old: u32, is_dir: bool) -> Result<u32, ModeError> {
        match self {
            // GNU chmod keeps a directory's setuid and setgid unless five digits clear them.
            ModeSpec::Octal(v) if is_dir => Ok(*v | (old & 0o6000)),
            ModeSpec::Octal(v) | ModeSpec::OctalExact(v) => Ok(*v),
            ModeSpec::Symbolic(s) => apply_symbolic(s, old, is_dir),
        }
    }

    /// Canonical text: four octal digits, or the symbolic text as written.
    pub fn text(&self) -> String {
        match self {
            ModeSpec::Octal(v) => format!("{v:04o}"),
            ModeSpec::OctalExact(v) => format!("{v:05o}"),
            ModeSpec::Symbolic(s) => s.clone(),
        }
    }
}

fn apply_symbolic(spec: &str, old: u32, is_dir: bool) -> Result<u32, ModeError> {
    let err = || ModeError(spec.to_string());
    let mut mode = old & 0o7777;
    for clause in spec.split(',') {
        let bytes = clause.as_bytes();
        let mut i = 0;
        let mut who = 0u32;
        while i < bytes.len() && b"ugoa".contains(&bytes[i]) {
            who |= match bytes[i] {
                b'u' => 0o4700,
                b'g' => 0o2070,
                b'o' => 0o1007,
                _ => 0o7777,
            };
            i += 1;
        }
        let explicit_who = who != 0;
        if !explicit_who {
            who = 0o7777;
        }
        if i >= bytes.len() {
            return Err(err());
        }
        while i < bytes.len() {
            let op = bytes[i];
            if !b"+-=".contains(&op) {
                return Err(err());
            }
            i += 1;
            let mut perm = 0u32;
            while i < bytes.len() && !b"+-=".contains(&bytes[i]) {
                perm |= match bytes[i] {
                    b'r' => 0o444,
                    b'w' => 0o222,
                    b'x' => 0o111,
                    b'X' if is_dir || mode & 0o111 != 0 => 0o111,
                    b'X' => 0,
                    b's' => 0o6000,
                    b't' => 0o1000,
                    b'u' => copy_class((mode >> 6) & 7),
                    b'g' => copy_class((mode >> 3) & 7),
                    b'o' => copy_class(mode & 7),
                    _ => return Err(err()),
                };
                i += 1;
            }
            let mut bits = perm & who;
            if !explicit_who {
                bits &= !UMASK;
            }
            match op {
                b'+' => mode |= bits,
                b'-' => mode &= !bits,
                _ => {
                    // `=` clears the who-bits first; setuid/setgid on directories is kept by
                    // GNU chmod unless named, which only matters for directories.
                    let clear = if is_dir { who & 0o1777 } else { who };
                    mode = (mode & !clear) | bits;
                }
            }
        }
    }
    Ok(mode)
}

fn copy_class(bits: u32) -> u32 {
    bits | bits << 3 | bits << 6
}

/// What one command does. An operand static reading could not resolve is
/// [`Operand::Unresolved`]: the change still happens, with a value only run time knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Action {
    /// `setcap CAPS FILE`: replaces the file's capabilities.
    SetCaps { caps: Operand<CapSet> },
    /// `setcap -r FILE`.
    RemoveCaps,
    /// `chmod MODE FILE`.
    Chmod { mode: Operand<ModeSpec> },
    /// `chown`/`chgrp`: the kernel clears setuid, setgid and capabilities on a regular file.
    Chown {
        owner: Option<Operand<String>>,
        group: Option<Operand<String>>,
    },
    /// `dpkg-statoverride --add OWNER GROUP MODE PATH`; applied to the file at once only with
    /// `--update`, but always recorded in the statoverride database that dpkg applies on unpack.
    StatOverrideAdd {
        owner: Operand<String>,
        group: Operand<String>,
        mode: Operand<u32>,
        update: bool,
    },
    /// `dpkg-statoverride --remove PATH`.
    StatOverrideRemove,
    /// `install [-o OWNER] [-g GROUP] [-m MODE] ... DEST`.
    Install {
        owner: Option<Operand<String>>,
        group: Option<Operand<String>>,
        mode: Option<Operand<ModeSpec>>,
        directory: bool,
    },
}

/// An operand as written in a report: the value, or the word as the script wrote it.
fn shown<T>(o: &Operand<T>, f: impl Fn(&T) -> String) -> String {
    match o {
        Operand::Known(v) => f(v),
        Operand::Unresolved(raw) => raw.clone(),
    }
}

fn name(o: &Operand<String>) -> String {
    shown(o, String::clone)
}

impl Action {
    /// The command as a report shows it: `chmod 4755`, `chown $owner` (an unresolved operand as
    /// the script wrote it).
    pub fn describe(&self) -> String {
        match self {
            Action::SetCaps { caps } => format!("setcap {}", shown(caps, CapSet::to_text)),
            Action::RemoveCaps => "setcap -r".into(),
            Action::Chmod { mode } => format!("chmod {}", shown(mode, ModeSpec::text)),
            Action::Chown { owner, group } => format!(
                "chown {}{}",
                owner.as_ref().map(name).unwrap_or_default(),
                group
                    .as_ref()
                    .map(|g| format!(":{}", name(g)))
                    .unwrap_or_default()
            ),
            Action::StatOverrideAdd {
                owner,
                group,
                mode,
                update,
            } => format!(
                "dpkg-statoverride{} --add {} {} {}",
                if *update { " --update" } else { "" },
                name(owner),
                name(group),
                shown(mode, |m| format!("{m:04o}"))
            ),
            Action::StatOverrideRemove => "dpkg-statoverride --remove".into(),
            Action::Install {
                owner, group, mode, ..
            } => {
                let mut s = "install".to_string();
                if let Some(o) = owner {
                    s.push_str(&format!(" -o {}", name(o)));
                }
                if let Some(g) = group {
                    s.push_str(&format!(" -g {}", name(g)));
                }
                if let Some(m) = mode {
                    s.push_str(&format!(" -m {}", shown(m, ModeSpec::text)));
                }
                s
            }
        }
    }

    /// The operands static reading could not resolve, as `(attribute, word as written)`.
    pub fn unresolved(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        let names: [(&'static str, Option<&Operand<String>>); 2] = match self {
            Action::Chown { owner, group } | Action::Install { owner, group, .. } => {
                [("owner", owner.as_ref()), ("group", group.as_ref())]
            }
            Action::StatOverrideAdd { owner, group, .. } => {
                [("owner", Some(owner)), ("group", Some(group))]
            }
            _ => [("owner", None), ("group", None)],
        };
        for (what, o) in names {
            if let Some(Operand::Unresolved(r)) = o {
                out.push((what, r.as_str()));
            }
        }
        match self {
            Action::SetCaps {
                caps: Operand::Unresolved(r),
            } => out.push(("capabilities", r.as_str())),
            Action::Chmod {
                mode: Operand::Unresolved(r),
            }
            | Action::Install {
                mode: Some(Operand::Unresolved(r)),
                ..
            }
            | Action::StatOverrideAdd {
                mode: Operand::Unresolved(r),
                ..
            } => out.push(("mode", r.as_str())),
            _ => {}
        }
        out
    }

    /// Stable kebab-case name of the action, used in JSON and text output.
    pub fn name(&self) -> &'static str {
        match self {
            Action::SetCaps { .. } => "setcap",
            Action::RemoveCaps => "setcap-remove",
            Action::Chmod { .. } => "chmod",
            Action::Chown { .. } => "chown",
            Action::StatOverrideAdd { .. } => "statoverride-add",
            Action::StatOverrideRemove => "statoverride-remove",
            Action::Install { .. } => "install",
        }
    }
}

/// One privilege-relevant command found in a maintainer script.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Change {
    pub script: ScriptName,
    /// 1-based line of the command in the script.
    pub line: u32,
    pub action: Action,
    pub target: Target,
    /// True when some successful run of the script does not make this change for sure (it sits
    /// on a branch, in a loop body, or the command may fail without ending the run).
    pub conditional: bool,
    /// `-R` was given (chmod/chown/chgrp).
    pub recursive: bool,
    /// The command as the script writes it, whitespace normalised (see [`normalise_command`]):
    /// what a reviewer approves an unresolved change by, since line numbers move with every
    /// debhelper change. Not part of the JSON contract of `inspect`.
    #[serde(skip)]
    pub command: CommandText,
}

/// A command's normalised text, shared: one command with many targets (a loop over a thousand
/// paths) makes many changes, and the walk compares and hashes each change it records. So
/// equality tries the shared pointer first, and the hash is the length alone: a long command
/// line is never hashed whole.
#[derive(Debug, Clone, Default)]
pub struct CommandText(pub std::sync::Arc<str>);

impl PartialEq for CommandText {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for CommandText {}

impl std::hash::Hash for CommandText {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal texts have equal lengths, so this agrees with `eq`.
        self.0.len().hash(state);
    }
}

impl std::ops::Deref for CommandText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for CommandText {
    fn from(s: String) -> CommandText {
        CommandText(s.into())
    }
}

/// A command's text with line continuations and runs of whitespace folded to one space, so that
/// re-indenting a script or re-wrapping a long line does not change what a reviewer approved.
pub fn normalise_command(text: &str) -> String {
    text.replace("\\\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Change {
    /// `postinst:14`, the provenance used in every report.
    pub fn source(&self) -> String {
        format!("{}:{}", self.script, self.line)
    }

    /// One line for reports: `postinst:14: setcap cap_net_raw=ep /usr/bin/ping (conditional)`.
    pub fn describe(&self) -> String {
        let what = self.action.describe();
        let target = match &self.target {
            Target::Path(p) => p.clone(),
            Target::Unresolved(w) => format!("{w} (unresolved)"),
        };
        let cond = if self.conditional {
            " (conditional)"
        } else {
            ""
        };
        format!("{}: {what} {target}{cond}", self.source())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_compared_without_layout() {
        assert_eq!(
            normalise_command("chmod  $MODE \\\n\t  $FILE"),
            "chmod $MODE $FILE"
        );
        assert_eq!(normalise_command("  setcap x y "), "setcap x y");
    }

    #[test]
    fn octal_modes() {
        assert_eq!(ModeSpec::parse("4755").unwrap(), ModeSpec::Octal(0o4755));
        assert_eq!(ModeSpec::parse("755").unwrap(), ModeSpec::Octal(0o755));
        assert_eq!(
            ModeSpec::parse("02750").unwrap(),
            ModeSpec::OctalExact(0o2750)
        );
        let dir = |s: &str, old: u32| ModeSpec::parse(s).unwrap().apply(old, true).unwrap();
        assert_eq!(dir("0755", 0o2775), 0o2755, "a directory keeps setgid");
        assert_eq!(dir("00755", 0o2775), 0o0755, "five digits clear it");
        assert_eq!(
            ModeSpec::parse("0755")
                .unwrap()
                .apply(0o4755, false)
                .unwrap(),
            0o755
        );
        assert!(ModeSpec::parse("9755").is_err());
    }

    #[test]
    fn symbolic_modes() {
        let m = |s: &str, old: u32| ModeSpec::parse(s).unwrap().apply(old, false).unwrap();
        assert_eq!(m("u+s", 0o755), 0o4755);
        assert_eq!(m("g+s", 0o755), 0o2755);
        assert_eq!(m("u=rwxs,g=rx,o=", 0o644), 0o4750);
        assert_eq!(m("a-w", 0o755), 0o555);
        assert_eq!(m("+x", 0o644), 0o755);
        assert_eq!(m("go-rwx", 0o755), 0o700);
        assert_eq!(m("u-s", 0o4755), 0o755);
        assert!(ModeSpec::parse("u+q").is_err());
        assert!(ModeSpec::parse("u").is_err());
    }

    /// Every action, with known and unresolved operands, reads back from its public JSON
    /// (which leaves out the command text, so that reads back empty), and that JSON is
    /// the one reports have always shown.
    #[test]
    fn every_change_reads_back_from_its_public_form() {
        fn u<T>(w: &str) -> Operand<T> {
            Operand::Unresolved(w.to_string())
        }
        let caps = CapSet {
            effective: 1 << 13,
            permitted: u64::MAX,
            inheritable: 0,
        };
        let actions = [
            Action::SetCaps {
                caps: Operand::Known(caps),
            },
            Action::SetCaps { caps: u("$CAPS") },
            Action::RemoveCaps,
            Action::Chmod {
                mode: Operand::Known(ModeSpec::Octal(0o4755)),
            },
            Action::Chmod {
                mode: Operand::Known(ModeSpec::OctalExact(0o755)),
            },
            Action::Chmod {
                mode: Operand::Known(ModeSpec::Symbolic("u+s".into())),
            },
            Action::Chmod { mode: u("$MODE") },
            Action::Chown {
                owner: Some(Operand::Known("root".into())),
                group: Some(u("$group")),
            },
            Action::Chown {
                owner: None,
                group: None,
            },
            Action::StatOverrideAdd {
                owner: Operand::Known("unresolved".into()),
                group: u("$g"),
                mode: Operand::Known(0o4750),
                update: true,
            },
            Action::StatOverrideAdd {
                owner: u("$o"),
                group: Operand::Known("adm".into()),
                mode: u("$m"),
                update: false,
            },
            Action::StatOverrideRemove,
            Action::Install {
                owner: Some(u("$o")),
                group: None,
                mode: Some(Operand::Known(ModeSpec::Octal(0o2755))),
                directory: true,
            },
        ];
        for (i, action) in actions.into_iter().enumerate() {
            let change = Change {
                script: ScriptName::Postinst,
                line: 7,
                action,
                target: if i % 2 == 0 {
                    Target::Path("/usr/bin/x".into())
                } else {
                    Target::Unresolved("\"$1\"".into())
                },
                conditional: i % 3 == 0,
                recursive: i % 5 == 0,
                command: CommandText::from("chmod u+s x".to_string()),
            };
            let text = serde_json::to_string(&change).unwrap();
            let back: Change = serde_json::from_str(&text).unwrap();
            assert_eq!(
                back,
                Change {
                    command: CommandText::default(),
                    ..change.clone()
                },
                "{text}"
            );
            assert_eq!(serde_json::to_string(&back).unwrap(), text);
        }
        // The public form as it was: an unresolved operand is a map, a known one its value.
        let chown = Action::Chown {
            owner: Some(Operand::Known("root".into())),
            group: Some(u("$g")),
        };
        assert_eq!(
            serde_json::to_string(&chown).unwrap(),
            r#"{"kind":"chown","owner":"root","group":{"unresolved":"$g"}}"#
        );
        // A map that is neither an operand's value nor only `unresolved` is refused.
        let bad = r#"{"kind":"chown","owner":{"unresolved":"$o","x":1},"group":null}"#;
        assert!(serde_json::from_str::<Action>(bad).is_err());
    }
}
