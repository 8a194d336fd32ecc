//! Which files of a package are privileged: setuid, setgid or capable in any of their end
//! states, whether data.tar ships the privilege or a maintainer script grants it, and which
//! changes might grant one although static reading could not resolve them. The inventory that
//! `debgate privileges` lists and that the `privileges` assertion kind holds against an
//! allow-list; also the partial order of states that `diff` calls an escalation.

use crate::effective::{unresolved, EffectiveState, EndState, FileState};
use debgate_facts::caps::CapSet;
use debgate_facts::change::{Action, Change, ModeSpec, Operand};
use debgate_facts::EntryKind;

/// The mode bits that make a file privileged.
pub const PRIVILEGE_BITS: u32 = 0o6000;

/// What counts as privileged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    /// Judge directories too. A setgid directory (base-files' `2775 root:staff`) is group
    /// inheritance for files created in it, not a privilege of a program, so by default
    /// directories are out of scope.
    pub directories: bool,
}

/// One end state of a privileged file that needs review.
#[derive(Debug, Clone)]
pub struct PrivState<'a> {
    pub state: &'a EndState,
    /// The changes that left an attribute of this state unknown, each with the attribute.
    pub unresolved: Vec<(&'static str, &'a Change)>,
    /// Unknown attributes no change explains (a state set joined past its bound): only a
    /// failure can say what they mean.
    pub unexplained: Vec<String>,
}

impl PrivState<'_> {
    /// True when an attribute that decides privilege is unknown.
    pub fn is_unknown(&self) -> bool {
        !self.unresolved.is_empty() || !self.unexplained.is_empty()
    }
}

/// A file with at least one end state that is, or may be, privileged.
#[derive(Debug, Clone)]
pub struct PrivFile<'a> {
    pub file: &'a FileState,
    /// Only the states that are, or may be, privileged; the others need no review.
    pub states: Vec<PrivState<'a>>,
}

/// A package's privileges.
#[derive(Debug, Clone, Default)]
pub struct Inventory<'a> {
    pub files: Vec<PrivFile<'a>>,
    /// Changes whose target static reading could not resolve and that could grant a privilege
    /// to whatever file they hit.
    pub unresolved: Vec<&'a Change>,
    /// Parts of scripts the analyzer could not read: what they grant is not known.
    pub blind: &'a [String],
}

impl Inventory<'_> {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.unresolved.is_empty() && self.blind.is_empty()
    }
}

/// Whether what is known of a state is privileged: a known setuid or setgid bit (where mode
/// bits count), or a known capability. An unknown attribute is no privilege here; it is the
/// business of the change that left it unknown.
pub fn is_known_privileged(state: &EndState, kind: Option<EntryKind>, scope: Scope) -> bool {
    let bits_count = kind != Some(EntryKind::Dir) || scope.directories;
    let bits = state
        .mode
        .known()
        .is_some_and(|m| bits_count && m & PRIVILEGE_BITS != 0);
    let caps = state
        .caps
        .known()
        .is_some_and(|c| c.is_some_and(|c| !c.is_empty()));
    bits || caps
}

/// Whether a state is, or may be, privileged (`None`: an attribute that decides it is
/// unknown).
pub fn is_privileged(state: &EndState, kind: Option<EntryKind>, scope: Scope) -> Option<bool> {
    if is_known_privileged(state, kind, scope) {
        return Some(true);
    }
    // Nothing known is privileged: it may still be, through an unknown mode (where mode bits
    // count) or unknown capabilities.
    let bits_count = kind != Some(EntryKind::Dir) || scope.directories;
    let mode_unknown = bits_count && state.mode.known().is_none();
    if mode_unknown || state.caps.known().is_none() {
        None
    } else {
        Some(false)
    }
}

