//! Each file's effective state after installation: data.tar metadata and xattrs, then the
//! maintainer-script changes that take effect on install, in order.

use debgate_facts::caps::CapSet;
use debgate_facts::change::{Action, Change, Target};
use debgate_facts::path::usrmerge_canonical;
use debgate_facts::{EntryKind, Package, ScriptName};
use serde::Serialize;
use std::collections::BTreeMap;

/// Where a fact came from: `data.tar` or `postinst:14`.
pub const FROM_DATA: &str = "data.tar";

/// The state of one path once the package is installed and configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileState {
    pub path: String,
    /// `None` for a path only a script creates (`install`), whose type data.tar doesn't say.
    pub kind: Option<EntryKind>,
    pub mode: u32,
    pub owner: String,
    pub group: String,
    /// File capabilities; `None` when it has none.
    pub caps: Option<CapSet>,
    /// The xattr in data.tar could not be decoded (a grant the kernel would refuse to apply,
    /// but a sign of tampering all the same).
    pub caps_error: Option<String>,
    /// True once any conditional change applied: the state is what *may* result.
    pub conditional: bool,
    /// Provenance of every fact that shaped this state, in order.
    pub sources: Vec<String>,
    /// The state as data.tar ships it, before scripts; `None` when data.tar has no such path.
    #[serde(skip)]
    pub shipped: Option<Box<FileState>>,
}

impl FileState {
    pub fn setuid(&self) -> bool {
        self.mode & 0o4000 != 0
    }

    pub fn setgid(&self) -> bool {
        self.mode & 0o2000 != 0
    }

    /// True when scripts changed anything data.tar said.
    pub fn changed_by_scripts(&self) -> bool {
        match &self.shipped {
            None => true,
            Some(s) => {
                s.mode != self.mode
                    || s.owner != self.owner
                    || s.group != self.group
                    || s.caps != self.caps
            }
        }
    }

    pub fn caps_text(&self) -> String {
        self.caps.map(|c| c.to_text()).unwrap_or_default()
    }

    /// Apply one change to this state (used to ask "what if an unresolved change hit this
    /// file?").
    pub fn apply(&mut self, change: &Change) {
        apply_one(self, change);
    }

    /// `root:root 0755 cap_net_raw=ep`, the summary used in messages.
    pub fn summary(&self) -> String {
        let mut s = format!("{}:{} {:04o}", self.owner, self.group, self.mode);
        match self.caps {
            Some(c) => {
                s.push(' ');
                s.push_str(&c.to_text());
            }
            None => s.push_str(" no capabilities"),
        }
        s
    }
}

/// Does a change made by this script shape the installed state? preinst and postinst run on
/// install; a preinst's chmod is overwritten by the unpack that follows, but a statoverride it
/// registers is applied by that unpack. prerm/postrm run on removal, config only asks debconf
/// questions.
fn takes_effect(change: &Change) -> bool {
    match change.script {
        ScriptName::Postinst => true,
        ScriptName::Preinst => matches!(
            change.action,
            Action::StatOverrideAdd { .. } | Action::StatOverrideRemove
        ),
        _ => false,
    }
}

/// The effective state of every path in the package.
#[derive(Debug, Clone, Default)]
pub struct EffectiveState {
    pub files: BTreeMap<String, FileState>,
    /// Changes whose target could not be resolved statically: they may touch any file.
    pub unresolved: Vec<Change>,
}

impl EffectiveState {
    /// Look a path up, also under its usrmerge twin (`/bin/x` and `/usr/bin/x` are one file on
    /// a merged system).
    pub fn get(&self, path: &str) -> Option<&FileState> {
        self.files.get(path).or_else(|| {
            let canon = usrmerge_canonical(path);
            self.files
                .values()
                .find(|f| usrmerge_canonical(&f.path) == canon)
        })
    }