/// The privileged files of a package, in path order, and its unresolved changes that may grant.
pub fn inventory<'a>(
    changes: &'a [Change],
    state: &'a EffectiveState,
    scope: Scope,
) -> Inventory<'a> {
    let mut files = Vec::new();
    for file in state.files.values() {
        let kind = kind_of(file, changes);
        let mut states = Vec::new();
        for s in &file.states {
            if is_privileged(s, kind, scope) == Some(false) && file.caps_error.is_none() {
                continue;
            }
            // A path this package does not ship, left as it was when no script line touched
            // it: whatever it is, this package did not make it so.
            if file.shipped.is_none() && s.via.is_empty() {
                continue;
            }
            states.push(explain(s, changes));
        }
        if !states.is_empty() {
            files.push(PrivFile { file, states });
        }
    }
    Inventory {
        files,
        unresolved: state
            .unresolved
            .iter()
            .filter(|c| may_grant(&c.action))
            .collect(),
        blind: &state.blind,
    }
}

/// The file's type: data.tar's, or a directory when the package does not ship the path and a
/// script makes it with `install -d` (`/var/log/exim4`, 2750: a setgid directory, out of scope
/// like a shipped one).
pub fn kind_of(file: &FileState, changes: &[Change]) -> Option<EntryKind> {
    if file.kind.is_some() {
        return file.kind;
    }
    let mut making = changes.iter().filter(|c| {
        matches!(c.action, Action::Install { .. }) && c.target.path() == Some(file.path.as_str())
    });
    let first = making.next()?;
    let dir = |c: &Change| {
        matches!(
            c.action,
            Action::Install {
                directory: true,
                ..
            }
        )
    };
    (dir(first) && making.all(dir)).then_some(EntryKind::Dir)
}