    /// Compute the state from data.tar plus the script changes. `changes` are in script order
    /// as the analyzer reported them; preinst changes are applied before postinst ones.
    pub fn compute(pkg: &Package, changes: &[Change]) -> EffectiveState {
        let mut files = BTreeMap::new();
        for e in &pkg.entries {
            let (caps, caps_error) = match e.capabilities() {
                None => (None, None),
                Some(Ok(c)) => (Some(c.to_set()).filter(|s| !s.is_empty()), None),
                Some(Err(err)) => (None, Some(err.to_string())),
            };
            let mut st = FileState {
                path: e.path.clone(),
                kind: Some(e.kind),
                mode: e.mode,
                owner: e.owner_name(),
                group: e.group_name(),
                caps,
                caps_error,
                conditional: false,
                sources: vec![FROM_DATA.to_string()],
                shipped: None,
            };
            st.shipped = Some(Box::new(st.clone()));
            files.insert(e.path.clone(), st);
        }
        let mut state = EffectiveState {
            files,
            unresolved: Vec::new(),
        };
        let mut ordered: Vec<&Change> = changes.iter().filter(|c| takes_effect(c)).collect();
        // Stable sort keeps each script's own order.
        ordered.sort_by_key(|c| c.script);
        for change in ordered {
            match &change.target {
                Target::Unresolved(_) => state.unresolved.push(change.clone()),
                Target::Path(p) => state.apply(p, change),
            }
        }
        state
    }

    fn apply(&mut self, path: &str, change: &Change) {
        let key = self.resolve_key(path);
        let mut targets = vec![key.clone()];
        if change.recursive {
            let prefix = format!("{key}/");
            targets.extend(
                self.files
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .cloned(),
            );
        }
        for t in targets {
            let st = self.files.entry(t.clone()).or_insert_with(|| FileState {
                path: t.clone(),
                kind: None,
                mode: 0o644,
                owner: "root".into(),
                group: "root".into(),
                caps: None,
                caps_error: None,
                conditional: false,
                sources: Vec::new(),
                shipped: None,
            });
            apply_one(st, change);
        }
    }

    /// A script may name `/bin/x` while data.tar ships `/usr/bin/x`: the same file.
    fn resolve_key(&self, path: &str) -> String {
        if self.files.contains_key(path) {
            return path.to_string();
        }
        self.get(path)
            .map(|f| f.path.clone())
            .unwrap_or_else(|| path.to_string())
    }
}

fn apply_one(st: &mut FileState, change: &Change) {
    let is_dir = st.kind == Some(EntryKind::Dir);
    st.conditional |= change.conditional;
    st.sources.push(change.source());
    match &change.action {
        Action::SetCaps { caps } => st.caps = Some(*caps).filter(|c| !c.is_empty()),
        Action::RemoveCaps => st.caps = None,
        Action::Chmod { mode } => {
            if let Ok(m) = mode.apply(st.mode, is_dir) {
                st.mode = m;
            }
        }
        Action::Chown { owner, group } => {
            if let Some(o) = owner {
                st.owner = o.clone();
            }
            if let Some(g) = group {
                st.group = g.clone();
            }
            clear_privileges_on_chown(st, is_dir);
        }
        Action::StatOverrideAdd {
            owner, group, mode, ..
        } => {
            // dpkg applies an override with chown then chmod, so the mode survives the chown.
            st.owner = owner.clone();
            st.group = group.clone();
            clear_privileges_on_chown(st, is_dir);
            st.mode = *mode;
        }
        Action::StatOverrideRemove => {
            // dpkg forgets the override but leaves the file as it is.
        }
        Action::Install {
            owner,
            group,
            mode,
            directory,
        } => {
            // install creates a new inode: no capabilities, default mode 0755.
            st.caps = None;
            if *directory {
                st.kind = Some(EntryKind::Dir);
            }
            st.owner = owner.clone().unwrap_or_else(|| "root".into());
            st.group = group.clone().unwrap_or_else(|| "root".into());
            st.mode = match mode {
                Some(m) => m.apply(0o755, *directory).unwrap_or(0o755),
                None => 0o755,
            };
        }
    }
}

/// The kernel drops setuid, setgid (when group-executable) and file capabilities when a regular
/// file changes owner, even for root: order in a script matters.
fn clear_privileges_on_chown(st: &mut FileState, is_dir: bool) {
    if is_dir {
        return;
    }
    st.mode &= !0o4000;
    if st.mode & 0o010 != 0 {
        st.mode &= !0o2000;
    }
    st.caps = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use debgate_facts::change::ModeSpec;
    use debgate_facts::{Compression, Control, Entry};

    fn pkg() -> Package {
        Package {
            file: "x.deb".into(),
            control: Control::default(),
            conffiles: vec![],
            scripts: vec![],
            entries: vec![Entry {
                path: "/usr/bin/ping".into(),
                kind: EntryKind::File,
                mode: 0o755,
                uid: 0,
                gid: 0,
                owner: Some("root".into()),
                group: Some("root".into()),
                size: 1,
                link_target: None,
                xattrs: Default::default(),
            }],
            contents: Default::default(),
            control_compression: Compression::Xz,
            data_compression: Compression::Xz,
        }
    }

    fn change(line: u32, action: Action, path: &str, conditional: bool) -> Change {
        Change {
            script: ScriptName::Postinst,
            line,
            action,
            target: Target::Path(path.into()),
            conditional,
            recursive: false,
        }
    }

    #[test]
    fn chown_clears_caps_and_setuid_in_order() {
        let caps = CapSet::from_text("cap_net_raw+ep").unwrap();
        let changes = vec![
            change(3, Action::SetCaps { caps }, "/bin/ping", false),
            change(
                4,
                Action::Chmod {
                    mode: ModeSpec::Octal(0o4750),
                },
                "/bin/ping",
                false,
            ),
            change(
                5,
                Action::Chown {
                    owner: None,
                    group: Some("adm".into()),
                },
                "/bin/ping",
                true,
            ),
        ];
        let st = EffectiveState::compute(&pkg(), &changes);
        let f = st.get("/usr/bin/ping").unwrap();
        assert_eq!(f.group, "adm");
        assert_eq!(f.mode, 0o0750, "chown dropped setuid");
        assert_eq!(f.caps, None, "chown dropped capabilities");
        assert!(f.conditional);
        assert_eq!(
            f.sources,
            ["data.tar", "postinst:3", "postinst:4", "postinst:5"]
        );
        assert!(f.changed_by_scripts());

        // Capabilities set after the chown survive.
        let changes = vec![
            change(
                5,
                Action::Chown {
                    owner: None,
                    group: Some("adm".into()),
                },
                "/usr/bin/ping",
                false,
            ),
            change(6, Action::SetCaps { caps }, "/usr/bin/ping", false),
        ];
        let st = EffectiveState::compute(&pkg(), &changes);
        assert_eq!(st.get("/bin/ping").unwrap().caps_text(), "cap_net_raw=ep");
    }

    #[test]
    fn removal_scripts_do_not_shape_the_installed_state() {
        let mut c = change(
            2,
            Action::Chmod {
                mode: ModeSpec::Octal(0o4755),
            },
            "/usr/bin/ping",
            false,
        );
        c.script = ScriptName::Postrm;
        let st = EffectiveState::compute(&pkg(), &[c]);
        assert_eq!(st.get("/usr/bin/ping").unwrap().mode, 0o755);
        assert!(!st.get("/usr/bin/ping").unwrap().changed_by_scripts());
    }

    #[test]
    fn statoverride_and_unresolved() {
        let mut changes = vec![change(
            7,
            Action::StatOverrideAdd {
                owner: "root".into(),
                group: "adm".into(),
                mode: 0o2750,
                update: true,
            },
            "/usr/bin/ping",
            false,
        )];
        changes.push(Change {
            target: Target::Unresolved("\"$1\"".into()),
            ..changes[0].clone()
        });
        let st = EffectiveState::compute(&pkg(), &changes);
        let f = st.get("/usr/bin/ping").unwrap();
        assert_eq!((f.mode, f.group.as_str()), (0o2750, "adm"));
        assert_eq!(st.unresolved.len(), 1);
    }
}