/// Link each unknown attribute of a state to the change that left it unknown.
fn explain<'a>(state: &'a EndState, changes: &'a [Change]) -> PrivState<'a> {
    let mut out = PrivState {
        state,
        unresolved: Vec::new(),
        unexplained: Vec::new(),
    };
    let attrs: [(&'static str, Option<&String>); 4] = [
        ("mode", reason(&state.mode)),
        ("owner", reason(&state.owner)),
        ("group", reason(&state.group)),
        ("capabilities", reason(&state.caps)),
    ];
    for (what, why) in attrs {
        let Some(why) = why else { continue };
        match changes.iter().find(|c| unresolved(what, c) == *why) {
            Some(c) => {
                if !out.unresolved.iter().any(|(_, d)| std::ptr::eq(*d, c)) {
                    out.unresolved.push((what, c));
                }
            }
            None => {
                if !out.unexplained.contains(why) {
                    out.unexplained.push(why.clone());
                }
            }
        }
    }
    out
}

fn reason<T>(a: &Operand<T>) -> Option<&String> {
    match a {
        Operand::Known(_) => None,
        Operand::Unresolved(why) => Some(why),
    }
}

/// Whether a change could make the file it hits more privileged: set a setuid or setgid bit,
/// add a capability, or do something only run time knows. A chown cannot (the kernel clears
/// setuid, setgid and capabilities on a regular file it changes the owner of); neither can a
/// removal.
pub fn may_grant(action: &Action) -> bool {
    let mode_grants = |m: &Operand<ModeSpec>| match m {
        Operand::Unresolved(_) => true,
        // Applied to a plain file with no special bit: does the result have one?
        Operand::Known(spec) => spec
            .apply(0o755, false)
            .map_or(true, |m| m & PRIVILEGE_BITS != 0),
    };
    match action {
        Action::SetCaps { caps } => caps.known().is_none_or(|c| !c.is_empty()),
        Action::Chmod { mode } => mode_grants(mode),
        Action::StatOverrideAdd { mode, .. } => {
            mode.known().is_none_or(|m| m & PRIVILEGE_BITS != 0)
        }
        Action::Install { mode, .. } => mode.as_ref().is_some_and(mode_grants),
        Action::Chown { .. } | Action::RemoveCaps | Action::StatOverrideRemove => false,
    }
}

/// `a ≤ b` in the order of privilege: `a`'s mode bits are a subset of `b`'s, its (capability,
/// set) pairs a subset of `b`'s, and its owner and group the same. An unknown attribute is at
/// most another unknown one only (what it is cannot be compared), so that a change from one
/// unknown to another is not reported as an escalation but a known value turning unknown is.
pub fn at_most(a: &EndState, b: &EndState) -> bool {
    let mode = match (&a.mode, &b.mode) {
        (Operand::Known(x), Operand::Known(y)) => x & !y == 0,
        (Operand::Unresolved(_), Operand::Unresolved(_)) => true,
        _ => false,
    };
    let name = |x: &Operand<String>, y: &Operand<String>| match (x, y) {
        (Operand::Known(x), Operand::Known(y)) => x == y,
        (Operand::Unresolved(_), Operand::Unresolved(_)) => true,
        _ => false,
    };
    let caps = match (&a.caps, &b.caps) {
        (Operand::Known(x), Operand::Known(y)) => caps_subset(x.as_ref(), y.as_ref()),
        (Operand::Unresolved(_), Operand::Unresolved(_)) => true,
        _ => false,
    };
    mode && name(&a.owner, &b.owner) && name(&a.group, &b.group) && caps
}

/// Whether every (capability, set) pair of `a` is in `b` (`None`: no capabilities).
pub fn caps_subset(a: Option<&CapSet>, b: Option<&CapSet>) -> bool {
    let empty = CapSet::default();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    a.effective & !b.effective == 0
        && a.permitted & !b.permitted == 0
        && a.inheritable & !b.inheritable == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(mode: u32, owner: &str, caps: &str) -> EndState {
        EndState {
            mode: Operand::Known(mode),
            owner: Operand::Known(owner.into()),
            group: Operand::Known("root".into()),
            caps: Operand::Known(if caps.is_empty() {
                None
            } else {
                Some(CapSet::from_text(caps).unwrap())
            }),
            unknown: vec![],
            via: vec![],
            rerun: false,
        }
    }

    #[test]
    fn fewer_bits_and_fewer_capability_pairs_are_less() {
        assert!(at_most(&st(0o755, "root", ""), &st(0o4755, "root", "")));
        assert!(!at_most(&st(0o4755, "root", ""), &st(0o755, "root", "")));
        assert!(at_most(
            &st(0o755, "root", "cap_net_raw=p"),
            &st(0o755, "root", "cap_net_raw=ep")
        ));
        assert!(!at_most(
            &st(0o755, "root", "cap_net_raw,cap_net_admin=ep"),
            &st(0o755, "root", "cap_net_raw=ep")
        ));
        // Another owner is not comparable, whichever way.
        assert!(!at_most(&st(0o755, "man", ""), &st(0o4755, "root", "")));
    }

    #[test]
    fn unknowns_compare_only_with_unknowns() {
        let mut unknown = st(0o755, "root", "");
        unknown.mode = Operand::Unresolved("mode set by postinst:3 chmod $m: not resolved".into());
        assert!(!at_most(&unknown, &st(0o7777, "root", "")));
        assert!(at_most(&unknown, &unknown.clone()));
        assert_eq!(
            is_privileged(&unknown, Some(EntryKind::File), Scope::default()),
            None
        );
        assert_eq!(
            is_privileged(&unknown, Some(EntryKind::Dir), Scope::default()),
            Some(false),
            "a directory's mode is out of scope by default"
        );
    }

    #[test]
    fn what_may_grant() {
        let chmod = |s: &str| Action::Chmod {
            mode: Operand::Known(ModeSpec::parse(s).unwrap()),
        };
        assert!(may_grant(&chmod("u+s")));
        assert!(may_grant(&chmod("2755")));
        assert!(!may_grant(&chmod("0644")));
        assert!(!may_grant(&chmod("o-w")));
        assert!(may_grant(&Action::Chmod {
            mode: Operand::Unresolved("$MODE".into())
        }));
        assert!(!may_grant(&Action::RemoveCaps));
        assert!(may_grant(&Action::SetCaps {
            caps: Operand::Unresolved("$caps".into())
        }));
    }
}
